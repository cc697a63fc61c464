{#- Every hotline call, web sign-up and showroom visit that belongs to a customer: one row per touch. -#}
with events as (
    select * from {{ ref('fct_customer_events') }}
    where event_type in ('call', 'web_signup', 'showroom_visit')
),

final as (
    select
        source_system,
        source_record_id,
        customer_id,
        case event_type
            when 'call' then 'call_center'
            when 'web_signup' then 'web'
            else 'showroom'
        end as channel,
        category as interaction_type,
        event_at as interaction_at,
        event_date as interaction_date,
        category = 'complaint' as is_complaint,
        category in ('lead', 'web_signup', 'showroom_visit') as is_purchase_signal,
        purchase_intent,
        test_drive,
        model_interest,
        vin,
        dealer_code as related_dealer_code,
        station_code as related_station_code,
        consent_marketing
    from events
)

select * from final
