{#- Point-in-time features: one row per customer and monthly snapshot (the first of each month, and the
    as-of date itself). Features read only events strictly before the snapshot's as_of_date; labels read only
    the window after it and stay null until that window lies wholly before the mining as-of date. A service
    visit is a repair order other than a recall (recalls are the maker's call, not the customer's).

    The month-start snapshots are computed from the months with events: running totals over those months
    (and the first visit or purchase after each), which every snapshot month up to the next month with
    events takes as they are; the 12- and 24-month windows are differences of those totals a year or two
    apart. The window functions run over months with events, not over every customer-month, and the cost
    grows with customers x months only in what is written. The timeline ends at the as-of date: a label
    whose window reaches past it is null anyway. The as-of date, when it is not the first of a month, is
    computed from the events before it. -#}
{%- set plan = customer_features_plan() -%}
{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='append',
        pre_hook=[
            "{{ stage_customer_inputs(customer_features_inputs(), customer_features_plan().mode) }}",
            "{% set plan = customer_features_plan() %}{{ delete_rebuilt_customers(plan.mode, rewritten_snapshots(plan)) }}",
        ],
        post_hook="{{ record_customer_inputs() }}",
    )
}}

with all_events as (
    select
        *,
        event_type = 'service' and service_kind <> 'recall' as is_visit,
        (event_type = 'call' and category = 'lead') or event_type in ('showroom_visit', 'web_signup')
            as is_purchase_signal,
        event_type in ('purchase', 'registration') as is_acquisition,
        extract(year from event_date) * 12 + extract(month from event_date) as month_number
    from {{ ref('fct_customer_events') }}
),

{#- The events of the customers whose rows this build writes, for the month snapshots and for the as-of
    snapshot (every customer's when the as-of date moved). -#}
events as (
    select * from all_events
    {%- if plan.mode == 'changed' and not plan.label_dates %}
    where customer_id in ({{ rebuilt_customers() }})
    {%- endif %}
),

day_events as (
    select * from {{ 'all_events' if plan.mode == 'changed' and plan.previous != plan.as_of else 'events' }}
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
    from all_events
),

{# Every month start from the first event's month to the as-of date. #}
months as (
    select
        month_start,
        extract(year from month_start) * 12 + extract(month from month_start) as month_number
    from (
        select cast({{ dbt.dateadd('month', 'month_offsets.n', 'first_month.first_month') }} as date) as month_start
        from month_offsets
        cross join first_month
    ) as candidate_months
    cross join mining_as_of
    where candidate_months.month_start <= mining_as_of.as_of_date
),

snapshot_dates as (
    select months.month_start as as_of_date
    from months
    cross join first_month
    cross join mining_as_of
    where months.month_start > first_month.first_month and months.month_start < mining_as_of.as_of_date
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

vehicle_acquisitions as (
    select
        customer_id,
        coalesce(vin, source_record_id) as vehicle_key,
        min(event_date) as acquired_on,
        min(month_number) as month_number
    from day_events
    where is_acquisition
    group by customer_id, coalesce(vin, source_record_id)
),

{#- Month-start snapshots. The months with events of a customer carry running totals (everything up to and
    including that month) and, for the labels, the first visits and purchases in the months after it; each
    snapshot month takes the row of the last month with events before it, so the window functions run over
    the months with events only. Customers are numbered so that the windows partition on an integer. -#}
customer_keys as (
    select customer_id, row_number() over (order by customer_id) as customer_key
    from (select distinct customer_id from events) as customers
),

event_months as (
    select
        customer_keys.customer_key,
        events.month_number,
        min(events.event_date) as first_event_date,
        max(events.event_date) as last_event_date,
        count(*) as n_events,
        sum(case when events.event_type = 'purchase' then coalesce(events.amount, 0) else 0 end) as purchase_amount,
        max(case when events.is_acquisition then events.event_date end) as last_purchase_date,
        sum(case when events.is_visit then 1 else 0 end) as n_service_visits,
        sum(case when events.is_visit and events.station_type = 'authorized' then 1 else 0 end)
            as n_authorized_visits,
        sum(case when events.is_visit and events.station_type = 'independent' then 1 else 0 end)
            as n_independent_visits,
        sum(case when events.is_visit then coalesce(events.amount, 0) else 0 end) as service_spend,
        sum(case when events.is_visit and events.station_type = 'authorized' then coalesce(events.amount, 0) else 0 end)
            as authorized_service_spend,
        min(case when events.is_visit then events.event_date end) as first_service_date,
        max(case when events.is_visit then events.event_date end) as last_service_date,
        max(case when events.is_visit and events.station_type = 'authorized' then events.event_date end)
            as last_authorized_service_date,
        max(case when events.is_visit and events.station_type = 'independent' then events.event_date end)
            as last_independent_service_date,
        sum(case when events.event_type = 'call' then 1 else 0 end) as n_calls,
        sum(case when events.event_type = 'call' and events.category = 'complaint' then 1 else 0 end)
            as n_complaints,
        sum(case when events.is_purchase_signal then 1 else 0 end) as n_purchase_signals,
        max(case when events.is_purchase_signal then events.event_date end) as last_purchase_signal_date,
        max(case when events.is_purchase_signal and events.purchase_intent = 'high' then events.event_date end)
            as last_high_intent_date
    from events
    inner join customer_keys on events.customer_id = customer_keys.customer_id
    group by customer_keys.customer_key, events.month_number
),

acquisition_months as (
    select customer_keys.customer_key, vehicle_acquisitions.month_number, count(*) as n_acquired
    from vehicle_acquisitions
    inner join customer_keys on vehicle_acquisitions.customer_id = customer_keys.customer_id
    group by customer_keys.customer_key, vehicle_acquisitions.month_number
),

running as (
    select
        event_months.customer_key,
        event_months.month_number,
        lead(event_months.month_number) over by_month as next_month_number,
        min(event_months.first_event_date) over through as first_event_date,
        max(event_months.last_event_date) over through as last_event_date,
        sum(event_months.n_events) over through as n_events,
        sum(event_months.purchase_amount) over through as purchase_amount,
        max(event_months.last_purchase_date) over through as last_purchase_date,
        sum(event_months.n_service_visits) over through as n_service_visits,
        sum(event_months.n_authorized_visits) over through as n_authorized_visits,
        sum(event_months.n_independent_visits) over through as n_independent_visits,
        sum(event_months.service_spend) over through as service_spend,
        sum(event_months.authorized_service_spend) over through as authorized_service_spend,
        min(event_months.first_service_date) over through as first_service_date,
        max(event_months.last_service_date) over through as last_service_date,
        max(event_months.last_authorized_service_date) over through as last_authorized_service_date,
        max(event_months.last_independent_service_date) over through as last_independent_service_date,
        sum(event_months.n_calls) over through as n_calls,
        sum(event_months.n_complaints) over through as n_complaints,
        sum(event_months.n_purchase_signals) over through as n_purchase_signals,
        max(event_months.last_purchase_signal_date) over through as last_purchase_signal_date,
        max(event_months.last_high_intent_date) over through as last_high_intent_date,
        sum(coalesce(acquisition_months.n_acquired, 0)) over through as n_vehicles_bought,
        min(event_months.first_service_date) over after as next_service_date,
        min(case when event_months.n_independent_visits > 0 then event_months.month_number end) over after
            as next_independent_visit_month,
        min(case when acquisition_months.n_acquired > 0 then event_months.month_number end) over after
            as next_acquisition_month
    from event_months
    left join acquisition_months
        on event_months.customer_key = acquisition_months.customer_key
        and event_months.month_number = acquisition_months.month_number
    window
        by_month as (partition by event_months.customer_key order by event_months.month_number),
        through as (
            partition by event_months.customer_key order by event_months.month_number
            rows between unbounded preceding and current row
        ),
        after as (
            partition by event_months.customer_key order by event_months.month_number
            rows between 1 following and unbounded following
        )
),

last_month as (
    select max(month_number) as month_number from months
),

{# A snapshot month m takes the last month with events before it: m in (its month, the next month with events]. #}
month_totals as (
    select running.*, months.month_number as snapshot_month_number, months.month_start as as_of_date
    from running
    cross join last_month
    inner join months
        on months.month_number > running.month_number
        and months.month_number <= coalesce(running.next_month_number, last_month.month_number)
),

{# The last 12 (24) months are the totals before the snapshot less the totals before the snapshot 12 (24) months earlier. #}
month_windows as (
    select
        month_totals.*,
        n_service_visits - coalesce(lag(n_service_visits, 12) over by_snapshot, 0) as n_service_visits_12m,
        n_authorized_visits - coalesce(lag(n_authorized_visits, 24) over by_snapshot, 0) as n_authorized_visits_24m,
        n_independent_visits - coalesce(lag(n_independent_visits, 24) over by_snapshot, 0)
            as n_independent_visits_24m,
        service_spend - coalesce(lag(service_spend, 12) over by_snapshot, 0) as service_spend_12m,
        service_spend - coalesce(lag(service_spend, 24) over by_snapshot, 0) as service_spend_24m,
        authorized_service_spend - coalesce(lag(authorized_service_spend, 24) over by_snapshot, 0)
            as authorized_service_spend_24m,
        n_calls - coalesce(lag(n_calls, 12) over by_snapshot, 0) as n_calls_12m,
        n_complaints - coalesce(lag(n_complaints, 12) over by_snapshot, 0) as n_complaints_12m,
        n_purchase_signals - coalesce(lag(n_purchase_signals, 12) over by_snapshot, 0) as n_purchase_signals_12m
    from month_totals
    window by_snapshot as (partition by customer_key order by snapshot_month_number)
),

{#- Amounts as a sum over events types them on Spark (decimal(28, 2)); on DuckDB the day snapshots' sums
    widen them back to its decimal(38, 2) in the union below. The monthly sums themselves keep their own
    type: cast down to decimal(18, 2), DuckDB 2.0's windowed sum got one row of 352,497 wrong at 10k. -#}
month_features as (
    select
        customer_keys.customer_id,
        month_windows.as_of_date,
        month_windows.first_event_date,
        month_windows.last_event_date,
        cast(month_windows.n_events as bigint) as n_events,
        cast(month_windows.purchase_amount as decimal(28, 2)) as purchase_amount,
        month_windows.last_purchase_date,
        month_windows.n_service_visits,
        month_windows.n_service_visits_12m,
        month_windows.n_authorized_visits_24m,
        month_windows.n_independent_visits_24m,
        cast(month_windows.service_spend_12m as decimal(28, 2)) as service_spend_12m,
        cast(month_windows.service_spend_24m as decimal(28, 2)) as service_spend_24m,
        cast(month_windows.authorized_service_spend_24m as decimal(28, 2)) as authorized_service_spend_24m,
        cast(month_windows.authorized_service_spend as decimal(28, 2)) as authorized_service_spend,
        month_windows.first_service_date,
        month_windows.last_service_date,
        month_windows.last_authorized_service_date,
        month_windows.last_independent_service_date,
        month_windows.n_calls_12m,
        month_windows.n_complaints_12m,
        month_windows.n_purchase_signals_12m,
        month_windows.last_purchase_signal_date,
        case when month_windows.last_high_intent_date >= snapshots.since_90d then 1 else 0 end as high_intent_90d,
        cast(month_windows.n_vehicles_bought as bigint) as n_vehicles_bought,
        case when month_windows.next_service_date < snapshots.until_90d then 1 else 0 end as service_90d,
        case when month_windows.next_independent_visit_month <= month_windows.snapshot_month_number + 11 then 1 else 0 end
            as independent_12m,
        case when month_windows.next_acquisition_month <= month_windows.snapshot_month_number + 23 then 1 else 0 end
            as acquired_24m
    from month_windows
    inner join snapshots on month_windows.as_of_date = snapshots.as_of_date
    inner join customer_keys on month_windows.customer_key = customer_keys.customer_key
),

month_snapshots as (
    select as_of_date from snapshots
    where as_of_date = cast({{ dbt.date_trunc('month', 'as_of_date') }} as date)
),

{#- The as-of date, when it falls inside a month: from the events before it. Its labels' windows end after
    the as-of date, so they stay null and only the features are computed. -#}
day_snapshots as (
    select snapshots.*
    from snapshots
    left join month_snapshots on snapshots.as_of_date = month_snapshots.as_of_date
    where month_snapshots.as_of_date is null
),

day_history as (
    select day_snapshots.*, events.*
    from day_snapshots
    inner join day_events as events on events.event_date < day_snapshots.as_of_date
),

day_vehicles as (
    select vehicle_acquisitions.customer_id, day_snapshots.as_of_date, count(*) as n_vehicles_bought
    from day_snapshots
    inner join vehicle_acquisitions on vehicle_acquisitions.acquired_on < day_snapshots.as_of_date
    group by vehicle_acquisitions.customer_id, day_snapshots.as_of_date
),

day_features as (
    select
        day_history.customer_id,
        day_history.as_of_date,
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
            as high_intent_90d,
        coalesce(max(day_vehicles.n_vehicles_bought), 0) as n_vehicles_bought,
        0 as service_90d,
        0 as independent_12m,
        0 as acquired_24m
    from day_history
    left join day_vehicles
        on day_history.customer_id = day_vehicles.customer_id
        and day_history.as_of_date = day_vehicles.as_of_date
    group by day_history.customer_id, day_history.as_of_date
),

aggregated as (
    select * from month_features
    union all
    select * from day_features
),

features as (
    select
        aggregated.customer_id,
        aggregated.as_of_date,
        {{ dbt.datediff('aggregated.first_event_date', 'aggregated.as_of_date', 'day') }} as tenure_days,
        {{ dbt.datediff('aggregated.last_event_date', 'aggregated.as_of_date', 'day') }} as days_since_last_event,
        aggregated.n_events,
        aggregated.n_vehicles_bought,
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
            when snapshots.until_90d <= mining_as_of.as_of_date then aggregated.service_90d = 1
        end as label_service_within_90d,
        case
            when snapshots.until_12m <= mining_as_of.as_of_date
                and aggregated.last_authorized_service_date is not null
                and (
                    aggregated.last_independent_service_date is null
                    or aggregated.last_independent_service_date < aggregated.last_authorized_service_date
                )
                then aggregated.independent_12m = 1
        end as label_defected_within_12m,
        case
            when snapshots.until_24m <= mining_as_of.as_of_date and aggregated.n_vehicles_bought > 0
                then aggregated.acquired_24m = 1
        end as label_repurchased_within_24m
    from aggregated
    inner join snapshots on aggregated.as_of_date = snapshots.as_of_date
    cross join mining_as_of
),

{# The rows this build writes: see macros/incremental_customers.sql. #}
final as (
    select * from features
    {%- if plan.mode == 'changed' %}
    where customer_id in ({{ rebuilt_customers() }}) {{ rewritten_snapshots(plan) }}
    {%- endif %}
)

select * from final
