"""The matching peers on the committed sample's built warehouse: shape, scores, timing, trained Splink."""

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.evaluate import score_warehouse
from pipelines.peers.__main__ import main
from pipelines.peers.exact_keys import cluster_exact_keys
from pipelines.peers.splink_peer import settings
from tests.conftest import Built

PEER_TABLES = {"exact_keys": "peers.exact_keys_xref", "splink": "peers.splink_xref"}


@pytest.fixture(scope="module")
def peers_warehouse(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built warehouse with both peers run on it by the command line, as shipped.

    Splink's u sample stays at 1e7 pairs: at its own default of 1e6 no two sampled records share an
    e-mail on the sample, and that level's u would fall back to a default instead of the data.
    """
    warehouse = tmp_path_factory.mktemp("peers") / "warehouse.duckdb"
    shutil.copyfile(built.warehouse, warehouse)
    assert main(["--warehouse", str(warehouse)]) == 0
    return warehouse


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _records(rows: list[tuple[str, str, str | None, str | None, bool, str | None]]) -> pd.DataFrame:
    columns = ["source_system", "source_record_id", "mobile", "id_number", "id_is_valid", "vin"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["id_kind"] = frame["id_number"].map(lambda v: None if v is None else "resident_id")
    return frame


def test_exact_keys_union_is_transitive_over_valid_keys_only():
    records = _records(
        [
            ("s", "a", "+8613800138001", None, False, None),
            ("s", "b", "+8613800138001", None, False, "LHVCA15B2PN703735"),
            ("s", "c", None, None, False, "LHVCA15B2PN703735"),
            ("s", "d", None, "110101199003070000", False, None),
            ("s", "e", None, "110101199003070000", False, None),
            ("s", "f", None, "11010519491231002X", True, None),
            ("s", "g", None, "11010519491231002X", True, None),
            ("s", "h", None, None, False, None),
        ]
    )
    xref = cluster_exact_keys(records).set_index("source_record_id")["cluster_id"]
    assert xref.to_dict() == {
        "a": "s:a",
        "b": "s:a",
        "c": "s:a",
        "d": "s:d",
        "e": "s:e",
        "f": "s:f",
        "g": "s:f",
        "h": "s:h",
    }


def test_one_row_per_identifying_record(peers_warehouse: Path):
    (identifying,) = _query(
        peers_warehouse,
        "select count(*) from intermediate.int_party_records_conformed where identifies_customer",
    )[0]
    assert identifying > 25_000
    for table in PEER_TABLES.values():
        (rows, keys, missing) = _query(
            peers_warehouse,
            f"""
            select count(*), count(distinct (source_system, source_record_id)),
                   (select count(*) from (
                       select source_system, source_record_id from intermediate.int_party_records_conformed
                       where identifies_customer
                       except select source_system, source_record_id from {table}))
            from {table}
            """,
        )[0]
        assert (rows, keys, missing) == (identifying, identifying, 0), table


def test_runs_are_timed_and_recorded(peers_warehouse: Path):
    runs = _query(peers_warehouse, "select peer, xref_table, records, clusters, wall_seconds from peers.runs")
    assert {run[0]: run[1] for run in runs} == PEER_TABLES
    for peer, _, records, clusters, seconds in runs:
        print(f"{peer}: {records} records, {clusters} clusters, {seconds:.1f} s")
        assert 2_000 < clusters < records
        assert 0 < seconds < 300


def test_scores_against_truth(peers_warehouse: Path, built: Built):
    exact = score_warehouse(str(peers_warehouse), str(built.raw_dir), PEER_TABLES["exact_keys"])
    splink = score_warehouse(str(peers_warehouse), str(built.raw_dir), PEER_TABLES["splink"])
    for name, s in (("exact_keys", exact), ("splink", splink)):
        print(
            f"{name}: pairwise P {s.pairwise_precision:.4f} R {s.pairwise_recall:.4f} F1 {s.pairwise_f1:.4f}"
            f"; B-cubed P {s.bcubed_precision:.4f} R {s.bcubed_recall:.4f} F1 {s.bcubed_f1:.4f}"
        )
    # Observed on the sample: exact keys P 0.890 R 0.981 (shared phones and resold cars chain people);
    # Splink P 0.9999 R 0.342 pairwise, B-cubed R 0.669 (fleet drivers and sparse records stay apart).
    assert exact.pairwise_precision > 0.8 and exact.pairwise_recall > 0.95
    assert exact.bcubed_f1 > 0.9
    assert splink.pairwise_precision > 0.99 and splink.bcubed_precision > 0.99
    assert 0.2 < splink.pairwise_recall < exact.pairwise_recall
    assert splink.bcubed_recall > 0.5


def test_splink_parameters_are_estimated_from_the_data(peers_warehouse: Path):
    untrained = settings().create_settings_dict("duckdb")["comparisons"]
    set_by_hand = [
        level
        for c in untrained
        for level in c["comparison_levels"]
        if {"m_probability", "u_probability"} & set(level)
    ]
    assert set_by_hand == []

    (details,) = _query(peers_warehouse, "select details from peers.runs where peer = 'splink'")[0]
    details = json.loads(details)
    assert details["em_sessions"] == 2
    assert details["threshold_match_probability"] == 0.95
    assert details["u_max_pairs"] == 1e7
    model = details["model"]
    assert 0 < model["probability_two_random_records_match"] < 0.01
    assert model["probability_two_random_records_match"] != 0.0001  # Splink's default prior
    comparisons = {c["output_column_name"]: c["comparison_levels"] for c in model["comparisons"]}
    assert set(comparisons) == {"name", "mobile", "id_number", "email", "city", "vin"}
    for column, levels in comparisons.items():
        exact = next(level for level in levels if not level.get("is_null_level"))
        m, u = exact["m_probability"], exact["u_probability"]
        print(f"{column}: exact m {m:.4f} u {u:.6f}")
        assert m > 0.3 and u < 0.1 and m / u > 10, column
