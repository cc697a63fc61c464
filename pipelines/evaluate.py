"""Score customer matching against the generated ground truth.

The pipeline publishes ``marts.customer_xref`` (one row per raw record it believes
belongs to a customer, with the ``customer_id`` it was assigned). Generated data ships
``_truth/record_truth.csv`` (one row per raw record that truly belongs to a customer,
with its ``person_id``). Both are partitions of raw records into clusters; this module
compares the two partitions with pairwise and B-cubed precision / recall / F1.

All metrics are computed by counting cluster sizes in the contingency table of
predicted cluster x true cluster (hash factorization + bincount), never by listing
pairs, so scoring is O(records) in time and memory: 10M records take ~20 s.

Usage::

    python -m pipelines.evaluate [--warehouse PATH] [--raw DIR] [--table SCHEMA.TABLE ...]

``--warehouse`` defaults to ``$CRM_WAREHOUSE_PATH`` or ``data/warehouse.duckdb``;
``--raw`` to ``$CRM_RAW_DIR`` or ``data/raw`` (the truth is read from
``<raw>/_truth/record_truth.csv``); ``--table`` (repeatable) to ``marts.customer_xref``.
Exit code 2 when the warehouse, the truth file or a table is missing, 1 when a table
puts a record in two clusters.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

KEY_COLUMNS = ["source_system", "source_record_id"]
CLUSTER_COLUMN = "cluster_id"
DEFAULT_TABLE = "marts.customer_xref"
TRUTH_FILE = "record_truth.csv"


class EvaluationInputError(Exception):
    """An input of the evaluation (warehouse, table, truth file) is missing or unusable."""


@dataclass(frozen=True)
class MatchScore:
    """Pairwise and B-cubed scores of a predicted clustering against the true one.

    Counts are over the universe of records (the union of both sides) unless noted:
    ``predicted_records`` / ``true_records`` are the records present on each side,
    ``predicted_clusters`` / ``true_clusters`` the distinct cluster ids given on each
    side (the singletons implied for records missing from a side are not counted there).
    """

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    records: int
    records_only_predicted: int
    records_only_truth: int
    predicted_records: int
    true_records: int
    predicted_clusters: int
    true_clusters: int
    predicted_pairs: int
    true_pairs: int
    tp_pairs: int

    def as_row(self) -> dict[str, float | int]:
        """The score as a flat dict (e.g. one row of a DataFrame)."""
        return asdict(self)


def _f1(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def _pairs(sizes: np.ndarray) -> int:
    s = sizes.astype(np.int64, copy=False)
    return int((s * (s - 1) // 2).sum())


def _checked(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    """The three columns of one side, without rows that have no cluster; null keys are an error."""
    missing = [c for c in [*KEY_COLUMNS, CLUSTER_COLUMN] if c not in frame.columns]
    if missing:
        raise ValueError(f"{side}: missing column(s) {missing}")
    df = frame[[*KEY_COLUMNS, CLUSTER_COLUMN]]
    if df[KEY_COLUMNS].isna().any().any():
        raise ValueError(f"{side}: null source_system or source_record_id")
    # A record with no cluster is a record this side does not place: leave it out.
    return df[df[CLUSTER_COLUMN].notna()]


def _joint_codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of the text of two columns, factorized together (equal text, equal code)."""
    both = pd.concat([left.astype(str), right.astype(str)], ignore_index=True)
    codes, uniques = pd.factorize(both)
    codes = codes.astype(np.int64, copy=False)
    return codes[: len(left)], codes[len(left) :], len(uniques)


def _side_clusters(
    df: pd.DataFrame, records: np.ndarray, n_records: int, side: str
) -> tuple[np.ndarray, int]:
    """Cluster code of every record of the universe (-1 where this side lacks the record).

    Also returns the number of distinct clusters on this side. Exact duplicate rows are
    harmless; a record placed in two different clusters raises ``ValueError``.
    """
    clusters, labels = pd.factorize(df[CLUSTER_COLUMN])
    n_clusters = max(len(labels), 1)
    placed = pd.unique(records * np.int64(n_clusters) + clusters.astype(np.int64))
    rec, clu = placed // n_clusters, placed % n_clusters
    times = np.bincount(rec, minlength=n_records)
    if (times > 1).any():
        bad = int(np.flatnonzero(times > 1)[0])
        example = df.iloc[int(np.flatnonzero(records == bad)[0])][KEY_COLUMNS].tolist()
        raise ValueError(
            f"{side}: {int((times > 1).sum())} records are put in more than one cluster (e.g. {example})"
        )
    full = np.full(n_records, -1, dtype=np.int64)
    full[rec] = clu
    return full, len(labels)


def _fill_singletons(codes: np.ndarray, n_clusters: int) -> tuple[np.ndarray, int]:
    """Give every record missing from a side (code -1) a new singleton cluster of its own."""
    codes = codes.copy()
    absent = codes < 0
    n_absent = int(absent.sum())
    codes[absent] = n_clusters + np.arange(n_absent, dtype=np.int64)
    return codes, n_clusters + n_absent


def score_clusters(predicted: pd.DataFrame, truth: pd.DataFrame) -> MatchScore:
    """Compare a predicted clustering of raw records with the true one.

    ``predicted`` and ``truth`` both have columns ``source_system, source_record_id,
    cluster_id`` (the caller renames ``customer_id`` / ``person_id``). A record is the
    pair ``(source_system, source_record_id)``; keys are compared as text. Cluster ids
    are only labels within their own side.

    The universe is the union of the records of both sides. A record present on one
    side only is a singleton cluster on the other side: a record the pipeline dropped
    is a missed record (its true pairs count against recall), and a record the truth
    says identifies nobody but the pipeline assigned is its own true singleton (its
    predicted pairs count against precision). Rows with a null cluster id are treated
    as absent from that side; exact duplicate rows are ignored; a record given two
    different clusters on one side raises ``ValueError``.

    Pairwise: TP pairs = sum over contingency cells of n(n-1)/2, predicted pairs = the
    same over predicted clusters, true pairs over true clusters; precision = TP /
    predicted pairs, recall = TP / true pairs. By convention precision is 1.0 when there
    are no predicted pairs and recall is 1.0 when there are no true pairs.

    B-cubed: the mean over records of |pred(r) & true(r)| / |pred(r)| (precision) and
    / |true(r)| (recall), computed as sum over cells n_ij^2 / |pred_i| (resp. / |true_j|)
    divided by the number of records; both are 1.0 for an empty universe.

    F1 is the harmonic mean of precision and recall, 0.0 when both are 0.
    """
    pred = _checked(predicted, "predicted")
    true = _checked(truth, "truth")

    # Records of the universe: (source_system, source_record_id) as text, coded 0..n-1.
    sys_p, sys_t, _ = _joint_codes(pred["source_system"], true["source_system"])
    rid_p, rid_t, n_rid = _joint_codes(pred["source_record_id"], true["source_record_id"])
    keys = np.concatenate([sys_p * np.int64(n_rid) + rid_p, sys_t * np.int64(n_rid) + rid_t])
    record_codes, record_keys = pd.factorize(keys)
    n = len(record_keys)
    rec_p, rec_t = record_codes[: len(pred)], record_codes[len(pred) :]

    p, n_pred_clusters = _side_clusters(pred, rec_p, n, "predicted")
    t, n_true_clusters = _side_clusters(true, rec_t, n, "truth")
    in_pred, in_true = p >= 0, t >= 0
    only_pred = int((in_pred & ~in_true).sum())
    only_truth = int((in_true & ~in_pred).sum())
    p, n_p_all = _fill_singletons(p, n_pred_clusters)
    t, n_t_all = _fill_singletons(t, n_true_clusters)

    # Contingency table, sparse: one cell per (predicted cluster, true cluster) that share a record.
    pred_sizes = np.bincount(p, minlength=n_p_all)
    true_sizes = np.bincount(t, minlength=n_t_all)
    cell_codes, cells = pd.factorize(p * np.int64(max(n_t_all, 1)) + t)
    cell_sizes = np.bincount(cell_codes, minlength=len(cells))
    cell_p = cells // max(n_t_all, 1)
    cell_t = cells % max(n_t_all, 1)

    tp_pairs = _pairs(cell_sizes)
    predicted_pairs = _pairs(pred_sizes)
    true_pairs = _pairs(true_sizes)
    pw_p = tp_pairs / predicted_pairs if predicted_pairs else 1.0
    pw_r = tp_pairs / true_pairs if true_pairs else 1.0

    if n:
        sq = cell_sizes.astype(np.float64) ** 2
        b3_p = float((sq / pred_sizes[cell_p]).sum() / n)
        b3_r = float((sq / true_sizes[cell_t]).sum() / n)
    else:
        b3_p = b3_r = 1.0

    return MatchScore(
        pairwise_precision=pw_p,
        pairwise_recall=pw_r,
        pairwise_f1=_f1(pw_p, pw_r),
        bcubed_precision=b3_p,
        bcubed_recall=b3_r,
        bcubed_f1=_f1(b3_p, b3_r),
        records=n,
        records_only_predicted=only_pred,
        records_only_truth=only_truth,
        predicted_records=int(in_pred.sum()),
        true_records=int(in_true.sum()),
        predicted_clusters=n_pred_clusters,
        true_clusters=n_true_clusters,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
        tp_pairs=tp_pairs,
    )


# --- reading the warehouse and the truth -------------------------------------------------------


def truth_path(truth_dir: str | os.PathLike[str]) -> Path:
    """``record_truth.csv`` in ``truth_dir``, or in ``truth_dir/_truth`` (a raw data folder)."""
    base = Path(truth_dir)
    for candidate in (base / TRUTH_FILE, base / "_truth" / TRUTH_FILE):
        if candidate.is_file():
            return candidate
    raise EvaluationInputError(
        f"truth file not found: neither {base / TRUTH_FILE} nor {base / '_truth' / TRUTH_FILE} exists"
    )


def load_truth(truth_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The true clustering: ``source_system, source_record_id, cluster_id`` (= person_id), as text."""
    path = truth_path(truth_dir)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in [*KEY_COLUMNS, "person_id"] if c not in df.columns]
    if missing:
        raise EvaluationInputError(f"{path}: missing column(s) {missing}")
    df = df[[*KEY_COLUMNS, "person_id"]].rename(columns={"person_id": CLUSTER_COLUMN})
    # A record without a person identifies nobody: it is not part of the truth.
    return df[df[CLUSTER_COLUMN].str.strip() != ""]


def _quote_table(table: str) -> str:
    parts = table.split(".")
    if not all(parts):
        raise EvaluationInputError(f"not a table name: {table!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def connect_warehouse(warehouse_path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (never creates a file)."""
    if not Path(warehouse_path).is_file():
        raise EvaluationInputError(f"warehouse not found: {warehouse_path}")
    try:
        return duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error as exc:
        raise EvaluationInputError(f"cannot open warehouse {warehouse_path}: {exc}") from exc


def load_xref(con: duckdb.DuckDBPyConnection, table: str = DEFAULT_TABLE) -> pd.DataFrame:
    """The predicted clustering: ``source_system, source_record_id, cluster_id`` (= customer_id)."""
    sql = (
        "SELECT CAST(source_system AS VARCHAR) AS source_system, "
        "CAST(source_record_id AS VARCHAR) AS source_record_id, "
        f"CAST(customer_id AS VARCHAR) AS {CLUSTER_COLUMN} FROM {_quote_table(table)}"
    )
    try:
        return con.execute(sql).fetchdf()
    except duckdb.CatalogException as exc:
        reason = str(exc).splitlines()[0]
        raise EvaluationInputError(f"table {table} not found in the warehouse ({reason})") from exc
    except duckdb.BinderException as exc:
        raise EvaluationInputError(
            f"table {table} lacks source_system, source_record_id or customer_id ({str(exc).splitlines()[0]})"
        ) from exc


def score_warehouse(warehouse_path: str, truth_dir: str, xref_table: str = DEFAULT_TABLE) -> MatchScore:
    """Score ``xref_table`` of the DuckDB warehouse against ``record_truth.csv``.

    ``truth_dir`` is the ``_truth`` folder or the raw data folder that holds it. Raises
    ``EvaluationInputError`` when the warehouse, the table or the truth file is missing.
    """
    truth = load_truth(truth_dir)
    con = connect_warehouse(warehouse_path)
    try:
        predicted = load_xref(con, xref_table)
    finally:
        con.close()
    return score_clusters(predicted, truth)


# --- command line ------------------------------------------------------------------------------


def format_table(scores: Sequence[tuple[str, MatchScore]]) -> str:
    """An aligned text table: one line per scored xref table."""
    header = ["table", "records", "clusters", "pw_P", "pw_R", "pw_F1", "b3_P", "b3_R", "b3_F1"]
    rows = [header]
    for name, s in scores:
        rows.append(
            [
                name,
                str(s.predicted_records),
                str(s.predicted_clusters),
                *(
                    f"{v:.4f}"
                    for v in (
                        s.pairwise_precision,
                        s.pairwise_recall,
                        s.pairwise_f1,
                        s.bcubed_precision,
                        s.bcubed_recall,
                        s.bcubed_f1,
                    )
                ),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate",
        description="Score customer matching (xref tables) against _truth/record_truth.csv.",
    )
    parser.add_argument(
        "--warehouse",
        default=os.environ.get("CRM_WAREHOUSE_PATH", "data/warehouse.duckdb"),
        help="DuckDB warehouse (default: $CRM_WAREHOUSE_PATH or data/warehouse.duckdb)",
    )
    parser.add_argument(
        "--raw",
        default=os.environ.get("CRM_RAW_DIR", "data/raw"),
        help="raw data folder holding _truth/record_truth.csv (default: $CRM_RAW_DIR or data/raw)",
    )
    parser.add_argument(
        "--table",
        action="append",
        dest="tables",
        metavar="SCHEMA.TABLE",
        help=f"xref table to score; repeat to compare several (default: {DEFAULT_TABLE})",
    )
    args = parser.parse_args(argv)
    tables = args.tables or [DEFAULT_TABLE]

    try:
        truth = load_truth(args.raw)
        con = connect_warehouse(args.warehouse)
        try:
            scores = [(table, score_clusters(load_xref(con, table), truth)) for table in tables]
        finally:
            con.close()
    except EvaluationInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: invalid clustering: {exc}", file=sys.stderr)
        return 1

    first = scores[0][1]
    print(f"truth: {first.true_records} records in {first.true_clusters} clusters ({truth_path(args.raw)})")
    print(format_table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
