"""Where the platform reads raw data and writes the warehouse: one place, read from the environment."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Paths:
    raw_dir: Path
    warehouse_path: Path


def resolve_paths(environ: dict[str, str] | None = None) -> Paths:
    """`CRM_RAW_DIR` and `CRM_WAREHOUSE_PATH`, defaulting to the sample data and `data/warehouse.duckdb`."""
    env = os.environ if environ is None else environ
    raw = Path(env.get("CRM_RAW_DIR") or REPO_ROOT / "data" / "raw")
    warehouse = Path(env.get("CRM_WAREHOUSE_PATH") or REPO_ROOT / "data" / "warehouse.duckdb")
    return Paths(raw_dir=raw.resolve(), warehouse_path=warehouse.resolve())


def dbt_executable() -> str:
    """The dbt installed beside this interpreter (the venv's), also when the venv is not activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"
