"""First customer master: records that share an exact key are one customer.

Keys: a valid resident id or credit code; a mobile together with the same name (pinyin key); a VIN
together with the same name on sales and registrations. Records about a car (repair orders, calls)
go to whoever owned the car on that date when they carry no other identity, or the owner's own.
Connected components come from scipy's sparse graph routines rather than a hand-written union-find.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

OWNERSHIP_SOURCES = ("dealer_sales", "vehicle_registrations")
VEHICLE_EVENT_SOURCES = ("service_orders", "call_center")
# Link reasons in order of strength; a record's reason is the strongest key it shares with another record.
REASONS = ("id", "mobile_name", "vin_name", "vehicle_owner", "mobile_surname", "email")
PROBABILITY = {
    "id": 1.0,
    "mobile_name": 0.99,
    "vin_name": 0.99,
    "vehicle_owner": 0.95,
    "mobile_surname": 0.9,
    "email": 0.95,
    "singleton": 1.0,
}


def record_key(records: pd.DataFrame) -> pd.Series:
    return records["source_system"] + ":" + records["source_record_id"]


def _keys(records: pd.DataFrame) -> pd.DataFrame:
    """(record index, key, reason) for every exact key a record carries."""
    parts = []
    has_id = records["id_is_valid"] & records["id_number"].notna()
    parts.append(
        pd.DataFrame(
            {"idx": records.index[has_id], "key": "id:" + records.loc[has_id, "id_number"], "reason": "id"}
        )
    )
    named_mobile = records["is_full_name"] & records["mobile"].notna() & records["name_key"].notna()
    parts.append(
        pd.DataFrame(
            {
                "idx": records.index[named_mobile],
                "key": "mn:"
                + records.loc[named_mobile, "mobile"]
                + "|"
                + records.loc[named_mobile, "name_key"],
                "reason": "mobile_name",
            }
        )
    )
    owner_vin = (
        records["source_system"].isin(OWNERSHIP_SOURCES)
        & records["vin"].notna()
        & records["name_key"].notna()
        & records["is_full_name"]
    )
    parts.append(
        pd.DataFrame(
            {
                "idx": records.index[owner_vin],
                "key": "vn:" + records.loc[owner_vin, "vin"] + "|" + records.loc[owner_vin, "name_key"],
                "reason": "vin_name",
            }
        )
    )
    has_email = records["email"].notna()
    parts.append(
        pd.DataFrame(
            {
                "idx": records.index[has_email],
                "key": "em:" + records.loc[has_email, "email"],
                "reason": "email",
            }
        )
    )
    return pd.concat(parts, ignore_index=True)


def resolve_vins(records: pd.DataFrame) -> pd.Series:
    """The full VIN a record is about: its own, or a unique match of its last six characters or its plate."""
    vin = records["vin"].copy()
    known = pd.Series(records["vin"].dropna().unique())
    by_last6 = known.groupby(known.str[-6:]).agg(["first", "size"])
    unique_last6 = by_last6.loc[by_last6["size"] == 1, "first"]
    need = vin.isna() & records["vin_last6"].notna()
    vin[need] = records.loc[need, "vin_last6"].map(unique_last6)
    with_plate = records[records["plate"].notna() & records["vin"].notna()]
    plate_vins = with_plate.groupby("plate")["vin"].agg(
        lambda s: s.mode().iloc[0] if s.nunique() == 1 else None
    )
    need = vin.isna() & records["plate"].notna()
    vin[need] = records.loc[need, "plate"].map(plate_vins.dropna())
    return vin


def _owner_links(records: pd.DataFrame, vehicle_vin: pd.Series) -> pd.DataFrame:
    """Link repair orders and calls to the ownership record (sale or registration) in force on their date."""
    starts = records[records["source_system"].isin(OWNERSHIP_SOURCES) & records["vin"].notna()]
    starts = starts.assign(vehicle_vin=starts["vin"]).sort_values(["event_date", "source_record_id"])
    events = records[records["source_system"].isin(VEHICLE_EVENT_SOURCES)].assign(vehicle_vin=vehicle_vin)
    events = events[events["vehicle_vin"].notna() & events["event_date"].notna()].sort_values("event_date")
    if starts.empty or events.empty:
        return pd.DataFrame(columns=["idx", "owner_idx"])
    starts = starts[starts["event_date"].notna()]
    matched = pd.merge_asof(
        events.reset_index(names="idx")[
            ["idx", "event_date", "vehicle_vin", "name_key", "mobile", "is_full_name"]
        ],
        starts.reset_index(names="owner_idx")[
            ["owner_idx", "event_date", "vehicle_vin", "name_key", "mobile", "party_type"]
        ].rename(columns={"name_key": "owner_name_key", "mobile": "owner_mobile"}),
        on="event_date",
        by="vehicle_vin",
        direction="backward",
    ).dropna(subset=["owner_idx"])
    anonymous = ~matched["is_full_name"] & matched["mobile"].isna()
    same_person = matched["name_key"].eq(matched["owner_name_key"]) | matched["mobile"].eq(
        matched["owner_mobile"]
    )
    follows_owner = matched["party_type"].eq("company") | anonymous | same_person
    links = matched.loc[follows_owner, ["idx", "owner_idx"]]
    return links.astype({"owner_idx": "int64"})


def _surname_links(records: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Attach a nameless record with a mobile (张先生 on the hotline) to the named customer with that
    mobile and surname; the largest such customer wins."""
    nameless = records[~records["is_full_name"] & records["mobile"].notna()]
    named = records[records["is_full_name"] & records["mobile"].notna()].assign(
        label=labels[
            records.index.get_indexer(records.index[records["is_full_name"] & records["mobile"].notna()])
        ]
    )
    if nameless.empty or named.empty:
        return pd.DataFrame(columns=["idx", "owner_idx"])
    candidates = (
        named.reset_index(names="owner_idx")
        .groupby(["mobile", "surname", "label"], dropna=False)
        .agg(owner_idx=("owner_idx", "min"), size=("owner_idx", "size"))
        .reset_index()
        .sort_values(["size", "owner_idx"], ascending=[False, True])
        .drop_duplicates(["mobile", "surname"])
    )
    joined = nameless.reset_index(names="idx").merge(candidates, on=["mobile", "surname"], how="inner")
    return joined[["idx", "owner_idx"]]


def _components(n: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    rows = np.concatenate([a for a, _ in pairs]) if pairs else np.array([], dtype=np.int64)
    cols = np.concatenate([b for _, b in pairs]) if pairs else np.array([], dtype=np.int64)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _stable_ids(records: pd.DataFrame, labels: np.ndarray) -> pd.Series:
    """customer_id = hash of the smallest record key in the cluster: same records, same id, on every run."""
    anchors = pd.Series(record_key(records).to_numpy()).groupby(labels).transform("min")
    return anchors.map(lambda key: "C" + hashlib.sha1(key.encode()).hexdigest()[:15].upper())


def cluster_records(records: pd.DataFrame) -> pd.DataFrame:
    """Assign every record that identifies a customer to one cluster with a reason and a probability."""
    records = records[records["identifies_customer"]].reset_index(drop=True)
    n = len(records)
    vehicle_vin = resolve_vins(records)
    keys = _keys(records)
    owner = _owner_links(records, vehicle_vin)
    owner_idx = set(owner["idx"].tolist())
    keys = keys[~(keys["idx"].isin(owner_idx) & keys["reason"].isin(["mobile_name", "email"]))]
    key_codes, _ = pd.factorize(keys["key"])
    record_nodes = keys["idx"].to_numpy()
    key_nodes = n + key_codes
    total = n + (key_codes.max() + 1 if len(key_codes) else 0)
    pairs = [
        (record_nodes, key_nodes),
        (owner["idx"].to_numpy(dtype=np.int64), owner["owner_idx"].to_numpy(dtype=np.int64)),
    ]
    labels = _components(total, pairs)[:n]
    surname = _surname_links(records, labels)
    pairs.append((surname["idx"].to_numpy(dtype=np.int64), surname["owner_idx"].to_numpy(dtype=np.int64)))
    labels = _components(total, pairs)[:n]

    shared = keys.loc[keys.groupby("key")["idx"].transform("size") > 1, ["idx", "reason"]]
    links = pd.concat(
        [
            shared,
            pd.DataFrame({"idx": owner["idx"], "reason": "vehicle_owner"}),
            pd.DataFrame({"idx": owner["owner_idx"], "reason": "vehicle_owner"}),
            pd.DataFrame({"idx": surname["idx"], "reason": "mobile_surname"}),
        ],
        ignore_index=True,
    )
    rank = links["reason"].map({name: i for i, name in enumerate(REASONS)})
    strongest = links.assign(rank=rank).sort_values("rank").drop_duplicates("idx").set_index("idx")["reason"]
    reason = pd.Series(records.index.map(strongest), index=records.index).fillna("singleton")
    return pd.DataFrame(
        {
            "source_system": records["source_system"],
            "source_record_id": records["source_record_id"],
            "customer_id": _stable_ids(records, labels),
            "match_probability": reason.map(PROBABILITY).astype(float),
            "match_reason": reason,
            "party_type": records["party_type"],
            "vehicle_vin": vehicle_vin,
            "event_date": records["event_date"],
        }
    )
