{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'dealer_leads_vendor_a'), source('raw', 'dealer_leads_vendor_b')]) }}",
    )
}}

with vendor_a as (
    select * from {{ source('raw', 'dealer_leads_vendor_a') }}
),

vendor_b as (
    select * from {{ source('raw', 'dealer_leads_vendor_b') }}
),

renamed_a as (
    select
        _dealer_code as dealer_code,
        'A' as dms_vendor,
        trim({{ adapter.quote('线索编号') }}) as lead_no,
        {{ clean(adapter.quote('客户姓名')) }} as customer_name,
        {{ clean(adapter.quote('手机号码')) }} as mobile,
        {{ clean(adapter.quote('意向车型')) }} as model_interest,
        {{ parse_date(adapter.quote('到店日期')) }} as visit_date,
        {{ clean(adapter.quote('线索来源')) }} as channel,
        {{ parse_bool(adapter.quote('是否试驾')) }} as test_drive,
        _file_path,
        _row_number,
        _delivered_at,
        _loaded_at
    from vendor_a
),

renamed_b as (
    select
        _dealer_code as dealer_code,
        'B' as dms_vendor,
        trim(lead_no) as lead_no,
        {{ clean('name') }} as customer_name,
        {{ clean('mobile') }} as mobile,
        {{ clean('model') }} as model_interest,
        {{ parse_date('visit_date') }} as visit_date,
        {{ clean('channel') }} as channel,
        {{ parse_bool('test_drive') }} as test_drive,
        _file_path,
        _row_number,
        _delivered_at,
        _loaded_at
    from vendor_b
),

unioned as (
    select * from renamed_a
    union all
    select * from renamed_b
),

identified as (
    select
        'dealer_leads' as source_system,
        dealer_code || ':' || lead_no as source_record_id,
        *
    from unioned
),

final as (
    select *, {{ is_latest_version('source_record_id') }} as is_latest_version
    from identified
    {%- if staging_is_incremental() %}
    where source_record_id in ({{ records_to_build('identified') }})
    {%- endif %}
)

select * from final
