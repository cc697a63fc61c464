{#- What differs between the engines beyond dbt's cross-database macros: how incremental models are
    materialised, the SHA-256 function, and where Spark finds the landed raw tables. -#}

{#- Staging, dim_customer and customer_features are incremental on DuckDB (they delete and insert what
    changed). Spark's Parquet tables cannot delete rows, so there they are rebuilt whole on every run: the
    same rows either way. -#}
{% macro incremental_materialized() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{#- Hex SHA-256 of a text expression. -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'crm')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{% macro spark__sha256_hex(expr) -%}
    sha2({{ expr }}, 256)
{%- endmacro %}

{#- on-run-start: the `raw` sources as tables. DuckDB holds them already (the landing store). On Spark the
    raw assets export each landed table as Parquet (`$CRM_SPARK_DIR/raw/<table>/`, see
    pipelines/extract/parquet.py) and each source becomes a table over its folder. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'crm')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set folder = env_var('CRM_SPARK_DIR', '../data/warehouse_spark') ~ '/raw' -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for source in graph.sources.values() if source.source_name == 'raw' -%}
            {%- do run_query(
                'create table if not exists raw.' ~ source.name
                ~ " using parquet location '" ~ folder ~ '/' ~ source.name ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the whole of `expr` matches the regular expression `pattern`. -#}
{% macro full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'crm')(expr, pattern)) }}
{%- endmacro %}

{% macro default__full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark reads a backslash in a literal as an escape: each is doubled. -#}
{% macro spark__full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern | replace('\\', '\\\\') }})$')
{%- endmacro %}

{#- dbt.dateadd on Spark (dbt_project.yml puts this project first in dbt's dispatch order): dbt-spark's
    own goes through unix seconds, which is null for timestamps without time zone, the type that stands
    for DuckDB's `timestamp` here. Like DuckDB's date + interval, the result is a timestamp. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, cast({{ interval }} as int), {{ from_date_or_timestamp }})
{%- endmacro %}
