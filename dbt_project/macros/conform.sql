{#- Small typing macros shared by the staging models; engine-specific SQL goes through adapter.dispatch. -#}

{% macro clean(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- A date in any of the contract's forms: YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD. -#}
{% macro parse_date(expr) -%}
    {{ return(adapter.dispatch('parse_date', 'crm')(expr)) }}
{%- endmacro %}

{% macro default__parse_date(expr) -%}
    cast(coalesce(
        try_strptime(trim({{ expr }}), '%Y-%m-%d'),
        try_strptime(trim({{ expr }}), '%Y%m%d'),
        try_strptime(trim({{ expr }}), '%Y/%m/%d')
    ) as date)
{%- endmacro %}

{#- A local (+08:00) timestamp from `YYYY-MM-DD HH:MM:SS` or ISO 8601 with offset; kept as China wall-clock time. -#}
{% macro parse_local_timestamp(expr) -%}
    {{ return(adapter.dispatch('parse_local_timestamp', 'crm')(expr)) }}
{%- endmacro %}

{% macro spark__parse_date(expr) -%}
    coalesce(
        to_date(trim({{ expr }}), 'yyyy-MM-dd'),
        to_date(trim({{ expr }}), 'yyyyMMdd'),
        to_date(trim({{ expr }}), 'yyyy/MM/dd')
    )
{%- endmacro %}

{% macro default__parse_local_timestamp(expr) -%}
    coalesce(
        try_strptime(replace(left(trim({{ expr }}), 19), 'T', ' '), '%Y-%m-%d %H:%M:%S'),
        try_strptime(left(trim({{ expr }}), 10), '%Y-%m-%d')
    )
{%- endmacro %}

{% macro spark__parse_local_timestamp(expr) -%}
    coalesce(
        to_timestamp(replace(left(trim({{ expr }}), 19), 'T', ' '), 'yyyy-MM-dd HH:mm:ss'),
        to_timestamp(left(trim({{ expr }}), 10), 'yyyy-MM-dd')
    )
{%- endmacro %}

{#- An amount such as `1,234.50` or `¥1234`; null where it is not a number. -#}
{% macro parse_amount(expr) -%}
    {{ return(adapter.dispatch('parse_amount', 'crm')(expr)) }}
{%- endmacro %}

{% macro default__parse_amount(expr) -%}
    try_cast(regexp_replace(trim({{ expr }}), '[,¥￥元\s]', '', 'g') as decimal(14, 2))
{%- endmacro %}

{#- Spark replaces every match without a flag, and reads a backslash in a literal as an escape. -#}
{% macro spark__parse_amount(expr) -%}
    try_cast(regexp_replace(trim({{ expr }}), '[,¥￥元\\s]', '') as decimal(14, 2))
{%- endmacro %}

{% macro parse_bool(expr) -%}
    case
        when lower(trim({{ expr }})) in ('是', 'y', 'yes', 'true', '1', 't') then true
        when lower(trim({{ expr }})) in ('否', 'n', 'no', 'false', '0', 'f') then false
    end
{%- endmacro %}

{#- Newest delivery wins when the same record id arrives in several files; older copies stay visible. -#}
{% macro is_latest_version(record_id) -%}
    row_number() over (
        partition by {{ record_id }} order by _delivered_at desc, _file_path desc, _row_number desc
    ) = 1
{%- endmacro %}

{#- Survivorship: one value per customer from the records allowed by `where`, first by `order_by`,
    with the source record it came from. -#}
{% macro golden_attribute(name, expr, where, order_by, records='customer_records') -%}
    select
        customer_id,
        {{ expr }} as {{ name }},
        source_system as {{ name }}_source_system,
        source_record_id as {{ name }}_source_record_id
    from (
        select *, row_number() over (partition by customer_id order by {{ order_by }}) as _pick
        from {{ records }}
        where {{ where }}
    ) as candidates
    where _pick = 1
{%- endmacro %}
