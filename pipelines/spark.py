"""A local Spark session over the warehouse's Spark side, the same one dbt's `spark` target opens.

dbt runs as a subprocess with a session of its own, and both share one Derby metastore and one table
folder under `Paths.spark_dir`. Embedded Derby admits one process at a time, so a session here lives for
one asset only: `spark_session()` stops it and ends its JVM on exit, which frees the metastore for dbt.
Keep `spark_conf` and the `spark` target in `dbt_project/profiles.yml` in step.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

SHUFFLE_PARTITIONS_ENV = "CRM_SPARK_SHUFFLE_PARTITIONS"


def spark_conf(spark_dir: Path, threads: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Session settings: local[threads], a Derby metastore and the table files inside `spark_dir`."""
    from splink.backends.spark import similarity_jar_location

    env = os.environ if environ is None else environ
    return {
        "spark.master": f"local[{threads}]",
        "spark.app.name": "crm",
        "spark.sql.warehouse.dir": str(spark_dir / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": "jdbc:derby:;databaseName=metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.sql.shuffle.partitions": env.get(SHUFFLE_PARTITIONS_ENV, "4"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.jars": similarity_jar_location(),
    }


def _end_jvm() -> None:
    """Close the py4j gateway and wait for its JVM (it exits when its stdin closes): Derby's lock goes
    with it, and the next session starts a fresh JVM."""
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None


@contextmanager
def spark_session(spark_dir: Path, threads: int) -> Iterator[SparkSession]:
    """A Hive-catalog session on the warehouse's metastore, gone (JVM included) when the block ends."""
    spark_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(spark_dir, threads).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()
        _end_jvm()
