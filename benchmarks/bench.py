"""The platform benchmark (``make bench``): every stage of the nightly run beside the floor and the peers.

    .venv/bin/python benchmarks/bench.py --sizes 10000,100000 [--seed 1] [--incremental]

Per size: generates the raw data (cached under ``benchmarks/.cache/<N>-<seed>/raw``, shared with
``benchmarks/matching.py``), measures the floor (``benchmarks/floor.py``), runs the platform's whole job
in a fresh warehouse in a subprocess with one row per stage (wall seconds, CPU seconds of the process tree,
peak resident memory), runs both matching peers on the conformed records and scores the three xref tables
against the generated truth. With ``--incremental`` it also builds a warehouse on all but the newest files
(about 0.3 % of the records: a day's delivery) and times the run that lands that day on top of it.

Writes ``benchmarks/results/bench-<N>.md`` and ``.json`` per size and ``benchmarks/results/bench.md`` for
the sizes of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floor import measure_floor
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

SCRIPT = Path(__file__).resolve()
STAGES = ("extract", "staging", "conform", "match", "cluster", "marts", "mining", "quality", "orchestration")
STAGE_NOTES = {
    "extract": "raw group: land every file (read, decode, parse, write raw tables)",
    "staging": "dbt staging + intermediate union + seeds (dbt_conform_inputs, with its dbt tests)",
    "conform": "intermediate/int_party_records_conformed",
    "match": "intermediate/int_party_records_clustered less its clustering calls",
    "cluster": "constrained clustering, link reasons and lifelong ids inside the matching asset",
    "marts": "one dbt step (dbt_marts, with its dbt tests): marts, analysts' views, mining inputs (events, "
    "features, next service due), the dealer network; then the published copy",
    "mining": "the Python mining assets (CLV, clusters) and the dbt step of the tables that read them "
    "(segments, campaigns)",
    "quality": "Great Expectations checks and the run summary",
    "orchestration": "Dagster between steps: job start, resources, events",
}
CONFORMED = "intermediate/int_party_records_conformed"
CLUSTERED = "intermediate/int_party_records_clustered"
INCREMENTAL_SHARE = 0.003
DATED = re.compile(r"(\d{4})-?(\d{2})(?:-?(\d{2}))?\.(?:csv|jsonl|parquet)$")


def stage_of(step_key: str, step: dict[str, Any]) -> str:
    """Which stage a step of the job belongs to, by the groups and keys of the assets it materialised."""
    assets, groups = step.get("assets", []), set(step.get("groups", []))
    if CLUSTERED in assets:
        return "match"
    if CONFORMED in assets:
        return "conform"
    if not assets:
        return "quality"
    if groups & {"raw"}:
        return "extract"
    if groups & {"staging", "intermediate"} or step_key == "dbt_conform_inputs":
        return "staging"
    if step_key == "dbt_marts":
        return "marts"
    if groups & {"mining"}:
        return "mining"
    if groups & {"quality"}:
        return "quality"
    return "marts"


def stage_rows(platform_run: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage: wall and CPU seconds summed over its steps, the largest peak memory among them."""
    rows = {
        s: {"stage": s, "wall_seconds": 0.0, "cpu_seconds": 0.0, "peak_rss_bytes": 0, "steps": []}
        for s in STAGES
    }
    for key, step in platform_run["steps"].items():
        row = rows[stage_of(key, step)]
        row["wall_seconds"] += step.get("seconds") or 0.0
        row["cpu_seconds"] += step.get("cpu_seconds") or 0.0
        row["peak_rss_bytes"] = max(row["peak_rss_bytes"], step.get("peak_rss_bytes") or 0)
        row["steps"].append(key)
    clustering = platform_run.get("clustering", {})
    if clustering.get("calls"):
        match, cluster = rows["match"], rows["cluster"]
        cluster["wall_seconds"] = clustering["wall_seconds"]
        cluster["cpu_seconds"] = clustering["cpu_seconds"]
        cluster["peak_rss_bytes"] = match["peak_rss_bytes"]
        cluster["steps"] = list(match["steps"])
        match["wall_seconds"] -= clustering["wall_seconds"]
        match["cpu_seconds"] -= clustering["cpu_seconds"]
    steps_wall = sum(step.get("seconds") or 0.0 for step in platform_run["steps"].values())
    rows["orchestration"]["wall_seconds"] = max(platform_run["job_wall_seconds"] - steps_wall, 0.0)
    steps_cpu = sum(r["cpu_seconds"] for r in rows.values())
    rows["orchestration"]["cpu_seconds"] = max(platform_run.get("job_cpu_seconds", 0.0) - steps_cpu, 0.0)
    return [rows[s] for s in STAGES]


def _metadata(platform_run: dict[str, Any], asset: str) -> dict[str, Any]:
    for step in platform_run["steps"].values():
        if asset in step.get("metadata", {}):
            return step["metadata"][asset]
    return {}


def warehouse_counts(warehouse: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        raw_rows, files = con.execute("select sum(rows_loaded), count(*) from raw.load_manifest").fetchall()[
            0
        ]
        party = con.execute("select count(*) from intermediate.int_party_records_conformed").fetchall()[0][0]
        customers = con.execute(f"select count(distinct customer_id) from {OURS_TABLE}").fetchall()[0][0]
    return {
        "raw_rows": int(raw_rows),
        "raw_files": int(files),
        "party_records": party,
        "customers_out": customers,
    }


# --- the incremental day --------------------------------------------------------------------------------


def _data_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines = path.read_bytes().count(b"\n")
    return lines - 1 if path.suffix == ".csv" else lines


def split_day(raw: Path, share: float = INCREMENTAL_SHARE) -> tuple[list[Path], int, int]:
    """The newest dated files holding about ``share`` of the records: (files, their rows, all rows)."""
    dated: list[tuple[str, str, Path, int]] = []
    total = 0
    for path in raw.rglob("*"):
        rel = path.relative_to(raw).as_posix()
        if rel.startswith("_truth") or not path.is_file():
            continue
        rows = _data_rows(path)
        total += rows
        found = DATED.search(path.name)
        if found:
            year, month, day = found.groups()
            dated.append((f"{year}{month}{day or '99'}", rel, path, rows))
    dated.sort(key=lambda d: (d[0], d[1]), reverse=True)
    chosen, rows = [], 0
    for _, _, path, n in dated:
        if rows >= share * total:
            break
        chosen.append(path)
        rows += n
    return chosen, rows, total


def _link_tree(source: Path, target: Path, leave_out: set[Path]) -> None:
    """Hard-link every file of ``source`` under ``target`` (same bytes and mtime), but ``leave_out``."""
    for path in source.rglob("*"):
        if path.is_file() and path not in leave_out:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.exists():
                os.link(path, destination)


def incremental_day(layout: Layout) -> dict[str, Any]:
    """Build a warehouse on all but the newest day's files, then time landing that day on top of it."""
    import shutil

    day_files, day_rows, total_rows = split_day(layout.raw)
    root = layout.root / "incremental"
    if root.exists():
        shutil.rmtree(root)
    raw = root / "raw"
    _link_tree(layout.raw, raw, set(day_files))
    warehouse = root / "warehouse.duckdb"
    print(f"incremental: base run without {len(day_files)} files ({day_rows:,} rows)", flush=True)
    base = build_platform(layout, SCRIPT, raw=raw, warehouse=warehouse)
    _link_tree(layout.raw, raw, set())
    print("incremental: the day's run", flush=True)
    day = build_platform(layout, SCRIPT, raw=raw, warehouse=warehouse, fresh=False)
    return {
        "day_files": len(day_files),
        "day_rows": day_rows,
        "total_rows": total_rows,
        "share": day_rows / total_rows,
        "base": base,
        "day": day,
        "base_stages": stage_rows(base),
        "day_stages": stage_rows(day),
    }


# --- one size ---------------------------------------------------------------------------------------------


def benchmark(customers: int, seed: int, incremental: bool, peers: Sequence[str] = ()) -> dict[str, Any]:
    layout = Layout.of(customers, seed)
    layout.root.mkdir(parents=True, exist_ok=True)
    generated = generate(layout, customers, seed)
    print(f"{customers:,}: raw data {layout.raw} ({'cached' if generated is None else f'{generated:.0f} s'})")
    floor = measure_floor(layout.raw)
    print(
        f"{customers:,}: floor {floor.seconds:.1f} s ({floor.files:,} files, {floor.rows:,} rows)", flush=True
    )
    load_before = load_average()
    platform_run = build_platform(layout, SCRIPT)
    layout.steps.write_text(json.dumps(platform_run, indent=2), encoding="utf-8")
    print(f"{customers:,}: platform {platform_run['job_wall_seconds']:.1f} s", flush=True)
    counts = warehouse_counts(layout.warehouse)
    try:
        peers, peers_failed = run_peers(layout, peers=peers), None
    except SystemExit as failed:  # a peer that fails (out of memory at 1M, say) leaves our figures standing
        peers, peers_failed = {}, str(failed)
        print(f"{customers:,}: peers failed: {failed}", flush=True)
    scores = score(layout, [OURS_TABLE, *(run["table"] for run in peers.values())])
    stages = stage_rows(platform_run)
    pre_matching = sum(r["wall_seconds"] for r in stages if r["stage"] in ("extract", "staging", "conform"))
    matching = _metadata(platform_run, CLUSTERED)
    result: dict[str, Any] = {
        "customers": customers,
        "seed": seed,
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "generated_seconds": generated,
        "floor": asdict(floor),
        "counts": counts,
        "candidate_pairs": matching.get("splink_scored_pairs"),
        "exact_edges": matching.get("exact_edges"),
        "stages": stages,
        "platform": platform_run,
        "peers": {
            peer: {**run, "raw_to_xref_seconds": pre_matching + run["wall_seconds"]}
            for peer, run in peers.items()
        },
        "scores": scores,
        "peers_failed": peers_failed,
    }
    write_result(result)
    if incremental:
        result["incremental"] = incremental_day(layout)
        write_result(result)
    return result


def write_result(result: dict[str, Any]) -> None:
    """One size's report and figures under ``benchmarks/results`` (again once its incremental day ran)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    size = result["customers"]
    (RESULTS / f"bench-{size}.md").write_text(report_markdown(result), encoding="utf-8")
    (RESULTS / f"bench-{size}.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


# --- reports ----------------------------------------------------------------------------------------------


def _gb(n: int | float) -> str:
    return f"{n / 2**30:.2f}"


def report_markdown(result: dict[str, Any]) -> str:
    floor, counts, platform_run = result["floor"], result["counts"], result["platform"]
    total = platform_run["job_wall_seconds"]
    ours = result["scores"][OURS_TABLE]
    lines = [
        f"# Platform benchmark: {result['customers']:,} customers, seed {result['seed']}",
        "",
        f"{result['finished_at']}, commit {result['commit']}, {result['machine']}; load average "
        f"{result['load_average_before']} before the platform run, {result['load_average_after']} after.",
        "",
        f"Raw: {floor['files']:,} files, {floor['bytes'] / 1e6:.0f} MB, "
        f"{counts['raw_rows']:,} records landed; "
        f"{counts['party_records']:,} party records; {result['candidate_pairs'] or 0:,} candidate pairs "
        f"scored by Splink ({result['exact_edges'] or 0:,} exact edges); "
        f"{counts['customers_out']:,} customers out; pairwise F1 {ours['pairwise_f1']:.4f}.",
        "",
        "| stage | wall s | CPU s | peak RSS GB | share of wall | x floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["stages"]:
        lines.append(
            f"| {row['stage']} | {row['wall_seconds']:.1f} | {row['cpu_seconds']:.1f} "
            f"| {_gb(row['peak_rss_bytes'])} | {row['wall_seconds'] / total:.1%} "
            f"| {row['wall_seconds'] / floor['seconds']:.1f} |"
        )
    lines += [
        f"| **end to end** | **{total:.1f}** | **{platform_run.get('job_cpu_seconds', 0.0):.1f}** "
        f"| **{_gb(platform_run.get('peak_rss_bytes', 0))}** | 100% | **{total / floor['seconds']:.1f}** |",
        "",
        "| run | scope | wall s | x floor | x ours end to end | clusters | pairwise F1 | B-cubed F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        f"| floor | read, decode, parse every file once, one thread | {floor['seconds']:.1f} | 1.0 "
        f"| {floor['seconds'] / total:.3f} | | | |",
        f"| ours | raw to every mart | {total:.1f} | {total / floor['seconds']:.1f} | 1.00 "
        f"| {ours['predicted_clusters']:,} | {ours['pairwise_f1']:.4f} | {ours['bcubed_f1']:.4f} |",
    ]
    for peer, run in result["peers"].items():
        s = result["scores"][run["table"]]
        for scope, seconds in (
            ("conformed records to xref", run["wall_seconds"]),
            ("raw to xref (our extract, staging, conform + the peer)", run["raw_to_xref_seconds"]),
        ):
            lines.append(
                f"| {peer} | {scope} | {seconds:.1f} | {seconds / floor['seconds']:.1f} "
                f"| {seconds / total:.2f} "
                f"| {s['predicted_clusters']:,} | {s['pairwise_f1']:.4f} | {s['bcubed_f1']:.4f} |"
            )
    if result.get("peers_failed"):
        lines.append(f"| peers | failed: {result['peers_failed']} | | | | | | |")
    minutes = total / 60
    lines += [
        "",
        f"Customers per minute end to end: {result['customers'] / minutes:,.0f} "
        f"({counts['raw_rows'] / minutes:,.0f} records per minute); end to end / floor: "
        f"{total / floor['seconds']:.1f}.",
    ]
    if "incremental" in result:
        inc = result["incremental"]
        base_wall, day_wall = inc["base"]["job_wall_seconds"], inc["day"]["job_wall_seconds"]
        lines += [
            "",
            f"Incremental day: {inc['day_files']:,} newest files, {inc['day_rows']:,} rows "
            f"({inc['share']:.2%} of {inc['total_rows']:,}) on top of a warehouse built from the rest.",
            "",
            "| stage | base run wall s | day run wall s | day / base |",
            "|---|---:|---:|---:|",
        ]
        for base_row, day_row in zip(inc["base_stages"], inc["day_stages"], strict=True):
            ratio = day_row["wall_seconds"] / base_row["wall_seconds"] if base_row["wall_seconds"] else 0.0
            lines.append(
                f"| {base_row['stage']} | {base_row['wall_seconds']:.1f} | {day_row['wall_seconds']:.1f} "
                f"| {ratio:.2f} |"
            )
        lines.append(
            f"| **job** | **{base_wall:.1f}** | **{day_wall:.1f}** | **{day_wall / base_wall:.2f}** |"
        )
        lines += _day_reuse(
            inc["day"],
            CLUSTERED,
            "splink_pairs_scored_this_run",
            "splink_scored_pairs",
            "matching scored",
            "candidate pairs",
        )
        lines += _day_reuse(
            inc["day"], CONFORMED, "records_conformed", "dagster/row_count", "conforming conformed", "records"
        )
    lines += ["", "Stages:", ""]
    lines += [f"- {stage}: {note}" for stage, note in STAGE_NOTES.items()]
    lines += ["", "| step | stage | wall s | CPU s | peak RSS GB |", "|---|---|---:|---:|---:|"]
    by_time = sorted(platform_run["steps"].items(), key=lambda kv: -(kv[1].get("seconds") or 0.0))
    for key, step in by_time:
        seconds = "failed" if step.get("failed") else f"{step.get('seconds') or 0.0:.1f}"
        lines.append(
            f"| {key} | {stage_of(key, step)} | {seconds} | {step.get('cpu_seconds', 0.0):.1f} "
            f"| {_gb(step.get('peak_rss_bytes', 0))} |"
        )
    return "\n".join(lines) + "\n"


def _day_reuse(day: dict[str, Any], asset: str, done: str, total: str, did: str, what: str) -> list[str]:
    """A line on how much of `asset`'s work the day's run did anew (its metadata `done` of `total`)."""
    metadata = _metadata(day, asset)
    if done not in metadata:
        return []
    return ["", f"The day's {did} {metadata[done]:,} of {metadata.get(total, 0):,} {what} (the rest reused)."]


def summary_markdown(results: list[dict[str, Any]]) -> str:
    """The sizes of one run side by side, with the growth exponent between consecutive sizes."""
    lines = [
        "# Platform benchmark",
        "",
        "| customers | records | floor s | ours s | x floor | peak RSS GB | splink raw to xref s | "
        "ours / splink | F1 ours | F1 splink | customers per minute |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        total = result["platform"]["job_wall_seconds"]
        floor = result["floor"]["seconds"]
        ours_f1 = result["scores"][OURS_TABLE]["pairwise_f1"]
        splink = result["peers"].get("splink")
        if splink:
            seconds = splink["raw_to_xref_seconds"]
            splink_f1 = result["scores"].get(splink["table"], {}).get("pairwise_f1", 0.0)
            peer = f"{seconds:.1f} | {total / seconds:.2f} | {ours_f1:.4f} | {splink_f1:.4f}"
        else:
            peer = f"not run | | {ours_f1:.4f} | not run"
        lines.append(
            f"| {result['customers']:,} | {result['counts']['raw_rows']:,} | {floor:.1f} | {total:.1f} "
            f"| {total / floor:.1f} | {_gb(result['platform'].get('peak_rss_bytes', 0))} "
            f"| {peer} | {result['customers'] / (total / 60):,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="customers per size, comma-separated")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--incremental", action="store_true", help="also time a day's delivery on top of the warehouse"
    )
    parser.add_argument(
        "--peers",
        default="",
        help="matching peers to run, comma-separated (default: all; at 1M the Splink "
        "peer needs more than 24 GB)",
    )
    parser.add_argument("--platform-steps", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.platform_steps:
        return platform_steps(args.platform_steps)

    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()):
        result = benchmark(size, args.seed, args.incremental, [p for p in args.peers.split(",") if p.strip()])
        results.append(result)
        print(report_markdown(result), flush=True)
    (RESULTS / "bench.md").write_text(summary_markdown(results), encoding="utf-8")
    print(summary_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
