"""Analyst-facing views (`dbt_project/models/privacy`): the marts with mobiles, ids, person names and plates
masked, in their own schema `analyst`, apart from the full master in `marts`."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.assets.dbt import LayeredTranslator, dbt_project, translator

ANALYST_SCHEMA = "analyst"


class AnalystTranslator(LayeredTranslator):
    """Keys the views by the names analysts query (`analyst.dim_customer`); group `analyst`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props.get("schema") == ANALYST_SCHEMA:
            return dg.AssetKey([ANALYST_SCHEMA, dbt_resource_props["alias"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("schema") == ANALYST_SCHEMA:
            return ANALYST_SCHEMA
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="privacy",
    name="dbt_analyst_views",
    dagster_dbt_translator=AnalystTranslator(settings=translator.settings),
)
def dbt_analyst_views(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
