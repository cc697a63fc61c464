{#- Marts rebuilt by customer (DuckDB): dim_customer and customer_features. Each row depends on one
    customer's inputs only, so `intermediate.<model>_inputs` keeps, for every customer, the number of
    inputs and an order-free hash of them as of the last build, and whether that build rewrote the
    customer. A build compares them with the current inputs and rewrites the customers whose inputs
    changed (new, corrected, gone, moved to or from another customer); without recorded inputs it
    rewrites every row. The inputs are recorded inside the model's transaction, so a failed build
    leaves the last ones. -#}

{% macro customer_inputs(suffix='') -%}
    {{ return(api.Relation.create(database=this.database, schema='intermediate', identifier=this.identifier ~ '_inputs' ~ suffix)) }}
{%- endmacro %}

{#- `full` (a new table, and in unit tests), `all` (every row rewritten) or `changed` (the customers whose
    inputs changed). -#}
{% macro customer_rebuild_mode() -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return('full') }}
    {%- endif -%}
    {%- set recorded = adapter.get_relation(
        database=this.database, schema='intermediate', identifier=this.identifier ~ '_inputs'
    ) -%}
    {{ return('all' if recorded is none else 'changed') }}
{%- endmacro %}

{#- The customers whose rows this build rewrites (after the pre-hook). -#}
{% macro rebuilt_customers() -%}
    select customer_id from {{ customer_inputs('__next') }} where rebuilt
{%- endmacro %}

{#- Pre-hook: this build's inputs, `inputs` a query of (customer_id, n_inputs, inputs_digest), beside the
    recorded ones; each customer flagged `rebuilt` when its rows are rewritten. -#}
{% macro stage_customer_inputs(inputs, mode) -%}
    {%- if target.type != 'spark' %}
    create schema if not exists {{ customer_inputs().schema }};
    create or replace table {{ customer_inputs('__next') }} as
    with current_inputs as (
        {{ inputs }}
    )
    {%- if mode == 'changed' %}
    select
        coalesce(current_inputs.customer_id, recorded.customer_id) as customer_id,
        current_inputs.n_inputs,
        current_inputs.inputs_digest,
        current_inputs.n_inputs is distinct from recorded.n_inputs
            or current_inputs.inputs_digest is distinct from recorded.inputs_digest as rebuilt
    from current_inputs
    full outer join {{ customer_inputs() }} as recorded on current_inputs.customer_id = recorded.customer_id
    {%- else %}
    select *, true as rebuilt from current_inputs
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook: delete the rows this build writes again; `also` a condition on other rows to rewrite. -#}
{% macro delete_rebuilt_customers(mode, also='') -%}
    {%- if mode == 'all' %}
    delete from {{ this }}
    {%- elif mode == 'changed' %}
    delete from {{ this }} where customer_id in ({{ rebuilt_customers() }}) {{ also }}
    {%- endif %}
{%- endmacro %}

{#- Post-hook: this build's inputs become the recorded ones. -#}
{% macro record_customer_inputs() -%}
    {%- if target.type != 'spark' %}
    create or replace table {{ customer_inputs() }} as
    select customer_id, n_inputs, inputs_digest, rebuilt
    from {{ customer_inputs('__next') }}
    where n_inputs is not null;
    drop table {{ customer_inputs('__next') }}
    {%- endif %}
{%- endmacro %}

{#- dim_customer's inputs: the customer's records, as conformed. -#}
{% macro dim_customer_inputs() -%}
    select
        xref.customer_id,
        count(*) as n_inputs,
        sum(hash(xref.source_system, xref.source_record_id, xref.customer_type, conformed.record_fingerprint))
            as inputs_digest
    from {{ ref('customer_xref') }} as xref
    inner join {{ source('matching', 'int_party_records_conformed') }} as conformed
        on xref.source_system = conformed.source_system
        and xref.source_record_id = conformed.source_record_id
    group by xref.customer_id
{%- endmacro %}

{#- customer_features' inputs: the customer's events. Its rows also depend on the mining as-of date: a
    build in the as-of date's month also rewrites, for every customer, the snapshots whose labels became
    known since the last as-of date and, when the as-of date moved, its own snapshot; a build in another
    month (a new month-start snapshot for everyone) or with an earlier as-of date rewrites every row. -#}
{% macro customer_features_inputs() -%}
    select
        customer_id,
        count(*) as n_inputs,
        sum(hash(
            source_system, source_record_id, event_type, event_date, amount, vin, station_type, service_kind,
            category, purchase_intent
        )) as inputs_digest
    from {{ ref('fct_customer_events') }}
    group by customer_id
{%- endmacro %}

{#- customer_features' mode, the last and this as-of date, and the snapshot dates whose labels became known
    between them. -#}
{% macro customer_features_plan() -%}
    {%- set plan = {'mode': customer_rebuild_mode(), 'previous': none, 'as_of': none, 'label_dates': []} -%}
    {%- if plan.mode != 'changed' -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set dates = run_query(
        "select (select max(as_of_date) from " ~ this ~ "), (select max(as_of_date) from " ~ ref('mining_as_of') ~ ")"
    ).rows[0] -%}
    {%- set previous, as_of = dates[0], dates[1] -%}
    {%- do plan.update({'previous': previous, 'as_of': as_of}) -%}
    {%- if previous is none or as_of < previous or previous.year != as_of.year or previous.month != as_of.month -%}
        {%- do plan.update({'mode': 'all'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {#- A month start's labels are known once their window (90 days, 12 or 24 months) ends by the as-of date. -#}
    {%- set known = run_query(
        "select strftime(m, '%Y-%m-%d') from (select unnest(generate_series(date_trunc('month', date '"
        ~ previous ~ "') - interval 25 month, date '" ~ as_of ~ "', interval 1 month))::date as m) as months"
        ~ " where (m + interval 90 day > date '" ~ previous ~ "' and m + interval 90 day <= date '" ~ as_of ~ "')"
        ~ " or (m + interval 12 month > date '" ~ previous ~ "' and m + interval 12 month <= date '" ~ as_of ~ "')"
        ~ " or (m + interval 24 month > date '" ~ previous ~ "' and m + interval 24 month <= date '" ~ as_of ~ "')"
    ).columns[0].values() -%}
    {%- do plan.update({'label_dates': known | list}) -%}
    {{ return(plan) }}
{%- endmacro %}

{#- The snapshots customer_features rewrites for every customer, as a condition on `as_of_date` (or-ed to
    the rebuilt customers). -#}
{% macro rewritten_snapshots(plan) -%}
    {%- for label_date in plan.label_dates %}
    or as_of_date = date '{{ label_date }}'
    {%- endfor %}
    {%- if plan.previous != plan.as_of %}
    or as_of_date = date '{{ plan.as_of }}'
    {%- if plan.previous.day != 1 %}
    or as_of_date = date '{{ plan.previous }}'
    {%- endif %}
    {%- endif %}
{%- endmacro %}
