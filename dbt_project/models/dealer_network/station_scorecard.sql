{#- One row per station per month: repair orders by who pays (customer, warranty 保修, recall 召回), order
    value, the share of orders from customers who came back within a year, and complaints per 100 orders. -#}
with as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

stations as (
    select
        station_code,
        max(station_name) as station_name,
        max(station_type) as station_type,
        max(province) as province,
        max(city) as city
    from {{ ref('stg_shops__stations') }}
    group by station_code
),

xref as (
    select source_system, source_record_id, customer_id from {{ ref('customer_xref') }}
),

orders as (
    select
        o.station_code,
        o.source_record_id,
        o.open_date,
        cast({{ dbt.date_trunc('month', 'o.open_date') }} as date) as month,
        case o.service_type
            when '保修' then 'warranty'
            when '召回' then 'recall'
            else 'customer_pay'
        end as payer,
        cast(o.total_amount as double) as total_amount,
        xref.customer_id
    from {{ ref('stg_shops__service_orders') }} as o
    cross join as_of
    left join xref
        on o.source_system = xref.source_system
        and o.source_record_id = xref.source_record_id
    where o.is_latest_version and o.open_date is not null and o.open_date < as_of.as_of_date
),

-- A repeat visit: the customer had an earlier order at the same station within the 365 days before.
order_repeats as (
    select
        orders.source_record_id,
        max(case when earlier.source_record_id is not null then 1 else 0 end) as is_repeat
    from orders
    left join orders as earlier
        on orders.customer_id = earlier.customer_id
        and orders.station_code = earlier.station_code
        and earlier.open_date < orders.open_date
        and earlier.open_date >= {{ dbt.dateadd('day', -365, 'orders.open_date') }}
    where orders.customer_id is not null
    group by orders.source_record_id
),

complaints as (
    select
        c.related_station_code as station_code,
        cast({{ dbt.date_trunc('month', 'c.started_at') }} as date) as month,
        count(*) as complaints
    from {{ ref('stg_oem__calls') }} as c
    cross join as_of
    where
        c.is_latest_version
        and c.category = 'complaint'
        and c.related_station_code is not null
        and c.started_at is not null
        and cast(c.started_at as date) < as_of.as_of_date
    group by 1, 2
),

orders_monthly as (
    select
        orders.station_code,
        orders.month,
        count(*) as repair_orders,
        sum(case when orders.payer = 'customer_pay' then 1 else 0 end) as customer_pay_orders,
        sum(case when orders.payer = 'warranty' then 1 else 0 end) as warranty_orders,
        sum(case when orders.payer = 'recall' then 1 else 0 end) as recall_orders,
        sum(orders.total_amount) as revenue,
        avg(orders.total_amount) as avg_order_value,
        avg(case when orders.payer = 'customer_pay' then orders.total_amount end) as avg_customer_pay_order_value,
        count(orders.customer_id) as identified_orders,
        sum(order_repeats.is_repeat) as repeat_orders
    from orders
    left join order_repeats on orders.source_record_id = order_repeats.source_record_id
    group by orders.station_code, orders.month
),

months as (
    select month from orders
    union
    select month from complaints
),

spine as (
    select stations.*, months.month
    from stations
    cross join months
),

final as (
    select
        spine.station_code,
        spine.station_name,
        spine.station_type,
        spine.station_type = 'authorized' as is_authorised,
        spine.province,
        spine.city,
        spine.month,
        coalesce(m.repair_orders, 0) as repair_orders,
        coalesce(m.customer_pay_orders, 0) as customer_pay_orders,
        coalesce(m.warranty_orders, 0) as warranty_orders,
        coalesce(m.recall_orders, 0) as recall_orders,
        case when m.repair_orders > 0 then 1.0 * m.customer_pay_orders / m.repair_orders end
            as customer_pay_share,
        case when m.repair_orders > 0 then 1.0 * m.warranty_orders / m.repair_orders end as warranty_share,
        case when m.repair_orders > 0 then 1.0 * m.recall_orders / m.repair_orders end as recall_share,
        coalesce(m.revenue, 0) as revenue,
        m.avg_order_value,
        m.avg_customer_pay_order_value,
        coalesce(m.identified_orders, 0) as identified_orders,
        coalesce(m.repeat_orders, 0) as repeat_orders,
        case when m.identified_orders > 0 then 1.0 * m.repeat_orders / m.identified_orders end
            as repeat_visit_rate,
        coalesce(c.complaints, 0) as complaints,
        case when m.repair_orders > 0 then 100.0 * coalesce(c.complaints, 0) / m.repair_orders end
            as complaints_per_100_orders
    from spine
    left join orders_monthly as m on spine.station_code = m.station_code and spine.month = m.month
    left join complaints as c on spine.station_code = c.station_code and spine.month = c.month
)

select * from final
