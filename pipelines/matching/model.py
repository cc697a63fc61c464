"""The matching model as a lasting artefact, and the pair scores it has already given.

A run scores with the stored model: Splink's m and u, the prior, the term frequencies and the set of
common names it was trained with, and the match threshold chosen then. So a pair's score depends on the
pair and the model only, and a day's run scores just the pairs that touch new or changed records, keeping
every other pair's stored score: the same result as scoring everything again with the same model.
Training again is an explicit decision (the matching asset's `retrain_model` config, or no model yet).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from pipelines.matching.probabilistic import TrainedModel
from pipelines.matching.records import record_fingerprints

# Where the matching asset keeps them, in the intermediate schema.
MODEL_TABLE = "int_match_model"
TERM_FREQUENCY_TABLE = "int_match_term_frequencies"
SCORED_RECORDS_TABLE = "int_match_scored_records"
SCORED_PAIRS_TABLE = "int_match_pairs"
MODEL_COLUMNS = ["model_version", "settings_json", "threshold_match_weight", "trained_records", "trained_at"]


@dataclass(frozen=True)
class MatchingModel:
    splink: TrainedModel
    threshold_match_weight: float
    trained_records: int
    trained_at: str
    version: str  # fixed at training; an erasure may later drop term frequencies, the version stays

    @classmethod
    def trained(cls, splink: TrainedModel, threshold_match_weight: float, records: int) -> MatchingModel:
        """A newly trained model, its version a hash of what it is (the same training, the same version)."""
        tf = splink.term_frequencies
        canonical = pd.DataFrame(
            {
                "column_name": tf["column_name"].astype(str),
                "value": tf["value"].astype(str),
                "tf": tf["tf"].astype("float64"),
                "n": tf["n"].astype("int64"),
            }
        ).sort_values(["column_name", "value"])
        text = json.dumps([splink.settings, threshold_match_weight, records], sort_keys=True)
        text += canonical.to_csv(index=False, float_format="%.17g")
        return cls(
            splink,
            threshold_match_weight,
            records,
            datetime.now(UTC).isoformat(timespec="seconds"),
            hashlib.sha256(text.encode()).hexdigest()[:16],
        )

    def to_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One row describing the model, and its term frequencies."""
        row = [
            self.version,
            json.dumps(self.splink.settings, sort_keys=True),
            self.threshold_match_weight,
            self.trained_records,
            self.trained_at,
        ]
        return pd.DataFrame([row], columns=MODEL_COLUMNS), self.splink.term_frequencies

    @classmethod
    def from_frames(cls, model: pd.DataFrame, term_frequencies: pd.DataFrame) -> MatchingModel:
        (row,) = model.to_dict("records")
        return cls(
            TrainedModel(json.loads(row["settings_json"]), term_frequencies),
            float(row["threshold_match_weight"]),
            int(row["trained_records"]),
            str(row["trained_at"]),
            str(row["model_version"]),
        )


@dataclass(frozen=True)
class ScoredState:
    """What the last run scored: its candidate records with a fingerprint of what Splink compared, and
    every pair it kept (record keys on both sides), all under one model version."""

    model_version: str
    records: pd.DataFrame  # record_key, input_hash
    pairs: pd.DataFrame  # a_record_key, b_record_key, match_weight, match_probability


def input_hashes(frame: pd.DataFrame) -> pd.Series:
    """A fingerprint of each record's compared values (everything but its position), hashed by DuckDB as
    conforming fingerprints records: pandas' hash of the values as text took 6 s for 3.2M records at 1M
    customers. Hashes stored by another version (pandas', or another DuckDB's) cost one full scoring."""
    return pd.Series(record_fingerprints(frame.drop(columns="unique_id"), ""), index=frame.index)
