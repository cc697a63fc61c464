"""Hand memory that finished steps freed back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import dagster as dg
import pyarrow as pa


def release_freed_memory() -> None:
    """Collect garbage, empty Arrow's pool of unused memory and trim the C heap (glibc keeps freed pages
    for reuse otherwise). After matching 1M customers this takes the process from 8.7 GB to 1 GB, which the
    next step (a dbt subprocess with its own DuckDB) would otherwise stack on."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    if libc is not None and hasattr(libc, "malloc_trim"):  # glibc only; other C libraries return memory
        libc.malloc_trim(0)


@dg.success_hook(name="release_freed_memory")
def release_memory_after_step(context: dg.HookContext) -> None:
    """After each step of the main job, so that a step never starts on what earlier ones left behind."""
    release_freed_memory()
