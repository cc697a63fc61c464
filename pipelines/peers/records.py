"""What every peer reads and writes: the conformed records that identify a customer, and an xref."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

CONFORMED_TABLE = "intermediate.int_party_records_conformed"
RECORD_COLUMNS = [
    "source_system",
    "source_record_id",
    "name",
    "name_key",
    "surname",
    "mobile",
    "id_number",
    "id_is_valid",
    "id_kind",
    "vin",
    "vin_last6",
    "plate",
    "email",
    "province",
    "city",
    "district",
    "address",
    "event_date",
    "party_type",
    "sex",
    "birth_date",
]
XREF_COLUMNS = ["source_system", "source_record_id", "cluster_id"]


def load_identifying_records(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The conformed records that identify a customer, in a stable order (by record key).

    Fetched through Arrow: several times faster than ``fetchdf`` for text columns.
    """
    columns = ", ".join(RECORD_COLUMNS)
    query = (
        f"select {columns} from {CONFORMED_TABLE} where identifies_customer "
        "order by source_system, source_record_id"
    )
    return con.sql(query).to_arrow_table().to_pandas()


def record_keys(records: pd.DataFrame) -> pd.Series:
    """`source_system:source_record_id`, the text key of each record."""
    return records["source_system"].astype(str) + ":" + records["source_record_id"].astype(str)


def xref_from_labels(records: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """An xref from one component label per record; a cluster is named by its smallest record key.

    Naming clusters by content, not by label number, gives the same cluster ids on the same data.
    """
    keys = record_keys(records).to_numpy()
    first_key = pd.Series(keys).groupby(labels).transform("min")
    return pd.DataFrame(
        {
            "source_system": records["source_system"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "cluster_id": first_key.to_numpy(),
        }
    )
