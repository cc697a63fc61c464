{#- Each vehicle a customer owns on the as-of date, with its expected next service: the last maintenance
    plus the vehicle's own interval (mean days between its maintenance visits), or, with fewer than two
    visits, the maker's schedule (every 10,000 km or 12 months, whichever comes first) at the vehicle's own
    mileage rate. Only service orders before the as-of date are read. -#}
{%- set service_interval_km = 10000 -%}
{%- set service_interval_days = 365 -%}

with mining_as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

ownership as (
    select * from {{ ref('fct_vehicle_ownership') }}
),

vehicles as (
    select * from {{ ref('dim_vehicle') }}
),

service_orders as (
    select events.*
    from {{ ref('fct_customer_events') }} as events
    cross join mining_as_of
    where events.event_type = 'service'
        and events.vin is not null
        and events.event_date < mining_as_of.as_of_date
),

owned as (
    select ownership.vin, ownership.customer_id, ownership.owned_from, mining_as_of.as_of_date
    from ownership
    cross join mining_as_of
    where ownership.owned_from < mining_as_of.as_of_date
        and (ownership.owned_to is null or ownership.owned_to > mining_as_of.as_of_date)
),

readings as (
    select
        owned.vin,
        owned.customer_id,
        min(service_orders.event_date) as first_reading_date,
        max(service_orders.event_date) as last_reading_date,
        min(service_orders.mileage_km) as first_mileage_km,
        max(service_orders.mileage_km) as last_mileage_km,
        sum(case when service_orders.service_kind = 'maintenance' then 1 else 0 end) as n_maintenance_visits,
        min(case when service_orders.service_kind = 'maintenance' then service_orders.event_date end)
            as first_maintenance_date,
        max(case when service_orders.service_kind = 'maintenance' then service_orders.event_date end)
            as last_maintenance_date
    from owned
    inner join service_orders
        on owned.vin = service_orders.vin
        and owned.customer_id = service_orders.customer_id
        and service_orders.event_date >= owned.owned_from
        and service_orders.mileage_km is not null
    group by owned.vin, owned.customer_id
),

last_visits as (
    select vin, customer_id, event_date as last_service_date, station_type as last_service_station_type
    from (
        select
            service_orders.*,
            row_number() over (
                partition by service_orders.vin, service_orders.customer_id
                order by service_orders.event_date desc, service_orders.source_record_id desc
            ) as _pick
        from service_orders
        where service_orders.service_kind <> 'recall'
    ) as ranked
    where _pick = 1
),

rates as (
    select
        owned.vin,
        owned.customer_id,
        owned.owned_from,
        owned.as_of_date,
        coalesce(vehicles.first_delivery_date, vehicles.first_invoice_date, owned.owned_from) as first_on_road,
        vehicles.model_code,
        readings.n_maintenance_visits,
        readings.last_maintenance_date,
        readings.last_reading_date,
        readings.last_mileage_km,
        case
            when {{ dbt.datediff('readings.first_reading_date', 'readings.last_reading_date', 'day') }} >= 60
                then (readings.last_mileage_km - readings.first_mileage_km) * 1.0
                    / {{ dbt.datediff('readings.first_reading_date', 'readings.last_reading_date', 'day') }}
        end as km_per_day_between_visits,
        case
            when vehicles.first_invoice_date is not null
                and {{ dbt.datediff('vehicles.first_invoice_date', 'readings.last_reading_date', 'day') }} >= 30
                then readings.last_mileage_km * 1.0
                    / {{ dbt.datediff('vehicles.first_invoice_date', 'readings.last_reading_date', 'day') }}
        end as km_per_day_since_new,
        case
            when readings.n_maintenance_visits >= 2
                then {{ dbt.datediff('readings.first_maintenance_date', 'readings.last_maintenance_date', 'day') }}
                    * 1.0 / (readings.n_maintenance_visits - 1)
        end as own_interval_days
    from owned
    left join readings on owned.vin = readings.vin and owned.customer_id = readings.customer_id
    left join vehicles on owned.vin = vehicles.vin
),

network as (
    select avg(km_per_day_between_visits) as network_km_per_day
    from rates
    where km_per_day_between_visits > 0
),

intervals as (
    select
        rates.*,
        case
            when rates.km_per_day_between_visits > 0 then rates.km_per_day_between_visits
            when rates.km_per_day_since_new > 0 then rates.km_per_day_since_new
            else network.network_km_per_day
        end as km_per_day,
        case
            when rates.km_per_day_between_visits > 0 then 'between_visits'
            when rates.km_per_day_since_new > 0 then 'since_new'
            else 'network_average'
        end as km_per_day_basis
    from rates
    cross join network
),

due as (
    select
        intervals.*,
        case when intervals.own_interval_days is not null then 'own_interval' else 'maker_schedule' end
            as interval_basis,
        cast(round(coalesce(
            intervals.own_interval_days,
            least({{ service_interval_days }}, {{ service_interval_km }} / nullif(intervals.km_per_day, 0)),
            {{ service_interval_days }}
        )) as integer) as expected_interval_days,
        coalesce(intervals.last_maintenance_date, intervals.owned_from) as due_from_date
    from intervals
),

final as (
    select
        due.vin,
        due.customer_id,
        due.as_of_date,
        due.model_code,
        due.owned_from,
        {{ dbt.datediff('due.first_on_road', 'due.as_of_date', 'day') }} as vehicle_age_days,
        coalesce(due.n_maintenance_visits, 0) as n_maintenance_visits,
        last_visits.last_service_date,
        last_visits.last_service_station_type,
        due.last_maintenance_date,
        due.last_mileage_km,
        round(due.km_per_day, 1) as km_per_day,
        due.km_per_day_basis,
        -- odometer today: the last reading, or 0 for a car bought new, plus the rate since
        case when due.last_mileage_km is not null or due.owned_from <= due.first_on_road then
            cast(round(
                coalesce(due.last_mileage_km, 0) + due.km_per_day
                    * {{ dbt.datediff('coalesce(due.last_reading_date, due.owned_from)', 'due.as_of_date', 'day') }}
            ) as integer)
        end as estimated_mileage_km,
        due.interval_basis,
        due.expected_interval_days,
        cast({{ dbt.dateadd('day', 'due.expected_interval_days', 'due.due_from_date') }} as date)
            as expected_next_service_date,
        {{ dbt.datediff('due.as_of_date',
            dbt.dateadd('day', 'due.expected_interval_days', 'due.due_from_date'), 'day') }} as days_until_due
    from due
    left join last_visits on due.vin = last_visits.vin and due.customer_id = last_visits.customer_id
)

select * from final
