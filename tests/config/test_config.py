from pathlib import Path

import pytest

from loyalist.config import LoyalistConfig, load_config
from loyalist.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BASE = sorted((ROOT / "configs" / "base").glob("*.yaml"))


def test_base_yaml_states_exactly_the_defaults():
    assert BASE, "configs/base has no YAML files"
    assert load_config(BASE) == LoyalistConfig()


@pytest.mark.parametrize("path", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    cfg = load_config([*BASE, path])
    assert isinstance(cfg, LoyalistConfig)


def test_unknown_key_is_named(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("features:\n  lookbak_days: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'features.lookbak_days': unknown key"):
        load_config([f])


def test_all_problems_reported_at_once(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("features:\n  lookback_days: 1\n  churn_horizon_days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config([f])
    assert "'features.lookback_days'" in str(info.value)
    assert "'features.churn_horizon_days'" in str(info.value)


def test_later_files_override_earlier(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("features:\n  lookback_days: 200\n  churn_horizon_days: 60\n", encoding="utf-8")
    b.write_text("features:\n  lookback_days: 180\n", encoding="utf-8")
    cfg = load_config([a, b])
    assert cfg.features.lookback_days == 180
    assert cfg.features.churn_horizon_days == 60


def test_relative_source_paths_resolve_against_the_yaml_folder(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    f = sub / "d.yaml"
    f.write_text("data:\n  orders:\n    path: ../raw/orders.csv\n", encoding="utf-8")
    cfg = load_config([f])
    assert cfg.data.orders.path == (tmp_path / "raw" / "orders.csv").resolve()


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config([tmp_path / "nope.yaml"])
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config([f])


def test_tier_thresholds_must_be_ordered(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("scoring:\n  tiers: {devoted: 70, stable: 75, at_risk: 60}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'scoring.tiers'"):
        load_config([f])
