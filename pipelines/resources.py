"""Resources, configured in one place: the DuckDB warehouse, the raw folder and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: open, work, close within one asset."""

    path: str
    threads: int = 0
    memory_limit: str = ""

    @property
    def thread_count(self) -> int:
        return self.threads or os.cpu_count() or 1

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | int] = {"threads": self.thread_count}
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
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
