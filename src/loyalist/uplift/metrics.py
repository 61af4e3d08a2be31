"""How well a score ranks customers by the effect of an action: Qini curve, normalised Qini coefficient, uplift@k.

Inputs are three arrays of one length: ``y`` the outcome the action should raise (1 = visited / stayed, or a value
for the curve), ``score`` the predicted uplift (higher = contact first) and ``treatment`` (1 = contacted, 0 =
control), from a randomised campaign.

- :func:`qini_curve`: after contacting the top ``n`` customers by score, the incremental outcomes
  ``Y_t(n) - Y_c(n) * N_t(n) / N_c(n)`` (treated outcomes minus control outcomes scaled to the treated count;
  Radcliffe 2007). Customers with equal scores enter together (one point per distinct score), so the curve does not
  depend on the order of ties.
- :func:`perfect_qini_curve`: the curve of the ideal ranking, which puts treated responders first and control
  responders last (``negative_effect=True``), or the curve that gains everything at once (``False``).
- :func:`qini_auc_score`: the area between the curve and the straight line from (0, 0) to its end (random
  targeting), divided by the same area for the perfect curve: 0 for random, 1 for perfect, negative for a ranking
  worse than random. This is scikit-uplift's ``qini_auc_score`` (v0.5.1) normalisation, reproduced here (the package
  is unmaintained since 2022; ``tests/uplift/test_metrics.py`` pins it to hand-computed golden values).
- :func:`uplift_at_k`: response rate of the treated minus that of the control among the top ``k`` share by score
  (``strategy="overall"``, scikit-uplift's default; ``int(n * k)`` customers) or among the top ``k`` share of each
  group (``"by_group"``).
- :func:`random_qini`: the normalised Qini of random scores over permutations (its ``quantile``, e.g. the 95th
  percentile: a model below it is not distinguishable from random at that level).
- :func:`qini_interval`: a bootstrap interval of a score's normalised Qini over the customers (resampled within
  the contacted and the control group), to say how much one split of a small campaign can tell.
"""

from __future__ import annotations

import numpy as np

from loyalist.errors import DataQualityError

__all__ = ["qini_curve", "perfect_qini_curve", "qini_auc_score", "uplift_at_k", "random_qini", "qini_interval"]


def _arrays(y: object, score: object | None, treatment: object, *, binary_y: bool) -> tuple[np.ndarray, ...]:
    y_ = np.asarray(y, dtype="float64").ravel()
    t_ = np.asarray(treatment, dtype="float64").ravel()
    s_ = np.zeros_like(y_) if score is None else np.asarray(score, dtype="float64").ravel()
    if not len(y_) == len(t_) == len(s_):
        raise DataQualityError(f"The outcome, score and treatment arrays must have one length; got {len(y_)}, "
                               f"{len(s_)} and {len(t_)}.")
    if len(y_) == 0:
        raise DataQualityError("The uplift metrics need at least one customer; got none.")
    if not np.isin(t_, (0.0, 1.0)).all():
        raise DataQualityError("The treatment array must hold only 0 (control) and 1 (contacted); got "
                               f"{sorted(set(np.unique(t_[~np.isin(t_, (0.0, 1.0))]).tolist()))[:5]}.")
    if t_.min() == t_.max():
        side = "control" if t_.min() == 1 else "contacted"
        raise DataQualityError(f"The uplift metrics need both contacted and control customers; there is no {side} "
                               "customer.")
    if not (np.isfinite(y_).all() and np.isfinite(s_).all()):
        raise DataQualityError("The outcome and score arrays must be finite numbers; got a missing or infinite value.")
    if binary_y and not np.isin(y_, (0.0, 1.0)).all():
        raise DataQualityError("The outcome must be binary (0 or 1) for the normalised Qini coefficient; use "
                               "qini_curve for a value outcome.")
    return y_, s_, t_


def _curve(y: np.ndarray, score: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(score, kind="mergesort")[::-1]
    y, score, t = y[order], score[order], t[order]
    # the last position of each run of equal scores (a point per distinct score), then the end
    ends = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    n_t = np.cumsum(t)[ends]
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    n = ends + 1.0
    n_c = n - n_t
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return np.r_[0.0, n], np.r_[0.0, y_t - y_c * ratio]


def qini_curve(y: object, score: object, treatment: object) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve: ``(n, incremental)`` arrays starting at (0, 0), one point per distinct score (descending).

    ``incremental[i]`` = outcomes of the treated among the top ``n[i]`` minus outcomes of the control among them
    times (treated / control count among them); 0 control customers among them counts as no control outcome.
    """
    y_, s_, t_ = _arrays(y, score, treatment, binary_y=False)
    return _curve(y_, s_, t_)


def perfect_qini_curve(y: object, treatment: object, *, negative_effect: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of the ideal ranking (binary ``y``).

    ``negative_effect=True``: score = +1 for treated responders, -1 for control responders, 0 otherwise (the
    ranking that also finds those whom the action puts off). ``False``: the curve rises to the total gain at once
    (at ``n`` = that gain) and stays flat.
    """
    y_, _, t_ = _arrays(y, None, treatment, binary_y=True)
    if negative_effect:
        return _curve(y_, y_ * t_ - y_ * (1 - t_), t_)
    gain = float(y_[t_ == 1].sum() - (t_ == 1).sum() * y_[t_ == 0].sum() / (t_ == 0).sum())
    return np.array([0.0, gain, float(len(y_))]), np.array([0.0, gain, gain])


def _area(x: np.ndarray, q: np.ndarray) -> float:
    return float(np.trapezoid(q, x))


def qini_auc_score(y: object, score: object, treatment: object, *, negative_effect: bool = True) -> float:
    """The normalised Qini coefficient (binary ``y``): (area under the curve - area under the random line) /
    (the same for the perfect curve). 0 = random, 1 = perfect; scikit-uplift's ``qini_auc_score``.

    Raises DataQualityError when the perfect curve is no better than random (no positive outcome at all).
    """
    y_, s_, t_ = _arrays(y, score, treatment, binary_y=True)
    x, q = _curve(y_, s_, t_)
    xp, qp = perfect_qini_curve(y_, t_, negative_effect=negative_effect)
    baseline = _area(np.array([0.0, xp[-1]]), np.array([0.0, qp[-1]]))
    perfect = _area(xp, qp) - baseline
    if perfect == 0:
        raise DataQualityError("The normalised Qini is undefined here: the perfect ranking is no better than random "
                               "(no customer has a positive outcome).")
    return (_area(x, q) - baseline) / perfect


def uplift_at_k(y: object, score: object, treatment: object, *, k: float = 0.3, strategy: str = "overall") -> float:
    """Response rate of the treated minus that of the control among the top ``k`` share (0 < k < 1) by score.

    ``strategy="overall"``: the top ``int(n * k)`` customers of both groups together; ``"by_group"``: the top
    ``int(n_t * k)`` treated and top ``int(n_c * k)`` control customers. Ties in the score keep their input order
    (a stable sort, as scikit-uplift). NaN when the top holds no treated or no control customer.
    """
    if not 0 < k < 1:
        raise DataQualityError(f"k must be a share strictly between 0 and 1; got {k!r}.")
    if strategy not in ("overall", "by_group"):
        raise DataQualityError(f"strategy must be 'overall' or 'by_group'; got {strategy!r}.")
    y_, s_, t_ = _arrays(y, score, treatment, binary_y=False)
    order = np.argsort(s_, kind="mergesort")[::-1]
    y_, t_ = y_[order], t_[order]
    if strategy == "overall":
        top = slice(0, int(len(y_) * k))
        yt, yc = y_[top][t_[top] == 1], y_[top][t_[top] == 0]
    else:
        yt = y_[t_ == 1][: int((t_ == 1).sum() * k)]
        yc = y_[t_ == 0][: int((t_ == 0).sum() * k)]
    if len(yt) == 0 or len(yc) == 0:
        return float("nan")
    return float(yt.mean() - yc.mean())


def _clusters(groups: object, n: int) -> np.ndarray | None:
    """Cluster codes 0..m-1 (first-seen order) of ``groups`` (one label per row), or None when there are no
    groups or no label repeats (then every row is its own cluster and the row-wise code runs unchanged)."""
    if groups is None:
        return None
    import pandas as pd

    labels = pd.Series(np.asarray(groups, dtype=object)).astype("string")
    if len(labels) != n:
        raise DataQualityError(f"groups has {len(labels)} labels for {n} rows; pass one per row.")
    codes, _ = pd.factorize(labels)
    return codes if codes.max(initial=-1) + 1 < n else None


def random_qini(
    y: object, treatment: object, *, n_permutations: int = 200, quantile: float = 0.95, seed: int = 0,
    negative_effect: bool = True, groups: object = None,
) -> float:
    """The ``quantile`` of the normalised Qini of uniformly random scores over ``n_permutations`` draws.

    ``groups``: one label per row (the customer id) when a customer has several rows (campaigns pooled): a random
    ranking then ranks customers, one random score for all of a customer's rows, as targeting a customer at
    random would; without repeated labels the draws are the row-wise ones."""
    if n_permutations < 1 or not 0 < quantile < 1:
        raise DataQualityError(f"n_permutations must be >= 1 and quantile in (0, 1); got {n_permutations} and "
                               f"{quantile}.")
    y_, _, t_ = _arrays(y, None, treatment, binary_y=True)
    codes = _clusters(groups, len(y_))
    rng = np.random.default_rng(seed)
    if codes is None:
        draws = [qini_auc_score(y_, rng.random(len(y_)), t_, negative_effect=negative_effect)
                 for _ in range(int(n_permutations))]
    else:
        m = int(codes.max()) + 1
        draws = [qini_auc_score(y_, rng.random(m)[codes], t_, negative_effect=negative_effect)
                 for _ in range(int(n_permutations))]
    return float(np.quantile(draws, quantile))


def qini_interval(
    y: object, score: object, treatment: object, *, n_resamples: int = 200, level: float = 0.95, seed: int = 0,
    negative_effect: bool = True, groups: object = None,
) -> tuple[float, float]:
    """A percentile bootstrap interval (``level``, e.g. 95%) of the normalised Qini of ``score``, from
    ``n_resamples`` resamples of the customers drawn with replacement within the contacted and within the control
    customers (binary ``y``): every resample keeps the randomised group sizes, while the outcomes vary as they
    would in another sample of customers. A resample without any positive outcome (Qini undefined) is skipped.

    It measures how much the Qini of these customers moves with the sample alone: when the interval reaches 0,
    this split cannot tell the ranking from random targeting, whatever the point estimate. Resampling within the
    outcome cells too would hold the number of churned control customers fixed, the main source of noise in a
    small campaign: on the demo campaign's held-out part (133 control customers, 10 of them churned) it gave
    +0.007 to +0.049 around a Qini of 0.028, against -0.001 to +0.058 within the groups (500 resamples).

    ``groups``: one label per row (the customer id) when a customer has several rows (campaigns pooled): the
    resamples then draw customers, each with all its rows (a cluster bootstrap, within the contacted and within the
    control customers by each customer's first row), since a customer's rows are not independent samples; drawing
    the rows alone made the interval too narrow (two identical rows per customer: about 1/sqrt(2) as wide). Without
    repeated labels the draws are the row-wise ones."""
    if n_resamples < 2 or not 0 < level < 1:
        raise DataQualityError(f"n_resamples must be >= 2 and level in (0, 1); got {n_resamples} and {level}.")
    y_, s_, t_ = _arrays(y, score, treatment, binary_y=True)
    codes = _clusters(groups, len(y_))
    if codes is None:
        order, starts, sizes = np.arange(len(y_)), np.arange(len(y_)), np.ones(len(y_), dtype=np.int64)
    else:  # a customer's rows side by side in `order`, from starts[c], sizes[c] of them
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # the clusters (customers; rows when none repeats) on each side, by their first row's group
    sides = [np.flatnonzero(t_[order[starts]] == side) for side in (0.0, 1.0)]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(int(n_resamples)):
        picked = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in sides])
        if codes is None:
            i = picked
        else:
            n = sizes[picked]
            i = order[np.repeat(starts[picked] - np.cumsum(n) + n, n) + np.arange(int(n.sum()))]
        if y_[i].any():
            draws.append(qini_auc_score(y_[i], s_[i], t_[i], negative_effect=negative_effect))
    if not draws:
        raise DataQualityError("The normalised Qini is undefined here: no customer has a positive outcome.")
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
