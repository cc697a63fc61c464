"""Landing into a real DuckDB file: accounting, idempotence, re-delivery and registries, each with the
files parsed in this process and in worker processes."""

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.extract import feeds
from pipelines.extract import layouts as L
from pipelines.extract.landing import DeliveredFile, _batches, discover, land
from pipelines.workers import worker_pool

LEADS_A = ",".join(L.DEALER_LEADS_A.columns)
LEADS_B = ",".join(L.DEALER_LEADS_B.columns)


def write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    write(
        root / "dealers/dealers.csv",
        "dealer_code,dealer_name,province,city,dms_vendor,opened_on\n"
        "D001,沪东店,上海,上海,A,2020-01-01\nD002,浦西店,上海,上海,B,2020-01-01\n",
    )
    write(
        root / "dealers/D001/leads_202401.csv",
        "\ufeff" + LEADS_A + "\r\nL1,张伟,13800138000,CRZ,2024-01-05,展厅,是\r\nbroken\r\n",
    )
    write(
        root / "dealers/D002/leads_202401.csv",
        LEADS_B + "\n00000001,張偉,13800138000,CRZ,20240105,WEB,Y\n",
        encoding="gbk",
    )
    write(root / "dealers/D999/leads_202401.csv", LEADS_A + "\nL1,王芳,13900139000,CRZ,2024-01-05,展厅,否\n")
    write(root / "dealers/D001/returns_202401.csv", "x\n1\n")
    write(root / "_truth/record_truth.csv", "source_system,source_record_id,person_id\n")
    return root


@pytest.fixture(scope="module")
def workers() -> Iterator:
    with worker_pool(2) as pool:
        yield pool


@pytest.fixture(params=["one batch here", "a batch per file in workers"])
def options(request: pytest.FixtureRequest, workers) -> dict:
    """How `land` runs: all files in one batch in this process, or one file per batch in worker processes."""
    return {} if request.param == "one batch here" else {"batch_size": 1, "pool": workers}


def land_dealers(con: duckdb.DuckDBPyConnection, root: Path, options: dict | None = None):
    files = discover(root)
    land(
        con,
        "dealers",
        [f for f in files if feeds.owner_feed(f.rel_path) == "dealers"],
        feeds.csv_parser(L.DEALERS, L.DEALER_REGISTRY_FILE),
        [L.DEALERS],
    )
    vendors = dict(con.execute("select dealer_code, dms_vendor from raw.dealers").fetchall())
    tables = [L.DEALER_SALES_A, L.DEALER_SALES_B, L.DEALER_LEADS_A, L.DEALER_LEADS_B]
    return land(
        con,
        "dealer_files",
        [f for f in files if feeds.owner_feed(f.rel_path) == "dealer_files"],
        feeds.dealer_parser(vendors),
        tables,
        feeds.dealer_context,
        **(options or {}),
    )


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    return {
        "a": con.execute(
            "select * exclude (_loaded_at) from raw.dealer_leads_vendor_a order by all"
        ).fetchall(),
        "b": con.execute(
            "select * exclude (_loaded_at) from raw.dealer_leads_vendor_b order by all"
        ).fetchall(),
        "q": con.execute("select file_path, line_number, reason from raw.quarantine order by all").fetchall(),
    }


def test_vendor_layouts_quarantine_and_accounting(raw: Path, tmp_path: Path, options: dict):
    assert all(not f.rel_path.startswith("_truth") for f in discover(raw))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        summary = land_dealers(con, raw, options)
        assert (
            summary.files_loaded,
            summary.files_rejected,
            summary.rows_loaded,
            summary.rows_quarantined,
        ) == (
            4,
            2,
            2,
            3,
        )
        assert summary.rows_by_table == {"dealer_leads_vendor_a": 1, "dealer_leads_vendor_b": 1}
        assert con.execute('select "客户姓名", _dealer_code from raw.dealer_leads_vendor_a').fetchall() == [
            ("张伟", "D001")
        ]
        assert con.execute("select lead_no, name from raw.dealer_leads_vendor_b").fetchall() == [
            ("00000001", "張偉")
        ]
        assert set(con.execute("select file_path, line_number, reason from raw.quarantine").fetchall()) == {
            ("dealers/D001/leads_202401.csv", 3, "expected 7 fields, got 1"),
            ("dealers/D999/leads_202401.csv", None, "dealer D999 is not in the dealer registry"),
            ("dealers/D001/returns_202401.csv", None, "file name outside the contract"),
        }
        # rows loaded + rows quarantined = data rows, per file
        assert con.execute(
            "select file_path, rows_loaded, rows_quarantined from raw.load_manifest "
            "where file_path like '%leads%' order by file_path"
        ).fetchall() == [
            ("dealers/D001/leads_202401.csv", 1, 1),
            ("dealers/D002/leads_202401.csv", 1, 0),
            ("dealers/D999/leads_202401.csv", 0, 0),
        ]


def test_loading_twice_changes_nothing_and_redelivery_replaces(raw: Path, tmp_path: Path, options: dict):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        land_dealers(con, raw, options)
        first = snapshot(con)
        again = land_dealers(con, raw, options)
        assert again.files_loaded == 0 and again.files_unchanged == again.files_seen
        assert snapshot(con) == first

        touched = raw / "dealers/D002/leads_202401.csv"
        os.utime(touched, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        assert land_dealers(con, raw, options).files_loaded == 0
        assert snapshot(con) == first
        assert con.execute(
            "select mtime_ns from raw.load_manifest where file_path = 'dealers/D002/leads_202401.csv'"
        ).fetchall() == [(1_700_000_000_000_000_000,)]

        write(
            raw / "dealers/D001/leads_202401.csv",
            "\ufeff"
            + LEADS_A
            + "\nL1,张伟,13800138001,CRZ,2024-01-05,展厅,是\nL2,李娜,13700137000,CRZ,2024-01-06,网络,否\n",
        )
        redelivered = land_dealers(con, raw, options)
        assert redelivered.files_loaded == 1
        rows = con.execute(
            'select "线索编号", "手机号码" from raw.dealer_leads_vendor_a order by 1'
        ).fetchall()
        assert rows == [("L1", "13800138001"), ("L2", "13700137000")]
        assert con.execute(
            "select count(*) from raw.quarantine where file_path = 'dealers/D001/leads_202401.csv'"
        ).fetchall() == [(0,)]


def test_feed_files_give_each_file_to_its_one_feed_and_registries_walk_no_subfolder(raw: Path):
    write(raw / "repair_shops/stations.csv", ",".join(L.STATIONS.columns) + "\n")
    write(raw / "repair_shops/S001/service_orders_202401.csv", ",".join(L.SERVICE_ORDERS.columns) + "\n")
    write(raw / "repair_shops/S001/stations.csv", "x\n")
    by_feed = {feed: [f.rel_path for f in feeds.feed_files(raw, feed)] for feed in feeds.FEEDS}
    assert by_feed["dealers"] == ["dealers/dealers.csv"]
    assert by_feed["stations"] == ["repair_shops/stations.csv"]
    assert by_feed["service_orders"] == [
        "repair_shops/S001/service_orders_202401.csv",
        "repair_shops/S001/stations.csv",
    ]
    every = sorted(path for paths in by_feed.values() for path in paths)
    assert every == [f.rel_path for f in discover(raw)]
    assert [f.rel_path for f in discover(raw, under="dealers", recursive=False)] == ["dealers/dealers.csv"]


def test_batches_end_at_a_file_count_or_a_byte_size(tmp_path: Path):
    def delivered(name: str, size: int) -> tuple[DeliveredFile, None]:
        return DeliveredFile(name, tmp_path / name, size, 0), None

    files = [delivered(f"f{i}", size) for i, size in enumerate([3, 3, 3, 9, 1, 1, 1, 1, 1])]
    batches = _batches(files, max_files=3, max_bytes=6)
    assert [[f.rel_path for f, _ in batch] for batch in batches] == [
        ["f0", "f1"],  # a third would pass 6 bytes
        ["f2"],
        ["f3"],  # larger than a batch on its own
        ["f4", "f5", "f6"],  # three files
        ["f7", "f8"],
    ]
    assert _batches([], max_files=3, max_bytes=6) == []


def test_landing_puts_the_checkpoint_threshold_back(raw: Path, tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("set checkpoint_threshold = '3MiB'")
        land_dealers(con, raw)
        assert con.execute("select current_setting('checkpoint_threshold')").fetchall() == [("3.0 MiB",)]
