"""Compute engines beside the embedded DuckDB one: Spark (``--engine spark``, the optional extra ``loyalist[spark]``).

Import the submodules directly (``loyalist.engines.spark``); nothing here imports pyspark.
"""

__all__: list[str] = []
