{#- Who may be called back about a month's experience: one row per month, dealer (a purchase) or authorised
    station (a service visit) and customer, with the customer's latest consent statement made before the
    month was over (none = no consent). survey_sample draws from the consenting rows. -#}
with as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

events as (
    select * from {{ ref('fct_customer_events') }}
),

touches as (
    select
        cast({{ dbt.date_trunc('month', 'event_date') }} as date) as sample_month,
        case when event_type = 'purchase' then 'dealer' else 'station' end as unit_type,
        case when event_type = 'purchase' then dealer_code else station_code end as unit_code,
        customer_id,
        max(event_date) as last_touch_date,
        count(*) as touches
    from events
    cross join as_of
    where event_date < as_of.as_of_date
        and (
            (event_type = 'purchase' and dealer_code is not null)
            or (event_type = 'service' and station_type = 'authorized' and station_code is not null)
        )
    group by 1, 2, 3, 4
),

consent_statements as (
    select
        touches.sample_month,
        touches.unit_type,
        touches.unit_code,
        touches.customer_id,
        events.consent_marketing,
        events.source_system,
        events.source_record_id,
        row_number() over (
            partition by touches.sample_month, touches.unit_type, touches.unit_code, touches.customer_id
            order by events.event_at desc, events.source_system desc, events.source_record_id desc
        ) as _pick
    from touches
    inner join events
        on touches.customer_id = events.customer_id
        and events.consent_marketing is not null
        and events.event_date < {{ dbt.dateadd('month', 1, 'touches.sample_month') }}
),

final as (
    select
        touches.*,
        coalesce(consent.consent_marketing, false) as has_consent,
        consent.source_system as consent_source_system,
        consent.source_record_id as consent_source_record_id
    from touches
    left join consent_statements as consent
        on touches.sample_month = consent.sample_month
        and touches.unit_type = consent.unit_type
        and touches.unit_code = consent.unit_code
        and touches.customer_id = consent.customer_id
        and consent._pick = 1
)

select * from final
