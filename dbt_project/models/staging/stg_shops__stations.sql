with source as (
    select * from {{ source('raw', 'stations') }}
),

renamed as (
    select
        {{ clean('station_code') }} as station_code,
        {{ clean('station_name') }} as station_name,
        lower({{ clean('station_type') }}) as station_type,
        {{ clean('province') }} as province,
        {{ clean('city') }} as city,
        lower({{ clean('encoding') }}) as file_encoding,
        _file_path,
        _row_number,
        _delivered_at
    from source
)

select * from renamed
