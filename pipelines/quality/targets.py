"""What each suite validates: a frame read from the warehouse for one asset.

Raw feeds are validated on the rows of their latest load (the whole table on a first load), as delivered
text plus a few typed helper columns (`_invoice_date`, `_price`, ...) so that suites can check ranges.
Marts are validated whole. Either way at most `max_rows` rows (the same sample every run) reach
pandas, which keeps a check cheap on a 1M-customer warehouse; dbt tests cover whole-table integrity.
Every frame carries `_table_rows`, the table's full row count, for the drift expectations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.extract import layouts as L
from pipelines.extract.landing import RAW_SCHEMA

MAX_ROWS = 20_000


def parsed_date(column: str) -> str:
    """A date in any of the contract's three forms, as the staging macro `parse_date` reads it."""
    value = f'trim("{column}")'
    return (
        f"cast(coalesce(try_strptime({value}, '%Y-%m-%d'), try_strptime({value}, '%Y%m%d'), "
        f"try_strptime({value}, '%Y/%m/%d')) as date)"
    )


def parsed_day(column: str) -> str:
    """The day of a local timestamp (`YYYY-MM-DD HH:MM:SS` or ISO 8601)."""
    value = f'trim("{column}")'
    return (
        f"cast(coalesce(try_strptime(replace(left({value}, 19), 'T', ' '), '%Y-%m-%d %H:%M:%S'), "
        f"try_strptime(left({value}, 10), '%Y-%m-%d')) as date)"
    )


def parsed_amount(column: str) -> str:
    return f"try_cast(regexp_replace(trim(\"{column}\"), '[,¥￥元\\s]', '', 'g') as double)"


# Typed helper columns per landing table: name -> SQL over the raw text.
HELPERS: dict[str, dict[str, str]] = {
    L.DEALERS.table: {"_opened_on": parsed_date("opened_on")},
    L.STATIONS.table: {},
    L.DEALER_SALES_A.table: {"_invoice_date": parsed_date("开票日期"), "_price": parsed_amount("开票价格")},
    L.DEALER_SALES_B.table: {"_invoice_date": parsed_date("INVOICE_DATE"), "_price": parsed_amount("PRICE")},
    L.DEALER_LEADS_A.table: {"_visit_date": parsed_date("到店日期")},
    L.DEALER_LEADS_B.table: {"_visit_date": parsed_date("VISIT_DATE")},
    L.VEHICLE_REGISTRATIONS.table: {"_delivery_date": parsed_date("delivery_date")},
    L.CALL_CENTER.table: {"_started_on": parsed_day("started_at")},
    L.WEB_REGISTRATIONS.table: {"_registered_on": parsed_day("registered_at")},
    L.SERVICE_ORDERS.table: {
        "_open_date": parsed_date("open_date"),
        "_close_date": parsed_date("close_date"),
        "_mileage_km": parsed_amount("mileage_km"),
        "_total_amount": parsed_amount("total_amount"),
    },
}
RAW_CHECK_COLUMNS = ("_record_key", "_same_id_in_other_files", "_table_rows")
MARTS = ("customer_xref", "dim_customer", "dim_vehicle", "fct_vehicle_ownership")


@dataclass(frozen=True)
class Target:
    """One suite and the asset and frame it validates."""

    asset_key: tuple[str, ...]
    sql: str
    description: str
    helper_columns: tuple[str, ...] = field(default=())

    @property
    def suite_name(self) -> str:
        return ".".join(self.asset_key)


def _sampled(select: str, max_rows: int) -> str:
    """At most `max_rows` rows: those whose contents hash lowest, the same rows on every run (DuckDB's
    seeded reservoir sample is not, with more than one thread)."""
    return f"select * from ({select}) as frame order by hash(columns(*)) limit {max_rows}"


def raw_target(layout: L.Layout, max_rows: int = MAX_ROWS) -> Target:
    table = f"{RAW_SCHEMA}.{layout.table}"
    helpers = HELPERS[layout.table]
    helper_sql = "".join(f",\n    {sql} as {name}" for name, sql in helpers.items())
    latest = f"select * from landed where _loaded_at = (select max(_loaded_at) from {table})"
    sql = f"""
with landed as (
    select *, {layout.record_key_sql()} as _record_key from {table}
),
latest as materialized (
    {_sampled(latest, max_rows)}
),
spread as (
    select _record_key, list(distinct _file_path order by _file_path) as files
    from landed
    where _record_key in (select _record_key from latest)
    group by _record_key having count(distinct _file_path) > 1
)
select
    latest.*{helper_sql},
    case when spread.files is not null then
        latest._record_key || ' also in '
        || array_to_string(list_filter(spread.files, lambda f: f <> latest._file_path), ', ')
    end as _same_id_in_other_files,
    (select count(*) from {table}) as _table_rows
from latest
left join spread on latest._record_key = spread._record_key
"""
    return Target(
        asset_key=(RAW_SCHEMA, layout.table),
        sql=sql,
        description=(
            f"Great Expectations suite `{RAW_SCHEMA}.{layout.table}` on the rows of the latest load "
            f"(at most {max_rows:,} sampled), with typed helper columns {', '.join(helpers) or 'none'}."
        ),
        helper_columns=(*helpers, *RAW_CHECK_COLUMNS),
    )


def mart_target(mart: str, max_rows: int = MAX_ROWS) -> Target:
    table = f"marts.{mart}"
    select = f"select *, (select count(*) from {table}) as _table_rows from {table}"
    return Target(
        asset_key=("marts", mart),
        sql=_sampled(select, max_rows),
        description=f"Great Expectations suite `marts.{mart}` on the mart (at most {max_rows:,} rows).",
        helper_columns=("_table_rows",),
    )


def all_targets(max_rows: int = MAX_ROWS) -> list[Target]:
    return [raw_target(layout, max_rows) for layout in L.LAYOUTS] + [mart_target(m, max_rows) for m in MARTS]
