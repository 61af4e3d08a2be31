"""The one bilingual catalogue: every key has both languages, and the codes loyalist emits all have labels."""

from __future__ import annotations

import re
import string

import pytest

from loyalist import catalogue
from loyalist.config.models import TIERS
from loyalist.data.clean import RULES
from loyalist.explain.reasons import FEATURE_TEXT, GROUPS

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _entries():
    for kind, table in catalogue.LABELS.items():
        for code, entry in table.items():
            yield f"LABELS[{kind!r}][{code!r}]", entry
    for key, entry in catalogue.HEADERS.items():
        yield f"HEADERS[{key!r}]", entry
    for key, entry in catalogue.SENTENCES.items():
        yield f"SENTENCES[{key!r}]", entry
    for key, entry in catalogue.GROUP_TEXT.items():
        yield f"GROUP_TEXT[{key!r}]", entry
    for key, entry in FEATURE_TEXT.items():
        yield f"FEATURE_TEXT[{key!r}]", entry


@pytest.mark.parametrize(("where", "entry"), list(_entries()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_key_has_both_languages(where, entry):
    assert isinstance(entry.get("zh"), str) and entry["zh"].strip(), f"{where} has no Chinese text"
    assert isinstance(entry.get("en"), str) and entry["en"].strip(), f"{where} has no English text"


def test_sentence_templates_take_the_same_fields_in_both_languages():
    for key, entry in catalogue.SENTENCES.items():
        assert _fields(entry["zh"]) == _fields(entry["en"]), key


def test_codes_loyalist_emits_have_chinese_labels():
    """Tiers, cleaning rules and actions, driver groups: each has a label with Chinese characters, so the zh
    report never shows a code such as 'duplicate' or 'dropped'."""
    emitted = {"tier": TIERS, "clean_rule": RULES, "clean_action": ("dropped", "changed"),
               "driver_group": tuple(g for g in GROUPS if g != "other")}
    for kind, codes in emitted.items():
        for code in codes:
            zh = catalogue.label(kind, code, "zh")
            assert _CJK.search(zh), f"{kind} {code!r} has no Chinese label (got {zh!r})"
            assert catalogue.label(kind, code, "en") != zh


def test_label_falls_back_to_the_code_for_a_users_own_code():
    assert catalogue.label("industry", "shipbuilding", "zh") == "shipbuilding"
    assert catalogue.label("tier", None, "en") == "—"
    assert catalogue.both("tier", "at_risk") == {"zh": "潜在流失", "en": "at risk"}


def test_guards_of_the_defaults_and_every_preset_have_chinese_labels():
    """A preset's guard (wholesale's no_order_120_days) is printed in tier reasons and the report's guard block."""
    from loyalist.config import load_config
    from loyalist.config.shipped import preset_names

    for preset in [None, *preset_names()]:
        for guard in load_config([], preset=preset).scoring.guards:
            zh = catalogue.label("guard", guard.name, "zh")
            assert _CJK.search(zh), f"guard {guard.name!r} of preset {preset!r} has no Chinese label (got {zh!r})"
            assert catalogue.label("guard", guard.name, "en") != zh
