"""k-means behaviour clusters on synthetic features with a known structure: k chosen by silhouette, the
same clusters whatever the row order, numbered by spend, and no failure on a handful of customers."""

import numpy as np
import pandas as pd
import pytest

from pipelines.mining.clusters import FEATURES, cluster_customers


def three_kinds_of_customers(per_group: int = 60, seed: int = 0) -> pd.DataFrame:
    """Dormant owners, loyal regulars and heavy fleet users, with noise."""
    rng = np.random.default_rng(seed)
    profiles = {
        "dormant": {"n_service_visits_12m": 0, "n_authorized_visits_24m": 1, "service_spend_24m": 500,
                    "days_since_last_service": 700},
        "regular": {"n_service_visits_12m": 2, "n_authorized_visits_24m": 4, "service_spend_24m": 4000,
                    "days_since_last_service": 120},
        "fleet": {"n_service_visits_12m": 20, "n_authorized_visits_24m": 40, "service_spend_24m": 60000,
                  "days_since_last_service": 10},
    }  # fmt: skip
    rows = []
    for name, profile in profiles.items():
        for i in range(per_group):
            row = {column: 0.0 for column in FEATURES if column != "tenure_years"}
            row.update({k: v * rng.uniform(0.8, 1.25) for k, v in profile.items()})
            row.update(customer_id=f"{name}-{i:03d}", tenure_days=1000.0)
            rows.append(row)
    return pd.DataFrame(rows)


def test_k_is_chosen_by_silhouette_and_recovers_the_groups():
    features = three_kinds_of_customers()
    result = cluster_customers(features)
    assert list(result.scores["k"]) == list(range(2, 9))
    assert result.k == 3 == int(result.scores.loc[result.scores["silhouette"].idxmax(), "k"])
    assert result.scores["chosen"].sum() == 1
    groups = result.assignments.assign(kind=result.assignments["customer_id"].str.split("-").str[0])
    assert groups.groupby("kind")["cluster"].nunique().eq(1).all()
    # Numbered by ascending mean spend: dormant 1, regular 2, fleet 3.
    assert groups.groupby("kind")["cluster"].first().to_dict() == {"dormant": 1, "regular": 2, "fleet": 3}
    assert set(result.profiles["n_customers"]) == {60}
    labels = result.profiles.set_index("cluster")["cluster_label"]
    assert labels[1].startswith("low ")
    assert labels[3] == "high n_authorized_visits_24m, high n_service_visits_12m"


def test_same_clusters_whatever_the_row_order():
    features = three_kinds_of_customers(seed=1)
    first = cluster_customers(features).assignments.set_index("customer_id")["cluster"]
    shuffled = cluster_customers(features.sample(frac=1, random_state=5)).assignments
    assert shuffled.set_index("customer_id")["cluster"].reindex(first.index).equals(first)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_a_handful_of_customers_does_not_fail(n: int):
    result = cluster_customers(three_kinds_of_customers(per_group=1).head(n))
    assert len(result.assignments) == n
    assert result.k == (0 if n == 0 else 1 if n < 3 else 2)
    assert len(result.scores) == (1 if n == 3 else 0)


def test_k_chosen_on_a_sample_clusters_everyone_whatever_the_row_order():
    features = three_kinds_of_customers(seed=2)
    result = cluster_customers(features, k_sample=90)
    assert result.k == 3 and len(result.assignments) == 180
    assert set(result.profiles["n_customers"]) == {60}
    first = result.assignments.set_index("customer_id")["cluster"]
    shuffled = cluster_customers(features.sample(frac=1, random_state=5), k_sample=90).assignments
    assert shuffled.set_index("customer_id")["cluster"].reindex(first.index).equals(first)
    # The same sample whatever the row order; the scores differ only by the scaler's rounding.
    reordered = cluster_customers(features.sample(frac=1, random_state=7), k_sample=90)
    pd.testing.assert_frame_equal(reordered.scores, result.scores, check_exact=False)
