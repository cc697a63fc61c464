"""Apply a scalar conformer to a pandas column, once per distinct value; on every core when there are many."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import partial
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

# Fewer distinct values are conformed in this process: starting the workers would cost more.
PARALLEL_MIN_VALUES = 20_000
CHUNK_VALUES = 5_000


def _field_rows(fn: Callable[[Any], Any], names: Sequence[str], values: Sequence[Any]) -> list[tuple]:
    getter = attrgetter(*names)
    return [getter(fn(value)) for value in values]


def conform_column(values: pd.Series, fn: Callable[[Any], Any], pool: Executor | None = None) -> pd.DataFrame:
    """One column per field of fn's (dataclass) result, same index as values.

    fn runs once per distinct non-null value (results are mapped back by value) and once for None,
    whose result fills the null rows: every conformer of this package returns its 'empty' result there.
    With a `pool` (`pipelines.workers.worker_pool`) and at least PARALLEL_MIN_VALUES distinct values, chunks
    of them are conformed in its processes; fn must then be a module-level function.
    """
    null_result = fn(None)
    names = [f.name for f in dataclasses.fields(null_result)]
    mask = values.notna().to_numpy()
    present = values[mask]
    codes, uniques = pd.factorize(present, sort=False)
    distinct = uniques.tolist()
    if pool is None or len(distinct) < PARALLEL_MIN_VALUES:
        rows = _field_rows(fn, names, distinct)
    else:
        chunks = [distinct[i : i + CHUNK_VALUES] for i in range(0, len(distinct), CHUNK_VALUES)]
        rows = [row for part in pool.map(partial(_field_rows, fn, names), chunks) for row in part]
    rows.append(attrgetter(*names)(null_result))  # position len(uniques): the null rows
    full_codes = np.full(len(values), len(uniques), dtype=np.intp)
    full_codes[mask] = codes
    # Each field is typed once per distinct value, then spread to the rows: the values present in the
    # column (the null result only where there are null rows) decide the dtype, as they would row by row.
    used = rows if not mask.all() else rows[:-1]
    columns: dict[str, Any] = {}
    for position, name in enumerate(names):
        table = np.empty(len(used), dtype=object)
        table[:] = [row[position] for row in used]
        is_flag = all(isinstance(row[position], bool) for row in rows)
        distinct = pd.Series(table, name=name)
        distinct = distinct.astype(bool) if is_flag else distinct.infer_objects()
        column = distinct.take(full_codes)
        column.index = values.index
        columns[name] = column
    return pd.DataFrame(columns, index=values.index)
