{#- Demographic profile read from the id itself, one row per customer with a readable id: for a person with a
    valid 18-digit resident id, birth date, age band on the as-of date, sex (17th digit odd = male) and the
    province of birth (the id's administrative code) against the province of residence; for a company with
    an 18-character credit code, the registering authority, entity category and province of registration.
    Full master only (schema marts): never exposed in the masked analyst views. -#}
{%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
{%- set provinces = {
    '11': '北京', '12': '天津', '13': '河北', '14': '山西', '15': '内蒙古', '21': '辽宁', '22': '吉林',
    '23': '黑龙江', '31': '上海', '32': '江苏', '33': '浙江', '34': '安徽', '35': '福建', '36': '江西',
    '37': '山东', '41': '河南', '42': '湖北', '43': '湖南', '44': '广东', '45': '广西', '46': '海南',
    '50': '重庆', '51': '四川', '52': '贵州', '53': '云南', '54': '西藏', '61': '陕西', '62': '甘肃',
    '63': '青海', '64': '宁夏', '65': '新疆', '71': '台湾', '81': '香港', '82': '澳门'} -%}

with as_of as (
    select as_of_date from {{ ref('mining_as_of') }}
),

customers as (
    select customer_id, customer_type, upper(id_number) as id_number, province
    from {{ ref('dim_customer') }}
    where id_number is not null and length(id_number) = 18
),

province_codes as (
    {% for code, name in provinces.items() -%}
    select '{{ code }}' as province_code, '{{ name }}' as province_name
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

-- Each of the first 17 characters as a digit (-1 when it is not one), with no cast that could fail.
person_digits as (
    select
        customers.*,
        {% for i in range(1, 18) -%}
        {{ dbt.position('substring(customers.id_number, ' ~ i ~ ', 1)', "'0123456789'") }} - 1 as d{{ i }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from customers
    where customers.customer_type = 'person'
),

persons as (
    select
        person_digits.*,
        {% for i in range(1, 18) %}{% if not loop.first %} and {% endif %}d{{ i }} >= 0{% endfor %}
            as is_numeric,
        mod({% for w in weights %}{% if not loop.first %} + {% endif %}d{{ loop.index }} * {{ w }}{% endfor %}, 11)
            as checksum,
        d7 * 1000 + d8 * 100 + d9 * 10 + d10 as birth_year,
        d11 * 10 + d12 as birth_month,
        d13 * 10 + d14 as birth_day,
        d17 as sex_digit
    from person_digits
),

-- ISO 7064 MOD 11-2 check character and a real calendar date (1900 or later) at positions 7-14.
dated_persons as (
    select
        persons.*,
        case
            when is_numeric and birth_year >= 1900 and birth_month between 1 and 12 and birth_day between 1 and 31
                then {{ dbt.dateadd('month', '(birth_year - 1900) * 12 + birth_month - 1', "cast('1900-01-01' as date)") }}
        end as birth_month_start
    from persons
),

valid_persons as (
    select
        dated_persons.*,
        cast({{ dbt.dateadd('day', 'birth_day - 1', 'birth_month_start') }} as date) as birth_date
    from dated_persons
    where is_numeric
        and substring('10X98765432', checksum + 1, 1) = substring(id_number, 18, 1)
        and birth_month_start is not null
        and {{ dbt.dateadd('day', 'birth_day - 1', 'birth_month_start') }}
            < {{ dbt.dateadd('month', 1, 'birth_month_start') }}
),

person_profiles as (
    select
        p.customer_id,
        p.customer_type,
        p.birth_date,
        {{ dbt.datediff('p.birth_date', 'as_of.as_of_date', 'year') }}
            - case
                when {{ dbt.dateadd('year', dbt.datediff('p.birth_date', 'as_of.as_of_date', 'year'), 'p.birth_date') }}
                    > as_of.as_of_date then 1 else 0
            end as age,
        case when mod(p.sex_digit, 2) = 1 then 'male' else 'female' end as sex,
        substring(p.id_number, 1, 6) as birth_region_code,
        birth.province_name as birth_province,
        p.province as residence_province,
        cast(null as {{ dbt.type_string() }}) as registering_authority,
        cast(null as {{ dbt.type_string() }}) as entity_category
    from valid_persons as p
    cross join as_of
    left join province_codes as birth on substring(p.id_number, 1, 2) = birth.province_code
),

company_profiles as (
    select
        c.customer_id,
        c.customer_type,
        cast(null as date) as birth_date,
        cast(null as integer) as age,
        cast(null as {{ dbt.type_string() }}) as sex,
        substring(c.id_number, 3, 6) as birth_region_code,
        reg.province_name as birth_province,
        c.province as residence_province,
        case substring(c.id_number, 1, 1)
            when '1' then 'institutional_staffing'
            when '5' then 'civil_affairs'
            when '9' then 'market_regulation'
            else 'other'
        end as registering_authority,
        case
            when substring(c.id_number, 1, 2) = '91' then 'enterprise'
            when substring(c.id_number, 1, 2) = '92' then 'individual_business'
            when substring(c.id_number, 1, 2) = '93' then 'farmers_cooperative'
            when substring(c.id_number, 1, 1) = '1' then 'public_institution'
            when substring(c.id_number, 1, 1) = '5' then 'social_organisation'
            else 'other'
        end as entity_category
    from customers as c
    left join province_codes as reg on substring(c.id_number, 3, 2) = reg.province_code
    where c.customer_type = 'company'
),

profiles as (
    select * from person_profiles
    union all
    select * from company_profiles
),

final as (
    select
        customer_id,
        customer_type,
        birth_date,
        age,
        case
            when age is null then null
            when age < 25 then 'under_25'
            when age < 35 then '25_34'
            when age < 45 then '35_44'
            when age < 55 then '45_54'
            when age < 65 then '55_64'
            else '65_plus'
        end as age_band,
        sex,
        birth_region_code,
        birth_province,
        residence_province,
        case
            when birth_province is null or residence_province is null then null
            else residence_province like birth_province || '%'
        end as lives_in_birth_province,
        registering_authority,
        entity_category
    from profiles
)

select * from final
