"""The platform over time, on the committed sample: files delivered in two batches, the sensor starting
each run, analysts querying the published copy while a run writes, a run that fails, and
the incremental result compared table by table with a full rebuild on the same files.

Delivery 1: everything but the last month, the earlier versions of every re-delivered file, a
correction file E (a corrected copy of call A, and new calls X and Y) and a correction file E2 (call C).
Delivery 2: the last month, the final versions of the re-delivered files, E again without A's correction
and without X, a new file F correcting call B, and a dealer file R re-delivered with its record-id column
renamed (rejected whole). File U is changed behind the landing's back with the same size and mtime: an
incremental run must not read it again.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.assets.dbt import dbt_project
from pipelines.automation import FULL_REBUILD_JOB, MAIN_JOB, NO_RETRIES_RUN_CONFIG, RebuildAwareDbt
from pipelines.definitions import build_definitions
from pipelines.matching.model import MODEL_TABLE, TERM_FREQUENCY_TABLE
from pipelines.publish import AnalystCopy
from pipelines.resources import RawData
from pipelines.sensors import raw_files_sensor
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT
from tests.conftest import SAMPLE_RAW

LAST_MONTH = ("2026-10", "202610")
CALLS = "manufacturer/call_center"
E, E2, F = f"{CALLS}/2021-10-30.jsonl", f"{CALLS}/2021-10-29.jsonl", f"{CALLS}/2021-10-31.jsonl"
G = f"{CALLS}/2026-11-01.jsonl"
X_ID, Y_ID = "CCTEST00000001", "CCTEST00000002"
VOLATILE = {"_loaded_at", "loaded_at"}
# Built the same whichever way the run went: compared row for row.
EXACT = (
    "raw",
    "staging",
    "intermediate.int_party_records_unioned",
    "intermediate.int_party_records_conformed",
)
# Keyed by customer_id: compared once each incremental id is mapped to the rebuild's id for the same records
# (ids are lifelong, so an incremental run keeps the ids of the first run where a rebuild derives new ones).
BY_CUSTOMER = (
    "marts.customer_xref",
    "marts.dim_customer",
    "marts.dim_vehicle",
    "marts.fct_vehicle_ownership",
    "marts.customer_features",
)
# A whole published state in one row; the last column is xref customers missing from dim_customer.
SIGNATURE = """
select (select count(*) from marts.customer_xref), (select count(*) from marts.dim_customer),
       (select count(*) from staging.stg_oem__calls), (select count(*) from raw.load_manifest),
       (select count(*) from marts.customer_xref x anti join marts.dim_customer d using (customer_id))
"""
ANALYST = """
import json, os, sys, time
import duckdb
path, mode, stop, sql = sys.argv[1:5]
held = duckdb.connect(path, read_only=True) if mode == "held" else None
print(json.dumps("ready"), flush=True)
deadline = time.time() + 900
while True:
    stopping = os.path.exists(stop)
    if held is None:
        with duckdb.connect(path, read_only=True) as con:
            row = con.execute(sql).fetchall()[0]
    else:
        row = held.execute(sql).fetchall()[0]
    print(json.dumps(list(row)), flush=True)
    if stopping or time.time() > deadline:
        break
    time.sleep(0.2)
"""


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_jsonl(path: Path, records: list[dict], mtime_ns: int) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _copy(source: Path, target: Path, mtime_ns: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    os.utime(target, ns=(mtime_ns, mtime_ns))


def signature(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return tuple(con.execute(SIGNATURE).fetchall()[0])


@contextmanager
def platform(raw: Path, warehouse: Path) -> Iterator[dg.Definitions]:
    """Definitions and environment (dbt reads the warehouse path from it) for one raw folder and warehouse."""
    env = {
        "CRM_RAW_DIR": str(raw),
        "CRM_WAREHOUSE_PATH": str(warehouse),
        "CRM_PUBLISH_DIR": str(warehouse.parent / "exports"),
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield build_definitions()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_job(raw: Path, warehouse: Path, job: str, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    with platform(raw, warehouse) as defs, dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def(job).execute_in_process(
            instance=instance, tags=tags, run_config=NO_RETRIES_RUN_CONFIG, raise_on_error=False
        )


def sensor_tick(raw: Path, cursor: str | None) -> dg.SensorResult:
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"raw_data": RawData(root=str(raw))}
        )
        return raw_files_sensor(context)


@contextmanager
def analysts(published: Path, workdir: Path) -> Iterator[dict[str, list]]:
    """Two analysts on the published copy: one keeps a connection open, one reconnects every 0.2 s."""
    stop = workdir / "stop"
    procs = {
        mode: subprocess.Popen(
            [sys.executable, "-c", ANALYST, str(published), mode, str(stop), SIGNATURE],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in ("held", "fresh")
    }
    for proc in procs.values():
        assert proc.stdout.readline().strip() == '"ready"', proc.stderr.read()
    seen: dict[str, list] = {}
    try:
        yield seen
    finally:
        stop.touch()
        for mode, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            seen[mode] = [tuple(json.loads(line)) for line in out.splitlines() if line.strip()]


def differing_tables(
    left: Path, right: Path, scope: tuple[str, ...], map_customer_ids: bool = False
) -> dict[str, int]:
    """Tables in `scope` (schemas or schema.table names) whose rows differ, as multisets with load times
    left out, with the number of differing rows (-1: on one side only). With `map_customer_ids`, every
    `*customer_id` column on the left is first translated to the right's id for the same source records
    (an id that is not one-to-one counts as differing)."""
    differing: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        listed = (
            "select table_schema || '.' || table_name from information_schema.tables where table_catalog = ?"
        )

        def in_scope(table: str) -> bool:
            return table in scope or table.split(".")[0] in scope

        tables = {t for (t,) in con.execute(listed, ["l"]).fetchall() if in_scope(t)}
        others = {t for (t,) in con.execute(listed, ["r"]).fetchall() if in_scope(t)}
        for table in sorted(tables ^ others):
            differing[table] = -1
        if map_customer_ids:
            con.execute(
                "create temp table ids as "
                "select distinct l.customer_id as left_id, r.customer_id as right_id "
                "from l.marts.customer_xref l "
                "join r.marts.customer_xref r using (source_system, source_record_id)"
            )
            ambiguous = con.execute(
                "select count(*) from (select left_id from ids group by 1 having count(*) > 1 "
                "union all select right_id from ids group by 1 having count(*) > 1)"
            ).fetchall()[0][0]
            if ambiguous:
                differing["customer ids not one-to-one"] = ambiguous
        for table in sorted(tables & others):
            columns = [
                name
                for (name,) in con.execute(f"select column_name from (describe r.{table})").fetchall()
                if name not in VOLATILE
            ]
            right_cols = ", ".join(f'"{c}"' for c in columns)
            left_cols = ", ".join(
                f'coalesce((select min(right_id) from ids where left_id = "{c}"), "{c}") as "{c}"'
                if map_customer_ids and c.endswith("customer_id")
                else f'"{c}"'
                for c in columns
            )
            n = con.execute(
                f"with lt as (select {left_cols} from l.{table}), rt as (select {right_cols} from r.{table}) "
                "select count(*) from ((from lt except all from rt) union all (from rt except all from lt))"
            ).fetchall()[0][0]
            if n:
                differing[table] = n
    return differing


@dataclass(frozen=True)
class Picks:
    """Files of the generated set the story uses: calls A, B, C and U (each the first call of its file)
    and the dealer sales file R."""

    source: Path
    a: str
    b: str
    c: str
    u: str
    r: str


@dataclass
class History:
    raw: Path
    warehouse: Path
    rebuilt: Path
    published: AnalystCopy
    first: dg.SensorResult
    unchanged: dg.SensorResult
    second: dg.SensorResult
    delivered_first: int
    expected_new: int
    expected_redelivered: int
    runs: dict[str, dg.ExecuteInProcessResult]
    signatures: dict[str, tuple]
    seen: dict[str, list]
    differing: dict[str, int]
    differing_by_customer: dict[str, int]
    probability_gap: float
    picks: Picks
    tampered: tuple[str, str]
    markers: dict[str, list] = field(default_factory=dict)
    published_stat: dict[str, tuple] = field(default_factory=dict)


def _pick(source: Path) -> Picks:
    redelivered = set(_redeliveries(source))
    calls = sorted(
        p.relative_to(source).as_posix()
        for p in (source / CALLS).glob("*.jsonl")
        if p.stat().st_size and not p.name.startswith(LAST_MONTH)
    )
    a, b, c, u = [rel for rel in calls if rel not in redelivered][:4]
    sales = sorted(
        p.relative_to(source).as_posix()
        for p in (source / "dealers").glob("*/sales_*.csv")
        if not p.stem.endswith(LAST_MONTH)
    )
    r = next(rel for rel in sales if rel not in redelivered)
    return Picks(source, a, b, c, u, r)


def _deliver_first(raw: Path, picks: Picks, now: int) -> list[str]:
    """Delivery 1 into `raw` (a copy of the source); returns the files held back for delivery 2."""
    held_back = sorted(
        f.relative_to(raw).as_posix()
        for f in raw.rglob("*")
        if f.is_file() and any(month in f.name for month in LAST_MONTH)
    )
    for rel in held_back:
        (raw / rel).unlink()
    earlier = picks.source / "_truth" / "earlier_deliveries"
    for rel in _redeliveries(picks.source):
        _copy(earlier / rel, raw / rel, now - 10**12)
    call_a = _lines(raw / picks.a)[0]
    corrected_a = {**call_a, "caller_name": "更正先生", "notes": "corrected in E"}
    new_x = {**call_a, "call_id": X_ID, "caller_number": "+8613900000001", "caller_name": "测试甲"}
    new_y = {**call_a, "call_id": Y_ID, "caller_number": "+8613900000002", "caller_name": "测试乙"}
    _write_jsonl(raw / E, [corrected_a, new_x, new_y], now)
    call_c = _lines(raw / picks.c)[0]
    _write_jsonl(raw / E2, [{**call_c, "caller_name": "更正小姐", "notes": "corrected in E2"}], now)
    return held_back


def _deliver_second(raw: Path, picks: Picks, held_back: list[str], now: int) -> None:
    for rel in held_back:
        _copy(picks.source / rel, raw / rel, now)
    for rel in _redeliveries(picks.source):
        _copy(picks.source / rel, raw / rel, now)
    new_y = next(r for r in _lines(raw / E) if r["call_id"] == Y_ID)
    _write_jsonl(raw / E, [new_y], now)
    call_b = _lines(raw / picks.b)[0]
    _write_jsonl(raw / F, [{**call_b, "caller_name": "更正女士", "notes": "corrected in F"}], now)
    # The record-id column renamed (vendor B's ORDER_NO or vendor A's 销售单号): the file is rejected whole.
    data = (raw / picks.r).read_bytes()
    id_column = b"ORDER_NO" if b"ORDER_NO" in data else "销售单号".encode()
    (raw / picks.r).write_bytes(data.replace(id_column, id_column + b"X", 1))
    os.utime(raw / picks.r, ns=(now, now))


def _redeliveries(source: Path) -> list[str]:
    with open(source / "_truth" / "redeliveries.csv", encoding="utf-8") as handle:
        return [row["path"] for row in csv.DictReader(handle)]


def _tamper_keeping_fingerprint(path: Path) -> tuple[bytes, str, str]:
    """Change the first call id of a file without changing its size or mtime; returns the original
    bytes, the original id and the id it was changed to."""
    original, stat = path.read_bytes(), path.stat()
    old = _lines(path)[0]["call_id"]
    new = old[:-1] + ("9" if old[-1] != "9" else "8")
    path.write_bytes(original.replace(old.encode(), new.encode(), 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return original, old, new


def _probability_gap(left: Path, right: Path) -> float:
    """The largest difference in match_probability of one record between two warehouses."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        return con.execute(
            "select coalesce(max(abs(l.match_probability - r.match_probability)), 0) "
            "from l.marts.customer_xref l "
            "join r.marts.customer_xref r using (source_system, source_record_id)"
        ).fetchall()[0][0]


def _copy_matching_model(source: Path, target: Path) -> None:
    """Give a fresh warehouse the matching model in use, as a full_rebuild of the same warehouse keeps it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as s (read_only)")
        con.execute("create schema intermediate")
        for table in (MODEL_TABLE, TERM_FREQUENCY_TABLE):
            con.execute(f"create table intermediate.{table} as select * from s.intermediate.{table}")


def _asset_metadata(result: dg.ExecuteInProcessResult, asset: str = "int_party_records_clustered") -> dict:
    (event,) = (
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["intermediate", asset])
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _set_staged_notes(warehouse: Path, file_path: str, notes: str | None) -> str | None:
    """Overwrite `notes` of the staged rows from one file (a mark a rebuild would wipe); returns the old
    value. Only superseded rows are marked, so nothing downstream (which reads latest versions) sees it."""
    with duckdb.connect(str(warehouse)) as con:
        (old,) = con.execute(
            "select distinct notes from staging.stg_oem__calls "
            "where _file_path = ? and not is_latest_version",
            [file_path],
        ).fetchall()
        con.execute(
            "update staging.stg_oem__calls set notes = ? where _file_path = ? and not is_latest_version",
            [notes, file_path],
        )
    return old[0]


def _marked(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select source_record_id from staging.stg_oem__calls where notes = 'marker'")
        return sorted(r[0] for r in rows.fetchall())


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    root = tmp_path_factory.mktemp("incremental")
    source, raw = SAMPLE_RAW, root / "raw"
    picks = _pick(source)
    shutil.copytree(source, raw, ignore=shutil.ignore_patterns("_truth"))
    warehouse, rebuilt = root / "incremental" / "warehouse.duckdb", root / "rebuilt" / "warehouse.duckdb"
    published = AnalystCopy(root=str(warehouse.parent / "exports"))
    now = time.time_ns() + 10**10  # later than every delivered file
    runs: dict[str, dg.ExecuteInProcessResult] = {}
    signatures: dict[str, tuple] = {}

    held_back = _deliver_first(raw, picks, now)
    delivered_first = sum(1 for f in raw.rglob("*") if f.is_file())
    first = sensor_tick(raw, None)
    runs["first"] = run_job(raw, warehouse, MAIN_JOB, first.run_requests[0].tags)
    signatures["first"] = signature(published.warehouse_path)
    unchanged = sensor_tick(raw, first.cursor)

    _deliver_second(raw, picks, held_back, now + 10**11)
    original_u, u_id, u_tampered = _tamper_keeping_fingerprint(raw / picks.u)
    second = sensor_tick(raw, first.cursor)
    # Superseded rows of call A (its correction is withdrawn: rebuilt) and call C (unchanged: kept).
    _set_staged_notes(warehouse, picks.a, "marker")
    old_c = _set_staged_notes(warehouse, picks.c, "marker")
    with analysts(published.warehouse_path, root) as seen:
        runs["second"] = run_job(raw, warehouse, MAIN_JOB, second.run_requests[0].tags)
        signatures["second"] = signature(published.warehouse_path)
    markers = {"after_second": _marked(warehouse), "c": [_lines(raw / picks.c)[0]["call_id"]]}
    _set_staged_notes(warehouse, picks.c, old_c)
    raw_u = raw / picks.u
    stat = raw_u.stat()
    raw_u.write_bytes(original_u)
    os.utime(raw_u, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    _copy_matching_model(warehouse, rebuilt)
    runs["rebuilt"] = run_job(raw, rebuilt, FULL_REBUILD_JOB, {})
    differing = differing_tables(warehouse, rebuilt, EXACT)
    differing_by_customer = differing_tables(warehouse, rebuilt, BY_CUSTOMER, map_customer_ids=True)
    probability_gap = _probability_gap(warehouse, rebuilt)

    stat_of = {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in published.parquet_dir.glob("*.parquet")
    }
    published_stat = {"before_failure": (published.warehouse_path.stat().st_ino, stat_of)}
    _write_jsonl(raw / G, [{**_lines(raw / picks.u)[0], "call_id": "CCTEST00000003"}], now + 2 * 10**11)
    with platform(raw, warehouse) as defs, dg.DagsterInstance.ephemeral() as instance:
        broken = RebuildAwareDbt(
            project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable="/bin/false"
        )
        runs["failed"] = dg.materialize(
            list(defs.assets),
            resources={**defs.resources, "dbt": broken},
            instance=instance,
            raise_on_error=False,
        )
    signatures["after_failure"] = signature(published.warehouse_path)
    stat_of = {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in published.parquet_dir.glob("*.parquet")
    }
    published_stat["after_failure"] = (published.warehouse_path.stat().st_ino, stat_of)
    return History(
        raw=raw,
        warehouse=warehouse,
        rebuilt=rebuilt,
        published=published,
        first=first,
        unchanged=unchanged,
        second=second,
        delivered_first=delivered_first,
        expected_new=len(held_back) + 1,
        expected_redelivered=len(_redeliveries(source)) + 2,
        runs=runs,
        signatures=signatures,
        seen=seen,
        differing=differing,
        differing_by_customer=differing_by_customer,
        probability_gap=probability_gap,
        picks=picks,
        tampered=(u_id, u_tampered),
        markers=markers,
        published_stat=published_stat,
    )


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _landed_by_step(result: dg.ExecuteInProcessResult, key: str) -> dict[str, int]:
    """A landing summary number per raw step (a step landing several tables reports it once per table)."""
    found: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.path[0] == "raw":
            found[event.step_key] = materialization.metadata[key].value
    return found


def test_sensor_starts_a_run_per_delivery_and_none_for_unchanged_files(history: History):
    (first,) = history.first.run_requests
    assert int(first.tags["crm/new_files"]) == history.delivered_first > 2000
    assert first.tags["crm/redelivered_files"] == "0"
    assert not history.unchanged.run_requests
    (second,) = history.second.run_requests
    assert int(second.tags["crm/new_files"]) == history.expected_new
    assert int(second.tags["crm/redelivered_files"]) == history.expected_redelivered
    assert all(history.runs[name].success for name in ("first", "second", "rebuilt"))


def test_second_run_reads_only_new_and_redelivered_files(history: History):
    second = history.runs["second"]
    loaded = _landed_by_step(second, "files_loaded_this_run")
    assert sum(loaded.values()) == history.expected_new + history.expected_redelivered
    unchanged = _landed_by_step(second, "files_unchanged")
    seen = _landed_by_step(second, "files_seen")
    assert sum(unchanged.values()) == sum(seen.values()) - sum(loaded.values())
    # U was changed behind the landing's back with the same size and mtime: not read again.
    calls = _query(
        history.warehouse, "select call_id from raw.call_center where _file_path = ?", [history.picks.u]
    )
    original, tampered = history.tampered
    assert (original,) in calls and (tampered,) not in calls


def test_staging_rebuilds_only_the_records_that_changed(history: History):
    # The mark on call C (unchanged since delivery 1) survives the second run; the one on call A (its
    # correction in E withdrawn) is gone because A was rebuilt.
    assert history.markers["after_second"] == history.markers["c"]


def test_incremental_run_equals_a_full_rebuild(history: History):
    """Raw, staging and the conformed records: row for row the same as a rebuild from scratch, though the
    second run conformed only the new and changed records."""
    assert history.runs["rebuilt"].success
    assert history.differing == {}
    second = _asset_metadata(history.runs["second"], "int_party_records_conformed")
    rebuilt = _asset_metadata(history.runs["rebuilt"], "int_party_records_conformed")
    assert second["dagster/row_count"] == rebuilt["dagster/row_count"] == rebuilt["records_conformed"]
    assert rebuilt["records_reused"] == 0
    assert second["records_reused"] + second["records_conformed"] == second["dagster/row_count"]
    assert 0 < second["records_conformed"] < 0.2 * second["dagster/row_count"]


def test_customers_after_an_incremental_run_equal_a_full_rebuild(history: History):
    """With the same matching model: the same records per customer (ids aside: they are lifelong), the
    same marts and the same probabilities to the last bit, though the second run scored only the pairs
    that touch new or changed records."""
    assert history.differing_by_customer == {}
    assert history.probability_gap == 0
    second = _asset_metadata(history.runs["second"])
    rebuilt = _asset_metadata(history.runs["rebuilt"])
    assert second["model_trained_this_run"] is False and rebuilt["model_trained_this_run"] is False
    assert (
        second["splink_scored_pairs"]
        == rebuilt["splink_scored_pairs"]
        == rebuilt["splink_pairs_scored_this_run"]
    )
    assert 0 < second["splink_pairs_scored_this_run"] < 0.2 * second["splink_scored_pairs"]


def test_dim_customer_rewrites_only_the_customers_whose_records_changed(history: History):
    """(customer_features does the same within a month; the second delivery here starts a new one, and the
    mining tests build it across a month.)"""
    counts = "select count(*) filter (where rebuilt), count(*) from intermediate.dim_customer_inputs"
    ((rebuilt, customers),) = _query(history.warehouse, counts)
    assert 0 < rebuilt < 0.2 * customers
    ((rebuilt, customers),) = _query(history.rebuilt, counts)
    assert rebuilt == customers > 1000


def test_corrections_and_withdrawals_follow_the_newest_delivery(history: History):
    w = history.warehouse
    picks = history.picks
    call_a = _lines(history.raw / picks.a)[0]["call_id"]
    call_b = _lines(history.raw / picks.b)[0]["call_id"]
    latest = dict(
        _query(
            w,
            "select source_record_id, _file_path from staging.stg_oem__calls where is_latest_version "
            "and source_record_id in (?, ?, ?, ?)",
            [call_a, call_b, X_ID, Y_ID],
        )
    )
    assert latest == {call_a: picks.a, call_b: F, Y_ID: E}  # X was withdrawn with E's second delivery
    assert _query(w, "select count(*) from staging.stg_oem__calls where source_record_id = ?", [call_b]) == [
        (2,)
    ]
    assert _query(w, "select count(*) from staging.stg_dms__sales where _file_path = ?", [picks.r]) == [(0,)]
    rejected = _query(w, "select file_rejected_reason from raw.load_manifest where file_path = ?", [picks.r])
    assert rejected[0][0]


def test_analysts_never_block_a_run_nor_see_half_of_one(history: History):
    first, second = history.signatures["first"], history.signatures["second"]
    assert first != second
    assert first[-1] == 0 and second[-1] == 0
    held, fresh = history.seen["held"], history.seen["fresh"]
    assert len(held) >= 2 and len(fresh) >= 2
    assert set(held) == {first}  # an open connection keeps the copy it opened
    assert set(fresh) <= {first, second}  # a new connection sees one whole run or the next
    assert fresh[0] == first and fresh[-1] == second
    assert history.runs["second"].success


def test_failed_run_leaves_the_previous_published_copy(history: History):
    failed = history.runs["failed"]
    assert not failed.success
    steps = {e.step_key for e in failed.all_events if e.is_step_success}
    assert "published__warehouse" not in steps
    assert "dbt_conform_inputs" in {e.step_key for e in failed.all_events if e.is_step_failure}
    assert history.published_stat["after_failure"] == history.published_stat["before_failure"]
    assert history.signatures["after_failure"] == history.signatures["second"]
    # The warehouse itself is half built (G landed, staging not rebuilt); analysts don't see it.
    live = _query(history.warehouse, "select count(*) from raw.call_center where _file_path = ?", [G])
    assert live == [(1,)]
    published = _query(
        history.published.warehouse_path, "select count(*) from raw.call_center where _file_path = ?", [G]
    )
    assert published == [(0,)]


def test_parquet_exports_hold_every_mart(history: History):
    marts = _query(
        history.published.warehouse_path,
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1",
    )
    assert {"customer_xref", "dim_customer", "dim_vehicle", "fct_vehicle_ownership"} <= {t for (t,) in marts}
    files = sorted(p.stem for p in history.published.parquet_dir.glob("*.parquet"))
    assert files == [t for (t,) in marts]
    for (table,) in marts:
        parquet = history.published.parquet_dir / f"{table}.parquet"
        in_parquet = duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()
        assert in_parquet == _query(history.published.warehouse_path, f"select count(*) from marts.{table}")


def test_published_metadata_tells_the_story(history: History):
    (event,) = [
        e
        for e in history.runs["second"].get_asset_materialization_events()
        if e.step_key == "published__warehouse"
    ]
    metadata = event.event_specific_data.materialization.metadata
    xref, customers = history.signatures["second"][:2]
    assert metadata["records_in"].value == xref
    assert metadata["customers_out"].value == customers
    assert metadata["merge_rate"].value == pytest.approx(1 - customers / xref, abs=1e-4)
    assert metadata["cluster_size_plot"].value.startswith(
        "![cluster sizes](data:image/png;base64,iVBORw0KGgo"
    )
    quarantined = _query(history.published.warehouse_path, "select count(*) from raw.quarantine")[0][0]
    assert metadata["quarantined_rows"].value == quarantined > 0
    assert metadata["published_path"].value == str(history.published.warehouse_path)


def test_make_query_opens_the_published_copy(history: History):
    env = {
        **os.environ,
        "CRM_WAREHOUSE_PATH": str(history.warehouse),
        "CRM_PUBLISH_DIR": str(history.published.root),
    }
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.query", "-c", "select count(*) as n from marts.dim_customer"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    ).stdout
    assert f"{history.signatures['second'][1]}" in out
