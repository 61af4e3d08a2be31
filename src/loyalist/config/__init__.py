"""Configuration: typed models and the YAML loader."""

from loyalist.config.load import config_from_dict, config_to_dict, deep_merge, load_config, read_yaml
from loyalist.config.models import (
    SEED_INDICATORS,
    TIERS,
    ActionRule,
    ScoringJobConfig,
    CleaningConfig,
    DataConfig,
    FeatureConfig,
    GuardRule,
    IndicatorConfig,
    LoyalistConfig,
    PrivacyConfig,
    ScalingConfig,
    ScoringConfig,
    SourceConfig,
    SyntheticConfig,
    TierThresholds,
    TrackingConfig,
    TrainingConfig,
)

__all__ = [
    "SEED_INDICATORS", "TIERS", "ActionRule", "ScoringJobConfig", "CleaningConfig", "DataConfig", "FeatureConfig", "GuardRule", "IndicatorConfig",
    "LoyalistConfig", "PrivacyConfig", "ScalingConfig", "ScoringConfig", "SourceConfig", "SyntheticConfig",
    "TierThresholds", "TrackingConfig", "TrainingConfig",
    "config_from_dict", "config_to_dict", "deep_merge", "load_config", "read_yaml",
]
