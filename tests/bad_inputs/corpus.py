"""The bad-input corpus: a small delivery that follows the contract (`base/`) and, per case, the files a
real delivery could add to it (`cases/<case>/`), laid over each other into one raw folder.

Parquet cases are written here rather than stored, because their column types are the point of them.
Modification times are set explicitly so that delivery order (`_delivered_at`) is the same on every
machine: base files first, case files a month later.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CORPUS = Path(__file__).parent
BASE_DELIVERED = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
CASES_DELIVERED = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
REGISTRATION_COLUMNS = (
    "registration_id",
    "vin",
    "owner_name",
    "owner_type",
    "id_type",
    "id_number",
    "mobile",
    "province",
    "city",
    "address",
    "delivery_date",
    "dealer_code",
    "model_code",
)
BASE_REGISTRATIONS = [
    ("R0001", "LHVSD15T3SY234092", "王芳", "individual", "ID_CARD", "330320198001033352", "13912345678",
     "上海市", "上海市", "浦东新区张江路1号", dt.date(2024, 1, 6), "D001", "YX15"),
    ("R0002", "LHVEA1E54SN193352", "张伟", "individual", "ID_CARD", "330211200211222192", "13800138001",
     "浙江省", "杭州市", "西湖区文三路100号", dt.date(2024, 1, 11), "D002", "FR14"),
    ("R0003", "LHVVN24L5NN315117", "上海某某物流有限公司", "company", "USCC", "91330303MAQTKLRL00",
     "13611112222", "上海市", "上海市", "浦东新区物流园8号", dt.date(2024, 1, 13), "D001", "TXVAN"),
]  # fmt: skip


def _base_registrations(path: Path) -> None:
    columns = list(zip(*BASE_REGISTRATIONS, strict=True))
    types = [pa.date32() if name == "delivery_date" else pa.string() for name in REGISTRATION_COLUMNS]
    arrays = [pa.array(values, kind) for values, kind in zip(columns, types, strict=True)]
    pq.write_table(pa.table(arrays, names=list(REGISTRATION_COLUMNS)), path)


def _changed_types(root: Path) -> None:
    """2024-03: an export that typed registration_id as int, delivery_date as timestamp, mobile as double;
    2024-04: an export with a nested column, which no text column can hold."""
    folder = root / "manufacturer/vehicle_registrations"
    retyped = {
        "registration_id": pa.array([700001, 700002], pa.int64()),
        "vin": pa.array(["LHVCA15B4SY656070", "LHVEA1E77SY112084"]),
        "owner_name": pa.array(["周芷若", "刘洋"]),
        "owner_type": pa.array(["individual", "individual"]),
        "id_type": pa.array(["ID_CARD", "ID_CARD"]),
        "id_number": pa.array(["330211200211222192", "330320198001033352"]),
        "mobile": pa.array([13944445555.0, 13966667777.0], pa.float64()),
        "province": pa.array(["上海市", "浙江省"]),
        "city": pa.array(["上海市", "杭州市"]),
        "address": pa.array(["静安区南京西路9号", "滨江区江南大道5号"]),
        "delivery_date": pa.array(
            [dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 8, 14, 30)], pa.timestamp("ms")
        ),
        "dealer_code": pa.array(["D001", "D002"]),
        "model_code": pa.array(["YX15", "FR14"]),
    }
    pq.write_table(pa.table(retyped), folder / "2024-03.parquet")
    nested = {
        "registration_id": pa.array(["R0401"]),
        "vin": pa.array(["LHVVN24L0SN532683"]),
        "owner": pa.array([{"name": "马云", "mobile": "13100001111"}]),
        "delivery_date": pa.array([dt.date(2024, 4, 2)], pa.date32()),
    }
    pq.write_table(pa.table(nested), folder / "2024-04.parquet")


GENERATED_CASES = {"parquet_changed_type": _changed_types}
CASES = tuple(sorted([p.name for p in (CORPUS / "cases").iterdir() if p.is_dir()] + list(GENERATED_CASES)))


def _stamp(folder: Path, when: dt.datetime, only: Iterable[Path] | None = None) -> None:
    ns = int(when.timestamp() * 1e9)
    for path in only if only is not None else folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(ns, ns))


def _overlay(source: Path, target: Path) -> list[Path]:
    written = []
    for path in sorted(source.rglob("*")):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            written.append(dest)
    return written


def build_tree(target: Path, cases: Iterable[str] = CASES) -> Path:
    """The base delivery plus the files of `cases`, in `target` (a raw folder)."""
    target.mkdir(parents=True, exist_ok=True)
    _overlay(CORPUS / "base", target)
    (target / "manufacturer/vehicle_registrations").mkdir(parents=True, exist_ok=True)
    _base_registrations(target / "manufacturer/vehicle_registrations/2024-01.parquet")
    _stamp(target, BASE_DELIVERED)
    before = {p for p in target.rglob("*") if p.is_file()}
    for case in cases:
        if case in GENERATED_CASES:
            GENERATED_CASES[case](target)
        else:
            _overlay(CORPUS / "cases" / case, target)
    _stamp(target, CASES_DELIVERED, [p for p in target.rglob("*") if p.is_file() and p not in before])
    return target


def redeliver(target: Path, when: dt.datetime) -> list[str]:
    """Deliver the corrected files of `redelivery/` over `target`; their paths, relative to it."""
    written = _overlay(CORPUS / "redelivery", target)
    _stamp(target, when, written)
    return [p.relative_to(target).as_posix() for p in written]
