"""MLflow tracking, model registry (champion / challenger aliases), promotion gate and export.

The only loyalist package that imports mlflow; everything else calls it. Typical use (in a pipeline)::

    for key, value in offline_environment().items():      # the CLI applies these to os.environ
        os.environ.setdefault(key, value)
    uri = resolve_tracking_uri(cfg.tracking.tracking_uri, os.environ)
    setup_tracking(uri, cfg.tracking.experiment, artifact_root=None)
    with run("train-churn") as handle:
        handle.log_config(cfg)
        handle.log_dataset(snapshot, "snapshot", "training")
        handle.log_metrics(metrics, prefix="oot.")
        info = log_model(handle, model, registered_name="loyalist-churn", input_example=snapshot)
        decision = gate("loyalist-churn", info.version, challenger_score=auc, champion_score=champion_auc,
                        margin=cfg.training.promotion_margin, metric="roc_auc")
    scores = load("loyalist-churn").predict(snapshot)
"""

from loyalist.tracking.export import export_version, load_exported
from loyalist.tracking.pyfunc import LoadedModel, LoyalistPyfunc
from loyalist.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    ModelVersionInfo,
    PromotionDecision,
    find_version,
    gate,
    get_version,
    list_versions,
    load,
    log_model,
    promote,
    set_alias,
    set_version_description,
    version_info,
)
from loyalist.tracking.store import (
    RunHandle,
    data_fingerprint,
    end_dead_runs,
    offline_environment,
    read_run_metrics,
    read_run_text,
    resolve_tracking_uri,
    run,
    setup_tracking,
    store_lock,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "LoadedModel",
    "LoyalistPyfunc",
    "ModelVersionInfo",
    "PromotionDecision",
    "RunHandle",
    "data_fingerprint",
    "end_dead_runs",
    "export_version",
    "find_version",
    "gate",
    "get_version",
    "list_versions",
    "load",
    "load_exported",
    "log_model",
    "offline_environment",
    "read_run_metrics",
    "read_run_text",
    "promote",
    "resolve_tracking_uri",
    "run",
    "set_alias",
    "set_version_description",
    "setup_tracking",
    "store_lock",
    "version_info",
]
