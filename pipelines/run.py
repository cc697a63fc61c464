"""`make run`: materialise every asset in-process on `CRM_RAW_DIR` into `CRM_WAREHOUSE_PATH`, then print
what landed where."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import dagster as dg
import duckdb

from pipelines.automation import NO_RETRIES_RUN_CONFIG
from pipelines.publish import AnalystCopy, publish_root
from pipelines.quality.summary import report
from pipelines.settings import Paths, resolve_paths

QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
SUMMARY_TABLES = (
    "marts.customer_xref",
    "marts.dim_customer",
    "marts.dim_vehicle",
    "marts.fct_vehicle_ownership",
)


def summarise(warehouse_path: str, mart_counts: dict[str, int] | None = None) -> str:
    """Rows per landed feed and mart, and quarantined rows per feed and reason (`mart_counts` when the
    marts live elsewhere than the DuckDB file, on Spark)."""
    with duckdb.connect(warehouse_path, read_only=True) as con:
        feeds = con.execute(
            """
            select feed, count(*) as files, sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined,
                   count(file_rejected_reason) as files_rejected
            from raw.load_manifest group by feed order by feed
            """
        ).fetchall()
        if mart_counts is None:
            mart_counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in SUMMARY_TABLES}
    marts = list(mart_counts.items())
    lines = [f"{'feed':<24}{'files':>8}{'rows loaded':>14}{'quarantined':>13}{'files rejected':>16}"]
    lines += [f"{f:<24}{n:>8}{ld:>14}{q:>13}{r:>16}" for f, n, ld, q, r in feeds]
    lines.append("")
    lines += [f"{table:<32}{count:>10} rows" for table, count in marts]
    return "\n".join(lines)


def _spark_mart_counts(paths: Paths) -> dict[str, int]:
    from pipelines.spark import spark_session

    with spark_session(paths.spark_dir, threads=2) as spark:
        return {table: spark.table(table).count() for table in SUMMARY_TABLES}


def main() -> int:
    from pipelines.definitions import defs

    paths = resolve_paths()
    print(f"raw data:  {paths.raw_dir}\nwarehouse: {paths.warehouse_path}", flush=True)
    started = datetime.now(tz=UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("materialize_all").execute_in_process(
            instance=instance, raise_on_error=False, run_config=NO_RETRIES_RUN_CONFIG
        )
    quality = report(result.get_asset_check_evaluations(), str(paths.warehouse_path), started)
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        print(f"run failed in: {', '.join(sorted(set(failed)))}", file=sys.stderr)
        print(quality, file=sys.stderr)
        return 1
    if paths.engine == "spark":
        print(summarise(str(paths.warehouse_path), _spark_mart_counts(paths)))
        print(f"\n{quality}\n\nmarts on Spark: {paths.spark_dir}")
        return 0
    print(summarise(str(paths.warehouse_path)))
    print(f"\n{quality}")
    published = AnalystCopy(root=str(publish_root(paths.warehouse_path)))
    print(f"\nanalysts' copy: {published.warehouse_path} (make query), Parquet: {published.parquet_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
