"""The configuration: packaged defaults as the one source of default values, layered loading, validation."""

from pathlib import Path

import pytest
import yaml
from pydantic_core import PydanticUndefined

from loyalist.config import (
    DEMO_CONFIG,
    LoyalistConfig,
    config_to_dict,
    default_files,
    defaults,
    load_config,
    preset_names,
)
from loyalist.config.models import Section
from loyalist.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [*default_files(), *sorted(DEMO_CONFIG.parent.joinpath("presets").glob("*.yaml")), DEMO_CONFIG,
           *sorted((ROOT / "configs").rglob("*.yaml"))]


def _sections() -> list[type[Section]]:
    out, todo = [], [LoyalistConfig]
    while todo:
        cls = todo.pop()
        out.append(cls)
        for field in cls.model_fields.values():
            ann = field.annotation
            for cand in (ann, *getattr(ann, "__args__", ())):
                if isinstance(cand, type) and issubclass(cand, Section) and cand not in out:
                    todo.append(cand)
    return out


def _write(tmp_path: Path, text: str, name: str = "user.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the defaults, in one place


def test_the_packaged_files_are_the_defaults_and_the_only_place_they_live():
    sections = _sections()
    assert len(sections) >= 10
    raw = defaults()
    for cls in sections:
        node = raw
        for key in cls.section:
            node = node[key]
        assert set(node) == set(cls.model_fields), cls.__name__  # every key stated in the YAML, nothing else
        in_code = [n for n, f in cls.model_fields.items()
                   if f.default is not PydanticUndefined or f.default_factory is not None]
        assert in_code == [], f"{cls.__name__} keeps defaults in code: {in_code}"
    assert config_to_dict(LoyalistConfig()) == config_to_dict(LoyalistConfig.model_validate(raw))
    assert load_config([]) == LoyalistConfig()


def test_the_default_files_are_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for pattern in ("config/defaults/*.yaml", "config/presets/*.yaml", "config/demo.yaml"):
        assert pattern in text
    assert not (ROOT / "configs" / "base").exists() or not list((ROOT / "configs" / "base").glob("*.yaml"))
    assert not (ROOT / "pipelines" / "_paths.py").exists()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_config_validates(path):
    assert isinstance(load_config([path]), LoyalistConfig)


@pytest.mark.parametrize("text", ["tracking:\n  artifact_location: mlruns\n", "output_dir: outputs\n",
                                  "training:\n  min_cutoffs: 2\n", "industry: retail\n"])
def test_keys_nothing_reads_are_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="unknown key"):
        load_config([_write(tmp_path, text)])


# ---------------------------------------------------------------------------------------- layering


def test_a_nested_override_merges_into_the_defaults(tmp_path):
    """A preset's `scaling: {cap: 24.0}` used to replace the whole block (method lost -> frequency 100 for all)."""
    path = _write(tmp_path, "scoring:\n  indicators:\n    purchase_frequency:\n      scaling: {cap: 24.0}\n")
    scaling = load_config([path]).scoring.indicators["purchase_frequency"].scaling
    assert (scaling.method, scaling.cap) == ("cap", 24.0)
    assert load_config([path]).scoring.indicators["purchase_frequency"].weight == 0.15


@pytest.mark.parametrize("name", preset_names())
def test_a_preset_keeps_the_scaling_method_of_every_indicator(name):
    """...unless the preset file names the method itself (wholesale scales frequency by percentile)."""
    import yaml

    from loyalist.config.shipped import preset_path

    stated = yaml.safe_load(preset_path(name).read_text(encoding="utf-8"))["scoring"].get("indicators", {})
    own = {k: v["scaling"]["method"] for k, v in stated.items() if "method" in (v or {}).get("scaling", {})}
    base, preset = LoyalistConfig().scoring.indicators, load_config([], preset=name).scoring.indicators
    assert {k: v.scaling.method for k, v in preset.items()} == {
        k: own.get(k, v.scaling.method) for k, v in base.items()}


def test_preset_key_in_a_file_and_the_option(tmp_path):
    path = _write(tmp_path, "preset: retail\nscoring:\n  indicators:\n    nps: {weight: 0.5}\n")
    cfg = load_config([path])
    assert cfg.preset == "retail"
    assert cfg.scoring.indicators["purchase_frequency"].scaling.cap == 24.0  # from the preset
    assert cfg.scoring.indicators["nps"].weight == 0.5  # the user's file wins over the preset
    assert cfg.scoring.guards[0].name == "no_order_60_days"
    assert load_config([path], preset="manufacturing").preset == "manufacturing"  # the option wins over the key
    assert load_config([]).preset is None


def test_unknown_preset_names_the_closest(tmp_path):
    with pytest.raises(ConfigError, match="Unknown preset 'retial'; did you mean 'retail'"):
        load_config([], preset="retial")
    with pytest.raises(ConfigError, match="Unknown preset 'retial'"):
        load_config([_write(tmp_path, "preset: retial\n")])


def test_later_files_override_earlier(tmp_path):
    a = _write(tmp_path, "features:\n  lookback_days: 200\n  churn_horizon_days: 60\n", "a.yaml")
    b = _write(tmp_path, "features:\n  lookback_days: 180\n", "b.yaml")
    cfg = load_config([a, b])
    assert cfg.features.lookback_days == 180
    assert cfg.features.churn_horizon_days == 60


def test_relative_source_paths_resolve_against_the_yaml_folder(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    f = _write(sub, "data:\n  orders:\n    path: ../raw/orders.csv\n", "d.yaml")
    cfg = load_config([f])
    assert cfg.data.orders.path == (tmp_path / "raw" / "orders.csv").resolve()


# ------------------------------------------------------------------------------------- bad files / keys


def test_unknown_key_is_named_with_the_closest_valid_key(tmp_path):
    with pytest.raises(ConfigError, match=r"'features.lookbak_days': unknown key; did you mean 'lookback_days'"):
        load_config([_write(tmp_path, "features:\n  lookbak_days: 10\n")])
    with pytest.raises(ConfigError, match=r"'scoring.indicators.nps.scalin': unknown key; did you mean 'scaling'"):
        load_config([_write(tmp_path, "scoring:\n  indicators:\n    nps: {scalin: {method: nps}}\n")])


def test_all_problems_reported_at_once(tmp_path):
    f = _write(tmp_path, "features:\n  lookback_days: 1\n  churn_horizon_days: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config([f])
    assert "'features.lookback_days'" in str(info.value)
    assert "'features.churn_horizon_days'" in str(info.value)
    assert str(f) in str(info.value)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config([tmp_path / "nope.yaml"])
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config([_write(tmp_path, "- a\n- b\n")])


def test_a_yaml_file_that_is_not_utf8_is_a_sentence(tmp_path):
    f = tmp_path / "gbk.yaml"
    f.write_bytes("name: 演示公司\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk.yaml' is not UTF-8 text.*save it as UTF-8"):
        load_config([f])
    f.write_bytes(b"\x00\x01\xff\xfe binary")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config([f])


def test_tier_thresholds_must_be_ordered(tmp_path):
    with pytest.raises(ConfigError, match="'scoring.tiers'"):
        load_config([_write(tmp_path, "scoring:\n  tiers: {devoted: 70, stable: 75, at_risk: 60}\n")])


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "-0.5"])
def test_weights_must_be_finite_and_not_negative(tmp_path, value):
    with pytest.raises(ConfigError, match="'scoring.indicators.nps.weight'"):
        load_config([_write(tmp_path, f"scoring:\n  indicators:\n    nps: {{weight: {value}}}\n")])


@pytest.mark.parametrize("key", ["lookback_days", "churn_horizon_days", "value_horizon_days", "trend_window_days",
                                 "frequency_min_days", "active_days"])
def test_day_counts_are_bounded(tmp_path, key):
    with pytest.raises(ConfigError, match=f"'features.{key}'.*less than or equal to 36500"):
        load_config([_write(tmp_path, f"features:\n  {key}: {10**12}\n")])


@pytest.mark.parametrize("value", ["0", "-30"])
def test_the_active_customer_window_must_be_a_positive_number_of_days(tmp_path, value):
    # one key for training's active-customer table, tune-weights and the newly-at-risk view; 90 by default
    assert load_config([]).features.active_days == 90
    assert load_config([_write(tmp_path, "features:\n  active_days: 60\n")]).features.active_days == 60
    with pytest.raises(ConfigError, match="'features.active_days'.*greater than or equal to 1"):
        load_config([_write(tmp_path, f"features:\n  active_days: {value}\n")])


def test_defaults_yaml_files_each_hold_one_concern():
    seen = {}
    for path in default_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in data:
            assert key not in seen, f"{key} in {seen.get(key)} and {path}"
            seen[key] = path


def test_null_drops_an_indicator_and_a_resolved_config_reads_back_unchanged(tmp_path):
    from loyalist.config import validate_config

    cfg = load_config([_write(tmp_path, "scoring:\n  indicators:\n    nps: null\n")], preset="retail")
    assert "nps" not in cfg.scoring.indicators and len(cfg.scoring.indicators) == 4
    assert validate_config(config_to_dict(cfg)) == cfg  # no default comes back when read as resolved


def test_python_construction_fills_missing_keys_and_replaces_given_ones():
    from loyalist.config import FeatureConfig, IndicatorConfig, ScoringConfig

    assert FeatureConfig(lookback_days=180).churn_horizon_days == 90
    only = ScoringConfig(indicators={"nps": IndicatorConfig(weight=1.0)})
    assert list(only.indicators) == ["nps"] and only.tiers == LoyalistConfig().scoring.tiers
