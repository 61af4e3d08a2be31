"""The resolved config stored by prepare and read back by every later step."""

from pathlib import Path

import pytest

from loyalist.config import config_to_dict, load_config
from loyalist.config.resolved import RESOLVED_FILE, config_for_step, config_hash, read_resolved, resolved_text
from loyalist.errors import ConfigError


def _prepared(tmp_path: Path, config) -> Path:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / RESOLVED_FILE).write_text(resolved_text(config, ["preset retail", "user.yaml"]), encoding="utf-8")
    return clean


def _write(tmp_path: Path, text: str, name: str = "user.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_resolved_config_reads_back_with_the_same_hash(tmp_path):
    user = _write(tmp_path, "scoring:\n  indicators:\n    nps: null\n    recency_days: {weight: 0.1, scaling: "
                            "{method: inverse, cap: 365}}\n")
    config = load_config([user], preset="retail")
    clean = _prepared(tmp_path, config)
    text = (clean / RESOLVED_FILE).read_text(encoding="utf-8")
    assert f"config_hash: {config_hash(config)}" in text and "preset retail" in text
    back = read_resolved(clean)
    assert back == config and config_hash(back) == config_hash(config)
    step = config_for_step(clean)
    assert step.config == config and step.prepared_hash == step.hash and step.notes == () and step.differs == ()


def test_hash_changes_with_any_key():
    a = load_config([])
    b = load_config([], overrides={"scoring": {"tiers": {"at_risk": 61}}})
    assert config_hash(a) == config_hash(load_config([])) and config_hash(a) != config_hash(b)


def test_a_step_given_another_config_layers_it_and_names_the_keys_that_differ(tmp_path):
    clean = _prepared(tmp_path, load_config([], preset="retail"))
    other = _write(tmp_path, "scoring:\n  tiers: {devoted: 85}\n", "other.yaml")
    step = config_for_step(clean, [other])
    assert step.config.preset == "retail"  # still the prepared preset underneath
    assert step.config.scoring.tiers.devoted == 85
    assert step.differs == ("scoring.tiers.devoted",)
    assert "differs from the one" in step.notes[0] and "scoring.tiers.devoted" in step.notes[0]
    step = config_for_step(clean, preset="manufacturing")
    assert "preset" in step.differs and "scoring.guards" in step.differs
    assert "scoring.indicators.purchase_frequency.scaling.cap" in step.differs
    same = config_for_step(clean, preset="retail")  # the same preset again: nothing differs, no warning
    assert same.differs == () and same.notes == () and same.hash == same.prepared_hash


def test_a_clean_folder_without_a_resolved_config_falls_back_with_a_note(tmp_path):
    (tmp_path / "clean").mkdir()
    step = config_for_step(tmp_path / "clean", preset="retail")
    assert step.config == load_config([], preset="retail") and step.prepared_hash is None
    assert RESOLVED_FILE in step.notes[0]
    assert config_for_step(None).notes == ()


def test_an_edited_resolved_config_is_a_sentence(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / RESOLVED_FILE).write_text("features:\n  lookbak_days: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lookbak_days.*run 'loyalist prepare' again"):
        config_for_step(clean)


def test_dump_is_plain_data():
    assert isinstance(config_to_dict(load_config([]))["scoring"]["indicators"], dict)
