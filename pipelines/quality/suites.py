"""Run one Great Expectations 1.x suite, stored as JSON in `expectations/`, on a DataFrame.

The suites are plain GX JSON; each expectation's `severity` decides what a failure means: `critical`
fails the check (and, the checks being blocking, stops downstream assets), `warning` only warns.
Suite parameters (`{"$PARAMETER": ...}`) are filled in at check time: `today` and the row-count floors
that come from the previous load.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.settings import REPO_ROOT

SUITES_DIR = REPO_ROOT / "expectations"
SAMPLE_SIZE = 5
# Row-count drift: a table that shrank below these shares of its previous load warns, or fails.
DRIFT_WARNING_SHARE = 0.9
DRIFT_CRITICAL_SHARE = 0.5


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, flattened for check metadata."""

    expectation: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    observed: str | None
    sample: tuple[str, ...]
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows_validated: int
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    @property
    def failed_critical(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.failed if o.severity == "critical")

    @property
    def failed_warning(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.failed if o.severity != "critical")

    @property
    def success(self) -> bool:
        return not self.failed


def suite_path(name: str) -> Path:
    return SUITES_DIR / f"{name}.json"


def load_suite(name: str) -> dict[str, Any]:
    return json.loads(suite_path(name).read_text(encoding="utf-8"))


def drift_parameters(previous_row_count: int | None) -> dict[str, int]:
    """Row-count floors for the suites' drift expectations; no previous load means no floor."""
    previous = previous_row_count or 0
    return {
        "min_rows_warning": math.floor(previous * DRIFT_WARNING_SHARE),
        "min_rows_critical": math.floor(previous * DRIFT_CRITICAL_SHARE),
    }


def as_python_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Temporal columns as `datetime.date` objects, so suites compare them with ISO date bounds."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name]):
            values = out[name]
            out[name] = values.dt.date.astype(object).where(values.notna(), None)
    return out


def validate(
    frame: pd.DataFrame, suite: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> SuiteOutcome:
    """Validate `frame` against `suite` in an ephemeral GX context; nothing is written to disk."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    gx_suite = context.suites.add(
        gx.ExpectationSuite(name=suite["name"], expectations=list(suite["expectations"]))
    )
    definition = gx.ValidationDefinition(name=suite["name"], data=batch, suite=gx_suite)
    result = definition.run(
        batch_parameters={"dataframe": as_python_dates(frame)},
        expectation_parameters={"today": dt.date.today().isoformat(), **(parameters or {})},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
    )
    return SuiteOutcome(
        suite=suite["name"],
        rows_validated=len(frame),
        outcomes=tuple(_outcome(r) for r in result.results),
    )


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    observed = details.get("observed_value")
    if observed is None and details.get("details", {}).get("mismatched"):
        observed = details["details"]["mismatched"]
    exception = result.exception_info or {}
    if "exception_message" not in exception:  # keyed by metric when a metric failed
        exception = next((v for v in exception.values() if isinstance(v, dict)), {})
    error = exception.get("exception_message") if exception.get("raised_exception") else None
    sample = details.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=str(getattr(config.severity, "value", config.severity) or "critical"),
        success=bool(result.success),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        observed=None if observed is None else _text(observed),
        sample=tuple(dict.fromkeys(_text(v) for v in sample)),
        error=error,
    )


def _text(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "null"
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "null" if value is None else str(value)
