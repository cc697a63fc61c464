with sales as (
    select * from {{ ref('stg_dms__sales') }} where is_latest_version
),

leads as (
    select * from {{ ref('stg_dms__leads') }} where is_latest_version
),

registrations as (
    select * from {{ ref('stg_oem__vehicle_registrations') }} where is_latest_version
),

calls as (
    select * from {{ ref('stg_oem__calls') }} where is_latest_version
),

web as (
    select * from {{ ref('stg_oem__web_registrations') }} where is_latest_version
),

service_orders as (
    select * from {{ ref('stg_shops__service_orders') }} where is_latest_version
),

party_records as (
    select
        source_system, source_record_id, invoice_date as event_date, customer_type as party_type_hint,
        customer_name as name_raw, mobile as phone_raw, phone as phone_alt_raw, id_type_label,
        id_number as id_raw, vin as vin_raw, cast(null as {{ dbt.type_string() }}) as plate_raw,
        cast(null as {{ dbt.type_string() }}) as email_raw, province as province_raw, city as city_raw,
        address as address_raw, dealer_code, cast(null as {{ dbt.type_string() }}) as station_code
    from sales
    union all
    select
        source_system, source_record_id, visit_date, null, customer_name, mobile, null, null,
        null, null, null, null, null, null, null, dealer_code, null
    from leads
    union all
    select
        source_system, source_record_id, delivery_date, customer_type, owner_name, mobile, null,
        id_type_label, id_number, vin, null, null, province, city, address, dealer_code, null
    from registrations
    union all
    select
        source_system, source_record_id, cast(started_at as date), null, caller_name, caller_number,
        null, null, null, vin, plate_no, null, null, null, null, related_dealer_code,
        related_station_code
    from calls
    union all
    select
        source_system, source_record_id, cast(registered_at as date), null, customer_name, mobile,
        null, null, null, null, null, email, province, city, null, null, null
    from web
    union all
    select
        source_system, source_record_id, open_date, null, customer_name, contact_phone, null, null,
        null, vin, plate_no, null, null, null, null, null, station_code
    from service_orders
),

{#- Sorted only when every record is conformed anew, which keeps this order for matching to read. -#}
{%- set conformed = adapter.get_relation(this.database, this.schema, 'int_party_records_conformed') if execute else none %}
final as (
    select * from party_records
    {%- if flags.FULL_REFRESH or conformed is none %}
    order by source_system, source_record_id
    {%- endif %}
)

select * from final
