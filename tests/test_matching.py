"""The matcher's rules, pinned on small hand-made cases and on the committed sample."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.evaluate import score_clusters
from pipelines.matching import records as records_module
from pipelines.matching.evidence import exact_edges, owner_edges, resolve_vins
from pipelines.matching.graph import (
    cluster,
    cluster_exact,
    edges_frame,
    merge_probabilistic,
    text_codes,
)
from pipelines.matching.identity import assign_ids
from pipelines.matching.matcher import (
    MATCH_CATEGORICAL,
    MATCH_COLUMNS,
    _link_reasons,
    in_key_order,
    match,
    read_match_records,
    record_keys,
    splink_candidates,
)
from pipelines.matching.model import MatchingModel
from pipelines.matching.probabilistic import choose_threshold, otsu_threshold, score_pairs
from pipelines.matching.records import Reconformed, conform_records, reconform_records
from pipelines.tables import DuckDBTables, as_frame, plain_text
from tests.conftest import Built

NO_PAIRS = pd.DataFrame({"left": pd.Series([], dtype="int64"), "right": pd.Series([], dtype="int64")})


def exact(pairs: list[tuple[int, int]], strength: float = 70.0) -> pd.DataFrame:
    return edges_frame([a for a, _ in pairs], [b for _, b in pairs], "mobile_name", 0.99, strength)


def test_exact_edges_join_freely_without_conflict():
    labels, stats = cluster(4, exact([(0, 1), (1, 2)]), exact([]), pd.Series([None] * 4), NO_PAIRS, 10)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert stats.refused_conflicting_ids == 0


def test_two_valid_resident_ids_are_never_joined():
    # 0 and 2 hold different ids; the weaker chain 0-1-2 is rebuilt strongest first and stops at the conflict
    edges = pd.concat([exact([(0, 1)], 90.0), exact([(1, 2)], 70.0)])
    ids = pd.Series(["110101199003071234", None, "310101198001011234"])
    labels, stats = cluster(3, edges, exact([]), ids, NO_PAIRS, 10)
    assert labels[0] == labels[1] != labels[2]
    assert stats.refused_conflicting_ids == 1


def test_cannot_link_beats_exact_evidence():
    cannot = pd.DataFrame({"left": [0], "right": [2]})
    labels, stats = cluster(3, exact([(0, 1), (1, 2)]), exact([]), pd.Series([None] * 3), cannot, 10)
    assert labels[0] != labels[2]
    assert stats.refused_cannot_link == 1


def test_probabilistic_merges_see_the_whole_exact_clusters():
    # 0-1 and 2-3 are exact clusters; the ids (0 and 3) and the cannot-link (0 and 4) sit on records
    # no probabilistic edge touches, and still refuse the merges their clusters would make
    ids = text_codes(pd.Series(["110101199003071234", None, None, "310101198001011234", None, None]))
    cannot = pd.DataFrame({"left": [4], "right": [0]})
    exact_labels, exact_stats = cluster_exact(6, exact([(0, 1), (2, 3)]), ids, cannot)
    assert exact_labels.tolist() == [0, 0, 1, 1, 2, 3]  # numbered in the order of their first record
    probable = edges_frame([1, 1, 4], [2, 4, 5], "probabilistic", 0.95, [9.0, 8.0, 7.0])
    labels, stats = merge_probabilistic(exact_labels, exact_stats, probable, ids, cannot, 10)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert (stats.refused_conflicting_ids, stats.refused_cannot_link, stats.accepted) == (1, 1, 1)
    assert stats.refused_pairs == [(1, 2, "probabilistic"), (1, 4, "probabilistic")]
    assert exact_stats.accepted == 0 and exact_stats.refused_pairs == []


def test_size_guard_stops_probabilistic_growth_only():
    chain = edges_frame(range(5), range(1, 6), "probabilistic", 0.95, 5.0)
    labels, stats = cluster(6, exact([]), chain, pd.Series([None] * 6), NO_PAIRS, 3)
    assert pd.Series(labels).value_counts().max() == 3
    assert stats.refused_size_guard >= 1
    labels, _ = cluster(
        6, exact([(i, i + 1) for i in range(5)]), exact([]), pd.Series([None] * 6), NO_PAIRS, 3
    )
    assert len(set(labels)) == 1


def test_ids_survive_reruns_and_record_merges_and_splits():
    keys = pd.Series(["a:1", "a:2", "b:1", "b:2", "c:1"])
    first, events = assign_ids(keys, np.array([0, 0, 1, 1, 2]), None)
    assert set(events["event"]) == {"created"}
    again, events = assign_ids(
        keys, np.array([5, 5, 7, 7, 9]), pd.DataFrame({"record_key": keys, "customer_id": first})
    )
    assert list(again) == list(first) and events.empty
    # b's two records split; a and c merge: the bigger overlap keeps its id
    merged, events = assign_ids(
        keys, np.array([0, 0, 1, 2, 0]), pd.DataFrame({"record_key": keys, "customer_id": first})
    )
    assert merged[0] == first[0] and merged[4] == first[0]
    assert {merged[2], merged[3]} & {first[2]} and merged[2] != merged[3]
    assert set(events["event"]) == {"merged_into", "split_from"}
    assert ((events["event"] == "merged_into") & (events["customer_id"] == first[4])).any()


def test_ids_do_not_depend_on_the_order_of_the_records():
    keys = pd.Series(["a:1", "a:2", "b:1", "b:2", "c:1", "d:1"])
    first, _ = assign_ids(keys, np.array([0, 0, 1, 1, 2, 3]), None)
    # d:1 is gone, e:1 is new; b splits, c joins a
    previous = pd.DataFrame({"record_key": keys, "customer_id": first})
    now = pd.Series(["a:1", "a:2", "b:1", "b:2", "c:1", "e:1"])
    labels = np.array([4, 4, 5, 6, 4, 8])
    ids, events = assign_ids(now, labels, previous)
    order = [5, 2, 0, 4, 1, 3]
    shuffled, shuffled_events = assign_ids(
        now.take(order).reset_index(drop=True), labels[order], previous.iloc[::-1]
    )
    assert list(shuffled) == [ids[i] for i in order]
    assert shuffled_events.equals(events)
    assert ids[0] == first[0] and ids[2] == first[2] and ids[3] not in set(first)
    assert sorted(events["event"]) == ["created", "merged_into", "retired", "split_from"]
    assert events.loc[events["event"] == "retired", "customer_id"].tolist() == [first[5]]


def test_resold_car_and_fleet_driver_go_to_the_owner_of_the_day():
    day = pd.to_datetime
    records = pd.DataFrame(
        {
            "source_system": [
                "dealer_sales",
                "service_orders",
                "service_orders",
                "service_orders",
                "call_center",
            ],
            "source_record_id": ["D:1", "S:1", "S:2", "S:3", "C:1"],
            "vin": ["LSGJA52U8CH000001", "LSGJA52U8CH000001", "LSGJA52U8CH000001", None, None],
            "plate": [None, "沪A12345", "沪B99999", "沪B99999", None],
            "event_date": day(["2022-01-01", "2022-06-01", "2024-03-01", "2024-09-01", "2024-10-01"]),
            "party_type": ["company", "person", "person", "person", "person"],
        }
    )
    vins = pd.Series(["LSGJA52U8CH000001"] * 4 + ["LSGJA52U8CH000001"])
    edges = owner_edges(records, vins)
    linked = set(zip(edges["left"], edges["right"], strict=True))
    # the driver's order under the first plate follows the company's sale; the new plate is a new owner
    assert (0, 1) in linked
    assert (2, 3) in linked and (0, 2) not in linked and (0, 3) not in linked
    # a call after the resale without a plate falls in the period in force on its date
    assert (2, 4) in linked


def test_a_vin_is_resolved_from_a_unique_last_six_or_a_plate_that_names_one_car():
    records = pd.DataFrame(
        {
            "vin": ["LSGJA52U8CH000001", "LSGJA52U8DH000002", "LSGJA52U8EH000002", None, None, None, None],
            "vin_last6": [None, None, None, "000001", "000002", None, None],
            "plate": ["沪A12345", "沪B00001", "沪B00001", None, None, "沪A12345", "沪B00001"],
        }
    )
    vins = resolve_vins(records).astype(object).where(lambda v: v.notna(), None).tolist()
    # 000001 names one car, 000002 ends two; 沪A12345 was seen on one car, 沪B00001 on two
    assert vins == [*records["vin"][:3], "LSGJA52U8CH000001", None, "LSGJA52U8CH000001", None]


def test_link_reason_is_the_strongest_accepted_edge_first_end_first():
    labels = np.array([0, 0, 0, 0, 1])
    exact_edges_ = pd.concat(
        [
            edges_frame([0], [1], "mobile_name", 0.99, 70.0),
            edges_frame([2], [1], "email", 0.97, 50.0),
            edges_frame([1], [3], "id", 0.999, 90.0),
            edges_frame([0], [4], "id", 0.999, 90.0),  # across clusters: not accepted
        ],
        ignore_index=True,
    )
    probabilistic = edges_frame([3, 2], [2, 0], "probabilistic", [0.93, 0.93], 5.0)
    reason, probability = _link_reasons(5, labels, [exact_edges_, probabilistic])
    # 1 and 3 by their id; 0 by its mobile and name, not the rejected id; 2 by the e-mail, which outranks
    # Splink; 4 alone.
    assert list(reason) == ["mobile_name", "id", "email", "id", "singleton"]
    assert list(probability) == [0.99, 0.999, 0.97, 0.999, 1.0]
    # Between equal edges, the first left end wins over a later one and over any right end.
    tied = edges_frame([1, 0], [0, 1], "probabilistic", [0.9, 0.9], 5.0).assign(reason=["a", "b"])
    assert list(_link_reasons(2, np.zeros(2, dtype=int), [tied])[0]) == ["b", "a"]


def test_threshold_is_chosen_between_the_modes():
    rng = np.random.default_rng(3)
    weights = np.concatenate([rng.normal(-8, 2, 5000), rng.normal(12, 2, 500)])
    assert -2 < otsu_threshold(weights) < 6
    assert choose_threshold(np.array([-20.0, -19.0])) == pytest.approx(np.log2(9))


@pytest.fixture(scope="module")
def unioned(built: Built) -> pd.DataFrame:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        return con.execute("select * from intermediate.int_party_records_unioned").fetchdf()


@pytest.fixture(scope="module")
def sample_records(unioned: pd.DataFrame) -> pd.DataFrame:
    return as_frame(conform_records(unioned))


def test_records_assembled_in_chunks_equal_one_chunk(
    built: Built, unioned: pd.DataFrame, sample_records: pd.DataFrame
):
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        stored = con.execute("select * from intermediate.int_party_records_conformed").to_arrow_table()
    chunked = conform_records(unioned, chunk_rows=997)
    assert len(unioned) > 3 * 997
    # The warehouse's table, which the pipeline wrote in chunks of 250,000 rows (one here), and these chunks
    # of 997 rows agree row for row, column types included.
    assert chunked.schema == stored.schema
    assert chunked.equals(stored)
    pd.testing.assert_frame_equal(as_frame(chunked), sample_records)
    assert sample_records["identifies_customer"].sum() > 0.9 * len(sample_records)


def test_reconforming_conforms_only_new_and_changed_records(
    tmp_path: Path, unioned: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
):
    table = "intermediate.int_party_records_conformed"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        DuckDBTables(con).replace("intermediate", "int_party_records_conformed", conform_records(unioned))
        changed = unioned.copy()
        changed.loc[:9, "name_raw"] = "更正後的名字"  # ten records corrected
        new = unioned.iloc[20:25].assign(source_record_id=unioned["source_record_id"].iloc[20:25] + "-N")
        changed = pd.concat([new, changed.drop(index=range(30, 33))], ignore_index=True)
        assert reconform_records(con, changed, table) == Reconformed(reused=len(unioned) - 13, conformed=15)
        # The same table as conforming every record, row for row (rows conformed now come last).
        by_key = "order by source_system, source_record_id"
        everything = duckdb.from_arrow(conform_records(changed)).query("every", f"from every {by_key}")
        assert con.sql(f"from {table} {by_key}").to_arrow_table().equals(everything.to_arrow_table())
        assert reconform_records(con, changed, table) == Reconformed(reused=len(changed), conformed=0)
        # Another version of the conforming code or its libraries conforms every record again.
        monkeypatch.setattr(records_module, "conform_version", lambda: "another version")
        assert reconform_records(con, changed, table) == Reconformed(reused=0, conformed=len(changed))
        assert con.sql(f"select count(*) from {table}").fetchall() == [(len(changed),)]


def truth(built: Built) -> pd.DataFrame:
    frame = pd.read_csv(built.raw_dir / "_truth" / "record_truth.csv", dtype=str)
    return frame.rename(columns={"person_id": "cluster_id"})


def test_sample_scores_precision_first(built: Built, sample_records: pd.DataFrame):
    result = match(sample_records)
    predicted = result.xref.rename(columns={"customer_id": "cluster_id"})
    score = score_clusters(predicted[["source_system", "source_record_id", "cluster_id"]], truth(built))
    assert score.pairwise_precision >= 0.99
    assert score.pairwise_f1 >= 0.98
    assert score.bcubed_f1 >= 0.98
    # parameters come from the data: EM moved the m probabilities off Splink's defaults
    name_levels = result.parameters[result.parameters["comparison"] == "name"]
    assert name_levels["m_probability"].between(0, 1).all() and name_levels["m_probability"].nunique() > 3
    assert result.stats["threshold_match_probability"] >= 0.9


def test_stewards_decisions_are_honoured(sample_records: pd.DataFrame):
    base = match(sample_records)
    xref = base.xref
    sizes = xref.groupby("customer_id").size()
    big = xref[xref["customer_id"] == sizes[sizes >= 3].index[0]].iloc[:2]
    singles = xref[xref["customer_id"].isin(sizes[sizes == 1].index)].iloc[:2]

    def pair(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "a_source_system": [rows.iloc[0]["source_system"]],
                "a_source_record_id": [rows.iloc[0]["source_record_id"]],
                "b_source_system": [rows.iloc[1]["source_system"]],
                "b_source_record_id": [rows.iloc[1]["source_record_id"]],
            }
        )

    steered = match(sample_records, must_link=pair(singles), cannot_link=pair(big)).xref.set_index(
        record_keys(xref)
    )
    keys = record_keys(big)
    assert steered.loc[keys.iloc[0], "customer_id"] != steered.loc[keys.iloc[1], "customer_id"]
    keys = record_keys(singles)
    assert steered.loc[keys.iloc[0], "customer_id"] == steered.loc[keys.iloc[1], "customer_id"]
    assert steered.loc[keys.iloc[0], "match_reason"] == "manual_must_link"


def test_a_new_month_keeps_the_ids_of_untouched_customers(sample_records: pd.DataFrame):
    cutoff = pd.Timestamp("2026-10-01")
    earlier = sample_records[sample_records["event_date"] < cutoff]
    before = match(earlier).xref
    previous = pd.DataFrame({"record_key": record_keys(before), "customer_id": before["customer_id"]})
    after = match(sample_records, previous=previous).xref
    old_members = before.groupby("customer_id").apply(
        lambda f: frozenset(record_keys(f)), include_groups=False
    )
    new_members = after.groupby("customer_id").apply(
        lambda f: frozenset(record_keys(f)), include_groups=False
    )
    untouched = [cid for cid, members in old_members.items() if members in set(new_members)]
    assert len(untouched) > 0.8 * len(old_members)
    assert all(new_members.get(cid) == old_members[cid] for cid in untouched)


def test_a_new_month_scored_incrementally_equals_scoring_everything(sample_records: pd.DataFrame):
    """With the model stored after the first month, the next run scores only the pairs touching new or
    changed records and ends exactly where scoring every pair with that model ends."""
    earlier = sample_records[sample_records["event_date"] < pd.Timestamp("2026-10-01")]
    before = match(earlier)
    assert before.stats["model_trained_this_run"]
    stored = MatchingModel.from_frames(*before.model.to_frames())
    assert stored.version == before.model.version
    previous = pd.DataFrame(
        {"record_key": record_keys(before.xref), "customer_id": before.xref["customer_id"]}
    )
    incremental = match(sample_records, previous, model=stored, state=before.state)
    everything = match(sample_records, previous, model=stored)
    assert not incremental.stats["model_trained_this_run"]
    scored, total = (
        incremental.stats["splink_pairs_scored_this_run"],
        incremental.stats["splink_scored_pairs"],
    )
    assert 0 < scored < 0.1 * total == 0.1 * everything.stats["splink_pairs_scored_this_run"]
    ordered = ["source_system", "source_record_id"]
    pd.testing.assert_frame_equal(
        incremental.xref.sort_values(ordered).reset_index(drop=True),
        everything.xref.sort_values(ordered).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(incremental.review_pairs, everything.review_pairs)


def test_blocking_grows_near_linearly(built: Built, sample_records: pd.DataFrame):
    """Candidate pairs per record must not grow with the population: a quarter of the customers (by
    ground truth) against all of them."""
    records = sample_records[sample_records["identifies_customer"]].reset_index(drop=True)
    _, following = exact_edges(records, resolve_vins(records))
    candidates = splink_candidates(records, following)
    people = truth(built)
    chosen = people[
        people["cluster_id"].isin(people["cluster_id"].drop_duplicates().sample(frac=0.25, random_state=1))
    ]
    quarter = candidates[record_keys(candidates).isin(record_keys(chosen))]
    per_record_quarter = len(score_pairs(quarter).pairs) / len(quarter)
    per_record_full = len(score_pairs(candidates).pairs) / len(candidates)
    assert per_record_full < 1.25 * per_record_quarter


def test_in_key_order_tells_sorted_records_from_unsorted_and_null_keys():
    def frame(systems: list[str | None], ids: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"source_system": systems, "source_record_id": ids}, dtype="str")

    assert in_key_order(frame(["dealer_sales", "dealer_sales", "oem_calls"], ["DL1:2", "DL1:3", "A0"]))
    assert in_key_order(frame([], []))
    assert not in_key_order(frame(["dealer_sales", "dealer_sales"], ["DL1:3", "DL1:2"]))
    assert not in_key_order(frame(["oem_calls", "dealer_sales"], ["A0", "DL1:2"]))
    assert not in_key_order(frame(["dealer_sales", None], ["DL1:2", "DL1:3"]))


def test_records_read_as_categoricals_match_as_text(built: Built, sample_records: pd.DataFrame):
    """The matching asset reads the few-valued columns as categoricals, which also sort by first
    appearance rather than as text: the same records, shuffled and coded, give the same results."""
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        coded = read_match_records(DuckDBTables(con))
    assert in_key_order(coded)
    assert all(isinstance(coded[column].dtype, pd.CategoricalDtype) for column in MATCH_CATEGORICAL)
    shuffled = coded.sample(frac=1, random_state=7)
    assert not in_key_order(shuffled)
    plain = match(sample_records[sample_records["identifies_customer"]][list(MATCH_COLUMNS)])
    result = match(shuffled)
    # Coded columns stay coded in the xref (`Tables` writes them as text).
    assert isinstance(result.xref["source_system"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(result.xref.apply(plain_text), plain.xref.apply(plain_text))
    pd.testing.assert_frame_equal(result.review_pairs, plain.review_pairs)
    pd.testing.assert_frame_equal(result.state.records, plain.state.records)
    # The model's m and u agree to rounding (DuckDB's parallel sums in EM), so its version (a hash) differs.
    pd.testing.assert_frame_equal(result.parameters, plain.parameters)
    unversioned = ("model_version", "model_trained_at")
    assert {k: v for k, v in result.stats.items() if k not in unversioned} == {
        k: v for k, v in plain.stats.items() if k not in unversioned
    }
