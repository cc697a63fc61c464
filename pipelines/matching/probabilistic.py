"""Probabilistic person matching with Splink (DuckDB here; the same settings run on Splink's Spark backend).

The comparisons read Chinese names through their pinyin keys, which are ASCII, so Splink's string
distances (which count UTF-8 bytes in DuckDB) measure characters: exact simplified name, the same pinyin
(homophones such as 张伟/张玮, traditional forms, pinyin spellings), the same syllables in either order
(Wei Zhang), a near pinyin spelling, or only a compatible surname (张先生). Name and mobile carry
term-frequency adjustments, so a 张伟 or a family phone counts for less. Every m and u is estimated from
the unlabelled data (u by random sampling, m by EM); the match threshold is chosen on the distribution of
match weights (Otsu), not fitted to labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.database_api import DatabaseAPISubClass

from pipelines.matching.backends import Closable, splink_db_api
from pipelines.tables import plain_text

logger = logging.getLogger(__name__)

COLUMNS = [
    "unique_id",
    "name",
    "name_key",
    "name_key_unordered",
    "surname_key",
    "is_full_name",
    "mobile",
    "id_number",
    "email",
    "city",
    "sex",
    "rare_name",
]
# A name shared by more records than this is too common to block on alone (pairs grow with its square).
RARE_NAME_RECORDS = 10
MIN_THRESHOLD_PROBABILITY = 0.9


def _name_comparison() -> cl.CustomComparison:
    full = "is_full_name_l and is_full_name_r"
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.And(cll.ExactMatchLevel("name", term_frequency_adjustments=True), cll.CustomLevel(full)),
            cll.And(cll.ExactMatchLevel("name_key", term_frequency_adjustments=True), cll.CustomLevel(full)),
            cll.And(cll.ExactMatchLevel("name_key_unordered"), cll.CustomLevel(full)),
            cll.And(cll.JaroWinklerLevel("name_key", 0.92), cll.CustomLevel(full)),
            cll.And(
                cll.ExactMatchLevel("surname_key"),
                cll.CustomLevel("not (is_full_name_l and is_full_name_r)"),
            ),
            cll.ElseLevel(),
        ],
    )


# Records sharing a value of one of these are compared (the blocking rules below).
BLOCKING_COLUMNS = ("mobile", "id_number", "email", "rare_name")


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[block_on(column) for column in BLOCKING_COLUMNS],
        comparisons=[
            _name_comparison(),
            cl.CustomComparison(
                output_column_name="mobile",
                comparison_levels=[
                    cll.NullLevel("mobile"),
                    cll.ExactMatchLevel("mobile", term_frequency_adjustments=True),
                    cll.LevenshteinLevel("mobile", 1),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("id_number"),
            cl.ExactMatch("email"),
            cl.ExactMatch("city"),
            cl.ExactMatch("sex"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


TF_COLUMNS = ("name", "name_key", "mobile")
PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
# Pairs scored below this probability are not kept (nor reviewed).
KEEP_PROBABILITY = 0.05


@dataclass(frozen=True)
class TrainedModel:
    """Splink's model (m, u and the prior, as its JSON) and the term frequencies it was trained with."""

    settings: dict
    term_frequencies: pd.DataFrame  # column_name, value, tf, n

    def common_names(self) -> set[str]:
        tf = self.term_frequencies
        return set(tf.loc[tf["column_name"].eq("name_key") & (tf["n"] > RARE_NAME_RECORDS), "value"])


@dataclass(frozen=True)
class ScoredPairs:
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_weight, match_probability
    parameters: pd.DataFrame  # comparison, level, m, u as estimated


def splink_input(records: pd.DataFrame, common_names: set[str] | None = None) -> pd.DataFrame:
    """The person records Splink compares, keyed by their position; a name blocks alone unless common
    (more than RARE_NAME_RECORDS records in the model's training population, or here when none given)."""
    if common_names is None:
        counts = records["name_key"].value_counts()
        common_names = set(counts.index[counts > RARE_NAME_RECORDS])
    rare = records["is_full_name"] & ~records["name_key"].isin(common_names)
    frame = pd.DataFrame(
        {
            "unique_id": records.index.to_numpy(),
            "name": records["name"].where(records["is_full_name"]),
            "name_key": records["name_key"],
            "name_key_unordered": records["name_key_unordered"],
            "surname_key": plain_text(records["surname_key"]),
            "is_full_name": records["is_full_name"],
            "mobile": records["mobile"],
            "id_number": records["id_number"].where(
                records["id_is_valid"] & records["id_kind"].eq("resident_id")
            ),
            "email": records["email"],
            "city": plain_text(records["city"]),
            "sex": plain_text(records["sex"]),
            "rare_name": records["name_key"].where(rare),
        }
    )
    return frame[COLUMNS]


def choose_threshold(weights: np.ndarray) -> float:
    """Otsu's threshold on the match weights of the pairs still undecided, never below probability 0.9."""
    floor = float(np.log2(MIN_THRESHOLD_PROBABILITY / (1 - MIN_THRESHOLD_PROBABILITY)))
    return max(otsu_threshold(weights), floor) if len(weights) else floor


def weight_to_probability(weight: float) -> float:
    return float(2**weight / (1 + 2**weight))


def otsu_threshold(weights: np.ndarray, bins: int = 100) -> float:
    """The match weight that best separates the two modes of the weight distribution (Otsu, 1979)."""
    if len(weights) < 2 or np.ptp(weights) == 0:
        return float(weights[0]) if len(weights) else 0.0
    hist, edges = np.histogram(weights, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(edges[1:][np.argmax(between)])


def _db_api(threads: int) -> tuple[DatabaseAPISubClass, Closable]:
    """DuckDB in-process, or the run's Spark session on the Spark engine (see `backends`)."""
    return splink_db_api(threads)


def _train_em(linker: Linker, table, column: str) -> Linker:
    """One EM session; where EM drives a level's m to zero (a level never seen among matches: Splink
    refuses such a value) the session is dropped and the model stays as it was before it."""
    before = linker.misc.save_model_to_json()
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(column))
    except ValueError as error:
        if "below the minimum allowed" not in str(error):
            raise
        logger.warning("EM session blocked on %s dropped: %s", column, error)
        return Linker(table, before, log_level=logging.WARNING)
    return linker


def train(records: pd.DataFrame, threads: int = 2, seed: int = 42) -> TrainedModel:
    """Estimate the model on these records: the prior from deterministic rules, u by random sampling,
    m by EM blocked on mobile then on rare names; term frequencies from the same records."""
    frame = splink_input(records)
    db_api, con = _db_api(threads)
    try:
        table = db_api.register(frame, dataset_display_name="party_records")
        linker = Linker(table, settings(), log_level=logging.WARNING)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("id_number"), block_on("mobile", "name_key")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
        linker = _train_em(linker, table, "mobile")
        linker = _train_em(linker, table, "rare_name")
        # Splink names each linker at random; the name is no part of the model.
        model = {k: v for k, v in linker.misc.save_model_to_json().items() if k != "linker_uid"}
        frequencies = []
        for column in TF_COLUMNS:
            tf = linker.table_management.compute_tf_table(column).as_pandas_dataframe()
            counts = frame[column].value_counts().rename("n")
            tf = tf.rename(columns={column: "value", f"tf_{column}": "tf"}).join(counts, on="value")
            frequencies.append(tf.assign(column_name=column)[["column_name", "value", "tf", "n"]])
    finally:
        con.close()
    return TrainedModel(model, pd.concat(frequencies, ignore_index=True))


def predict(frame: pd.DataFrame, model: TrainedModel, threads: int = 2) -> ScoredPairs:
    """Score every blocked pair of `frame` (splink_input rows) with the model and its frozen term
    frequencies, so a pair's score depends on the pair and the model only, not on the other records."""
    db_api, con = _db_api(threads)
    try:
        table = db_api.register(frame, dataset_display_name="party_records")
        linker = Linker(table, model.settings, log_level=logging.WARNING)
        tf = model.term_frequencies
        for column in TF_COLUMNS:
            lookup = tf.loc[tf["column_name"].eq(column), ["value", "tf"]]
            lookup = lookup.rename(columns={"value": column, "tf": f"tf_{column}"})
            linker.table_management.register_term_frequency_lookup(
                db_api.register(lookup.reset_index(drop=True), dataset_display_name=f"tf_{column}"), column
            )
        if frame.empty:
            pairs = pd.DataFrame(columns=PAIR_COLUMNS)
        else:
            predictions = linker.inference.predict(threshold_match_probability=KEEP_PROBABILITY)
            pairs = predictions.as_pandas_dataframe()[PAIR_COLUMNS]
        parameters = pd.DataFrame(
            [
                {
                    "comparison": comparison.output_column_name,
                    "level": level.label_for_charts,
                    "m_probability": level.m_probability,
                    "u_probability": level.u_probability,
                }
                for comparison in linker._settings_obj.comparisons
                for level in comparison.comparison_levels
                if not level.is_null_level
            ]
        )
    finally:
        con.close()
    return ScoredPairs(pairs, parameters)


def score_pairs(records: pd.DataFrame, threads: int = 2, seed: int = 42) -> ScoredPairs:
    """Train on these records, then score every blocked pair of them."""
    model = train(records, threads=threads, seed=seed)
    return predict(splink_input(records, model.common_names()), model, threads=threads)
