{#- Masking for analyst-facing views: enough to count, group and join, not to contact or identify. -#}

{#- '+8613800138000' -> '138****8000': the first 3 and last 4 digits of the national number. -#}
{% macro mask_phone(expr) -%}
    case
        when {{ expr }} is null then null
        when length({{ national_digits(expr) }}) < 8 then '****'
        else left({{ national_digits(expr) }}, 3) || '****'
            || right({{ national_digits(expr) }}, 4)
    end
{%- endmacro %}

{#- '110101199003071234' -> '1101**********1234': region prefix and last 4 kept, birth date hidden. -#}
{% macro mask_id(expr) -%}
    case
        when {{ expr }} is null then null
        when length({{ expr }}) <= 8 then repeat('*', length({{ expr }}))
        else left({{ expr }}, 4) || repeat('*', length({{ expr }}) - 8) || right({{ expr }}, 4)
    end
{%- endmacro %}

{#- A person's name keeps its first character (the surname): '张伟' -> '张*'. Company names stay. -#}
{% macro mask_person_name(name, customer_type) -%}
    case
        when {{ name }} is null then null
        when {{ customer_type }} = 'company' then {{ name }}
        else left({{ name }}, 1) || repeat('*', greatest(length({{ name }}) - 1, 1))
    end
{%- endmacro %}

{#- '沪A12345' -> '沪A***45'. -#}
{% macro mask_plate(expr) -%}
    case
        when {{ expr }} is null then null
        when length({{ expr }}) <= 4 then repeat('*', length({{ expr }}))
        else left({{ expr }}, 2) || repeat('*', length({{ expr }}) - 4) || right({{ expr }}, 2)
    end
{%- endmacro %}

{#- The digits of a phone without its +86 prefix. -#}
{% macro national_digits(expr) -%}
    {{ return(adapter.dispatch('national_digits', 'crm')(expr)) }}
{%- endmacro %}

{% macro default__national_digits(expr) -%}
    regexp_replace({{ expr }}, '^\+86|\D', '', 'g')
{%- endmacro %}

{% macro spark__national_digits(expr) -%}
    regexp_replace({{ expr }}, '^\\+86|\\D', '')
{%- endmacro %}
