{#- Incremental staging over landed files. Every raw row carries `_loaded_at`, when its file was landed;
    a file delivered again (or now rejected) is landed again with a new `_loaded_at` and its old rows are
    gone from raw. A model keyed by `source_record_id` then rebuilds only the record ids that changed,
    each with all of its rows, so `is_latest_version` (a window over every row of an id) stays exact. -#}

{#- True once the table exists with `_loaded_at`; a table built before staging became incremental is
    rebuilt whole, once. -#}
{% macro staging_is_incremental() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {{ return('_loaded_at' in columns) }}
{%- endmacro %}

{#- Pre-hook: delete the rows whose file was landed again since the last build, compared file by file
    (tens of thousands of files rather than millions of rows). -#}
{% macro delete_relanded_rows(sources) -%}
    {%- if staging_is_incremental() %}
    delete from {{ this }}
    where (_file_path, _loaded_at) in (
        select _file_path, _loaded_at from {{ this }}
        except
        select _file_path, _loaded_at from (
            {%- for relation in sources %}
            select _file_path, _loaded_at from {{ relation }}
            {%- if not loop.last %}
            union all
            {%- endif %}
            {%- endfor %}
        ) as landed
    )
    {%- elif is_incremental() %}
    delete from {{ this }}
    {%- endif %}
{%- endmacro %}

{#- The record ids to rebuild: ids with rows landed since the last build, and ids whose newest row was
    just deleted with its file (their older rows may now be the newest): ids with older rows only, found
    among the few ids with older rows at all. -#}
{% macro records_to_build(relation) -%}
    select source_record_id from {{ relation }}
    where _loaded_at > (select coalesce(max(_loaded_at), '-infinity'::timestamptz) from {{ this }})
    union
    (
        select source_record_id from {{ this }} where not is_latest_version
        except
        select source_record_id from {{ this }}
        where is_latest_version
            and source_record_id in (select source_record_id from {{ this }} where not is_latest_version)
    )
{%- endmacro %}
