"""The MLflow ``pyfunc`` wrapper of a loyalist model, and the loaded model the rest of loyalist scores with.

A loyalist model (handed over by the modeling code) is picklable and has ``feature_names_`` (list of str),
``output_name`` (str, e.g. ``"churn_probability"``), ``kind`` (``"churn"`` or ``"value"``) and
``score(X) -> 1-D float array``. It is pickled (cloudpickle) into the MLflow model's artifact ``model``;
:class:`LoyalistPyfunc` loads it back and returns probabilities / values, never class labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel  # not mlflow.pyfunc.PythonModel: mypy cannot see through mlflow's lazy loader

from loyalist.errors import ModelError
from loyalist.tracking.version_info import ModelVersionInfo

__all__ = [
    "MODEL_ARTIFACT",
    "MODEL_KINDS",
    "LoadedModel",
    "LoyalistPyfunc",
    "as_model_input",
    "check_model_protocol",
    "dump_model",
    "load_pickled_model",
    "missing_features",
]

#: Key of the pickled loyalist model in the MLflow model's ``artifacts``.
MODEL_ARTIFACT = "model"
MODEL_KINDS = ("churn", "value", "uplift")
_PROTOCOL = ("feature_names_", "output_name", "kind", "score")


def check_model_protocol(model: Any) -> None:
    """Raise :class:`~loyalist.errors.ModelError` unless ``model`` follows the loyalist model protocol."""
    absent = [name for name in _PROTOCOL if not hasattr(model, name)]
    if absent:
        raise ModelError(
            f"The model {type(model).__name__!r} lacks {absent!r}; expected a fitted loyalist model with "
            "feature_names_, output_name, kind and score(X); fit it before logging."
        )
    if not callable(model.score):
        raise ModelError(f"The model {type(model).__name__!r} has a 'score' that is not callable; expected a method.")
    if model.kind not in MODEL_KINDS:
        raise ModelError(
            f"The model {type(model).__name__!r} has kind {model.kind!r}; expected one of {list(MODEL_KINDS)!r}; "
            "set 'kind' on the model."
        )
    names = list(model.feature_names_)
    if not names or not all(isinstance(n, str) for n in names):
        raise ModelError(
            f"The model {type(model).__name__!r} has feature_names_ {names!r}; expected a non-empty list of column "
            "names; fit it on a DataFrame."
        )


def missing_features(feature_names: list[str], columns: Any) -> list[str]:
    """The model features absent from ``columns``, in the model's order."""
    present = set(map(str, columns))
    return [name for name in feature_names if name not in present]


def as_model_input(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with the column types the model signature declares: numeric (non-bool) columns as float64,
    categorical columns as text (``str``); other columns as they are.

    Integer features become floats as soon as a value is missing, so signatures declare every numeric feature
    ``double`` (MLflow refuses to convert int64 to double by itself), and MLflow signatures have no categorical
    type. A model that needs ``category`` columns (e.g. LightGBM) restores its categories inside ``score``.
    """
    out = {}
    for name in X.columns:
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = col.astype("str")
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[name] = col.astype("float64")
        else:
            out[name] = col
    return pd.DataFrame(out, index=X.index)


def dump_model(model: Any, path: Path) -> Path:
    """Pickle ``model`` with cloudpickle (classes defined in a notebook or script travel by value)."""
    with Path(path).open("wb") as fh:
        cloudpickle.dump(model, fh)
    return Path(path)


def load_pickled_model(path: Path | str) -> Any:
    """Load a model written by :func:`dump_model`."""
    with Path(path).open("rb") as fh:
        return cloudpickle.load(fh)


def _scores_frame(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """``model.score(X[features])`` as a one-column float frame ``output_name`` on ``X``'s index; checks churn
    outputs are probabilities."""
    values = np.asarray(model.score(X), dtype="float64").reshape(-1)
    if len(values) != len(X):
        raise ModelError(
            f"The model {type(model).__name__!r} returned {len(values)} scores for {len(X)} rows; expected one per "
            "row; check its score method."
        )
    if model.kind == "churn":
        finite = values[~np.isnan(values)]
        if len(finite) and (finite.min() < 0.0 or finite.max() > 1.0):
            raise ModelError(
                f"The churn model {type(model).__name__!r} returned {model.output_name!r} outside [0, 1] "
                f"(min {finite.min():.4g}, max {finite.max():.4g}); expected probabilities; return predict_proba[:, 1]."
            )
    return pd.DataFrame({model.output_name: values}, index=X.index)


class LoyalistPyfunc(PythonModel):
    """MLflow ``pyfunc`` model around a pickled loyalist model (artifact ``"model"``).

    ``predict`` takes a DataFrame holding at least the model's ``feature_names_`` (other columns are ignored) and
    returns a DataFrame with one float column ``output_name`` on the same index: churn probabilities in [0, 1], or
    expected values.
    """

    def __init__(self) -> None:
        self.model: Any = None

    def load_context(self, context: Any) -> None:
        self.model = load_pickled_model(context.artifacts[MODEL_ARTIFACT])
        check_model_protocol(self.model)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if self.model is None:
            raise ModelError("The pyfunc model has no loyalist model loaded; load it with mlflow.pyfunc.load_model.")
        if not isinstance(model_input, pd.DataFrame):
            raise ModelError(
                f"The model input is a {type(model_input).__name__!r}; expected a pandas DataFrame with the feature "
                "columns; pass a DataFrame."
            )
        features = list(self.model.feature_names_)
        absent = missing_features(features, model_input.columns)
        if absent:
            raise ModelError(
                f"The input table lacks the model's feature columns {absent!r}; expected all of "
                f"{len(features)} features; rebuild the snapshot with the features the model was trained on."
            )
        return _scores_frame(self.model, model_input[features])


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model: the MLflow pyfunc, the unwrapped loyalist model and where it came from.

    Attributes
    ----------
    pyfunc : mlflow.pyfunc.PyFuncModel
        The MLflow model (signature enforced on predict).
    model : object
        The loyalist model inside (``feature_names_``, ``output_name``, ``kind``, ``score``).
    info : ModelVersionInfo
        Registered name, version, run id, URI, aliases and tags (of the version, or of the export).
    """

    pyfunc: Any
    model: Any
    info: ModelVersionInfo

    @property
    def feature_names(self) -> list[str]:
        return list(self.model.feature_names_)

    @property
    def output_name(self) -> str:
        return str(self.model.output_name)

    @property
    def kind(self) -> str:
        return str(self.model.kind)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Score ``X`` through the MLflow pyfunc (signature enforced).

        Parameters
        ----------
        X : pandas.DataFrame
            One row per customer with at least the model's feature columns (others, such as ``customer_id``,
            are ignored).

        Returns
        -------
        pandas.DataFrame
            One float column ``output_name`` on ``X``'s index.

        Raises
        ------
        ModelError
            Naming the missing feature columns, or MLflow's schema problem (e.g. text in a numeric column).
        """
        absent = missing_features(self.feature_names, X.columns)
        if absent:
            raise ModelError(
                f"The input table lacks the feature columns {absent!r} of model {self.info.name!r} version "
                f"{self.info.version}; expected all {len(self.feature_names)} features it was trained on; rebuild "
                "the snapshot with the same feature config."
            )
        try:
            out = self.pyfunc.predict(as_model_input(X[self.feature_names]))
        except MlflowException as exc:
            detail = " ".join(exc.message.rsplit("Error: ", 1)[-1].split())[:400]
            named = [n for n in self.feature_names if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", detail)]
            columns = f" (columns {named!r})" if named else ""
            raise ModelError(
                f"The input table does not fit the signature of model {self.info.name!r} version "
                f"{self.info.version}{columns}: {detail.rstrip('.')}; give those columns the types of the "
                "training snapshot."
            ) from exc
        out = pd.DataFrame(out)
        out.index = X.index
        return out

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The ``output_name`` column of :meth:`predict` as a 1-D float array."""
        return self.predict(X)[self.output_name].to_numpy(dtype="float64")
