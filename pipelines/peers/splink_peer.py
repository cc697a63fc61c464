"""Peer (b), Splink with the set-up a generic user would write, on the DuckDB backend.

Dedupe the conformed records with the columns as they come: blocking on mobile, id number, VIN and name
with city; comparisons on name (Splink's NameComparison: Jaro-Winkler levels, term frequencies on the exact
level), mobile, id number, e-mail, city and VIN; the prior from deterministic rules at the tutorial's
assumed recall, u by random sampling, m by EM over two blocking rules; clusters are connected components
of the pairs at the conventional match probability of 0.95. No parameter is set by hand or from truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from pipelines.peers.records import xref_from_labels

MATCH_THRESHOLD = 0.95
SPLINK_COLUMNS = ["name", "mobile", "id_number", "email", "city", "vin"]
# The Splink tutorial's assumption for the recall of its deterministic rules when estimating the prior.
DETERMINISTIC_RECALL = 0.7
# Pairs sampled for u: Splink's guide calls 1e7 adequate (its default 1e6 warns, 1e8+ is best and slow).
U_MAX_PAIRS = 1e7


@dataclass(frozen=True)
class SplinkRun:
    """Splink's clustering as an xref, the trained model (settings with m/u) and the pairs it linked."""

    xref: pd.DataFrame
    model: dict[str, Any]
    em_sessions: int
    linked_pairs: int


def settings() -> SettingsCreator:
    """The standard model: blocking on the strong keys and name+city, one comparison per column."""
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("mobile"),
            block_on("id_number"),
            block_on("vin"),
            block_on("name", "city"),
        ],
        comparisons=[
            cl.NameComparison("name"),
            cl.LevenshteinAtThresholds("mobile", [1, 2]),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.EmailComparison("email"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("vin", [1, 2]),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def splink_input(records: pd.DataFrame) -> pd.DataFrame:
    """Splink's input: a positional integer ``unique_id`` and the compared columns, blanks as nulls."""
    frame = records[SPLINK_COLUMNS].astype("string").replace("", pd.NA)
    frame.insert(0, "unique_id", np.arange(len(records), dtype=np.int64))
    return frame


def cluster_splink(
    records: pd.DataFrame,
    *,
    threshold: float = MATCH_THRESHOLD,
    u_max_pairs: float = U_MAX_PAIRS,
    seed: int = 1,
) -> SplinkRun:
    """Train Splink on ``records`` (unlabelled), predict, and cluster at ``threshold``."""
    with duckdb.connect(":memory:") as con:
        db_api = DuckDBAPI(connection=con)
        table = db_api.register(splink_input(records), table_name="party_records")
        linker = Linker(table, settings(), log_level=None)
        training = linker.training
        training.estimate_probability_two_random_records_match(
            [block_on("id_number"), block_on("mobile", "name")], recall=DETERMINISTIC_RECALL
        )
        training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        sessions = [
            training.estimate_parameters_using_expectation_maximisation(rule)
            for rule in (block_on("mobile"), block_on("name", "city"))
        ]
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        labels = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").order("unique_id").fetchdf()
        linked = predictions.as_duckdbpyrelation().count("*").fetchall()[0][0]
        model = linker.misc.save_model_to_json()
    if not np.array_equal(labels["unique_id"].to_numpy(), np.arange(len(records))):
        raise RuntimeError("Splink's clustering does not hold every input record exactly once")
    codes, _ = pd.factorize(labels["cluster_id"])
    return SplinkRun(
        xref=xref_from_labels(records, codes),
        model=model,
        em_sessions=len(sessions),
        linked_pairs=int(linked),
    )
