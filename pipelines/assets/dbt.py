"""The dbt project as Dagster assets: models keyed by schema and grouped by folder, tests as asset checks.

Two selections, because the Python matching assets sit between them: staging and intermediate before
matching, marts after it. The mining models (group `mining`, schema marts) split the same way around the
Python mining assets: their inputs before, the tables that read the Python outputs after.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

LAYERS = ("staging", "intermediate", "marts", "mining", "dealer_network")


class LayeredTranslator(DagsterDbtTranslator):
    """Asset key = [schema, model]; group = the model's folder (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return dbt_resource_props["schema"]
        fqn = dbt_resource_props.get("fqn", [])
        return next((part for part in fqn if part in LAYERS), "dbt")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:data-platform"]


translator = LayeredTranslator(
    settings=DagsterDbtTranslatorSettings(enable_code_references=True, enable_duplicate_source_asset_keys=True)
)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="staging intermediate resource_type:seed",
    name="dbt_conform_inputs",
    dagster_dbt_translator=translator,
)
def dbt_conform_inputs(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="marts",
    name="dbt_marts",
    dagster_dbt_translator=translator,
)
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="mining",
    exclude="source:mining_python+",
    name="dbt_mining_inputs",
    dagster_dbt_translator=translator,
)
def dbt_mining_inputs(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="source:mining_python+",
    name="dbt_mining_segments",
    dagster_dbt_translator=translator,
)
def dbt_mining_segments(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="dealer_network",
    name="dbt_dealer_network",
    dagster_dbt_translator=translator,
)
def dbt_dealer_network(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
