"""PySpark 4 warns at every pandas call site that it does not fully support pandas 3; ``score --engine spark``
printed it 11 times. Once the Spark engine is chosen the warning is silenced (tests/spark check the numbers)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest


def test_choosing_the_spark_engine_silences_pysparks_pandas3_warning():
    if int(pd.__version__.split(".")[0]) < 3:
        pytest.skip("PySpark only warns under pandas >= 3")
    from pyspark.sql.pandas.utils import require_minimum_pandas_version

    from loyalist.engines.spark import require_pyspark

    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        require_minimum_pandas_version()
    assert any("fully support pandas" in str(w.message) for w in before), "PySpark no longer warns: drop the filter"

    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        require_pyspark()
        require_minimum_pandas_version()
        warnings.warn("another FutureWarning still shows", FutureWarning, stacklevel=1)
    messages = [str(w.message) for w in after]
    assert not any("fully support pandas" in m for m in messages)
    assert "another FutureWarning still shows" in messages
