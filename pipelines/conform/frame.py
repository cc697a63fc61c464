"""Apply a scalar conformer to a pandas column, once per distinct value."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd


def conform_column(values: pd.Series, fn: Callable[[Any], Any]) -> pd.DataFrame:
    """One column per field of fn's (dataclass) result, same index as values.

    fn runs once per distinct non-null value (results are mapped back by value) and once for None,
    whose result fills the null rows: every conformer of this package returns its 'empty' result there.
    """
    null_result = fn(None)
    names = [f.name for f in dataclasses.fields(null_result)]
    mask = values.notna().to_numpy()
    present = values[mask]
    codes, uniques = pd.factorize(present, sort=False)
    results = [fn(value) for value in uniques.tolist()]
    getter = attrgetter(*names)
    rows = [getter(r) for r in results]
    rows.append(getter(null_result))  # position len(uniques): the null rows
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
