"""The model registry: log and register models, the ``champion`` / ``challenger`` aliases, the promotion gate.

Registry stages are deprecated in MLflow 3; loyalist uses aliases. A newly logged version becomes ``challenger``;
it becomes ``champion`` through :func:`gate` (it beats the champion on the same out-of-time data, or there is no
champion) or :func:`promote` (a person decides). The champion it replaces gets the alias ``previous``, for rollback.
Scoring loads ``models:/<name>@champion`` with :func:`load`. Functions use the store set by
:func:`loyalist.tracking.store.setup_tracking`.
"""

from __future__ import annotations

import functools
import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from loyalist.errors import ConfigError, ModelError, RegistryError
from loyalist.tracking.pyfunc import (
    LoadedModel,
    _scores_frame,
    as_model_input,
    check_model_protocol,
    dump_model,
    missing_features,
)
from loyalist.tracking.store import MAX_TAG_LENGTH, RunHandle, _as_text, _truncate, retry_lost_race, store_lock
from loyalist.tracking.version_info import ModelVersionInfo

__all__ = [
    "CHAMPION",
    "CHALLENGER",
    "find_version",
    "PREVIOUS",
    "ModelVersionInfo",
    "PromotionDecision",
    "gate",
    "get_version",
    "list_versions",
    "load",
    "log_model",
    "model_requirements",
    "promote",
    "set_alias",
    "set_version_description",
    "version_info",
]

F = TypeVar("F", bound=Callable[..., Any])

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"
#: Rows of the input example stored with the model (features only, never ids).
EXAMPLE_ROWS = 5
_MODEL_CODE = """\
import mlflow

from loyalist.tracking.pyfunc import LoyalistPyfunc

mlflow.models.set_model(LoyalistPyfunc())
"""
_BASE_COLUMNS = ("name", "version", "aliases", "created", "run_id")
#: Packages a loyalist model needs at load time, pinned to the installed versions when logged. loyalist itself is
#: not among them (no index serves it): its code travels with the model (``code_paths``, see :func:`log_model`).
_REQUIREMENTS = ("mlflow", "cloudpickle", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "lightgbm", "duckdb")
#: Left out of the copy of the loyalist package shipped with each model.
_CODE_IGNORE = ("__pycache__", "*.pyc", "*.pyo")
#: Longest model-version description MLflow's database stores (``model_versions.description`` is VARCHAR(5000)).
MAX_VERSION_DESCRIPTION = 5000


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of :func:`gate`: ``promoted`` and a one-sentence ``reason``."""

    promoted: bool
    reason: str
    name: str
    challenger_version: int
    champion_version: int | None
    challenger_score: float
    champion_score: float | None


# ------------------------------------------------------------------------------------------ helpers


def _client() -> MlflowClient:
    return MlflowClient()


def _where() -> str:
    return mlflow.get_registry_uri()


def _info(mv: Any, aliases: Sequence[str] | None = None) -> ModelVersionInfo:
    version = int(mv.version)
    return ModelVersionInfo(
        name=mv.name,
        version=version,
        run_id=mv.run_id or "",
        uri=f"models:/{mv.name}/{version}",
        aliases=tuple(sorted(aliases if aliases is not None else (mv.aliases or ()))),
        tags=dict(mv.tags or {}),
        created=pd.Timestamp(int(mv.creation_timestamp), unit="ms", tz="UTC") if mv.creation_timestamp else None,
    )


def _aliases_by_version(client: MlflowClient, name: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for alias, version in (client.get_registered_model(name).aliases or {}).items():
        out.setdefault(int(version), []).append(alias)
    return out


def _is_missing(exc: MlflowException) -> bool:
    return exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


def version_info(name: str, version: int) -> ModelVersionInfo:
    """The version, or :class:`RegistryError` when the model or version does not exist."""
    client = _client()
    try:
        mv = client.get_model_version(name, str(int(version)))
        aliases = _aliases_by_version(client, name).get(int(version), [])
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
        raise RegistryError(
            f"No version {version} of model {name!r} in {_where()}: list the versions with 'loyalist models' and "
            "pick one of them."
        ) from exc
    return _info(mv, aliases)


def model_requirements() -> list[str]:
    """pip requirements of a logged loyalist model: the installed versions of what loading it imports."""
    reqs = []
    for package in _REQUIREMENTS:
        try:
            reqs.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return reqs


def _copy_package(dest: Path) -> Path:
    """A copy of the installed loyalist package under ``dest`` (without bytecode), to log as ``code_paths``."""
    import loyalist

    source = Path(loyalist.__file__).resolve().parent
    target = Path(dest) / "loyalist"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_CODE_IGNORE))
    return target


@contextmanager
def _without_mlflow_prints() -> Iterator[None]:
    """Silence what MLflow prints on its own stream inside the block ("Successfully registered model ...",
    "Created version '3' of model ..."): the job says what it registered in its own words, and ``--quiet`` prints
    nothing but errors. MLflow's stream is process-wide, so its log lines from other threads are dropped while the
    block runs (a registration takes milliseconds); errors still raise."""
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM

    before = MLFLOW_LOGGING_STREAM.enabled
    MLFLOW_LOGGING_STREAM.enabled = False
    try:
        yield
    finally:
        MLFLOW_LOGGING_STREAM.enabled = before


def _run_id(handle_or_run_id: RunHandle | str) -> str:
    return handle_or_run_id.run_id if isinstance(handle_or_run_id, RunHandle) else str(handle_or_run_id)


# ---------------------------------------------------------------------------------------- log model



def _write_alias(client: MlflowClient, name: str, alias: str, version: int | str) -> None:
    """Point ``alias`` of ``name`` at ``version``; a write that lost a race to another user on a shared server (both
    inserted the alias) is tried again (:func:`~loyalist.tracking.store.retry_lost_race`)."""
    retry_lost_race(lambda: client.set_registered_model_alias(name, alias, str(version)))


def log_model(
    handle_or_run_id: RunHandle | str,
    model: Any,
    *,
    registered_name: str,
    input_example: pd.DataFrame,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersionInfo:
    """Log ``model`` as an MLflow pyfunc (``name="model"``) in the run, register a new version, alias it
    ``challenger``.

    Parameters
    ----------
    handle_or_run_id : RunHandle or str
        The run to log into (the active run, or a finished run that is resumed for the call).
    model : loyalist model
        Has ``feature_names_``, ``output_name``, ``kind``, ``score(X)``; pickled with cloudpickle.
    registered_name : str
        Registered model name (e.g. ``"loyalist-churn"``).
    input_example : pandas.DataFrame
        Rows of the training snapshot with at least ``feature_names_``; the signature is inferred from
        ``input_example[feature_names_]`` (integer columns declared as double) and the output frame
        (one double column ``output_name``); the first 5 feature rows are stored as the example.
    tags : mapping or None
        Version tags, e.g. ``{"roc_auc": 0.79, "validation_cutoff": "2024-06-01"}`` (stored as text).

    Returns
    -------
    ModelVersionInfo
        With aliases ``("challenger",)``.
    """
    check_model_protocol(model)
    features = list(model.feature_names_)
    absent = missing_features(features, input_example.columns)
    if absent:
        raise ModelError(
            f"The input example lacks the model's feature columns {absent!r}; expected the training snapshot's "
            "feature columns; pass rows of the table the model was fitted on."
        )
    if len(input_example) == 0:
        raise ModelError("The input example has no rows; expected a few rows of the training snapshot.")
    example = as_model_input(input_example[features].head(max(EXAMPLE_ROWS, 50)))
    signature = infer_signature(example, _scores_frame(model, example).reset_index(drop=True))
    run_id = _run_id(handle_or_run_id)
    active = mlflow.active_run()
    version_tags = {
        "loyalist.kind": model.kind,
        "loyalist.output_name": model.output_name,
        "loyalist.n_features": len(features),
        **dict(tags or {}),
    }
    version_tags = {str(k): _truncate(_as_text(v), MAX_TAG_LENGTH) for k, v in version_tags.items()}

    with tempfile.TemporaryDirectory(prefix="loyalist-model-") as tmp:
        pickled = dump_model(model, Path(tmp) / "model.pkl")
        # "Models from code": MLflow stores this small script instead of a cloudpickled wrapper object.
        code = Path(tmp) / "loyalist_pyfunc.py"
        code.write_text(_MODEL_CODE, encoding="utf-8")
        # The loyalist package travels with the model: MLflow puts code_paths on sys.path before loading, so the
        # model loads where loyalist is not installed (``mlflow models serve``, spark_udf executors).
        shipped = _copy_package(Path(tmp) / "code")
        kwargs = {
            "name": "model",
            "python_model": str(code),
            "artifacts": {"model": str(pickled)},
            "signature": signature,
            "input_example": example.head(EXAMPLE_ROWS),
            "pip_requirements": model_requirements(),
            "code_paths": [str(shipped)],
            "tags": {"loyalist.kind": model.kind},
        }
        if active is not None and active.info.run_id == run_id:
            logged = mlflow.pyfunc.log_model(**kwargs)
        else:
            with mlflow.start_run(run_id=run_id, nested=active is not None):
                logged = mlflow.pyfunc.log_model(**kwargs)

    client = _client()
    with _without_mlflow_prints():
        mv = mlflow.register_model(logged.model_uri, registered_name, tags=version_tags)
    _write_alias(client, registered_name, CHALLENGER, mv.version)
    return version_info(registered_name, int(mv.version))


def fit_description(text: str, limit: int = MAX_VERSION_DESCRIPTION, *, rest: str = "") -> str:
    """``text`` when it fits in ``limit`` characters; else its head, cut at a line end, and a last line saying
    where the rest is (``rest``, e.g. "the full card is the artifact MODEL_CARD.md of run 1a2b...")."""
    if len(text) <= limit:
        return text
    note = f"\n\n[Cut at {limit:,} characters, MLflow's limit for a description" + (f"; {rest}" if rest else "") + ".]"
    room = max(0, limit - len(note))
    head = text[:room]
    end = head.rfind("\n")
    if end > room // 2:
        head = head[:end]
    return head.rstrip() + note


def set_version_description(name: str, version: int, text: str, *, rest: str = "") -> str:
    """Set the description of ``name`` version ``version`` (shown on the version's page in the MLflow UI), cut to
    MLflow's 5,000 characters with :func:`fit_description` (``rest`` says where the full text is). Returns the
    description as stored; RegistryError when the version does not exist."""
    version_info(name, version)
    described = fit_description(text, MAX_VERSION_DESCRIPTION, rest=rest)
    _client().update_model_version(name, str(int(version)), description=described)
    return described


# ------------------------------------------------------------------------------------------ aliases


def get_version(name: str, alias: str) -> ModelVersionInfo | None:
    """The version of ``name`` that carries ``alias``, or None when the model or the alias does not exist."""
    client = _client()
    try:
        mv = client.get_model_version_by_alias(name, alias)
        aliases = _aliases_by_version(client, name).get(int(mv.version), [])
    except MlflowException as exc:
        if _is_missing(exc):
            return None
        raise
    return _info(mv, aliases)


def set_alias(name: str, alias: str, version: int) -> None:
    """Point ``alias`` of ``name`` at ``version`` (it leaves any other version); RegistryError if it is missing."""
    version_info(name, version)
    _write_alias(_client(), name, alias, int(version))


def _locked(func: F) -> F:
    """Run ``func`` under :func:`~loyalist.tracking.store.store_lock`: promotions of concurrent jobs are decided
    one at a time, each seeing the champion the one before it left. A caller that scores the champion before
    calling :func:`gate` holds ``store_lock()`` around both (it is re-entrant)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with store_lock():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@_locked
def promote(name: str, version: int) -> None:
    """Make ``version`` the champion by hand. The old champion gets the alias ``previous``; ``version`` loses
    ``challenger``. Promoting the current champion changes nothing."""
    target = version_info(name, version)
    client = _client()
    current = get_version(name, CHAMPION)
    for alias in (CHALLENGER, PREVIOUS):
        if alias in target.aliases:
            client.delete_registered_model_alias(name, alias)
    if current is None or current.version != target.version:
        _write_alias(client, name, CHAMPION, target.version)
        if current is not None:
            _write_alias(client, name, PREVIOUS, current.version)


@_locked
def gate(
    name: str,
    challenger_version: int,
    *,
    challenger_score: float | None,
    champion_score: float | None,
    margin: float,
    higher_is_better: bool = True,
    metric: str = "score",
    baseline_score: float | None = None,
    baseline_name: str = "the best baseline",
    champion_note: str | None = None,
) -> PromotionDecision:
    """Promote the challenger only when it is at least as good as the best baseline (``baseline_score``) and there
    is no champion, or it beats the champion by more than ``margin``.

    A challenger worse than ``baseline_score`` is never promoted, the first version included: the training job
    registers the baseline itself as the candidate when the learned model loses to it, and passes no bar for such
    a candidate (its frozen fit may score a hair below the same baseline refitted on the validation rows).

    Both scores must come from the same out-of-time data. The decision is also stored on the challenger version
    as tags ``gate.promoted`` and ``gate.reason``.

    Parameters
    ----------
    name, challenger_version : str, int
        The registered model and the candidate version.
    challenger_score, champion_score : float or None, float or None
        The metric of each (``champion_score`` None: the champion was not scored, only fine when there is none).
    baseline_score, baseline_name : float or None, str
        The best baseline's metric on the same rows (None: no baseline bar) and its name for the reason.
    champion_note : str or None
        Why the champion was not scored (``champion_score`` None), e.g. it was trained on later data than the
        challenger's evaluation rows; the reason then says so instead of "has no metric on this data".
    margin : float
        >= 0; the challenger must beat ``champion_score + margin`` (or ``- margin`` when lower is better).
    higher_is_better : bool
        True for ROC AUC, Gini; False for log loss, MAE.
    metric : str
        The metric's name, for the reason sentence (e.g. ``"roc_auc"``).
    """
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ConfigError(
            f"The 'margin' of the promotion gate must be a number >= 0; got {margin!r}; set "
            "'training.promotion_margin' to 0 or more."
        )
    challenger = version_info(name, challenger_version)
    champion = get_version(name, CHAMPION)
    champion_version = champion.version if champion is not None else None
    sign = "+" if higher_is_better else "-"

    def decide(promoted: bool, reason: str) -> PromotionDecision:
        if promoted:
            promote(name, challenger.version)
        _client().set_model_version_tag(name, str(challenger.version), "gate.promoted", str(promoted).lower())
        _client().set_model_version_tag(name, str(challenger.version), "gate.reason", reason)
        return PromotionDecision(
            promoted=promoted,
            reason=reason,
            name=name,
            challenger_version=challenger.version,
            champion_version=champion_version,
            challenger_score=float("nan") if challenger_score is None else float(challenger_score),
            champion_score=None if champion_score is None else float(champion_score),
        )

    if challenger_score is None or not math.isfinite(challenger_score):
        return decide(False, f"challenger {metric} is {challenger_score!r}, not a number, so it cannot be compared.")
    if baseline_score is not None and math.isfinite(baseline_score):
        below = challenger_score < baseline_score if higher_is_better else challenger_score > baseline_score
        if below:
            return decide(False, f"challenger {metric} {challenger_score:.3f} is below {baseline_name} "
                          f"{baseline_score:.3f} on the same rows, so it is never promoted.")
    if champion is None:
        return decide(True, f"no champion exists, so challenger version {challenger.version} becomes champion "
                      f"with {metric} {challenger_score:.3f}.")
    if champion.version == challenger.version:
        return decide(False, f"version {challenger.version} is already the champion.")
    if champion_score is None or not math.isfinite(champion_score):
        why = champion_note or f"has no {metric} on this data"
        return decide(False, f"champion version {champion.version} {why}, so challenger "
                      f"{metric} {challenger_score:.3f} cannot be compared; promote it by hand with "
                      "'loyalist promote'.")
    bar = champion_score + margin if higher_is_better else champion_score - margin
    beats = challenger_score > bar if higher_is_better else challenger_score < bar
    verb = "beats" if beats else "does not beat"
    reason = (f"challenger {metric} {challenger_score:.3f} {verb} champion {champion_score:.3f} {sign} margin "
              f"{margin:.3f}")
    if beats:
        return decide(True, f"{reason}, so version {challenger.version} replaces version {champion.version}.")
    return decide(False, f"{reason}, so version {champion.version} stays champion.")


def find_version(name: str, tag: str, value: str) -> ModelVersionInfo | None:
    """The newest version of ``name`` whose tag ``tag`` equals ``value`` (None when none, or no such model)."""
    client = _client()
    escaped = name.replace("'", "\\'")
    try:
        found = [mv for mv in client.search_model_versions(f"name='{escaped}'")
                 if (mv.tags or {}).get(tag) == value]
    except MlflowException as exc:
        if _is_missing(exc):
            return None
        raise
    if not found:
        return None
    newest = max(found, key=lambda mv: int(mv.version))
    return version_info(name, int(newest.version))


# --------------------------------------------------------------------------------------- load, list


def _missing_alias(name: str, alias: str) -> RegistryError:
    return RegistryError(
        f"No model {name!r} with alias {alias!r} in {_where()}: train one with 'loyalist train' or promote a "
        "version with 'loyalist promote'."
    )


def load(name: str, alias: str = CHAMPION) -> LoadedModel:
    """Load ``models:/<name>@<alias>``: the pyfunc, the unwrapped loyalist model and the version info.

    Raises
    ------
    RegistryError
        "No model 'loyalist-churn' with alias 'champion' in <uri>: ..." when the model or alias is missing.
    """
    info = get_version(name, alias)
    if info is None:
        raise _missing_alias(name, alias)
    try:
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@{alias}")
        model = pyfunc.unwrap_python_model().model
    except MlflowException as exc:
        if _is_missing(exc):
            raise _missing_alias(name, alias) from exc
        raise _unloadable(info, exc) from exc
    except Exception as exc:
        raise _unloadable(info, exc) from exc
    return LoadedModel(pyfunc=pyfunc, model=model, info=info)


def _unloadable(info: ModelVersionInfo, exc: BaseException) -> RegistryError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return RegistryError(
        f"The artifacts of model {info.name!r} version {info.version} in {_where()} cannot be loaded ({text[:300]}); "
        "train a new version with 'loyalist train' or promote another one with 'loyalist promote'."
    )


def list_versions(names: Sequence[str]) -> pd.DataFrame:
    """All versions of the registered models ``names`` (names not registered yet give no rows).

    Returns
    -------
    pandas.DataFrame
        One row per version, sorted by name and version: ``name``, ``version`` (int), ``aliases`` (comma-separated,
        "" when none), ``created`` (datetime64 UTC), ``run_id``, then one column per version tag (metric values
        as floats when every value of the column is a number, other tags as text; missing as NA).
    """
    client = _client()
    rows: list[dict[str, Any]] = []
    for name in names:
        try:
            by_version = _aliases_by_version(client, name)
        except MlflowException as exc:
            if _is_missing(exc):
                continue
            raise
        escaped = name.replace("'", "\\'")
        for mv in client.search_model_versions(f"name='{escaped}'"):
            info = _info(mv, by_version.get(int(mv.version), []))
            rows.append({
                "name": info.name,
                "version": info.version,
                "aliases": ",".join(info.aliases),
                "created": info.created,
                "run_id": info.run_id,
                **{k: v for k, v in info.tags.items() if k not in _BASE_COLUMNS},
            })
    base = list(_BASE_COLUMNS)
    if not rows:
        return pd.DataFrame({
            "name": pd.Series(dtype="str"),
            "version": pd.Series(dtype="int64"),
            "aliases": pd.Series(dtype="str"),
            "created": pd.Series(dtype="datetime64[ms, UTC]"),
            "run_id": pd.Series(dtype="str"),
        })
    table = pd.DataFrame(rows)
    tag_columns = sorted(c for c in table.columns if c not in base)
    table = table[base + tag_columns].sort_values(["name", "version"], ignore_index=True)
    for column in tag_columns:
        try:
            table[column] = pd.to_numeric(table[column])
        except (TypeError, ValueError):
            continue
    return table
