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
        _delivered_at
    from source
),

final as (
    select *, {{ is_latest_version('source_record_id') }} as is_latest_version
    from renamed
)

select * from final
