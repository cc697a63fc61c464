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

consent_events as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'event_date') }} as date) as consent_month,
        event_at,
        consent_marketing,
        source_system,
        source_record_id
    from events
    where consent_marketing is not null and event_date is not null
),

{#- A customer's last consent statement in each month with any: latest first, ties by source. -#}
monthly_consents as (
    select customer_id, consent_month, consent_marketing, source_system, source_record_id
    from (
        select
            *,
            row_number() over (
                partition by customer_id, consent_month
                order by event_at desc, source_system desc, source_record_id desc
            ) as _pick
        from consent_events
    ) as ranked
    where _pick = 1
),

{#- Each touch month takes the customer's latest month with a statement up to and including it: touches and
    statement months in one stream per customer, a statement month sorting before a touch of that month. -#}
touch_months as (
    select distinct customer_id, sample_month from touches
),

timeline as (
    select customer_id, sample_month as month, 1 as is_touch from touch_months
    union all
    select customer_id, consent_month as month, 0 as is_touch from monthly_consents
),

consent_months as (
    select customer_id, sample_month, consent_month
    from (
        select
            customer_id,
            month as sample_month,
            is_touch,
            max(case when is_touch = 0 then month end) over (
                partition by customer_id order by month, is_touch rows between unbounded preceding and current row
            ) as consent_month
        from timeline
    ) as stream
    where is_touch = 1 and consent_month is not null
),

consent_statements as (
    select
        consent_months.customer_id,
        consent_months.sample_month,
        monthly_consents.consent_marketing,
        monthly_consents.source_system,
        monthly_consents.source_record_id
    from consent_months
    inner join monthly_consents
        on consent_months.customer_id = monthly_consents.customer_id
        and consent_months.consent_month = monthly_consents.consent_month
),

final as (
    select
        touches.*,
        coalesce(consent.consent_marketing, false) as has_consent,
        consent.source_system as consent_source_system,
        consent.source_record_id as consent_source_record_id
    from touches
    left join consent_statements as consent
        on touches.customer_id = consent.customer_id
        and touches.sample_month = consent.sample_month
)

select * from final
