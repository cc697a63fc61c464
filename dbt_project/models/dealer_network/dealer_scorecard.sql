{#- One row per dealer per month: sales, lead conversion, service retention of the month's buyers, loss to
    independent garages, complaints per 100 cars sold and repurchase by past buyers. People are the customer
    master's customer_id, so a lead and a sale of one person under two phones still convert. -#}
with as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

dealers as (
    select dealer_code, max(dealer_name) as dealer_name, max(province) as province, max(city) as city
    from {{ ref('stg_dms__dealers') }}
    group by dealer_code
),

xref as (
    select source_system, source_record_id, customer_id from {{ ref('customer_xref') }}
),

stations as (
    select station_code, max(station_type) as station_type
    from {{ ref('stg_shops__stations') }}
    group by station_code
),

sales as (
    select
        s.dealer_code,
        s.source_record_id,
        s.invoice_date,
        cast({{ dbt.date_trunc('month', 's.invoice_date') }} as date) as month,
        xref.customer_id
    from {{ ref('stg_dms__sales') }} as s
    cross join as_of
    left join xref
        on s.source_system = xref.source_system
        and s.source_record_id = xref.source_record_id
    where s.is_latest_version and s.invoice_date is not null and s.invoice_date < as_of.as_of_date
),

leads as (
    select
        l.dealer_code,
        l.source_record_id,
        l.visit_date,
        cast({{ dbt.date_trunc('month', 'l.visit_date') }} as date) as month,
        xref.customer_id
    from {{ ref('stg_dms__leads') }} as l
    cross join as_of
    left join xref
        on l.source_system = xref.source_system
        and l.source_record_id = xref.source_record_id
    where l.is_latest_version and l.visit_date is not null and l.visit_date < as_of.as_of_date
),

services as (
    select xref.customer_id, o.open_date, stations.station_type
    from {{ ref('stg_shops__service_orders') }} as o
    cross join as_of
    inner join xref
        on o.source_system = xref.source_system
        and o.source_record_id = xref.source_record_id
    inner join stations on o.station_code = stations.station_code
    where o.is_latest_version and o.open_date is not null and o.open_date < as_of.as_of_date
),

complaints as (
    select
        c.related_dealer_code as dealer_code,
        cast({{ dbt.date_trunc('month', 'c.started_at') }} as date) as month
    from {{ ref('stg_oem__calls') }} as c
    cross join as_of
    where
        c.is_latest_version
        and c.category = 'complaint'
        and c.related_dealer_code is not null
        and c.started_at is not null
        and cast(c.started_at as date) < as_of.as_of_date
),

-- A lead converts when its customer buys within 90 days of the visit (the visit day included).
lead_outcomes as (
    select
        leads.dealer_code,
        leads.month,
        leads.source_record_id,
        max(case when sales.dealer_code = leads.dealer_code then 1 else 0 end) as converted_here,
        max(case when sales.source_record_id is not null then 1 else 0 end) as converted_any
    from leads
    left join sales
        on leads.customer_id = sales.customer_id
        and sales.invoice_date >= leads.visit_date
        and sales.invoice_date <= {{ dbt.dateadd('day', 90, 'leads.visit_date') }}
    group by leads.dealer_code, leads.month, leads.source_record_id
),

-- The month's buyers of each dealer, each with the day of their first purchase there that month.
buyers as (
    select dealer_code, month, customer_id, min(invoice_date) as bought_on
    from sales
    where customer_id is not null
    group by dealer_code, month, customer_id
),

buyer_service as (
    select
        buyers.dealer_code,
        buyers.month,
        buyers.customer_id,
        max(case
            when services.station_type = 'authorized'
                and services.open_date > buyers.bought_on
                and services.open_date <= {{ dbt.dateadd('day', 365, 'buyers.bought_on') }}
                then 1 else 0
        end) as authorised_year_1,
        max(case
            when services.station_type = 'authorized'
                and services.open_date > {{ dbt.dateadd('day', 365, 'buyers.bought_on') }}
                and services.open_date <= {{ dbt.dateadd('day', 730, 'buyers.bought_on') }}
                then 1 else 0
        end) as authorised_year_2,
        max(case
            when services.station_type = 'authorized'
                and services.open_date > {{ dbt.dateadd('day', 730, 'buyers.bought_on') }}
                and services.open_date <= {{ dbt.dateadd('day', 1095, 'buyers.bought_on') }}
                then 1 else 0
        end) as authorised_year_3,
        max(case
            when services.open_date > buyers.bought_on
                and services.open_date <= {{ dbt.dateadd('day', 1095, 'buyers.bought_on') }}
                then services.open_date
        end) as last_service_on,
        max(case
            when services.station_type = 'authorized'
                and services.open_date > buyers.bought_on
                and services.open_date <= {{ dbt.dateadd('day', 1095, 'buyers.bought_on') }}
                then services.open_date
        end) as last_authorised_on
    from buyers
    left join services on buyers.customer_id = services.customer_id
    group by buyers.dealer_code, buyers.month, buyers.customer_id
),

-- Lost: the buyer's last visit in the three years after the purchase (so far) was at an independent garage.
buyer_loss as (
    select
        buyer_service.*,
        case
            when last_service_on is not null
                and (last_authorised_on is null or last_authorised_on < last_service_on)
                then 1 else 0
        end as lost_to_independent
    from buyer_service
),

-- Past buyers of a dealer: first purchase there, and the customer's next purchase anywhere on a later day.
dealer_customers as (
    select dealer_code, customer_id, min(invoice_date) as first_bought_here
    from sales
    where customer_id is not null
    group by dealer_code, customer_id
),

dealer_customer_repurchase as (
    select
        dealer_customers.dealer_code,
        dealer_customers.customer_id,
        dealer_customers.first_bought_here,
        min(sales.invoice_date) as repurchased_on
    from dealer_customers
    left join sales
        on dealer_customers.customer_id = sales.customer_id
        and sales.invoice_date > dealer_customers.first_bought_here
    group by dealer_customers.dealer_code, dealer_customers.customer_id, dealer_customers.first_bought_here
),

months as (
    select month from sales
    union
    select month from leads
    union
    select month from complaints
),

spine as (
    select
        dealers.dealer_code,
        dealers.dealer_name,
        dealers.province,
        dealers.city,
        months.month,
        cast({{ dbt.dateadd('month', 1, 'months.month') }} as date) as next_month
    from dealers
    cross join months
),

sales_monthly as (
    select dealer_code, month, count(*) as new_car_sales, count(distinct customer_id) as buyers
    from sales
    group by dealer_code, month
),

leads_monthly as (
    select
        dealer_code,
        month,
        count(*) as leads,
        sum(converted_here) as leads_converted_here,
        sum(converted_any) as leads_converted_any
    from lead_outcomes
    group by dealer_code, month
),

retention_monthly as (
    select
        dealer_code,
        month,
        count(*) as cohort_buyers,
        sum(authorised_year_1) as retained_year_1,
        sum(authorised_year_2) as retained_year_2,
        sum(authorised_year_3) as retained_year_3,
        sum(lost_to_independent) as lost_to_independent
    from buyer_loss
    group by dealer_code, month
),

complaints_monthly as (
    select dealer_code, month, count(*) as complaints
    from complaints
    group by dealer_code, month
),

repurchase_monthly as (
    select
        spine.dealer_code,
        spine.month,
        count(r.customer_id) as past_buyers,
        sum(case when r.repurchased_on < spine.next_month then 1 else 0 end) as past_buyers_repurchased
    from spine
    inner join dealer_customer_repurchase as r
        on spine.dealer_code = r.dealer_code
        and r.first_bought_here < spine.next_month
    group by spine.dealer_code, spine.month
),

joined as (
    select
        spine.*,
        as_of.as_of_date,
        coalesce(sales_monthly.new_car_sales, 0) as new_car_sales,
        coalesce(sales_monthly.buyers, 0) as buyers,
        coalesce(leads_monthly.leads, 0) as leads,
        coalesce(leads_monthly.leads_converted_here, 0) as leads_converted_here,
        coalesce(leads_monthly.leads_converted_any, 0) as leads_converted_any,
        coalesce(retention_monthly.cohort_buyers, 0) as cohort_buyers,
        coalesce(retention_monthly.retained_year_1, 0) as retained_year_1,
        coalesce(retention_monthly.retained_year_2, 0) as retained_year_2,
        coalesce(retention_monthly.retained_year_3, 0) as retained_year_3,
        coalesce(retention_monthly.lost_to_independent, 0) as lost_to_independent,
        coalesce(complaints_monthly.complaints, 0) as complaints,
        coalesce(repurchase_monthly.past_buyers, 0) as past_buyers,
        coalesce(repurchase_monthly.past_buyers_repurchased, 0) as past_buyers_repurchased
    from spine
    cross join as_of
    left join sales_monthly
        on spine.dealer_code = sales_monthly.dealer_code and spine.month = sales_monthly.month
    left join leads_monthly
        on spine.dealer_code = leads_monthly.dealer_code and spine.month = leads_monthly.month
    left join retention_monthly
        on spine.dealer_code = retention_monthly.dealer_code and spine.month = retention_monthly.month
    left join complaints_monthly
        on spine.dealer_code = complaints_monthly.dealer_code and spine.month = complaints_monthly.month
    left join repurchase_monthly
        on spine.dealer_code = repurchase_monthly.dealer_code and spine.month = repurchase_monthly.month
),

-- Rates over a window that reaches past the as-of date stay null until the window is over for the whole month.
final as (
    select
        dealer_code,
        dealer_name,
        province,
        city,
        month,
        new_car_sales,
        buyers,
        leads,
        leads_converted_here,
        leads_converted_any,
        case when leads > 0 and {{ dbt.dateadd('day', 90, 'next_month') }} <= as_of_date
            then 1.0 * leads_converted_here / leads end as lead_conversion_rate_here,
        case when leads > 0 and {{ dbt.dateadd('day', 90, 'next_month') }} <= as_of_date
            then 1.0 * leads_converted_any / leads end as lead_conversion_rate_any_dealer,
        cohort_buyers,
        case when cohort_buyers > 0 and {{ dbt.dateadd('day', 365, 'next_month') }} <= as_of_date
            then 1.0 * retained_year_1 / cohort_buyers end as service_retention_year_1,
        case when cohort_buyers > 0 and {{ dbt.dateadd('day', 730, 'next_month') }} <= as_of_date
            then 1.0 * retained_year_2 / cohort_buyers end as service_retention_year_2,
        case when cohort_buyers > 0 and {{ dbt.dateadd('day', 1095, 'next_month') }} <= as_of_date
            then 1.0 * retained_year_3 / cohort_buyers end as service_retention_year_3,
        case when cohort_buyers > 0
            then 1.0 * lost_to_independent / cohort_buyers end as lost_to_independent_share,
        complaints,
        case when new_car_sales > 0 then 100.0 * complaints / new_car_sales end as complaints_per_100_sold,
        past_buyers,
        past_buyers_repurchased,
        case when past_buyers > 0 then 1.0 * past_buyers_repurchased / past_buyers end as repurchase_rate,
        as_of_date
    from joined
)

select * from final
