"""Benchmark customer matching against its two peers on generated data of a given size.

    .venv/bin/python benchmarks/matching.py --customers 10000 --seed 1

Generates (or reuses) raw data under ``benchmarks/.cache/<N>-<seed>/raw``, builds the warehouse there with
the platform's job (a subprocess, as ``python -m pipelines.run`` does, timing every step from the run's
events), runs both peers (``python -m pipelines.peers``), scores the three xref tables against the
generated truth and writes ``benchmarks/results/matching-<N>.md`` and ``.json``.

Matching wall seconds: ours = the Python steps of the ``intermediate`` group (conform and cluster, read
from and written to the warehouse); a peer = conformed records read, matched and its xref written.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import (
    OURS_TABLE,
    RESULTS,
    Layout,
    build_platform,
    generate,
    git_commit,
    load_average,
    machine,
    platform_steps,
    run_peers,
    score,
)


def report_markdown(result: dict[str, Any]) -> str:
    """The three rows side by side, with the steps behind our matching time."""
    head = (
        "| matcher | records | clusters | pairwise P | pairwise R | pairwise F1 | B-cubed P | B-cubed R "
        "| B-cubed F1 | matching s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"# Matching benchmark: {result['customers']:,} customers, seed {result['seed']}",
        "",
        f"{result['finished_at']}, commit {result['commit']}, {result['machine']} (load average "
        f"{result['load_average']}); truth: {result['truth_records']:,} records in "
        f"{result['truth_clusters']:,} customers.",
        "",
        head,
    ]
    for row in result["rows"]:
        s = row["score"]
        lines.append(
            f"| {row['matcher']} | {s['predicted_records']:,} | {s['predicted_clusters']:,} "
            f"| {s['pairwise_precision']:.4f} | {s['pairwise_recall']:.4f} | {s['pairwise_f1']:.4f} "
            f"| {s['bcubed_precision']:.4f} | {s['bcubed_recall']:.4f} | {s['bcubed_f1']:.4f} "
            f"| {row['matching_seconds']:.1f} |"
        )
    platform_run = result["platform"]
    lines += [
        "",
        f"Platform job: {platform_run['job_wall_seconds']:.1f} s "
        f"(subprocess {platform_run['subprocess_wall_seconds']:.1f} s). Our matching time is the sum of "
        "its Python steps in the intermediate group (conforming included); a peer's runs from the "
        "conformed records in the warehouse to its xref table written there (conforming not included).",
        "",
        "| step | seconds | matching |",
        "|---|---:|:---:|",
    ]
    failed = sorted(key for key, step in platform_run["steps"].items() if step.get("failed"))
    if failed:
        lines[-2:-2] = [f"**The platform run failed** in {', '.join(failed)} (after matching).", ""]
    by_time = sorted(platform_run["steps"].items(), key=lambda kv: -(kv[1]["seconds"] or 0.0))
    for key, step in by_time:
        seconds = "failed" if step.get("failed") else f"{step['seconds'] or 0.0:.1f}"
        lines.append(f"| {key} | {seconds} | {'yes' if step['matching'] else ''} |")
    return "\n".join(lines) + "\n"


def benchmark(customers: int, seed: int, reuse_warehouse: bool) -> dict[str, Any]:
    layout = Layout.of(customers, seed)
    layout.root.mkdir(parents=True, exist_ok=True)
    generated = generate(layout, customers, seed)
    origin = f"generated in {generated:.0f} s" if generated is not None else "cached"
    print(f"raw data: {layout.raw} ({origin})", flush=True)
    if reuse_warehouse and layout.warehouse.is_file() and layout.steps.is_file():
        platform_run = json.loads(layout.steps.read_text(encoding="utf-8"))
        print("platform: reusing the cached warehouse", flush=True)
    else:
        platform_run = build_platform(layout, Path(__file__).resolve())
        layout.steps.write_text(json.dumps(platform_run, indent=2), encoding="utf-8")
        print(f"platform: {platform_run['subprocess_wall_seconds']:.1f} s", flush=True)
    peers = run_peers(layout)
    for peer, run in peers.items():
        print(f"peer {peer}: {run['wall_seconds']:.1f} s", flush=True)
    tables = [OURS_TABLE, *(run["table"] for run in peers.values())]
    scores = score(layout, tables)
    ours_seconds = sum(s["seconds"] or 0.0 for s in platform_run["steps"].values() if s["matching"])
    rows = [
        {"matcher": f"ours ({OURS_TABLE})", "score": scores[OURS_TABLE], "matching_seconds": ours_seconds}
    ]
    rows += [
        {
            "matcher": f"{peer} ({run['table']})",
            "score": scores[run["table"]],
            "matching_seconds": run["wall_seconds"],
        }
        for peer, run in peers.items()
    ]
    first = scores[OURS_TABLE]
    return {
        "customers": customers,
        "seed": seed,
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": machine(),
        "load_average": load_average(),
        "truth_records": first["true_records"],
        "truth_clusters": first["true_clusters"],
        "rows": rows,
        "platform": platform_run,
        "peers": peers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers to generate (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--reuse-warehouse",
        action="store_true",
        help="keep the cached warehouse and its step timings instead of rebuilding it",
    )
    parser.add_argument("--platform-steps", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.platform_steps:
        return platform_steps(args.platform_steps)

    result = benchmark(args.customers, args.seed, args.reuse_warehouse)
    markdown = report_markdown(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"matching-{args.customers}.md").write_text(markdown, encoding="utf-8")
    (RESULTS / f"matching-{args.customers}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
