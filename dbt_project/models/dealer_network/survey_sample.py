"""Monthly satisfaction-callback sample: per month, up to `survey_per_stratum` consenting customers per dealer
(recent buyers) and per authorised station (recent service customers), drawn at random from a seed, never
anyone sampled in the six months before. The same candidates and seed give the same sample."""

import numpy as np
import pandas as pd

EXCLUSION_MONTHS = 6
STRATUM = ["unit_type", "unit_code"]


def _month_index(months: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(months)
    return stamps.dt.year * 12 + stamps.dt.month - 1


def draw(candidates: pd.DataFrame, seed: int, per_stratum: int) -> pd.DataFrame:
    """Month by month, oldest first: shuffle the month's consenting candidates with a generator seeded by
    (seed, month), then take each in turn while its stratum has room, the customer is not already in this
    month's sample and was not sampled in the previous EXCLUSION_MONTHS months."""
    pool = candidates[candidates["has_consent"].astype(bool)].copy()
    pool["month_index"] = _month_index(pool["sample_month"])
    last_sampled: dict[str, int] = {}
    picked = []
    for month, group in pool.sort_values(["month_index", *STRATUM, "customer_id"]).groupby("month_index"):
        eligible = group.groupby(STRATUM).size().to_dict()
        order = np.random.default_rng([seed, int(month)]).permutation(len(group))
        taken: dict[tuple[str, str], int] = {}
        in_month: set[str] = set()
        for position, row in enumerate(group.iloc[order].itertuples(index=False)):
            key = (row.unit_type, row.unit_code)
            earlier = last_sampled.get(row.customer_id)
            if taken.get(key, 0) >= per_stratum or row.customer_id in in_month:
                continue
            if earlier is not None and month - earlier <= EXCLUSION_MONTHS:
                continue
            taken[key] = taken.get(key, 0) + 1
            in_month.add(row.customer_id)
            picked.append({**row._asdict(), "draw_position": position + 1, "stratum_eligible": eligible[key]})
        for customer in in_month:
            last_sampled[customer] = int(month)
    columns = [*candidates.columns, "draw_position", "stratum_eligible"]
    sample = pd.DataFrame(picked, columns=[*columns, "month_index"])[columns].astype(
        {"draw_position": "int64", "stratum_eligible": "int64"}
    )
    sample["sample_month"] = pd.to_datetime(sample["sample_month"]).dt.date
    sample["seed"] = seed
    return sample.sort_values(["sample_month", *STRATUM, "draw_position"]).reset_index(drop=True)


def model(dbt, session):
    dbt.config(materialized="table")
    candidates = dbt.ref("survey_candidates").df()
    seed = int(dbt.config.get("survey_seed") or 20260101)
    per_stratum = int(dbt.config.get("survey_per_stratum") or 3)
    return draw(candidates, seed, per_stratum)
