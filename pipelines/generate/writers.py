"""File-level output: CSV / JSONL / parquet bytes, file-level mess and re-deliveries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .config import Noise
from .noise import digit_typo

GARBAGE_LINES = (
    "*** 数据导出中断 ***",
    "#N/A,#N/A,#N/A",
    "----------",
    "ERROR 0x80040E14 导出失败",
    "????,????",
)
EARLIER_DIR = "_truth/earlier_deliveries"


@dataclass
class FileSpec:
    rel: str
    encoding: str  # utf-8, utf-8-sig or gbk
    crlf: bool = False
    total_row: bool = False


@dataclass
class CsvFeed:
    """Rendered records of one source, ready to be split into files."""

    source: str
    header: tuple[str, ...]
    cols: list[np.ndarray]
    files: list[FileSpec]
    file_of: np.ndarray  # file index per record
    order: np.ndarray  # sort key inside a file
    record_id: np.ndarray
    owner: np.ndarray  # customer index, -1 when the record identifies nobody
    quote_cols: tuple[int, ...] = ()
    droppable: tuple[int, ...] = ()  # columns that are missing in some months
    extra: tuple[str, tuple[str, ...]] | None = None  # extra column name and its values
    price: np.ndarray | None = None  # for total rows
    price_col: str = ""
    broken: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))


@dataclass
class Written:
    files: int = 0
    bytes: int = 0
    records: dict[str, int] = field(default_factory=dict)
    bad_rows: int = 0
    redelivered: list[str] = field(default_factory=list)


def csv_quote(values: np.ndarray) -> np.ndarray:
    return np.array(
        [('"' + v.replace('"', '""') + '"') if ("," in v or '"' in v) else v for v in values.tolist()],
        dtype=object,
    )


def write_bytes(root: Path, rel: str, data: bytes, made: set[str]) -> None:
    path = root / rel
    parent = str(path.parent)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    with open(path, "wb") as fh:
        fh.write(data)


def choose_broken(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """0: fine, 1: truncated (too few fields), 2: an unquoted comma (too many fields)."""
    out = np.zeros(n, dtype=np.int8)
    sel = np.flatnonzero(rng.random(n) < rate)
    out[sel] = rng.integers(1, 3, len(sel))
    return out


def break_row(fields: list[str], kind: int, rng: np.random.Generator) -> str:
    if kind == 1:
        k = int(rng.integers(2, max(3, len(fields) - 1)))
        return ",".join(fields[:k])
    j = len(fields) // 2
    fields = list(fields)
    fields[j] = fields[j] + "," + (fields[j] or "无")
    return ",".join(fields)


def earlier_version(lines: list[str], rng: np.random.Generator) -> list[str]:
    """A first delivery: the tail is missing and one value was wrong (corrected later)."""
    keep = max(1, int(len(lines) * 0.7))
    out = list(lines[:keep])
    i = int(rng.integers(0, len(out)))
    head, sep, rest = out[i].partition(",")
    if sep:
        fixed = digit_typo(rest, rng)
        out[i] = head + sep + (fixed if fixed != rest else rest + "0")
    return out


def write_csv_feed(
    root: Path,
    feed: CsvFeed,
    noise: Noise,
    rng: np.random.Generator,
    stats: Written,
    made: set[str],
    redeliver: set[int],
) -> np.ndarray:
    """Write every file of a feed; returns the mask of records that were written parseable."""
    n = len(feed.record_id)
    broken = feed.broken if len(feed.broken) == n else np.zeros(n, dtype=np.int8)
    cols = [csv_quote(c) if j in feed.quote_cols else c for j, c in enumerate(feed.cols)]
    lines = np.empty(n, dtype=object)
    lines[:] = [",".join(t) for t in zip(*cols, strict=True)] if n else []
    order = np.lexsort((feed.order, feed.file_of))
    f_sorted = feed.file_of[order]
    bounds = np.searchsorted(f_sorted, np.arange(len(feed.files) + 1))
    nf = len(feed.files)
    drop = np.where(rng.random(nf) < noise.missing_column_file, rng.integers(0, 1 << 20, nf), -1)
    extra = rng.random(nf) < noise.extra_column_file
    blank = rng.random(nf) < noise.blank_lines_file
    garbage = rng.random(nf) < noise.bad_row * 2
    for fi, spec in enumerate(feed.files):
        rows = order[bounds[fi] : bounds[fi + 1]]
        header = list(feed.header)
        dcol = feed.droppable[drop[fi] % len(feed.droppable)] if (drop[fi] >= 0 and feed.droppable) else -1
        add = feed.extra is not None and bool(extra[fi])
        if dcol >= 0:
            del header[dcol]
        if add:
            header.append(feed.extra[0])
        plain = dcol < 0 and not add
        body: list[str] = []
        for i in rows.tolist():
            if plain and not broken[i]:
                body.append(lines[i])
                continue
            fields = [c[i] for c in cols]
            if dcol >= 0:
                del fields[dcol]
            if add:
                vals = feed.extra[1]
                v = vals[int(rng.integers(0, len(vals)))]
                fields.append(('"' + v + '"') if "," in v else v)
            body.append(break_row(fields, int(broken[i]), rng) if broken[i] else ",".join(fields))
        if spec.total_row and len(rows) and feed.price is not None:
            tot = [""] * len(header)
            tot[0] = "合计"
            tot[1] = f"共{len(rows)}笔"
            if feed.price_col in header:
                tot[header.index(feed.price_col)] = f"{float(feed.price[rows].sum()):.2f}"
            body.append(",".join(tot))
        if garbage[fi]:
            body.insert(
                int(rng.integers(0, len(body) + 1)), GARBAGE_LINES[int(rng.integers(0, len(GARBAGE_LINES)))]
            )
        if blank[fi]:
            for _ in range(int(rng.integers(1, 3))):
                body.insert(int(rng.integers(0, len(body) + 1)), "")
        stats.bad_rows += int((broken[rows] > 0).sum()) + int(garbage[fi])
        eol = "\r\n" if spec.crlf else "\n"
        text = eol.join([",".join(header), *body]) + eol
        data = text.encode(spec.encoding)
        write_bytes(root, spec.rel, data, made)
        stats.files += 1
        stats.bytes += len(data)
        if fi in redeliver and len(body) >= 3:
            early = eol.join([",".join(header), *earlier_version(body, rng)]) + eol
            write_bytes(root, f"{EARLIER_DIR}/{spec.rel}", early.encode(spec.encoding), made)
            stats.redelivered.append(spec.rel)
    ok = broken == 0
    stats.records[feed.source] = stats.records.get(feed.source, 0) + n
    return ok


def write_jsonl_files(
    root: Path,
    rels: list[str],
    lines: list[list[str]],
    stats: Written,
    made: set[str],
    redeliver: set[int],
    rng: np.random.Generator,
) -> None:
    for fi, (rel, body) in enumerate(zip(rels, lines, strict=True)):
        text = "".join(x + "\n" for x in body)
        data = text.encode("utf-8")
        write_bytes(root, rel, data, made)
        stats.files += 1
        stats.bytes += len(data)
        if fi in redeliver and len(body) >= 3:
            early = "".join(x + "\n" for x in earlier_jsonl(body, rng))
            write_bytes(root, f"{EARLIER_DIR}/{rel}", early.encode("utf-8"), made)
            stats.redelivered.append(rel)


def earlier_jsonl(lines: list[str], rng: np.random.Generator) -> list[str]:
    keep = max(1, int(len(lines) * 0.7))
    out = list(lines[:keep])
    i = int(rng.integers(0, len(out)))
    cut = out[i].find('"caller_number"')
    if cut > 0:
        out[i] = out[i][:cut] + digit_typo(out[i][cut:], rng)
    return out


def write_parquet(root: Path, rel: str, table: pa.Table, stats: Written, made: set[str]) -> None:
    path = root / rel
    parent = str(path.parent)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    pq.write_table(
        table,
        path,
        compression="snappy",
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
    )
    stats.files += 1
    stats.bytes += path.stat().st_size


def csv_line(row: list[str]) -> str:
    line = ",".join(row)
    if line.count(",") == len(row) - 1 and '"' not in line:
        return line
    return ",".join(('"' + v.replace('"', '""') + '"') if ("," in v or '"' in v) else v for v in row)


def write_plain_csv(
    root: Path,
    rel: str,
    header: list[str],
    rows: list[list[str]],
    stats: Written,
    made: set[str],
    encoding: str = "utf-8",
) -> None:
    text = "\n".join([",".join(header)] + [csv_line(r) for r in rows])
    data = (text + "\n").encode(encoding)
    write_bytes(root, rel, data, made)
    stats.files += 1
    stats.bytes += len(data)
