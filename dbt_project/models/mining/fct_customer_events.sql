{#- Every dated record that belongs to a customer, in one shape: the event history the mining tables read. -#}
with xref as (
    select * from {{ ref('customer_xref') }}
),

sales as (
    select * from {{ ref('stg_dms__sales') }} where is_latest_version
),

registrations as (
    select * from {{ ref('stg_oem__vehicle_registrations') }} where is_latest_version
),

service_orders as (
    select * from {{ ref('stg_shops__service_orders') }} where is_latest_version
),

stations as (
    select station_code, max(station_type) as station_type
    from {{ ref('stg_shops__stations') }}
    group by station_code
),

calls as (
    select * from {{ ref('stg_oem__calls') }} where is_latest_version
),

web as (
    select * from {{ ref('stg_oem__web_registrations') }} where is_latest_version
),

leads as (
    select * from {{ ref('stg_dms__leads') }} where is_latest_version
),

sale_events as (
    select
        source_system,
        source_record_id,
        'purchase' as event_type,
        invoice_date as event_date,
        cast(invoice_date as timestamp) as event_at,
        cast(invoice_price as decimal(18, 2)) as amount,
        dealer_code,
        cast(null as {{ dbt.type_string() }}) as station_code,
        cast(null as {{ dbt.type_string() }}) as service_kind,
        cast(null as integer) as mileage_km,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as purchase_intent,
        cast(null as boolean) as test_drive,
        cast(null as boolean) as consent_marketing,
        model_name as model_interest
    from sales
),

registration_events as (
    select
        source_system,
        source_record_id,
        'registration' as event_type,
        delivery_date as event_date,
        cast(delivery_date as timestamp) as event_at,
        cast(null as decimal(18, 2)) as amount,
        dealer_code,
        cast(null as {{ dbt.type_string() }}) as station_code,
        cast(null as {{ dbt.type_string() }}) as service_kind,
        cast(null as integer) as mileage_km,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as purchase_intent,
        cast(null as boolean) as test_drive,
        cast(null as boolean) as consent_marketing,
        model_code as model_interest
    from registrations
),

service_events as (
    select
        source_system,
        source_record_id,
        'service' as event_type,
        open_date as event_date,
        cast(open_date as timestamp) as event_at,
        cast(total_amount as decimal(18, 2)) as amount,
        cast(null as {{ dbt.type_string() }}) as dealer_code,
        station_code,
        case service_type
            when '保养' then 'maintenance'
            when '维修' then 'repair'
            when '钣喷' then 'body'
            when '保修' then 'warranty'
            when '召回' then 'recall'
            else 'other'
        end as service_kind,
        mileage_km,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as purchase_intent,
        cast(null as boolean) as test_drive,
        cast(null as boolean) as consent_marketing,
        cast(null as {{ dbt.type_string() }}) as model_interest
    from service_orders
),

call_events as (
    select
        source_system,
        source_record_id,
        'call' as event_type,
        cast(started_at as date) as event_date,
        started_at as event_at,
        cast(null as decimal(18, 2)) as amount,
        related_dealer_code as dealer_code,
        related_station_code as station_code,
        cast(null as {{ dbt.type_string() }}) as service_kind,
        cast(null as integer) as mileage_km,
        category,
        purchase_intent,
        cast(null as boolean) as test_drive,
        consent_marketing,
        model_interest
    from calls
),

web_events as (
    select
        source_system,
        source_record_id,
        'web_signup' as event_type,
        cast(registered_at as date) as event_date,
        registered_at as event_at,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ dbt.type_string() }}) as dealer_code,
        cast(null as {{ dbt.type_string() }}) as station_code,
        cast(null as {{ dbt.type_string() }}) as service_kind,
        cast(null as integer) as mileage_km,
        'web_signup' as category,
        cast(null as {{ dbt.type_string() }}) as purchase_intent,
        cast(null as boolean) as test_drive,
        consent_marketing,
        model_interest
    from web
),

lead_events as (
    select
        source_system,
        source_record_id,
        'showroom_visit' as event_type,
        visit_date as event_date,
        cast(visit_date as timestamp) as event_at,
        cast(null as decimal(18, 2)) as amount,
        dealer_code,
        cast(null as {{ dbt.type_string() }}) as station_code,
        cast(null as {{ dbt.type_string() }}) as service_kind,
        cast(null as integer) as mileage_km,
        'showroom_visit' as category,
        case when test_drive then 'high' else 'medium' end as purchase_intent,
        test_drive,
        cast(null as boolean) as consent_marketing,
        model_interest
    from leads
),

unioned as (
    select * from sale_events
    union all
    select * from registration_events
    union all
    select * from service_events
    union all
    select * from call_events
    union all
    select * from web_events
    union all
    select * from lead_events
),

final as (
    select
        xref.customer_id,
        unioned.source_system,
        unioned.source_record_id,
        unioned.event_type,
        unioned.event_date,
        unioned.event_at,
        xref.vehicle_vin as vin,
        unioned.amount,
        unioned.dealer_code,
        unioned.station_code,
        stations.station_type,
        unioned.service_kind,
        unioned.mileage_km,
        unioned.category,
        unioned.purchase_intent,
        unioned.test_drive,
        unioned.consent_marketing,
        unioned.model_interest
    from unioned
    inner join xref
        on unioned.source_system = xref.source_system
        and unioned.source_record_id = xref.source_record_id
    left join stations
        on unioned.event_type = 'service'
        and unioned.station_code = stations.station_code
    where unioned.event_date is not null
)

select * from final
