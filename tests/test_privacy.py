"""Privacy: masked analyst views kept apart from the full master, and the erase procedure on a copy of the
built sample: one person gone from every table and from the analysts' published copy, every other row as
it was, the accounting intact; a re-delivery of their file and a rerun of the job do not bring them back."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines import privacy
from pipelines.extract import feeds
from pipelines.extract import layouts as L
from pipelines.extract.landing import ERASED_REASON, discover, land
from pipelines.publish import AnalystCopy, publish, publish_root
from pipelines.resources import Warehouse
from tests.conftest import Built, materialize

RAW_LAYOUTS = [layout for layout in L.LAYOUTS if layout.source_system]
# A person seen in at least four feeds whose mobiles and ids are on nobody else's records.
PERSON = """
with owners as (
    select c.mobile, c.id_number, x.customer_id, x.source_system, x.customer_type
    from intermediate.int_party_records_conformed c
    join marts.customer_xref x using (source_system, source_record_id)
),
shared as (
    select mobile as value from owners where mobile is not null
    group by 1 having count(distinct customer_id) > 1
    union all
    select id_number from owners where id_number is not null
    group by 1 having count(distinct customer_id) > 1
)
select customer_id from owners
group by customer_id
having count(distinct source_system) >= 4
    and bool_and(customer_type = 'person')
    and 'call_center' in list(source_system)
    and count(mobile) > 0 and count(id_number) > 0
    and not bool_or(mobile in (select value from shared) or id_number in (select value from shared))
order by count(*) desc, customer_id
limit 1
"""
OTHERS = "select source_system, source_record_id, customer_id from marts.customer_xref where customer_id <> ?"


@dataclass(frozen=True)
class Erased:
    folder: Path
    raw: Path
    warehouse: Path
    person: privacy.Person
    before: dict[str, int]
    xref_rows: int
    partner_rows: int
    others: list[tuple]


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
    ).fetchall()
    return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0] for s, t in tables}


def mentions(con: duckdb.DuckDBPyConnection, needles: list[str]) -> list[str]:
    """Tables anywhere whose text contains one of `needles` (compared as digits and upper-case letters)."""
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema not in ('information_schema', 'pg_catalog')"
    ).fetchall():
        columns.setdefault((schema, table), []).append(f'"{column}"')
    found = []
    for (schema, table), names in sorted(columns.items()):
        text = f"regexp_replace(upper(concat_ws('|', {', '.join(names)})), '[^0-9A-Z|]', '', 'g')"
        where = " or ".join(f"contains({text}, ?)" for _ in needles)
        if con.execute(f'select count(*) from "{schema}"."{table}" where {where}', needles).fetchall()[0][0]:
            found.append(f"{schema}.{table}")
    return found


def needles(person: privacy.Person) -> list[str]:
    return [m.removeprefix("+86") for m in person.mobiles] + list(person.id_numbers)


def test_analyst_views_mask_mobiles_ids_and_names(built: Built):
    assert built.query(
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'analyst' order by 1"
    ) == [(t, "VIEW") for t in ("customer_xref", "dim_customer", "dim_vehicle", "fct_vehicle_ownership")]
    rows = built.query(
        """
        select m.mobile, a.mobile, m.id_number, a.id_number, m.name, a.name, m.customer_type
        from marts.dim_customer m join analyst.dim_customer a using (customer_id)
        """
    )
    assert len(rows) == built.query("select count(*) from marts.dim_customer")[0][0] > 1000
    masked = 0
    for mobile, masked_mobile, id_number, masked_id, name, masked_name, kind in rows:
        if mobile:
            national = mobile.removeprefix("+86")
            assert masked_mobile == f"{national[:3]}****{national[-4:]}"
            masked += 1
        if id_number and len(id_number) > 8:
            assert masked_id == id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]
        if name and kind == "person":
            assert masked_name == name[0] + "*" * max(len(name) - 1, 1)
        if name and kind == "company":
            assert masked_name == name
    assert masked > 1000
    plates = built.query(
        "select m.latest_plate, a.latest_plate from marts.dim_vehicle m "
        "join analyst.dim_vehicle a using (vin) where m.latest_plate is not null"
    )
    assert plates and all(a == m[:2] + "*" * (len(m) - 4) + m[-2:] for m, a in plates)
    columns = {
        r[0]
        for r in built.query(
            "select column_name from information_schema.columns where table_schema = 'analyst'"
        )
    }
    assert "address" not in columns and "mobile_source_record_id" not in columns


@pytest.fixture(scope="module")
def erased(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Erased:
    """A copy of the built sample with its published copy, before the erasure."""
    folder = tmp_path_factory.mktemp("erased")
    warehouse = folder / "warehouse.duckdb"
    shutil.copyfile(built.warehouse, warehouse)
    raw = folder / "raw"
    shutil.copytree(built.raw_dir, raw)
    publish(Warehouse(path=str(warehouse)), AnalystCopy(root=str(publish_root(warehouse))))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (customer_id,) = con.execute(PERSON).fetchall()[0]
        person = privacy.describe_person(con, [customer_id])
        xref_rows = con.execute(
            "select count(*) from marts.customer_xref where customer_id = ?", [customer_id]
        ).fetchall()[0][0]
        partner_rows = con.execute(
            "select count(*) from marts.partner_export where partner_key = sha256(concat(?, '|', ?))",
            [privacy.partner_salt(), customer_id],
        ).fetchall()[0][0]
        return Erased(
            folder=folder,
            raw=raw,
            warehouse=warehouse,
            person=person,
            xref_rows=xref_rows,
            partner_rows=partner_rows,
            before=counts(con),
            others=con.execute(OTHERS + " order by all", [customer_id]).fetchall(),
        )


def run_cli(monkeypatch: pytest.MonkeyPatch, warehouse: Path, *args: str) -> int:
    monkeypatch.setenv("CRM_WAREHOUSE_PATH", str(warehouse))
    return privacy.main(["erase", *args])


def test_an_ambiguous_request_erases_nothing(erased: Erased, built: Built, monkeypatch, capsys):
    shared = built.query(
        """
        select c.mobile from intermediate.int_party_records_conformed c
        join marts.customer_xref x using (source_system, source_record_id)
        where c.mobile is not null group by 1 having count(distinct x.customer_id) > 1 order by 1 limit 1
        """
    )[0][0]
    assert run_cli(monkeypatch, erased.warehouse, "--mobile", shared) == 2
    assert "erase them one by one with --customer-id" in capsys.readouterr().err
    assert run_cli(monkeypatch, erased.warehouse, "--customer-id", "nobody") == 2
    with duckdb.connect(str(erased.warehouse), read_only=True) as con:
        assert counts(con) == erased.before


def test_erase_removes_the_person_from_every_table_and_keeps_the_rest(erased: Erased, monkeypatch, capsys):
    person = erased.person
    (customer_id,) = person.customer_ids
    national = person.mobiles[0].removeprefix("+86")
    assert len(person.records) >= 4 and person.id_numbers
    # by mobile, written as a caller would give it
    assert (
        run_cli(monkeypatch, erased.warehouse, "--mobile", f"{national[:3]}-{national[3:7]}-{national[7:]}")
        == 0
    )
    printed = capsys.readouterr().out
    assert f"customers {customer_id}, {len(person.records)} source records" in printed
    assert "delivered files that still hold erased records" in printed
    with duckdb.connect(str(erased.warehouse), read_only=True) as con:
        after = counts(con)
        gone = {t: erased.before[t] - after[t] for t in erased.before if erased.before[t] != after[t]}
        # exactly the person's rows went: every delivered version in raw, the same rows in staging,
        # one row per record in the intermediate tables, their xref rows and golden record
        raw_rows = sum(gone.pop(f"raw.{layout.table}", 0) for layout in RAW_LAYOUTS)
        assert raw_rows >= len(person.records)
        assert sum(gone.pop(t) for t in list(gone) if t.startswith("staging.")) == raw_rows
        assert gone.pop("intermediate.int_party_records_unioned") == len(person.records)
        assert gone.pop("intermediate.int_party_records_conformed") == len(person.records)
        assert gone.pop("marts.customer_xref") == erased.xref_rows >= 4
        assert gone.pop("marts.dim_customer") == 1
        assert gone.pop("marts.partner_export", 0) == erased.partner_rows  # their pseudonym, if consented
        assert (
            gone.pop("raw.quarantine") == -raw_rows
        )  # each erased raw row is a quarantine row, without text
        assert gone.pop("raw.erased_records") == -len(person.records)
        assert all(t.split(".")[0] in ("intermediate", "marts") and n > 0 for t, n in gone.items()), gone
        # nothing of the person is left, here or in the analysts' published copy
        assert mentions(con, needles(person)) == []
        for table in (
            "marts.customer_xref",
            "marts.dim_customer",
            "intermediate.int_party_records_clustered",
        ):
            assert con.execute(
                f"select count(*) from {table} where customer_id = ?", [customer_id]
            ).fetchall() == [(0,)]
        # everyone else as before
        assert con.execute(OTHERS + " order by all", [customer_id]).fetchall() == erased.others
        # the contract's accounting still holds, file by file
        landed: dict[str, int] = {}
        for layout in L.LAYOUTS:
            for path, n in con.execute(
                f"select _file_path, count(*) from raw.{layout.table} group by 1"
            ).fetchall():
                landed[path] = landed.get(path, 0) + n
        quarantined = dict(
            con.execute(
                "select file_path, count(*) from raw.quarantine where line_number is not null group by 1"
            ).fetchall()
        )
        for path, loaded, rows_quarantined in con.execute(
            "select file_path, rows_loaded, rows_quarantined from raw.load_manifest"
        ).fetchall():
            assert (landed.get(path, 0), quarantined.get(path, 0)) == (loaded, rows_quarantined), path
        assert con.execute(
            "select count(*) from raw.quarantine where reason = ? and raw_text is null", [ERASED_REASON]
        ).fetchall() == [(raw_rows,)]
    published = AnalystCopy(root=str(publish_root(erased.warehouse))).warehouse_path
    with duckdb.connect(str(published), read_only=True) as copy:
        assert counts(copy) == after and mentions(copy, needles(person)) == []


def test_a_redelivery_then_a_rerun_do_not_bring_them_back(erased: Erased):
    person = erased.person
    (customer_id,) = person.customer_ids
    with duckdb.connect(str(erased.warehouse), read_only=True) as con:
        erased_calls = con.execute(
            "select file_path, line_number from raw.quarantine "
            "where feed = 'call_center' and reason = ? order by 1, 2",
            [ERASED_REASON],
        ).fetchall()
    assert erased_calls  # the person called the hotline
    path = erased.raw / erased_calls[0][0]
    path.write_bytes(path.read_bytes() + b"\n")  # delivered again, same rows
    files = [f for f in discover(erased.raw) if f.rel_path == erased_calls[0][0]]
    with duckdb.connect(str(erased.warehouse)) as con:
        summary = land(con, "call_center", files, feeds.call_center_parser, [L.CALL_CENTER])
        assert summary.files_loaded == 1
        assert con.execute(
            "select line_number from raw.quarantine where file_path = ? and reason = ?",
            [files[0].rel_path, ERASED_REASON],
        ).fetchall() == [(line,) for p, line in erased_calls if p == files[0].rel_path]
        assert mentions(con, needles(person)) == []
    result = materialize(erased.raw, erased.warehouse)
    assert result.success
    with duckdb.connect(str(erased.warehouse), read_only=True) as con:
        assert mentions(con, needles(person)) == []
        assert con.execute(
            "select count(*) from marts.customer_xref where customer_id = ?", [customer_id]
        ).fetchall() == [(0,)]
        # every other record keeps its customer
        assert con.execute(OTHERS + " order by all", [customer_id]).fetchall() == erased.others
