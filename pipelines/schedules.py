"""The daily schedule: the whole graph every night, whatever the sensor has or has not seen."""

import dagster as dg

from pipelines.automation import MAIN_JOB

DAILY_CRON = "0 3 * * *"
TIMEZONE = "Asia/Shanghai"

daily_materialize_all = dg.ScheduleDefinition(
    name="daily_materialize_all",
    cron_schedule=DAILY_CRON,
    execution_timezone=TIMEZONE,
    job_name=MAIN_JOB,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"crm/trigger": "daily_schedule"},
    description="Materialises every asset at 03:00 Shanghai time; marts are then fresh for the working day.",
)
