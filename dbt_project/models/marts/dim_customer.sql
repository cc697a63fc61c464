{#- Rebuilt by customer on DuckDB: only the customers whose records changed (macros/incremental_customers.sql).
    With its contract enforced, it fails on a changed schema: rebuild it whole then. -#}
{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ stage_customer_inputs(dim_customer_inputs(), customer_rebuild_mode()) }}",
            "{{ delete_rebuilt_customers(customer_rebuild_mode()) }}",
        ],
        post_hook="{{ record_customer_inputs() }}",
    )
}}

with xref as (
    select * from {{ ref('customer_xref') }}
    {%- if customer_rebuild_mode() == 'changed' %}
    where customer_id in ({{ rebuilt_customers() }})
    {%- endif %}
),

conformed as (
    select * from {{ source('matching', 'int_party_records_conformed') }}
),

customer_records as (
    select
        xref.customer_id,
        xref.customer_type as record_customer_type,
        conformed.*,
        -- Trust order of sources for golden values: the warranty registration is checked by the maker.
        case conformed.source_system
            when 'vehicle_registrations' then 1
            when 'dealer_sales' then 2
            when 'service_orders' then 3
            when 'web_registrations' then 4
            when 'dealer_leads' then 5
            else 6
        end as source_rank
    from xref
    inner join conformed
        on xref.source_system = conformed.source_system
        and xref.source_record_id = conformed.source_record_id
),

mobile_counts as (
    select customer_id, mobile, count(*) as n_records_with_mobile
    from customer_records
    where mobile is not null
    group by customer_id, mobile
),

customer_records_with_counts as (
    select customer_records.*, mobile_counts.n_records_with_mobile
    from customer_records
    left join mobile_counts
        on customer_records.customer_id = mobile_counts.customer_id
        and customer_records.mobile = mobile_counts.mobile
),

summary as (
    select
        customer_id,
        case when max(case when record_customer_type = 'company' then 1 else 0 end) = 1
            then 'company' else 'person' end as customer_type,
        min(event_date) as first_seen_at,
        max(event_date) as last_seen_at,
        count(*) as n_source_records
    from customer_records
    group by customer_id
),

golden_name as (
    {{ golden_attribute('name', 'name', 'name is not null',
        'is_full_name desc, source_rank, event_date desc nulls last, source_record_id') }}
),

golden_mobile as (
    {{ golden_attribute('mobile', 'mobile', 'mobile is not null',
        'n_records_with_mobile desc, event_date desc nulls last, source_rank, source_record_id',
        records='customer_records_with_counts') }}
),

golden_id as (
    {{ golden_attribute('id_number', 'id_number', 'id_number is not null',
        'id_is_valid desc, source_rank, event_date desc nulls last, source_record_id') }}
),

golden_address as (
    {{ golden_attribute('address', 'address', 'address is not null',
        'source_rank, event_date desc nulls last, source_record_id') }}
),

golden_geo as (
    select customer_id, province, city
    from (
        select
            customer_id, province, city,
            row_number() over (
                partition by customer_id order by source_rank, event_date desc nulls last, source_record_id
            ) as _pick
        from customer_records
        where city is not null or province is not null
    ) as candidates
    where _pick = 1
),

final as (
    select
        summary.customer_id,
        summary.customer_type,
        golden_name.name,
        golden_mobile.mobile,
        golden_id.id_number,
        golden_geo.province,
        golden_geo.city,
        golden_address.address,
        summary.first_seen_at,
        summary.last_seen_at,
        summary.n_source_records,
        golden_name.name_source_system,
        golden_name.name_source_record_id,
        golden_mobile.mobile_source_system,
        golden_mobile.mobile_source_record_id,
        golden_id.id_number_source_system,
        golden_id.id_number_source_record_id,
        golden_address.address_source_system,
        golden_address.address_source_record_id
    from summary
    left join golden_name on summary.customer_id = golden_name.customer_id
    left join golden_mobile on summary.customer_id = golden_mobile.customer_id
    left join golden_id on summary.customer_id = golden_id.customer_id
    left join golden_geo on summary.customer_id = golden_geo.customer_id
    left join golden_address on summary.customer_id = golden_address.customer_id
)

select * from final
