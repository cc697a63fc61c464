"""Where the platform reads raw data and writes the warehouse: one place, read from the environment."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


ENGINES = ("duckdb", "spark")
# The dbt target of each engine (dbt_project/profiles.yml).
DBT_TARGETS = {"duckdb": "duckdb", "spark": "spark"}


@dataclass(frozen=True)
class Paths:
    raw_dir: Path
    warehouse_path: Path
    engine: str = "duckdb"

    @property
    def spark_dir(self) -> Path:
        """Spark's side of the warehouse, beside the DuckDB file: the Derby metastore, the table files
        (`tables/`) and the landed raw tables as Parquet (`raw/`). Never the repo root or the cwd."""
        return self.warehouse_path.with_name(f"{self.warehouse_path.stem}_spark")

    @property
    def dbt_target(self) -> str:
        return DBT_TARGETS[self.engine]


def resolve_engine(environ: Mapping[str, str] | None = None) -> str:
    """`CRM_ENGINE`: `duckdb` (the default, one file) or `spark` (dbt-spark and Splink's Spark backend)."""
    env = os.environ if environ is None else environ
    engine = (env.get("CRM_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"CRM_ENGINE={engine!r}: expected one of {', '.join(ENGINES)}")
    return engine


def resolve_paths(environ: Mapping[str, str] | None = None) -> Paths:
    """`CRM_RAW_DIR`, `CRM_WAREHOUSE_PATH` and `CRM_ENGINE`, defaulting to the sample data,
    `data/warehouse.duckdb` and DuckDB. On Spark the DuckDB file keeps the landing tables (manifest,
    quarantine) and the warehouse proper lives in `spark_dir`."""
    env = os.environ if environ is None else environ
    raw = Path(env.get("CRM_RAW_DIR") or REPO_ROOT / "data" / "raw")
    warehouse = Path(env.get("CRM_WAREHOUSE_PATH") or REPO_ROOT / "data" / "warehouse.duckdb")
    return Paths(raw_dir=raw.resolve(), warehouse_path=warehouse.resolve(), engine=resolve_engine(env))


def dbt_executable() -> str:
    """The dbt installed beside this interpreter (the venv's), also when the venv is not activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"
