with clustered as (
    select * from {{ source('matching', 'int_party_records_clustered') }}
),

final as (
    select
        source_system,
        source_record_id,
        customer_id,
        match_probability,
        match_reason,
        party_type as customer_type,
        vehicle_vin
    from clustered
)

select * from final
