"""Config values the bad-input suite found accepted although no job can use them (issue 10 section 1)."""

from __future__ import annotations

import pytest

from loyalist.config import load_config
from loyalist.errors import ConfigError


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


SEEDS = [("scoring_job", "seed"), ("synthetic", "seed"), ("training", "random_state")]


@pytest.mark.parametrize("section, key", SEEDS)
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_numpy_cannot_take_is_refused_before_any_work(tmp_path, section, key, seed):
    # bad-input cases cfg-scoring_job.seed-neg and cfg-training.random_state-neg: 'loyalist score' / 'train' ended
    # in numpy's "expected non-negative integer"
    path = _write(tmp_path / "c.yaml", f"{section}:\n  {key}: {seed}\n")
    with pytest.raises(ConfigError, match=rf"{section}\.{key}"):
        load_config([path])


@pytest.mark.parametrize("section, key", SEEDS)
def test_seeds_in_range_are_accepted(tmp_path, section, key):
    path = _write(tmp_path / "c.yaml", f"{section}:\n  {key}: {2**32 - 1}\n")
    assert getattr(getattr(load_config([path]), section), key) == 2**32 - 1


def test_a_key_given_twice_in_one_block_is_refused_naming_both_lines(tmp_path):
    # bad-input case cfg-file-dup-keys: the second value silently won, the user's first setting was ignored
    path = _write(tmp_path / "c.yaml", "features:\n  lookback_days: 100\n  lookback_days: 200\n")
    with pytest.raises(ConfigError, match=r"'lookback_days' twice .*lines 2 and 3") as caught:
        load_config([path])
    assert str(path) in str(caught.value)


def test_the_same_key_in_different_blocks_and_yaml_merge_keys_still_load(tmp_path):
    path = _write(tmp_path / "c.yaml", "features:\n  lookback_days: 300\ntraining:\n  min_history_days: 300\n")
    assert load_config([path]).features.lookback_days == 300
    from loyalist.config.load import read_yaml

    merged = _write(tmp_path / "m.yaml", "a: &x {b: 1, c: 2}\nd:\n  <<: *x\n  b: 3\ne: {b: 1}\n")
    assert read_yaml(merged) == {"a": {"b": 1, "c": 2}, "d": {"b": 3, "c": 2}, "e": {"b": 1}}
