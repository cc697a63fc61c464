with xref as (
    select * from {{ ref('customer_xref') }}
),

vehicle_events as (
    select
        xref.vehicle_vin as vin,
        xref.customer_id,
        conformed.event_date,
        xref.source_system,
        xref.source_record_id
    from xref
    inner join {{ source('matching', 'int_party_records_conformed') }} as conformed
        on xref.source_system = conformed.source_system
        and xref.source_record_id = conformed.source_record_id
    where xref.vehicle_vin is not null
        and conformed.event_date is not null
        and xref.source_system in ('dealer_sales', 'vehicle_registrations', 'service_orders', 'call_center')
),

-- A new ownership period starts whenever the customer behind a car's events changes.
flagged as (
    select
        *,
        case
            when lag(customer_id) over (partition by vin order by event_date, source_system, source_record_id)
                = customer_id then 0
            else 1
        end as starts_period
    from vehicle_events
),

numbered as (
    select
        *,
        cast(sum(starts_period) over (
            partition by vin order by event_date, source_system, source_record_id
            rows between unbounded preceding and current row
        ) as bigint) as period_number
    from flagged
),

periods as (
    select
        vin,
        period_number,
        min(customer_id) as customer_id,
        min(event_date) as owned_from,
        count(*) as n_events
    from numbered
    group by vin, period_number
),

final as (
    select
        vin,
        customer_id,
        owned_from,
        lead(owned_from) over (partition by vin order by period_number) as owned_to,
        period_number as ownership_sequence,
        n_events
    from periods
)

select * from final
