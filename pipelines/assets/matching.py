"""Conforming and matching in Python, between the dbt staging/intermediate models and the marts."""

from collections.abc import Sequence

import dagster as dg
import duckdb
import pandas as pd

from pipelines.automation import is_full_rebuild
from pipelines.matching.backends import splink_on_spark
from pipelines.matching.matcher import match, read_match_records
from pipelines.matching.model import (
    MODEL_TABLE,
    SCORED_PAIRS_TABLE,
    SCORED_RECORDS_TABLE,
    TERM_FREQUENCY_TABLE,
    MatchingModel,
    ScoredState,
)
from pipelines.matching.records import FINGERPRINT, Reconformed, conform_records, reconform_records
from pipelines.observability import match_metadata
from pipelines.resources import Warehouse
from pipelines.tables import DuckDBTables, Tables

SCHEMA = "intermediate"
GROUP = "intermediate"
KINDS = {"python", "pandas", "duckdb"}
OWNERS = ["team:data-platform"]


UNIONED = "int_party_records_unioned"
CONFORMED = "int_party_records_conformed"
# What the conformed table says about its records, from the stored table or the Arrow table just made.
CONFORMED_COUNTS = """
select count(*) as rows, count(*) filter (where identifies_customer) as identifying, count(mobile) as mobiles,
       count(*) filter (where id_is_valid) as valid_ids, count(vin) as full_vins
from {}
"""


@dg.asset(
    key=[SCHEMA, CONFORMED],
    deps=[dg.AssetKey([SCHEMA, UNIONED])],
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description=(
        "Every party record with its name (simplified, pinyin key), mobile (E.164), resident id or credit "
        "code, VIN, plate, e-mail and address conformed by the libraries, each with its validity, and "
        "whether the record identifies a customer at all. Each row keeps a fingerprint of its raw values "
        "and of the conforming code: on DuckDB a run conforms only the records with a new fingerprint and "
        "keeps the stored rows of the others (the `full_rebuild` job conforms every record)."
    ),
)
def int_party_records_conformed(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.tables() as tables:
        # The records are read in the calls, so that conforming frees the raw values it is done with.
        if isinstance(tables, DuckDBTables) and not is_full_rebuild(context) and _has_fingerprints(tables):
            outcome = reconform_records(tables.con, tables.read(SCHEMA, UNIONED), f"{SCHEMA}.{CONFORMED}")
            counts = tables.con.execute(CONFORMED_COUNTS.format(f"{SCHEMA}.{CONFORMED}")).fetchall()[0]
        else:
            conformed = conform_records(tables.read(SCHEMA, UNIONED))
            outcome = Reconformed(reused=0, conformed=conformed.num_rows)
            tables.replace(SCHEMA, CONFORMED, conformed)
            counts = (
                duckdb.from_arrow(conformed)
                .query("conformed", CONFORMED_COUNTS.format("conformed"))
                .fetchall()[0]
            )
    rows, identifying, mobiles, valid_ids, full_vins = counts
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "records_conformed": outcome.conformed,
            "records_reused": outcome.reused,
            "records_identifying_a_customer": identifying,
            "records_identifying_nobody": rows - identifying,
            "valid_mobiles": mobiles,
            "valid_ids": valid_ids,
            "full_vins": full_vins,
        }
    )


def _has_fingerprints(tables: DuckDBTables) -> bool:
    """Whether a conformed table is stored and keeps its records' fingerprints (tables before them do not)."""
    if not tables.exists(SCHEMA, CONFORMED):
        return False
    return FINGERPRINT in tables.con.sql(f"select * from {SCHEMA}.{CONFORMED} limit 0").columns


STEWARDSHIP = [
    dg.AssetKey(["stewardship", "manual_must_link"]),
    dg.AssetKey(["stewardship", "manual_cannot_link"]),
]


def _read_or_none(
    tables: Tables, schema: str, table: str, columns: Sequence[str] | None = None
) -> pd.DataFrame | None:
    return tables.read(schema, table, columns=columns) if tables.exists(schema, table) else None


def _id_events(events: pd.DataFrame) -> pd.DataFrame:
    """The run's id events as `int_customer_id_events` rows, stamped now."""
    return pd.DataFrame(
        {
            "customer_id": events["customer_id"].astype("string"),
            "event": events["event"].astype("string"),
            "related_customer_id": events["related_customer_id"].astype("string"),
            "n_records": events["n_records"].astype("int64"),
            "recorded_at": pd.Series(
                pd.Timestamp.now(tz="UTC"), index=events.index, dtype="datetime64[us, UTC]"
            ),
        }
    )


class MatchingConfig(dg.Config):
    retrain_model: bool = False


def _stored_model(tables: Tables, retrain: bool) -> MatchingModel | None:
    """The stored matching model, unless retraining is asked for or there is none yet."""
    if retrain or not tables.exists(SCHEMA, MODEL_TABLE):
        return None
    return MatchingModel.from_frames(
        tables.read(SCHEMA, MODEL_TABLE), tables.read(SCHEMA, TERM_FREQUENCY_TABLE)
    )


def _stored_state(tables: Tables) -> ScoredState | None:
    """What the last run scored, under the model version it was scored with."""
    records = _read_or_none(tables, SCHEMA, SCORED_RECORDS_TABLE)
    pairs = _read_or_none(tables, SCHEMA, SCORED_PAIRS_TABLE)
    if records is None or pairs is None or records.empty:
        return None
    version = str(records["model_version"].iloc[0])
    return ScoredState(version, records.drop(columns="model_version"), pairs.drop(columns="model_version"))


def _store(tables: Tables, model: MatchingModel, state: ScoredState) -> None:
    model_row, term_frequencies = model.to_frames()
    tables.replace(SCHEMA, MODEL_TABLE, model_row)
    tables.replace(SCHEMA, TERM_FREQUENCY_TABLE, term_frequencies)
    tables.replace(SCHEMA, SCORED_RECORDS_TABLE, state.records.assign(model_version=state.model_version))
    tables.replace(SCHEMA, SCORED_PAIRS_TABLE, state.pairs.assign(model_version=state.model_version))


@dg.asset(
    key=[SCHEMA, "int_party_records_clustered"],
    deps=[int_party_records_conformed, *STEWARDSHIP],
    group_name=GROUP,
    kinds={"python", "splink", "duckdb"},
    owners=OWNERS,
    description=(
        "One row per record that identifies a customer, with its lifelong customer_id, the strongest link "
        "that put it in its cluster and that link's probability. Exact evidence (ids, mobile+name, VIN and "
        "plate ownership periods, fleets), the stewards' must-link and cannot-link seeds, and Splink's "
        "probabilistic links, clustered under constraints; ids are inherited from the previous run by "
        "overlap. Pairs are scored with the stored matching model (trained on the first run, or when "
        "`retrain_model` is set), and only pairs touching new or changed records are scored again. Also "
        "writes the model, the scored pairs, the review queue's pairs, the id events and the parameters."
    ),
)
def int_party_records_clustered(
    context: dg.AssetExecutionContext, warehouse: Warehouse, config: MatchingConfig
) -> dg.MaterializeResult:
    with warehouse.tables() as tables:
        key_and_id = ["source_system", "source_record_id", "customer_id"]
        last = _read_or_none(tables, SCHEMA, "int_party_records_clustered", key_and_id)
        previous = None
        if last is not None:
            previous = pd.DataFrame(
                {
                    "record_key": last["source_system"] + ":" + last["source_record_id"],
                    "customer_id": last["customer_id"],
                }
            )
        must = _read_or_none(tables, "stewardship", "manual_must_link")
        cannot = _read_or_none(tables, "stewardship", "manual_cannot_link")
        model = _stored_model(tables, config.retrain_model)
        state = _stored_state(tables) if model is not None else None
        with splink_on_spark(getattr(tables, "spark", None)):
            # The records are read in the call, so that they are freed before the results are written.
            result = match(
                read_match_records(tables),
                previous,
                must,
                cannot,
                warehouse.thread_count,
                model=model,
                state=state,
            )
        _store(tables, result.model, result.state)
        tables.replace(SCHEMA, "int_party_records_clustered", result.xref)
        tables.replace(SCHEMA, "int_match_review_pairs", result.review_pairs)
        tables.replace(SCHEMA, "int_match_parameters", result.parameters)
        tables.append(SCHEMA, "int_customer_id_events", _id_events(result.id_events))
    context.log.info(f"matching: {result.stats}")
    sizes = result.xref.groupby("customer_id").size()
    distribution = sizes.value_counts().sort_index()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(result.xref),
            **result.stats,
            **match_metadata(sizes.to_numpy(), review_queue_size=len(result.review_pairs)),
            "id_events": dg.MetadataValue.json(result.id_events["event"].value_counts().to_dict()),
            "cluster_sizes": dg.MetadataValue.md(
                "| records per customer | customers |\n|---:|---:|\n"
                + "\n".join(f"| {size} | {count} |" for size, count in distribution.items())
            ),
            "link_reasons": dg.MetadataValue.json(result.xref["match_reason"].value_counts().to_dict()),
        }
    )


matching_assets = [int_party_records_conformed, int_party_records_clustered]
