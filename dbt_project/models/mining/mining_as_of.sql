{#- The one as-of date of the mining tables: var `as_of_date` or env CRM_AS_OF_DATE (YYYY-MM-DD) when set,
    else the day after the newest customer event (the data's "today"), or today without any event. -#}
{%- set pinned = var('as_of_date', env_var('CRM_AS_OF_DATE', '')) -%}

with events as (
    select * from {{ ref('fct_customer_events') }}
),

data_end as (
    select max(event_date) as last_event_date from events
),

final as (
    select
        {% if pinned -%}
        cast('{{ pinned }}' as date) as as_of_date,
        {%- else -%}
        coalesce(
            cast({{ dbt.dateadd('day', 1, 'last_event_date') }} as date),
            cast({{ dbt.current_timestamp() }} as date)
        ) as as_of_date,
        {%- endif %}
        last_event_date,
        '{{ "pinned" if pinned else "data" }}' as as_of_date_source
    from data_end
)

select * from final
