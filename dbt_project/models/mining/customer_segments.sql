{#- One row per customer on the as-of date: RFM for service and for sales, value tier, lifecycle stage,
    service loyalty x usage, behaviour cluster, CLV and marketing consent (the latest statement on the
    hotline or a web sign-up; none = no consent). Everything is read from the as-of snapshot of
    customer_features and the tables built from it, so it is point-in-time too.
    Recency = days from the last event to the as-of date (not lifetimes' age at the last visit).
    Quintile score = 1 + floor(5 x percent rank), so equal values share a score and 5 is best. -#}
{%- set quintile = 'least(5, 1 + cast(floor(5 * percent_rank() over (order by ORDER)) as integer))' -%}

with mining_as_of as (
    select * from {{ ref('mining_as_of') }}
),

customers as (
    select customer_id, customer_type from {{ ref('dim_customer') }}
),

features as (
    select customer_features.*
    from {{ ref('customer_features') }} as customer_features
    inner join mining_as_of on customer_features.as_of_date = mining_as_of.as_of_date
),

vehicles as (
    select * from {{ ref('next_service_due') }}
),

ownership as (
    select * from {{ ref('fct_vehicle_ownership') }}
),

clv as (
    select * from {{ source('mining_python', 'customer_clv') }}
),

clusters as (
    select * from {{ source('mining_python', 'customer_clusters') }}
),

events as (
    select * from {{ ref('fct_customer_events') }}
),

consent_statements as (
    select
        events.customer_id,
        events.consent_marketing,
        events.event_date,
        events.source_system,
        events.source_record_id,
        row_number() over (
            partition by events.customer_id
            order by events.event_at desc, events.source_system desc, events.source_record_id desc
        ) as _pick
    from events
    cross join mining_as_of
    where events.consent_marketing is not null
        and events.event_date < mining_as_of.as_of_date
),

consent as (
    select customer_id, consent_marketing, event_date, source_system, source_record_id
    from consent_statements
    where _pick = 1
),

owned_vehicles as (
    select
        customer_id,
        count(*) as n_vehicles_owned,
        max(vehicle_age_days) as oldest_vehicle_age_days,
        max(estimated_mileage_km) as max_estimated_mileage_km,
        min({{ dbt.datediff('owned_from', 'as_of_date', 'day') }}) as days_since_latest_acquisition
    from vehicles
    group by customer_id
),

former_owners as (
    select distinct ownership.customer_id
    from ownership
    cross join mining_as_of
    where ownership.owned_from < mining_as_of.as_of_date
),

service_rfm as (
    select
        customer_id,
        days_since_last_authorized_service as service_recency_days,
        n_authorized_visits_24m as service_frequency_24m,
        authorized_service_spend_24m as service_monetary_24m,
        {{ quintile | replace('ORDER', 'days_since_last_authorized_service desc') }} as service_recency_score,
        {{ quintile | replace('ORDER', 'n_authorized_visits_24m') }} as service_frequency_score,
        {{ quintile | replace('ORDER', 'authorized_service_spend_24m') }} as service_monetary_score
    from features
    where days_since_last_authorized_service is not null
),

sales_rfm as (
    select
        customer_id,
        days_since_last_purchase as sales_recency_days,
        n_vehicles_bought as sales_frequency,
        purchase_amount as sales_monetary,
        {{ quintile | replace('ORDER', 'days_since_last_purchase desc') }} as sales_recency_score,
        {{ quintile | replace('ORDER', 'n_vehicles_bought') }} as sales_frequency_score,
        {{ quintile | replace('ORDER', 'purchase_amount') }} as sales_monetary_score
    from features
    where n_vehicles_bought > 0
),

valued as (
    select
        customer_id,
        purchase_amount + authorized_service_spend as lifetime_value,
        row_number() over (order by purchase_amount + authorized_service_spend desc, customer_id) as value_rank,
        count(*) over () as n_customers
    from features
),

tiered as (
    select
        customer_id,
        lifetime_value,
        case
            when lifetime_value <= 0 then 'no_revenue'
            when value_rank <= 0.2 * n_customers then 'vip'
            when value_rank <= 0.5 * n_customers then 'high'
            else 'standard'
        end as value_tier
    from valued
),

tier_shares as (
    select
        customer_id,
        lifetime_value,
        value_tier,
        cast(sum(lifetime_value) over (partition by value_tier) as double)
            / nullif(cast(sum(lifetime_value) over () as double), 0)
            as value_tier_revenue_share
    from tiered
),

service_users as (
    select
        customer_id,
        authorized_visit_share_24m,
        -- spend of the last 24 months over the years in them with service (at least one, at most two)
        service_spend_24m * 365.25 / least(730, greatest(365, days_since_first_service)) as annual_service_spend
    from features
    where n_authorized_visits_24m + n_independent_visits_24m > 0
),

loyalty_usage as (
    select
        customer_id,
        annual_service_spend,
        case
            when authorized_visit_share_24m = 1 then 'authorized_only'
            when authorized_visit_share_24m < 0.5 then 'independent_mostly'
            else 'mixed'
        end as service_loyalty,
        case
            when percent_rank() over (order by annual_service_spend) < cast(1 as double) / 3 then 'low'
            when percent_rank() over (order by annual_service_spend) < cast(2 as double) / 3 then 'medium'
            else 'high'
        end as service_usage
    from service_users
),

staged as (
    select
        features.customer_id,
        case
            when features.n_vehicles_bought = 0
                and features.n_service_visits = 0
                and owned_vehicles.customer_id is null
                and former_owners.customer_id is null
                then 'prospect'
            when features.days_since_last_authorized_service is not null
                and features.days_since_last_independent_service < features.days_since_last_authorized_service
                then 'defected'
            when owned_vehicles.days_since_latest_acquisition <= 365 or features.days_since_last_purchase <= 365
                then 'new_owner'
            when owned_vehicles.oldest_vehicle_age_days >= 4 * 365
                or owned_vehicles.max_estimated_mileage_km >= 100000
                or (owned_vehicles.customer_id is not null and features.days_since_last_purchase_signal <= 180)
                then 'repurchase_candidate'
            when features.days_since_last_authorized_service <= 365 then 'active_service'
            else 'lapsed'
        end as lifecycle_stage
    from features
    left join owned_vehicles on features.customer_id = owned_vehicles.customer_id
    left join former_owners on features.customer_id = former_owners.customer_id
),

final as (
    select
        customers.customer_id,
        mining_as_of.as_of_date,
        customers.customer_type,
        coalesce(staged.lifecycle_stage, 'no_history') as lifecycle_stage,
        coalesce(tier_shares.value_tier, 'no_revenue') as value_tier,
        coalesce(tier_shares.lifetime_value, 0) as lifetime_value,
        tier_shares.value_tier_revenue_share,
        service_rfm.service_recency_days,
        service_rfm.service_frequency_24m,
        service_rfm.service_monetary_24m,
        service_rfm.service_recency_score,
        service_rfm.service_frequency_score,
        service_rfm.service_monetary_score,
        {{ dbt.concat([
            'cast(service_rfm.service_recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(service_rfm.service_frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(service_rfm.service_monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as service_rfm,
        sales_rfm.sales_recency_days,
        sales_rfm.sales_frequency,
        sales_rfm.sales_monetary,
        sales_rfm.sales_recency_score,
        sales_rfm.sales_frequency_score,
        sales_rfm.sales_monetary_score,
        {{ dbt.concat([
            'cast(sales_rfm.sales_recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(sales_rfm.sales_frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(sales_rfm.sales_monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as sales_rfm,
        loyalty_usage.service_loyalty,
        loyalty_usage.annual_service_spend,
        loyalty_usage.service_usage,
        {{ dbt.concat(['loyalty_usage.service_loyalty', "' x '", 'loyalty_usage.service_usage']) }}
            as loyalty_usage_cell,
        clusters.cluster,
        clusters.cluster_label,
        coalesce(owned_vehicles.n_vehicles_owned, 0) as n_vehicles_owned,
        coalesce(consent.consent_marketing, false) as marketing_consent,
        consent.event_date as consent_stated_on,
        consent.source_system as consent_source_system,
        consent.source_record_id as consent_source_record_id,
        clv.p_alive,
        clv.expected_visits_12m,
        clv.expected_spend_12m,
        clv.clv_12m
    from customers
    cross join mining_as_of
    left join staged on customers.customer_id = staged.customer_id
    left join tier_shares on customers.customer_id = tier_shares.customer_id
    left join service_rfm on customers.customer_id = service_rfm.customer_id
    left join sales_rfm on customers.customer_id = sales_rfm.customer_id
    left join loyalty_usage on customers.customer_id = loyalty_usage.customer_id
    left join owned_vehicles on customers.customer_id = owned_vehicles.customer_id
    left join clusters on customers.customer_id = clusters.customer_id
    left join clv on customers.customer_id = clv.customer_id
    left join consent on customers.customer_id = consent.customer_id
)

select * from final
