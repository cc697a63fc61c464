"""Conforming and matching in Python, between the dbt staging/intermediate models and the marts."""

import dagster as dg
import duckdb
import pandas as pd

from pipelines.matching.deterministic import cluster_records
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


@dg.asset(
    key=[SCHEMA, "int_party_records_clustered"],
    deps=[int_party_records_conformed],
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description=(
        "One row per record that identifies a customer, with its customer_id, the reason it was linked "
        "and the probability of the link. Deterministic exact-key matching with vehicle ownership."
    ),
)
def int_party_records_clustered(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        conformed = con.execute(f"select * from {SCHEMA}.int_party_records_conformed").fetchdf()
        clustered = cluster_records(conformed)
        _replace_table(con, "int_party_records_clustered", clustered)
    sizes = clustered.groupby("customer_id").size()
    distribution = sizes.value_counts().sort_index()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(clustered),
            "records_in": len(clustered),
            "customers_out": len(sizes),
            "merge_rate": float(1 - len(sizes) / max(len(clustered), 1)),
            "largest_cluster": int(sizes.max()) if len(sizes) else 0,
            "cluster_sizes": dg.MetadataValue.md(
                "| records per customer | customers |\n|---:|---:|\n"
                + "\n".join(f"| {size} | {count} |" for size, count in distribution.items())
            ),
            "link_reasons": dg.MetadataValue.json(clustered["match_reason"].value_counts().to_dict()),
        }
    )


matching_assets = [int_party_records_conformed, int_party_records_clustered]
