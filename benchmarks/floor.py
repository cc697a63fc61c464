"""The floor: read, decode and parse every delivered file once, in one thread, with no cleaning.

Text files are decoded with the encoding their registry declares (dealers by DMS vendor, stations by their
own column; everything else UTF-8), CSV split into fields by the standard library's reader, JSON lines
parsed one object a line, Parquet read into an Arrow table. Nothing is validated, typed or written: this is
the least any platform must spend on the same files.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

TRUTH_DIR = "_truth"
VENDOR_ENCODING = {"A": "utf-8-sig", "B": "gb18030"}


@dataclass(frozen=True)
class FloorResult:
    seconds: float
    cpu_seconds: float
    files: int
    bytes: int
    rows: int


def _registry(raw: Path, rel: str, key: str, value: str) -> dict[str, str]:
    path = raw / rel
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[key].strip(): row[value].strip() for row in csv.DictReader(handle)}


def _encoding(rel: str, vendors: dict[str, str], stations: dict[str, str]) -> str:
    parts = rel.split("/")
    if parts[0] == "dealers" and len(parts) == 3:
        return VENDOR_ENCODING.get(vendors.get(parts[1], "A").upper(), "utf-8-sig")
    if parts[0] == "repair_shops" and len(parts) == 3:
        encoding = stations.get(parts[1], "utf-8").lower()
        return "gb18030" if encoding in ("gbk", "gb2312", "cp936") else "utf-8-sig"
    return "utf-8-sig"


def _rows(rel: str, data: bytes, encoding: str) -> int:
    if rel.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data), use_threads=False).num_rows
    text = data.decode(encoding, errors="replace")
    if rel.endswith(".jsonl"):
        rows = 0
        for line in text.split("\n"):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    continue
                rows += 1
        return rows
    return max(sum(1 for _ in csv.reader(io.StringIO(text))) - 1, 0)


def measure_floor(raw: Path) -> FloorResult:
    """Read, decode and parse every file under ``raw`` (``_truth`` and hidden files left out)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    vendors = _registry(raw, "dealers/dealers.csv", "dealer_code", "dms_vendor")
    stations = _registry(raw, "repair_shops/stations.csv", "station_code", "encoding")
    files = size = rows = 0
    for path in sorted(raw.rglob("*")):
        rel = path.relative_to(raw).as_posix()
        if rel.startswith(TRUTH_DIR) or any(p.startswith(".") for p in rel.split("/")) or not path.is_file():
            continue
        data = path.read_bytes()
        files += 1
        size += len(data)
        rows += _rows(rel, data, _encoding(rel, vendors, stations))
    return FloorResult(
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        files=files,
        bytes=size,
        rows=rows,
    )
