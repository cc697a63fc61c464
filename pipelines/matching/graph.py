"""Records to clusters: exact links first, then probabilistic ones, never joining two people that
evidence keeps apart (two different valid resident ids, a steward's cannot-link) and never growing a
cluster past the size guard on probabilistic evidence alone.

Constrained merging needs a union-find that can refuse a merge; scipy's connected components (used for
the unconstrained bulk) cannot, so the refusing part is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EDGE_COLUMNS = ["left", "right", "reason", "probability", "strength"]


def edges_frame(left, right, reason: str, probability, strength) -> pd.DataFrame:
    """Edges between record positions; `strength` orders probabilistic merges (higher first)."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    return pd.DataFrame(
        {
            "left": left,
            "right": right,
            "reason": reason,
            "probability": np.broadcast_to(np.asarray(probability, dtype=float), left.shape),
            "strength": np.broadcast_to(np.asarray(strength, dtype=float), left.shape),
        }
    )


def components(n: int, edges: pd.DataFrame) -> np.ndarray:
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges["left"].to_numpy(), edges["right"].to_numpy())),
        shape=(n, n),
    )
    return connected_components(graph, directed=False)[1]


@dataclass
class MergeStats:
    accepted: int = 0
    refused_conflicting_ids: int = 0
    refused_cannot_link: int = 0
    refused_size_guard: int = 0
    refused_pairs: list[tuple[int, int, str]] = field(default_factory=list)


def text_codes(values: pd.Series) -> np.ndarray:
    """Each value as an integer code (equal values, equal codes), -1 where missing: records are grouped and
    joined on these instead of on millions of strings."""
    return pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64)


def _distinct_pairs(groups: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, code) pairs of the records with a code, sorted by group then code."""
    has = codes >= 0
    width = int(codes.max()) + 1 if has.any() else 1
    pairs = np.unique(groups[has].astype(np.int64) * width + codes[has])
    return pairs // width, pairs % width


def _first_record_order(labels: np.ndarray) -> np.ndarray:
    """The same clusters labelled 0, 1, ... in the order of their first record, whatever made them."""
    return pd.factorize(labels)[0].astype(np.int64)


class _Clusters:
    """Union-find over record positions; per cluster its valid resident ids (as codes) and cannot-link
    partners."""

    def __init__(self, labels: np.ndarray, id_codes: np.ndarray, cannot: dict[int, set[int]]):
        n = len(labels)
        # a label's root is its first record: np.unique's first occurrence of each label
        _, first_of_label, label_of = np.unique(labels, return_index=True, return_inverse=True)
        first = first_of_label[label_of]
        self.parent = first.tolist()
        self.size = np.bincount(first, minlength=n).tolist()
        roots, held = _distinct_pairs(first, id_codes)
        found = held.tolist()
        starts = np.flatnonzero(np.r_[True, roots[1:] != roots[:-1]]) if len(roots) else roots
        ends = np.r_[starts[1:], len(roots)] if len(roots) else roots
        self.ids: dict[int, frozenset[int]] = {
            root: frozenset(found[start:end])
            for root, start, end in zip(roots[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)
        }
        self.cannot: dict[int, set[int]] = {}
        for record, partners in cannot.items():
            self.cannot.setdefault(first[record], set()).update(partners)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def refusal(self, ra: int, rb: int, max_size: int | None) -> str | None:
        ids_a, ids_b = self.ids.get(ra), self.ids.get(rb)
        if ids_a and ids_b and ids_a.isdisjoint(ids_b):
            return "conflicting_ids"
        for small, other in ((ra, rb), (rb, ra)):
            if any(self.find(p) == other for p in self.cannot.get(small, ())):
                return "cannot_link"
        if max_size is not None and self.size[ra] + self.size[rb] > max_size:
            return "size_guard"
        return None

    def union(self, ra: int, rb: int) -> None:
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if rb in self.ids:
            self.ids[ra] = self.ids.get(ra, frozenset()) | self.ids.pop(rb)
        if rb in self.cannot:
            self.cannot.setdefault(ra, set()).update(self.cannot.pop(rb))

    def labels(self) -> np.ndarray:
        """Every record's root, by pointer jumping: each pass replaces a parent by its parent's parent."""
        parent = np.asarray(self.parent, dtype=np.int64)
        while True:
            grandparent = parent[parent]
            if np.array_equal(grandparent, parent):
                return parent
            parent = grandparent


def _greedy(
    clusters: _Clusters, edges: pd.DataFrame, local: np.ndarray, max_size: int | None, stats: MergeStats
) -> None:
    """Edges strongest first; `local` maps a record to its position in `clusters`."""
    ordered = edges.sort_values(["strength", "left", "right"], ascending=[False, True, True], kind="stable")
    lefts, rights = ordered["left"].to_numpy(), ordered["right"].to_numpy()
    ends = zip(
        local[lefts].tolist(),
        local[rights].tolist(),
        lefts.tolist(),
        rights.tolist(),
        ordered["reason"].tolist(),
        strict=True,
    )
    for left, right, record_left, record_right, reason in ends:
        ra, rb = clusters.find(left), clusters.find(right)
        if ra == rb:
            continue
        refusal = clusters.refusal(ra, rb, max_size)
        if refusal is None:
            clusters.union(ra, rb)
            stats.accepted += 1
            continue
        setattr(stats, f"refused_{refusal}", getattr(stats, f"refused_{refusal}") + 1)
        if len(stats.refused_pairs) < 1000:
            stats.refused_pairs.append((record_left, record_right, reason))


def _constrained_merge(
    labels: np.ndarray,
    edges: pd.DataFrame,
    id_codes: np.ndarray,
    cannot: dict[int, set[int]],
    max_size: int | None,
    stats: MergeStats,
) -> np.ndarray:
    """`edges` merged strongest first into the clusters `labels` gives, each merge refused on conflicting
    ids, a cannot-link or the size guard. Only the records of clusters an edge touches are loaded."""
    n = len(labels)
    if edges.empty:
        return _first_record_order(labels)
    ends = np.concatenate([edges["left"].to_numpy(), edges["right"].to_numpy()])
    records = np.flatnonzero(np.isin(labels, np.unique(labels[ends])))
    local = np.full(n, -1, dtype=np.int64)
    local[records] = np.arange(len(records))
    # a partner outside the loaded clusters stays in its own, which no merge here can reach
    partners = {
        int(local[record]): {int(local[p]) for p in others if local[p] >= 0}
        for record, others in cannot.items()
        if local[record] >= 0
    }
    clusters = _Clusters(labels[records], id_codes[records], partners)
    _greedy(clusters, edges, local, max_size, stats)
    merged = labels.astype(np.int64)
    merged[records] = int(merged.max()) + 1 + clusters.labels()
    return _first_record_order(merged)


def _cannot_partners(cannot_link: pd.DataFrame) -> dict[int, set[int]]:
    cannot: dict[int, set[int]] = {}
    for a, b in zip(cannot_link["left"], cannot_link["right"], strict=True):
        cannot.setdefault(int(a), set()).add(int(b))
        cannot.setdefault(int(b), set()).add(int(a))
    return cannot


def cluster_exact(
    n: int, exact: pd.DataFrame, id_codes: np.ndarray, cannot_link: pd.DataFrame
) -> tuple[np.ndarray, MergeStats]:
    """Labels for n records on exact evidence alone (clusters numbered in the order of their first record).
    Exact edges join freely unless their component holds a conflict, which is then rebuilt edge by edge,
    strongest first."""
    stats = MergeStats()
    cannot = _cannot_partners(cannot_link)
    bulk = components(n, exact)
    component_of_pair, _ = _distinct_pairs(bulk, id_codes)
    conflicted = set(np.flatnonzero(np.bincount(component_of_pair) > 1).tolist())
    for a, b in cannot.items():
        conflicted.update(int(bulk[a]) for p in b if bulk[p] == bulk[a])
    in_conflict = np.isin(bulk, list(conflicted))
    start = np.where(in_conflict, np.arange(n) + bulk.max() + 1, bulk)
    rebuilt = exact[in_conflict[exact["left"].to_numpy()]]
    return _constrained_merge(start, rebuilt, id_codes, cannot, None, stats), stats


def merge_probabilistic(
    exact_labels: np.ndarray,
    exact_stats: MergeStats,
    probabilistic: pd.DataFrame,
    id_codes: np.ndarray,
    cannot_link: pd.DataFrame,
    max_probabilistic_size: int,
) -> tuple[np.ndarray, MergeStats]:
    """Probabilistic edges merged strongest first, under the size guard, into the clusters `cluster_exact`
    made (its labels and stats, which are not changed): the same clusters as clustering all edges at once,
    without clustering the exact evidence again."""
    stats = replace(exact_stats, refused_pairs=list(exact_stats.refused_pairs))
    cannot = _cannot_partners(cannot_link)
    return _constrained_merge(
        exact_labels, probabilistic, id_codes, cannot, max_probabilistic_size, stats
    ), stats


def cluster(
    n: int,
    exact: pd.DataFrame,
    probabilistic: pd.DataFrame,
    person_ids: pd.Series,
    cannot_link: pd.DataFrame,
    max_probabilistic_size: int,
) -> tuple[np.ndarray, MergeStats]:
    """Labels for n records: `cluster_exact`, then `merge_probabilistic`."""
    id_codes = text_codes(person_ids)
    labels, stats = cluster_exact(n, exact, id_codes, cannot_link)
    return merge_probabilistic(labels, stats, probabilistic, id_codes, cannot_link, max_probabilistic_size)
