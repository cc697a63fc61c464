with ownership as (
    select * from {{ ref('fct_vehicle_ownership') }}
),

conformed as (
    select * from {{ source('matching', 'int_party_records_conformed') }}
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

xref as (
    select * from {{ ref('customer_xref') }}
),

sold as (
    select
        conformed.vin,
        min(sales.invoice_date) as first_invoice_date,
        min(sales.dealer_code) as selling_dealer_code,
        max(sales.model_code) as sales_model_code,
        max(sales.model_name) as model_name
    from sales
    inner join conformed
        on conformed.source_system = 'dealer_sales' and conformed.source_record_id = sales.source_record_id
    where conformed.vin is not null
    group by conformed.vin
),

registered as (
    select
        conformed.vin,
        min(registrations.delivery_date) as first_delivery_date,
        max(registrations.model_code) as model_code
    from registrations
    inner join conformed
        on conformed.source_system = 'vehicle_registrations'
        and conformed.source_record_id = registrations.source_record_id
    where conformed.vin is not null
    group by conformed.vin
),

serviced as (
    select
        xref.vehicle_vin as vin,
        count(*) as n_service_orders,
        max(service_orders.open_date) as last_service_date,
        max(service_orders.mileage_km) as last_mileage_km
    from service_orders
    inner join xref
        on xref.source_system = 'service_orders' and xref.source_record_id = service_orders.source_record_id
    where xref.vehicle_vin is not null
    group by xref.vehicle_vin
),

latest_plate as (
    select vin, plate
    from (
        select
            xref.vehicle_vin as vin,
            conformed.plate,
            row_number() over (
                partition by xref.vehicle_vin order by conformed.event_date desc, conformed.source_record_id
            ) as _pick
        from xref
        inner join conformed
            on xref.source_system = conformed.source_system
            and xref.source_record_id = conformed.source_record_id
        where xref.vehicle_vin is not null and conformed.plate is not null
    ) as candidates
    where _pick = 1
),

current_owner as (
    select vin, customer_id, owned_from, ownership_sequence
    from ownership
    where owned_to is null
),

vins as (
    select vin from ownership
    union
    select vin from sold
    union
    select vin from registered
),

final as (
    select
        vins.vin,
        coalesce(registered.model_code, sold.sales_model_code) as model_code,
        sold.model_name,
        sold.selling_dealer_code,
        sold.first_invoice_date,
        registered.first_delivery_date,
        current_owner.customer_id as current_customer_id,
        current_owner.owned_from as current_owner_since,
        coalesce(current_owner.ownership_sequence, 0) as n_owners,
        latest_plate.plate as latest_plate,
        coalesce(serviced.n_service_orders, 0) as n_service_orders,
        serviced.last_service_date,
        serviced.last_mileage_km
    from vins
    left join sold on vins.vin = sold.vin
    left join registered on vins.vin = registered.vin
    left join current_owner on vins.vin = current_owner.vin
    left join latest_plate on vins.vin = latest_plate.vin
    left join serviced on vins.vin = serviced.vin
)

select * from final
