"""Peer (a), exact keys: records sharing a mobile, a valid resident id or credit code, or a full VIN are one.

The union is transitive (connected components), so a shared family phone or a resold car chains people
together: that is the point of the peer, the simplest master a team could build.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipelines.peers.records import xref_from_labels

ID_KINDS = ("resident_id", "uscc")


def exact_keys(records: pd.DataFrame) -> pd.Series:
    """Every (record position, key) pair as ``kind:value`` text, indexed by record position."""
    positions = pd.RangeIndex(len(records))
    valid_id = records["id_is_valid"].fillna(False).astype(bool) & records["id_kind"].isin(ID_KINDS)
    keys = [
        "mobile:" + records["mobile"].set_axis(positions),
        "id:" + records["id_number"].where(valid_id).set_axis(positions),
        "vin:" + records["vin"].set_axis(positions),
    ]
    return pd.concat(keys).dropna()


def cluster_exact_keys(records: pd.DataFrame) -> pd.DataFrame:
    """One xref row per record: connected components of the record-key graph.

    Nodes are the records and the distinct keys; an edge joins a record to each of its keys.
    """
    n_records = len(records)
    keys = exact_keys(records)
    key_codes, _ = pd.factorize(keys)
    rows = keys.index.to_numpy(dtype=np.int64)
    cols = n_records + key_codes.astype(np.int64)
    size = n_records + int(key_codes.max(initial=-1)) + 1
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return xref_from_labels(records, labels[:n_records])
