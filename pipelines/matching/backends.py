"""Which database Splink runs on: an in-process DuckDB by default, or the asset's Spark session.

The matching asset picks the backend for everything scored inside a `splink_on_spark(session)` block;
`probabilistic` asks `splink_db_api` for one database API per Splink session and closes what it returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import duckdb
from splink import DuckDBAPI
from splink.internals.database_api import DatabaseAPISubClass

_SPARK: ContextVar[Any | None] = ContextVar("splink_spark_session", default=None)


class Closable(Protocol):
    def close(self) -> None: ...


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
    """A Splink database API and what to close after it: DuckDB with `threads`, or SparkAPI."""
    spark = _SPARK.get()
    if spark is None:
        con = duckdb.connect(config={"threads": threads})
        return DuckDBAPI(connection=con), con
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
