"""What the benchmark scripts share: the data cache, logged subprocesses, the platform's job run with each
step's wall seconds, CPU seconds and peak memory, the peers and the scorer.

Imported by ``benchmarks/matching.py`` and ``benchmarks/bench.py`` (scripts: their folder is on the path).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = REPO_ROOT / "benchmarks" / ".cache"
RESULTS = REPO_ROOT / "benchmarks" / "results"
OURS_TABLE = "marts.customer_xref"
MATCHING_GROUP = "intermediate"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Layout:
    """One cached data set: ``<cache>/<customers>-<seed>/`` with the raw files and a warehouse."""

    root: Path

    @classmethod
    def of(cls, customers: int, seed: int) -> Layout:
        return cls(CACHE / f"{customers}-{seed}")

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


def run_logged(
    command: list[str], layout: Layout, env: dict[str, str] | None = None, check: bool = True
) -> float:
    """Run a subprocess with its output appended to the cache's log; its wall seconds."""
    layout.root.mkdir(parents=True, exist_ok=True)
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
    return run_logged([*command, "--customers", str(customers), "--seed", str(seed)], layout)


def fresh_warehouse(path: Path) -> None:
    """Remove a warehouse file, its write-ahead log and its analysts' copy."""
    from pipelines.publish import publish_root

    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    published = publish_root(path)
    if published.is_dir():
        import shutil

        shutil.rmtree(published)


def build_platform(
    layout: Layout, script: Path, raw: Path | None = None, warehouse: Path | None = None, fresh: bool = True
) -> dict[str, Any]:
    """Run the platform's job in a subprocess (``script --platform-steps``); the run's step figures.

    ``raw`` and ``warehouse`` default to the layout's. A run that fails after its matching steps is still
    returned (the failed steps are marked); one whose matching failed stops the benchmark.
    """
    raw = raw or layout.raw
    warehouse = warehouse or layout.warehouse
    steps_file = warehouse.with_suffix(".steps.json")
    if fresh:
        fresh_warehouse(warehouse)
    steps_file.unlink(missing_ok=True)
    # The run imports `pipelines` from the script's own checkout: the package is installed editable from
    # one checkout, and a benchmark started in another (a worktree) otherwise runs that one's code.
    paths = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {
        **os.environ,
        "CRM_RAW_DIR": str(raw),
        "CRM_WAREHOUSE_PATH": str(warehouse),
        "PYTHONPATH": os.pathsep.join(paths),
    }
    command = [sys.executable, str(script), "--platform-steps", str(steps_file)]
    wall = run_logged(command, layout, env, check=False)
    if not steps_file.is_file():
        raise SystemExit(f"the platform run did not finish; see {layout.log}")
    steps = json.loads(steps_file.read_text(encoding="utf-8"))
    matching = [step for step in steps["steps"].values() if step["matching"]]
    if not matching or any(step["failed"] for step in matching):
        raise SystemExit(f"the platform's matching steps did not succeed; see {layout.log}")
    return {**steps, "subprocess_wall_seconds": wall}


# --- inside the platform subprocess -------------------------------------------------------------------


def _proc_stat(pid: int | str) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds of the process and its reaped children, resident bytes); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # After the command name: state ppid ... utime(12) stime(13) cutime(14) cstime(15) ... rss(22)
    cpu = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    return int(fields[1]), cpu, int(fields[21]) * PAGE_BYTES


def process_tree_usage(root: int) -> tuple[float, int]:
    """CPU seconds and resident bytes of a process and all its live descendants (dbt, its threads)."""
    parents: dict[int, list[int]] = {}
    usage: dict[int, tuple[float, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(entry)
        if stat is None:
            continue
        parents.setdefault(stat[0], []).append(int(entry))
        usage[int(entry)] = (stat[1], stat[2])
    cpu, rss, stack = 0.0, 0, [root]
    while stack:
        pid = stack.pop()
        pid_cpu, pid_rss = usage.get(pid, (0.0, 0))
        cpu += pid_cpu
        rss += pid_rss
        stack.extend(parents.get(pid, []))
    return cpu, rss


@dataclass
class UsageSampler:
    """Samples the CPU seconds and resident memory of this process tree in a background thread."""

    interval: float = 0.25
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        cpu, rss = process_tree_usage(os.getpid())
        self.samples.append((time.time(), cpu, rss))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @contextmanager
    def running(self) -> Iterator[UsageSampler]:
        self._sample()
        thread = threading.Thread(target=self._loop, name="usage-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._sample()

    def cpu_at(self, when: float) -> float:
        """CPU seconds used by the tree up to ``when`` (linear between the samples around it)."""
        before = [s for s in self.samples if s[0] <= when]
        after = [s for s in self.samples if s[0] >= when]
        if not before:
            return self.samples[0][1]
        if not after:
            return self.samples[-1][1]
        (t0, c0, _), (t1, c1, _) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (when - t0) / (t1 - t0)

    def peak_between(self, start: float, end: float) -> int:
        """The largest resident size sampled from ``start`` to ``end`` (the nearest samples included)."""
        inside = [s[2] for s in self.samples if start - self.interval <= s[0] <= end + self.interval]
        return max(inside, default=0)


def peak_rss_bytes() -> int:
    """This process's peak resident size so far (VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class CallTimer:
    """Wall and CPU seconds spent in wrapped functions (benchmark instrumentation, patched at run time)."""

    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
                self.calls += 1

        return timed


def instrument_clustering() -> CallTimer:
    """Time the matcher's clustering calls (constrained clustering and lifelong ids) inside its asset.

    The matcher module is not changed: its module-level names are rebound to timed wrappers for this
    process only. Where the names are gone (the matcher was rewritten) nothing is timed.
    """
    from pipelines.matching import matcher

    timer = CallTimer()
    for name in ("cluster_exact", "merge_probabilistic", "assign_ids", "_link_reasons"):
        if callable(getattr(matcher, name, None)):
            setattr(matcher, name, timer.wrap(getattr(matcher, name)))
    return timer


def _materialisation_metadata(event: Any) -> dict[str, Any]:
    materialization = event.event_specific_data.materialization
    out: dict[str, Any] = {}
    for key, value in materialization.metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, int | float | str | bool):
            out[key] = raw
    return out


def platform_steps(out: Path) -> int:
    """Materialise every asset as ``pipelines.run`` does; write each step's figures and assets to ``out``.

    Runs inside the platform subprocess, whose environment names the raw folder and the warehouse. Per
    step: wall seconds (from the run's events), CPU seconds and peak resident bytes of this process tree
    (sampled), the assets it materialised with their numeric metadata; also the seconds spent inside the
    matcher's clustering calls.
    """
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.run import NO_RETRIES_RUN_CONFIG, summarise
    from pipelines.settings import resolve_paths

    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    clustering = instrument_clustering()
    sampler = UsageSampler()
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance, sampler.running():
        result = defs.resolve_job_def("materialize_all").execute_in_process(
            instance=instance, raise_on_error=False, run_config=NO_RETRIES_RUN_CONFIG
        )
        wall = time.perf_counter() - started
        records = list(instance.all_logs(result.run_id))
    steps: dict[str, dict[str, Any]] = {}
    for record in records:
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        step = steps.setdefault(
            event.step_key,
            {"assets": [], "seconds": None, "failed": False, "started": None, "ended": None, "metadata": {}},
        )
        kind = event.event_type_value
        if kind == "STEP_START":
            step["started"] = record.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step["ended"] = record.timestamp
            step["failed"] = kind == "STEP_FAILURE"
            if kind == "STEP_SUCCESS":
                step["seconds"] = event.event_specific_data.duration_ms / 1000.0
        elif kind == "ASSET_MATERIALIZATION":
            key = event.asset_key.to_user_string()
            step["assets"].append(key)
            step["metadata"][key] = _materialisation_metadata(event)
    for step in steps.values():
        keys = [dg.AssetKey.from_user_string(a) for a in step["assets"]]
        step["groups"] = sorted({specs[k].group_name for k in keys if k in specs})
        step["dbt"] = any("dbt" in specs[k].kinds for k in keys if k in specs)
        step["matching"] = bool(keys) and all(
            specs[k].group_name == MATCHING_GROUP and "dbt" not in specs[k].kinds for k in keys
        )
        if step["started"] is not None and step["ended"] is not None:
            step["cpu_seconds"] = sampler.cpu_at(step["ended"]) - sampler.cpu_at(step["started"])
            step["peak_rss_bytes"] = sampler.peak_between(step["started"], step["ended"])
    payload = {
        "success": result.success,
        "job_wall_seconds": wall,
        "job_cpu_seconds": sampler.samples[-1][1] - sampler.samples[0][1],
        "peak_rss_bytes": max(peak_rss_bytes(), max(s[2] for s in sampler.samples)),
        "clustering": {
            "wall_seconds": clustering.wall,
            "cpu_seconds": clustering.cpu,
            "calls": clustering.calls,
        },
        "steps": steps,
    }
    out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if not result.success:
        print("platform run failed", file=sys.stderr)
        return 1
    print(summarise(str(resolve_paths().warehouse_path)))
    return 0


# --- after the run ------------------------------------------------------------------------------------


def run_peers(
    layout: Layout, warehouse: Path | None = None, peers: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """Run the peers (all unless named) on the built warehouse; their rows of ``peers.runs`` (without the
    model)."""
    import duckdb

    warehouse = warehouse or layout.warehouse
    chosen = [arg for peer in peers for arg in ("--peer", peer)]
    run_logged([sys.executable, "-m", "pipelines.peers", "--warehouse", str(warehouse), *chosen], layout)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select peer, xref_table, records, clusters, wall_seconds, "
            "json_extract(details, '$.linked_pairs')::bigint from peers.runs order by peer"
        ).fetchall()
    return {
        peer: {"table": table, "records": n, "clusters": c, "wall_seconds": s, "linked_pairs": pairs}
        for peer, table, n, c, s, pairs in rows
    }


def score(layout: Layout, tables: list[str], warehouse: Path | None = None) -> dict[str, dict[str, Any]]:
    """Pairwise and B-cubed scores of each xref table against the generated truth."""
    from pipelines.evaluate import connect_warehouse, load_truth, load_xref, score_clusters

    truth = load_truth(layout.raw)
    con = connect_warehouse(warehouse or layout.warehouse)
    try:
        return {table: score_clusters(load_xref(con, table), truth).as_row() for table in tables}
    finally:
        con.close()


def git_commit() -> str:
    """The checkout's commit, ``-dirty`` when the working tree has changes; outside a git checkout (an
    exported tree) ``CRM_BENCH_COMMIT`` names it."""
    command = ["git", "describe", "--always", "--dirty"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    return done.stdout.strip() or os.environ.get("CRM_BENCH_COMMIT", "unknown")


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )


def load_average() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())
