"""Cross-sell: the products each customer is likely to buy next, from co-purchase patterns.

Input: order lines (the clean ``order_lines`` table, see :mod:`loyalist.data.clean`), one row per product in an
order: ``customer_id``, ``order_date`` (datetime64), ``product_id`` and optionally ``status``. Only lines with
``order_date <= as_of`` and status ``completed`` (a missing status counts as completed, as in cleaning) are used;
lines without a customer or product id are ignored.

Method (item-based collaborative filtering on the customer x item matrix, all in :mod:`scipy.sparse`):

1. ``owned``: customers x items, 1 where the customer bought the item <= T; ``counts``: order lines per pair.
2. Item-item similarity from the co-purchase counts ``C = owned.T @ owned`` (customers who bought both A and B),
   with ``n_A`` = customers who bought A and ``N`` = customers:

   - ``lift``: ``C_AB * N / (n_A * n_B)`` = P(B | A) / P(B), "bought A also bought B", normalised by B's popularity;
   - ``cosine``: ``C_AB / sqrt(n_A * n_B)``;
   - ``bm25``: ``W.T @ W`` where ``W`` is ``counts`` with BM25 weights (as in the ``implicit`` library, K1 = 1.2,
     B = 0.75): ``w_ui = x_ui (K1 + 1) / (K1 L_i + x_ui) * idf_u``, ``L_i = 1 - B + B n_i / mean(n)`` (item
     "length" = its purchase lines) and ``idf_u = max(log(n_items) - log(1 + items of u), 0)`` (customers who buy
     everything say little about any pair).

   Pairs with ``C_AB < min_support`` and A = B are dropped; each item keeps its ``k_neighbours`` most similar items.
3. A customer's candidates are the union of the neighbours of their items, scored by summed similarity, each item
   weighted by the recency of its last purchase: ``0.5 ** (days before the day of T / recency_half_life_days)`` (1 when the
   half-life is None). Items the customer already bought are excluded.
4. When that gives fewer than ``k`` products (few items, or items without neighbours) the list is filled with the
   most popular items (by distinct customers) the customer does not own; those rows have ``source = 'popular'``.

Work is chunked (item rows for the similarity, customer rows for the scores; ``n_jobs`` threads run chunks in
parallel) so memory stays bounded by the number of candidate entries, not by customers x items. Top-k per row is a
vectorised sort of a chunk's sparse entries, or, for dense chunks, ``np.partition`` first; both give the same
deterministic order (higher score, then the smaller product id). Measured at 10M lines, 780k customers x 50k
products: fit 28 s, top 3 for every customer 29 s, one thread (``benchmarks/RESULTS.md``; measured with the earlier
defaults, cosine with 20 neighbours; the BM25 default keeps up to 200 neighbours per item).
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, clone

from loyalist.errors import ConfigError, InsufficientHistoryError, NotFittedError, SchemaError
from loyalist.features.cutoffs import END_OF_DAY
from loyalist.schema import as_day, require_columns, require_naive_datetime

__all__ = [
    "CoPurchaseRecommender",
    "PopularityRecommender",
    "hit_rate_at_k",
    "evaluate_crosssell",
    "METHODS",
    "RECOMMENDATION_COLUMNS",
    "EVALUATION_COLUMNS",
]

#: Similarity methods of :class:`CoPurchaseRecommender`.
METHODS: tuple[str, ...] = ("lift", "cosine", "bm25")
#: Columns of :meth:`CoPurchaseRecommender.recommend`.
RECOMMENDATION_COLUMNS: tuple[str, ...] = ("customer_id", "rank", "product_id", "score", "source")
#: Columns of :func:`evaluate_crosssell`.
EVALUATION_COLUMNS: tuple[str, ...] = (
    "method", "hit_rate", "precision", "recall", "coverage", "n", "fit_seconds", "recommend_seconds",
)

_LINE_COLUMNS = ("customer_id", "order_date", "product_id")
_BM25_K1, _BM25_B = 1.2, 0.75
_CHUNK_ENTRIES = 4_000_000  # sparse entries per work chunk (bounds memory: ~100 MB of temporaries)
_DENSE_SHARE = 0.05  # a chunk with more stored entries than this share of its cells takes the dense top-k


# ------------------------------------------------------------------------------------------ validation


def _check_columns(frame: object, name: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"The {name!r} argument must be a pandas DataFrame of order lines; "
                          f"got {type(frame).__name__}; pass the clean 'order_lines' table.")
    require_columns(frame, required, what=f"The {name!r} table",
                    fix="pass the clean 'order_lines' table (loyalist.data.prepare)")
    return frame


def _check_lines(lines: object, name: str = "lines") -> pd.DataFrame:
    frame = _check_columns(lines, name, _LINE_COLUMNS)
    require_naive_datetime(frame, "order_date", what=f"the {name!r} table",
                           fix="parse it with pd.to_datetime or use the clean tables")
    return frame


def _as_of(value: object, name: str = "as_of") -> pd.Timestamp:
    # A cut-off date D means the end of day D (DESIGN.md, "Time"): lines timestamped during D are known at D.
    return as_day(value, name, example="2010-08-31", error=ConfigError) + END_OF_DAY


def _check_int(owner: str, name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"The {name!r} parameter of {owner} must be an integer >= {low}; got {value!r}; "
                          f"pass a whole number of at least {low}.")
    return int(value)


def _workers(owner: str, n_jobs: object) -> int:
    if n_jobs == -1 and not isinstance(n_jobs, bool):
        return os.cpu_count() or 1
    return _check_int(owner, "n_jobs", n_jobs, 1)


def _completed(lines: pd.DataFrame) -> pd.Series:
    """Boolean mask of completed lines (all lines when there is no status; a missing status is completed)."""
    if "status" not in lines.columns:
        return pd.Series(True, index=lines.index)
    return (lines["status"].astype("string").str.lower().fillna("completed") == "completed").astype(bool)


def _ids(values: object) -> pd.Series:
    """Identifiers as a pandas ``string`` Series with a RangeIndex (no copy when they already are strings)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return series.astype("string").reset_index(drop=True)


# ------------------------------------------------------------------------------------- sparse kernels


def _top_k(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each row of a sparse matrix given as triplets (no duplicate pairs).

    Returns the kept triplets sorted by row, then value descending, then column ascending (deterministic ties).
    """
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(rows.size) - first) < k
    return rows[keep], cols[keep], vals[keep]


def _top_k_dense(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_top_k` of the positive entries of a dense block (same result, linear time per row)."""
    n = block.shape[1]
    kk = min(k, n)
    kth = np.partition(block, n - kk, axis=1)[:, n - kk]  # the kk-th largest value of each row
    rows, cols = np.nonzero((block >= kth[:, None]) & (block > 0))  # ties at the kk-th value may add a few
    return _top_k(rows.astype(np.int64), cols.astype(np.int64), block[rows, cols], k)


def _dense(nnz: int, n_rows: int, n_cols: int) -> bool:
    """Whether a chunk is dense enough for the dense top-k (partition) rather than the sparse one (sort)."""
    return nnz > _DENSE_SHARE * n_rows * n_cols and n_rows * n_cols <= 2 * _CHUNK_ENTRIES


def _chunks(cost: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Split ``range(len(cost))`` into consecutive chunks whose summed cost is about ``budget`` (>= one row)."""
    if cost.size == 0:
        return []
    cost = np.maximum(np.asarray(cost, dtype=np.int64), 1)
    start = np.cumsum(cost) - cost
    chunk_id = start // max(int(budget), 1)
    cuts = np.flatnonzero(np.diff(chunk_id)) + 1
    bounds = np.concatenate([[0], cuts, [cost.size]])
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _map(fn: Callable[[tuple[int, int]], Any], chunks: list[tuple[int, int]], n_jobs: int) -> list[Any]:
    """``fn`` over the chunks in order; threads when ``n_jobs > 1`` (scipy's sparse kernels release the GIL)."""
    if n_jobs <= 1 or len(chunks) <= 1:
        return [fn(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=min(n_jobs, len(chunks))) as pool:
        return list(pool.map(fn, chunks))


def _bm25(counts: sparse.csr_array) -> sparse.csr_array:
    """BM25 weights of the customer x item counts (items are the documents, customers the terms)."""
    coo = counts.tocoo()
    n_items = counts.shape[1]
    items_per_customer = np.diff(counts.indptr)
    idf = np.maximum(np.log(n_items) - np.log1p(items_per_customer), 0.0)
    length = np.asarray(counts.sum(axis=0)).ravel()
    norm = (1.0 - _BM25_B) + _BM25_B * length / max(length.mean(), 1e-12)
    data = coo.data * (_BM25_K1 + 1.0) / (_BM25_K1 * norm[coo.col] + coo.data) * idf[coo.row]
    out = sparse.csr_array((data, (coo.row, coo.col)), shape=counts.shape)
    out.eliminate_zeros()
    return out


def _item_neighbours(
    owned: sparse.csr_array, counts: sparse.csr_array, method: str, k_neighbours: int, min_support: int,
    n_jobs: int,
) -> sparse.csr_array:
    """Items x items: each item's ``k_neighbours`` most similar items (see the module docstring)."""
    n_customers, n_items = owned.shape
    pop = np.diff(owned.tocsc().indptr).astype(np.float64)  # customers per item
    owned_t = owned.T.tocsr()
    if method == "bm25":
        weighted = _bm25(counts)
        weighted_t = weighted.T.tocsr()
    # Upper bound of the co-purchase entries of each item row, to size the chunks.
    bound = np.minimum(owned_t @ np.diff(owned.indptr).astype(np.float64), n_items).astype(np.int64)

    def work(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = span
        co = (owned_t[lo:hi] @ owned).tocsr()
        if _dense(co.nnz, hi - lo, n_items):
            count = co.toarray()
            if method == "bm25":
                sim = (weighted_t[lo:hi] @ weighted).toarray()
            elif method == "cosine":
                sim = count / np.sqrt(pop[lo:hi, None] * pop[None, :])
            else:
                sim = count * n_customers / (pop[lo:hi, None] * pop[None, :])
            sim[count < min_support] = 0.0
            sim[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
            rows, cols, vals = _top_k_dense(sim, k_neighbours)
            return rows + lo, cols, vals
        support = co >= min_support
        if method == "bm25":
            sim = (weighted_t[lo:hi] @ weighted).multiply(support).tocoo()
        else:
            sim = co.multiply(support).tocoo()
        rows, cols, vals = sim.row.astype(np.int64) + lo, sim.col.astype(np.int64), sim.data.astype(np.float64)
        keep = (rows != cols) & (vals > 0)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        if method == "cosine":
            vals = vals / np.sqrt(pop[rows] * pop[cols])
        elif method == "lift":
            vals = vals * n_customers / (pop[rows] * pop[cols])
        return _top_k(rows, cols, vals, k_neighbours)

    parts = _map(work, _chunks(bound, _CHUNK_ENTRIES), n_jobs)
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) if parts else np.empty(0) for i in range(3))
    return sparse.csr_array((vals.astype(np.float64), (rows.astype(np.int64), cols.astype(np.int64))),
                            shape=(n_items, n_items))


def _fill_popular(
    need: np.ndarray, excl_pos: np.ndarray, excl_item: np.ndarray, pop_order: np.ndarray, n_items: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each position ``p``, the first ``need[p]`` items of ``pop_order`` not excluded for ``p``.

    Returns (pos, item, rank within the fill), sorted by pos then rank. Looks at a growing prefix of the
    popularity order, so the work is about positions x (need + excluded popular items), not positions x items.
    """
    excl_key = np.unique(excl_pos.astype(np.int64) * n_items + excl_item.astype(np.int64))
    out_pos, out_item, out_rank = [], [], []
    todo = np.flatnonzero(need > 0)
    width = min(pop_order.size, 2 * int(need.max(initial=0)) + 8)
    while todo.size and width > 0:
        cand_pos = np.repeat(todo, width)
        cand_item = np.tile(pop_order[:width], todo.size)
        ok = ~np.isin(cand_pos * n_items + cand_item, excl_key)
        cand_pos, cand_item = cand_pos[ok], cand_item[ok]
        rank = np.arange(cand_pos.size) - np.searchsorted(cand_pos, cand_pos, side="left")
        take = rank < need[cand_pos]
        got = np.bincount(cand_pos[take], minlength=need.size)
        short = todo[got[todo] < need[todo]]
        final = width >= pop_order.size
        keep = take if final else take & ~np.isin(cand_pos, short)
        out_pos.append(cand_pos[keep])
        out_item.append(cand_item[keep])
        out_rank.append(rank[keep])
        if final:
            break
        todo, width = short, min(pop_order.size, width * 4)
    if not out_pos:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    pos, item, rank = np.concatenate(out_pos), np.concatenate(out_item), np.concatenate(out_rank)
    order = np.lexsort((rank, pos))
    return pos[order], item[order], rank[order]


# ------------------------------------------------------------------------------------------ estimators


@dataclass(frozen=True)
class _Pairs:
    """The distinct (customer row, product column) pairs of the fitted lines, sorted by row then column."""

    rows: np.ndarray
    cols: np.ndarray
    last: np.ndarray  # last purchase of the pair (datetime64[ns] as int64)
    n_lines: np.ndarray  # order lines of the pair (float64)
    shape: tuple[int, int]


class _BaseRecommender(BaseEstimator):
    """Shared fit (customer x item matrices, popularity) and recommend (candidates, then popular fill)."""

    def _validate_params(self) -> dict[str, Any]:
        return {"n_jobs": _workers(type(self).__name__, getattr(self, "n_jobs", 1))}

    def fit(self, lines: pd.DataFrame, as_of: object) -> _BaseRecommender:
        """Learn from the completed order lines dated <= ``as_of``.

        Parameters
        ----------
        lines : DataFrame
            Order lines: ``customer_id``, ``order_date`` (datetime64), ``product_id``; optional ``status`` (only
            ``completed`` lines count; a missing status is completed). Other columns are ignored; lines dated after
            ``as_of`` are ignored, so they never change the result.
        as_of : str, date or Timestamp
            The cut-off date D; it means the end of day D (D 23:59:59.999999): lines timestamped at any time
            during D are learned from, a time of day given with it is dropped.

        Returns
        -------
        self
            With ``as_of_``, ``customers_`` (Index of the customer ids seen, sorted), ``products_`` (Index of the
            product ids, sorted), ``owned_`` (customers x products CSR, 1 = bought), ``popularity_`` (Series
            product_id -> distinct customers, most popular first) and, for co-purchase models, ``neighbours_``.

        Raises
        ------
        SchemaError
            A required column is missing or ``order_date`` is not datetime64.
        InsufficientHistoryError
            No completed line with a customer and product is dated <= ``as_of``.
        """
        params = self._validate_params()
        t = _as_of(as_of)
        frame = _check_lines(lines)
        mask = (frame["order_date"] <= t) & _completed(frame)
        mask &= frame["customer_id"].notna() & frame["product_id"].notna()
        use = frame.loc[mask.to_numpy(), list(_LINE_COLUMNS)]
        if use.empty:
            raise InsufficientHistoryError(
                f"{type(self).__name__} found no completed order line with a customer and product dated <= "
                f"{t.date()} in 'lines' ({len(frame)} rows); pass a later 'as_of' or check the 'status' values.")
        c_codes, customers = pd.factorize(_ids(use["customer_id"]), sort=True)
        p_codes, products = pd.factorize(_ids(use["product_id"]), sort=True)
        n_c, n_i = len(customers), len(products)
        key = c_codes.astype(np.int64) * n_i + p_codes.astype(np.int64)
        stamp = use["order_date"].to_numpy().astype("datetime64[ns]").view(np.int64)
        pairs = pd.DataFrame({"key": key, "stamp": stamp}).groupby("key", sort=True)["stamp"].agg(["max", "size"])
        keys = pairs.index.to_numpy()
        found = _Pairs(rows=keys // n_i, cols=keys % n_i, last=pairs["max"].to_numpy(np.int64),
                       n_lines=pairs["size"].to_numpy(np.float64), shape=(n_c, n_i))
        self.as_of_ = t
        self.customers_ = pd.Index(customers, name="customer_id")
        self.products_ = pd.Index(products, name="product_id")
        self.owned_ = sparse.csr_array((np.ones(keys.size), (found.rows, found.cols)), shape=found.shape)
        n_buyers = np.diff(self.owned_.tocsc().indptr)
        self._pop_order = np.lexsort((np.arange(n_i), -n_buyers))
        self._pop_share = n_buyers / n_c
        self.popularity_ = pd.Series(n_buyers[self._pop_order], index=self.products_[self._pop_order],
                                     name="n_customers")
        self._fit_model(found, t, params)
        return self

    def _fit_model(self, pairs: _Pairs, t: pd.Timestamp, params: dict[str, Any]) -> None:
        """Hook for subclasses: learn more from the (customer, product) pairs."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "owned_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(lines, as_of) first.")

    def _candidates(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Co-purchase candidates for fitted customer rows: (position in ``rows``, item, score), top ``k``."""
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)

    def _recommend_chunk(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
        """Recommendations for customer rows (-1 = unknown customer): (pos, rank, item, score, is_popular)."""
        known = np.flatnonzero(rows >= 0)
        pos_c, item_c, score_c = self._candidates(rows[known], k)
        pos_c = known[pos_c]
        have = np.bincount(pos_c, minlength=rows.size)
        rank_c = np.arange(pos_c.size) - np.searchsorted(pos_c, pos_c, side="left")
        owned = self.owned_[rows[known]].tocoo()
        excl_pos = np.concatenate([known[owned.row], pos_c])
        excl_item = np.concatenate([owned.col, item_c])
        pos_p, item_p, rank_p = _fill_popular(k - have, excl_pos, excl_item, self._pop_order, len(self.products_))
        return (np.concatenate([pos_c, pos_p]), np.concatenate([rank_c, have[pos_p] + rank_p]),
                np.concatenate([item_c, item_p]), np.concatenate([score_c, self._pop_share[item_p]]),
                np.concatenate([np.zeros(pos_c.size, bool), np.ones(pos_p.size, bool)]))

    def recommend(self, customer_ids: Sequence[str] | None = None, k: int = 3) -> pd.DataFrame:
        """The top ``k`` products for each customer, excluding products they bought <= ``as_of_``.

        Parameters
        ----------
        customer_ids : sequence of str, optional
            Customers to recommend for (duplicates are dropped, order kept); default every customer seen by
            ``fit``. Customers unknown to ``fit`` get the most popular products.
        k : int, default 3
            Products per customer.

        Returns
        -------
        DataFrame
            :data:`RECOMMENDATION_COLUMNS`, one row per customer and rank, sorted by the order of
            ``customer_ids`` then ``rank``: ``customer_id`` (string), ``rank`` (int64, 1..k), ``product_id``
            (string), ``score`` (float64: summed recency-weighted similarity for ``source = 'co_purchase'``; the
            share of customers who bought the product for ``source = 'popular'``), ``source`` (string). A customer
            gets fewer than ``k`` rows only when they own nearly the whole catalogue.
        """
        self._check_fitted()
        k = _check_int(type(self).__name__, "k", k, 1)
        ids = self._requested(customer_ids)
        rows = self.customers_.get_indexer(ids).astype(np.int64)
        cost = np.full(rows.size, 2 * k + 8, np.int64)  # the popularity fill looks at ~2k + 8 products
        known = rows >= 0
        cost[known] += self._row_cost(rows[known])
        parts = _map(lambda span: (*self._recommend_chunk(rows[span[0]:span[1]], k), span[0]),
                     _chunks(cost, _CHUNK_ENTRIES), self._validate_params()["n_jobs"])
        if parts:
            pos = np.concatenate([p[0] + p[5] for p in parts])
            rank, item, score, popular = (np.concatenate([p[i] for p in parts]) for i in range(1, 5))
        else:
            pos = rank = item = np.empty(0, np.int64)
            score, popular = np.empty(0), np.empty(0, bool)
        order = np.lexsort((rank, pos))
        pos, rank, item, score, popular = pos[order], rank[order], item[order], score[order], popular[order]
        return pd.DataFrame({
            "customer_id": pd.array(ids.to_numpy()[pos], dtype="string"),
            "rank": (rank + 1).astype(np.int64),
            "product_id": pd.array(self.products_.to_numpy()[item], dtype="string"),
            "score": score.astype(np.float64),
            "source": pd.array(np.where(popular, "popular", "co_purchase"), dtype="string"),
        })

    def _row_cost(self, rows: np.ndarray) -> np.ndarray:
        return np.diff(self.owned_.indptr)[rows] + 1

    def _requested(self, customer_ids: Sequence[str] | None) -> pd.Series:
        """The customers to recommend for: all fitted ones, or the given ids (deduplicated, order kept)."""
        if customer_ids is None:
            return pd.Series(self.customers_.to_numpy(), dtype="string")
        if isinstance(customer_ids, str):
            raise ConfigError(f"The 'customer_ids' argument must be a sequence of ids; got the string "
                              f"{customer_ids!r}; wrap one id in a list.")
        return _ids(list(customer_ids)).drop_duplicates().reset_index(drop=True)

    def recommend_lists(self, customer_ids: Sequence[str] | None = None, k: int = 3) -> pd.Series:
        """The recommendations as one string per customer, for the scored list's ``next_products`` column.

        Returns
        -------
        Series
            Index ``customer_id`` (the requested customers, in order), values ``"p1;p2;p3"`` (string dtype, best
            first; ``""`` when there is nothing to recommend), name ``next_products``.
        """
        recs = self.recommend(customer_ids, k)
        ids = self._requested(customer_ids)
        joined = recs.groupby("customer_id", sort=False)["product_id"].agg(";".join)
        out = joined.reindex(pd.Index(ids.to_numpy(), dtype="string", name="customer_id")).fillna("")
        return out.astype("string").rename("next_products")


class PopularityRecommender(_BaseRecommender):
    """Baseline: the products bought by the most distinct customers (<= T) that the customer does not own.

    Ties are broken by product id. Same ``fit`` / ``recommend`` / ``recommend_lists`` as
    :class:`CoPurchaseRecommender`; every row has ``source = 'popular'`` and ``score`` = share of customers.

    Parameters
    ----------
    n_jobs : int, default 1
        Threads for the chunked work (-1: all cores). Results do not depend on it.
    """

    def __init__(self, n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs


class CoPurchaseRecommender(_BaseRecommender):
    """Item-to-item co-purchase recommender (lift, cosine or BM25 item similarity; see the module docstring).

    Parameters
    ----------
    method : {'lift', 'cosine', 'bm25'}, default 'bm25'
        Item similarity. BM25 is the default because on the Online Retail II holdout (fit <= 2010-08-31, judged
        2010-09-01..12-09) it is the only similarity that beats a plain item-kNN by more than 0.02 hit rate @3
        with a bootstrap interval excluding 0 (0.289 vs 0.263, ``benchmarks/bench_crosssell.py``,
        ``benchmarks/RESULTS.md``); on the inner folds of the calibration period cosine and BM25 were within
        about 0.01 of each other, raw lift far below popularity. ``k_neighbours``, ``min_support`` (among 1-3,
        so that small customer bases keep their pairs) and ``recency_half_life_days`` are the best BM25 hit rate
        @3 on those two inner folds.
    k_neighbours : int, default 200
        Most similar items kept per item.
    min_support : int, default 2
        Fewest customers who bought both items for a pair to count.
    recency_half_life_days : float or None, default 90.0
        A purchase made this many days before T counts half as much as one made at T; None: all count fully.
    n_jobs : int, default 1
        Threads for the chunked sparse work (-1: all cores). Results do not depend on it.

    Attributes
    ----------
    as_of_, customers_, products_, owned_, popularity_
        See :meth:`fit`.
    neighbours_ : scipy.sparse.csr_array of shape (n_products, n_products)
        Row A holds the similarity of A's ``k_neighbours`` nearest items.
    weights_ : scipy.sparse.csr_array of shape (n_customers, n_products)
        Recency weight of each owned item (the pattern of ``owned_``).
    """

    def __init__(
        self,
        method: Literal["lift", "cosine", "bm25"] = "bm25",
        k_neighbours: int = 200,
        min_support: int = 2,
        recency_half_life_days: float | None = 90.0,
        n_jobs: int = 1,
    ) -> None:
        self.method = method
        self.k_neighbours = k_neighbours
        self.min_support = min_support
        self.recency_half_life_days = recency_half_life_days
        self.n_jobs = n_jobs

    def _validate_params(self) -> dict[str, Any]:
        owner = type(self).__name__
        if self.method not in METHODS:
            raise ConfigError(f"The 'method' parameter of {owner} must be one of "
                              f"{', '.join(repr(m) for m in METHODS)}; got {self.method!r}; pick one of them.")
        half = self.recency_half_life_days
        if half is not None and (isinstance(half, bool) or not isinstance(half, numbers.Real)
                                 or not math.isfinite(half) or half <= 0):
            raise ConfigError(f"The 'recency_half_life_days' parameter of {owner} must be a number > 0 or None; "
                              f"got {half!r}; use None to weigh all purchases equally.")
        return {
            "n_jobs": _workers(owner, self.n_jobs),
            "k_neighbours": _check_int(owner, "k_neighbours", self.k_neighbours, 1),
            "min_support": _check_int(owner, "min_support", self.min_support, 1),
        }

    def _fit_model(self, pairs: _Pairs, t: pd.Timestamp, params: dict[str, Any]) -> None:
        counts = sparse.csr_array((pairs.n_lines, (pairs.rows, pairs.cols)), shape=pairs.shape)
        self.neighbours_ = _item_neighbours(self.owned_, counts, self.method, params["k_neighbours"],
                                            params["min_support"], params["n_jobs"])
        if self.recency_half_life_days is None:
            weight = np.ones(pairs.rows.size)
        else:
            # age in days before the cut-off day D (T is the end of D): every purchase during D weighs 1
            age_days = np.maximum(t.normalize().value - pairs.last, 0) / 86_400e9
            weight = np.exp2(-age_days / float(self.recency_half_life_days))
        self.weights_ = sparse.csr_array((weight, (pairs.rows, pairs.cols)), shape=pairs.shape)

    def _row_cost(self, rows: np.ndarray) -> np.ndarray:
        nbrs = np.diff(self.neighbours_.indptr).astype(np.float64)
        return (self.owned_[rows] @ nbrs).astype(np.int64) + 1

    def _candidates(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if rows.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        scores = (self.weights_[rows] @ self.neighbours_).tocsr()
        owned = self.owned_[rows]
        if _dense(scores.nnz, rows.size, scores.shape[1]):
            block = scores.toarray()
            mine = owned.tocoo()
            block[mine.row, mine.col] = 0.0
            return _top_k_dense(block, k)
        scores = (scores - scores.multiply(owned)).tocsr()
        scores.eliminate_zeros()
        coo = scores.tocoo()
        return _top_k(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, k)


# ------------------------------------------------------------------------------------------ evaluation


def _distinct_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The distinct (customer_id, product_id) pairs of a table, as strings, without missing ids."""
    pairs = pd.DataFrame({"customer_id": _ids(frame["customer_id"]), "product_id": _ids(frame["product_id"])})
    return pairs.dropna().drop_duplicates(ignore_index=True)


def hit_rate_at_k(
    recs: pd.DataFrame, future_lines: pd.DataFrame, k: int = 3, *, past_lines: pd.DataFrame | None = None,
) -> dict[str, float]:
    """Hit rate, precision, recall and catalogue coverage of top-``k`` recommendations on a later period.

    Parameters
    ----------
    recs : DataFrame
        ``customer_id``, ``rank`` (1 = best), ``product_id`` (as from :meth:`CoPurchaseRecommender.recommend`);
        rows with ``rank > k`` are ignored.
    future_lines : DataFrame
        Order lines of the later period (the caller selects the window): ``customer_id``, ``product_id``; optional
        ``status`` (only completed lines count).
    k : int, default 3
    past_lines : DataFrame, optional
        Completed lines up to T. When given, a future (customer, product) pair the customer had already bought is
        not *new* and is ignored, and the catalogue for ``coverage`` is the products in ``past_lines``. Without it,
        every future product counts as new and the catalogue is the products in ``recs`` and ``future_lines``.

    Returns
    -------
    dict
        Over the customers that appear in ``recs`` and bought at least one new product in the later period
        (``n`` of them): ``hit_rate`` = share whose top ``k`` contains at least one of their new products;
        ``precision`` = mean of hits / k; ``recall`` = mean of hits / their number of new products; and
        ``coverage`` = share of the catalogue found in the top ``k`` of all of ``recs``; ``n``,
        ``n_without_recs`` (customers with a new product but no recommendations, left out) and ``k``.
        Rates are NaN when ``n`` is 0.
    """
    k = _check_int("hit_rate_at_k", "k", k, 1)
    recs = _check_columns(recs, "recs", ("customer_id", "rank", "product_id"))
    future = _check_columns(future_lines, "future_lines", ("customer_id", "product_id"))
    top = _distinct_pairs(recs.loc[(recs["rank"] <= k).to_numpy()])
    bought = _distinct_pairs(future.loc[_completed(future).to_numpy()])
    if past_lines is not None:
        past = _check_columns(past_lines, "past_lines", ("customer_id", "product_id"))
        past = _distinct_pairs(past.loc[_completed(past).to_numpy()])
        old = bought.merge(past, on=["customer_id", "product_id"], how="left", indicator=True)["_merge"]
        bought = bought.loc[(old == "left_only").to_numpy()]
        catalogue = pd.Index(past["product_id"].unique())
    else:
        catalogue = pd.Index(pd.concat([top["product_id"], bought["product_id"]]).unique())
    with_recs = bought["customer_id"].isin(top["customer_id"]).to_numpy()
    n_without = bought.loc[~with_recs, "customer_id"].nunique()
    bought = bought.loc[with_recs]
    new_per_customer = bought.groupby("customer_id").size()
    hits = (bought.merge(top, on=["customer_id", "product_id"]).groupby("customer_id").size()
            .reindex(new_per_customer.index, fill_value=0))
    n = int(new_per_customer.size)
    rate = (lambda s: float(s.mean())) if n else (lambda s: math.nan)
    return {
        "hit_rate": rate(hits > 0),
        "precision": rate(hits / k),
        "recall": rate(hits / new_per_customer),
        "coverage": (float(catalogue.isin(top["product_id"]).sum() / catalogue.size) if catalogue.size
                     else math.nan),
        "n": n,
        "n_without_recs": int(n_without),
        "k": k,
    }


def _estimator(name: str) -> BaseEstimator:
    if name == "popularity":
        return PopularityRecommender()
    if name in METHODS:
        return CoPurchaseRecommender(method=cast(Literal["lift", "cosine", "bm25"], name))
    raise ConfigError(f"The 'methods' entry {name!r} of evaluate_crosssell is unknown; expected 'popularity' or "
                      f"one of {', '.join(repr(m) for m in METHODS)}; pass an estimator in a mapping for others.")


def evaluate_crosssell(
    lines: pd.DataFrame,
    calibration_end: object,
    holdout_end: object,
    *,
    k: int = 3,
    methods: Sequence[str] | Mapping[str, BaseEstimator] = ("popularity", "lift", "cosine", "bm25"),
) -> pd.DataFrame:
    """Fit each method on lines <= ``calibration_end`` and score its top ``k`` on (calibration_end, holdout_end].

    Every method recommends for the same customers (all with a completed line <= ``calibration_end``) and is
    judged by :func:`hit_rate_at_k` with the calibration lines as ``past_lines`` (only new products count).

    Parameters
    ----------
    lines : DataFrame
        Order lines (see :meth:`CoPurchaseRecommender.fit`), covering both periods.
    calibration_end, holdout_end : date
        T and the end of the later period (both inclusive timestamps).
    k : int, default 3
    methods : sequence of str or mapping of name to estimator
        Names among 'popularity', 'lift', 'cosine', 'bm25' (default parameters), or ``{name: estimator}``
        (estimators are cloned before fitting).

    Returns
    -------
    DataFrame
        :data:`EVALUATION_COLUMNS`, one row per method in the given order: the metrics of :func:`hit_rate_at_k`
        and the wall-clock seconds of ``fit`` and ``recommend`` (measured, like scikit-learn's ``cross_validate``).
    """
    frame = _check_lines(lines)
    t, end = _as_of(calibration_end, "calibration_end"), _as_of(holdout_end, "holdout_end")
    if end <= t:
        raise ConfigError(f"The 'holdout_end' parameter must be after 'calibration_end' ({t}); got {end}; "
                          "pass a later end of the holdout period.")
    done = _completed(frame).to_numpy()
    dates = frame["order_date"]
    past = frame.loc[done & (dates <= t).to_numpy()]
    future = frame.loc[done & ((dates > t) & (dates <= end)).to_numpy()]
    customers = _ids(past["customer_id"]).dropna().unique()
    named = dict(methods) if isinstance(methods, Mapping) else {m: _estimator(m) for m in methods}
    out = []
    for name, estimator in named.items():
        model = clone(estimator)
        start = time.perf_counter()
        model.fit(past, t)
        fitted = time.perf_counter()
        recs = model.recommend(customers, k=k)
        recommended = time.perf_counter()
        metrics = hit_rate_at_k(recs, future, k=k, past_lines=past)
        out.append({"method": name, **{c: metrics[c] for c in ("hit_rate", "precision", "recall", "coverage", "n")},
                    "fit_seconds": fitted - start, "recommend_seconds": recommended - fitted})
    return pd.DataFrame(out, columns=list(EVALUATION_COLUMNS))
