"""The quality summary of one run: checks passed, warned and failed, and rows quarantined per feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import dagster as dg
import duckdb

from pipelines.extract.landing import RAW_SCHEMA


@dataclass(frozen=True)
class CheckLine:
    check: str
    status: str  # passed, warning or failed
    detail: str | None = None


@dataclass(frozen=True)
class FeedLine:
    feed: str
    files: int
    rows_loaded: int
    rows_quarantined: int
    quarantined_this_run: int
    files_rejected: int


@dataclass(frozen=True)
class QualitySummary:
    checks: tuple[CheckLine, ...]
    feeds: tuple[FeedLine, ...]

    def count(self, status: str) -> int:
        return sum(line.status == status for line in self.checks)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.feeds)


def check_lines(evaluations: Iterable[dg.AssetCheckEvaluation]) -> tuple[CheckLine, ...]:
    """One line per check evaluated in the run; a failure of severity WARN is a warning."""
    lines = []
    for evaluation in evaluations:
        if evaluation.passed:
            status = "passed"
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            status = "warning"
        else:
            status = "failed"
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        lines.append(CheckLine(name, status, None if evaluation.passed else evaluation.description))
    return tuple(sorted(lines, key=lambda line: line.check))


def feed_lines(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> tuple[FeedLine, ...]:
    """Files, rows loaded and quarantined per feed from the manifest; `since` counts this run's."""
    rows = con.execute(
        f"""
        with manifest as (
            select feed, count(*) as files, sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined,
                   count(file_rejected_reason) as rejected
            from {RAW_SCHEMA}.load_manifest group by feed
        ),
        recent as (
            select feed, count(*) filter (where line_number is not null) as quarantined_recently
            from {RAW_SCHEMA}.quarantine where ? is null or loaded_at >= ? group by feed
        )
        select manifest.feed, files, loaded, quarantined, coalesce(quarantined_recently, 0), rejected
        from manifest left join recent using (feed) order by manifest.feed
        """,
        [since, since],
    ).fetchall()
    return tuple(FeedLine(f, int(n), int(ld), int(q), int(r), int(rej)) for f, n, ld, q, r, rej in rows)


def checks_markdown(summary: QualitySummary) -> str:
    flagged = [line for line in summary.checks if line.status != "passed"]
    head = (
        f"**{summary.count('passed')} passed, {summary.count('warning')} warnings, "
        f"{summary.count('failed')} failed** of {len(summary.checks)} checks"
    )
    if not flagged:
        return head
    rows = "\n".join(
        f"| {line.status} | `{line.check}` | {(line.detail or '').replace('|', '/')} |" for line in flagged
    )
    return f"{head}\n\n| status | check | why |\n|---|---|---|\n{rows}"


def feeds_markdown(summary: QualitySummary) -> str:
    rows = "\n".join(
        f"| {f.feed} | {f.files} | {f.rows_loaded} | {f.rows_quarantined} | {f.quarantined_this_run} "
        f"| {f.files_rejected} |"
        for f in summary.feeds
    )
    return (
        "| feed | files | rows loaded | rows quarantined | quarantined this run | files rejected |\n"
        "|---|---:|---:|---:|---:|---:|\n" + rows
    )


def render_text(summary: QualitySummary) -> str:
    """The summary as `make run` prints it."""
    lines = [
        f"quality: {summary.count('passed')} checks passed, {summary.count('warning')} warnings, "
        f"{summary.count('failed')} failed",
    ]
    lines += [
        f"  {line.status.upper():<8}{line.check}: {line.detail or ''}"
        for line in summary.checks
        if line.status != "passed"
    ]
    lines.append(f"{'quarantined rows per feed':<28}{'total':>8}{'this run':>10}{'files rejected':>16}")
    lines += [
        f"  {f.feed:<26}{f.rows_quarantined:>8}{f.quarantined_this_run:>10}{f.files_rejected:>16}"
        for f in summary.feeds
    ]
    return "\n".join(lines)


def report(
    evaluations: Iterable[dg.AssetCheckEvaluation], warehouse_path: str, since: datetime | None = None
) -> str:
    """The summary of a finished run as text, read from its check evaluations and the warehouse."""
    feeds: tuple[FeedLine, ...] = ()
    try:
        with duckdb.connect(warehouse_path, read_only=True) as con:
            feeds = feed_lines(con, since)
    except duckdb.Error:
        pass  # no warehouse (or no manifest) yet: the run stopped before landing anything
    return render_text(QualitySummary(check_lines(evaluations), feeds))
