"""Conforming and matching in Python, between the dbt staging/intermediate models and the marts."""

import dagster as dg
import duckdb
import pandas as pd

from pipelines.matching.matcher import match
from pipelines.matching.records import conform_records
from pipelines.resources import Warehouse

SCHEMA = "intermediate"
GROUP = "intermediate"
KINDS = {"python", "pandas", "duckdb"}
OWNERS = ["team:data-platform"]


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table {SCHEMA}.{table} as select * from _frame")
    finally:
        con.unregister("_frame")


@dg.asset(
    key=[SCHEMA, "int_party_records_conformed"],
    deps=[dg.AssetKey([SCHEMA, "int_party_records_unioned"])],
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description=(
        "Every party record with its name (simplified, pinyin key), mobile (E.164), resident id or credit "
        "code, VIN, plate, e-mail and address conformed by the libraries, each with its validity, and "
        "whether the record identifies a customer at all."
    ),
)
def int_party_records_conformed(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        records = con.execute(f"select * from {SCHEMA}.int_party_records_unioned").fetchdf()
        conformed = conform_records(records)
        _replace_table(con, "int_party_records_conformed", conformed)
    identifying = int(conformed["identifies_customer"].sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(conformed),
            "records_identifying_a_customer": identifying,
            "records_identifying_nobody": len(conformed) - identifying,
            "valid_mobiles": int(conformed["mobile"].notna().sum()),
            "valid_ids": int(conformed["id_is_valid"].sum()),
            "full_vins": int(conformed["vin"].notna().sum()),
        }
    )


STEWARDSHIP = [
    dg.AssetKey(["stewardship", "manual_must_link"]),
    dg.AssetKey(["stewardship", "manual_cannot_link"]),
]


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return found[0][0] > 0


def _read_or_none(con: duckdb.DuckDBPyConnection, schema: str, table: str, sql: str) -> pd.DataFrame | None:
    return con.execute(sql).fetchdf() if _table_exists(con, schema, table) else None


def _append_id_events(con: duckdb.DuckDBPyConnection, events: pd.DataFrame) -> None:
    con.execute(
        f"""create table if not exists {SCHEMA}.int_customer_id_events (
            customer_id varchar not null, event varchar not null, related_customer_id varchar,
            n_records bigint not null, recorded_at timestamptz not null)"""
    )
    con.register("_events", events)
    try:
        con.execute(
            f"""insert into {SCHEMA}.int_customer_id_events
            select customer_id, event, cast(related_customer_id as varchar), n_records, now() from _events"""
        )
    finally:
        con.unregister("_events")


@dg.asset(
    key=[SCHEMA, "int_party_records_clustered"],
    deps=[int_party_records_conformed, *STEWARDSHIP],
    group_name=GROUP,
    kinds={"python", "splink", "duckdb"},
    owners=OWNERS,
    description=(
        "One row per record that identifies a customer, with its lifelong customer_id, the strongest link "
        "that put it in its cluster and that link's probability. Exact evidence (ids, mobile+name, VIN and "
        "plate ownership periods, fleets), the stewards' must-link and cannot-link seeds, and Splink's "
        "probabilistic links at a threshold chosen on the data, clustered under constraints; ids are "
        "inherited from the previous run by overlap. Also writes the review queue's pairs, the id events "
        "and the estimated Splink parameters."
    ),
)
def int_party_records_clustered(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        conformed = con.execute(f"select * from {SCHEMA}.int_party_records_conformed").fetchdf()
        previous = _read_or_none(
            con,
            SCHEMA,
            "int_party_records_clustered",
            f"select source_system || ':' || source_record_id as record_key, customer_id "
            f"from {SCHEMA}.int_party_records_clustered",
        )
        must = _read_or_none(
            con, "stewardship", "manual_must_link", "select * from stewardship.manual_must_link"
        )
        cannot = _read_or_none(
            con, "stewardship", "manual_cannot_link", "select * from stewardship.manual_cannot_link"
        )
        result = match(conformed, previous, must, cannot, threads=warehouse.thread_count)
        _replace_table(con, "int_party_records_clustered", result.xref)
        _replace_table(con, "int_match_review_pairs", result.review_pairs)
        _replace_table(con, "int_match_parameters", result.parameters)
        _append_id_events(con, result.id_events)
    context.log.info(f"matching: {result.stats}")
    sizes = result.xref.groupby("customer_id").size()
    distribution = sizes.value_counts().sort_index()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(result.xref),
            **result.stats,
            "merge_rate": float(1 - len(sizes) / max(len(result.xref), 1)),
            "id_events": dg.MetadataValue.json(result.id_events["event"].value_counts().to_dict()),
            "cluster_sizes": dg.MetadataValue.md(
                "| records per customer | customers |\n|---:|---:|\n"
                + "\n".join(f"| {size} | {count} |" for size, count in distribution.items())
            ),
            "link_reasons": dg.MetadataValue.json(result.xref["match_reason"].value_counts().to_dict()),
        }
    )


matching_assets = [int_party_records_conformed, int_party_records_clustered]
