{#- Today's campaign lists (on the as-of date), one row per customer and campaign (per vehicle for service
    reminders), only for customers whose latest marketing-consent statement (hotline or web sign-up) before
    the as-of date says yes and who have a mobile. No statement = no consent. -#}
with mining_as_of as (
    select * from {{ ref('mining_as_of') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

features as (
    select customer_features.*
    from {{ ref('customer_features') }} as customer_features
    inner join mining_as_of on customer_features.as_of_date = mining_as_of.as_of_date
),

vehicles as (
    select * from {{ ref('next_service_due') }}
),

customers as (
    select customer_id, name, mobile from {{ ref('dim_customer') }}
),

service_reminders as (
    select
        'service_reminder' as campaign,
        customer_id,
        vin,
        expected_next_service_date as due_date,
        {{ dbt.concat([
            "'next service expected in '", 'cast(days_until_due as ' ~ dbt.type_string() ~ ')', "' days'"
        ]) }} as reason
    from vehicles
    where days_until_due >= 0 and days_until_due < 30
),

win_back as (
    select
        'win_back' as campaign,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as vin,
        cast(null as date) as due_date,
        'last service at an independent garage' as reason
    from segments
    where lifecycle_stage = 'defected'
),

trade_in as (
    select
        'trade_in' as campaign,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as vin,
        cast(null as date) as due_date,
        'car over 4 years or 100,000 km, or shopping again' as reason
    from segments
    where lifecycle_stage = 'repurchase_candidate'
),

high_intent_prospects as (
    select
        'high_intent_prospect' as campaign,
        segments.customer_id,
        cast(null as {{ dbt.type_string() }}) as vin,
        cast(null as date) as due_date,
        'high purchase intent or test drive in the last 90 days' as reason
    from segments
    inner join features on segments.customer_id = features.customer_id
    where segments.lifecycle_stage = 'prospect' and features.has_high_intent_90d
),

targets as (
    select * from service_reminders
    union all
    select * from win_back
    union all
    select * from trade_in
    union all
    select * from high_intent_prospects
),

final as (
    select
        mining_as_of.as_of_date,
        targets.campaign,
        targets.customer_id,
        targets.vin,
        customers.name,
        customers.mobile,
        targets.due_date,
        targets.reason,
        segments.lifecycle_stage,
        segments.value_tier,
        segments.clv_12m,
        segments.consent_stated_on,
        segments.consent_source_system,
        segments.consent_source_record_id
    from targets
    cross join mining_as_of
    inner join segments on targets.customer_id = segments.customer_id
    inner join customers on targets.customer_id = customers.customer_id
    where segments.marketing_consent and customers.mobile is not null
)

select * from final
