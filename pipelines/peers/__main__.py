"""``python -m pipelines.peers``: run the matching peers on a built warehouse, one xref table each."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.peers.runner import PEERS, PeerOptions, run_peer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.peers",
        description="Match the warehouse's conformed records with the peers and write peers.<peer>_xref.",
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=Path(os.environ.get("CRM_WAREHOUSE_PATH", "data/warehouse.duckdb")),
        help="DuckDB warehouse holding intermediate.int_party_records_conformed",
    )
    parser.add_argument(
        "--peer",
        action="append",
        dest="peers",
        choices=sorted(PEERS),
        help="peer to run; repeat for several (default: all)",
    )
    parser.add_argument(
        "--splink-u-max-pairs",
        type=float,
        default=PeerOptions.splink_u_max_pairs,
        help="record pairs Splink samples to estimate u (default %(default)g)",
    )
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        print(f"error: warehouse not found: {args.warehouse}", file=sys.stderr)
        return 2
    for peer in args.peers or list(PEERS):
        outcome = run_peer(peer, args.warehouse, PeerOptions(splink_u_max_pairs=args.splink_u_max_pairs))
        print(
            f"{outcome.peer:<12} {outcome.records:>10} records {outcome.clusters:>10} clusters "
            f"{outcome.wall_seconds:>9.1f} s -> {outcome.table}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
