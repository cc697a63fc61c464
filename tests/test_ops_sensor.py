"""The raw-folder sensor on a real folder: a run for new and re-delivered files, none for unchanged ones."""

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipelines.automation import MAIN_JOB
from pipelines.resources import RawData
from pipelines.sensors import changed_files, decode_cursor, encode_cursor, fingerprints, raw_files_sensor
from tests.conftest import SAMPLE_RAW

FILES = (
    "dealers/dealers.csv",
    "repair_shops/stations.csv",
    "manufacturer/web_registrations.csv",
    "manufacturer/call_center/2021-11-01.jsonl",
    "manufacturer/call_center/2021-11-02.jsonl",
)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SAMPLE_RAW / rel, root / rel)
    (root / "_truth").mkdir()
    (root / "_truth" / "record_truth.csv").write_text("source_system,source_record_id,person_id\n")
    (root / ".DS_Store").write_bytes(b"\0")
    return root


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def tick(raw: Path, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"raw_data": RawData(root=str(raw))}
    )
    return raw_files_sensor(context)


def test_first_tick_requests_one_run_for_every_delivered_file(raw: Path, instance: dg.DagsterInstance):
    result = tick(raw, instance, None)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["crm/new_files"] == str(len(FILES))
    assert request.tags["crm/redelivered_files"] == "0"
    assert raw_files_sensor.job_name == MAIN_JOB
    assert sorted(decode_cursor(result.cursor)) == sorted(FILES)  # no _truth/, no hidden files


def test_unchanged_folder_requests_nothing(raw: Path, instance: dg.DagsterInstance):
    cursor = tick(raw, instance, None).cursor
    again = tick(raw, instance, cursor)
    assert not again.run_requests
    assert "no new or re-delivered files" in again.skip_reason.skip_message
    assert decode_cursor(again.cursor) == decode_cursor(cursor)


def test_new_file_starts_a_run(raw: Path, instance: dg.DagsterInstance):
    cursor = tick(raw, instance, None).cursor
    new = raw / "manufacturer/call_center/2021-11-03.jsonl"
    shutil.copy2(SAMPLE_RAW / "manufacturer/call_center/2021-11-03.jsonl", new)
    result = tick(raw, instance, cursor)
    assert [r.tags["crm/new_files"] for r in result.run_requests] == ["1"]
    assert result.run_requests[0].tags["crm/redelivered_files"] == "0"
    assert "manufacturer/call_center/2021-11-03.jsonl" in decode_cursor(result.cursor)
    assert not tick(raw, instance, result.cursor).run_requests


def test_redelivered_file_starts_a_run_and_a_touch_with_same_fingerprint_does_not(
    raw: Path, instance: dg.DagsterInstance
):
    cursor = tick(raw, instance, None).cursor
    path = raw / "manufacturer/call_center/2021-11-01.jsonl"
    stat = path.stat()
    # Same size and mtime: the landing would skip it too, so no run.
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not tick(raw, instance, cursor).run_requests
    # A correction delivered again under the same path.
    path.write_bytes(path.read_bytes() + b"\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    result = tick(raw, instance, cursor)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["crm/new_files"] == "0"
    assert result.run_requests[0].tags["crm/redelivered_files"] == "1"


def test_run_key_names_the_change(raw: Path, instance: dg.DagsterInstance):
    first = tick(raw, instance, None).run_requests[0].run_key
    assert tick(raw, instance, None).run_requests[0].run_key == first
    shutil.copy2(
        SAMPLE_RAW / "manufacturer/call_center/2021-11-03.jsonl", raw / "manufacturer/call_center/x.jsonl"
    )
    assert tick(raw, instance, None).run_requests[0].run_key != first


def test_waits_while_a_run_is_in_flight_and_keeps_its_cursor(raw: Path, instance: dg.DagsterInstance):
    cursor = tick(raw, instance, None).cursor
    shutil.copy2(
        SAMPLE_RAW / "manufacturer/call_center/2021-11-03.jsonl", raw / "manufacturer/call_center/x.jsonl"
    )
    instance.add_run(dg.DagsterRun(job_name=MAIN_JOB, run_id="in-flight", status=dg.DagsterRunStatus.STARTED))
    waiting = tick(raw, instance, cursor)
    assert not waiting.run_requests and waiting.cursor is None
    assert "wait for the run in flight" in waiting.skip_reason.skip_message
    instance.report_run_canceled(instance.get_run_by_id("in-flight"))
    assert len(tick(raw, instance, cursor).run_requests) == 1


def test_missing_folder_is_skipped(tmp_path: Path, instance: dg.DagsterInstance):
    result = tick(tmp_path / "nowhere", instance, None)
    assert not result.run_requests
    assert "does not exist" in result.skip_reason.skip_message


def test_cursor_round_trip_is_compact():
    prints = fingerprints(SAMPLE_RAW)
    assert len(prints) > 3000
    encoded = encode_cursor(prints)
    assert decode_cursor(encoded) == prints
    assert len(encoded) < 60 * len(prints)  # compressed: well under the JSON's size
    assert changed_files(prints, prints) == []
    assert changed_files({}, {"a": (1, 2)}) == ["a"]
    assert changed_files({"a": (1, 2)}, {"a": (1, 3)}) == ["a"]
