"""How the platform runs itself, applied centrally: retries, automation conditions, freshness policies
and the explicit full-rebuild job.

- Raw assets are started by the raw-folder sensor and the daily schedule (`pipelines/sensors.py`,
  `pipelines/schedules.py`); everything downstream follows its parents (`AutomationCondition.eager()`).
- Marts and the analysts' copy carry a freshness policy: the daily run keeps them under a day old.
- Runs of the jobs retry a failed step with exponential backoff (a DuckDB file lock held by another
  process is the usual transient failure).
- `full_rebuild` rebuilds every incremental dbt model from scratch (`--full-refresh`); its runs carry
  the `crm/full_rebuild` tag, which other incremental assets may read as well.
"""

import hashlib
import importlib.metadata
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from pipelines.observability import dbt_docs_link
from pipelines.publish import build_published_warehouse

MAIN_JOB = "materialize_all"
FULL_REBUILD_JOB = "full_rebuild"
FULL_REBUILD_TAG = "crm/full_rebuild"
EVENT_DRIVEN_LAYERS = ("raw",)
FRESH_LAYERS = ("marts", "published")
BUILD_LAYERS = ("raw", "staging", "intermediate")

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
FOLLOW_PARENTS = dg.AutomationCondition.eager()
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=30), warn_window=timedelta(hours=25)
)
# `make run` and tests execute in-process and fail fast; the retry policy is for runs nobody watches.
PARTIAL_PARSE = "partial_parse.msgpack"
NO_RETRIES_RUN_CONFIG: Mapping[str, Any] = {"execution": {"config": {"retries": {"disabled": {}}}}}
# dbt's unit tests read fixtures, not the warehouse: they run in CI (tests/test_pipeline.py), not nightly.
BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")


def automate(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Automation condition, freshness policy and dbt-docs link for one asset, by its layer."""
    layer = spec.key.path[0]
    if layer not in EVENT_DRIVEN_LAYERS:
        spec = spec.replace_attributes(automation_condition=FOLLOW_PARENTS)
    if layer in FRESH_LAYERS:
        spec = spec.replace_attributes(freshness_policy=DAILY_FRESHNESS)
    if spec.metadata and "dagster_dbt/unique_id" in spec.metadata:
        spec = dbt_docs_link(spec)
    return spec


def with_automation(assets: Iterable[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    return [
        asset
        for asset in dg.map_asset_specs(automate, list(assets))
        if isinstance(asset, dg.AssetsDefinition)
    ]


def is_full_rebuild(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REBUILD_TAG) == "true"


class RebuildAwareDbt(DbtCliResource):
    """The dbt CLI, adding `--full-refresh` to `build` and `run` inside a run tagged `crm/full_rebuild`,
    so incremental models are rebuilt from scratch by the `full_rebuild` job and updated otherwise."""

    def cli(self, args: Sequence[str], *, context: Any = None, **kwargs: Any) -> Any:
        if (
            context is not None
            and is_full_rebuild(context)
            and args
            and args[0] in ("build", "run")
            and "--full-refresh" not in args
        ):
            args = [*args, "--full-refresh"]
        return super().cli(args, context=context, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        """dbt-core's version from this environment's package metadata when the executable is this
        environment's dbt (`settings.dbt_executable`): dagster-dbt runs `dbt --version` for it instead, 3 to
        5 s once in every run."""
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            return version.parse(importlib.metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """No in-process dbt adapter: dagster-dbt builds one on every `cli` call (2.3 s the first time, 1.2 s
        after) only to fetch row counts and column metadata, which no asset here asks for."""
        return None

    def build(self, context: dg.AssetExecutionContext) -> Iterator[Any]:
        """`dbt build` of the asset's selection without unit tests, starting from the last parse made under
        the same settings.

        dbt reuses `partial_parse.msgpack` only when the profile it was parsed under is unchanged, and the
        profile holds the warehouse path, so the project's own `target/partial_parse.msgpack` (parsed at
        set-up) is rejected by every run on another warehouse: each invocation would parse the project
        again (about 3 s). The parse is kept per setting of the `CRM_` environment instead; dbt still
        checks every file's hash, so a stale copy only costs a full parse."""
        target_path = self._get_unique_target_path(context=context)
        if not target_path.is_absolute():
            target_path = Path(self.project_dir) / target_path
        kept = target_path.parent / f"partial_parse-{_settings_key(self.target)}.msgpack"
        if kept.is_file():
            target_path.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, target_path / PARTIAL_PARSE)
        invocation = self.cli(list(BUILD_ARGS), context=context, target_path=target_path)
        yield from invocation.stream()
        parsed = invocation.target_path / PARTIAL_PARSE
        if parsed.is_file():
            staged = kept.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(parsed, staged)
            os.replace(staged, kept)


def _settings_key(target: str | None) -> str:
    """What a dbt parse depends on besides the project's files: the target and the platform's settings."""
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith("CRM_"))
    return hashlib.sha256(repr((target, settings)).encode()).hexdigest()[:16]


def job(name: str, description: str, tags: Mapping[str, str] | None = None) -> Any:
    """A job over every asset, in-process (DuckDB takes one writer at a time), retrying transient failures."""
    return dg.define_asset_job(
        name=name,
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,
        op_retry_policy=TRANSIENT_RETRY,
        tags=tags,
        description=description,
    )


full_rebuild = job(
    FULL_REBUILD_JOB,
    "Every asset from scratch: incremental dbt models are rebuilt with --full-refresh. Raw files that are "
    "already landed and unchanged are not read again (their rows are the same either way).",
    tags={FULL_REBUILD_TAG: "true"},
)

# Starts runs for assets whose parents were updated outside the main job (a partial run from the UI).
automation_sensor = dg.AutomationConditionSensorDefinition(
    "follow_parents",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates each asset's AutomationCondition: downstream assets follow their parents.",
)


def with_operations(*assets: dg.AssetsDefinition, publish: bool = True) -> Sequence[dg.AssetsDefinition]:
    """The platform's assets plus the analysts' published copy downstream of every mart (and every other
    asset past the intermediate layer), all with their automation applied. The copy is a DuckDB file:
    `publish=False` (the Spark engine, whose marts analysts query on Spark) leaves it out."""
    if not publish:
        return with_automation(assets)
    upstream = [key for asset in assets for key in asset.keys if key.path[0] not in BUILD_LAYERS]
    return with_automation([*assets, build_published_warehouse(upstream)])
