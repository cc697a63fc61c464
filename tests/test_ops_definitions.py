"""How the platform runs itself, as the code location declares it; and the plots the UI shows."""

import base64
import shutil
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource
from dagster_dbt.core import resource as resource_module

from pipelines import publish as publish_module
from pipelines.automation import FULL_REBUILD_TAG, TRANSIENT_RETRY, RebuildAwareDbt
from pipelines.definitions import defs
from pipelines.observability import (
    cluster_size_counts,
    match_metadata,
    png_markdown,
    segment_grid_plot,
)
from pipelines.publish import KEY as PUBLISHED
from pipelines.publish import AnalystCopy, publish, stage_copy
from pipelines.resources import Warehouse
from pipelines.settings import DBT_PROJECT_DIR, dbt_executable

PNG = b"\x89PNG\r\n\x1a\n"


def _png(value: dg.MetadataValue) -> bytes:
    text = value.value
    prefix = text[: text.index("base64,") + len("base64,")]
    assert prefix.startswith("![") and prefix.endswith("(data:image/png;base64,")
    return base64.b64decode(text[len(prefix) : -1])


def test_schedule_sensors_and_jobs():
    schedule = defs.resolve_schedule_def("daily_materialize_all")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.job_name == "materialize_all"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    sensor = defs.resolve_sensor_def("raw_files_sensor")
    assert sensor.job_name == "materialize_all"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(defs.resolve_sensor_def("follow_parents"), dg.AutomationConditionSensorDefinition)
    main = defs.resolve_job_def("materialize_all")
    rebuild = defs.resolve_job_def("full_rebuild")
    assert main.op_retry_policy == TRANSIENT_RETRY == rebuild.op_retry_policy
    assert TRANSIENT_RETRY.backoff == dg.Backoff.EXPONENTIAL
    assert [TRANSIENT_RETRY.calculate_delay(n) for n in (1, 2, 3)] != [10, 10, 10]
    assert rebuild.tags[FULL_REBUILD_TAG] == "true"
    assert set(rebuild.asset_layer.executable_asset_keys) == set(main.asset_layer.executable_asset_keys)


def test_downstream_assets_follow_parents_and_marts_have_freshness():
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        layer = key.path[0]
        if layer == "raw":
            assert node.automation_condition is None, key
        else:
            assert node.automation_condition is not None, key
            assert "eager" in node.automation_condition.get_label().lower(), key
        if layer in ("marts", "published"):
            policy = node.freshness_policy
            assert policy is not None and policy.fail_window.to_timedelta() == timedelta(hours=30), key


def test_published_copy_follows_every_mart_and_dbt_models_link_their_docs():
    graph = defs.resolve_asset_graph()
    published = graph.get(PUBLISHED)
    marts = {k for k in graph.materializable_asset_keys if k.path[0] == "marts"}
    assert marts and marts <= set(published.parent_keys)
    assert published.group_name == "published" and published.owners == ["team:data-platform"]
    assert {"duckdb", "parquet"} <= set(published.kinds)
    docs = graph.get(dg.AssetKey(["staging", "stg_oem__calls"])).metadata["dbt_docs"]
    assert docs.value == "http://127.0.0.1:8580/#!/model/model.crm.stg_oem__calls"
    assert "dbt_docs" not in graph.get(dg.AssetKey(["raw", "call_center"])).metadata


def test_full_rebuild_runs_dbt_with_full_refresh(monkeypatch: pytest.MonkeyPatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(DbtCliResource, "cli", lambda self, args, **kwargs: calls.append(list(args)))
    dbt = RebuildAwareDbt(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )
    rebuild = SimpleNamespace(run=SimpleNamespace(tags={FULL_REBUILD_TAG: "true"}))
    daily = SimpleNamespace(run=SimpleNamespace(tags={}))
    dbt.cli(["build"], context=rebuild)
    dbt.cli(["build", "--select", "staging"], context=daily)
    dbt.cli(["parse"], context=rebuild)
    dbt.cli(["build", "--full-refresh"], context=rebuild)
    assert calls == [
        ["build", "--full-refresh"],
        ["build", "--select", "staging"],
        ["parse"],
        ["build", "--full-refresh"],
    ]


def test_dbt_runs_without_an_in_process_adapter():
    # dagster-dbt's hook for it must still exist, or the override above it saves nothing
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    dbt = RebuildAwareDbt(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )
    invocation = dbt.cli(["--version"], raise_on_error=True).wait()
    assert invocation.is_successful() and invocation.adapter is None


def test_dbt_version_comes_from_the_environment_without_running_dbt(monkeypatch: pytest.MonkeyPatch):
    # dagster-dbt's own answer runs `dbt --version`; this environment's dbt-core must give the same one
    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    dbt = RebuildAwareDbt(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )
    ran = DbtCliResource._cli_version.func(dbt)
    monkeypatch.setattr(resource_module, "check_output", lambda *a, **k: pytest.fail("dbt --version was run"))
    assert dbt._cli_version == ran
    # another dbt than the one beside this interpreter still gets asked
    elsewhere = RebuildAwareDbt(project_dir=str(DBT_PROJECT_DIR), dbt_executable=shutil.which("true"))
    monkeypatch.setattr(resource_module, "check_output", lambda *a, **k: b"Core:\n  - installed: 2.0.1\n")
    assert elsewhere._cli_version.major == 2


def test_cluster_sizes_and_match_statistics():
    assert cluster_size_counts([1, 1, 3, 12, 25]) == {
        "1": 2,
        "2": 0,
        "3": 1,
        "4": 0,
        "5": 0,
        "6": 0,
        "7": 0,
        "8": 0,
        "9": 0,
        "10+": 2,
    }
    sizes = [3, 1, 2]  # records of customers a, b and c
    metadata = match_metadata(sizes, review_queue_size=7)
    assert metadata["records_in"].value == 6
    assert metadata["customers_out"].value == 3
    assert metadata["merge_rate"].value == 0.5
    assert metadata["largest_cluster"].value == 3
    assert metadata["singletons"].value == 1
    assert metadata["review_queue_size"].value == 7
    assert _png(metadata["cluster_size_plot"]).startswith(PNG)
    assert "review_queue_size" not in match_metadata(sizes)
    assert match_metadata([])["merge_rate"].value == 0.0


def test_segment_grid_is_a_png():
    rows, columns = ["authorised only", "mixed", "independent mostly"], ["low", "medium", "high"]
    counts = {(r, c): i * 10 for i, (r, c) in enumerate((r, c) for r in rows for c in columns)}
    png = _png(segment_grid_plot(counts, rows, columns))
    assert png.startswith(PNG) and len(png) > 5000
    assert _png(png_markdown(b"\x89PNGxyz", "x")) == b"\x89PNGxyz"


def _warehouse_with(path: Path, customers: int) -> Warehouse:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.dim_customer as select range as customer_id from range({customers})")
    return Warehouse(path=str(path))


def test_publishing_checks_the_copy_and_swaps_in_both_or_neither(tmp_path: Path, monkeypatch):
    target = AnalystCopy(root=str(tmp_path / "published"))
    snap, exported = publish(_warehouse_with(tmp_path / "first.duckdb", 3), target)
    assert snap.table_rows == {"marts.dim_customer": 3} and exported == {"dim_customer": 3}
    parquet = target.parquet_dir / "dim_customer.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall() == [(3,)]

    # a copy that does not hold what the warehouse holds is refused: nothing is swapped in or left behind
    other = _warehouse_with(tmp_path / "other.duckdb", 1)
    monkeypatch.setattr(
        publish_module, "stage_copy", lambda source, target: stage_copy(Path(other.path), target)
    )
    with pytest.raises(RuntimeError, match="does not hold the warehouse's tables and rows"):
        publish(_warehouse_with(tmp_path / "second.duckdb", 5), target)
    with duckdb.connect(str(target.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customer").fetchall() == [(3,)]
    assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall() == [(3,)]
    assert sorted(p.name for p in Path(target.root).iterdir()) == ["marts", "warehouse.duckdb"]
