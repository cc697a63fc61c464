"""Shared fixtures: the whole platform materialised once, in-process, on the committed sample."""

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT, dbt_executable

# The committed sample by default; point CRM_TEST_RAW_DIR at any contract-following folder to test on it.
SAMPLE_RAW = Path(os.environ.get("CRM_TEST_RAW_DIR") or REPO_ROOT / "data" / "raw")


def run_dbt(
    args: Sequence[str], warehouse: Path, workdir: Path, unset: Sequence[str] = ()
) -> subprocess.CompletedProcess:
    """The real dbt project's `dbt <args>` on `warehouse`, its target and logs under `workdir`, without the
    environment variables `unset`."""
    env = {**os.environ, "CRM_WAREHOUSE_PATH": str(warehouse)}
    for name in unset:
        env.pop(name, None)
    return subprocess.run(
        [
            dbt_executable(), *args,
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
        ],
        env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Built:
    raw_dir: Path
    warehouse: Path
    result: dg.ExecuteInProcessResult

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def materialize(raw_dir: Path, warehouse: Path) -> dg.ExecuteInProcessResult:
    """Run the main job exactly as `make run` does, against the given folders."""
    saved = {k: os.environ.get(k) for k in ("CRM_RAW_DIR", "CRM_WAREHOUSE_PATH")}
    os.environ["CRM_RAW_DIR"] = str(raw_dir)
    os.environ["CRM_WAREHOUSE_PATH"] = str(warehouse)
    try:
        from pipelines.definitions import build_definitions

        job = build_definitions().resolve_job_def("materialize_all")
        with dg.DagsterInstance.ephemeral() as instance:
            return job.execute_in_process(instance=instance)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def sample_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the committed sample, so tests may add or re-deliver files."""
    target = tmp_path_factory.mktemp("sample") / "raw"
    shutil.copytree(SAMPLE_RAW, target)
    return target


@pytest.fixture(scope="session")
def built(sample_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    warehouse = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    result = materialize(sample_raw, warehouse)
    yield Built(raw_dir=sample_raw, warehouse=warehouse, result=result)
