"""Worker processes for Python-bound work (parsing files, conforming values): one per core."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[Executor | None]:
    """Processes forked from a fresh server (so neither this process's threads nor its main module go with
    them), one per core this process may use; None where there is one core or this is a daemonic process
    (which may not start children). Workers start on first use."""
    count = workers or len(os.sched_getaffinity(0))
    if count < 2 or multiprocessing.current_process().daemon:
        yield None
        return
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield pool
