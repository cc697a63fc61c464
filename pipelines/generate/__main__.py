"""CLI: python -m pipelines.generate --out DIR --customers N --seed S [--start YYYY-MM --end YYYY-MM]."""

from __future__ import annotations

import argparse

from .config import DEFAULT_END, DEFAULT_START
from .generator import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.generate",
        description="Generate synthetic raw CDP feeds plus ground truth (_truth/).",
    )
    ap.add_argument(
        "--out",
        required=True,
        help="output folder (its dealers/, manufacturer/, repair_shops/ and _truth/ are replaced)",
    )
    ap.add_argument("--customers", type=int, required=True, help="number of customers (persons + companies)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--start", default=DEFAULT_START, help="first month, YYYY-MM (default %(default)s)")
    ap.add_argument("--end", default=DEFAULT_END, help="last month, YYYY-MM (default %(default)s)")
    args = ap.parse_args(argv)
    summary = generate(args.out, args.customers, args.seed, args.start, args.end)
    print(summary.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
