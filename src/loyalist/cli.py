"""The ``loyalist`` command. Each command reads config, then calls one job in :mod:`loyalist.jobs`.

A problem the user can fix (a :class:`~loyalist.errors.LoyalistError`) is printed as one sentence with exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from loyalist.errors import LoyalistError

__all__ = ["app", "main"]

app = typer.Typer(
    name="loyalist",
    help="Customer loyalty, churn risk and customer value: rule score, models, scoring lists and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_STATE: dict[str, Any] = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    list[Path] | None,
    typer.Option("--config", "-c", help="YAML config file(s), applied in order over the defaults."),
]
PresetOpt = Annotated[
    str | None,
    typer.Option("--preset", help="Industry preset (manufacturing, retail, wholesale), applied over the defaults under your "
                 "--config files. Give it to 'prepare': later steps read the config stored with the clean tables."),
]


def _friendly(func: F) -> F:
    """Turn a LoyalistError into one printed sentence and exit code 2 (unless --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LoyalistError as exc:
            if _STATE["debug"]:
                raise
            typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _as_of(value: str | None) -> str | None:
    """``--as-of``: a real calendar date written YYYY-MM-DD (what it means is the job's business)."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            dt.date.fromisoformat(text)
            return text
        except ValueError:
            pass
    raise typer.BadParameter(f"{value!r} is not a date written YYYY-MM-DD (for example 2024-12-31).")


def _control_share(value: float | None) -> float | None:
    """``--control-share``: the share held out per stratum, strictly between 0 and 1 (as the config key)."""
    if value is None or 0 < value < 1:
        return value
    raise typer.BadParameter(
        f"{value:g} is not strictly between 0 and 1: it is the share of each action's customers held out as the "
        "control group, e.g. 0.1 (0 holds no one out and 1 contacts no one; to contact everyone set "
        "scoring_job.control_group.enabled: false).")


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM / SIGHUP (a scheduler stopping the job): unwind like Ctrl-C, so that open MLflow runs end KILLED and
    staging folders and temporary files are removed, then exit with 128 + the signal number."""
    raise SystemExit(128 + signum)


def _install_signal_handlers(ctx: typer.Context) -> None:
    try:
        previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        return

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    ctx.call_on_close(restore)


def _writable(folder: Path, option: str = "--out") -> Path:
    """Prove the output folder can be written before the job spends minutes on work it could not save."""
    from loyalist.io import check_writable

    return check_writable(folder, what=f"the {option} folder")


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
) -> None:
    _install_signal_handlers(ctx)
    _STATE["debug"] = debug
    # LightGBM's OpenMP threads wait passively (no spinning on a core another process needs); libgomp reads this when
    # LightGBM loads, so it is set before anything imports it. The environment may choose otherwise.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not debug:  # MLflow's INFO lines (database set-up, registrations) drown the job's own output
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    _quiet_store_errors(debug)


#: MLflow loggers that print a traceback for a store failure MLflow re-raises anyway; the job turns that failure into
#: one sentence (StoreError), so the traceback is noise unless --debug asks for it.
_STORE_ERROR_LOGGERS = ("mlflow.store.db.utils",)


def _quiet_store_errors(debug: bool) -> None:
    """Silence the loggers in :data:`_STORE_ERROR_LOGGERS` unless ``debug``. MLflow's own logging set-up (at import)
    only sets the level of the ``mlflow`` logger, so a level set here on a child logger survives it."""
    import logging

    for name in _STORE_ERROR_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.CRITICAL + 1)


def _load(config: list[Path] | None, preset: str | None = None, overrides: dict | None = None):
    from loyalist.config import load_config

    return _compute(load_config(config or [], overrides=overrides, preset=preset))


def _compute(cfg):
    """Apply the config's ``compute`` block (DuckDB threads and memory, see loyalist.jobs._common.apply_compute)."""
    from loyalist.jobs._common import apply_compute

    apply_compute(cfg)
    return cfg


EngineOpt = Annotated[
    str,
    # help text is rich markup: a bare [spark] would be read as a style tag and vanish, hence the backslash
    typer.Option("--engine", help="duckdb (one machine, default) or spark (pip install 'loyalist\\[spark]'; "
                 "settings in the config's spark block, SPARK_HOME, PYSPARK_PYTHON)."),
]


def _engine(name: str) -> str:
    if name not in ("duckdb", "spark"):
        from loyalist.errors import ConfigError

        raise ConfigError(f"--engine must be 'duckdb' or 'spark'; got {name!r}.")
    return name


def _uri(path: Path | str) -> str:
    """A folder or URI given on the command line (Path folds 's3a://b/x' to 's3a:/b/x' and 'file:///x' to
    'file:/x'; undo that)."""
    import re

    text = str(path)
    if re.match(r"^file:/(?!/)", text):  # no authority: file:/x is file:///x
        return "file://" + text[len("file:"):]
    return re.sub(r"^([A-Za-z][\w+.-]+):/(?!/)", r"\1://", text)


def _step_config(
    clean: Path | None, config: list[Path] | None, preset: str | None = None, overrides: dict | None = None
):
    """The config of a step reading ``clean``: the one 'loyalist prepare' stored there, with any --config /
    --preset / option overrides layered over it; a warning names the keys that then differ from the prepared
    one."""
    from loyalist.config.resolved import config_for_step

    step = config_for_step(clean, config or [], preset=preset, overrides=overrides)
    for note in step.notes:
        typer.secho(f"Warning: {note}", fg=typer.colors.YELLOW, err=True)
    return _compute(step.config)


def _env() -> dict[str, str]:
    """The environment, read once here at the edge (the library never reads it)."""
    return dict(os.environ)


@app.command()
@_friendly
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for data/demo, outputs/demo and mlruns.")] = Path("."),
    customers: Annotated[int, typer.Option(
        min=10, max=10_000_000, help="Synthetic customers to generate (10 to 10,000,000).")] = 5000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of the generator (0 or more).")] = 42,
    train: Annotated[bool, typer.Option(help="Also train, register and score with the models.")] = True,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """The whole product on a synthetic company: clean, snapshot, loyalty tiers, models, churn-risk list."""
    from loyalist.jobs import demo as job
    from loyalist.jobs._ui import Reporter

    _writable(workdir, "--workdir")
    job.run(workdir=workdir, n_customers=customers, seed=seed, env=_env(), reporter=Reporter(quiet=quiet),
            train=train)


@app.command()
@_friendly
def prepare(
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the clean tables and rejects.")] = Path("data/clean"),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Load, validate and clean the configured tables; write clean Parquet tables, the rejects table and the
    resolved config (defaults + preset + your files) that every later step reads from the clean folder."""
    from loyalist.config import resolve_layers
    from loyalist.jobs import prepare as job
    from loyalist.jobs._ui import Reporter

    cfg = _load(config, preset)
    _writable(out)
    job.run(cfg, out_dir=out, reporter=Reporter(quiet=quiet), layers=resolve_layers(config or [], preset=preset)[1])


@app.command()
@_friendly
def loyalty(
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    clean: Annotated[Path, typer.Option(help="Folder of clean tables written by 'loyalist prepare'.")] = Path(
        "data/clean"
    ),
    as_of: Annotated[str | None, typer.Option(
        callback=_as_of, help="Cut-off date YYYY-MM-DD (default: the last order date).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("outputs"),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Build the snapshot at the cut-off and write the rule-based loyalty score and tier of every customer."""
    from loyalist.jobs import loyalty as job
    from loyalist.jobs._ui import Reporter

    cfg = _step_config(clean, config, preset)
    _writable(out)
    job.run(cfg, clean_dir=clean, as_of=as_of, out_dir=out, env=_env(), reporter=Reporter(quiet=quiet))


CleanOpt = Annotated[
    Path, typer.Option("--clean", help="Folder of clean tables written by 'loyalist prepare' (or the demo).")
]
WorkdirOpt = Annotated[
    Path, typer.Option("--workdir", help="Project folder: the MLflow store mlruns/ and models/ live here.")
]
OptionalCleanOpt = Annotated[
    Path | None, typer.Option("--clean", help="Clean folder whose stored config (tracking store, model names) to use.")
]
ChurnHorizonOpt = Annotated[
    int | None, typer.Option("--churn-horizon-days", min=1,
                             help="Churn horizon in days (overrides features.churn_horizon_days).")
]
ValueHorizonOpt = Annotated[
    int | None, typer.Option("--value-horizon-days", min=1,
                             help="Value horizon in days (overrides features.value_horizon_days).")
]


def _horizon_overrides(churn_days: int | None, value_days: int | None) -> dict | None:
    features = {k: v for k, v in (("churn_horizon_days", churn_days), ("value_horizon_days", value_days))
                if v is not None}
    return {"features": features} if features else None


def _score_overrides(churn_days: int | None, value_days: int | None, control_share: float | None) -> dict | None:
    """The score command's option overrides: the horizons, and ``--control-share`` as
    scoring_job.control_group.share."""
    out = _horizon_overrides(churn_days, value_days) or {}
    if control_share is not None:
        out["scoring_job"] = {"control_group": {"share": float(control_share)}}
    return out or None


def _refuse_in_table_mode(command: str, options: tuple[tuple[str, bool], ...]) -> None:
    """Customer-table mode (one customer table with a churn flag) has no cut-offs, horizons, value model or Spark
    path: an option that would be silently ignored there is refused with one sentence instead."""
    given = [name for name, used in options if used]
    if given:
        from loyalist.errors import ConfigError

        raise ConfigError(
            f"{', '.join(given)} cannot be used with 'loyalist {command}' on a customer table (the clean folder was "
            "prepared from one customer table with a churn flag: there are no orders, cut-offs or value model); "
            "drop the option(s)."
        )


def _tables(config, clean: Path | None, reporter, lazy: tuple[str, ...] = ()):
    from loyalist.data.prepare import read_clean

    if clean is not None and Path(clean).is_dir():
        return read_clean(Path(clean), lazy=lazy)
    if config.data.orders is None:
        from loyalist.errors import ConfigError

        raise ConfigError(
            f"No clean tables in '{clean}' and no 'data.orders' source in the config; run 'loyalist prepare' "
            "first or pass --config with your data sources."
        )
    from loyalist.jobs import prepare as prepare_job

    return prepare_job.run(config, Path(clean or "data/clean"), reporter).tables


@app.command()
@_friendly
def train(
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    clean: CleanOpt = Path("data/clean"),
    workdir: WorkdirOpt = Path("."),
    only: Annotated[str | None, typer.Option(help="Train only 'churn' or 'value'.")] = None,
    tune: Annotated[int, typer.Option(min=0, help="Optuna trials for LightGBM hyper-parameters (0 = defaults).")] = 0,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", callback=_as_of,
        help="Train from events dated up to this day only (YYYY-MM-DD, end of day; default: all).")] = None,
    churn_horizon_days: ChurnHorizonOpt = None,
    value_horizon_days: ValueHorizonOpt = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
    engine: EngineOpt = "duckdb",
) -> None:
    """Train the churn and value models from history (out-of-time validation), log them to MLflow, register
    challengers and promote them when they beat the best baseline and the champion."""
    from loyalist.jobs import train as job
    from loyalist.jobs._ui import Reporter

    reporter = Reporter(quiet=quiet)
    cfg = _step_config(clean, config, preset, _horizon_overrides(churn_horizon_days, value_horizon_days))
    kinds = ("churn", "value") if only is None else (only,)
    if only not in (None, "churn", "value"):
        from loyalist.errors import ConfigError

        raise ConfigError(f"--only must be 'churn' or 'value'; got {only!r}.")
    from loyalist.jobs import table_mode

    if table_mode.is_table_mode(cfg):  # one customer table with a churn flag (issue 15): the churn model only
        _refuse_in_table_mode("train", (
            ("--only value", only == "value"), ("--tune", tune > 0), ("--as-of", as_of is not None),
            ("--churn-horizon-days", churn_horizon_days is not None),
            ("--value-horizon-days", value_horizon_days is not None), ("--engine spark", _engine(engine) == "spark")))
        table_mode.run_train(cfg, clean, workdir=workdir, env=_env(), reporter=reporter)
        return
    snapshots = None
    if _engine(engine) == "spark":  # the training snapshots and labels on Spark, the models on this machine
        import functools

        from loyalist.engines.spark import spark_labelled_snapshot, spark_tables
        from loyalist.jobs.score_spark import start_spark

        spark = start_spark(cfg, _env())
        snapshots = functools.partial(spark_labelled_snapshot, spark, spark_tables(spark, _uri(clean)))
    prepared = clean is not None and Path(clean).is_dir()
    tables = _tables(cfg, clean, reporter)
    from loyalist.data.prepare import sequenced_orders

    # the orders frame read from a prepared folder is its orders file's rows in order: the DuckDB snapshots read
    # each order's previous and first order from that file instead of computing them
    sequence = sequenced_orders(Path(clean)) if prepared and snapshots is None else None
    job.run_training(cfg, tables, workdir=workdir, env=_env(), reporter=reporter,
                     kinds=kinds, tune_trials=tune, as_of=as_of, snapshots=snapshots, sequence=sequence)


@app.command()
@_friendly
def score(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", callback=_as_of, help="Cut-off date YYYY-MM-DD (default: last order).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for churn_risk.parquet / .csv / _summary.json.")] = Path(
        "outputs/scores"
    ),
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    clean: CleanOpt = Path("data/clean"),
    workdir: WorkdirOpt = Path("."),
    churn_bundle: Annotated[Path | None, typer.Option(help="Exported churn bundle (models/<name>/<v>) "
                                                       "instead of the registry champion.")] = None,
    value_bundle: Annotated[Path | None, typer.Option(help="Exported value bundle instead of the champion.")] = None,
    churn_horizon_days: ChurnHorizonOpt = None,
    value_horizon_days: ValueHorizonOpt = None,
    lang: Annotated[str, typer.Option(help="Language of the CSV's text columns: zh, en, or both (two column "
                                           "sets, <column>_zh and <column>_en).")] = "both",
    previous: Annotated[Path | None, typer.Option(
        "--previous", help="The previous churn_risk.parquet (or .csv): adds the newly-at-risk view (active customers "
        "whose risk rose most).")] = None,
    control_share: Annotated[float | None, typer.Option(
        "--control-share", callback=_control_share,
        help="Share of each action's customers held out as this campaign's control group, strictly between 0 and 1 "
        "(overrides scoring_job.control_group.share, default 0.1).")] = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
    engine: EngineOpt = "duckdb",
) -> None:
    """Score every customer with the champion models: the churn-risk list sorted by value at risk, with reasons,
    actions and owners; a JSON summary, a drift check and an MLflow run."""
    from loyalist.jobs import score as job
    from loyalist.jobs._ui import Reporter

    reporter = Reporter(quiet=quiet)
    cfg = _step_config(clean, config, preset, _score_overrides(churn_horizon_days, value_horizon_days, control_share))
    from loyalist.jobs import table_mode

    if table_mode.is_table_mode(cfg):  # one customer table with a churn flag (issue 15)
        _refuse_in_table_mode("score", (
            ("--as-of", as_of is not None), ("--control-share", control_share is not None), ("--churn-bundle", churn_bundle is not None),
            ("--value-bundle", value_bundle is not None), ("--churn-horizon-days", churn_horizon_days is not None),
            ("--value-horizon-days", value_horizon_days is not None), ("--lang", lang != "both"),
            ("--previous", previous is not None), ("--engine spark", _engine(engine) == "spark")))
        _writable(out)
        table_mode.run_score(cfg, clean, out_dir=out, workdir=workdir, env=_env(), reporter=reporter)
        return
    if control_share is not None and not cfg.scoring_job.control_group.enabled:
        from loyalist.errors import ConfigError

        raise ConfigError(f"--control-share {control_share:g} is given but scoring_job.control_group.enabled is false, "
                          "so no one would be held out; set it to true in the config or drop the option.")
    if _engine(engine) == "spark":
        from loyalist.jobs import score_spark

        unsupported = [name for name, given in (("--previous", previous is not None),
                                                ("--churn-horizon-days", churn_horizon_days is not None),
                                                ("--value-horizon-days", value_horizon_days is not None)) if given]
        if unsupported:
            from loyalist.errors import ConfigError

            raise ConfigError(f"{', '.join(unsupported)} cannot be used with --engine spark yet; score with the "
                              "DuckDB engine (the default) or drop the option(s).")
        if "://" not in _uri(out):
            _writable(out)
        score_spark.run_scoring_spark(cfg, _uri(clean), as_of=as_of, out_dir=_uri(out), workdir=workdir,
                                      env=_env(), reporter=reporter, churn_bundle=churn_bundle,
                                      value_bundle=value_bundle, csv_lang=lang)
        return
    _writable(out)
    from loyalist.data.prepare import STREAMED_TABLES

    tables = _tables(cfg, clean, reporter, lazy=STREAMED_TABLES)
    job.run_scoring(cfg, tables, as_of=as_of, out_dir=out, workdir=workdir, env=_env(),
                    reporter=reporter, churn_bundle=churn_bundle, value_bundle=value_bundle,
                    horizons={"churn": churn_horizon_days, "value": value_horizon_days}, csv_lang=lang,
                    previous=previous)


@app.command()
@_friendly
def promote(
    name: Annotated[str, typer.Argument(help="Registered model, e.g. loyalist-churn.")],
    version: Annotated[int, typer.Argument(min=1, help="Version to make champion (1 or more).")],
    config: ConfigOpt = None,
    workdir: WorkdirOpt = Path("."),
    clean: OptionalCleanOpt = None,
) -> None:
    """Move the 'champion' alias to a version by hand (the old champion becomes 'previous')."""
    from loyalist.jobs._common import start_tracking
    from loyalist.tracking import promote as do_promote

    cfg = _step_config(clean, config) if clean is not None else _load(config)
    start_tracking(cfg, workdir, _env())
    do_promote(name, version)
    typer.echo(f"{name} version {version} is now champion.")


@app.command()
@_friendly
def models(config: ConfigOpt = None, workdir: WorkdirOpt = Path("."), clean: OptionalCleanOpt = None) -> None:
    """List registered versions with their aliases and out-of-time metrics."""
    import pandas as pd

    from loyalist.jobs._common import start_tracking
    from loyalist.jobs._ui import Reporter
    from loyalist.tracking import list_versions

    cfg = _step_config(clean, config) if clean is not None else _load(config)
    start_tracking(cfg, workdir, _env())
    table = list_versions([cfg.tracking.churn_model_name, cfg.tracking.value_model_name])
    if table.empty:
        typer.echo("No registered model yet: run 'loyalist train' (or 'loyalist demo').")
        return
    wanted = ["metric.roc_auc", "metric.pr_auc", "metric.normalised_gini", "metric.spearman", "valid_cutoff"]
    reporter = Reporter()
    # one table per model, with only the metrics it has: in one table of eight columns an 80-column terminal cut
    # every name and alias to 'loyali…' / 'champi…', and churn and value versions could not be told apart
    for name, versions in table.groupby("name", sort=False):
        cols = [c for c in wanted if c in versions.columns and versions[c].notna().any()]
        reporter.table(
            f"{name}: registered versions (out-of-time metrics)",
            ["version", "aliases", *[c.removeprefix("metric.") for c in cols]],
            [[int(r["version"]), r["aliases"], *[("" if pd.isna(r[c]) else r[c]) for c in cols]]
             for _, r in versions.iterrows()],
        )


@app.command()
@_friendly
def export(
    name: Annotated[str, typer.Argument(help="Registered model, e.g. loyalist-churn.")],
    version: Annotated[str, typer.Argument(help="Version number, or an alias such as champion.")] = "champion",
    config: ConfigOpt = None,
    workdir: WorkdirOpt = Path("."),
    out: Annotated[Path, typer.Option(help="Folder of exported bundles.")] = Path("models"),
    clean: OptionalCleanOpt = None,
) -> None:
    """Write a registered version to models/<name>/<version>/ with its MODEL_CARD.md (loadable without the store)."""
    from loyalist.jobs import export as job

    cfg = _step_config(clean, config) if clean is not None else _load(config)
    _writable(out)
    path = job.run(cfg, name, version, out_dir=out, workdir=workdir, env=_env())
    typer.echo(f"Exported {name} to {path}")


@app.command("tune-weights")
@_friendly
def tune_weights_cmd(
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    clean: CleanOpt = Path("data/clean"),
    trials: Annotated[int, typer.Option(min=1, help="Optuna trials per study (weights; thresholds when tuned).")] = 100,
    tune_caps: Annotated[bool, typer.Option(help="Also tune the caps of cap/inverse scaled indicators.")] = False,
    tune_thresholds: Annotated[
        bool, typer.Option(help="Also tune the tier thresholds (soft penalty keeps every tier usable).")
    ] = False,
    by_industry: Annotated[
        bool, typer.Option(help="Tune each industry with enough customers on its own, besides the global result.")
    ] = True,
    min_customers: Annotated[
        int, typer.Option(min=1, help="Training customers an industry needs to be tuned on its own.")
    ] = 500,
    out: Annotated[Path, typer.Option(help="Folder for tuned_weights*.yaml and tuned_weights_report.csv.")] = Path(
        "outputs"
    ),
    workdir: WorkdirOpt = Path("."),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Tune the loyalty score's indicator weights against observed churn; write a config overlay and before/after."""
    from loyalist.jobs import tune_weights as job
    from loyalist.jobs._ui import Reporter

    reporter = Reporter(quiet=quiet)
    cfg = _step_config(clean, config, preset)
    _writable(out)
    job.run(
        cfg, _tables(cfg, clean, reporter), workdir=workdir, env=_env(), reporter=reporter, n_trials=trials,
        tune_caps=tune_caps, tune_thresholds=tune_thresholds, out_dir=out, by_industry=by_industry,
        min_customers=min_customers,
    )


@app.command()
@_friendly
def report(
    scores: Annotated[Path, typer.Option(
        "--scores", help="Scored list (churn_risk.parquet or .csv); <stem>_summary.json beside it is read too.")],
    previous: Annotated[list[Path] | None, typer.Option(
        "--previous", help="Earlier scored list(s): the latest gives tier changes and tracking, all give the trend.")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh, en or both (two files: report_zh.*, report_en.*).")] = "both",
    format: Annotated[str, typer.Option("--format", help="Comma-separated output formats: html, pdf.")] = "html",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("outputs/report"),
    clean: Annotated[Path | None, typer.Option(
        help="Folder written by 'loyalist prepare': row counts, rejects per rule, repurchase and complaint stages.")
    ] = None,
    config: ConfigOpt = None,
    top: Annotated[int, typer.Option(
        min=1, help="Customers listed in the action plan and the appendix tables (1 or more).")] = 10,
    effect: Annotated[Path | None, typer.Option(
        "--effect", help="A campaign's effect.json (or its folder) from 'loyalist effect'; default: the latest one "
        "beside the list (its folder and sub-folders, its parent's sub-folders).")] = None,
    uplift: Annotated[Path | None, typer.Option(
        "--uplift", help="An uplift model's uplift.json (or its folder) from 'loyalist uplift' for the Qini curve; "
        "default: the one beside the list (its folder and sub-folders, its parent's uplift folder).")] = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Write the loyalty and value report (HTML / PDF, Chinese / English) and report_summary.json."""
    from loyalist.config.resolved import RESOLVED_FILE
    from loyalist.jobs import report as job
    from loyalist.jobs._ui import Reporter

    prepared = clean is not None and (Path(clean) / RESOLVED_FILE).is_file()
    cfg = _step_config(clean, config) if config or prepared else None  # else: the scored list's own config
    _writable(out)
    job.run(scores, previous or [], lang=lang, formats=format, out_dir=out, clean_dir=clean,
            reporter=Reporter(quiet=quiet), config=cfg, top_n=top, effect=effect,
            uplift=uplift)


@app.command()
@_friendly
def track(
    previous: Annotated[Path, typer.Option("--previous", help="Scored list of the earlier period.")],
    current: Annotated[Path, typer.Option("--current", help="Scored list of the current period.")],
    out: Annotated[Path, typer.Option(help="Folder for tracking.json.")] = Path("outputs"),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Compare two scored lists: tier migration, win-back rate, devoted share, value at risk recovered."""
    from loyalist.jobs import track as job
    from loyalist.jobs._ui import Reporter

    _writable(out)
    job.run(previous, current, out_dir=out, reporter=Reporter(quiet=quiet))


@app.command()
@_friendly
def effect(
    assignment: Annotated[Path, typer.Option(
        "--assignment", help="The campaign's churn_risk_control.parquet (or .csv) written by 'loyalist score'.")],
    horizon_days: Annotated[int, typer.Option(
        "--horizon-days", min=1, help="Days after the campaign date over which churn, orders and revenue count.")] = 90,
    clean: CleanOpt = Path("data/clean"),
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for effect.csv, effect_summary.csv and effect.json.")] = Path(
        "outputs/effect"),
    workdir: WorkdirOpt = Path("."),
    orders: Annotated[Path | None, typer.Option(
        "--orders", help="Orders Parquet file to measure on instead of <clean>/orders.parquet (e.g. the demo's "
        "simulated campaign outcome).")] = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """The measured effect of a campaign: churn rate, orders and revenue of treatment vs control per action, tier
    and risk band, with 95% intervals, whether the sample is large enough, customers saved and the value kept net
    of the actions' cost; logged as a run in the MLflow experiment '<experiment>-campaigns'."""
    from loyalist.jobs import effect as job
    from loyalist.jobs._ui import Reporter

    cfg = _step_config(clean, config)
    _writable(out)
    _writable(workdir, "--workdir")
    job.run(assignment, clean, config=cfg, horizon_days=horizon_days, env=_env(), out_dir=out,
            reporter=Reporter(quiet=quiet), workdir=workdir, orders=orders)


@app.command()
@_friendly
def uplift(
    assignment: Annotated[list[Path], typer.Option(
        "--assignment", help="A past campaign's churn_risk_control.parquet (or .csv) written by 'loyalist score'; "
        "repeat it to learn from several past campaigns pooled (each with its own date's features and outcomes).")],
    horizon_days: Annotated[int, typer.Option(
        "--horizon-days", min=1, help="Days after the campaign date over which a customer counts as kept.")] = 90,
    clean: CleanOpt = Path("data/clean"),
    config: ConfigOpt = None,
    method: Annotated[str, typer.Option(
        help="auto (logistic, two_model or x_learner by cross-validated Qini on the campaign, 3 folds x 3 repeats:"
        " the simplest within 0.5 standard error of the best), auto_x (the same, its earlier name), "
        "logistic (T-learner on two regularised logistic regressions), two_model (LightGBM T-learner), x_learner "
        "or transformed_outcome (LightGBM).")] = "auto",
    drop_uncontrolled_strata: Annotated[bool, typer.Option(
        "--drop-uncontrolled-strata", help="Leave out the strata without a control customer instead of stopping.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for uplift.json and qini.png.")] = Path("outputs/uplift"),
    workdir: WorkdirOpt = Path("."),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Learn targeting by uplift from past campaigns with a control group: a model of how much the action raises
    each customer's chance to stay, judged on held-out customers (Qini beside churn-risk ranking and random) and
    registered in MLflow; the next 'loyalist score' adds uplift and expected_saved_value to the list."""
    from loyalist.jobs import uplift as job
    from loyalist.jobs._ui import Reporter

    cfg = _step_config(clean, config)
    _writable(out)
    _writable(workdir, "--workdir")
    job.run(assignment, clean, config=cfg, horizon_days=horizon_days, env=_env(), out_dir=out, workdir=workdir,
            method=method, drop_uncontrolled_strata=drop_uncontrolled_strata, reporter=Reporter(quiet=quiet))


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="loyalist")


if __name__ == "__main__":  # pragma: no cover
    main()
