"""make_spec keeps the numeric columns with more than one distinct value (max > min, not a hash of every value)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.modeling.supervised.matrix import make_spec


def test_make_spec_keeps_what_nunique_keeps():
    cols = {
        "const": [1.0] * 6, "nan_all": [np.nan] * 6, "two": [1.0, 2.0, np.nan, 1.0, 1.0, 1.0],
        "zeros": [0.0, -0.0, 0.0, np.nan, -0.0, 0.0], "bool": [True, True, False, True, True, True],
        "bool_const": [True] * 6, "int_big": [2**53, 2**53 + 1, 2**53, 2**53, 2**53, 2**53],
        "nullable": pd.array([1, None, 1, 1, None, 1], dtype="Int64"),
        "nullable2": pd.array([1, None, 2, 1, None, 1], dtype="Int64"),
        "text_num": ["1", "2", "x", None, "1", "1"], "text_const": ["1", "1", "x", None, "1", "1"],
        "inf": [np.inf] * 6, "inf2": [-np.inf, np.inf, 1.0, 1.0, 1.0, 1.0],
    }
    frame = pd.DataFrame(cols)
    spec = make_spec(frame, [*cols, "absent"], [])
    by_nunique = tuple(c for c in cols if pd.to_numeric(frame[c], errors="coerce").nunique(dropna=True) > 1)
    assert spec.numeric == by_nunique == ("two", "bool", "int_big", "nullable2", "text_num", "inf2")
