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


@dataclasses.dataclass(frozen=True)
class ConformedValues:
    """A conformer's fields once per distinct value of a column, and which of those rows each row has."""

    fields: pd.DataFrame  # one column per field; the null result last where the column has nulls
    codes: np.ndarray  # per row of the column, its position in `fields`

    def rows(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """The fields spread to rows start..stop of the column (a RangeIndex from `start`)."""
        frame = self.fields.take(self.codes[start:stop])
        frame.index = pd.RangeIndex(start, start + len(frame))
        return frame


def conform_values(
    values: pd.Series, fn: Callable[[Any], Any], pool: Executor | None = None
) -> ConformedValues:
    """fn's (dataclass) result for each distinct non-null value of `values`, and once for None, whose
    result stands for the null rows: every conformer of this package returns its 'empty' result there.

    With a `pool` (`pipelines.workers.worker_pool`) and at least PARALLEL_MIN_VALUES distinct values, chunks
    of them are conformed in its processes; fn must then be a module-level function.
    """
    null_result = fn(None)
    names = [f.name for f in dataclasses.fields(null_result)]
    mask = values.notna().to_numpy()
    codes, uniques = pd.factorize(values[mask], sort=False)
    distinct = uniques.tolist()
    if pool is None or len(distinct) < PARALLEL_MIN_VALUES:
        rows = _field_rows(fn, names, distinct)
    else:
        chunks = [distinct[i : i + CHUNK_VALUES] for i in range(0, len(distinct), CHUNK_VALUES)]
        rows = [row for part in pool.map(partial(_field_rows, fn, names), chunks) for row in part]
    rows.append(attrgetter(*names)(null_result))  # position len(uniques): the null rows
    full_codes = np.full(len(values), len(uniques), dtype=np.int32 if len(rows) < 2**31 else np.intp)
    full_codes[mask] = codes
    # Each field is typed once per distinct value: the values present in the column (the null result only
    # where there are null rows) decide the dtype, as they would row by row.
    used = rows if not mask.all() else rows[:-1]
    fields: dict[str, pd.Series] = {}
    for position, name in enumerate(names):
        table = np.empty(len(used), dtype=object)
        table[:] = [row[position] for row in used]
        is_flag = all(isinstance(row[position], bool) for row in rows)
        field = pd.Series(table, name=name)
        fields[name] = field.astype(bool) if is_flag else field.infer_objects()
    return ConformedValues(pd.DataFrame(fields, index=pd.RangeIndex(len(used))), full_codes)


def conform_column(values: pd.Series, fn: Callable[[Any], Any], pool: Executor | None = None) -> pd.DataFrame:
    """One column per field of fn's (dataclass) result, same index as values (see `conform_values`)."""
    frame = conform_values(values, fn, pool).rows()
    frame.index = values.index
    return frame
