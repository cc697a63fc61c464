{#- Point-in-time features: one row per customer and monthly snapshot (the first of each month, and the
    as-of date itself). Features read only events strictly before the snapshot's as_of_date; labels read only
    the window after it and stay null until that window lies wholly before the mining as-of date. A service
    visit is a repair order other than a recall (recalls are the maker's call, not the customer's). -#}
with events as (
    select
        *,
        event_type = 'service' and service_kind <> 'recall' as is_visit,
        (event_type = 'call' and category = 'lead') or event_type in ('showroom_visit', 'web_signup')
            as is_purchase_signal,
        event_type in ('purchase', 'registration') as is_acquisition
    from {{ ref('fct_customer_events') }}
),

mining_as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

month_offsets as (
    select hundreds.d * 100 + tens.d * 10 + ones.d as n
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

first_month as (
    select {{ dbt.date_trunc('month', 'min(event_date)') }} as first_month
    from events
),

month_starts as (
    select cast({{ dbt.dateadd('month', 'month_offsets.n + 1', 'first_month.first_month') }} as date) as as_of_date
    from month_offsets
    cross join first_month
),

snapshot_dates as (
    select month_starts.as_of_date
    from month_starts
    cross join mining_as_of
    where month_starts.as_of_date < mining_as_of.as_of_date
    union
    select as_of_date from mining_as_of
),

snapshots as (
    select
        as_of_date,
        cast({{ dbt.dateadd('day', -90, 'as_of_date') }} as date) as since_90d,
        cast({{ dbt.dateadd('month', -12, 'as_of_date') }} as date) as since_12m,
        cast({{ dbt.dateadd('month', -24, 'as_of_date') }} as date) as since_24m,
        cast({{ dbt.dateadd('day', 90, 'as_of_date') }} as date) as until_90d,
        cast({{ dbt.dateadd('month', 12, 'as_of_date') }} as date) as until_12m,
        cast({{ dbt.dateadd('month', 24, 'as_of_date') }} as date) as until_24m
    from snapshot_dates
),

history as (
    select snapshots.*, events.*
    from snapshots
    inner join events on events.event_date < snapshots.as_of_date
),

aggregated as (
    select
        customer_id,
        as_of_date,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date,
        count(*) as n_events,
        sum(case when event_type = 'purchase' then coalesce(amount, 0) else 0 end) as purchase_amount,
        max(case when is_acquisition then event_date end) as last_purchase_date,
        sum(case when is_visit then 1 else 0 end) as n_service_visits,
        sum(case when is_visit and event_date >= since_12m then 1 else 0 end) as n_service_visits_12m,
        sum(case when is_visit and event_date >= since_24m and station_type = 'authorized' then 1 else 0 end)
            as n_authorized_visits_24m,
        sum(case when is_visit and event_date >= since_24m and station_type = 'independent' then 1 else 0 end)
            as n_independent_visits_24m,
        sum(case when is_visit and event_date >= since_12m then coalesce(amount, 0) else 0 end)
            as service_spend_12m,
        sum(case when is_visit and event_date >= since_24m then coalesce(amount, 0) else 0 end)
            as service_spend_24m,
        sum(
            case
                when is_visit and event_date >= since_24m and station_type = 'authorized' then coalesce(amount, 0)
                else 0
            end
        ) as authorized_service_spend_24m,
        sum(case when is_visit and station_type = 'authorized' then coalesce(amount, 0) else 0 end)
            as authorized_service_spend,
        min(case when is_visit then event_date end) as first_service_date,
        max(case when is_visit then event_date end) as last_service_date,
        max(case when is_visit and station_type = 'authorized' then event_date end)
            as last_authorized_service_date,
        max(case when is_visit and station_type = 'independent' then event_date end)
            as last_independent_service_date,
        sum(case when event_type = 'call' and event_date >= since_12m then 1 else 0 end) as n_calls_12m,
        sum(case when event_type = 'call' and category = 'complaint' and event_date >= since_12m then 1 else 0 end)
            as n_complaints_12m,
        sum(case when is_purchase_signal and event_date >= since_12m then 1 else 0 end)
            as n_purchase_signals_12m,
        max(case when is_purchase_signal then event_date end) as last_purchase_signal_date,
        max(case when is_purchase_signal and purchase_intent = 'high' and event_date >= since_90d then 1 else 0 end)
            as high_intent_90d
    from history
    group by customer_id, as_of_date
),

{#- The labels below ask only about service visits in the 12 months after a snapshot (90 days, 12 months):
    only those visits are joined to it, a fraction of all events in the 24 months after. -#}
future as (
    select snapshots.*, events.*
    from snapshots
    inner join events
        on events.event_date >= snapshots.as_of_date
        and events.event_date < snapshots.until_12m
    where events.is_visit
),

future_flags as (
    select
        customer_id,
        as_of_date,
        max(case when is_visit and event_date < until_90d then 1 else 0 end) as service_90d,
        max(case when is_visit and station_type = 'independent' and event_date < until_12m then 1 else 0 end)
            as independent_12m
    from future
    group by customer_id, as_of_date
),

vehicle_acquisitions as (
    select customer_id, coalesce(vin, source_record_id) as vehicle_key, min(event_date) as acquired_on
    from events
    where is_acquisition
    group by customer_id, coalesce(vin, source_record_id)
),

vehicles_before as (
    select vehicle_acquisitions.customer_id, snapshots.as_of_date, count(*) as n_vehicles_bought
    from snapshots
    inner join vehicle_acquisitions on vehicle_acquisitions.acquired_on < snapshots.as_of_date
    group by vehicle_acquisitions.customer_id, snapshots.as_of_date
),

new_vehicles as (
    select vehicle_acquisitions.customer_id, snapshots.as_of_date, 1 as acquired_24m
    from snapshots
    inner join vehicle_acquisitions
        on vehicle_acquisitions.acquired_on >= snapshots.as_of_date
        and vehicle_acquisitions.acquired_on < snapshots.until_24m
    group by vehicle_acquisitions.customer_id, snapshots.as_of_date
),

final as (
    select
        aggregated.customer_id,
        aggregated.as_of_date,
        {{ dbt.datediff('aggregated.first_event_date', 'aggregated.as_of_date', 'day') }} as tenure_days,
        {{ dbt.datediff('aggregated.last_event_date', 'aggregated.as_of_date', 'day') }} as days_since_last_event,
        aggregated.n_events,
        coalesce(vehicles_before.n_vehicles_bought, 0) as n_vehicles_bought,
        aggregated.purchase_amount,
        {{ dbt.datediff('aggregated.last_purchase_date', 'aggregated.as_of_date', 'day') }}
            as days_since_last_purchase,
        aggregated.n_service_visits,
        aggregated.n_service_visits_12m,
        aggregated.n_authorized_visits_24m,
        aggregated.n_independent_visits_24m,
        case
            when aggregated.n_authorized_visits_24m + aggregated.n_independent_visits_24m > 0
                then aggregated.n_authorized_visits_24m * 1.0
                    / (aggregated.n_authorized_visits_24m + aggregated.n_independent_visits_24m)
        end as authorized_visit_share_24m,
        aggregated.service_spend_12m,
        aggregated.service_spend_24m,
        aggregated.authorized_service_spend_24m,
        aggregated.authorized_service_spend,
        {{ dbt.datediff('aggregated.first_service_date', 'aggregated.as_of_date', 'day') }}
            as days_since_first_service,
        {{ dbt.datediff('aggregated.last_service_date', 'aggregated.as_of_date', 'day') }}
            as days_since_last_service,
        {{ dbt.datediff('aggregated.last_authorized_service_date', 'aggregated.as_of_date', 'day') }}
            as days_since_last_authorized_service,
        {{ dbt.datediff('aggregated.last_independent_service_date', 'aggregated.as_of_date', 'day') }}
            as days_since_last_independent_service,
        aggregated.n_calls_12m,
        aggregated.n_complaints_12m,
        aggregated.n_purchase_signals_12m,
        {{ dbt.datediff('aggregated.last_purchase_signal_date', 'aggregated.as_of_date', 'day') }}
            as days_since_last_purchase_signal,
        aggregated.high_intent_90d = 1 as has_high_intent_90d,
        case
            when snapshots.until_90d <= mining_as_of.as_of_date then coalesce(future_flags.service_90d, 0) = 1
        end as label_service_within_90d,
        case
            when snapshots.until_12m <= mining_as_of.as_of_date
                and aggregated.last_authorized_service_date is not null
                and (
                    aggregated.last_independent_service_date is null
                    or aggregated.last_independent_service_date < aggregated.last_authorized_service_date
                )
                then coalesce(future_flags.independent_12m, 0) = 1
        end as label_defected_within_12m,
        case
            when snapshots.until_24m <= mining_as_of.as_of_date and vehicles_before.n_vehicles_bought > 0
                then coalesce(new_vehicles.acquired_24m, 0) = 1
        end as label_repurchased_within_24m
    from aggregated
    inner join snapshots on aggregated.as_of_date = snapshots.as_of_date
    cross join mining_as_of
    left join future_flags
        on aggregated.customer_id = future_flags.customer_id
        and aggregated.as_of_date = future_flags.as_of_date
    left join new_vehicles
        on aggregated.customer_id = new_vehicles.customer_id
        and aggregated.as_of_date = new_vehicles.as_of_date
    left join vehicles_before
        on aggregated.customer_id = vehicles_before.customer_id
        and aggregated.as_of_date = vehicles_before.as_of_date
)

select * from final
