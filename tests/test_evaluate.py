"""Tests of pipelines.evaluate: hand-computed cases, a brute-force reference, the warehouse and CLI."""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.evaluate import (
    EvaluationInputError,
    MatchScore,
    main,
    score_clusters,
    score_warehouse,
)

METRICS = [
    "pairwise_precision",
    "pairwise_recall",
    "pairwise_f1",
    "bcubed_precision",
    "bcubed_recall",
    "bcubed_f1",
]


def frame(assignment: dict[str, object], system: str = "dealer_sales") -> pd.DataFrame:
    """A clustering as the scorer takes it: record id -> cluster id, all in one source system."""
    return pd.DataFrame(
        {
            "source_system": [system] * len(assignment),
            "source_record_id": list(assignment),
            "cluster_id": list(assignment.values()),
        }
    )


def assert_metrics(score: MatchScore, **expected: float) -> None:
    for name, value in expected.items():
        assert getattr(score, name) == pytest.approx(value), name


# --- hand-computed cases --------------------------------------------------------------------

# Truth used by the merged / split / perfect cases: 8 records in clusters of 3, 2, 2, 1.
#   A = {1,2,3}, B = {4,5}, C = {6,7}, D = {8}; true pairs = 3 + 1 + 1 + 0 = 5.
TRUTH_8 = {"1": "A", "2": "A", "3": "A", "4": "B", "5": "B", "6": "C", "7": "C", "8": "D"}


def test_perfect_match_scores_one_everywhere():
    # Different labels, same partition: every metric is 1.0.
    predicted = {rid: f"cust-{label}" for rid, label in TRUTH_8.items()}
    score = score_clusters(frame(predicted), frame(TRUTH_8))
    assert_metrics(score, **dict.fromkeys(METRICS, 1.0))
    assert score.records == 8
    assert score.records_only_predicted == score.records_only_truth == 0
    assert score.predicted_clusters == score.true_clusters == 4
    assert score.predicted_pairs == score.true_pairs == score.tp_pairs == 5


def test_everything_merged_into_one_cluster():
    # One predicted cluster of 8: predicted pairs = 8*7/2 = 28; every true pair is found: TP = 5.
    #   pairwise P = 5/28, R = 5/5 = 1, F1 = 2*(5/28)/(5/28 + 1) = 10/33.
    #   B-cubed P = sum over cells n^2/8 / 8 = (9 + 4 + 4 + 1) / 64 = 18/64; R = 1.
    #   B-cubed F1 = 2*(18/64)/(18/64 + 1) = 36/82.
    score = score_clusters(frame(dict.fromkeys(TRUTH_8, "X")), frame(TRUTH_8))
    assert_metrics(
        score,
        pairwise_precision=5 / 28,
        pairwise_recall=1.0,
        pairwise_f1=10 / 33,
        bcubed_precision=18 / 64,
        bcubed_recall=1.0,
        bcubed_f1=36 / 82,
    )
    assert (score.predicted_pairs, score.true_pairs, score.tp_pairs) == (28, 5, 5)
    assert score.predicted_clusters == 1


def test_everything_split_into_singletons():
    # No predicted pairs: pairwise precision is 1.0 by convention; TP = 0 so recall = 0, F1 = 0.
    #   B-cubed P = 1 (each record alone); R = mean of 1/|true(r)| = (3*1/3 + 2*1/2 + 2*1/2 + 1)/8 = 4/8.
    #   B-cubed F1 = 2*1*0.5/1.5 = 2/3.
    score = score_clusters(frame({rid: rid for rid in TRUTH_8}), frame(TRUTH_8))
    assert_metrics(
        score,
        pairwise_precision=1.0,
        pairwise_recall=0.0,
        pairwise_f1=0.0,
        bcubed_precision=1.0,
        bcubed_recall=0.5,
        bcubed_f1=2 / 3,
    )
    assert (score.predicted_pairs, score.true_pairs, score.tp_pairs) == (0, 5, 0)


def test_seven_records_one_wrong_merge_one_split():
    # Truth:     A = {1,2,3}, B = {4,5}, C = {6,7}
    # Predicted: X = {1,2,3,4,5} (A and B wrongly merged), Y = {6}, Z = {7} (C split)
    # Contingency cells: X&A = 3, X&B = 2, Y&C = 1, Z&C = 1.
    #   TP pairs        = C(3,2) + C(2,2) + 0 + 0 = 3 + 1 = 4
    #   predicted pairs = C(5,2) + 0 + 0          = 10
    #   true pairs      = C(3,2) + C(2,2) + C(2,2) = 3 + 1 + 1 = 5
    #   pairwise P = 4/10 = 0.4, R = 4/5 = 0.8, F1 = 2*0.4*0.8/1.2 = 0.64/1.2 = 8/15 = 0.5333
    # B-cubed precision per record, |pred & true| / |pred|:
    #   1,2,3: 3/5 each; 4,5: 2/5 each; 6: 1/1; 7: 1/1 -> (9/5 + 4/5 + 2)/7 = (23/5)/7 = 23/35 = 0.6571
    # B-cubed recall per record, |pred & true| / |true|:
    #   1,2,3: 3/3; 4,5: 2/2; 6: 1/2; 7: 1/2 -> (3 + 2 + 1)/7 = 6/7 = 0.8571
    # B-cubed F1 = 2*(23/35)*(30/35) / (53/35) = 1380/1855 = 276/371 = 0.7439
    truth = {"1": "A", "2": "A", "3": "A", "4": "B", "5": "B", "6": "C", "7": "C"}
    predicted = {"1": "X", "2": "X", "3": "X", "4": "X", "5": "X", "6": "Y", "7": "Z"}
    score = score_clusters(frame(predicted), frame(truth))
    assert_metrics(
        score,
        pairwise_precision=0.4,
        pairwise_recall=0.8,
        pairwise_f1=8 / 15,
        bcubed_precision=23 / 35,
        bcubed_recall=6 / 7,
        bcubed_f1=276 / 371,
    )
    assert score.pairwise_f1 == pytest.approx(0.5333, abs=1e-4)
    assert score.bcubed_precision == pytest.approx(0.6571, abs=1e-4)
    assert score.bcubed_recall == pytest.approx(0.8571, abs=1e-4)
    assert score.bcubed_f1 == pytest.approx(0.7439, abs=1e-4)
    assert (score.predicted_pairs, score.true_pairs, score.tp_pairs) == (10, 5, 4)
    assert (score.records, score.predicted_clusters, score.true_clusters) == (7, 3, 3)


def test_records_only_on_one_side():
    # Truth:     P = {a,b,c}           (d identifies nobody: no truth row)
    # Predicted: X = {a,b,d}           (c was dropped by the pipeline: no xref row)
    # Universe {a,b,c,d}; c is a predicted singleton, d a true singleton:
    #   predicted partition {a,b,d},{c}; true partition {a,b,c},{d}
    #   cells: X&P = {a,b} = 2, X&{d} = 1, {c}&P = 1
    #   TP = 1, predicted pairs = 3, true pairs = 3 -> P = R = F1 = 1/3
    #   B-cubed P: a,b 2/3 each, d 1/3, c 1/1 -> (4/3 + 1/3 + 1)/4 = 2/3
    #   B-cubed R: a,b 2/3 each, c 1/3, d 1/1 -> 2/3
    score = score_clusters(frame({"a": "X", "b": "X", "d": "X"}), frame({"a": "P", "b": "P", "c": "P"}))
    assert_metrics(
        score,
        pairwise_precision=1 / 3,
        pairwise_recall=1 / 3,
        pairwise_f1=1 / 3,
        bcubed_precision=2 / 3,
        bcubed_recall=2 / 3,
        bcubed_f1=2 / 3,
    )
    assert score.records == 4
    assert score.records_only_predicted == 1
    assert score.records_only_truth == 1
    assert score.predicted_records == score.true_records == 3
    assert score.predicted_clusters == score.true_clusters == 1


def test_dropped_singletons_and_extra_singletons_cost_nothing_pairwise():
    # Truth: {a,b}, {c}. Predicted: {a,b}, plus e alone (truth: identifies nobody); c dropped.
    # Pairwise: TP = 1 = predicted pairs = true pairs -> 1.0; B-cubed: every record is exact -> 1.0.
    score = score_clusters(frame({"a": 1, "b": 1, "e": 2}), frame({"a": "P", "b": "P", "c": "Q"}))
    assert_metrics(score, **dict.fromkeys(METRICS, 1.0))
    assert (score.records, score.records_only_predicted, score.records_only_truth) == (4, 1, 1)


def test_empty_inputs_score_one():
    empty = frame({})
    score = score_clusters(empty, empty)
    assert_metrics(score, **dict.fromkeys(METRICS, 1.0))
    assert score.records == 0


def test_prediction_missing_entirely_has_zero_recall():
    # Nothing predicted: every record is a predicted singleton; precision 1.0 by convention.
    score = score_clusters(frame({}), frame({"a": "P", "b": "P"}))
    assert_metrics(score, pairwise_precision=1.0, pairwise_recall=0.0, bcubed_recall=0.5)
    assert score.records_only_truth == 2


def test_record_key_includes_source_system():
    # The same record id in two source systems is two records.
    pred = pd.concat([frame({"1": "X"}, "call_center"), frame({"1": "X"}, "web_registrations")])
    truth = pd.concat([frame({"1": "P"}, "call_center"), frame({"1": "Q"}, "web_registrations")])
    score = score_clusters(pred, truth)
    assert score.records == 2
    assert (score.predicted_pairs, score.true_pairs, score.tp_pairs) == (1, 0, 0)
    assert score.pairwise_precision == 0.0
    assert score.pairwise_recall == 1.0


def test_ids_compared_as_text_and_labels_are_per_side():
    # Integer cluster ids on one side, text on the other; same labels do not mean the same cluster.
    pred = frame({"00001": 7, "00002": 7, "00003": 8})
    truth = frame({"00001": "7", "00002": "8", "00003": "8"})
    score = score_clusters(pred, truth)
    assert score.records == 3
    assert score.tp_pairs == 0


def test_exact_duplicates_ignored_conflicts_rejected():
    truth = frame({"a": "P", "b": "P"})
    dup = pd.concat([frame({"a": "X", "b": "X"}), frame({"a": "X"})])
    assert score_clusters(dup, truth).records == 2
    conflict = pd.concat([frame({"a": "X", "b": "X"}), frame({"a": "Y"})])
    with pytest.raises(ValueError, match="more than one cluster"):
        score_clusters(conflict, truth)


def test_null_cluster_means_absent_and_null_key_rejected():
    pred = frame({"a": "X", "b": None})
    score = score_clusters(pred, frame({"a": "P", "b": "P"}))
    assert score.records_only_truth == 1
    bad = pd.DataFrame({"source_system": [None], "source_record_id": ["a"], "cluster_id": ["X"]})
    with pytest.raises(ValueError, match="null"):
        score_clusters(bad, frame({}))
    with pytest.raises(ValueError, match="missing column"):
        score_clusters(frame({}).drop(columns="cluster_id"), frame({}))


def test_as_row_and_frozen():
    score = score_clusters(frame({"a": 1}), frame({"a": 1}))
    row = score.as_row()
    assert set(METRICS) <= set(row)
    assert row["records"] == 1 and row["tp_pairs"] == 0
    with pytest.raises(AttributeError):
        score.records = 5  # type: ignore[misc]


# --- brute-force reference on random partitions ---------------------------------------------


def reference_score(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Reference by listing every pair of records of the universe (O(n^2): small inputs only)."""

    def assignment(df: pd.DataFrame) -> dict[tuple[str, str], object]:
        return {
            (str(s), str(r)): c
            for s, r, c in df[["source_system", "source_record_id", "cluster_id"]].itertuples(index=False)
        }

    pred, true = assignment(predicted), assignment(truth)
    universe = sorted(set(pred) | set(true))
    # Records missing from a side are singletons there: give them a label nobody else has.
    p = {r: pred.get(r, ("__alone__", r)) for r in universe}
    t = {r: true.get(r, ("__alone__", r)) for r in universe}

    tp = pred_pairs = true_pairs = 0
    for x, y in itertools.combinations(universe, 2):
        same_p, same_t = p[x] == p[y], t[x] == t[y]
        pred_pairs += same_p
        true_pairs += same_t
        tp += same_p and same_t

    b3_p = b3_r = 0.0
    for r in universe:
        pred_cluster = {o for o in universe if p[o] == p[r]}
        true_cluster = {o for o in universe if t[o] == t[r]}
        both = len(pred_cluster & true_cluster)
        b3_p += both / len(pred_cluster)
        b3_r += both / len(true_cluster)
    n = len(universe)
    return {
        "pairwise_precision": tp / pred_pairs if pred_pairs else 1.0,
        "pairwise_recall": tp / true_pairs if true_pairs else 1.0,
        "bcubed_precision": b3_p / n if n else 1.0,
        "bcubed_recall": b3_r / n if n else 1.0,
        "records": n,
        "records_only_predicted": len(set(pred) - set(true)),
        "records_only_truth": len(set(true) - set(pred)),
        "predicted_clusters": len(set(pred.values())),
        "true_clusters": len(set(true.values())),
        "predicted_pairs": pred_pairs,
        "true_pairs": true_pairs,
        "tp_pairs": tp,
    }


def random_case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    systems = np.array(["dealer_sales", "call_center", "service_orders"])
    records = pd.DataFrame(
        {
            "source_system": systems[rng.integers(0, len(systems), n)],
            "source_record_id": [f"{i:05d}" for i in range(n)],
        }
    )
    side = rng.choice(3, size=n, p=[0.7, 0.15, 0.15])  # 0 both sides, 1 prediction only, 2 truth only
    k_pred = int(rng.integers(1, max(n, 1) + 1))
    k_true = int(rng.integers(1, max(n, 1) + 1))
    predicted = records[side != 2].assign(cluster_id=lambda d: rng.integers(0, k_pred, len(d)))
    truth = records[side != 1].assign(
        cluster_id=lambda d: np.char.add("p", rng.integers(0, k_true, len(d)).astype(str))
    )
    # Some rows delivered twice (exact duplicates must not change anything).
    predicted = pd.concat([predicted, predicted.sample(frac=0.1, random_state=seed)], ignore_index=True)
    truth = pd.concat([truth, truth.sample(frac=0.1, random_state=seed + 1)], ignore_index=True)
    return predicted, truth


@pytest.mark.parametrize("seed", range(50))
def test_counting_matches_brute_force_pairs(seed: int):
    predicted, truth = random_case(seed)
    score = score_clusters(predicted, truth)
    expected = reference_score(predicted, truth)
    for name, value in expected.items():
        assert getattr(score, name) == pytest.approx(value), name


def test_random_cases_cover_interesting_ground():
    # The random cases must exercise one-sided records, merges and splits, not only trivial inputs.
    scores = [score_clusters(*random_case(seed)) for seed in range(50)]
    assert sum(s.records_only_predicted > 0 for s in scores) > 10
    assert sum(s.records_only_truth > 0 for s in scores) > 10
    assert sum(0 < s.pairwise_precision < 1 for s in scores) > 10
    assert sum(0 < s.pairwise_recall < 1 for s in scores) > 10


# --- the warehouse and the command line -----------------------------------------------------

XREF = pd.DataFrame(
    {
        "source_system": ["dealer_sales"] * 5 + ["call_center"] * 2,
        "source_record_id": ["D1:0001", "D1:0002", "D1:0003", "D2:0004", "D2:0005", "C-6", "C-7"],
        "customer_id": ["X", "X", "X", "X", "X", "Y", "Z"],
        "match_probability": [1.0, 0.9, 0.9, 0.6, 0.6, 1.0, 1.0],
    }
)
TRUTH_CSV = (
    "source_system,source_record_id,person_id\n"
    "dealer_sales,D1:0001,A\n"
    "dealer_sales,D1:0002,A\n"
    "dealer_sales,D1:0003,A\n"
    "dealer_sales,D2:0004,B\n"
    "dealer_sales,D2:0005,B\n"
    "call_center,C-6,C\n"
    "call_center,C-7,C\n"
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.register("xref_df", XREF)
    con.execute("CREATE TABLE marts.customer_xref AS SELECT * FROM xref_df")
    # A perfect peer, to score side by side.
    con.execute(
        "CREATE TABLE marts.peer_xref AS SELECT source_system, source_record_id, "
        "CASE WHEN source_record_id LIKE 'D1:%' THEN 'a' WHEN source_record_id LIKE 'D2:%' THEN 'b' "
        "ELSE 'c' END AS customer_id FROM xref_df"
    )
    con.close()
    return path


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    (raw / "_truth").mkdir(parents=True)
    (raw / "_truth" / "record_truth.csv").write_text(TRUTH_CSV, encoding="utf-8")
    return raw


def test_score_warehouse_reads_duckdb_and_truth(warehouse: Path, raw_dir: Path):
    # Same partitions as the seven-record hand case.
    score = score_warehouse(str(warehouse), str(raw_dir / "_truth"))
    assert_metrics(
        score,
        pairwise_precision=0.4,
        pairwise_recall=0.8,
        bcubed_precision=23 / 35,
        bcubed_recall=6 / 7,
    )
    # The raw folder that holds _truth/ works too; the file is opened read-only and left as it was.
    assert score_warehouse(str(warehouse), str(raw_dir)) == score
    assert score_warehouse(str(warehouse), str(raw_dir), "marts.peer_xref").bcubed_f1 == 1.0


def test_score_warehouse_keeps_ids_as_text(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.customer_xref AS SELECT * FROM (VALUES "
        "('web_registrations', '00123', 'K1'), ('web_registrations', 'NA', 'K1')) "
        "t(source_system, source_record_id, customer_id)"
    )
    con.close()
    truth_dir = tmp_path / "_truth"
    truth_dir.mkdir()
    (truth_dir / "record_truth.csv").write_text(
        "\ufeffsource_system,source_record_id,person_id\n"
        "web_registrations,00123,P1\nweb_registrations,NA,P1\n",
        encoding="utf-8",
    )
    score = score_warehouse(str(path), str(truth_dir))
    assert score.records == 2  # '00123' keeps its zeros and 'NA' is not a null
    assert score.tp_pairs == 1


def test_score_warehouse_missing_inputs(warehouse: Path, raw_dir: Path, tmp_path: Path):
    with pytest.raises(EvaluationInputError, match="truth file not found"):
        score_warehouse(str(warehouse), str(tmp_path / "nowhere"))
    with pytest.raises(EvaluationInputError, match="not found"):
        score_warehouse(str(warehouse), str(raw_dir), "marts.no_such_table")
    with pytest.raises(EvaluationInputError, match="warehouse not found"):
        score_warehouse(str(tmp_path / "missing.duckdb"), str(raw_dir))
    assert not (tmp_path / "missing.duckdb").exists()


def test_cli_scores_several_tables(warehouse: Path, raw_dir: Path, capsys: pytest.CaptureFixture[str]):
    rc = main(
        [
            "--warehouse",
            str(warehouse),
            "--raw",
            str(raw_dir),
            "--table",
            "marts.customer_xref",
            "--table",
            "marts.peer_xref",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("truth: 7 records in 3 clusters")
    header, ours, peer = lines[1:4]
    header_cells = ["table", "records", "clusters", "pw_P", "pw_R", "pw_F1", "b3_P", "b3_R", "b3_F1"]
    assert header.split() == header_cells
    # The seven-record hand case: pairwise 0.4 / 0.8 / 8/15, B-cubed 23/35 / 6/7 / 276/371.
    assert ours.split()[:3] == ["marts.customer_xref", "7", "3"]
    assert ours.split()[3:] == ["0.4000", "0.8000", "0.5333", "0.6571", "0.8571", "0.7439"]
    assert peer.split()[:3] == ["marts.peer_xref", "7", "3"]
    assert len(header) == len(ours) == len(peer)  # aligned


def test_cli_defaults_from_environment(
    warehouse: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("CRM_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("CRM_RAW_DIR", str(raw_dir))
    assert main([]) == 0
    assert "marts.customer_xref" in capsys.readouterr().out


def test_cli_exit_code_2_on_missing_inputs(
    warehouse: Path, raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["--warehouse", str(warehouse), "--raw", str(tmp_path / "nowhere")]) == 2
    assert "truth file not found" in capsys.readouterr().err
    assert main(["--warehouse", str(warehouse), "--raw", str(raw_dir), "--table", "marts.nope"]) == 2
    assert "marts.nope" in capsys.readouterr().err
    assert main(["--warehouse", str(tmp_path / "none.duckdb"), "--raw", str(raw_dir)]) == 2
    assert "warehouse not found" in capsys.readouterr().err
