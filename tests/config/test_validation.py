"""Every key typed and checked at load, before any work starts; all problems in one sentence per key."""

from pathlib import Path

import numpy as np
import pytest

from loyalist.config import load_config
from loyalist.config.metrics import CHURN_COLUMNS, CHURN_METRICS, VALUE_COLUMNS, VALUE_METRICS, higher_is_better
from loyalist.errors import ConfigError


def _load(tmp_path: Path, text: str):
    path = tmp_path / "user.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config([path])


def test_metric_registry_names_what_evaluation_computes():
    from loyalist.modeling.evaluation.metrics import churn_metrics, value_metrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    assert list(churn_metrics(y, rng.random(200))) == list(CHURN_COLUMNS)
    v = rng.gamma(1.0, 100.0, 200)
    assert list(value_metrics(v, v * rng.random(200))) == list(VALUE_COLUMNS)
    # the promotable metrics are the columns with a direction; descriptive ones (n, base rate, signed error) are not
    assert set(CHURN_METRICS) == set(CHURN_COLUMNS) - {"base_rate", "n"}
    assert set(VALUE_METRICS) == set(VALUE_COLUMNS) - {"total_error", "n"}
    assert higher_is_better("churn", "roc_auc") and not higher_is_better("churn", "brier")
    assert higher_is_better("value", "normalised_gini") and not higher_is_better("value", "mae")


@pytest.mark.parametrize(("key", "value", "match"), [
    ("promotion_metric", "foo", r"'training.promotion_metric': 'foo' is not a churn metric; use one of roc_auc"),
    ("promotion_metric", "roc_aux", r"did you mean 'roc_auc'"),
    ("value_promotion_metric", "normalized_gini", r"did you mean 'normalised_gini'"),
    ("value_promotion_metric", "roc_auc", r"'roc_auc' is not a value metric"),
])
def test_promotion_metrics_are_a_closed_set(tmp_path, key, value, match):
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, f"training:\n  {key}: {value}\n")


@pytest.mark.parametrize(("params", "match"), [
    ("{learning_rate: 0}", r"'learning_rate' = 0: LightGBM requires learning_rate > 0"),
    ("{num_leaves: -1}", r"'num_leaves' = -1: LightGBM requires num_leaves > 1"),
    ("{objective: foo}", r"'objective' is chosen by the model"),
    ("{num_leavs: 31}", r"'num_leavs' is not a LightGBM parameter; did you mean 'num_leaves'"),
    ("{subsample: 1.5}", r"'subsample' = 1.5: LightGBM requires bagging_fraction <= 1"),
    ("{boosting_type: forest}", r"'boosting_type' = 'forest'.*Unknown boosting type"),
    ("{seed: 3}", r"'seed' is set from 'training.random_state'"),
])
def test_lightgbm_params_are_checked_by_lightgbm(tmp_path, params, match):
    with pytest.raises(ConfigError, match=r"'training.lgbm_params'.*" + match):
        _load(tmp_path, f"training:\n  lgbm_params: {params}\n")


def test_good_lightgbm_params_and_every_problem_at_once(tmp_path, capfd):
    cfg = _load(tmp_path, "training:\n  lgbm_params: {num_leaves: 63, learning_rate: 0.05, n_estimators: 500, "
                          "reg_alpha: 0.1, min_child_samples: 20, colsample_bytree: 0.7}\n")
    assert cfg.training.lgbm_params["num_leaves"] == 63
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "training:\n  lgbm_params: {learning_rate: 0, num_leaves: -1}\n")
    assert "learning_rate" in str(info.value) and "num_leaves" in str(info.value)
    assert "[LightGBM] [Fatal]" not in capfd.readouterr().err


@pytest.mark.parametrize(("text", "match"), [
    ("data:\n  orders: {path: o.csv, filters: {status: '([a'}}\n",
     r"'data.orders.filters': the filter of 'status': '\(\[a' is not a valid regular expression"),
    ("data:\n  cleaning: {test_id_patterns: ['*test']}\n",
     r"'data.cleaning.test_id_patterns': '\*test' is not a valid regular expression"),
    ("data:\n  orders: {path: o.csv, date_format: '%Q'}\n",
     r"'data.orders.date_format': '%Q' is not a usable strptime date format"),
    ("data:\n  orders: {path: o.csv, date_format: '%H:%M'}\n", r"'data.orders.date_format'"),
    ("tracking:\n  experiment: ''\n", r"'tracking.experiment': '' cannot be an MLflow experiment name"),
    ("tracking:\n  churn_model_name: 'a/b'\n", r"'tracking.churn_model_name': 'a/b' cannot be an MLflow"),
    ("tracking:\n  value_model_name: 'v@champion'\n", r"'tracking.value_model_name'"),
    ("tracking:\n  value_model_name: loyalist-churn\n", r"both 'loyalist-churn'"),
    ("features:\n  churn_horizon_days: 1000000000000\n", r"'features.churn_horizon_days'"),
    ("training:\n  min_history_days: 1000000000000\n", r"'training.min_history_days'"),
    ("training:\n  promotion_margin: .nan\n", r"'training.promotion_margin'"),
    ("scoring:\n  indicators:\n    nps: {weight: .inf}\n", r"'scoring.indicators.nps.weight'"),
    ("scoring_job:\n  drift_warn_psi: .inf\n", r"'scoring_job.drift_warn_psi'"),
    ("synthetic:\n  start: '2024-13-01'\n", r"'synthetic'.*YYYY-MM-DD"),
    ("privacy:\n  key_env: 'my key'\n", r"'privacy.key_env'"),
])
def test_bad_values_are_refused_at_load_naming_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, text)


def test_good_formats_and_patterns_pass(tmp_path):
    cfg = _load(tmp_path, "data:\n  orders: {path: o.csv, date_format: '%d/%m/%Y %H:%M', filters: {status: '^ok$'}}\n"
                          "  cleaning: {test_id_patterns: ['^qa-']}\n")
    assert cfg.data.orders.date_format == "%d/%m/%Y %H:%M"


_FREQ_CAP = "'scoring.indicators.purchase_frequency.scaling.cap' is 24, but purchase_frequency is scaled by method " \
            "'percentile', which reads no cap"


def test_a_cap_on_a_percentile_indicator_is_an_error_naming_the_key_and_the_fix(tmp_path):
    # the wholesale preset scales purchase_frequency by percentile; a user's cap there used to be ignored silently
    # (the old config loaded with cap 24 and the score never read it)
    path = tmp_path / "user.yaml"
    path.write_text("scoring:\n  indicators:\n    purchase_frequency:\n      scaling: {cap: 24}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"preset wholesale, .*user\.yaml") as err:
        load_config([path], preset="wholesale")
    text = str(err.value)
    assert _FREQ_CAP in text and "set 'method: cap' beside it" in text and "remove 'cap'" in text
    assert "\n" not in text
    # the same in one layer, and on a ratio indicator (repurchase rate reads no cap either): every key at once
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"scoring": {"indicators": {
            "purchase_frequency": {"scaling": {"method": "percentile", "cap": 24}},
            "repurchase_rate": {"scaling": {"cap": 0.5}}}}})
    assert _FREQ_CAP in str(err.value) and "'scoring.indicators.repurchase_rate.scaling.cap' is 0.5, but " \
        "repurchase_rate is scaled by method 'ratio'" in str(err.value)


def test_a_cap_with_its_method_is_honoured_and_the_defaults_cap_is_not_the_users():
    # what the user meant by a cap over the preset: full marks at 24 orders a year, an absolute scale
    config = load_config(overrides={"scoring": {"indicators": {"purchase_frequency": {
        "scaling": {"method": "cap", "cap": 24}}}}}, preset="wholesale")
    scaling = config.scoring.indicators["purchase_frequency"].scaling
    assert (scaling.method, scaling.cap) == ("cap", 24)
    # a user who only switches the method: the defaults' cap (12) merges in but is not the user's setting, so no
    # error; nothing reads it, so the resolved config does not carry it
    config = load_config(overrides={"scoring": {"indicators": {"purchase_frequency": {
        "scaling": {"method": "percentile", "ties": "mean"}}}}})
    scaling = config.scoring.indicators["purchase_frequency"].scaling
    assert (scaling.method, scaling.cap) == ("percentile", None)
    # nor a preset's: the retail preset's cap 24 under a percentile the user chose
    config = load_config(overrides={"scoring": {"indicators": {"purchase_frequency": {
        "scaling": {"method": "percentile"}}}}}, preset="retail")
    assert config.scoring.indicators["purchase_frequency"].scaling.cap is None
    with pytest.raises(ConfigError, match="is 30, but purchase_frequency is scaled by method 'percentile'"):
        load_config(overrides={"scoring": {"indicators": {"purchase_frequency": {
            "scaling": {"method": "percentile", "cap": 30}}}}}, preset="retail")
    # the shipped presets and an explicit 'cap: null' load as before
    for preset in ("wholesale", "retail", "manufacturing"):
        load_config(preset=preset)
    assert load_config(overrides={"scoring": {"indicators": {"purchase_frequency": {"scaling": {"cap": None}}}}},
                       preset="wholesale").scoring.indicators["purchase_frequency"].scaling.cap is None


def test_a_later_step_given_a_cap_over_a_prepared_percentile_indicator_stops(tmp_path):
    from typer.testing import CliRunner

    from loyalist.cli import app
    from loyalist.config.resolved import RESOLVED_FILE, config_for_step, resolved_text

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / RESOLVED_FILE).write_text(resolved_text(load_config(preset="wholesale"), ["preset wholesale"]),
                                       encoding="utf-8")
    path = tmp_path / "user.yaml"
    path.write_text("scoring:\n  indicators:\n    purchase_frequency:\n      scaling: {cap: 24}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"resolved_config\.yaml, .*user\.yaml"):
        config_for_step(clean, [path])
    result = CliRunner().invoke(app, ["loyalty", "--clean", str(clean), "--config", str(path), "--out",
                                      str(tmp_path / "o")], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert _FREQ_CAP in " ".join(result.output.split()) and "Traceback" not in result.output
