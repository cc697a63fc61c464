{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'vehicle_registrations')]) }}",
    )
}}

with source as (
    select * from {{ source('raw', 'vehicle_registrations') }}
),

renamed as (
    select
        'vehicle_registrations' as source_system,
        trim(registration_id) as source_record_id,
        trim(registration_id) as registration_id,
        {{ clean('vin') }} as vin,
        {{ clean('owner_name') }} as owner_name,
        case lower(trim(owner_type)) when 'individual' then 'person' when 'company' then 'company' end
            as customer_type,
        {{ clean('id_type') }} as id_type_label,
        {{ clean('id_number') }} as id_number,
        {{ clean('mobile') }} as mobile,
        {{ clean('province') }} as province,
        {{ clean('city') }} as city,
        {{ clean('address') }} as address,
        {{ parse_date('delivery_date') }} as delivery_date,
        {{ clean('dealer_code') }} as dealer_code,
        {{ clean('model_code') }} as model_code,
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
