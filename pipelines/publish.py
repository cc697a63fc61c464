"""The analysts' copy of the warehouse, published after every successful run.

DuckDB lets one process write a file only while no other process has it open, so analysts never query
the warehouse a run writes. The last step of a run checkpoints the warehouse and, holding its only write
connection, copies it whole to a hidden file beside the published one while it exports every mart from it
as Parquet; it checks that the copy holds the same tables and rows and swaps the copy in with one
`os.replace`. An analyst's open connection keeps reading the copy it opened; the next
connection sees the new one; nobody ever sees half a run. A failed run never reaches this step (and the
step refuses to publish if anything in its run failed), so the previous copy stays.
"""

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.observability import bar_plot, markdown_table, match_metadata, segment_grid_plot
from pipelines.resources import Warehouse

PUBLISH_ENV = "CRM_PUBLISH_DIR"
PUBLISHED_FILE = "warehouse.duckdb"
PARQUET_SUBDIR = "marts"
EXPORTED_SCHEMAS = ("marts",)
SUMMARISED_SCHEMAS = ("raw", "staging", "intermediate", "marts")
SEGMENTS_TABLE = "marts.customer_segments"
SEGMENT_LABELS_MAX = 12
SEGMENT_PLOTTED = "lifecycle_stage"
SEGMENT_GRID = ("service_loyalty", "service_usage")  # rows, columns of the loyalty x usage grid
REVIEW_QUEUE_TABLE = "marts.review_queue"
NOT_SEGMENTS = ("_id", "_source_system", "_source_record_id")
LEVELS = ("low", "medium", "high")
KEY = dg.AssetKey(["published", "warehouse"])


def publish_root(warehouse_path: Path, environ: Mapping[str, str] | None = None) -> Path:
    """`CRM_PUBLISH_DIR`, or `exports/` beside the warehouse (`data/exports` by default)."""
    env = os.environ if environ is None else environ
    return Path(env.get(PUBLISH_ENV) or warehouse_path.parent / "exports").resolve()


class AnalystCopy(dg.ConfigurableResource):
    """Where the read-only copy and the Parquet exports are published."""

    root: str

    @property
    def warehouse_path(self) -> Path:
        return Path(self.root) / PUBLISHED_FILE

    @property
    def parquet_dir(self) -> Path:
        return Path(self.root) / PARQUET_SUBDIR


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage_copy(source: Path, target: Path) -> Path:
    """Copy `source` to a hidden file beside `target`, flushed to disk; returns the staged path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    shutil.copyfile(source, staged)  # in the kernel (sendfile) on Linux
    with open(staged, "rb") as copied:
        os.fsync(copied.fileno())
    return staged


def swap_in(staged: Path, target: Path) -> None:
    """Atomically replace `target` with the fully written `staged` file."""
    os.replace(staged, target)
    _fsync_dir(target.parent)


def list_tables(con: duckdb.DuckDBPyConnection, schemas: Sequence[str]) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in schemas)
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({placeholders}) order by 1, 2",
        list(schemas),
    ).fetchall()


def write_parquet(
    con: duckdb.DuckDBPyConnection, schemas: Sequence[str], staging: Path
) -> list[tuple[str, str]]:
    """Every table of `schemas` as `<staging>/<table>.parquet`; returns the (schema, table) written."""
    staging.mkdir(parents=True)
    tables = list_tables(con, schemas)
    for schema, table in tables:
        path = staging / f"{table}.parquet"
        con.execute(f"copy (select * from {schema}.{table}) to '{path}' (format parquet, compression zstd)")
    return tables


def swap_parquet(staging: Path, out_dir: Path, exported: Mapping[str, int]) -> None:
    """Move the files `write_parquet` wrote into `out_dir`, each whole, and remove those of tables gone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in exported:
        os.replace(staging / f"{table}.parquet", out_dir / f"{table}.parquet")
    for stale in out_dir.glob("*.parquet"):
        if stale.stem not in exported:
            stale.unlink()
    _fsync_dir(out_dir)


@dataclass(frozen=True)
class Snapshot:
    """What a published copy holds, for metadata and tests."""

    table_rows: dict[str, int]
    quarantine_by_feed: dict[str, int]
    cluster_sizes: list[int]  # matched records per customer in the xref
    segment_sizes: dict[str, dict[str, int]]
    segment_grid: dict[tuple[str, str], int]


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the summarised schemas, by `schema.table`."""
    return {
        f"{schema}.{table}": con.execute(f"select count(*) from {schema}.{table}").fetchall()[0][0]
        for schema, table in list_tables(con, SUMMARISED_SCHEMAS)
    }


def snapshot(con: duckdb.DuckDBPyConnection) -> Snapshot:
    rows = table_rows(con)
    quarantine = (
        dict(con.execute("select feed, count(*) from raw.quarantine group by feed order by feed").fetchall())
        if "raw.quarantine" in rows
        else {}
    )
    xref_sizes = "select count(*) from marts.customer_xref group by customer_id"
    cluster_sizes = (
        [n for (n,) in con.execute(xref_sizes).fetchall()] if "marts.customer_xref" in rows else []
    )
    segments = SEGMENTS_TABLE in rows
    return Snapshot(
        rows,
        quarantine,
        cluster_sizes,
        _segment_sizes(con) if segments else {},
        _segment_grid(con) if segments else {},
    )


def _segment_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    schema, table = SEGMENTS_TABLE.split(".")
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    )


def _segment_sizes(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Customers per label of every low-cardinality text column of the segments table."""
    columns = [
        name
        for name, dtype in _segment_columns(con).items()
        if dtype == "VARCHAR" and not name.endswith(NOT_SEGMENTS)
    ]
    sizes: dict[str, dict[str, int]] = {}
    for column in columns:
        counts = con.execute(
            f"select coalesce(\"{column}\", '(none)'), count(*) from {SEGMENTS_TABLE} group by 1 order by 1"
        ).fetchall()
        if 1 < len(counts) <= SEGMENT_LABELS_MAX:
            sizes[column] = {str(label): n for label, n in counts}
    return sizes


def _segment_grid(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """Customers per (service loyalty, service usage) cell, where the segments table has both."""
    rows, columns = SEGMENT_GRID
    if not set(SEGMENT_GRID) <= set(_segment_columns(con)):
        return {}
    counts = con.execute(
        f'select "{rows}", "{columns}", count(*) from {SEGMENTS_TABLE} '
        f'where "{rows}" is not null and "{columns}" is not null group by all'
    ).fetchall()
    return {(str(r), str(c)): n for r, c, n in counts}


def _ordered(labels: set[str]) -> list[str]:
    """Low, medium, high first where labels are levels; otherwise alphabetical."""
    return sorted(labels, key=lambda label: (LEVELS.index(label) if label in LEVELS else len(LEVELS), label))


def snapshot_metadata(snap: Snapshot, published: Path, parquet_dir: Path) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "published_path": dg.MetadataValue.path(str(published)),
        "parquet_dir": dg.MetadataValue.path(str(parquet_dir)),
        "tables": markdown_table(["table", "rows"], sorted(snap.table_rows.items())),
        "quarantined_rows": dg.MetadataValue.int(sum(snap.quarantine_by_feed.values())),
    }
    if snap.quarantine_by_feed:
        metadata["quarantine_by_feed"] = bar_plot(snap.quarantine_by_feed, "Quarantined rows", "rows")
    if snap.cluster_sizes:
        metadata.update(match_metadata(snap.cluster_sizes, snap.table_rows.get(REVIEW_QUEUE_TABLE)))
    if snap.segment_sizes:
        metadata["segment_sizes"] = markdown_table(
            ["segment", "label", "customers"],
            [
                (column, label, n)
                for column, counts in snap.segment_sizes.items()
                for label, n in counts.items()
            ],
        )
        column = SEGMENT_PLOTTED if SEGMENT_PLOTTED in snap.segment_sizes else next(iter(snap.segment_sizes))
        counts = snap.segment_sizes[column]
        metadata["segment_plot"] = bar_plot(counts, f"Customers per {column}", "customers")
    if snap.segment_grid:
        rows = _ordered({r for r, _ in snap.segment_grid})
        columns = _ordered({c for _, c in snap.segment_grid})
        title = f"Customers by {SEGMENT_GRID[0]} x {SEGMENT_GRID[1]}"
        metadata["segment_grid"] = segment_grid_plot(snap.segment_grid, rows, columns, title)
    return metadata


def publish(warehouse: Warehouse, target: AnalystCopy) -> tuple[Snapshot, dict[str, int]]:
    """Copy the warehouse while holding its only write connection, and meanwhile export its marts as
    Parquet from that connection; check that the copy holds the same tables and rows, then swap both in."""
    parquet_staging = target.parquet_dir.parent / f".{target.parquet_dir.name}.{uuid.uuid4().hex}.tmp"
    staged: Path | None = None
    try:
        with warehouse.connect() as con, ThreadPoolExecutor(max_workers=1) as copier:
            con.execute("checkpoint")
            copying = copier.submit(stage_copy, Path(warehouse.path), target.warehouse_path)
            try:
                snap = snapshot(con)
                written = write_parquet(con, EXPORTED_SCHEMAS, parquet_staging)
                exported = {table: snap.table_rows[f"{schema}.{table}"] for schema, table in written}
            finally:
                staged = copying.result()
        with duckdb.connect(str(staged), read_only=True) as copy:
            copied_rows = table_rows(copy)
        if copied_rows != snap.table_rows:
            raise RuntimeError(f"the copy of {warehouse.path} does not hold the warehouse's tables and rows")
        swap_parquet(parquet_staging, target.parquet_dir, exported)
        swap_in(staged, target.warehouse_path)
    finally:
        shutil.rmtree(parquet_staging, ignore_errors=True)
        if staged is not None:
            staged.unlink(missing_ok=True)
    return snap, exported


def _failed_steps(context: dg.AssetExecutionContext) -> list[str]:
    records = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    return sorted({r.event_log_entry.step_key or "?" for r in records})


def build_published_warehouse(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publishing asset, downstream of `upstream` (every mart and mining table)."""

    @dg.asset(
        key=KEY,
        deps=list(upstream),
        group_name="published",
        kinds={"duckdb", "parquet", "python"},
        owners=["team:data-platform"],
        description=(
            "Read-only copy of the warehouse for analysts (`make query`), swapped in atomically after each "
            "successful run, with every mart exported as Parquet."
        ),
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: Warehouse, analyst_copy: AnalystCopy
    ) -> dg.MaterializeResult:
        failed = _failed_steps(context)
        if failed:
            raise dg.Failure(f"not publishing: steps failed in this run: {failed}", allow_retries=False)
        snap, exported = publish(warehouse, analyst_copy)
        context.log.info(f"published {analyst_copy.warehouse_path} and {len(exported)} Parquet files")
        metadata = snapshot_metadata(snap, analyst_copy.warehouse_path, analyst_copy.parquet_dir)
        metadata["parquet_files"] = dg.MetadataValue.int(len(exported))
        return dg.MaterializeResult(metadata=metadata)

    return published_warehouse
