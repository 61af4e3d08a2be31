"""Customer-table mode (issue 15 §1): churn from one row per customer with a churn flag (Telco, bank and
subscription exports), instead of order histories.

- :mod:`~loyalist.tabular.types`: column types inferred from the values (numeric, categorical, date, id, text);
- :mod:`~loyalist.tabular.prepare`: the customers table read with every column, cleaned by the shared rules, typed;
- :mod:`~loyalist.tabular.leakage`: the leakage alarm (a column or an id that predicts the flag on its own);
- :mod:`~loyalist.tabular.models`: LightGBM (categorical, early-stopped, calibrated) and the two baselines;
- :mod:`~loyalist.tabular.evaluate`: stratified k-fold judgement, the same folds for every model;
- :mod:`~loyalist.tabular.risk`: the churn-risk list (expected remaining tenure, value at risk, reasons).
"""

from loyalist.tabular.evaluate import CVResult, cross_validate, make_folds
from loyalist.tabular.leakage import leakage_report, single_column_auc
from loyalist.tabular.models import (
    LogisticChurnModel,
    SingleFeatureModel,
    TableChurnModel,
    feature_frame,
)
from loyalist.tabular.prepare import (
    LABEL,
    TYPES_FILE,
    TablePrepared,
    parse_churn_flag,
    prepare_customer_table,
    read_customer_table,
)
from loyalist.tabular.risk import (
    build_table_risk_list,
    expected_remaining_months,
    top_reasons,
)
from loyalist.tabular.types import FEATURE_TYPES, TYPES, infer_types, parse_numbers

__all__ = [
    "FEATURE_TYPES",
    "LABEL",
    "TYPES",
    "TYPES_FILE",
    "CVResult",
    "LogisticChurnModel",
    "SingleFeatureModel",
    "TableChurnModel",
    "TablePrepared",
    "build_table_risk_list",
    "cross_validate",
    "expected_remaining_months",
    "feature_frame",
    "infer_types",
    "leakage_report",
    "make_folds",
    "parse_churn_flag",
    "parse_numbers",
    "prepare_customer_table",
    "read_customer_table",
    "single_column_auc",
    "top_reasons",
]
