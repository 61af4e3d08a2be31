"""Check ``training.lgbm_params`` against LightGBM's own parameter list and LightGBM's own range checks.

Names: every parameter and alias LightGBM's library reports (``LGBM_DumpParamAliases``) plus the scikit-learn
wrapper's own arguments. Values: LightGBM builds its config from the parameters on a ten-row dataset, which runs
the checks of its ``config_auto.cpp`` (``learning_rate > 0``, ``num_leaves > 1``, known boosting types, ...), so a
bad value is refused at load instead of after minutes of snapshots. Parameters loyalist sets itself per model are
refused with the key to use instead.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import re
from collections.abc import Mapping

__all__ = ["lgbm_param_problems"]

#: Parameters loyalist sets for each model (passing them too would clash or be ignored): alias group -> advice.
_RESERVED = {
    "objective": "is chosen by the model (binary for churn, tweedie for value); remove it",
    "seed": "is set from 'training.random_state'; set that instead",
    "num_threads": "is set by loyalist (2 threads with passive OpenMP wait); remove it",
    "tweedie_variance_power": "is a parameter of the value model; remove it",
}


@functools.cache
def _aliases() -> dict[str, str]:
    """Every accepted name -> its canonical LightGBM name."""
    import lightgbm as lgb
    from lightgbm.basic import _ConfigAliases

    out: dict[str, str] = {}
    for canonical, names in _ConfigAliases._get_all_param_aliases().items():
        for n in names:
            out[n] = canonical
    for n in inspect.signature(lgb.LGBMModel.__init__).parameters:
        if n not in ("self", "kwargs"):
            out.setdefault(n, n)
    return out


def _check_values(params: Mapping[str, object]) -> str | None:
    """LightGBM's own verdict on ``params`` (None when it accepts them)."""
    import lightgbm as lgb
    import numpy as np
    from lightgbm.basic import LightGBMError

    sklearn_only = {"class_weight", "importance_type", "n_jobs", "boosting_type", "subsample_for_bin"}
    native = {k: v for k, v in params.items() if k not in sklearn_only}
    if "boosting_type" in params:
        native["boosting"] = params["boosting_type"]
    x = np.arange(20, dtype="float64").reshape(10, 2)
    y = np.array([0.0, 1.0] * 5)
    try:
        with _quiet_stderr():  # the library prints "[LightGBM] [Fatal] ..." on the C stderr before raising
            data = lgb.Dataset(x, y, params={"verbose": -1})
            lgb.Booster({"objective": "binary", "verbose": -1, "num_threads": 1, **native}, data)
    except (LightGBMError, TypeError, ValueError) as exc:
        return str(exc).strip()
    return None


@contextlib.contextmanager
def _quiet_stderr():
    import os
    import sys

    fd = 2  # the C library's stderr, whatever Python's sys.stderr is
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _sentence(msg: str) -> str:
    m = re.match(r"Check failed: \((\w+)\) (\S+) \(([^)]*)\)", msg)
    if m:
        return f"LightGBM requires {m.group(1)} {m.group(2)} {m.group(3)}"
    return "LightGBM refuses it: " + msg.split(" at /")[0].rstrip(" .")


def lgbm_param_problems(params: Mapping[str, object]) -> list[str]:
    """One sentence per problem of ``params`` (empty when LightGBM accepts them)."""
    aliases = _aliases()
    problems = []
    known = {}
    for name, value in params.items():
        canonical = aliases.get(name)
        if canonical is None:
            close = difflib.get_close_matches(name, list(aliases), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "see https://lightgbm.readthedocs.io/en/stable/Parameters.html"
            problems.append(f"{name!r} is not a LightGBM parameter; {hint}")
        elif canonical in _RESERVED:
            problems.append(f"{name!r} {_RESERVED[canonical]}")
        else:
            known[name] = value
    for name, value in known.items():  # one at a time, so that every bad value is named
        verdict = _check_values({name: value})
        if verdict is not None:
            problems.append(f"{name!r} = {value!r}: {_sentence(verdict)}")
    return problems
