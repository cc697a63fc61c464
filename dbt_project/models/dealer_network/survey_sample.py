"""Monthly satisfaction-callback sample: per month, up to `survey_per_stratum` consenting customers per dealer
(recent buyers) and per authorised station (recent service customers), drawn at random from a seed, never
anyone sampled in the six months before. The same candidates and seed give the same sample."""

from itertools import pairwise

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
    pool = candidates[candidates["has_consent"].astype(bool)]
    pool = pool.assign(month_index=_month_index(pool["sample_month"])).sort_values(
        ["month_index", *STRATUM, "customer_id"], ignore_index=True
    )
    months = pool["month_index"].to_numpy()
    customers, customer_ids = pd.factorize(pool["customer_id"])
    strata = pool.groupby(STRATUM, sort=False).ngroup().to_numpy()
    eligible = pool.groupby(["month_index", *STRATUM], sort=False)["customer_id"].transform("size").to_numpy()
    last_sampled = np.full(len(customer_ids), np.iinfo(np.int64).min // 2)
    picked: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    edges = [0, *(np.flatnonzero(np.diff(months)) + 1).tolist(), len(pool)] if len(pool) else []
    for start, end in pairwise(edges):
        month = int(months[start])
        rows = start + np.random.default_rng([seed, month]).permutation(end - start)
        # who the history already excludes is fixed for the month; the loop decides the rest in draw order
        open_rows = np.flatnonzero(month - last_sampled[customers[rows]] > EXCLUSION_MONTHS)
        taken: dict[int, int] = {}
        in_month: set[int] = set()
        chosen: list[int] = []
        for position, customer, stratum in zip(
            open_rows.tolist(),
            customers[rows[open_rows]].tolist(),
            strata[rows[open_rows]].tolist(),
            strict=True,
        ):
            if taken.get(stratum, 0) >= per_stratum or customer in in_month:
                continue
            taken[stratum] = taken.get(stratum, 0) + 1
            in_month.add(customer)
            chosen.append(position)
        chosen_positions = np.asarray(chosen, dtype=np.int64)
        picked.append(rows[chosen_positions])
        positions.append(chosen_positions + 1)
        last_sampled[customers[rows[chosen_positions]]] = month
    taken_rows = np.concatenate(picked) if picked else np.array([], dtype=np.int64)
    sample = pool.iloc[taken_rows][list(candidates.columns)].reset_index(drop=True)
    sample["draw_position"] = np.concatenate(positions) if positions else np.array([], dtype=np.int64)
    sample["stratum_eligible"] = eligible[taken_rows].astype("int64")
    sample["sample_month"] = pd.to_datetime(sample["sample_month"]).dt.date
    sample["seed"] = seed
    return sample.sort_values(["sample_month", *STRATUM, "draw_position"]).reset_index(drop=True)


def model(dbt, session):
    dbt.config(materialized="table")
    # only consenting candidates can be drawn: the rest stay in the warehouse
    candidates = dbt.ref("survey_candidates").filter("has_consent").df()
    seed = int(dbt.config.get("survey_seed") or 20260101)
    per_stratum = int(dbt.config.get("survey_per_stratum") or 3)
    return draw(candidates, seed, per_stratum)
