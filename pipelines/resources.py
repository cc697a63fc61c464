"""Resources, configured in one place: the DuckDB warehouse, the raw folder and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

# Share of the machine's memory DuckDB may use when neither the resource nor the environment says: the
# rest is left to the pandas, Splink and scikit-learn work that runs in the same process.
DEFAULT_MEMORY_SHARE = 0.5


def available_cpus() -> int:
    """The cores this process may run on (its affinity, which a container or taskset narrows)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def default_memory_limit() -> str:
    """`CRM_DUCKDB_MEMORY_LIMIT`, else half the machine's physical memory, in DuckDB's notation."""
    configured = os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return ""
    return f"{max(int(physical * DEFAULT_MEMORY_SHARE / 2**20), 256)}MB"


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: open, work, close within one asset.

    DuckDB gets `threads` (default `CRM_DUCKDB_THREADS` or every core this process may use) and
    `memory_limit` (default `CRM_DUCKDB_MEMORY_LIMIT` or half the machine's memory; beyond it DuckDB spills
    to a temporary folder beside the warehouse).
    """

    path: str
    threads: int = 0
    memory_limit: str = ""

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
        config: dict[str, str | int] = {"threads": self.thread_count}
        if self.memory:
            config["memory_limit"] = self.memory
        con = duckdb.connect(self.path, read_only=read_only, config=config)
        try:
            yield con
        finally:
            con.close()


class RawData(dg.ConfigurableResource):
    """The folder where feeds are delivered (`CRM_RAW_DIR`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)
