{{ config(alias='dim_vehicle') }}

with vehicles as (
    select * from {{ ref('dim_vehicle') }}
),

final as (
    select
        vin,
        model_code,
        model_name,
        selling_dealer_code,
        first_invoice_date,
        first_delivery_date,
        current_customer_id,
        current_owner_since,
        n_owners,
        {{ mask_plate('latest_plate') }} as latest_plate,
        n_service_orders,
        last_service_date,
        last_mileage_km
    from vehicles
)

select * from final
