{#- The contract's accounting, file by file: data rows = rows staged + rows quarantined, as the load
    manifest records them; a rejected file has exactly one file-level quarantine row and nothing staged;
    nothing is staged or quarantined for a file the manifest does not know. -#}
{{ config(meta={'dagster': {'ref': {'name': 'stg_dms__dealers'}}}) }}

with manifest as (
    select * from {{ source('raw', 'load_manifest') }}
),

quarantine as (
    select * from {{ source('raw', 'quarantine') }}
),

staged as (
    {% for model in ['stg_dms__dealers', 'stg_shops__stations', 'stg_dms__sales', 'stg_dms__leads',
                     'stg_oem__vehicle_registrations', 'stg_oem__calls', 'stg_oem__web_registrations',
                     'stg_shops__service_orders'] %}
    select _file_path as file_path from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

staged_per_file as (
    select file_path, count(*) as rows_staged from staged group by file_path
),

quarantined_per_file as (
    select
        file_path,
        count(*) filter (where line_number is not null) as rows_quarantined,
        count(*) filter (where line_number is null) as file_rejections
    from quarantine
    group by file_path
),

accounted as (
    select
        coalesce(manifest.file_path, staged_per_file.file_path, quarantined_per_file.file_path) as file_path,
        manifest.file_path is not null as in_manifest,
        coalesce(manifest.rows_loaded, 0) as rows_loaded,
        coalesce(manifest.rows_quarantined, 0) as manifest_rows_quarantined,
        manifest.file_rejected_reason,
        coalesce(staged_per_file.rows_staged, 0) as rows_staged,
        coalesce(quarantined_per_file.rows_quarantined, 0) as rows_quarantined,
        coalesce(quarantined_per_file.file_rejections, 0) as file_rejections
    from manifest
    full outer join staged_per_file on manifest.file_path = staged_per_file.file_path
    full outer join quarantined_per_file
        on coalesce(manifest.file_path, staged_per_file.file_path) = quarantined_per_file.file_path
),

final as (
    select *
    from accounted
    where not in_manifest
        or rows_staged <> rows_loaded
        or rows_quarantined <> manifest_rows_quarantined
        or file_rejections <> (case when file_rejected_reason is null then 0 else 1 end)
        or (file_rejected_reason is not null and rows_staged + rows_quarantined > 0)
)

select * from final
