{{ config(alias='dim_customer') }}

with customers as (
    select * from {{ ref('dim_customer') }}
),

final as (
    select
        customer_id,
        customer_type,
        {{ mask_person_name('name', 'customer_type') }} as name,
        {{ mask_phone('mobile') }} as mobile,
        {{ mask_id('id_number') }} as id_number,
        province,
        city,
        first_seen_at,
        last_seen_at,
        n_source_records,
        name_source_system,
        mobile_source_system,
        id_number_source_system,
        address_source_system
    from customers
)

select * from final
