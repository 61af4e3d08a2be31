"""The one exception module of loyalist.

Every error a user can meet is one of these classes. Each carries a single sentence that says what is wrong
(the file, table, column or parameter, quoted), what was expected, what was found and how to fix it. The CLI
prints that sentence and exits with code 2; ``--debug`` shows the traceback.

Each class also inherits the matching built-in exception, so ``except ValueError`` keeps working for callers
that do not know loyalist.
"""

from __future__ import annotations

__all__ = [
    "LoyalistError",
    "ConfigError",
    "InputFileError",
    "SchemaError",
    "DataQualityError",
    "InsufficientHistoryError",
    "ModelError",
    "NotFittedError",
    "RegistryError",
    "OutputError",
    "StoreError",
    "EngineError",
    "CampaignError",
]


class LoyalistError(Exception):
    """Base class: a problem the user can fix, described in one sentence."""

    exit_code = 2


class ConfigError(LoyalistError, ValueError):
    """A configuration file or parameter is invalid (all problems are listed at once)."""


class InputFileError(LoyalistError, OSError):
    """An input file is missing, empty, unreadable or in an unknown format or encoding."""


class SchemaError(LoyalistError, ValueError):
    """A table lacks a required column, or a column has values of the wrong type."""


class DataQualityError(LoyalistError, ValueError):
    """The data cannot be used as it is (for example every row was rejected)."""


class InsufficientHistoryError(LoyalistError, ValueError):
    """There is too little history, or a label class is missing, to build training cut-offs."""


class ModelError(LoyalistError, ValueError):
    """A model cannot be trained or applied to the given features."""


class NotFittedError(ModelError, AttributeError):
    """An estimator was used before ``fit``."""


class RegistryError(LoyalistError, LookupError):
    """A registered model, version or alias is missing in the MLflow registry."""


class OutputError(LoyalistError, OSError):
    """An output file or folder cannot be written (read-only or full folder, a file where a folder is expected),
    or a written set of files no longer matches its manifest."""


class StoreError(LoyalistError, OSError):
    """The MLflow tracking store cannot be used: a corrupt or non-SQLite database, a read-only store folder, or a
    tracking server that does not answer."""


class EngineError(LoyalistError, RuntimeError):
    """A compute engine (Spark) is not installed, cannot start or cannot reach its cluster, or DuckDB runs out of
    the memory it is given."""


class CampaignError(LoyalistError, ValueError):
    """A campaign's control assignment or its outcomes cannot be measured as given (customers not in the data,
    no control or no treatment customers, a control share of 0 or 1, outcomes before the campaign date)."""
