"""Pure parsers: bytes of one delivered file in, rows as delivered and rejected rows with reasons out."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.extract.layouts import Layout

TOTAL_ROW_MARKERS = ("合计", "總計", "总计", "TOTAL")
TRUNCATED = "file truncated mid-row"

Row = dict[str, str | int | None]


@dataclass(frozen=True)
class Rejected:
    """A raw row (or, with no line number, a whole file) that could not be loaded, and why."""

    line_number: int | None
    reason: str
    raw_text: str | None


@dataclass
class ParsedFile:
    """What one file yields: rows keyed by the layout's columns plus `_row_number` and `_extra_columns`.

    Every row of one file has the same keys (a CSV column missing from the header is missing from all
    of them), which lets landing transpose a file's rows into columns in one pass.
    """

    layout: Layout | None
    rows: list[Row] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @classmethod
    def whole_file_rejected(cls, reason: str) -> ParsedFile:
        return cls(layout=None, rejected=[Rejected(line_number=None, reason=reason, raw_text=None)])

    @property
    def file_error(self) -> str | None:
        if self.layout is None and self.rejected:
            return self.rejected[0].reason
        return None


class DecodeError(ValueError):
    """The file's bytes are not in the encoding its registry or the contract declares."""


def decode(data: bytes, encoding: str) -> str:
    """Decode a delivered text file: UTF-8 with or without BOM, or GBK (read as its superset GB18030).

    A file cut off inside its last character (a truncated delivery) decodes up to that character; the
    incomplete last line is then quarantined by the parser, as it lacks its line end.
    """
    enc = encoding.strip().lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        try:
            return _decode_allowing_cut_end(data.removeprefix(b"\xef\xbb\xbf"), "utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"declared utf-8 but byte {exc.start} is not valid UTF-8") from exc
    if enc in ("gbk", "gb2312", "gb18030", "cp936"):
        if data.startswith(b"\xef\xbb\xbf") or _is_non_ascii_utf8(data):
            raise DecodeError("declared gbk but the file is UTF-8")
        try:
            return _decode_allowing_cut_end(data, "gb18030")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"declared gbk but byte {exc.start} is not valid GBK") from exc
    raise DecodeError(f"unknown encoding {encoding!r}")


def _decode_allowing_cut_end(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        cut_end = exc.end == len(data) and len(data) - exc.start < 4 and b"\n" not in data[exc.start :]
        if not cut_end:
            raise
        return data[: exc.start].decode(encoding)


def _is_non_ascii_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _split_fields(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line]))


def _is_total_row(first_field: str) -> bool:
    return first_field.strip().upper().startswith(TOTAL_ROW_MARKERS)


def id_problem(record_id: str | None) -> str | None:
    """Why a record id cannot identify a record, or None when it can."""
    if record_id is None or not record_id.strip():
        return "missing record id"
    if record_id.strip().startswith("="):
        return f"record id is a spreadsheet formula: {record_id.strip()[:40]}"
    return None


def parse_csv(text: str, layout: Layout) -> ParsedFile:
    """Parse delimited text line by line: one physical line is one row, blank lines are not rows.

    Header names match the layout's ignoring case; unknown ones are kept in `_extra_columns` (JSON),
    missing ones load as null. A last line without its line end and with too few fields is a truncated
    delivery.
    """
    lines = text.split("\n")
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        return ParsedFile(layout=layout)
    by_folded = {name.casefold(): name for name in layout.columns}
    header = [
        by_folded.get(name.casefold(), name)
        for name in (raw.strip().lstrip("\ufeff") for raw in _split_fields(lines[header_index].rstrip("\r")))
    ]
    if layout.id_column not in header:
        return ParsedFile.whole_file_rejected(
            f"header lacks the record-id column {layout.id_column!r} of layout {layout.table}: "
            + ",".join(header)
        )
    known = set(layout.columns)
    positions = [(name, i) for i, name in enumerate(header) if name in known]
    extras = [(name, i) for i, name in enumerate(header) if name not in known]
    id_pos = header.index(layout.id_column)
    parsed = ParsedFile(layout=layout)
    seen_ids: set[str] = set()
    for index in range(header_index + 1, len(lines)):
        line = lines[index].rstrip("\r")
        if not line.strip():
            continue
        line_number = index + 1
        try:
            fields = _split_fields(line)
        except csv.Error as exc:
            parsed.rejected.append(Rejected(line_number, f"unparseable line: {exc}", line))
            continue
        if fields and _is_total_row(fields[0]):
            parsed.rejected.append(Rejected(line_number, "total row", line))
            continue
        if len(fields) != len(header):
            reason = f"expected {len(header)} fields, got {len(fields)}"
            if index == len(lines) - 1 and len(fields) < len(header):
                reason = f"{TRUNCATED}: {reason}"
            parsed.rejected.append(Rejected(line_number, reason, line))
            continue
        record_id = fields[id_pos].strip()
        problem = id_problem(record_id)
        if problem:
            parsed.rejected.append(Rejected(line_number, problem, line))
            continue
        if record_id in seen_ids:
            parsed.rejected.append(Rejected(line_number, f"duplicate record id {record_id} in file", line))
            continue
        seen_ids.add(record_id)
        row: Row = {name: fields[i] for name, i in positions}
        row["_row_number"] = line_number
        row["_extra_columns"] = (
            json.dumps({name: fields[i] for name, i in extras}, ensure_ascii=False) if extras else None
        )
        parsed.rows.append(row)
    return parsed


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def parse_jsonl(text: str, layout: Layout) -> ParsedFile:
    """Parse JSON lines, one object a line; missing or null keys load as null, unknown ones as extras."""
    parsed = ParsedFile(layout=layout)
    known = set(layout.columns)
    lines = text.split("\n")
    for index, raw_line in enumerate(lines):
        line = raw_line.rstrip("\r")
        if not line.strip():
            continue
        line_number = index + 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg}"
            parsed.rejected.append(
                Rejected(line_number, f"{TRUNCATED}: {reason}" if index == len(lines) - 1 else reason, line)
            )
            continue
        if not isinstance(obj, dict):
            parsed.rejected.append(Rejected(line_number, "JSON line is not an object", line))
            continue
        problem = id_problem(_json_text(obj.get(layout.id_column)))
        if problem:
            parsed.rejected.append(Rejected(line_number, problem, line))
            continue
        row: Row = {name: _json_text(obj.get(name)) for name in layout.columns}
        extras = {k: v for k, v in obj.items() if k not in known}
        row["_row_number"] = line_number
        row["_extra_columns"] = json.dumps(extras, ensure_ascii=False) if extras else None
        parsed.rows.append(row)
    return parsed


def parse_parquet(data: bytes, layout: Layout) -> ParsedFile:
    """Read a Parquet file and land every column as text; a row's number is its position (1-based).

    Types that drifted from the contract still land as the text the contract's type would give: dates and
    timestamps as `YYYY-MM-DD` in the layout's date columns (`YYYY-MM-DD HH:MM:SS` elsewhere), whole
    floats without `.0`. A nested column (list, struct, map) rejects the file.
    """
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        return ParsedFile.whole_file_rejected(f"unreadable parquet: {exc}")
    if layout.id_column not in table.column_names:
        return ParsedFile.whole_file_rejected(
            f"parquet lacks the record-id column {layout.id_column!r}: {','.join(table.column_names)}"
        )
    nested = [f"{c} ({table[c].type})" for c in table.column_names if pa.types.is_nested(table[c].type)]
    if nested:
        return ParsedFile.whole_file_rejected(f"parquet columns of a nested type: {', '.join(nested)}")
    as_text = {name: _column_text(table[name], name in layout.date_columns) for name in table.column_names}
    known = set(layout.columns)
    extras = [name for name in table.column_names if name not in known]
    parsed = ParsedFile(layout=layout)
    for i in range(table.num_rows):
        record = {name: values[i] for name, values in as_text.items()}
        problem = id_problem(record[layout.id_column])
        if problem:
            raw = json.dumps(record, ensure_ascii=False)
            parsed.rejected.append(Rejected(i + 1, problem, raw))
            continue
        row: Row = {name: record.get(name) for name in layout.columns}
        row["_row_number"] = i + 1
        row["_extra_columns"] = (
            json.dumps({name: record[name] for name in extras}, ensure_ascii=False) if extras else None
        )
        parsed.rows.append(row)
    return parsed


def _column_text(column: pa.ChunkedArray, is_date: bool) -> list[str | None]:
    kind = column.type
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        stamps = column if pa.types.is_timestamp(kind) else pc.cast(column, pa.timestamp("s"))
        return pc.strftime(stamps, format="%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S").to_pylist()
    if pa.types.is_floating(kind):
        return [_float_text(v) for v in column.to_pylist()]
    return pc.cast(column, pa.string()).to_pylist()


def _float_text(value: float | None) -> str | None:
    if value is None or math.isnan(value):
        return None
    return str(int(value)) if value.is_integer() else repr(value)
