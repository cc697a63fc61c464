{#- Incremental point-in-time features (DuckDB). A customer's rows depend on their own events and on the
    mining as-of date only. `intermediate.customer_feature_inputs` keeps, for every customer, the number of
    events and an order-free hash of them as of the last build, and whether that build rewrote its rows. A build in the as-of date's month
    rewrites the rows of the customers whose events changed (new, corrected, gone, moved to or from
    another customer), the snapshots whose labels became known since the last as-of date and, when the
    as-of date moved, its own snapshot; any other build (the first, another month: a new month-start
    snapshot for everyone, an earlier as-of date, no recorded inputs) rewrites every row. The inputs are
    recorded inside the model's transaction, so a failed build leaves the last ones. -#}

{% macro feature_inputs(identifier='customer_feature_inputs') -%}
    {{ return(api.Relation.create(database=this.database, schema='intermediate', identifier=identifier)) }}
{%- endmacro %}

{#- How this build writes customer_features: mode `full` (a new table), `all` (every row rewritten) or
    `changed`; the last and this as-of date; the snapshot dates whose labels became known between them. -#}
{% macro customer_features_plan() -%}
    {%- set plan = {'mode': 'full', 'previous': none, 'as_of': none, 'label_dates': []} -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set recorded = adapter.get_relation(database=this.database, schema='intermediate', identifier='customer_feature_inputs') -%}
    {%- set dates = run_query(
        "select (select max(as_of_date) from " ~ this ~ "), (select max(as_of_date) from " ~ ref('mining_as_of') ~ ")"
    ).rows[0] -%}
    {%- set previous, as_of = dates[0], dates[1] -%}
    {%- do plan.update({'mode': 'all', 'previous': previous, 'as_of': as_of}) -%}
    {%- if recorded is none or previous is none or as_of < previous
        or previous.year != as_of.year or previous.month != as_of.month -%}
        {{ return(plan) }}
    {%- endif -%}
    {#- A month start's labels are known once their window (90 days, 12 or 24 months) ends by the as-of date. -#}
    {%- set known = run_query(
        "select strftime(m, '%Y-%m-%d') from (select unnest(generate_series(date_trunc('month', date '"
        ~ previous ~ "') - interval 25 month, date '" ~ as_of ~ "', interval 1 month))::date as m) as months"
        ~ " where ("
        ~ " (m + interval 90 day > date '" ~ previous ~ "' and m + interval 90 day <= date '" ~ as_of ~ "')"
        ~ " or (m + interval 12 month > date '" ~ previous ~ "' and m + interval 12 month <= date '" ~ as_of ~ "')"
        ~ " or (m + interval 24 month > date '" ~ previous ~ "' and m + interval 24 month <= date '" ~ as_of ~ "'))"
    ).columns[0].values() -%}
    {%- do plan.update({'mode': 'changed', 'label_dates': known | list}) -%}
    {{ return(plan) }}
{%- endmacro %}

{#- Pre-hook: this build's inputs beside the recorded ones, each customer flagged `rebuilt` when its rows
    are rewritten. -#}
{% macro stage_feature_inputs(plan) -%}
    {%- if target.type != 'spark' %}
    create schema if not exists {{ feature_inputs().schema }};
    create or replace table {{ feature_inputs('customer_feature_inputs__next') }} as
    with current_inputs as (
        select
            customer_id,
            count(*) as n_events,
            sum(hash(
                source_system, source_record_id, event_type, event_date, amount, vin, station_type,
                service_kind, category, purchase_intent
            )) as events_digest
        from {{ ref('fct_customer_events') }}
        group by customer_id
    )
    {%- if plan.mode == 'changed' %}
    select
        coalesce(current_inputs.customer_id, recorded.customer_id) as customer_id,
        current_inputs.n_events,
        current_inputs.events_digest,
        current_inputs.n_events is distinct from recorded.n_events
            or current_inputs.events_digest is distinct from recorded.events_digest as rebuilt
    from current_inputs
    full outer join {{ feature_inputs() }} as recorded on current_inputs.customer_id = recorded.customer_id
    {%- else %}
    select *, true as rebuilt from current_inputs
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook: delete the rows this build writes again. -#}
{% macro delete_rebuilt_features(plan) -%}
    {%- if plan.mode == 'all' %}
    delete from {{ this }}
    {%- elif plan.mode == 'changed' %}
    delete from {{ this }}
    where customer_id in (select customer_id from {{ feature_inputs('customer_feature_inputs__next') }} where rebuilt)
    {%- for label_date in plan.label_dates %}
        or as_of_date = date '{{ label_date }}'
    {%- endfor %}
    {%- if plan.previous != plan.as_of and plan.previous.day != 1 %}
        or as_of_date = date '{{ plan.previous }}'
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Post-hook: this build's inputs become the recorded ones. -#}
{% macro record_feature_inputs() -%}
    {%- if target.type != 'spark' %}
    create or replace table {{ feature_inputs() }} as
    select customer_id, n_events, events_digest, rebuilt
    from {{ feature_inputs('customer_feature_inputs__next') }}
    where n_events is not null;
    drop table {{ feature_inputs('customer_feature_inputs__next') }}
    {%- endif %}
{%- endmacro %}
