{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'web_registrations')]) }}",
    )
}}

with source as (
    select * from {{ source('raw', 'web_registrations') }}
),

renamed as (
    select
        'web_registrations' as source_system,
        trim(reg_id) as source_record_id,
        trim(reg_id) as reg_id,
        {{ parse_local_timestamp('registered_at') }} as registered_at,
        lower({{ clean('email') }}) as email,
        {{ clean('nickname') }} as nickname,
        {{ clean('name') }} as customer_name,
        {{ clean('mobile') }} as mobile,
        {{ clean('province') }} as province,
        {{ clean('city') }} as city,
        {{ clean('model_interest') }} as model_interest,
        {{ clean('budget_range') }} as budget_range,
        {{ parse_bool('consent_marketing') }} as consent_marketing,
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
