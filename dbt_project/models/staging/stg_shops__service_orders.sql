{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'service_orders')]) }}",
    )
}}

with source as (
    select * from {{ source('raw', 'service_orders') }}
),

renamed as (
    select
        'service_orders' as source_system,
        _station_code || ':' || trim(ro_no) as source_record_id,
        _station_code as station_code,
        trim(ro_no) as ro_no,
        {{ parse_date('open_date') }} as open_date,
        {{ parse_date('close_date') }} as close_date,
        {{ clean('plate_no') }} as plate_no,
        {{ clean('vin') }} as vin,
        {{ clean('customer_name') }} as customer_name,
        {{ clean('contact_phone') }} as contact_phone,
        try_cast({{ parse_amount('mileage_km') }} as integer) as mileage_km,
        {{ clean('service_type') }} as service_type,
        {{ parse_amount('labor_amount') }} as labor_amount,
        {{ parse_amount('parts_amount') }} as parts_amount,
        {{ parse_amount('total_amount') }} as total_amount,
        {{ clean('advisor') }} as advisor,
        _file_path,
        _row_number,
        _delivered_at,
        _loaded_at
    from source
),

final as (
    select *, {{ is_latest_version('source_record_id') }} as is_latest_version
    from renamed
    {%- if staging_is_incremental() %}
    where source_record_id in ({{ records_to_build('renamed') }})
    {%- endif %}
)

select * from final
