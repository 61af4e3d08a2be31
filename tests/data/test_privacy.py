"""Tests of loyalist.data.privacy: masks (source toolkit examples) and keyed pseudonyms."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalist.data.privacy import mask_contact, mask_email, mask_frame, mask_name, mask_phone, pseudonymize
from loyalist.errors import ConfigError

KEY = b"0123456789abcdef-secret"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13912345678", "139****5678"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("139-1234-5678", "139****5678"),
        ("010-12345678", "010****5678"),
        ("12345", "***45"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zhang.san@example.com", "z***@example.com"), ("a@b.cn", "a***@b.cn"), ("no-at-sign", "***")],
)
def test_mask_email(value, expected):
    assert mask_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("深圳某某科技有限公司", "*科技有限公司"),
        ("深圳市宏达科技有限公司", "*科技有限公司"),
        ("上海精工制造集团", "*制造集团"),
        ("北京某某股份有限公司", "*股份有限公司"),
        ("张经理", "*经理"),
        ("李总监", "*总监"),
        ("王伟", "王*"),
        ("欧阳娜娜", "欧***"),
        ("Acme Trading Ltd", "*** Ltd"),
        ("Acme Pty Ltd", "*** Pty Ltd"),
        ("John Smith", "J*** S***"),
        ("Madonna", "M***"),
    ],
)
def test_mask_name(value, expected):
    assert mask_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13912345678", "139****5678"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("zhang.san@example.com", "z***@example.com"),
        ("张经理", "*经理"),
        ("深圳某某科技有限公司", "*科技有限公司"),
        ("John Smith", "J*** S***"),
    ],
)
def test_mask_contact_detects_the_kind(value, expected):
    assert mask_contact(value) == expected


@pytest.mark.parametrize(
    "value",
    ["13912345678", "+86 139 1234 5678", "zhang.san@example.com", "深圳某某科技有限公司", "上海精工制造集团",
     "张经理", "王伟", "Acme Trading Ltd", "John Smith", "12345"],
)
def test_masks_are_idempotent(value):
    once = mask_contact(value)
    assert mask_contact(once) == once
    assert once != value


def test_mask_frame_returns_a_masked_copy_and_keeps_na():
    df = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3"],
        "name": ["深圳某某科技有限公司", None, "John Smith"],
        "contact": ["13912345678", "zhang.san@example.com", pd.NA],
    })
    before = df.copy()
    out = mask_frame(df, ["name", "contact", "respondent"])  # absent columns are ignored
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out["name"].tolist() == ["*科技有限公司", pd.NA, "J*** S***"]
    assert out["contact"].tolist() == ["139****5678", "z***@example.com", pd.NA]
    assert out["customer_id"].tolist() == ["C1", "C2", "C3"]


def test_pseudonymize_is_stable_keyed_and_keeps_na():
    ids = pd.Series(["C1", "C2", "C1", None], index=[5, 6, 7, 8], name="customer_id")
    a = pseudonymize(ids, KEY)
    b = pseudonymize(ids, KEY)
    other = pseudonymize(ids, b"another-key-of-16-bytes")
    pd.testing.assert_series_equal(a, b)
    assert a.iloc[0] == a.iloc[2] != a.iloc[1]
    assert pd.isna(a.iloc[3])
    assert a.str.fullmatch(r"P[0-9a-f]{16}").iloc[:3].all()
    assert list(a.index) == [5, 6, 7, 8] and a.name == "customer_id"
    assert not (other.iloc[:3] == a.iloc[:3]).any()


def test_pseudonymize_matches_hmac_sha256():
    import hashlib
    import hmac

    expected = "P" + hmac.new(KEY, b"C1", hashlib.sha256).hexdigest()[:16]
    assert pseudonymize(pd.Series(["C1"]), KEY).iloc[0] == expected


def test_pseudonymize_short_key_is_a_config_error_naming_the_env_variable():
    with pytest.raises(ConfigError, match="LOYALIST_PSEUDONYM_KEY.*at least 16 bytes, got 5"):
        pseudonymize(pd.Series(["C1"]), b"short")


@pytest.mark.parametrize("values", [
    pd.Series(["深圳某某科技有限公司", None, "John Smith", "深圳某某科技有限公司", 13912345678, "a@b.cn"], dtype=object,
              index=[9, 3, 4, 5, 6, 7], name="name"),
    pd.Series(pd.Categorical(["张经理", "张经理", None, "Acme Trading Ltd"]), name="name"),
    pd.Series(["王伟", pd.NA, "王伟"], dtype="string", name="name"),
    pd.Series([None, None], dtype=object, name="name"),
    pd.Series([], dtype="string", name="name"),
])
def test_mask_frame_and_pseudonyms_are_each_distinct_value_mapped(values):
    """Each distinct value masked (or pseudonymised) once and put back by its codes gives what a per-value dict
    map did: same values, missing kept, ``string`` dtype, same index and name (issue 14's faster mask_frame)."""
    import hashlib
    import hmac

    uniques = pd.unique(values[values.notna()])
    expected = values.map({u: mask_contact(u) for u in uniques}).astype("string")
    pd.testing.assert_series_equal(mask_frame(values.to_frame(), ["name"])["name"], expected)
    pseudonyms = {u: "P" + hmac.new(KEY, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:16] for u in uniques}
    pd.testing.assert_series_equal(pseudonymize(values, KEY), values.map(pseudonyms).astype("string"))
