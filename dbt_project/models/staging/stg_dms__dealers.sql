with source as (
    select * from {{ source('raw', 'dealers') }}
),

renamed as (
    select
        {{ clean('dealer_code') }} as dealer_code,
        {{ clean('dealer_name') }} as dealer_name,
        {{ clean('province') }} as province,
        {{ clean('city') }} as city,
        upper({{ clean('dms_vendor') }}) as dms_vendor,
        {{ parse_date('opened_on') }} as opened_on,
        _file_path,
        _row_number,
        _delivered_at
    from source
)

select * from renamed
