{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'call_center')]) }}",
    )
}}

with source as (
    select * from {{ source('raw', 'call_center') }}
),

renamed as (
    select
        'call_center' as source_system,
        trim(call_id) as source_record_id,
        trim(call_id) as call_id,
        {{ parse_local_timestamp('started_at') }} as started_at,
        case
            when lower(trim(caller_number)) in ('anonymous', 'unknown', '') then null
            else trim(caller_number)
        end as caller_number,
        {{ clean('caller_name') }} as caller_name,
        {{ clean('vin') }} as vin,
        {{ clean('plate_no') }} as plate_no,
        lower({{ clean('category') }}) as category,
        {{ clean('related_dealer_code') }} as related_dealer_code,
        {{ clean('related_station_code') }} as related_station_code,
        {{ clean('model_interest') }} as model_interest,
        lower({{ clean('purchase_intent') }}) as purchase_intent,
        {{ parse_bool('consent_marketing') }} as consent_marketing,
        {{ clean('notes') }} as notes,
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
