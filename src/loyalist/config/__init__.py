"""Configuration: typed models, the packaged defaults and presets, and the YAML loader."""

from loyalist.config.load import (
    config_from_dict,
    config_to_dict,
    load_config,
    read_yaml,
    resolve_layers,
    validate_config,
)
from loyalist.config.merge import deep_merge, differing_keys
from loyalist.config.models import (
    SEED_INDICATORS,
    TIERS,
    ActionRule,
    CleaningConfig,
    DataConfig,
    FeatureConfig,
    GuardRule,
    IndicatorConfig,
    LoyalistConfig,
    PrivacyConfig,
    ScalingConfig,
    ScoringConfig,
    ScoringJobConfig,
    SourceConfig,
    SyntheticConfig,
    TierThresholds,
    TrackingConfig,
    TrainingConfig,
)
from loyalist.config.shipped import DEMO_CONFIG, default_files, defaults, preset_names, preset_path

__all__ = [
    "SEED_INDICATORS", "TIERS", "ActionRule", "ScoringJobConfig", "CleaningConfig", "DataConfig", "FeatureConfig",
    "GuardRule", "IndicatorConfig", "LoyalistConfig", "PrivacyConfig", "ScalingConfig", "ScoringConfig",
    "SourceConfig", "SyntheticConfig", "TierThresholds", "TrackingConfig", "TrainingConfig",
    "DEMO_CONFIG", "default_files", "defaults", "preset_names", "preset_path",
    "config_from_dict", "config_to_dict", "deep_merge", "differing_keys", "load_config", "read_yaml",
    "resolve_layers", "validate_config",
]
