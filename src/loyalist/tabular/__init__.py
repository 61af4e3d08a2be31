"""Customer-table mode (issue 15 §1): churn from one row per customer with a churn flag (Telco, bank and
subscription exports), instead of order histories.

- :mod:`~loyalist.tabular.types`: column types inferred from the values (numeric, categorical, date, id, text);
- :mod:`~loyalist.tabular.prepare`: the customers table read with every column, cleaned by the shared rules, typed;
- :mod:`~loyalist.tabular.leakage`: the leakage alarm (a column or an id that predicts the flag on its own).
"""

from loyalist.tabular.leakage import leakage_report, single_column_auc
from loyalist.tabular.prepare import LABEL, TYPES_FILE, TablePrepared, parse_churn_flag, prepare_customer_table
from loyalist.tabular.types import FEATURE_TYPES, TYPES, infer_types, parse_numbers

__all__ = [
    "FEATURE_TYPES",
    "LABEL",
    "TYPES",
    "TYPES_FILE",
    "TablePrepared",
    "infer_types",
    "leakage_report",
    "parse_churn_flag",
    "parse_numbers",
    "prepare_customer_table",
    "single_column_auc",
]
