"""Erase one person on request (right to be forgotten): `python -m pipelines.privacy erase ...`.

Who: `--customer-id`, or a `--mobile` / `--id-number` that leads to exactly one customer (a mobile shared
by a family leads to several: then the procedure lists them and erases nothing). What goes:

- every source record of the customer, and every record that belongs to no customer but carries one of
  the person's mobiles or id numbers, from every table that holds records or customers: raw landing
  tables (every delivered version), staging, intermediate, marts, mining and any later schema; tables
  keyed by `customer_id` lose the customer's rows, other `*customer_id` links to them are set to null,
  and the partner extract loses the row of their salted pseudonym (`partner_key`, salt from
  `CRM_PARTNER_SALT` as in `dbt_project/models/mining/partner_export.sql`; extracts already sent stay sent);
- the text of quarantined rows that mention one of the person's mobiles or id numbers.
- the person's mobiles from the matching model's term frequencies (how common each mobile is).

What stays: everything else, byte for byte. For the contract's accounting each erased raw row becomes a
quarantine row `erased on request` without text, and the load manifest counts it as quarantined. The
register `raw.erased_records` keeps a SHA-256 of each erased record's source system and id (not the id,
not the person): a later re-delivery of the record is quarantined as `erased on request` and never lands.

The delivered files themselves belong to the source systems and are not edited: the procedure prints
those that still hold an erased record, to be deleted or re-delivered without it. A warehouse rebuilt
from an empty file must get `raw.erased_records` back before it lands them again. The analysts' published
copy, when there is one, is republished from the erased warehouse.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.conform.ids import conform_party_id
from pipelines.conform.phones import conform_phone
from pipelines.extract import layouts as L
from pipelines.extract.landing import ERASED_REASON, RAW_SCHEMA, ensure_raw_tables, record_hash
from pipelines.matching.model import TERM_FREQUENCY_TABLE
from pipelines.settings import resolve_paths

PARTNER_KEY = "partner_key"
XREF = "marts.customer_xref"
CONFORMED = "intermediate.int_party_records_conformed"
CUSTOMER_KEY = "customer_id"


class ErasureRefused(ValueError):
    """The request does not name exactly one customer; nothing was erased."""


@dataclass(frozen=True)
class Person:
    """The customer(s) to erase, their source records and the identifiers to scrub from quarantine."""

    customer_ids: tuple[str, ...]
    records: tuple[tuple[str, str], ...]
    mobiles: tuple[str, ...]
    id_numbers: tuple[str, ...]


@dataclass
class ErasureReport:
    erasure_id: str
    person: Person
    rows_deleted: dict[str, int] = field(default_factory=dict)
    links_cleared: dict[str, int] = field(default_factory=dict)
    quarantine_texts_erased: int = 0
    delivered_files: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"erasure {self.erasure_id}: customers {', '.join(self.person.customer_ids) or '-'}, "
            f"{len(self.person.records)} source records",
        ]
        lines += [f"  {table:<50}{n:>8} rows deleted" for table, n in sorted(self.rows_deleted.items()) if n]
        lines += [
            f"  {table:<50}{n:>8} links cleared" for table, n in sorted(self.links_cleared.items()) if n
        ]
        lines.append(f"  quarantined rows whose text was erased: {self.quarantine_texts_erased}")
        if self.delivered_files:
            lines.append(
                "delivered files that still hold erased records (delete them or have them re-delivered):"
            )
            lines += [f"  {path}" for path in self.delivered_files]
        return "\n".join(lines)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def find_customers(
    con: duckdb.DuckDBPyConnection,
    customer_id: str | None = None,
    mobile: str | None = None,
    id_number: str | None = None,
) -> tuple[str, ...]:
    """The customers a request names, through the conformed records (the same conformers as matching)."""
    if customer_id is not None:
        found = con.execute(f"select distinct customer_id from {XREF} where customer_id = ?", [customer_id])
        return tuple(r[0] for r in found.fetchall())
    column, value = _identifier(mobile, id_number)
    rows = con.execute(
        f"select distinct x.customer_id from {CONFORMED} c "
        f"join {XREF} x using (source_system, source_record_id) where c.{column} = ? order by 1",
        [value],
    ).fetchall()
    return tuple(r[0] for r in rows)


def _identifier(mobile: str | None, id_number: str | None) -> tuple[str, str]:
    if mobile is not None:
        e164 = conform_phone(mobile).e164
        if e164 is None:
            raise ErasureRefused(f"{mobile!r} is not a usable phone number")
        return "mobile", e164
    if id_number is not None:
        conformed = conform_party_id(id_number).value
        if conformed is None:
            raise ErasureRefused(f"{id_number!r} is not an id number")
        return "id_number", conformed
    raise ErasureRefused("name a customer id, a mobile or an id number")


def _records_table(records: Sequence[tuple[str, str]]) -> pa.Table:
    systems, ids = zip(*records, strict=True) if records else ((), ())
    return pa.table(
        {"source_system": pa.array(systems, pa.string()), "source_record_id": pa.array(ids, pa.string())}
    )


def describe_person(con: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]) -> Person:
    """The customers' records, their mobiles and id numbers, and the unassigned records carrying them."""
    if not customer_ids:
        raise ErasureRefused("no customer matches the request")
    con.register("_erase_customers", pa.table({CUSTOMER_KEY: pa.array(customer_ids, pa.string())}))
    try:
        records = con.execute(
            f"select source_system, source_record_id from {XREF} "
            "semi join _erase_customers using (customer_id)"
        ).fetchall()
        con.register("_erase_records", _records_table(records))
        mobiles, ids = con.execute(
            f"""
            select coalesce(list(distinct c.mobile) filter (where c.mobile is not null), []),
                   coalesce(list(distinct c.id_number) filter (where c.id_number is not null), [])
            from {CONFORMED} c semi join _erase_records using (source_system, source_record_id)
            """
        ).fetchall()[0]
        unassigned = con.execute(
            f"""
            select c.source_system, c.source_record_id from {CONFORMED} c
            anti join {XREF} using (source_system, source_record_id)
            where list_contains(?, c.mobile) or list_contains(?, c.id_number)
            """,
            [mobiles, ids],
        ).fetchall()
    finally:
        con.unregister("_erase_customers")
        con.unregister("_erase_records")
    return Person(
        tuple(customer_ids),
        tuple(sorted({*records, *unassigned})),
        tuple(sorted(mobiles)),
        tuple(sorted(ids)),
    )


def erase(con: duckdb.DuckDBPyConnection, person: Person, now: datetime | None = None) -> ErasureReport:
    """Erase `person` from every table in one transaction; see the module docstring for what goes."""
    ensure_raw_tables(con, L.LAYOUTS)
    report = ErasureReport(erasure_id=uuid.uuid4().hex, person=person)
    now = now or datetime.now(tz=UTC)
    con.register("_erase_records", _records_table(person.records))
    con.register("_erase_customers", pa.table({CUSTOMER_KEY: pa.array(person.customer_ids, pa.string())}))
    con.execute("begin transaction")
    try:
        _erase_landed_rows(con, report, now)
        _erase_quarantined_text(con, person, report)
        con.execute(
            f"insert into {RAW_SCHEMA}.erased_records select * from (select unnest(?) as source_system, "
            "unnest(?) as record_hash, ? as erasure_id, ? as erased_at) as new "
            f"anti join {RAW_SCHEMA}.erased_records using (source_system, record_hash)",
            [
                [system for system, _ in person.records],
                [record_hash(system, record_id) for system, record_id in person.records],
                report.erasure_id,
                now,
            ],
        )
        for schema, table in _derived_tables(con):
            _erase_from_table(con, schema, table, report)
        _erase_term_frequencies(con, person, report)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_erase_records")
        con.unregister("_erase_customers")
    return report


def _erase_landed_rows(con: duckdb.DuckDBPyConnection, report: ErasureReport, now: datetime) -> None:
    """Every delivered version of the records; each becomes an `erased on request` quarantine row."""
    files: set[str] = set()
    for layout in L.LAYOUTS:
        if layout.source_system is None:
            continue
        table = f"{RAW_SCHEMA}.{layout.table}"
        match = (
            f"exists (select 1 from _erase_records r where r.source_system = '{layout.source_system}' "
            f"and r.source_record_id = {layout.record_key_sql()})"
        )
        erased = con.execute(
            f"select _file_path, _row_number, _file_hash from {table} where {match}"
        ).fetchall()
        if not erased:
            continue
        con.execute(
            f"""
            insert into {RAW_SCHEMA}.quarantine
                (file_path, line_number, reason, raw_text, feed, file_hash, loaded_at)
            select t._file_path, t._row_number, ?, null, m.feed, t._file_hash, ?
            from {table} t join {RAW_SCHEMA}.load_manifest m on m.file_path = t._file_path
            where {match}
            """,
            [ERASED_REASON, now],
        )
        con.execute(
            f"""
            update {RAW_SCHEMA}.load_manifest m
            set rows_loaded = m.rows_loaded - e.n, rows_quarantined = m.rows_quarantined + e.n
            from (select _file_path, count(*) as n from {table} where {match} group by 1) e
            where m.file_path = e._file_path
            """
        )
        con.execute(f"delete from {table} where {match}")
        report.rows_deleted[table] = len(erased)
        files.update(path for path, _, _ in erased)
    report.delivered_files = sorted(files)


def _erase_quarantined_text(con: duckdb.DuckDBPyConnection, person: Person, report: ErasureReport) -> None:
    """Quarantined lines are kept for the accounting, but not the person's data in them."""
    nationals = [m.removeprefix("+86") for m in person.mobiles]
    if not nationals and not person.id_numbers:
        return
    found = con.execute(
        f"""
        update {RAW_SCHEMA}.quarantine
        set raw_text = null, reason = reason || ' (text erased on request)'
        where raw_text is not null
            and (
                len(list_filter(?, lambda n: contains(regexp_replace(raw_text, '\\D', '', 'g'), n))) > 0
                or len(list_filter(?, lambda i: contains(upper(raw_text), i))) > 0
            )
        returning 1
        """,
        [nationals, list(person.id_numbers)],
    ).fetchall()
    report.quarantine_texts_erased = len(found)


def _erase_term_frequencies(con: duckdb.DuckDBPyConnection, person: Person, report: ErasureReport) -> None:
    """The matching model counts how common each mobile is; the person's mobiles leave that count."""
    table = f"intermediate.{TERM_FREQUENCY_TABLE}"
    if not person.mobiles or ("intermediate", TERM_FREQUENCY_TABLE) not in _derived_tables(con):
        return
    deleted = con.execute(
        f"delete from {table} where column_name = 'mobile' and value in (select unnest(?)) returning 1",
        [list(person.mobiles)],
    ).fetchall()
    if deleted:
        report.rows_deleted[table] = report.rows_deleted.get(table, 0) + len(deleted)


def _derived_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_catalog = current_database() "
        f"and table_schema not in ('{RAW_SCHEMA}', 'information_schema', 'pg_catalog') order by 1, 2"
    ).fetchall()


def _erase_from_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, report: ErasureReport) -> None:
    """Rows about an erased record (any `<x>source_system`, `<x>source_record_id` pair) or keyed by an erased
    customer go; other links to an erased customer (`current_customer_id`, ...) are set to null."""
    columns = _columns(con, schema, table)
    qualified = f'"{schema}"."{table}"'
    conditions = [
        f'exists (select 1 from _erase_records r where r.source_system = t."{prefix}source_system" '
        f'and r.source_record_id = t."{prefix}source_record_id")'
        for prefix in (c.removesuffix("source_record_id") for c in columns if c.endswith("source_record_id"))
        if f"{prefix}source_system" in columns
    ]
    if CUSTOMER_KEY in columns:
        conditions.append(f"t.{CUSTOMER_KEY} in (select {CUSTOMER_KEY} from _erase_customers)")
    if PARTNER_KEY in columns:
        salt = partner_salt().replace("'", "''")
        conditions.append(
            f"t.{PARTNER_KEY} in (select sha256(concat('{salt}', '|', {CUSTOMER_KEY})) from _erase_customers)"
        )
    if conditions:
        deleted = con.execute(
            f"delete from {qualified} t where {' or '.join(conditions)} returning 1"
        ).fetchall()
        report.rows_deleted[f"{schema}.{table}"] = len(deleted)
    for link in (c for c in columns if c.endswith(CUSTOMER_KEY) and c != CUSTOMER_KEY):
        cleared = con.execute(
            f'update {qualified} set "{link}" = null '
            f'where "{link}" in (select {CUSTOMER_KEY} from _erase_customers) returning 1'
        ).fetchall()
        if cleared:
            report.links_cleared[f"{schema}.{table}.{link}"] = len(cleared)


def partner_salt() -> str:
    """The salt of the partner extract's pseudonyms, as the mining model reads it."""
    return os.environ.get("CRM_PARTNER_SALT", "crm-development-salt")


def republish(warehouse_path: Path) -> Path | None:
    """Replace the analysts' published copy, where there is one, by a copy of the erased warehouse."""
    from pipelines.publish import AnalystCopy, publish, publish_root
    from pipelines.resources import Warehouse

    target = AnalystCopy(root=str(publish_root(warehouse_path)))
    if not target.warehouse_path.exists():
        return None
    publish(Warehouse(path=str(warehouse_path)), target)
    return target.warehouse_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.privacy", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    erase_cmd = commands.add_parser("erase", help="erase one person from every table")
    who = erase_cmd.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer-id")
    who.add_argument("--mobile")
    who.add_argument("--id-number")
    erase_cmd.add_argument("--dry-run", action="store_true", help="show what would be erased, erase nothing")
    args = parser.parse_args(argv)
    warehouse = resolve_paths().warehouse_path
    with duckdb.connect(str(warehouse)) as con:
        try:
            customers = find_customers(con, args.customer_id, args.mobile, args.id_number)
            if len(customers) > 1:
                raise ErasureRefused(
                    f"the request matches {len(customers)} customers ({', '.join(customers)}): "
                    "erase them one by one with --customer-id"
                )
            person = describe_person(con, customers)
        except ErasureRefused as refused:
            print(f"nothing erased: {refused}", file=sys.stderr)
            return 2
        if args.dry_run:
            print(
                f"would erase customer {', '.join(person.customer_ids)}: {len(person.records)} source records"
            )
            return 0
        report = erase(con, person)
    print(report.render())
    published = republish(warehouse)
    if published is not None:
        print(f"republished the analysts' copy {published}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
