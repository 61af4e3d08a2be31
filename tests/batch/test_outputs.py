"""Privacy of every output table: masking and keyed pseudonyms (the key only from the environment)."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalist.batch.outputs import protect, pseudonym_key
from loyalist.config import PrivacyConfig
from loyalist.errors import ConfigError


def _table():
    return pd.DataFrame({
        "customer_id": pd.array(["C1", "C2"], dtype="string"),
        "name": pd.array(["深圳市宏达科技有限公司", "上海精工制造集团"], dtype="string"),
        "contact": pd.array(["13912345678", "li.si@example.com"], dtype="string"),
        "loyalty_score": [88.0, 61.0],
    })


def test_names_and_contacts_are_masked_and_nothing_else_changes():
    out = protect(_table(), PrivacyConfig(), key=None)
    assert out["name"].tolist() == ["*科技有限公司", "*制造集团"]
    assert out["contact"].tolist() == ["139****5678", "l***@example.com"]
    assert out["customer_id"].tolist() == ["C1", "C2"]
    assert out["loyalty_score"].tolist() == [88.0, 61.0]
    assert _table()["name"].iloc[0] == "深圳市宏达科技有限公司"  # the input is not modified


def test_pseudonyms_need_the_key_from_the_environment():
    cfg = PrivacyConfig(pseudonymize_ids=True)
    with pytest.raises(ConfigError, match="'LOYALIST_PSEUDONYM_KEY' is not set"):
        pseudonym_key(cfg, {})
    key = pseudonym_key(cfg, {"LOYALIST_PSEUDONYM_KEY": "a-secret-of-enough-length"})
    out = protect(_table(), cfg, key)
    assert not set(out["customer_id"]) & {"C1", "C2"}
    assert out["customer_id"].str.match(r"^P[0-9a-f]{16}$").all()
    again = protect(_table(), cfg, key)
    assert out["customer_id"].tolist() == again["customer_id"].tolist()  # stable across runs
    other = protect(_table(), cfg, pseudonym_key(cfg, {"LOYALIST_PSEUDONYM_KEY": "another-secret-of-length"}))
    assert other["customer_id"].tolist() != out["customer_id"].tolist()


def test_pseudonymisation_off_means_no_key_is_read():
    assert pseudonym_key(PrivacyConfig(), {"LOYALIST_PSEUDONYM_KEY": "whatever-value-here"}) is None


def test_columns_masked_already_are_left_as_they_are():
    """``masked``: the scoring job's names, masked while its models predict, are not masked again; the other PII
    columns still are."""
    from loyalist.data.privacy import mask_values

    table = _table().assign(name=lambda t: mask_values(t["name"]))
    sentinel = table.assign(name=pd.array(["kept as given", None], dtype="string"))
    out = protect(sentinel, PrivacyConfig(), key=None, masked=("name",))
    assert out["name"].iloc[0] == "kept as given" and out["name"].isna().iloc[1]
    assert out["contact"].tolist() == ["139****5678", "l***@example.com"]
    pd.testing.assert_frame_equal(protect(table, PrivacyConfig(), None, masked=("name",)),
                                  protect(_table(), PrivacyConfig(), None))
