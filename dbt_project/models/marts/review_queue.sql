with pairs as (
    select * from {{ source('matching', 'int_match_review_pairs') }}
),

records as (
    select * from {{ source('matching', 'int_party_records_conformed') }}
),

xref as (
    select * from {{ ref('customer_xref') }}
),

side_by_side as (
    select
        pairs.a_source_system,
        pairs.a_source_record_id,
        pairs.b_source_system,
        pairs.b_source_record_id,
        pairs.match_probability,
        pairs.match_weight,
        xref_a.customer_id as a_customer_id,
        xref_b.customer_id as b_customer_id,
        a.name as a_name,
        b.name as b_name,
        a.mobile as a_mobile,
        b.mobile as b_mobile,
        a.id_number as a_id_number,
        b.id_number as b_id_number,
        a.email as a_email,
        b.email as b_email,
        a.city as a_city,
        b.city as b_city,
        a.event_date as a_event_date,
        b.event_date as b_event_date
    from pairs
    inner join records as a
        on pairs.a_source_system = a.source_system and pairs.a_source_record_id = a.source_record_id
    inner join records as b
        on pairs.b_source_system = b.source_system and pairs.b_source_record_id = b.source_record_id
    inner join xref as xref_a
        on pairs.a_source_system = xref_a.source_system and pairs.a_source_record_id = xref_a.source_record_id
    inner join xref as xref_b
        on pairs.b_source_system = xref_b.source_system and pairs.b_source_record_id = xref_b.source_record_id
),

final as (
    select * from side_by_side
)

select * from final
