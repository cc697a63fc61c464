"""Extraction: one asset per feed and registry, landing every delivered file in the `raw` schema."""

from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from pipelines.extract import feeds
from pipelines.extract import layouts as L
from pipelines.extract.landing import RAW_SCHEMA, DeliveredFile, Parser, ensure_raw_tables, land
from pipelines.extract.parquet import export_raw_parquet
from pipelines.resources import RawData, Warehouse
from pipelines.workers import worker_pool

GROUP = "raw"
KINDS = {"python", "duckdb"}
OWNERS = ["team:data-platform"]


def raw_parquet_dir(warehouse: Warehouse) -> Path:
    """Where the landed tables are exported as Parquet when the warehouse runs on Spark."""
    return Path(warehouse.spark_dir) / RAW_SCHEMA


def _key(layout: L.Layout) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, layout.table])


def _land_feed(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    raw_data: RawData,
    feed: str,
    parser: Callable[..., Parser] | Parser,
    tables: Sequence[L.Layout],
    context_columns: Callable[[DeliveredFile], dict[str, str]] | None = None,
    registry_query: str | None = None,
) -> Sequence[dg.MaterializeResult]:
    if not raw_data.path.is_dir():
        raise dg.Failure(
            f"raw folder {raw_data.path} does not exist: deliver files there or set CRM_RAW_DIR",
            allow_retries=False,
        )
    files = feeds.feed_files(raw_data.path, feed)
    with warehouse.connect() as con:
        ensure_raw_tables(con, L.LAYOUTS)
        if registry_query is not None:
            lookup = {code: value for code, value in con.execute(registry_query).fetchall()}
            parser = parser(lookup)
        with worker_pool() as pool:
            summary = land(con, feed, files, parser, tables, context_columns, pool=pool)
        totals = {
            layout.table: con.execute(f"select count(*) from {RAW_SCHEMA}.{layout.table}").fetchall()[0][0]
            for layout in tables
        }
        quarantined = con.execute(
            f"select count(*) from {RAW_SCHEMA}.quarantine where feed = ?", [feed]
        ).fetchall()[0][0]
        if warehouse.on_spark:
            export_raw_parquet(con, [layout.table for layout in tables], raw_parquet_dir(warehouse))
    context.log.info(
        f"{feed}: {summary.files_loaded} files loaded, {summary.files_unchanged} unchanged, "
        f"{summary.rows_loaded} rows loaded, {summary.rows_quarantined} quarantined"
    )
    return [
        dg.MaterializeResult(
            asset_key=_key(layout),
            metadata={
                "dagster/row_count": totals[layout.table],
                "files_seen": summary.files_seen,
                "files_loaded_this_run": summary.files_loaded,
                "files_unchanged": summary.files_unchanged,
                "files_rejected_this_run": summary.files_rejected,
                "rows_loaded_this_run": summary.rows_by_table.get(layout.table, 0),
                "rows_quarantined_this_run": summary.rows_quarantined,
                "quarantined_rows_total": quarantined,
            },
        )
        for layout in tables
    ]


def _spec(layout: L.Layout, deps: Sequence[dg.AssetKey] = ()) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=_key(layout),
        description=layout.description,
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        deps=deps,
    )


def _single(layout: L.Layout, feed: str, parser: Parser) -> dg.AssetsDefinition:
    @dg.multi_asset(name=f"raw_{layout.table}", specs=[_spec(layout)])
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse, raw_data: RawData):
        yield from _land_feed(context, warehouse, raw_data, feed, parser, [layout])

    return _asset


raw_dealers = _single(L.DEALERS, "dealers", feeds.csv_parser(L.DEALERS, L.DEALER_REGISTRY_FILE))
raw_stations = _single(L.STATIONS, "stations", feeds.csv_parser(L.STATIONS, L.STATION_REGISTRY_FILE))
raw_vehicle_registrations = _single(
    L.VEHICLE_REGISTRATIONS, "vehicle_registrations", feeds.registrations_parser
)
raw_call_center = _single(L.CALL_CENTER, "call_center", feeds.call_center_parser)
raw_web_registrations = _single(
    L.WEB_REGISTRATIONS, "web_registrations", feeds.csv_parser(L.WEB_REGISTRATIONS, L.WEB_FILE)
)

DEALER_TABLES = (L.DEALER_SALES_A, L.DEALER_SALES_B, L.DEALER_LEADS_A, L.DEALER_LEADS_B)


@dg.multi_asset(
    name="raw_dealer_files",
    specs=[_spec(layout, deps=[_key(L.DEALERS)]) for layout in DEALER_TABLES],
    description="Dealer DMS exports; each dealer's vendor (A or B) decides the layout and encoding.",
)
def raw_dealer_files(context: dg.AssetExecutionContext, warehouse: Warehouse, raw_data: RawData):
    yield from _land_feed(
        context,
        warehouse,
        raw_data,
        "dealer_files",
        feeds.dealer_parser,
        DEALER_TABLES,
        feeds.dealer_context,
        registry_query=f"select trim(dealer_code), upper(trim(dms_vendor)) from {RAW_SCHEMA}.dealers",
    )


@dg.multi_asset(
    name="raw_service_orders",
    specs=[_spec(L.SERVICE_ORDERS, deps=[_key(L.STATIONS)])],
)
def raw_service_orders(context: dg.AssetExecutionContext, warehouse: Warehouse, raw_data: RawData):
    yield from _land_feed(
        context,
        warehouse,
        raw_data,
        "service_orders",
        feeds.station_parser,
        [L.SERVICE_ORDERS],
        feeds.station_context,
        registry_query=f"select trim(station_code), lower(trim(encoding)) from {RAW_SCHEMA}.stations",
    )


raw_assets = [
    raw_dealers,
    raw_stations,
    raw_dealer_files,
    raw_vehicle_registrations,
    raw_call_center,
    raw_web_registrations,
    raw_service_orders,
]
