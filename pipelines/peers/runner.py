"""Run a peer on a warehouse: conformed records in, ``peers.<peer>_xref`` out, timed end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.peers.exact_keys import cluster_exact_keys
from pipelines.peers.records import load_identifying_records
from pipelines.peers.splink_peer import MATCH_THRESHOLD, U_MAX_PAIRS, cluster_splink

SCHEMA = "peers"
RUNS_TABLE = f"{SCHEMA}.runs"


@dataclass(frozen=True)
class PeerOptions:
    """Knobs of the peers that trade run time for estimation accuracy, not for fit to truth."""

    splink_u_max_pairs: float = U_MAX_PAIRS


PeerMatcher = Callable[[pd.DataFrame, PeerOptions], tuple[pd.DataFrame, dict[str, Any]]]


def _exact_keys(records: pd.DataFrame, options: PeerOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    return cluster_exact_keys(records), {"keys": ["mobile", "resident_id_or_uscc", "vin"]}


def _splink(records: pd.DataFrame, options: PeerOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    run = cluster_splink(records, u_max_pairs=options.splink_u_max_pairs)
    details = {
        "threshold_match_probability": MATCH_THRESHOLD,
        "u_max_pairs": options.splink_u_max_pairs,
        "linked_pairs": run.linked_pairs,
        "em_sessions": run.em_sessions,
        "model": run.model,
    }
    return run.xref, details


PEERS: dict[str, PeerMatcher] = {"exact_keys": _exact_keys, "splink": _splink}


@dataclass(frozen=True)
class PeerOutcome:
    """One peer's run: the table it wrote, its size and its wall time from conformed records to xref."""

    peer: str
    table: str
    records: int
    clusters: int
    wall_seconds: float
    details: dict[str, Any]


def xref_table(peer: str) -> str:
    return f"{SCHEMA}.{peer}_xref"


def _write(con: duckdb.DuckDBPyConnection, outcome: PeerOutcome, xref: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_xref", xref)
    try:
        con.execute(
            f"create or replace table {outcome.table} as "
            "select source_system, source_record_id, cluster_id as customer_id from _xref "
            "order by source_system, source_record_id"
        )
    finally:
        con.unregister("_xref")
    con.execute(
        f"create table if not exists {RUNS_TABLE} (peer varchar primary key, xref_table varchar, "
        "records bigint, clusters bigint, wall_seconds double, details json, finished_at timestamptz)"
    )
    con.execute(
        f"insert or replace into {RUNS_TABLE} values (?, ?, ?, ?, ?, ?, now())",
        [
            outcome.peer,
            outcome.table,
            outcome.records,
            outcome.clusters,
            outcome.wall_seconds,
            json.dumps(outcome.details, ensure_ascii=False),
        ],
    )


def run_peer(peer: str, warehouse: Path, options: PeerOptions | None = None) -> PeerOutcome:
    """Match the warehouse's conformed records with ``peer`` and replace its xref table.

    The wall time covers reading the conformed records, matching and writing the xref.
    """
    matcher = PEERS[peer]
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        records = load_identifying_records(con)
        xref, details = matcher(records, options or PeerOptions())
        outcome = PeerOutcome(
            peer=peer,
            table=xref_table(peer),
            records=len(xref),
            clusters=int(xref["cluster_id"].nunique()),
            wall_seconds=0.0,
            details=details,
        )
        _write(con, outcome, xref)
        elapsed = time.perf_counter() - started
        con.execute(f"update {RUNS_TABLE} set wall_seconds = ? where peer = ?", [elapsed, peer])
    return PeerOutcome(**{**outcome.__dict__, "wall_seconds": elapsed})
