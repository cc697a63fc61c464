{#- Point-in-time features: one row per customer and monthly snapshot (the first of each month, and the
    as-of date itself). Features read only events strictly before the snapshot's as_of_date; labels read only
    the window after it and stay null until that window lies wholly before the mining as-of date. A service
    visit is a repair order other than a recall (recalls are the maker's call, not the customer's).

    The month-start snapshots are computed on a dense timeline of monthly totals per customer with row
    frames (features: the months before; labels: the months from the snapshot on), so the cost grows with
    customers x months rather than events x snapshots. The timeline ends at the as-of date: a label whose
    window reaches past it is null anyway. The as-of date, when it is not the first of a month, is computed
    from the events before it. -#}
with events as (
    select
        *,
        event_type = 'service' and service_kind <> 'recall' as is_visit,
        (event_type = 'call' and category = 'lead') or event_type in ('showroom_visit', 'web_signup')
            as is_purchase_signal,
        event_type in ('purchase', 'registration') as is_acquisition,
        extract(year from event_date) * 12 + extract(month from event_date) as month_number
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
    from events
    where is_acquisition
    group by customer_id, coalesce(vin, source_record_id)
),

{#- Month-start snapshots: every customer gets a dense timeline, one row per month from the month of the first
    event to the as-of month, carrying that month's totals (null in a month without events); a snapshot row
    folds the rows before it (features) or from it on (labels) with row frames. Customers are numbered so
    that the window partitions on an integer. -#}
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

customer_first_months as (
    select customer_key, min(month_number) as first_month_number
    from event_months
    group by customer_key
),

timeline as (
    select
        customer_first_months.customer_key,
        months.month_number,
        months.month_start,
        {# A customer's snapshots start in the month after the first event. #}
        months.month_number > customer_first_months.first_month_number as is_snapshot_month,
        event_months.first_event_date,
        event_months.last_event_date,
        event_months.n_events,
        event_months.purchase_amount,
        event_months.last_purchase_date,
        event_months.n_service_visits,
        event_months.n_authorized_visits,
        event_months.n_independent_visits,
        event_months.service_spend,
        event_months.authorized_service_spend,
        event_months.first_service_date,
        event_months.last_service_date,
        event_months.last_authorized_service_date,
        event_months.last_independent_service_date,
        event_months.n_calls,
        event_months.n_complaints,
        event_months.n_purchase_signals,
        event_months.last_purchase_signal_date,
        event_months.last_high_intent_date,
        acquisition_months.n_acquired
    from customer_first_months
    inner join months on months.month_number >= customer_first_months.first_month_number
    left join event_months
        on customer_first_months.customer_key = event_months.customer_key
        and months.month_number = event_months.month_number
    left join acquisition_months
        on customer_first_months.customer_key = acquisition_months.customer_key
        and months.month_number = acquisition_months.month_number
),

folded as (
    select
        customer_key,
        month_start as as_of_date,
        is_snapshot_month,
        min(first_event_date) over before as first_event_date,
        max(last_event_date) over before as last_event_date,
        sum(n_events) over before as n_events,
        sum(purchase_amount) over before as purchase_amount,
        max(last_purchase_date) over before as last_purchase_date,
        sum(n_service_visits) over before as n_service_visits,
        sum(n_service_visits) over last_12m as n_service_visits_12m,
        sum(n_authorized_visits) over last_24m as n_authorized_visits_24m,
        sum(n_independent_visits) over last_24m as n_independent_visits_24m,
        sum(service_spend) over last_12m as service_spend_12m,
        sum(service_spend) over last_24m as service_spend_24m,
        sum(authorized_service_spend) over last_24m as authorized_service_spend_24m,
        sum(authorized_service_spend) over before as authorized_service_spend,
        min(first_service_date) over before as first_service_date,
        max(last_service_date) over before as last_service_date,
        max(last_authorized_service_date) over before as last_authorized_service_date,
        max(last_independent_service_date) over before as last_independent_service_date,
        sum(n_calls) over last_12m as n_calls_12m,
        sum(n_complaints) over last_12m as n_complaints_12m,
        sum(n_purchase_signals) over last_12m as n_purchase_signals_12m,
        max(last_purchase_signal_date) over before as last_purchase_signal_date,
        max(last_high_intent_date) over before as last_high_intent_date,
        sum(n_acquired) over before as n_vehicles_bought,
        min(first_service_date) over next_3m as next_service_date,
        max(n_independent_visits) over next_12m as independent_visits_next_12m,
        sum(n_acquired) over next_24m as acquired_next_24m
    from timeline
    window
        before as (
            partition by customer_key order by month_number
            rows between unbounded preceding and 1 preceding
        ),
        last_12m as (
            partition by customer_key order by month_number
            rows between 12 preceding and 1 preceding
        ),
        last_24m as (
            partition by customer_key order by month_number
            rows between 24 preceding and 1 preceding
        ),
        next_3m as (
            partition by customer_key order by month_number
            rows between current row and 3 following
        ),
        next_12m as (
            partition by customer_key order by month_number
            rows between current row and 11 following
        ),
        next_24m as (
            partition by customer_key order by month_number
            rows between current row and 23 following
        )
),

month_snapshots as (
    select
        as_of_date,
        extract(year from as_of_date) * 12 + extract(month from as_of_date) as month_number
    from snapshots
    where as_of_date = cast({{ dbt.date_trunc('month', 'as_of_date') }} as date)
),

{#- Amounts as a sum over events types them on Spark (decimal(28, 2)); on DuckDB the day snapshots' sums
    widen them back to its decimal(38, 2) in the union below. The monthly sums themselves keep their own
    type: cast down to decimal(18, 2), DuckDB 2.0's windowed sum got one row of 352,497 wrong at 10k. -#}
month_features as (
    select
        customer_keys.customer_id,
        folded.as_of_date,
        folded.first_event_date,
        folded.last_event_date,
        cast(folded.n_events as bigint) as n_events,
        cast(folded.purchase_amount as decimal(28, 2)) as purchase_amount,
        folded.last_purchase_date,
        folded.n_service_visits,
        coalesce(folded.n_service_visits_12m, 0) as n_service_visits_12m,
        coalesce(folded.n_authorized_visits_24m, 0) as n_authorized_visits_24m,
        coalesce(folded.n_independent_visits_24m, 0) as n_independent_visits_24m,
        cast(coalesce(folded.service_spend_12m, 0) as decimal(28, 2)) as service_spend_12m,
        cast(coalesce(folded.service_spend_24m, 0) as decimal(28, 2)) as service_spend_24m,
        cast(coalesce(folded.authorized_service_spend_24m, 0) as decimal(28, 2))
            as authorized_service_spend_24m,
        cast(folded.authorized_service_spend as decimal(28, 2)) as authorized_service_spend,
        folded.first_service_date,
        folded.last_service_date,
        folded.last_authorized_service_date,
        folded.last_independent_service_date,
        coalesce(folded.n_calls_12m, 0) as n_calls_12m,
        coalesce(folded.n_complaints_12m, 0) as n_complaints_12m,
        coalesce(folded.n_purchase_signals_12m, 0) as n_purchase_signals_12m,
        folded.last_purchase_signal_date,
        case when folded.last_high_intent_date >= snapshots.since_90d then 1 else 0 end as high_intent_90d,
        cast(coalesce(folded.n_vehicles_bought, 0) as bigint) as n_vehicles_bought,
        case when folded.next_service_date < snapshots.until_90d then 1 else 0 end as service_90d,
        case when folded.independent_visits_next_12m > 0 then 1 else 0 end as independent_12m,
        case when folded.acquired_next_24m > 0 then 1 else 0 end as acquired_24m
    from folded
    inner join snapshots on folded.as_of_date = snapshots.as_of_date
    inner join customer_keys on folded.customer_key = customer_keys.customer_key
    where folded.is_snapshot_month
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
    inner join events on events.event_date < day_snapshots.as_of_date
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

final as (
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
)

select * from final
