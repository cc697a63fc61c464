"""Mining in Python, between the dbt mining inputs (events, features) and the segment tables built on them:
lifetime value with lifetimes, behaviour clusters with scikit-learn."""

from datetime import date

import dagster as dg
import pandas as pd

from pipelines.automation import is_full_rebuild
from pipelines.mining.clusters import INPUT_COLUMNS as CLUSTER_INPUTS
from pipelines.mining.clusters import cluster_customers
from pipelines.mining.clv import ClvFit, fit_clv, holdout_visits, models_frame, score_clv, stored_models
from pipelines.mining.refits import fit_date_this_month
from pipelines.resources import Warehouse
from pipelines.tables import Tables
from pipelines.workers import worker_pool

SCHEMA = "marts"
GROUP = "mining"
OWNERS = ["team:data-platform"]
AS_OF = dg.AssetKey([SCHEMA, "mining_as_of"])
EVENTS = dg.AssetKey([SCHEMA, "fct_customer_events"])
FEATURES = dg.AssetKey([SCHEMA, "customer_features"])
CUSTOMERS = dg.AssetKey([SCHEMA, "dim_customer"])
HOLDOUT_TOLERANCE = 0.2
# The CLV models of the as-of month's first run, kept beside the matching model.
MODELS = ("intermediate", "customer_clv_models")
CLUSTER_SCORES = (SCHEMA, "customer_cluster_scores")

CLV_COLUMNS = [
    "customer_id",
    "as_of_date",
    "model_group",
    "n_visits",
    "frequency",
    "recency_weeks",
    "t_weeks",
    "avg_repeat_spend",
    "p_alive",
    "expected_visits_12m",
    "expected_spend_per_visit",
    "expected_spend_12m",
    "clv_12m",
]


def _as_of(tables: Tables) -> date:
    """The mining as-of date (`marts.mining_as_of`, one row)."""
    return pd.Timestamp(tables.read(SCHEMA, "mining_as_of")["as_of_date"].iloc[0]).date()


def _md_table(frame: pd.DataFrame) -> dg.MetadataValue:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = "\n".join(
        "| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r) + " |"
        for r in frame.itertuples(index=False)
    )
    return dg.MetadataValue.md(header + rows)


@dg.asset(
    key=[SCHEMA, "customer_clv"],
    deps=[EVENTS, AS_OF, CUSTOMERS],
    group_name=GROUP,
    kinds={"python", "pandas", "duckdb"},
    owners=OWNERS,
    check_specs=[
        dg.AssetCheckSpec("holdout_visits_within_20_percent", asset=dg.AssetKey([SCHEMA, "customer_clv"]))
    ],
    description=(
        "Per customer with an authorised service visit before the as-of date: BG/NBD (visits, P(alive)) and "
        "Gamma-Gamma (spend per visit) from lifetimes, fitted per customer type, and the expected visits, "
        "spend and discounted CLV of the next 12 months. Recalls are not visits. The models are fitted at "
        "the first run of each as-of month (and by `full_rebuild`) and kept in "
        "`intermediate.customer_clv_models`; later runs of the month score with them. The check refits 12 "
        "months before the fit's as-of date and compares predicted with actual visits of the 12 months after."
    ),
)
def customer_clv(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.tables() as tables:
        as_of = _as_of(tables)
        # Only service events at authorised stations leave the warehouse (about half of them at 1M).
        events = tables.read(
            SCHEMA,
            "fct_customer_events",
            where={"event_type": "service", "station_type": "authorized"},
            columns=["customer_id", "event_date", "amount", "service_kind"],
        )
        authorised_visit = (
            events["service_kind"].notna()
            & events["service_kind"].ne("recall")
            & (events["event_date"] < pd.Timestamp(as_of))
        ).fillna(False)
        # In any order: the visit summaries are SQL group-bys (sorting 4.5M visits at 1M took 7 s).
        visits = events.loc[authorised_visit, ["customer_id", "event_date", "amount"]].reset_index(drop=True)
        groups = (
            tables.read(SCHEMA, "dim_customer", columns=["customer_id", "customer_type"])
            .set_index("customer_id")["customer_type"]
            .sort_index()
        )
        fit, holdout, fitted_as_of, refitted = _fit_or_score(
            tables, visits, as_of, groups, refit=is_full_rebuild(context)
        )
        table = (
            fit.customers.reset_index()
            .rename(
                columns={
                    "recency": "recency_weeks",
                    "T": "t_weeks",
                    "monetary_value": "avg_repeat_spend",
                    "expected_visits": "expected_visits_12m",
                    "expected_spend": "expected_spend_12m",
                    "clv": "clv_12m",
                }
            )
            .assign(as_of_date=as_of, n_visits=lambda t: t["frequency"] + 1)
            .reindex(columns=CLV_COLUMNS)
            .astype({"model_group": "string"})
        )
        tables.replace(SCHEMA, "customer_clv", table)
    params = {
        group: {
            **models.bgnbd.params_.round(4).to_dict(),
            **models.gamma_gamma.params_.rename({"v": "gamma"}).round(4).to_dict(),
        }
        for group, models in fit.models.items()
    }
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "as_of_date": str(as_of),
            "model_fitted_this_run": refitted,
            "model_fitted_as_of": str(fitted_as_of),
            "parameters": dg.MetadataValue.json(params),
            "expected_visits_12m": float(table["expected_visits_12m"].sum(min_count=1)),
            "clv_12m_total": float(table["clv_12m"].sum(min_count=1)),
            "holdout": dg.MetadataValue.json(holdout),
        },
        check_results=[_holdout_check(holdout)],
    )


def _fit_or_score(
    tables: Tables, visits: pd.DataFrame, as_of: date, groups: pd.Series, refit: bool
) -> tuple[ClvFit, dict, date, bool]:
    """The predictions, the holdout and the as-of date of the models' fit, and whether they were fitted now:
    scored with the models fitted earlier in the as-of month (with their holdout), or fitted and stored."""
    stored = None if refit or not tables.exists(*MODELS) else stored_models(tables.read(*MODELS), as_of)
    scored = score_clv(visits, as_of, stored.models, groups) if stored else None
    if stored is not None and scored is not None:
        return scored, stored.holdout, stored.fitted_as_of, False
    with worker_pool() as pool:
        # The holdout refit is independent of the fit: in a second process on a second core, if any.
        holdout_job = pool.submit(holdout_visits, visits, as_of, groups) if pool else None
        fit = fit_clv(visits, as_of, groups)
        holdout = holdout_job.result() if holdout_job else holdout_visits(visits, as_of, groups)
    if fit.models:
        tables.replace(*MODELS, models_frame(fit.models, as_of, holdout))
    return fit, holdout, as_of, True


def _holdout_check(holdout: dict) -> dg.AssetCheckResult:
    """Passes when the visits predicted a year ago for the last 12 months are within 20 % of those made;
    with too little history a year ago there is no model to check (said so in the metadata)."""
    if holdout["predicted_visits"] is None:
        return dg.AssetCheckResult(
            check_name="holdout_visits_within_20_percent",
            passed=True,
            metadata={**holdout, "predicted_visits": "not checked: too little history a year ago to fit"},
        )
    error = holdout["predicted_visits"] / max(holdout["actual_visits"], 1) - 1
    return dg.AssetCheckResult(
        check_name="holdout_visits_within_20_percent",
        passed=bool(abs(error) <= HOLDOUT_TOLERANCE),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**holdout, "relative_error": float(error)},
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=[SCHEMA, "customer_clusters"],
            deps=[FEATURES],
            group_name=GROUP,
            kinds={"python", "scikitlearn", "duckdb"},
            owners=OWNERS,
            description=(
                "k-means behaviour cluster of every customer who bought or serviced a car before the as-of "
                "date, on the as-of snapshot of customer_features (log counts, standardised). Clusters are "
                "numbered 1..k by mean service spend and labelled by their two most distinctive features."
            ),
        ),
        dg.AssetSpec(
            key=[SCHEMA, "customer_cluster_scores"],
            deps=[FEATURES],
            group_name=GROUP,
            kinds={"python", "scikitlearn", "duckdb"},
            owners=OWNERS,
            description=(
                "The k tried for customer_clusters with silhouette, Calinski-Harabasz, Davies-Bouldin and "
                "inertia, scored on a seeded sample of at most 20,000 customers (all of them below that); "
                "`chosen` marks the k with the best silhouette, which customer_clusters fits on everyone. "
                "Scored at the first run of each as-of month (and by `full_rebuild`): later runs of the "
                "month keep these scores and fit the chosen k."
            ),
        ),
    ],
)
def customer_clusters(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.tables() as tables:
        as_of = _as_of(tables)
        features = tables.read(
            SCHEMA, "customer_features", where={"as_of_date": as_of}, columns=list(CLUSTER_INPUTS)
        )
        active = features["n_vehicles_bought"].gt(0) | features["n_service_visits"].gt(0)
        features = features[active].sort_values("customer_id").reset_index(drop=True)
        chosen = None if is_full_rebuild(context) else _chosen_this_month(tables, as_of)
        if chosen is None:
            clustering = cluster_customers(features)
            scores = clustering.scores.assign(as_of_date=as_of)
            tables.replace(*CLUSTER_SCORES, scores)
        else:
            # k was chosen by this month's first run: only that k is fitted (and scored) now.
            scores = chosen
            k = int(scores.loc[scores["chosen"], "k"].iloc[0])
            clustering = cluster_customers(features, k_range=range(k, k + 1))
        tables.replace(SCHEMA, "customer_clusters", clustering.assignments.assign(as_of_date=as_of))
    best = clustering.scores.loc[clustering.scores["chosen"], "silhouette"]
    yield dg.MaterializeResult(
        asset_key=[SCHEMA, "customer_clusters"],
        metadata={
            "dagster/row_count": len(clustering.assignments),
            "k": clustering.k,
            "k_chosen_this_run": chosen is None,
            "silhouette": float(best.iloc[0]) if len(best) else None,
            "profiles": _md_table(clustering.profiles),
        },
    )
    yield dg.MaterializeResult(
        asset_key=list(CLUSTER_SCORES),
        metadata={
            "dagster/row_count": len(scores),
            "k_chosen_as_of": str(scores["as_of_date"].iloc[0])[:10] if len(scores) else "none",
            "scores": _md_table(scores.drop(columns="as_of_date")),
        },
    )


def _chosen_this_month(tables: Tables, as_of: date) -> pd.DataFrame | None:
    """The scores of every k tried by this as-of month's first run, if it chose one; None means choose."""
    if not tables.exists(*CLUSTER_SCORES):
        return None
    scores = tables.read(*CLUSTER_SCORES)
    if not scores["chosen"].any() or fit_date_this_month(scores["as_of_date"], as_of) is None:
        return None
    return scores


mining_assets = [customer_clv, customer_clusters]
