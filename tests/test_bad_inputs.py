"""The bad-input corpus (`tests/bad_inputs/`) through the pipeline: every case ends in a clear error or
a quarantined row with its reason, never in lost or doubled data, and a rerun after a failure gives the
same warehouse as an uninterrupted run.

Three runs of the whole job on the small corpus tree: the corpus itself, a corrected re-delivery with
fixed registries on top of it, and a rerun after a run killed half way. The parsers' part of each case
is also tested on its own.
"""

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.extract import layouts as L
from pipelines.extract.parsing import TRUNCATED, decode, parse_csv, parse_jsonl, parse_parquet
from pipelines.settings import REPO_ROOT
from tests.bad_inputs.corpus import CASES, build_tree, redeliver
from tests.conftest import Built, materialize

# Every quarantine row the corpus produces: (file, line or None for a whole file, reason or its start).
EXPECTED_QUARANTINE = {
    # wrong encoding for a station: its registry says gbk, the file is UTF-8
    ("repair_shops/S003/service_orders_202401.csv", None, "declared gbk but the file is UTF-8"),
    # truncated mid-row: plain, inside a UTF-8 character, inside a GBK character
    ("repair_shops/S001/service_orders_202402.csv", 4, f"{TRUNCATED}: expected 13 fields, got 3"),
    ("dealers/D001/leads_202402.csv", 3, f"{TRUNCATED}: expected 7 fields, got 2"),
    ("repair_shops/S002/service_orders_202402.csv", 3, f"{TRUNCATED}: expected 13 fields, got 6"),
    # a header whose record-id column was renamed
    ("dealers/D001/sales_202402.csv", None, "header lacks the record-id column '销售单号'"),
    # an empty Parquet file (empty CSV and JSON-lines files are files without rows)
    ("manufacturer/vehicle_registrations/2024-02.parquet", None, "unreadable parquet:"),
    # a total row in the middle
    ("dealers/D001/sales_202403.csv", 3, "total row"),
    # lines that are not JSON (objects), a line without its id, a last line cut off
    ("manufacturer/call_center/2024-01-23.jsonl", 2, "invalid JSON: Expecting value"),
    ("manufacturer/call_center/2024-01-23.jsonl", 3, "JSON line is not an object"),
    ("manufacturer/call_center/2024-01-23.jsonl", 4, "missing record id"),
    ("manufacturer/call_center/2024-01-23.jsonl", 5, f"{TRUNCATED}: invalid JSON: Unterminated string"),
    # a Parquet file with a nested column (other changed types land: see test_parquet_types_that_drifted)
    ("manufacturer/vehicle_registrations/2024-04.parquet", None, "parquet columns of a nested type: owner"),
    # file names outside the contract
    ("dealers/D001/sales_2024-01.csv", None, "file name outside the contract"),
    ("repair_shops/S001/orders_202401.csv", None, "file name outside the contract"),
    ("manufacturer/call_center/20240105.json", None, "file name outside the contract"),
    ("manufacturer/readme.txt", None, "file name outside the contract"),
    # a dealer missing from the registry
    ("dealers/D999/sales_202401.csv", None, "dealer D999 is not in the dealer registry"),
    # id columns holding spreadsheet formulas
    ("dealers/D002/leads_202402.csv", 2, 'record id is a spreadsheet formula: ="00000301"'),
    ("dealers/D002/leads_202402.csv", 3, "record id is a spreadsheet formula: =SUM(A1:A2)"),
    # a record id twice in one file (the same id in two files lands twice: staging keeps the newest)
    ("dealers/D001/leads_202404.csv", 4, "duplicate record id L0005 in file"),
}
# Rows loaded and quarantined per file that lands, from the load manifest.
EXPECTED_LANDED = {
    "dealers/dealers.csv": (2, 0),
    "repair_shops/stations.csv": (3, 0),
    "dealers/D001/sales_202401.csv": (2, 0),
    "dealers/D001/sales_202403.csv": (2, 1),
    "dealers/D001/leads_202401.csv": (2, 0),
    "dealers/D001/leads_202402.csv": (1, 1),
    "dealers/D001/leads_202403.csv": (0, 0),
    "dealers/D001/leads_202404.csv": (2, 1),
    "dealers/D002/sales_202401.csv": (1, 0),
    "dealers/D002/sales_202402.csv": (1, 0),
    "dealers/D002/sales_202403.csv": (3, 0),
    "dealers/D002/leads_202401.csv": (1, 0),
    "dealers/D002/leads_202402.csv": (1, 2),
    "dealers/D002/leads_202403.csv": (0, 0),
    "manufacturer/vehicle_registrations/2024-01.parquet": (3, 0),
    "manufacturer/vehicle_registrations/2024-03.parquet": (2, 0),
    "manufacturer/call_center/2024-01-20.jsonl": (3, 0),
    "manufacturer/call_center/2024-01-22.jsonl": (0, 0),
    "manufacturer/call_center/2024-01-23.jsonl": (1, 4),
    "manufacturer/web_registrations.csv": (2, 0),
    "repair_shops/S001/service_orders_202401.csv": (2, 0),
    "repair_shops/S001/service_orders_202402.csv": (2, 1),
    "repair_shops/S001/service_orders_202403.csv": (1, 0),
    "repair_shops/S001/service_orders_202404.csv": (1, 0),
    "repair_shops/S002/service_orders_202401.csv": (1, 0),
    "repair_shops/S002/service_orders_202402.csv": (1, 1),
}
RAW_TABLES = [layout.table for layout in L.LAYOUTS]
# Columns that hold when a run landed, not what it landed: they differ between any two runs.
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at", "recorded_at", "trained_at"}


def quarantine(built: Built) -> set[tuple]:
    return set(built.query("select file_path, line_number, reason from raw.quarantine"))


def matches(found: set[tuple], expected: set[tuple]) -> bool:
    """Each found row matches exactly one expected row (reasons by their start), and the other way round."""
    pairs = [(f, e) for f in found for e in expected if f[:2] == e[:2] and f[2].startswith(e[2])]
    return len(pairs) == len(found) == len(expected) and len({p[1] for p in pairs}) == len(expected)


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table and view of the warehouse, rows sorted, without load-time columns."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables order by all"
        ).fetchall()
        out = {}
        for schema, table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if name not in LOAD_TIME_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = con.execute(
                f"select {select} from {schema}.{table} order by all"
            ).fetchall()
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The base delivery plus every case, through the whole job once."""
    raw = build_tree(tmp_path_factory.mktemp("corpus") / "raw")
    warehouse = raw.parent / "warehouse.duckdb"
    return Built(raw_dir=raw, warehouse=warehouse, result=materialize(raw, warehouse))


# --- the parsers' part of the cases, file by file


def test_the_corpus_holds_every_case_of_the_issue():
    assert set(CASES) == {
        "wrong_station_encoding",
        "truncated_mid_row",
        "renamed_column",
        "missing_column",
        "extra_column",
        "empty_files",
        "total_row_middle",
        "date_formats",
        "not_json",
        "parquet_changed_type",
        "outside_contract",
        "dealer_missing",
        "formula_id",
        "duplicate_ids",
    }  # plus, below, a re-delivery with corrections and a run killed half way


def test_a_file_cut_inside_a_character_keeps_its_complete_rows():
    utf8 = (REPO_ROOT / "tests/bad_inputs/cases/truncated_mid_row/dealers/D001/leads_202402.csv").read_bytes()
    parsed = parse_csv(decode(utf8, "utf-8"), L.DEALER_LEADS_A)
    assert [r["线索编号"] for r in parsed.rows] == ["L0003"]
    assert [(q.line_number, q.reason, q.raw_text) for q in parsed.rejected] == [
        (3, f"{TRUNCATED}: expected 7 fields, got 2", "L0004,猪八")
    ]
    gbk = REPO_ROOT / "tests/bad_inputs/cases/truncated_mid_row/repair_shops/S002/service_orders_202402.csv"
    parsed = parse_csv(decode(gbk.read_bytes(), "gbk"), L.SERVICE_ORDERS)
    assert [r["ro_no"] for r in parsed.rows] == ["RO2002"] and parsed.rejected[0].raw_text.endswith("韩梅")
    # a broken byte anywhere else still rejects the file as not in its declared encoding
    with pytest.raises(ValueError, match="declared utf-8 but byte 2 is not valid UTF-8"):
        decode(b"\xef\xbb\xbfab\xff\ncd", "utf-8")


def test_header_names_match_ignoring_case_and_unknown_ones_are_kept():
    text = "order_no,cust_name,Phone\n00000007,王五,13800000000\n"
    parsed = parse_csv(text, L.DEALER_SALES_B)
    assert parsed.rows[0]["ORDER_NO"] == "00000007" and parsed.rows[0]["CUST_NAME"] == "王五"
    assert "MOBILE" not in parsed.rows[0] and json.loads(parsed.rows[0]["_extra_columns"]) == {
        "Phone": "13800000000"
    }


def test_formula_ids_in_json_lines_and_parquet():
    parsed = parse_jsonl('{"call_id": "=1+1"}\n{"call_id": "CC1"}\n', L.CALL_CENTER)
    assert [r["call_id"] for r in parsed.rows] == ["CC1"]
    assert parsed.rejected[0].reason == "record id is a spreadsheet formula: =1+1"


def test_parquet_types_that_drifted_land_as_the_contract_reads_them(tmp_path: Path):
    build_tree(tmp_path, cases=["parquet_changed_type"])
    data = (tmp_path / "manufacturer/vehicle_registrations/2024-03.parquet").read_bytes()
    assert pq.read_schema(pa.BufferReader(data)).field("delivery_date").type == pa.timestamp("ms")
    parsed = parse_parquet(data, L.VEHICLE_REGISTRATIONS)
    assert [(r["registration_id"], r["delivery_date"], r["mobile"]) for r in parsed.rows] == [
        ("700001", "2024-03-05", "13944445555"),
        ("700002", "2024-03-08", "13966667777"),
    ]
    nested = parse_parquet(
        (tmp_path / "manufacturer/vehicle_registrations/2024-04.parquet").read_bytes(),
        L.VEHICLE_REGISTRATIONS,
    )
    assert (
        nested.file_error == "parquet columns of a nested type: owner (struct<name: string, mobile: string>)"
    )


# --- the corpus through the whole job


def test_every_case_ends_in_landed_rows_or_a_reason(corpus: Built):
    assert corpus.result.success  # bad input is quarantined and warned about; it does not stop the run
    assert matches(quarantine(corpus), EXPECTED_QUARANTINE), sorted(quarantine(corpus))
    manifest = {
        path: (loaded, quarantined, rejected)
        for path, loaded, quarantined, rejected in corpus.query(
            "select file_path, rows_loaded, rows_quarantined, file_rejected_reason from raw.load_manifest"
        )
    }
    rejected = {path for path, line, _ in EXPECTED_QUARANTINE if line is None}
    assert set(manifest) == set(EXPECTED_LANDED) | rejected
    assert {p: m[:2] for p, m in manifest.items() if p in EXPECTED_LANDED} == EXPECTED_LANDED
    assert all(manifest[p] == (0, 0, manifest[p][2]) and manifest[p][2] for p in rejected)
    # rows in the landing tables per file are exactly the manifest's rows loaded
    landed = {}
    for table in RAW_TABLES:
        for path, n in corpus.query(f"select _file_path, count(*) from raw.{table} group by 1"):
            landed[path] = landed.get(path, 0) + n
    assert landed == {p: n for p, (n, _) in EXPECTED_LANDED.items() if n}


def test_warnings_name_the_bad_values_and_the_summary_counts_them(corpus: Built):
    flagged = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in corpus.result.get_asset_check_evaluations()
        if not e.passed
    }
    assert set(flagged) == {
        ("raw/dealer_leads_vendor_a", "great_expectations"),
        ("raw/dealer_sales_vendor_b", "great_expectations"),
        ("staging/stg_dms__sales", "not_null_stg_dms__sales_invoice_date"),
    }
    assert all(e.severity.value == "WARN" for e in flagged.values())
    leads = flagged[("raw/dealer_leads_vendor_a", "great_expectations")].metadata["sample_bad_values"].value
    assert sorted(leads["expect_column_values_to_be_null(_same_id_in_other_files)"]) == [
        "D001:L0001 also in dealers/D001/leads_202401.csv",
        "D001:L0001 also in dealers/D001/leads_202404.csv",
    ]
    sales = flagged[("raw/dealer_sales_vendor_b", "great_expectations")].metadata["sample_bad_values"].value
    assert sales == {"expect_column_values_to_match_regex_list(INVOICE_DATE)": ["06.03.2024"]}
    summary = next(
        m.materialization.metadata
        for m in corpus.result.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "quality/run_summary"
    )
    assert (summary["checks_warning"].value, summary["checks_failed"].value) == (3, 0)
    assert summary["rows_quarantined"].value == sum(q for _, q in EXPECTED_LANDED.values()) == 11
    assert summary["files_rejected"].value == sum(line is None for _, line, _ in EXPECTED_QUARANTINE) == 9


def test_dates_in_three_forms_and_columns_missing_renamed_or_added(corpus: Built):
    dates = dict(corpus.query("select source_record_id, invoice_date from staging.stg_dms__sales"))
    assert dates == {
        "D001:A0001": dt.date(2024, 1, 5),
        "D001:A0002": dt.date(2024, 1, 12),
        "D001:A0010": dt.date(2024, 3, 2),
        "D001:A0011": dt.date(2024, 3, 9),
        "D002:00000101": dt.date(2024, 1, 10),
        "D002:00000102": dt.date(2024, 2, 15),
        "D002:00000103": dt.date(2024, 3, 5),
        "D002:00000104": dt.date(2024, 3, 6),
        "D002:00000105": None,  # 06.03.2024: kept, typed as unknown, and warned about
    }
    renamed = corpus.query(
        "select mobile, _extra_columns from raw.dealer_sales_vendor_b where order_no = '00000102'"
    )
    assert renamed == [(None, '{"PHONE": "13911112222"}')]
    assert corpus.query(
        "select ro_no, advisor, _extra_columns from raw.service_orders "
        "where ro_no in ('RO1006', 'RO1007') order by 1"
    ) == [("RO1006", None, None), ("RO1007", "孙丽", '{"remark": "客户要求保留旧件"}')]


def test_parquet_with_changed_types_lands_typed(corpus: Built):
    assert corpus.query(
        "select source_record_id, delivery_date, mobile from staging.stg_oem__vehicle_registrations "
        "where source_record_id like '7%' order by 1"
    ) == [("700001", dt.date(2024, 3, 5), "13944445555"), ("700002", dt.date(2024, 3, 8), "13966667777")]


def test_duplicated_ids_across_files_are_not_doubled(corpus: Built):
    assert corpus.query(
        "select _file_path, is_latest_version, mobile from staging.stg_dms__leads "
        "where source_record_id = 'D001:L0001' order by 1"
    ) == [
        ("dealers/D001/leads_202401.csv", False, "13700137000"),
        ("dealers/D001/leads_202404.csv", True, "13700137001"),
    ]
    for table in ("intermediate.int_party_records_unioned", "marts.customer_xref"):
        assert corpus.query(
            f"select count(*) from {table} "
            "where source_system = 'dealer_leads' and source_record_id = 'D001:L0001'"
        ) == [(1,)], table
    assert corpus.query(
        "select count(*) from staging.stg_dms__leads where source_record_id = 'D001:L0005'"
    ) == [(1,)]


def test_a_corrected_redelivery_and_fixed_registries(corpus: Built, tmp_path: Path):
    raw = tmp_path / "raw"
    shutil.copytree(corpus.raw_dir, raw)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(corpus.warehouse, warehouse)
    later = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    assert redeliver(raw, later) == ["repair_shops/S001/service_orders_202401.csv"]
    dealers = raw / "dealers/dealers.csv"
    dealers.write_text(dealers.read_text() + "D999,杭州滨江汽车销售服务有限公司,浙江省,杭州市,A,2023-01-01\n")
    stations = raw / "repair_shops/stations.csv"
    stations.write_text(stations.read_text().replace("宁波市,gbk", "宁波市,utf-8"))
    again = Built(raw, warehouse, materialize(raw, warehouse))
    assert again.result.success
    # the re-delivery replaced its file: RO1001 corrected, RO1002 withdrawn, RO1008 new; nothing doubled
    assert again.query(
        "select source_record_id, mileage_km from staging.stg_shops__service_orders "
        "where _file_path = 'repair_shops/S001/service_orders_202401.csv' order by 1"
    ) == [("S001:RO1001", 1250), ("S001:RO1008", 700)]
    assert again.query("select count(*) from marts.customer_xref where source_record_id = 'S001:RO1002'") == [
        (0,)
    ]
    # files rejected for their registry landed once the registry was fixed
    assert again.query(
        "select file_path, rows_loaded, file_rejected_reason from raw.load_manifest "
        "where file_path in ('dealers/D999/sales_202401.csv', 'repair_shops/S003/service_orders_202401.csv') "
        "order by 1"
    ) == [
        ("dealers/D999/sales_202401.csv", 1, None),
        ("repair_shops/S003/service_orders_202401.csv", 2, None),
    ]
    fixed = {"dealers/D999/sales_202401.csv", "repair_shops/S003/service_orders_202401.csv"}
    assert matches(quarantine(again), {q for q in EXPECTED_QUARANTINE if q[0] not in fixed})
    assert again.query(
        "select count(*) from staging.stg_shops__service_orders where station_code = 'S003'"
    ) == [(2,)]
    rows = again.query("select sum(rows_loaded), sum(rows_quarantined) from raw.load_manifest")[0]
    landed = sum(again.query(f"select count(*) from raw.{t}")[0][0] for t in RAW_TABLES)
    # one more dealer in the registry, its sale, S003's two orders; the re-delivery still has two rows
    assert rows == (landed, 11) and landed == sum(n for n, _ in EXPECTED_LANDED.values()) + 1 + 1 + 2


KILLED_RUN = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import pipelines.extract.landing as landing

    original, seen = landing._insert, []

    def insert_then_die(con, table, data):
        if table == "load_manifest":
            seen.append(table)
            if len(seen) == int(sys.argv[3]):
                os._exit(137)  # like a SIGKILL inside the transaction: no rollback, no cleanup
        return original(con, table, data)

    landing._insert = insert_then_die
    from tests.conftest import materialize
    materialize(Path(sys.argv[1]), Path(sys.argv[2]))
    """
)


def test_a_run_killed_half_way_then_rerun_equals_an_uninterrupted_run(corpus: Built, tmp_path: Path):
    raw = tmp_path / "raw"
    shutil.copytree(corpus.raw_dir, raw)  # same files, same delivery times
    warehouse = tmp_path / "warehouse.duckdb"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(raw), str(warehouse), "4"], cwd=REPO_ROOT, capture_output=True
    )
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # three feeds committed whole, the fourth's transaction is gone: no half file anywhere
        feeds = con.execute("select count(distinct feed) from raw.load_manifest").fetchall()[0][0]
        landed = sum(con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in RAW_TABLES)
        loaded = con.execute("select coalesce(sum(rows_loaded), 0) from raw.load_manifest").fetchall()[0][0]
    assert feeds == 3 and landed == loaded > 0
    rerun = materialize(raw, warehouse)
    assert rerun.success
    assert snapshot(warehouse) == snapshot(corpus.warehouse)
