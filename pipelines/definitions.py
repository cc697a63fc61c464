"""The Dagster code location: every asset of the platform, its resources and the main job."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.assets.dbt import (
    dbt_conform_inputs,
    dbt_marts,
    dbt_mining_segments,
    dbt_project,
)
from pipelines.assets.matching import matching_assets
from pipelines.assets.mining import mining_assets
from pipelines.assets.quality import expectation_checks, with_quality
from pipelines.assets.raw import raw_assets
from pipelines.automation import (
    TRANSIENT_RETRY,
    RebuildAwareDbt,
    automation_sensor,
    full_rebuild,
    with_operations,
)
from pipelines.memory import release_memory_after_step
from pipelines.publish import AnalystCopy, publish_root
from pipelines.resources import RawData, Warehouse
from pipelines.schedules import daily_materialize_all
from pipelines.sensors import raw_files_sensor
from pipelines.settings import DBT_PROJECT_DIR, dbt_executable, resolve_paths

# Everything, raw files to marts. In-process: DuckDB takes one writer at a time, so steps run in order.
materialize_all = dg.define_asset_job(
    name="materialize_all",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    op_retry_policy=TRANSIENT_RETRY,
    hooks={release_memory_after_step},
)


def _checks_raw(checks: dg.AssetChecksDefinition) -> bool:
    return all(key.asset_key.path[0] == "raw" for key in checks.check_keys)


def build_definitions() -> dg.Definitions:
    """The code location on the engine `CRM_ENGINE` picks. On Spark the DuckDB-only parts stay out: the
    published DuckDB copy and the Great Expectations checks on marts (raw feeds are still checked, in the
    landing store); dbt's own tests run on Spark as on DuckDB."""
    paths = resolve_paths()
    on_spark = paths.engine == "spark"
    if on_spark:
        # dbt runs in a subprocess and opens its own Spark session on the same metastore (profiles.yml).
        os.environ["CRM_SPARK_DIR"] = str(paths.spark_dir)
    checks = [c for c in expectation_checks if not on_spark or _checks_raw(c)]
    return dg.Definitions(
        assets=with_operations(
            *with_quality(
                *raw_assets,
                dbt_conform_inputs,
                *matching_assets,
                dbt_marts,
                *mining_assets,
                dbt_mining_segments,
            ),
            publish=not on_spark,
        ),
        asset_checks=checks,
        jobs=[materialize_all, full_rebuild],
        schedules=[daily_materialize_all],
        sensors=[raw_files_sensor, automation_sensor],
        resources={
            "warehouse": Warehouse(
                path=str(paths.warehouse_path), engine=paths.engine, spark_dir=str(paths.spark_dir)
            ),
            "raw_data": RawData(root=str(paths.raw_dir)),
            "analyst_copy": AnalystCopy(root=str(publish_root(paths.warehouse_path))),
            "dbt": RebuildAwareDbt(
                project_dir=dbt_project,
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=dbt_executable(),
                target=paths.dbt_target,
            ),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
