"""Great Expectations suites and the quality summary: suites that fit their tables, severities, check
metadata with sample bad values, blocking, row-count drift, and the summary `make run` prints."""

import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipelines.assets.quality import CHECK_NAME, check_result
from pipelines.automation import NO_RETRIES_RUN_CONFIG
from pipelines.extract import layouts as L
from pipelines.extract.landing import META_SQL_TYPES
from pipelines.quality.suites import drift_parameters, load_suite, suite_path, validate
from pipelines.quality.summary import FeedLine, QualitySummary, check_lines, render_text
from pipelines.quality.targets import HELPERS, RAW_CHECK_COLUMNS, all_targets
from tests.bad_inputs.corpus import build_tree
from tests.conftest import run_dbt


def test_one_suite_per_raw_feed_and_key_mart_each_fitting_its_table():
    targets = all_targets()
    assert len(targets) == len(L.LAYOUTS) + 4
    for target in targets:
        suite = load_suite(target.suite_name)
        assert suite["name"] == target.suite_name and suite_path(target.suite_name).exists()
        severities = {e["severity"] for e in suite["expectations"]}
        assert severities == {"critical", "warning"}, target.suite_name
    for layout in L.LAYOUTS:
        columns = next(
            e["kwargs"]["column_set"]
            for e in load_suite(f"raw.{layout.table}")["expectations"]
            if e["type"] == "expect_table_columns_to_match_set"
        )
        expected = [
            *layout.columns,
            *layout.context,
            *META_SQL_TYPES,
            *HELPERS[layout.table],
            *RAW_CHECK_COLUMNS,
        ]
        assert columns == expected, layout.table


def test_critical_and_warning_failures_with_sample_bad_values():
    suite = {
        "name": "test.orders",
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "id"},
                "severity": "critical",
            },
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "service_type", "value_set": ["保养", "维修"]},
                "severity": "warning",
            },
            {
                "type": "expect_column_min_to_be_between",
                "kwargs": {"column": "_table_rows", "min_value": {"$PARAMETER": "min_rows_warning"}},
                "severity": "warning",
            },
        ],
    }
    frame = pd.DataFrame(
        {"id": ["R1", "R2", "R3"], "service_type": ["保养", "洗车", "洗车"], "_table_rows": [3, 3, 3]}
    )
    outcome = validate(frame, suite, drift_parameters(None))
    assert [(o.label, o.severity) for o in outcome.failed] == [
        ("expect_column_values_to_be_in_set(service_type)", "warning")
    ]
    assert outcome.failed[0].sample == ("洗车",) and outcome.failed[0].unexpected_count == 2
    result = check_result(outcome, rows_in_table=3, previous=None)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "洗车" in result.metadata["failing_expectations"].value
    assert result.metadata["sample_bad_values"].value == {
        "expect_column_values_to_be_in_set(service_type)": ["洗车"]
    }

    frame.loc[1, "id"] = None
    outcome = validate(frame, suite, drift_parameters(10))
    assert {o.label for o in outcome.failed_critical} == {"expect_column_values_to_not_be_null(id)"}
    assert {o.label for o in outcome.failed_warning} == {
        "expect_column_values_to_be_in_set(service_type)",
        "expect_column_min_to_be_between(_table_rows)",
    }
    result = check_result(outcome, rows_in_table=3, previous=10)
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["previous_rows_in_table"].value == 10


def test_drift_floors():
    assert drift_parameters(None) == {"min_rows_warning": 0, "min_rows_critical": 0}
    assert drift_parameters(11) == {"min_rows_warning": 9, "min_rows_critical": 5}


def test_summary_counts_passed_warned_failed_and_quarantine_per_feed():
    key = dg.AssetKey(["raw", "service_orders"])
    evaluations = [
        dg.AssetCheckEvaluation(asset_key=key, check_name="a", passed=True),
        dg.AssetCheckEvaluation(
            asset_key=key, check_name="b", passed=False, severity=dg.AssetCheckSeverity.WARN, description="w"
        ),
        dg.AssetCheckEvaluation(asset_key=key, check_name="c", passed=False, description="boom"),
    ]
    summary = QualitySummary(check_lines(evaluations), (FeedLine("service_orders", 3, 10, 2, 1, 1),))
    assert (summary.count("passed"), summary.count("warning"), summary.count("failed")) == (1, 1, 1)
    text = render_text(summary)
    assert "quality: 1 checks passed, 1 warnings, 1 failed" in text
    assert "WARNING raw/service_orders:b: w" in text and "FAILED  raw/service_orders:c: boom" in text
    assert "service_orders" in text.splitlines()[-1] and text.splitlines()[-1].split()[1:] == ["2", "1", "1"]


# --- the checks inside real runs of the raw assets (no dbt): blocking and drift

RO = ",".join(L.SERVICE_ORDERS.columns)
DEALER_FILES = [t.table for t in (L.DEALER_SALES_A, L.DEALER_SALES_B, L.DEALER_LEADS_A, L.DEALER_LEADS_B)]


def _orders(n: int) -> str:
    rows = [
        f"RO9{i:03d},2024-02-{i + 1:02d},2024-02-{i + 1:02d},沪A1234{i},,客户{i},1390000000{i},"
        f"{1000 + i},保养,100.00,100.00,200.00,孙丽"
        for i in range(n)
    ]
    return "\n".join([RO, *rows]) + "\n"


def _run_raw(raw: Path, warehouse: Path, instance: dg.DagsterInstance, tables: list[str]):
    saved = {k: os.environ.get(k) for k in ("CRM_RAW_DIR", "CRM_WAREHOUSE_PATH")}
    os.environ.update(CRM_RAW_DIR=str(raw), CRM_WAREHOUSE_PATH=str(warehouse))
    try:
        from pipelines.definitions import build_definitions

        return (
            build_definitions()
            .resolve_job_def("materialize_all")
            .execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey(["raw", t]) for t in tables],
                raise_on_error=False,
                run_config=NO_RETRIES_RUN_CONFIG,
            )
        )
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _evaluation(result, table: str) -> dg.AssetCheckEvaluation:
    return next(
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["raw", table]) and e.check_name == CHECK_NAME
    )


def test_blocking_check_stops_downstream_with_the_failing_expectation(tmp_path: Path):
    raw = build_tree(tmp_path / "raw", cases=[])
    registry = raw / "dealers/dealers.csv"
    registry.write_text(registry.read_text(encoding="utf-8").replace(",A,", ",C,").replace(",B,", ",C,"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run_raw(raw, tmp_path / "w.duckdb", instance, ["dealers", *DEALER_FILES])
    assert not result.success
    check = _evaluation(result, "dealers")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["sample_bad_values"].value == {
        "expect_column_values_to_be_in_set(dms_vendor)": ["C"]
    }
    assert "expect_column_values_to_be_in_set(dms_vendor)" in check.metadata["failing_expectations"].value
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"raw/dealers"}  # the dealer files never landed


def test_row_count_drift_against_the_previous_load(tmp_path: Path):
    raw = build_tree(tmp_path / "raw", cases=[])
    redelivered = raw / "repair_shops/S001/service_orders_202402.csv"
    redelivered.write_text(_orders(8), encoding="utf-8")
    with dg.DagsterInstance.ephemeral() as instance:
        first = _run_raw(raw, tmp_path / "w.duckdb", instance, ["stations", "service_orders"])
        assert first.success
        check = _evaluation(first, "service_orders")
        assert check.passed and check.metadata["rows_in_table"].value == 11
        assert check.metadata["previous_rows_in_table"].value == "none"

        redelivered.write_text(_orders(1), encoding="utf-8")  # a truncated re-delivery replaces 8 rows by 1
        os.utime(redelivered, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
        second = _run_raw(raw, tmp_path / "w.duckdb", instance, ["stations", "service_orders"])
    check = _evaluation(second, "service_orders")
    assert not second.success and not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert (check.metadata["previous_rows_in_table"].value, check.metadata["rows_in_table"].value) == (11, 4)
    failing = check.metadata["failing_expectations"].value
    assert failing.count("expect_column_min_to_be_between(_table_rows)") == 2  # warning and critical floor
    assert check.metadata["sample_bad_values"].value == {}


def test_suites_pass_on_the_sample(built):
    evaluations = [e for e in built.result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    assert len(evaluations) == len(all_targets())
    assert all(e.passed for e in evaluations), [
        (e.asset_key, e.description) for e in evaluations if not e.passed
    ]
    summary = next(
        m.materialization
        for m in built.result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["quality", "run_summary"])
    )
    checks = len(built.result.get_asset_check_evaluations())
    assert summary.metadata["checks_passed"].value == checks and summary.metadata["checks_failed"].value == 0
    quarantined = built.query("select count(*) from raw.quarantine where line_number is not null")[0][0]
    assert summary.metadata["rows_quarantined"].value == quarantined > 0
    assert "| service_orders |" in summary.metadata["quarantine_by_feed"].value


@pytest.mark.parametrize("table", ["dim_customer", "dim_vehicle"])
def test_mart_checks_see_the_whole_mart(built, table: str):
    check = next(
        e
        for e in built.result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["marts", table]) and e.check_name == CHECK_NAME
    )
    rows = built.query(f"select count(*) from marts.{table}")[0][0]
    assert check.metadata["rows_validated"].value == check.metadata["rows_in_table"].value == rows


def test_reconciles_with_raw_fails_on_every_line_landed_and_staged_a_different_number_of_times(
    tmp_path: Path,
):
    """The generic dbt test `reconciles_with_raw`, run by dbt on a warehouse made for it: lines staged
    as often as they landed pass; a line never staged, one staged twice and one never landed fail."""
    warehouse = tmp_path / "warehouse.duckdb"
    landed = [("dealers/dealers.csv", n) for n in (1, 2, 3, 4)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create schema staging")
        con.execute("create table raw.dealers (_file_path varchar, _row_number bigint)")
        con.execute("create table staging.stg_dms__dealers (_file_path varchar, _row_number bigint)")
        con.executemany("insert into raw.dealers values (?, ?)", landed)
        con.executemany("insert into staging.stg_dms__dealers values (?, ?)", landed)

    def reconcile() -> subprocess.CompletedProcess:
        return run_dbt(
            ["test", "--select", "stg_dms__dealers,test_name:reconciles_with_raw", "--store-failures"],
            warehouse,
            tmp_path,
        )

    balanced = reconcile()
    assert balanced.returncode == 0, balanced.stdout[-3000:]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from staging.stg_dms__dealers where _row_number = 1")
        con.execute("insert into staging.stg_dms__dealers values ('dealers/dealers.csv', 2)")
        con.execute("insert into staging.stg_dms__dealers values ('dealers/other.csv', 1)")
    unbalanced = reconcile()
    assert unbalanced.returncode == 1 and "Got 3 results" in unbalanced.stdout, unbalanced.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (failures,) = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like 'reconciles_with_raw%'"
        ).fetchall()[0]
        assert sorted(con.execute(f"select * from {failures}").fetchall()) == [
            ("landed but not staged", "dealers/dealers.csv", 1, 1),
            ("staged but not landed", "dealers/dealers.csv", 2, 1),
            ("staged but not landed", "dealers/other.csv", 1, 1),
        ]
