"""The dbt project as Dagster assets: models keyed by schema and grouped by folder, tests as asset checks.

Three selections, each one `dbt build`, because Python assets sit between them: staging and intermediate
before matching; after it, the marts, the analysts' masked views, the mining inputs and the dealer
network's tables (all read the marts and nothing Python writes), so dbt's threads schedule them together;
then the mining tables that read the Python mining outputs (CLV, clusters). Every `dbt build` costs about
4 s of start-up (importing dbt and loading the parse), so a selection holds everything that can run at
that point of the graph.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtProject,
    dbt_assets,
)

from pipelines.automation import RebuildAwareDbt
from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

LAYERS = ("staging", "intermediate", "marts", "mining", "dealer_network")
ANALYST_SCHEMA = "analyst"


class LayeredTranslator(DagsterDbtTranslator):
    """Asset key = [schema, model]; group = the model's folder (staging, intermediate, marts). The analysts'
    masked views (`models/privacy`) are keyed by the names analysts query (`analyst.dim_customer`), in
    group `analyst`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        if dbt_resource_props.get("schema") == ANALYST_SCHEMA:
            return dg.AssetKey([ANALYST_SCHEMA, dbt_resource_props["alias"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return dbt_resource_props["schema"]
        if dbt_resource_props.get("schema") == ANALYST_SCHEMA:
            return ANALYST_SCHEMA
        fqn = dbt_resource_props.get("fqn", [])
        return next((part for part in fqn if part in LAYERS), "dbt")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:data-platform"]


translator = LayeredTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_code_references=True, enable_duplicate_source_asset_keys=True
    )
)


def _dbt_selection(name: str, select: str, exclude: str | None = None) -> dg.AssetsDefinition:
    """One `dbt build` step over a selection of the project."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=select,
        exclude=exclude,
        name=name,
        dagster_dbt_translator=translator,
    )
    def _build(context: dg.AssetExecutionContext, dbt: RebuildAwareDbt):
        yield from dbt.build(context)

    return _build


dbt_conform_inputs = _dbt_selection("dbt_conform_inputs", "staging intermediate resource_type:seed")
dbt_marts = _dbt_selection(
    "dbt_marts", "marts privacy mining dealer_network", exclude="source:mining_python+"
)
dbt_mining_segments = _dbt_selection("dbt_mining_segments", "source:mining_python+")
