"""Landed tables as Parquet, for engines that read files rather than the DuckDB landing store (Spark).

Each table is one file, `<folder>/<table>/data.parquet`, written beside it first and moved in with one
`os.replace`, so a reader sees the previous export or this one, never half a file. Spark's `raw` sources
are tables over these folders (`dbt_project/macros/spark_sources.sql`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.extract.landing import RAW_SCHEMA

PARQUET_FILE = "data.parquet"
# Landing bookkeeping that dbt reads as well (the tests that every delivered row is staged or quarantined).
BOOKKEEPING_TABLES = ("load_manifest", "quarantine")


def export_raw_parquet(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str], folder: Path
) -> dict[str, Path]:
    """Write each `raw.<table>` (and the manifest and quarantine) to Parquet under `folder`."""
    written: dict[str, Path] = {}
    for table in dict.fromkeys([*tables, *BOOKKEEPING_TABLES]):
        target = folder / table / PARQUET_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{PARQUET_FILE}.tmp")
        con.execute(
            f"copy (select * from {RAW_SCHEMA}.{table}) to '{staged}' (format parquet, compression zstd)"
        )
        os.replace(staged, target)
        written[table] = target
    return written
