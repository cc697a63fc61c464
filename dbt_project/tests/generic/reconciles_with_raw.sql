{#- Every landed raw row (file and line) is in the staging model once, and the model has no other rows:
    raw rows count +1 and staged rows -1 per file and line, and any line whose count is not 0 fails. One
    aggregate instead of an `except all` each way. -#}
{% test reconciles_with_raw(model, raw_tables) %}

with raw_rows as (
    {% for table in raw_tables %}
    select _file_path, _row_number, 1 as side from {{ source('raw', table) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

staged_rows as (
    select _file_path, _row_number, -1 as side from {{ model }}
),

balance as (
    select _file_path, _row_number, sum(side) as surplus
    from (
        select * from raw_rows
        union all
        select * from staged_rows
    ) as both_sides
    group by _file_path, _row_number
),

final as (
    select
        case when surplus > 0 then 'landed but not staged' else 'staged but not landed' end as problem,
        _file_path,
        _row_number,
        abs(surplus) as n_rows
    from balance
    where surplus <> 0
)

select * from final

{% endtest %}
