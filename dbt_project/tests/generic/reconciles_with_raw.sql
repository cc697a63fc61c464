{#- Every landed raw row (file and line) is in the staging model once, and the model has no other rows. -#}
{% test reconciles_with_raw(model, raw_tables) %}

with raw_rows as (
    {% for table in raw_tables %}
    select _file_path, _row_number from {{ source('raw', table) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

staged_rows as (
    select _file_path, _row_number from {{ model }}
),

missing as (
    select 'landed but not staged' as problem, * from (select * from raw_rows except all select * from staged_rows)
),

unexpected as (
    select 'staged but not landed' as problem, * from (select * from staged_rows except all select * from raw_rows)
),

final as (
    select * from missing
    union all
    select * from unexpected
)

select * from final

{% endtest %}
