{{
    config(
        materialized=incremental_materialized(),
        incremental_strategy='delete+insert',
        unique_key='source_record_id',
        pre_hook="{{ delete_relanded_rows([source('raw', 'dealer_sales_vendor_a'), source('raw', 'dealer_sales_vendor_b')]) }}",
    )
}}

with vendor_a as (
    select * from {{ source('raw', 'dealer_sales_vendor_a') }}
),

vendor_b as (
    select * from {{ source('raw', 'dealer_sales_vendor_b') }}
),

renamed_a as (
    select
        _dealer_code as dealer_code,
        'A' as dms_vendor,
        trim({{ adapter.quote('销售单号') }}) as order_no,
        {{ clean(adapter.quote('客户名称')) }} as customer_name,
        case trim({{ adapter.quote('客户类型') }}) when '个人' then 'person' when '单位' then 'company' end as customer_type,
        {{ clean(adapter.quote('证件类型')) }} as id_type_label,
        {{ clean(adapter.quote('证件号码')) }} as id_number,
        {{ clean(adapter.quote('手机号码')) }} as mobile,
        {{ clean(adapter.quote('联系电话')) }} as phone,
        {{ clean(adapter.quote('省份')) }} as province,
        {{ clean(adapter.quote('城市')) }} as city,
        {{ clean(adapter.quote('详细地址')) }} as address,
        {{ clean(adapter.quote('车架号')) }} as vin,
        {{ clean(adapter.quote('车型代码')) }} as model_code,
        {{ clean(adapter.quote('车型名称')) }} as model_name,
        {{ clean(adapter.quote('颜色')) }} as color,
        {{ parse_date(adapter.quote('开票日期')) }} as invoice_date,
        {{ parse_amount(adapter.quote('开票价格')) }} as invoice_price,
        {{ clean(adapter.quote('销售顾问')) }} as sales_rep,
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
        trim(order_no) as order_no,
        {{ clean('cust_name') }} as customer_name,
        case upper(trim(cust_type)) when 'P' then 'person' when 'C' then 'company' end as customer_type,
        cast(null as {{ dbt.type_string() }}) as id_type_label,
        {{ clean('id_no') }} as id_number,
        {{ clean('mobile') }} as mobile,
        {{ clean('tel') }} as phone,
        cast(null as {{ dbt.type_string() }}) as province,
        cast(null as {{ dbt.type_string() }}) as city,
        {{ clean('addr') }} as address,
        {{ clean('vin') }} as vin,
        cast(null as {{ dbt.type_string() }}) as model_code,
        {{ clean('model') }} as model_name,
        cast(null as {{ dbt.type_string() }}) as color,
        {{ parse_date('invoice_date') }} as invoice_date,
        {{ parse_amount('price') }} as invoice_price,
        {{ clean('sales_rep') }} as sales_rep,
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
        'dealer_sales' as source_system,
        dealer_code || ':' || order_no as source_record_id,
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
