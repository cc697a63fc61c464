{{ config(alias='customer_xref') }}

with xref as (
    select * from {{ ref('customer_xref') }}
),

final as (
    select
        source_system,
        source_record_id,
        customer_id,
        match_probability,
        match_reason,
        customer_type,
        vehicle_vin
    from xref
)

select * from final
