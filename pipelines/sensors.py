"""The raw-folder sensor: a run of the main job for every new or re-delivered file under `CRM_RAW_DIR`.

The cursor holds each delivered file's fingerprint (path, size, mtime in ns), the same test the landing
uses to skip unchanged files, compressed so thousands of files stay a small cursor. A file is new when
its path is not in the cursor and re-delivered when its size or mtime changed; anything else asks for no
run. While a run of the job is queued or in flight the sensor waits (cursor kept), so deliveries that
arrive during a run start the next one.
"""

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from pipelines.automation import FULL_REBUILD_JOB, MAIN_JOB
from pipelines.extract.landing import discover
from pipelines.resources import RawData

Fingerprints = dict[str, tuple[int, int]]
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def fingerprints(raw_dir: Path) -> Fingerprints:
    """(size, mtime_ns) per delivered file, relative path as key; `_truth/` and hidden files excluded."""
    return {f.rel_path: (f.size, f.mtime_ns) for f in discover(raw_dir)}


def encode_cursor(prints: Mapping[str, tuple[int, int]]) -> str:
    payload = json.dumps({path: list(fp) for path, fp in sorted(prints.items())}, separators=(",", ":"))
    return base64.b64encode(zlib.compress(payload.encode("utf-8"), 9)).decode("ascii")


def decode_cursor(cursor: str | None) -> Fingerprints:
    if not cursor:
        return {}
    payload = json.loads(zlib.decompress(base64.b64decode(cursor)).decode("utf-8"))
    return {path: (int(size), int(mtime)) for path, (size, mtime) in payload.items()}


def changed_files(
    previous: Mapping[str, tuple[int, int]], current: Mapping[str, tuple[int, int]]
) -> list[str]:
    """Paths that are new or whose size or mtime changed, sorted."""
    return sorted(path for path, fp in current.items() if previous.get(path) != fp)


def _run_key(current: Mapping[str, tuple[int, int]], changed: list[str]) -> str:
    digest = hashlib.sha256()
    for path in changed:
        size, mtime = current[path]
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:32]


def _runs_in_flight(instance: dg.DagsterInstance) -> int:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=MAIN_JOB, statuses=IN_FLIGHT), limit=1)
    runs += instance.get_runs(filters=dg.RunsFilter(job_name=FULL_REBUILD_JOB, statuses=IN_FLIGHT), limit=1)
    return len(runs)


@dg.sensor(
    name="raw_files_sensor",
    job_name=MAIN_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the main job when files are delivered to, or re-delivered in, the raw folder.",
)
def raw_files_sensor(context: dg.SensorEvaluationContext, raw_data: RawData) -> dg.SensorResult:
    if not raw_data.path.is_dir():
        return dg.SensorResult(skip_reason=f"raw folder {raw_data.path} does not exist")
    previous = decode_cursor(context.cursor)
    current = fingerprints(raw_data.path)
    changed = changed_files(previous, current)
    if not changed:
        # Keep the cursor in step with deletions so a file delivered again later counts as new.
        cursor = encode_cursor(current) if len(current) != len(previous) else context.cursor
        return dg.SensorResult(skip_reason="no new or re-delivered files", cursor=cursor)
    if _runs_in_flight(context.instance):
        return dg.SensorResult(skip_reason=f"{len(changed)} changed files wait for the run in flight")
    new = sum(1 for path in changed if path not in previous)
    context.log.info(f"{new} new and {len(changed) - new} re-delivered files, e.g. {changed[:5]}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=_run_key(current, changed),
                tags={
                    "crm/trigger": "raw_files_sensor",
                    "crm/new_files": str(new),
                    "crm/redelivered_files": str(len(changed) - new),
                },
            )
        ],
        cursor=encode_cursor(current),
    )
