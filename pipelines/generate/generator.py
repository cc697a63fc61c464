"""Orchestration: world -> events -> feeds -> files + ground truth."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from .config import DEFAULT_END, DEFAULT_START, Config, Timeline
from .events import make_events
from .feeds import (
    registry_rows,
    render_calls,
    render_leads,
    render_registrations,
    render_sales,
    render_service,
    render_web,
)
from .population import build_world
from .truth import write_truth
from .writers import (
    EARLIER_DIR,
    CsvFeed,
    Written,
    write_csv_feed,
    write_jsonl_files,
    write_parquet,
    write_plain_csv,
)

OWNED_DIRS = ("dealers", "manufacturer", "repair_shops", "_truth")


@dataclass
class Summary:
    out: str
    files: int
    records: dict[str, int]
    truth_rows: dict[str, int]
    bad_rows: int
    redelivered: list[str]
    mbytes: float
    seconds: float
    extra: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        total = sum(self.records.values())
        per = ", ".join(f"{k}={v}" for k, v in self.records.items())
        return (
            f"generated {self.files} files, {total} records ({per}; {self.bad_rows} unparseable rows, "
            f"{len(self.redelivered)} re-delivered files), {self.mbytes:.1f} MB in {self.out} "
            f"in {self.seconds:.1f} s"
        )


def pick_redeliveries(rng: np.random.Generator, counts: np.ndarray, rate: float) -> set[int]:
    cand = np.flatnonzero(counts >= 3)
    if not len(cand):
        return set()
    k = min(len(cand), max(1, int(round(len(counts) * rate))))
    return {int(x) for x in np.sort(rng.choice(cand, k, replace=False))}


def generate(
    out: str | Path, customers: int, seed: int, start: str = DEFAULT_START, end: str = DEFAULT_END
) -> Summary:
    t0 = time.perf_counter()
    if customers < 10:
        raise ValueError("--customers must be at least 10")
    cfg = Config(str(out), customers, seed, Timeline.from_months(start, end))
    root = Path(out)
    for d in OWNED_DIRS:  # the generator owns these folders: no stale files from an earlier run
        if (root / d).exists():
            shutil.rmtree(root / d)
    root.mkdir(parents=True, exist_ok=True)
    world = build_world(cfg)
    ev = make_events(cfg, world)
    stats = Written()
    made: set[str] = set()
    dealers, stations = registry_rows(world)
    write_plain_csv(
        root,
        "dealers/dealers.csv",
        ["dealer_code", "dealer_name", "province", "city", "dms_vendor", "opened_on"],
        dealers,
        stats,
        made,
    )
    write_plain_csv(
        root,
        "repair_shops/stations.csv",
        ["station_code", "station_name", "station_type", "province", "city", "encoding"],
        stations,
        stats,
        made,
    )
    parts = []
    sales, t_sales = render_sales(cfg, world)
    leads, t_leads = render_leads(cfg, world, ev)
    service, t_service = render_service(cfg, world, ev)
    feeds: list[CsvFeed] = [*sales, *leads, service]
    rng = cfg.rng("files")
    for f in feeds:
        counts = np.bincount(f.file_of, minlength=len(f.files))
        write_csv_feed(
            root, f, cfg.noise, rng, stats, made, pick_redeliveries(rng, counts, cfg.noise.redelivered_files)
        )
    tables, t_reg = render_registrations(cfg, world)
    for rel, table in tables:
        write_parquet(root, rel, table, stats, made)
    big = [k for k, (_, t) in enumerate(tables) if t.num_rows >= 3]
    if big:
        k = big[int(rng.integers(0, len(big)))]
        rel, table = tables[k]
        early = table.slice(0, max(1, int(table.num_rows * 0.7)))
        Path(root / EARLIER_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            early,
            root / EARLIER_DIR / rel,
            compression="snappy",
            use_dictionary=True,
            write_statistics=True,
            version="2.6",
            data_page_version="1.0",
        )
        stats.redelivered.append(rel)
    stats.records["vehicle_registrations"] = sum(t.num_rows for _, t in tables)
    rels, bodies, t_calls, bad_calls = render_calls(cfg, world, ev)
    counts = np.array([len(b) for b in bodies])
    write_jsonl_files(
        root, rels, bodies, stats, made, pick_redeliveries(rng, counts, cfg.noise.redelivered_files), rng
    )
    stats.records["call_center"] = int(counts.sum())
    stats.bad_rows += bad_calls
    web, t_web = render_web(cfg, world, ev)
    write_csv_feed(root, web, cfg.noise, rng, stats, made, set())
    parts = [t_sales, t_leads, t_reg, t_calls, t_web, t_service]
    truth_stats = Written(redelivered=stats.redelivered)
    truth_rows = write_truth(root, world, ev, parts, truth_stats)
    return Summary(
        str(root),
        stats.files,
        stats.records,
        truth_rows,
        stats.bad_rows,
        sorted(stats.redelivered),
        stats.bytes / 1e6,
        time.perf_counter() - t0,
    )
