{#- Fails for each non-null value that does not match the regular expression (whole value). -#}
{% test matches_pattern(model, column_name, pattern) %}

select {{ column_name }} as value
from {{ model }}
where {{ column_name }} is not null
    and not {{ full_match(column_name, pattern) }}

{% endtest %}
