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
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = REPO_ROOT / "benchmarks" / ".cache"
RESULTS = REPO_ROOT / "benchmarks" / "results"
OURS_TABLE = "marts.customer_xref"
MATCHING_GROUP = "intermediate"


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def steps(self) -> Path:
        return self.root / "platform_steps.json"

    @property
    def log(self) -> Path:
        return self.root / "benchmark.log"


def _run(command: list[str], layout: Layout, env: dict[str, str] | None = None, check: bool = True) -> float:
    """Run a subprocess with its output appended to the cache's log; its wall seconds."""
    started = time.perf_counter()
    with layout.log.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode and check:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}; see {layout.log}")
    return time.perf_counter() - started


def generate(layout: Layout, customers: int, seed: int) -> float | None:
    """Generate the raw data unless the cache already holds it; the seconds it took (None if cached)."""
    if (layout.raw / "_truth" / "record_truth.csv").is_file():
        return None
    command = [sys.executable, "-m", "pipelines.generate", "--out", str(layout.raw)]
    return _run([*command, "--customers", str(customers), "--seed", str(seed)], layout)


def build_platform(layout: Layout) -> dict[str, Any]:
    """Build a fresh warehouse with the platform's job in a subprocess; the run's step timings.

    A run that fails after its matching steps is still scored (the failed steps are reported).
    """
    for stale in (layout.warehouse, Path(f"{layout.warehouse}.wal"), layout.steps):
        stale.unlink(missing_ok=True)
    env = {**os.environ, "CRM_RAW_DIR": str(layout.raw), "CRM_WAREHOUSE_PATH": str(layout.warehouse)}
    command = [sys.executable, str(Path(__file__).resolve()), "--platform-steps", str(layout.steps)]
    wall = _run(command, layout, env, check=False)
    if not layout.steps.is_file():
        raise SystemExit(f"the platform run did not finish; see {layout.log}")
    steps = json.loads(layout.steps.read_text(encoding="utf-8"))
    matching = [step for step in steps["steps"].values() if step["matching"]]
    if not matching or any(step["failed"] for step in matching):
        raise SystemExit(f"the platform's matching steps did not succeed; see {layout.log}")
    return {**steps, "subprocess_wall_seconds": wall}


def platform_steps(out: Path) -> int:
    """Materialise every asset as ``pipelines.run`` does and write each step's duration and assets to ``out``.

    Runs inside the platform subprocess, whose environment names the raw folder and the warehouse.
    """
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.run import NO_RETRIES_RUN_CONFIG, summarise
    from pipelines.settings import resolve_paths

    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("materialize_all").execute_in_process(
            instance=instance, raise_on_error=False, run_config=NO_RETRIES_RUN_CONFIG
        )
        wall = time.perf_counter() - started
        steps: dict[str, dict[str, Any]] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            step = steps.setdefault(event.step_key, {"assets": [], "seconds": None, "failed": False})
            if event.event_type_value == "STEP_SUCCESS":
                step["seconds"] = event.event_specific_data.duration_ms / 1000.0
            elif event.event_type_value == "STEP_FAILURE":
                step["failed"] = True
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                step["assets"].append(event.asset_key.to_user_string())
    for step in steps.values():
        keys = [dg.AssetKey.from_user_string(a) for a in step["assets"]]
        step["matching"] = bool(keys) and all(
            specs[k].group_name == MATCHING_GROUP and "dbt" not in specs[k].kinds for k in keys
        )
    payload = {"success": result.success, "job_wall_seconds": wall, "steps": steps}
    out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if not result.success:
        print("platform run failed", file=sys.stderr)
        return 1
    print(summarise(str(resolve_paths().warehouse_path)))
    return 0


def run_peers(layout: Layout) -> dict[str, dict[str, Any]]:
    """Run both peers on the built warehouse; their rows of ``peers.runs`` (without the model)."""
    import duckdb

    _run([sys.executable, "-m", "pipelines.peers", "--warehouse", str(layout.warehouse)], layout)
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        rows = con.execute(
            "select peer, xref_table, records, clusters, wall_seconds, "
            "json_extract(details, '$.linked_pairs')::bigint from peers.runs order by peer"
        ).fetchall()
    return {
        peer: {"table": table, "records": n, "clusters": c, "wall_seconds": s, "linked_pairs": pairs}
        for peer, table, n, c, s, pairs in rows
    }


def score(layout: Layout, tables: list[str]) -> dict[str, dict[str, Any]]:
    """Pairwise and B-cubed scores of each xref table against the generated truth."""
    from pipelines.evaluate import connect_warehouse, load_truth, load_xref, score_clusters

    truth = load_truth(layout.raw)
    con = connect_warehouse(layout.warehouse)
    try:
        return {table: score_clusters(load_xref(con, table), truth).as_row() for table in tables}
    finally:
        con.close()


def _git_commit() -> str:
    """The checkout's commit, ``-dirty`` when the working tree has changes."""
    command = ["git", "describe", "--always", "--dirty"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


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
    layout = Layout(CACHE / f"{customers}-{seed}")
    layout.root.mkdir(parents=True, exist_ok=True)
    generated = generate(layout, customers, seed)
    origin = f"generated in {generated:.0f} s" if generated is not None else "cached"
    print(f"raw data: {layout.raw} ({origin})", flush=True)
    if reuse_warehouse and layout.warehouse.is_file() and layout.steps.is_file():
        platform_run = json.loads(layout.steps.read_text(encoding="utf-8"))
        print("platform: reusing the cached warehouse", flush=True)
    else:
        platform_run = build_platform(layout)
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
        "commit": _git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": " ".join(f"{load:.1f}" for load in os.getloadavg()),
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
