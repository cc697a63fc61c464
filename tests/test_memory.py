"""Memory that a finished step freed goes back to the operating system before the next step starts."""

import pandas as pd

from pipelines.definitions import build_definitions
from pipelines.memory import release_freed_memory, release_memory_after_step, resident_bytes


def test_freed_frames_leave_the_process_only_when_released():
    # Start from a heap holding nothing freed: memory earlier tests freed but kept would otherwise absorb
    # the frame's allocations, and dropping the frame would show less than it held.
    release_freed_memory()
    base = resident_bytes()
    frame = pd.DataFrame({"key": [f"customer {i}" for i in range(4_000_000)], "n": range(4_000_000)})
    frame = frame.sort_values("key").merge(frame.sample(frac=0.5, random_state=1), on="key")
    del frame
    freed = resident_bytes() - base
    release_freed_memory()
    kept = resident_bytes() - base
    assert freed > 200 * 2**20, "pandas and Arrow keep what a dropped frame held"
    assert kept < freed / 4


def test_every_step_of_the_main_job_releases_memory_after_it():
    job = build_definitions().resolve_job_def("materialize_all")
    assert release_memory_after_step in job.hook_defs


def test_resident_bytes_reads_this_process():
    assert 20 * 2**20 < resident_bytes() < 64 * 2**30
