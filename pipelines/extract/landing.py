"""Land delivered files in the `raw` schema: only new or changed files are read, each file replaces its
earlier delivery in one transaction, and every data row ends up loaded or quarantined.

A file rejected as a whole is read again on every run, so that fixing a registry (a dealer added, a
station's encoding corrected) lands it without a re-delivery. Records erased on request
(`raw.erased_records`, see `pipelines.privacy`) never land again: a re-delivered row of one is quarantined
as `erased on request`, without its text."""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.extract.layouts import TRUTH_DIR, Layout
from pipelines.extract.parsing import ParsedFile, Rejected, Row

RAW_SCHEMA = "raw"
META_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("_file_path", pa.string()),
    ("_file_hash", pa.string()),
    ("_delivered_at", pa.timestamp("us", tz="UTC")),
    ("_loaded_at", pa.timestamp("us", tz="UTC")),
    ("_row_number", pa.int64()),
    ("_extra_columns", pa.string()),
)
META_SQL_TYPES = {
    "_file_path": "varchar",
    "_file_hash": "varchar",
    "_delivered_at": "timestamptz",
    "_loaded_at": "timestamptz",
    "_row_number": "bigint",
    "_extra_columns": "varchar",
}
QUARANTINE_DDL = f"""
create table if not exists {RAW_SCHEMA}.quarantine (
    file_path varchar not null,
    line_number bigint,
    reason varchar not null,
    raw_text varchar,
    feed varchar not null,
    file_hash varchar,
    loaded_at timestamptz not null
)"""
MANIFEST_DDL = f"""
create table if not exists {RAW_SCHEMA}.load_manifest (
    file_path varchar primary key,
    feed varchar not null,
    file_hash varchar not null,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    delivered_at timestamptz not null,
    loaded_at timestamptz not null,
    landed_in varchar,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    file_rejected_reason varchar
)"""
ERASED_DDL = f"""
create table if not exists {RAW_SCHEMA}.erased_records (
    source_system varchar not null,
    record_hash varchar not null,
    erasure_id varchar not null,
    erased_at timestamptz not null
)"""
ERASED_REASON = "erased on request"
PREPARED_AHEAD = 2  # batches a pool prepares beyond the one being written
# DuckDB checkpoints every 16 MiB of WAL by default: a 1M-customer delivery's many small commits then
# spent 19 of 45 s of the dealer files' landing in checkpoints; the connection's close checkpoints the rest.
LANDING_CHECKPOINT_THRESHOLD = "256MiB"


def record_hash(source_system: str, source_record_id: str) -> str:
    """How the erasure register remembers a record without keeping its id: SHA-256 of system and id."""
    return hashlib.sha256(f"{source_system}\x1f{source_record_id}".encode()).hexdigest()


@dataclass(frozen=True)
class DeliveredFile:
    """A file as found under the raw folder; `rel_path` uses forward slashes."""

    rel_path: str
    abs_path: Path
    size: int
    mtime_ns: int

    @property
    def delivered_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=UTC)


def discover(
    raw_dir: Path, under: str = "", skip: frozenset[str] = frozenset(), recursive: bool = True
) -> list[DeliveredFile]:
    """Every delivered file under `raw_dir`, sorted by path; `_truth/` and hidden files are never read.

    `under` walks only that folder of `raw_dir` (a relative path; nothing when it is not a folder or passes
    through a link, which the whole walk would not follow either); folders in `skip` (relative paths) are
    left out; with `recursive` false only the files directly in the starting folder are found.
    """
    start = _walk_start(raw_dir, under)
    if start is None:
        return []
    prefix = len(str(raw_dir)) + len(os.sep)
    found: list[DeliveredFile] = []
    stack = [start]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not recursive:
                        continue
                    truth = folder == raw_dir and entry.name == TRUTH_DIR
                    if not truth and entry.path[prefix:].replace(os.sep, "/") not in skip:
                        stack.append(Path(entry.path))
                elif entry.is_file():
                    st = entry.stat()
                    rel = entry.path[prefix:].replace(os.sep, "/")
                    found.append(DeliveredFile(rel, Path(entry.path), st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: f.rel_path)


def _walk_start(raw_dir: Path, under: str) -> Path | None:
    folder = raw_dir
    for part in (p for p in under.split("/") if p):
        folder = folder / part
        if part.startswith(".") or folder.is_symlink() or not folder.is_dir():
            return None
    return folder


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, layouts: Iterable[Layout]) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(QUARANTINE_DDL)
    con.execute(MANIFEST_DDL)
    con.execute(ERASED_DDL)
    for layout in layouts:
        cols = [f'"{c}" varchar' for c in (*layout.columns, *layout.context)]
        cols += [f'"{name}" {sql}' for name, sql in META_SQL_TYPES.items()]
        con.execute(f"create table if not exists {RAW_SCHEMA}.{layout.table} ({', '.join(cols)})")


@dataclass
class LandingSummary:
    """What one landing pass did, for asset metadata."""

    files_seen: int = 0
    files_unchanged: int = 0
    files_loaded: int = 0
    files_rejected: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)

    def add(self, other: LandingSummary) -> None:
        """Count another pass's files and rows into this one (`files_seen` is set once, by `land`)."""
        self.files_unchanged += other.files_unchanged
        self.files_loaded += other.files_loaded
        self.files_rejected += other.files_rejected
        self.rows_loaded += other.rows_loaded
        self.rows_quarantined += other.rows_quarantined
        for table, rows in other.rows_by_table.items():
            self.rows_by_table[table] = self.rows_by_table.get(table, 0) + rows


Parser = Callable[[DeliveredFile, bytes], ParsedFile]
# (file_hash, size_bytes, mtime_ns, file_rejected_reason) of a file's last landing
Previous = tuple[str, int, int, str | None]


@dataclass(frozen=True)
class _FileRows:
    """One file's parsed rows and the columns that are the same for all of them (file metadata, context)."""

    rows: list[Row]
    constants: dict[str, object]


@dataclass(frozen=True)
class _Job:
    """What preparing a batch needs besides its files; picklable, so batches can be prepared in workers."""

    feed: str
    parse: Parser
    schemas: dict[str, pa.Schema]
    loaded_at: datetime
    context_columns: Callable[[DeliveredFile], dict[str, str]] | None
    erased: dict[str, frozenset[str]]


@dataclass
class _Batch:
    """A batch of files read, parsed and laid out as the Arrow tables one transaction writes."""

    paths: list[str] = field(default_factory=list)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    quarantine: list[dict] = field(default_factory=list)
    manifest: list[dict] = field(default_factory=list)
    summary: LandingSummary = field(default_factory=LandingSummary)
    touched_only: list[tuple[int, int, str]] = field(default_factory=list)


def land(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    files: Sequence[DeliveredFile],
    parse: Parser,
    tables: Sequence[Layout],
    context_columns: Callable[[DeliveredFile], dict[str, str]] | None = None,
    batch_size: int = 2000,
    pool: Executor | None = None,
    batch_bytes: int = 8 * 2**20,
) -> LandingSummary:
    """Load new and re-delivered files of one feed; unchanged files (same size, mtime or hash) are skipped.

    Each batch of files (at most `batch_size` files and `batch_bytes` bytes) is written in one transaction
    together with its manifest rows, so a run killed half way leaves whole files behind and the next run
    picks up where it stopped. With a `pool` (`pipelines.workers.worker_pool`) and more than one batch,
    batches are read and parsed in the workers while this process writes the ones before them, in delivery
    order; `parse` and `context_columns` must then be picklable (module-level functions or partials).
    """
    ensure_raw_tables(con, tables)
    known: dict[str, Previous] = {
        path: (digest, size, mtime, rejected)
        for path, digest, size, mtime, rejected in con.execute(
            f"select file_path, file_hash, size_bytes, mtime_ns, file_rejected_reason "
            f"from {RAW_SCHEMA}.load_manifest"
        ).fetchall()
    }
    summary = LandingSummary(files_seen=len(files))
    pending: list[tuple[DeliveredFile, Previous | None]] = []
    for delivered in files:
        previous = known.get(delivered.rel_path)
        unchanged = previous is not None and previous[1:3] == (delivered.size, delivered.mtime_ns)
        if unchanged and previous[3] is None:
            summary.files_unchanged += 1
        else:
            pending.append((delivered, previous))
    job = _Job(
        feed=feed,
        parse=parse,
        schemas={layout.table: _table_schema(con, layout.table) for layout in tables},
        loaded_at=datetime.now(tz=UTC),
        context_columns=context_columns,
        erased=_erased_hashes(con, tables),
    )
    batches = _batches(pending, batch_size, batch_bytes)
    touched_only: list[tuple[int, int, str]] = []
    with _checkpoint_threshold(con, LANDING_CHECKPOINT_THRESHOLD):
        for batch in _prepared(batches, job, pool if len(batches) > 1 else None):
            _write_batch(con, batch, tables)
            summary.add(batch.summary)
            touched_only += batch.touched_only
    if touched_only:
        con.executemany(
            f"update {RAW_SCHEMA}.load_manifest set size_bytes = ?, mtime_ns = ? where file_path = ?",
            touched_only,
        )
    return summary


def _batches(
    pending: Sequence[tuple[DeliveredFile, Previous | None]], max_files: int, max_bytes: int
) -> list[list[tuple[DeliveredFile, Previous | None]]]:
    """Consecutive files in batches of at most `max_files` files and, unless one file is larger, `max_bytes`
    bytes: a feed of few large files (call logs, registrations) is then also parsed in several workers."""
    batches: list[list[tuple[DeliveredFile, Previous | None]]] = []
    size = 0
    for item in pending:
        if not batches or len(batches[-1]) >= max_files or size + item[0].size > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item[0].size
    return batches


@contextmanager
def _checkpoint_threshold(con: duckdb.DuckDBPyConnection, threshold: str) -> Iterator[None]:
    """DuckDB's automatic checkpoint threshold raised to `threshold` while landing, then put back."""
    ((before,),) = con.execute("select current_setting('checkpoint_threshold')").fetchall()
    con.execute(f"set checkpoint_threshold = '{threshold}'")
    try:
        yield
    finally:
        con.execute(f"set checkpoint_threshold = '{before}'")


def _prepared(
    batches: Sequence[Sequence[tuple[DeliveredFile, Previous | None]]], job: _Job, pool: Executor | None
) -> Iterator[_Batch]:
    """The batches prepared in order: here, or in the pool's workers with a few batches ahead of the writer
    (so that parsed batches never pile up in memory)."""
    if pool is None:
        yield from (_prepare(files, job) for files in batches)
        return
    ahead: deque[Future[_Batch]] = deque()
    for files in batches:
        ahead.append(pool.submit(_prepare, files, job))
        if len(ahead) > PREPARED_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _prepare(files: Sequence[tuple[DeliveredFile, Previous | None]], job: _Job) -> _Batch:
    """Read, hash and parse a batch of files and lay their rows out as Arrow tables."""
    batch = _Batch()
    rows: dict[str, list[_FileRows]] = {}
    for delivered, previous in files:
        data = delivered.abs_path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if previous is not None and previous[0] == digest:
            # Same content: only a rejected file is read again, its registry may have changed since.
            was_rejected = previous[3] is not None
            parsed = job.parse(delivered, data) if was_rejected else None
            if parsed is None or parsed.file_error == previous[3]:
                batch.summary.files_unchanged += 1
                if previous[1:3] != (delivered.size, delivered.mtime_ns):
                    batch.touched_only.append((len(data), delivered.mtime_ns, delivered.rel_path))
                continue
        else:
            parsed = job.parse(delivered, data)
        _add_to_batch(batch, rows, job, delivered, digest, parsed)
    batch.tables = {table: _columnar(file_rows, job.schemas[table]) for table, file_rows in rows.items()}
    return batch


def _add_to_batch(
    batch: _Batch,
    rows: dict[str, list[_FileRows]],
    job: _Job,
    delivered: DeliveredFile,
    digest: str,
    parsed: ParsedFile,
) -> None:
    summary = batch.summary
    meta = {
        "_file_path": delivered.rel_path,
        "_file_hash": digest,
        "_delivered_at": delivered.delivered_at,
        "_loaded_at": job.loaded_at,
    }
    if parsed.layout is not None and parsed.rows:
        context = job.context_columns(delivered) if job.context_columns else {}
        parsed = _without_erased(parsed, job.erased.get(parsed.layout.source_system or ""), context)
        if parsed.rows:  # none are left when every row was erased
            rows.setdefault(parsed.layout.table, []).append(_FileRows(parsed.rows, {**meta, **context}))
        summary.rows_by_table[parsed.layout.table] = summary.rows_by_table.get(parsed.layout.table, 0) + len(
            parsed.rows
        )
    for rejected in parsed.rejected:
        batch.quarantine.append(
            {
                "file_path": delivered.rel_path,
                "line_number": rejected.line_number,
                "reason": rejected.reason,
                "raw_text": rejected.raw_text,
                "feed": job.feed,
                "file_hash": digest,
                "loaded_at": job.loaded_at,
            }
        )
    batch.paths.append(delivered.rel_path)
    batch.manifest.append(
        {
            "file_path": delivered.rel_path,
            "feed": job.feed,
            "file_hash": digest,
            "size_bytes": delivered.size,
            "mtime_ns": delivered.mtime_ns,
            "delivered_at": delivered.delivered_at,
            "loaded_at": job.loaded_at,
            "landed_in": parsed.layout.table if parsed.layout else None,
            "rows_loaded": len(parsed.rows),
            "rows_quarantined": 0 if parsed.file_error else len(parsed.rejected),
            "file_rejected_reason": parsed.file_error,
        }
    )
    summary.files_loaded += 1
    summary.files_rejected += parsed.file_error is not None
    summary.rows_loaded += len(parsed.rows)
    summary.rows_quarantined += len(parsed.rejected)


def _erased_hashes(con: duckdb.DuckDBPyConnection, tables: Sequence[Layout]) -> dict[str, frozenset[str]]:
    systems = sorted({t.source_system for t in tables if t.source_system})
    if not systems:
        return {}
    rows = con.execute(
        f"select source_system, record_hash from {RAW_SCHEMA}.erased_records "
        f"where source_system in ({', '.join('?' for _ in systems)})",
        systems,
    ).fetchall()
    found: dict[str, set[str]] = {}
    for system, digest in rows:
        found.setdefault(system, set()).add(digest)
    return {system: frozenset(hashes) for system, hashes in found.items()}


def _without_erased(parsed: ParsedFile, erased: frozenset[str] | None, context: dict[str, str]) -> ParsedFile:
    """Rows of erased records move to the rejected rows, without their text."""
    layout = parsed.layout
    if not erased or layout is None or layout.source_system is None:
        return parsed
    kept, gone = [], []
    for row in parsed.rows:
        if record_hash(layout.source_system, layout.record_key({**row, **context})) in erased:
            gone.append(Rejected(int(row["_row_number"]), ERASED_REASON, None))
        else:
            kept.append(row)
    if not gone:
        return parsed
    return ParsedFile(layout=layout, rows=kept, rejected=sorted([*parsed.rejected, *gone], key=_line))


def _line(rejected: Rejected) -> int:
    return rejected.line_number or 0


def _table_schema(con: duckdb.DuckDBPyConnection, table: str) -> pa.Schema:
    names = [r[0] for r in con.execute(f"select * from {RAW_SCHEMA}.{table} limit 0").description]
    meta = dict(META_COLUMNS)
    return pa.schema([(name, meta.get(name, pa.string())) for name in names])


def _write_batch(con: duckdb.DuckDBPyConnection, batch: _Batch, tables: Sequence[Layout]) -> None:
    if not batch.paths:
        return
    paths = pa.table({"file_path": pa.array(batch.paths, pa.string())})
    con.execute("begin transaction")
    try:
        con.register("_landing_paths", paths)
        for layout in tables:
            con.execute(
                f"delete from {RAW_SCHEMA}.{layout.table} "
                "where _file_path in (select file_path from _landing_paths)"
            )
        for name in ("quarantine", "load_manifest"):
            con.execute(
                f"delete from {RAW_SCHEMA}.{name} where file_path in (select file_path from _landing_paths)"
            )
        for table, data in batch.tables.items():
            _insert(con, table, data)
        if batch.quarantine:
            _insert(con, "quarantine", pa.Table.from_pylist(batch.quarantine))
        _insert(con, "load_manifest", pa.Table.from_pylist(batch.manifest))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_landing_paths")


def _columnar(files: Sequence[_FileRows], schema: pa.Schema) -> pa.Table:
    """The rows of many files as one Arrow table: each file's rows are transposed by `itemgetter` and `zip`
    (they share their keys), its constants repeated, and columns the file lacks are null."""
    columns: dict[str, list] = {name: [] for name in schema.names}
    landed = 0
    for file in files:
        keys = tuple(file.rows[0])
        get = itemgetter(*keys)
        rows = map(get, file.rows) if len(keys) > 1 else ((get(row),) for row in file.rows)
        for key, values in zip(keys, zip(*rows, strict=True), strict=True):
            columns[key].extend(values)
        landed += len(file.rows)
        for name, values in columns.items():
            if len(values) < landed:
                values.extend(repeat(file.constants.get(name), landed - len(values)))
    return pa.Table.from_pydict(columns, schema=schema)


def _insert(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    con.register("_landing_batch", data)
    try:
        con.execute(f"insert into {RAW_SCHEMA}.{table} by name select * from _landing_batch")
    finally:
        con.unregister("_landing_batch")
