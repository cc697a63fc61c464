"""Great Expectations suites as blocking asset checks, and the quality summary of every run.

Each suite in `expectations/` becomes one check on its asset. A failed `critical` expectation fails the
check with severity ERROR, which stops the assets downstream in the same run; failed `warning`
expectations only warn. The check metadata names each failing expectation with sample bad values.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from pipelines.quality.suites import SuiteOutcome, drift_parameters, load_suite, suite_path, validate
from pipelines.quality.summary import QualitySummary, check_lines, checks_markdown, feed_lines, feeds_markdown
from pipelines.quality.targets import Target, all_targets
from pipelines.resources import Warehouse
from pipelines.settings import REPO_ROOT
from pipelines.tables import as_frame

CHECK_NAME = "great_expectations"
ROWS_KEY = "rows_in_table"
OWNERS = ["team:data-platform"]


def previous_row_count(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, run_id: str) -> int | None:
    """The table's row count when this check last ran in another run: the baseline for drift."""
    history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=5)
    for record in history:
        if record.run_id == run_id or record.event is None or record.event.dagster_event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        value = getattr(evaluation, "metadata", {}).get(ROWS_KEY)
        if value is not None:
            return int(value.value)
    return None


def failing_markdown(outcome: SuiteOutcome) -> str:
    rows = [
        f"| {o.severity} | `{o.label}` | {o.unexpected_count if o.unexpected_count is not None else ''} "
        f"| {o.observed or ''} | {', '.join(o.sample).replace('|', '/')} {o.error or ''} |"
        for o in sorted(outcome.failed, key=lambda o: o.severity)
    ]
    head = "| severity | expectation | unexpected | observed | sample bad values |\n|---|---|---:|---|---|\n"
    return head + "\n".join(rows) if rows else "none"


def check_result(outcome: SuiteOutcome, rows_in_table: int, previous: int | None) -> dg.AssetCheckResult:
    failed = outcome.failed
    detail = "; ".join(
        f"{o.severity} {o.label}" + (f" e.g. {', '.join(o.sample[:3])}" if o.sample else "") for o in failed
    )
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.failed_critical else dg.AssetCheckSeverity.WARN,
        description=detail or None,
        metadata={
            "suite": dg.MetadataValue.path(str(suite_path(outcome.suite).relative_to(REPO_ROOT))),
            "expectations": len(outcome.outcomes),
            "expectations_passed": len(outcome.outcomes) - len(failed),
            "failed_critical": len(outcome.failed_critical),
            "failed_warning": len(outcome.failed_warning),
            "rows_validated": outcome.rows_validated,
            ROWS_KEY: rows_in_table,
            "previous_rows_in_table": previous if previous is not None else "none",
            "failing_expectations": dg.MetadataValue.md(failing_markdown(outcome)),
            "sample_bad_values": dg.MetadataValue.json({o.label: list(o.sample) for o in failed if o.sample}),
        },
    )


def expectation_check(target: Target) -> dg.AssetChecksDefinition:
    key = dg.AssetKey(list(target.asset_key))

    @dg.asset_check(asset=key, name=CHECK_NAME, description=target.description, blocking=True)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            frame = as_frame(con.sql(target.sql).to_arrow_table())
            rows_in_table = int(
                con.execute(f"select count(*) from {'.'.join(target.asset_key)}").fetchall()[0][0]
            )
        previous = previous_row_count(context.instance, dg.AssetCheckKey(key, CHECK_NAME), context.run.run_id)
        outcome = validate(frame, load_suite(target.suite_name), drift_parameters(previous))
        return check_result(outcome, rows_in_table, previous)

    return _check


expectation_checks = [expectation_check(target) for target in all_targets()]


def quality_run_summary(upstream: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The last asset of every run: depends on all others, so it sees every check of the run."""
    deps = sorted({key for assets_def in upstream for key in assets_def.keys}, key=lambda k: k.path)

    @dg.asset(
        key=["quality", "run_summary"],
        deps=deps,
        group_name="quality",
        kinds={"python", "duckdb"},
        owners=OWNERS,
        description="Checks passed, warned and failed in this run, and rows quarantined per feed.",
    )
    def run_summary(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        evaluations = [
            entry.dagster_event.event_specific_data
            for entry in context.instance.all_logs(
                context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
            if entry.dagster_event is not None
        ]
        record = context.instance.get_run_record_by_id(context.run.run_id)
        since = record.start_time if record is not None else None
        with warehouse.connect(read_only=True) as con:
            feeds = feed_lines(con, None if since is None else datetime.fromtimestamp(since, tz=UTC))
        summary = QualitySummary(check_lines(evaluations), feeds)
        context.log.info(
            f"quality: {summary.count('passed')} checks passed, {summary.count('warning')} warnings, "
            f"{summary.count('failed')} failed; {summary.rows_quarantined} rows quarantined"
        )
        return dg.MaterializeResult(
            metadata={
                "checks_passed": summary.count("passed"),
                "checks_warning": summary.count("warning"),
                "checks_failed": summary.count("failed"),
                "rows_quarantined": summary.rows_quarantined,
                "rows_quarantined_this_run": sum(f.quarantined_this_run for f in feeds),
                "files_rejected": sum(f.files_rejected for f in feeds),
                "checks": dg.MetadataValue.md(checks_markdown(summary)),
                "quarantine_by_feed": dg.MetadataValue.md(feeds_markdown(summary)),
            }
        )

    return run_summary


def with_quality(*assets: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    """The platform's assets and, after all of them, the run summary."""
    return [*assets, quality_run_summary(list(assets))]
