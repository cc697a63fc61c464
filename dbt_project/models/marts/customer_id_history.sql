with events as (
    select * from {{ source('matching', 'int_customer_id_events') }}
),

final as (
    select
        customer_id,
        event,
        related_customer_id,
        n_records,
        recorded_at
    from events
)

select * from final
