"""The whole platform on the committed sample: real files, real DuckDB, real dbt build, in-process Dagster."""

import csv
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.evaluate import score_warehouse
from pipelines.extract.landing import discover
from pipelines.settings import DBT_PROJECT_DIR
from tests.conftest import Built, materialize, run_dbt

RAW_TABLES = (
    "dealers",
    "stations",
    "dealer_sales_vendor_a",
    "dealer_sales_vendor_b",
    "dealer_leads_vendor_a",
    "dealer_leads_vendor_b",
    "vehicle_registrations",
    "call_center",
    "web_registrations",
    "service_orders",
)


def _registry(raw: Path, name: str, key: str, value: str) -> dict[str, str]:
    text = (raw / name).read_text(encoding="utf-8-sig")
    return {row[key]: row[value] for row in csv.DictReader(io.StringIO(text))}


def count_data_rows(raw: Path) -> Counter:
    """Data rows per file, counted independently of the pipeline: non-blank lines after the header."""
    vendors = _registry(raw, "dealers/dealers.csv", "dealer_code", "dms_vendor")
    encodings = _registry(raw, "repair_shops/stations.csv", "station_code", "encoding")
    counts: Counter = Counter()
    for delivered in discover(raw):
        parts = delivered.rel_path.split("/")
        data = delivered.abs_path.read_bytes()
        if delivered.rel_path.endswith(".parquet"):
            counts[delivered.rel_path] = pq.read_metadata(io.BytesIO(data)).num_rows
            continue
        encoding = "utf-8-sig"
        if parts[0] == "dealers" and len(parts) == 3 and vendors.get(parts[1]) == "B":
            encoding = "gb18030"
        if parts[0] == "repair_shops" and len(parts) == 3 and encodings.get(parts[1]) == "gbk":
            encoding = "gb18030"
        lines = [line for line in data.decode(encoding).split("\n") if line.strip()]
        counts[delivered.rel_path] = len(lines) - (0 if delivered.rel_path.endswith(".jsonl") else 1)
    return counts


def test_job_succeeds_with_dbt_tests(built: Built):
    assert built.result.success
    checks = built.result.get_asset_check_evaluations()
    assert len(checks) > 40
    assert all(check.passed for check in checks), [c.check_name for c in checks if not c.passed]


def test_dbt_unit_tests_pass_on_the_built_warehouse(built: Built, tmp_path: Path):
    """The job's builds leave dbt's unit tests out (their fixtures do not read the data); they run here, on
    a copy of the built warehouse, whose relations give the fixtures their column types."""
    job_results = [
        json.loads(path.read_text())["results"]
        for path in (DBT_PROJECT_DIR / "target").glob(f"*-{built.result.run_id[:7]}-*/run_results.json")
    ]
    assert len(job_results) == 3
    assert not any(r["unique_id"].startswith("unit_test.") for results in job_results for r in results)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.warehouse, warehouse)
    done = run_dbt(["test", "--select", "test_type:unit"], warehouse, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) == 10
    assert all(r["status"] == "pass" for r in unit_tests)


def test_every_raw_row_is_loaded_or_quarantined(built: Built):
    expected = count_data_rows(built.raw_dir)
    landed: Counter = Counter()
    for table in RAW_TABLES:
        for path, n in built.query(f"select _file_path, count(*) from raw.{table} group by 1"):
            landed[path] += n
    for path, n in built.query(
        "select file_path, count(*) from raw.quarantine where line_number is not null group by 1"
    ):
        landed[path] += n
    assert built.query("select count(*) from raw.quarantine where line_number is null") == [(0,)]
    assert sum(expected.values()) > 1_000
    assert landed == +expected
    manifest = dict(built.query("select file_path, rows_loaded + rows_quarantined from raw.load_manifest"))
    assert manifest == dict(expected)


def test_both_encodings_and_layouts_land(built: Built):
    for table in (
        "dealer_sales_vendor_a",
        "dealer_sales_vendor_b",
        "dealer_leads_vendor_a",
        "dealer_leads_vendor_b",
    ):
        assert built.query(f"select count(*) from raw.{table}")[0][0] > 50, table
    gbk_rows = built.query(
        "select count(*) from raw.service_orders o join raw.stations s on o._station_code = s.station_code "
        "where s.encoding = 'gbk'"
    )[0][0]
    assert gbk_rows > 50
    # GBK decoded to real Chinese, not mojibake: names are mostly CJK characters
    cjk_share = built.query(
        "select avg(case when regexp_matches(cust_name, '^[\\x{4e00}-\\x{9fff}]') then 1 else 0 end) "
        "from raw.dealer_sales_vendor_b"
    )[0][0]
    assert cjk_share > 0.8


def test_total_rows_are_quarantined_with_reason(built: Built):
    rows = built.query("select raw_text from raw.quarantine where reason = 'total row'")
    assert rows and all(text.startswith("合计") for (text,) in rows)


@pytest.mark.parametrize(
    ("model", "raw_tables"),
    [
        ("stg_dms__sales", ["dealer_sales_vendor_a", "dealer_sales_vendor_b"]),
        ("stg_dms__leads", ["dealer_leads_vendor_a", "dealer_leads_vendor_b"]),
        ("stg_oem__vehicle_registrations", ["vehicle_registrations"]),
        ("stg_oem__calls", ["call_center"]),
        ("stg_oem__web_registrations", ["web_registrations"]),
        ("stg_shops__service_orders", ["service_orders"]),
        ("stg_dms__dealers", ["dealers"]),
        ("stg_shops__stations", ["stations"]),
    ],
)
def test_staging_keeps_every_landed_row(built: Built, model: str, raw_tables: list[str]):
    raw_count = sum(built.query(f"select count(*) from raw.{t}")[0][0] for t in raw_tables)
    assert built.query(f"select count(*) from staging.{model}")[0][0] == raw_count > 0


def test_xref_covers_every_identifying_record_and_points_at_customers(built: Built):
    identifying = built.query(
        "select count(*) from intermediate.int_party_records_conformed where identifies_customer"
    )[0][0]
    assert built.query(
        "select count(*), count(distinct (source_system, source_record_id)) from marts.customer_xref"
    ) == [(identifying, identifying)]
    assert built.query(
        "select count(*) from marts.customer_xref x anti join marts.dim_customer c using (customer_id)"
    ) == [(0,)]
    assert built.query("select count(*) from marts.customer_xref where customer_id is null") == [(0,)]
    assert built.query("select count(distinct source_system) from marts.customer_xref") == [(6,)]


def test_dim_customer_golden_values_and_lineage(built: Built):
    (n, distinct, total_records) = built.query(
        "select count(*), count(distinct customer_id), sum(n_source_records) from marts.dim_customer"
    )[0]
    assert n == distinct
    assert total_records == built.query("select count(*) from marts.customer_xref")[0][0]
    assert built.query(
        "select count(*) from marts.dim_customer "
        "where mobile is not null and not regexp_matches(mobile, '^\\+861\\d{10}$')"
    ) == [(0,)]
    # every golden name comes from a record of the same customer
    assert built.query(
        """
        select count(*) from marts.dim_customer c
        left join marts.customer_xref x
          on x.source_system = c.name_source_system and x.source_record_id = c.name_source_record_id
        where c.name is not null and (x.customer_id is null or x.customer_id <> c.customer_id)
        """
    ) == [(0,)]
    assert built.query("select count(*) from marts.dim_customer where customer_type = 'company'")[0][0] > 0


def test_vehicles_and_ownership(built: Built):
    assert built.query(
        "select count(*) = count(distinct vin), min(length(vin)), max(length(vin)) from marts.dim_vehicle"
    ) == [(True, 17, 17)]
    assert built.query(
        "select count(*) from marts.fct_vehicle_ownership "
        "where owned_to is not null and owned_to < owned_from"
    ) == [(0,)]
    assert built.query(
        "select count(*) from marts.fct_vehicle_ownership o anti join marts.dim_customer using (customer_id)"
    ) == [(0,)]
    resold = built.query("select count(*) from marts.dim_vehicle where n_owners > 1")[0][0]
    assert resold > 0


def test_first_master_scores_on_the_sample(built: Built):
    score = score_warehouse(str(built.warehouse), str(built.raw_dir / "_truth"))
    assert score.pairwise_precision >= 0.95
    assert score.pairwise_f1 >= 0.93
    assert score.bcubed_f1 >= 0.95


def test_rerun_changes_nothing_and_keeps_customer_ids(built: Built):
    before = built.query("select * from marts.customer_xref order by all")
    raw_before = built.query("select count(*), sum(hash(file_hash)) from raw.load_manifest")
    again = materialize(built.raw_dir, built.warehouse)
    assert again.success
    landed = [
        m.metadata["rows_loaded_this_run"].value
        for m in again.get_asset_materialization_events()
        if m.asset_key.path[0] == "raw"
        for m in [m.event_specific_data.materialization]
    ]
    assert landed and all(n == 0 for n in landed)
    assert built.query("select count(*), sum(hash(file_hash)) from raw.load_manifest") == raw_before
    assert built.query("select * from marts.customer_xref order by all") == before
    # Every dbt build of the rerun starts from the parse kept under the same settings: none parses again.
    logs = list((DBT_PROJECT_DIR / "target").glob(f"*-{again.run_id[:7]}-*/dbt.log"))
    assert len(logs) == 3
    assert all('"PartialParsingSkipParsing"' in log.read_text() for log in logs)
    assert not any('"UnableToPartialParse"' in log.read_text() for log in logs)
