"""Customer lifetime value on service visits: BG/NBD for visits and P(alive), Gamma-Gamma for spend.

Time is measured in weeks (lifetimes' `freq="D"` with `freq_multiplier=7`, so recency and T keep their
fractions, as in Fader, Hardie and Lee's CDNOW tables). A visit is a day with at least one repair order; its
spend is that day's total. Persons and companies (fleets) are fitted apart: one population each.

The models are fitted at the first run of each as-of month and stored; later runs of the month score every
customer with them (`stored_models`, `pipelines.mining.refits`).

Both fits are plain maximum likelihood, bounded. lifetimes minimises with BFGS and raises ConvergenceError
whenever scipy reports no success; on service data the BG/NBD optimum lies on the edge of the parameter space
(almost no dropout, nearly regular visits), where BFGS stops with "precision loss". Bounds on the
log-parameters make scipy use L-BFGS-B, which converges there; for Gamma-Gamma lifetimes' own `q_constraint`
(q >= 1, needed for a finite mean spend) does the same. Neither changes an interior optimum such as CDNOW's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.mining.refits import fit_date_this_month

with warnings.catch_warnings():
    # lifetimes 0.11.3 warns on import: it uses pkg_resources (setuptools<81 keeps it) and sets pandas'
    # `mode.chained_assignment`, a no-op since pandas 3.
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

WEEKS_PER_MONTH = 365.25 / 12 / 7
MONTHLY_DISCOUNT_RATE = 0.01  # about 12.7 % a year, lifetimes' default
WEEKS_PER_CLV_MONTH = 4.345  # lifetimes' month in weeks for the value (`freq="W"`)
# log r, log alpha (weeks), log a, log b: wide enough for any retail or service population.
BGNBD_LOG_BOUNDS = ((-5.0, 5.0), (-5.0, 12.0), (-10.0, 5.0), (-10.0, 10.0))
MIN_GROUP_CUSTOMERS = 50  # also the least history worth a fit: with fewer customers predictions stay null
MIN_REPEAT_CUSTOMERS = 10  # Gamma-Gamma needs customers with paid repeat visits
PREDICTIONS = ("p_alive", "expected_visits", "expected_spend_per_visit", "expected_spend", "clv")
BGNBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")
HOLDOUT_FIELDS = ("cutoff", "customers", "predicted_visits", "actual_visits")


@dataclass(frozen=True)
class ClvModels:
    bgnbd: BetaGeoFitter
    gamma_gamma: GammaGammaFitter


@dataclass(frozen=True)
class ClvFit:
    """Fitted models per group and, per customer, the RFM summary with the predictions."""

    models: dict[str, ClvModels]
    customers: pd.DataFrame


# lifetimes' `summary_data_from_transaction_data` in SQL: its pandas group-bys took 9 s of 4.6M visits at
# 1M customers, DuckDB 1 s. Per customer: repeat visit days, first to last visit day and first visit day to
# the day before `as_of` in weeks, and the mean spend of the repeat visit days (0 without one).
VISIT_SUMMARY = """
with visit_days as (
    select customer_id, cast(event_date as date) as visit_day, sum(coalesce(amount, 0)) as spend
    from visits
    where cast(event_date as date) < $as_of
    group by customer_id, cast(event_date as date)
),

numbered as (
    select *, row_number() over (partition by customer_id order by visit_day) as nth
    from visit_days
)

select
    customer_id,
    count(*) - 1 as frequency,
    date_diff('day', min(visit_day), max(visit_day)) / 7 as recency,
    date_diff('day', min(visit_day), cast($as_of as date) - 1) / 7 as "T",
    coalesce(avg(spend) filter (where nth > 1), 0) as monetary_value
from numbered
group by customer_id
order by customer_id
"""


def visit_summary(visits: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """frequency (repeat visit days), recency and T (weeks) and monetary_value (mean spend of the repeat
    visits) per customer_id, from the `visits` (customer_id, event_date, amount) strictly before `as_of`:
    lifetimes' summary (`freq="D"`, `freq_multiplier=7`, ending the day before `as_of`), in DuckDB."""
    with duckdb.connect() as con:
        con.register("visits", visits[["customer_id", "event_date", "amount"]])
        summary = con.execute(VISIT_SUMMARY, {"as_of": as_of}).df()
    return summary.set_index("customer_id").astype(float)


def _quiet_fit(model, *args, **kwargs):
    # autograd evaluates log(0) on the way to the optimum (lifetimes handles the infinities), and lifetimes
    # always passes `disp`, an L-BFGS-B option scipy 1.17 deprecates (to be dropped in 1.18).
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", "scipy.optimize: The `disp` and `iprint`", DeprecationWarning)
        return model.fit(*args, **kwargs)


def fit_bgnbd(summary: pd.DataFrame) -> BetaGeoFitter:
    model = BetaGeoFitter(penalizer_coef=0.0)
    _quiet_fit(model, summary["frequency"], summary["recency"], summary["T"], bounds=BGNBD_LOG_BOUNDS)
    return model


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGammaFitter:
    """Fitted on customers with repeat visits and positive mean spend, as the model requires."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    model = GammaGammaFitter(penalizer_coef=0.0)
    _quiet_fit(model, repeat["frequency"], repeat["monetary_value"], q_constraint=True)
    return model


def expected_visits(bgnbd: BetaGeoFitter, summary: pd.DataFrame, months: int = 12) -> np.ndarray:
    """Each customer's expected visits over the next `months` (BG/NBD)."""
    return np.asarray(
        bgnbd.conditional_expected_number_of_purchases_up_to_time(
            months * WEEKS_PER_MONTH, summary["frequency"], summary["recency"], summary["T"]
        )
    )


def predict(models: ClvModels, summary: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """P(alive), expected visits, spend per visit, spend and discounted CLV over the next `months`."""
    bgnbd, gamma_gamma = models.bgnbd, models.gamma_gamma
    f, r, t, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"]
    visits = expected_visits(bgnbd, summary, months)
    # Without a repeat visit (frequency 0) the Gamma-Gamma posterior is the population mean.
    spend_per_visit = np.asarray(gamma_gamma.conditional_expected_average_profit(f, m))
    return summary.assign(
        p_alive=np.asarray(bgnbd.conditional_probability_alive(f, r, t)),
        expected_visits=visits,
        expected_spend_per_visit=spend_per_visit,
        expected_spend=visits * spend_per_visit,
        clv=discounted_value(bgnbd, spend_per_visit, summary, months),
    )


def discounted_value(
    bgnbd: BetaGeoFitter, spend_per_visit: np.ndarray, summary: pd.DataFrame, months: int = 12
) -> np.ndarray:
    """Gamma-Gamma's `customer_lifetime_value` (freq "W"): each month's expected visits times the spend per
    visit, discounted monthly. lifetimes predicts every month's start and end apart (24 hypergeometric
    evaluations for 12 months: 15 s of 567k customers at 1M); the cumulative predictions here are made once
    per month boundary (13)."""
    f, r, t = summary["frequency"], summary["recency"], summary["T"]
    cumulative = [
        np.asarray(
            bgnbd.conditional_expected_number_of_purchases_up_to_time(step * WEEKS_PER_CLV_MONTH, f, r, t)
        )
        for step in range(months + 1)
    ]
    value = np.zeros(len(summary))
    for step in range(1, months + 1):
        value += (
            spend_per_visit * (cumulative[step] - cumulative[step - 1]) / (1 + MONTHLY_DISCOUNT_RATE) ** step
        )
    return value


def model_groups(summary: pd.DataFrame, groups: pd.Series | None) -> pd.Series:
    """Each customer's model group: its label in `groups`, or "all" for everyone without `groups` or while
    any group has fewer than MIN_GROUP_CUSTOMERS customers."""
    if groups is None:
        return pd.Series("all", index=summary.index)
    group = groups.reindex(summary.index).fillna("unknown").astype(str)
    if group.empty or (group.value_counts() < MIN_GROUP_CUSTOMERS).any():
        return pd.Series("all", index=summary.index)
    return group


def _group_parts(summary: pd.DataFrame, groups: pd.Series | None) -> list[tuple[str, pd.DataFrame]]:
    """The summary split by model group, each fitted apart."""
    group = model_groups(summary, groups)
    return [(name, summary[group == name]) for name in sorted(group.unique())]


def enough_history(summary: pd.DataFrame) -> bool:
    repeat = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    return len(summary) >= MIN_GROUP_CUSTOMERS and int(repeat.sum()) >= MIN_REPEAT_CUSTOMERS


def fit_clv(visits: pd.DataFrame, as_of: date, groups: pd.Series | None = None, months: int = 12) -> ClvFit:
    """Summarise `visits` (customer_id, event_date, amount) before `as_of`, fit both models per group
    (`groups`: a label per customer_id, e.g. its customer_type), and predict the next `months`. With too
    little history (a new deployment, a small test set) nothing is fitted and the predictions are null."""
    summary = visit_summary(visits, as_of)
    if not enough_history(summary):
        return ClvFit({}, summary.assign(**dict.fromkeys(PREDICTIONS, np.nan), model_group=None))
    parts = _group_parts(summary, groups)
    models = {name: ClvModels(fit_bgnbd(part), fit_gamma_gamma(part)) for name, part in parts}
    return _scored(models, parts, months)


def _scored(models: dict[str, ClvModels], parts: list[tuple[str, pd.DataFrame]], months: int) -> ClvFit:
    """Each group's part of the summary predicted with that group's models."""
    return ClvFit(
        models,
        pd.concat([predict(models[name], part, months).assign(model_group=name) for name, part in parts]),
    )


def holdout_visits(
    visits: pd.DataFrame, as_of: date, groups: pd.Series | None = None, months: int = 12
) -> dict:
    """Fit BG/NBD on the visits before `as_of` less `months`, predict the following `months` and count the
    visits that happened then, over the customers known at the cut-off: the check a CLV model must pass.
    Only the visit counts are checked, so neither Gamma-Gamma nor the value is computed."""
    cutoff = (pd.Timestamp(as_of) - pd.DateOffset(months=months)).date()
    summary = visit_summary(visits, cutoff)
    predicted = None
    if enough_history(summary):
        parts = _group_parts(summary, groups)
        visits_per_part = [expected_visits(fit_bgnbd(part), part, months).sum() for _, part in parts]
        predicted = round(float(sum(visits_per_part)), 1)
    dates = pd.to_datetime(visits["event_date"])
    window = visits[(dates >= pd.Timestamp(cutoff)) & (dates < pd.Timestamp(as_of))]
    window = window[window["customer_id"].isin(summary.index)]
    return {
        "cutoff": cutoff.isoformat(),
        "customers": len(summary),
        "predicted_visits": predicted,
        "actual_visits": int(window.drop_duplicates(["customer_id", "event_date"]).shape[0]),
    }


def clv_version() -> str:
    """What the fitted models depend on besides the visits: this module and the lifetimes release."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(importlib.metadata.version("lifetimes").encode())
    return digest.hexdigest()[:16]


def models_frame(models: dict[str, ClvModels], as_of: date, holdout: dict) -> pd.DataFrame:
    """The fitted models as one row per group, with the as-of date and holdout of their fit, to store."""
    version = clv_version()
    return pd.DataFrame(
        [
            {
                "model_group": name,
                "fitted_as_of": pd.Timestamp(as_of),
                "code_version": version,
                **{k: float(fitted.bgnbd.params_[k]) for k in BGNBD_PARAMETERS},
                **{k: float(fitted.gamma_gamma.params_[k]) for k in GAMMA_GAMMA_PARAMETERS},
                **{f"holdout_{k}": holdout[k] for k in HOLDOUT_FIELDS},
            }
            for name, fitted in sorted(models.items())
        ]
    ).astype({"holdout_cutoff": "string", "holdout_predicted_visits": "float64"})


@dataclass(frozen=True)
class StoredModels:
    models: dict[str, ClvModels]
    fitted_as_of: date
    holdout: dict


def stored_models(frame: pd.DataFrame | None, as_of: date) -> StoredModels | None:
    """The stored models, if they were fitted by this code earlier in `as_of`'s month; None means refit."""
    if frame is None or frame.empty:
        return None
    fitted_as_of = fit_date_this_month(frame["fitted_as_of"], as_of)
    if fitted_as_of is None or set(frame["code_version"]) != {clv_version()}:
        return None
    models = {}
    for row in frame.to_dict("records"):
        bgnbd, gamma_gamma = BetaGeoFitter(), GammaGammaFitter()
        bgnbd.params_ = pd.Series({k: row[k] for k in BGNBD_PARAMETERS})
        gamma_gamma.params_ = pd.Series({k: row[k] for k in GAMMA_GAMMA_PARAMETERS})
        models[row["model_group"]] = ClvModels(bgnbd, gamma_gamma)
    first = frame.iloc[0]
    predicted = first["holdout_predicted_visits"]
    holdout = {
        "cutoff": str(first["holdout_cutoff"]),
        "customers": int(first["holdout_customers"]),
        "predicted_visits": None if pd.isna(predicted) else float(predicted),
        "actual_visits": int(first["holdout_actual_visits"]),
    }
    return StoredModels(models, fitted_as_of, holdout)


def score_clv(
    visits: pd.DataFrame,
    as_of: date,
    models: dict[str, ClvModels],
    groups: pd.Series | None = None,
    months: int = 12,
) -> ClvFit | None:
    """`fit_clv`'s predictions from already fitted `models`; None when the customers now fall into other
    model groups than those the models were fitted for (then they are fitted again)."""
    summary = visit_summary(visits, as_of)
    parts = _group_parts(summary, groups)
    if not enough_history(summary) or {name for name, _ in parts} != set(models):
        return None
    return _scored(models, parts, months)
