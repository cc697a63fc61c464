{#- The extract partners may receive: one row per customer who consented to marketing, keyed by a salted
    SHA-256 pseudonym of the customer_id (salt from var `partner_salt` or env CRM_PARTNER_SALT; keep it
    secret, and keep it fixed so keys stay stable between extracts). No name, phone, id number, address,
    VIN, plate or customer_id; region coarsened to the province, CLV to bands. -#}
{%- set salt = var('partner_salt', env_var('CRM_PARTNER_SALT', 'crm-development-salt')) -%}
{%- set salted_id = "concat('" ~ dbt.escape_single_quotes(salt) ~ "', '|', segments.customer_id)" -%}

with segments as (
    select * from {{ ref('customer_segments') }}
),

customers as (
    select customer_id, province from {{ ref('dim_customer') }}
),

final as (
    select
        {% if target.type == 'spark' -%}
        sha2({{ salted_id }}, 256)
        {%- else -%}
        {{ sha256_hex(salted_id) }}
        {%- endif %} as partner_key,
        segments.as_of_date,
        segments.customer_type,
        customers.province,
        segments.lifecycle_stage,
        segments.value_tier,
        segments.service_rfm,
        segments.sales_rfm,
        segments.service_loyalty,
        segments.service_usage,
        segments.cluster,
        segments.n_vehicles_owned,
        round(segments.p_alive, 2) as p_alive,
        case
            when segments.clv_12m is null then null
            when segments.clv_12m < 1000 then 'under 1k'
            when segments.clv_12m < 5000 then '1k-5k'
            when segments.clv_12m < 20000 then '5k-20k'
            else '20k+'
        end as clv_12m_band
    from segments
    left join customers on segments.customer_id = customers.customer_id
    where segments.marketing_consent
)

select * from final
