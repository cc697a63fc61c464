"""Which database Splink runs on: an in-process DuckDB by default, or the asset's Spark session.

The matching asset picks the backend for everything scored inside a `splink_on_spark(session)` block;
`probabilistic` asks `splink_db_api` for one database API per Splink session and closes what it returns."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import duckdb
from splink import DuckDBAPI
from splink.internals.database_api import DatabaseAPISubClass

from pipelines.resources import machine_share

_SPARK: ContextVar[Any | None] = ContextVar("splink_spark_session", default=None)
# Splink's DuckDB works in the matcher's process, beside its frames: held to a twentieth of the machine
# (1.2 GB here) it spills to a temporary folder rather than add 1.8 GB to them at 1M customers.
SPLINK_MEMORY_SHARE = 0.05


class Closable(Protocol):
    def close(self) -> None: ...


class _DuckDBSession:
    """Splink's in-memory DuckDB and the folder it spills to, both gone on close."""

    def __init__(self, threads: int) -> None:
        self.spill = tempfile.TemporaryDirectory(prefix="splink-")
        config: dict[str, str | int] = {"threads": threads, "temp_directory": self.spill.name}
        if limit := machine_share(SPLINK_MEMORY_SHARE):
            config["memory_limit"] = limit
        self.con = duckdb.connect(config=config)

    def close(self) -> None:
        self.con.close()
        self.spill.cleanup()


class _SparkViews:
    """The Spark session belongs to the asset, which ends it; closing one Splink session drops the views
    and cached tables it left, so the next (prediction after training) starts clean as on DuckDB."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def close(self) -> None:
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)
        self.spark.catalog.clearCache()


@contextmanager
def splink_on_spark(spark: Any) -> Iterator[None]:
    """Run Splink on this Spark session (Splink's SparkAPI) within the block."""
    token = _SPARK.set(spark)
    try:
        yield
    finally:
        _SPARK.reset(token)


def splink_db_api(threads: int) -> tuple[DatabaseAPISubClass, Closable]:
    """A Splink database API and what to close after it: DuckDB with `threads` and a memory limit, or
    SparkAPI."""
    spark = _SPARK.get()
    if spark is None:
        session = _DuckDBSession(threads)
        return DuckDBAPI(connection=session.con), session
    return _spark_api(spark), _SparkViews(spark)


def _spark_api(spark: Any) -> DatabaseAPISubClass:
    """Splink's SparkAPI, transpiling its SQL with sqlglot's own Spark dialect. Splink's `customspark`
    dialect subclasses sqlglot's generator, which the compiled sqlglot (sqlglotc) refuses; what it adds
    (float literals written as doubles) Spark does as well with the casts left in."""
    import sqlglot
    from splink.backends.spark import SparkAPI

    class _SparkAPI(SparkAPI):
        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            return sqlglot.transpile(sql, read="spark", write="spark", pretty=True)[0]

    return _SparkAPI(spark_session=spark, break_lineage_method="persist")


# Splink's names for the same string similarity in each dialect.
_JARO_WINKLER = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}


def settings_for_dialect(settings: Any, dialect: str, source: str | None = None) -> Any:
    """A stored Splink model (its settings as JSON) rewritten for another SQL dialect: every condition and
    blocking rule transpiled, every `sql_dialect` set. A model trained on DuckDB then scores on Spark."""
    import sqlglot

    if isinstance(settings, list):
        return [settings_for_dialect(item, dialect, source) for item in settings]
    if not isinstance(settings, dict):
        return settings
    source = settings.get("sql_dialect", source)
    rewritten = {}
    for key, value in settings.items():
        if key == "sql_dialect":
            rewritten[key] = dialect
        elif key in ("sql_condition", "blocking_rule") and value != "ELSE" and source:
            sql = sqlglot.transpile(value, read=source, write=dialect)[0]
            if dialect in _JARO_WINKLER:
                sql = re.sub(r"(?i)\bjaro_?winkler(_similarity)?\(", f"{_JARO_WINKLER[dialect]}(", sql)
            rewritten[key] = sql
        else:
            rewritten[key] = settings_for_dialect(value, dialect, source)
    return rewritten
