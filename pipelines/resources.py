"""Resources, configured in one place: the warehouse (DuckDB, or Spark with DuckDB as landing store), the
raw folder and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pyspark.sql import SparkSession

from pipelines.tables import DuckDBTables, SparkTables, Tables

# Share of the machine's memory DuckDB may use when neither the resource nor the environment says: the
# rest is left to the pandas, Splink and scikit-learn work that runs in the same process. At 1M customers
# a fifth (4.8 GB of 24) costs dbt's longest steps no time against half (benchmarks, BENCHMARKS.md).
DEFAULT_MEMORY_SHARE = 0.2


def available_cpus() -> int:
    """The cores this process may run on (its affinity, which a container or taskset narrows)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def default_memory_limit() -> str:
    """`CRM_DUCKDB_MEMORY_LIMIT`, else a fifth of the machine's physical memory, in DuckDB's notation."""
    configured = os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "").strip()
    return configured or machine_share(DEFAULT_MEMORY_SHARE)


def machine_share(share: float) -> str:
    """This share of the machine's physical memory in DuckDB's notation (at least 256 MB); "" if unknown."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return ""
    return f"{max(int(physical * share / 2**20), 256)}MB"


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: open, work, close within one asset.

    DuckDB gets `threads` (default `CRM_DUCKDB_THREADS` or every core this process may use) and
    `memory_limit` (default `CRM_DUCKDB_MEMORY_LIMIT` or a fifth of the machine's memory; beyond it DuckDB
    spills to a temporary folder beside the warehouse).

    With `engine="spark"` the DuckDB file is the landing store only (raw tables, manifest, quarantine,
    exported as Parquet for Spark) and every other table lives in Spark's metastore under `spark_dir`.
    Python assets reach their tables through `tables()`, whichever the engine.
    """

    path: str
    threads: int = 0
    memory_limit: str = ""
    engine: str = "duckdb"
    spark_dir: str = ""

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    @property
    def thread_count(self) -> int:
        configured = os.environ.get("CRM_DUCKDB_THREADS", "").strip()
        return self.threads or (int(configured) if configured.isdigit() else 0) or available_cpus()

    @property
    def memory(self) -> str:
        return self.memory_limit or default_memory_limit()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Text leaves DuckDB as Arrow large strings, which pandas' string columns (`as_frame`) hold as they
        # are: with DuckDB's default (32-bit offsets) every text column was copied once more (0.64 GB of the
        # 3.70 GB that reading the matching step's 8.9M records took at 1M customers).
        config: dict[str, str | int | bool] = {"threads": self.thread_count, "arrow_large_buffer_size": True}
        if self.memory:
            config["memory_limit"] = self.memory
        con = duckdb.connect(self.path, read_only=read_only, config=config)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def spark(self) -> Iterator[SparkSession]:
        """A Spark session on the warehouse's metastore for one asset (see `pipelines.spark`)."""
        from pipelines.spark import spark_session

        with spark_session(Path(self.spark_dir), self.thread_count) as session:
            yield session

    @contextmanager
    def tables(self) -> Iterator[Tables]:
        """The engine's tables, read and written as pandas frames, for one asset."""
        if self.on_spark:
            with self.spark() as session:
                yield SparkTables(session)
        else:
            with self.connect() as con:
                yield DuckDBTables(con)


class RawData(dg.ConfigurableResource):
    """The folder where feeds are delivered (`CRM_RAW_DIR`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)
