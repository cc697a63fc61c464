{{
    config(
        materialized='incremental',
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
        trim("销售单号") as order_no,
        {{ clean('"客户名称"') }} as customer_name,
        case trim("客户类型") when '个人' then 'person' when '单位' then 'company' end as customer_type,
        {{ clean('"证件类型"') }} as id_type_label,
        {{ clean('"证件号码"') }} as id_number,
        {{ clean('"手机号码"') }} as mobile,
        {{ clean('"联系电话"') }} as phone,
        {{ clean('"省份"') }} as province,
        {{ clean('"城市"') }} as city,
        {{ clean('"详细地址"') }} as address,
        {{ clean('"车架号"') }} as vin,
        {{ clean('"车型代码"') }} as model_code,
        {{ clean('"车型名称"') }} as model_name,
        {{ clean('"颜色"') }} as color,
        {{ parse_date('"开票日期"') }} as invoice_date,
        {{ parse_amount('"开票价格"') }} as invoice_price,
        {{ clean('"销售顾问"') }} as sales_rep,
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
        cast(null as varchar) as id_type_label,
        {{ clean('id_no') }} as id_number,
        {{ clean('mobile') }} as mobile,
        {{ clean('tel') }} as phone,
        cast(null as varchar) as province,
        cast(null as varchar) as city,
        {{ clean('addr') }} as address,
        {{ clean('vin') }} as vin,
        cast(null as varchar) as model_code,
        {{ clean('model') }} as model_name,
        cast(null as varchar) as color,
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
