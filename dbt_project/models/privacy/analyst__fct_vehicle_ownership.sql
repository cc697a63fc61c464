{{ config(alias='fct_vehicle_ownership') }}

with ownership as (
    select * from {{ ref('fct_vehicle_ownership') }}
),

final as (
    select vin, customer_id, owned_from, owned_to, ownership_sequence, n_events
    from ownership
)

select * from final
