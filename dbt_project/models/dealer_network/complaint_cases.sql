{#- Every hotline complaint with what it names (dealer, station), its customer and car, and what the customer
    did next: the next contact of any kind and the next service visit, at an authorised station (came back)
    or at an independent garage (defected). -#}
with as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

calls as (
    select * from {{ ref('stg_oem__calls') }}
    where is_latest_version and category = 'complaint' and started_at is not null
),

xref as (
    select source_system, source_record_id, customer_id, vehicle_vin from {{ ref('customer_xref') }}
),

stations as (
    select station_code, max(station_type) as station_type
    from {{ ref('stg_shops__stations') }}
    group by station_code
),

events as (
    select * from {{ ref('fct_customer_events') }}
),

complaints as (
    select
        calls.source_record_id as call_id,
        calls.started_at as complained_at,
        cast(calls.started_at as date) as complaint_date,
        xref.customer_id,
        coalesce(xref.vehicle_vin, calls.vin) as vin,
        calls.related_dealer_code as dealer_code,
        calls.related_station_code as station_code,
        stations.station_type,
        case
            when calls.related_dealer_code is not null and calls.related_station_code is not null then 'both'
            when calls.related_dealer_code is not null then 'dealer'
            when calls.related_station_code is not null then 'station'
            else 'unspecified'
        end as complaint_about,
        calls.notes
    from calls
    cross join as_of
    left join xref
        on calls.source_system = xref.source_system
        and calls.source_record_id = xref.source_record_id
    left join stations on calls.related_station_code = stations.station_code
    where cast(calls.started_at as date) < as_of.as_of_date
),

later_events as (
    select
        complaints.call_id,
        events.event_type,
        events.event_at,
        events.event_date,
        events.station_code,
        events.station_type,
        row_number() over (
            partition by complaints.call_id, events.event_type = 'service'
            order by events.event_at, events.source_system, events.source_record_id
        ) as nth
    from complaints
    cross join as_of
    inner join events
        on complaints.customer_id = events.customer_id
        and events.event_at > complaints.complained_at
        and events.event_date < as_of.as_of_date
        and events.event_type <> 'registration'
),

next_contact as (
    select call_id, event_type as next_contact_type, event_at as next_contact_at
    from later_events
    where nth = 1 and event_type <> 'service'
),

next_service as (
    select
        call_id,
        event_date as next_service_date,
        station_code as next_service_station_code,
        station_type as next_service_station_type
    from later_events
    where nth = 1 and event_type = 'service'
),

final as (
    select
        complaints.*,
        next_contact.next_contact_type,
        next_contact.next_contact_at,
        next_service.next_service_date,
        next_service.next_service_station_code,
        next_service.next_service_station_type,
        {{ dbt.datediff('complaints.complaint_date', 'next_service.next_service_date', 'day') }}
            as days_to_next_service,
        case
            when complaints.customer_id is null then 'unknown_customer'
            when next_service.next_service_station_type = 'authorized' then 'came_back'
            when next_service.next_service_station_type = 'independent' then 'defected'
            else 'no_service_since'
        end as outcome
    from complaints
    left join next_contact on complaints.call_id = next_contact.call_id
    left join next_service on complaints.call_id = next_service.call_id
)

select * from final
