"""Time the matching step's exact evidence alone on a benchmark warehouse, and keep what it found.

    .venv/bin/python benchmarks/evidence.py benchmarks/.cache/1000000-1/warehouse.duckdb out.pkl --runs 2

Reads the records as the matching asset does, then times `resolve_vins`, `exact_edges` and
`mobile_only_edges` (after the exact clustering they need) `--runs` times. The last run's VINs, edges and
following records are pickled to compare two checkouts: run another checkout's code with
`PYTHONPATH=<its root>` and compare the two pickles with `DataFrame.equals`.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.evidence import exact_edges, mobile_only_edges, resolve_vins
from pipelines.matching.graph import cluster_exact
from pipelines.matching.matcher import identifying_records, read_match_records, resident_id_codes
from pipelines.tables import DuckDBTables


def read_records(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return identifying_records(read_match_records(DuckDBTables(con)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("out", type=Path, help="pickle of the last run's VINs, edges and following records")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    records = read_records(args.warehouse)
    n = len(records)
    id_codes = resident_id_codes(records)
    no_cannot_link = pd.DataFrame(
        {"left": np.array([], dtype=np.int64), "right": np.array([], dtype=np.int64)}
    )
    for _ in range(args.runs):
        started = time.perf_counter()
        vins = resolve_vins(records)
        resolved = time.perf_counter()
        exact, following = exact_edges(records, vins)
        found = time.perf_counter()
        labels, _ = cluster_exact(n, exact, id_codes, no_cannot_link)
        clustered = time.perf_counter()
        mobile = mobile_only_edges(records, labels, following)
        done = time.perf_counter()
        print(
            f"{n:,} records: resolve_vins {resolved - started:.2f} s, exact_edges {found - resolved:.2f} s, "
            f"mobile_only_edges {done - clustered:.2f} s",
            flush=True,
        )
    with args.out.open("wb") as out:
        pickle.dump({"vin": vins, "exact": exact, "following": following, "mobile": mobile}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
