"""Exact evidence that two records are the same customer, as edges between record positions.

- the same valid resident id or credit code;
- the same mobile with the same name (pinyin key: 张伟, 張偉, 张玮 and Zhang Wei agree);
- the same VIN with the same name on a sale and its registration;
- the same company name (companies are matched by their own rules, never by a driver's phone);
- a repair order or call about a car goes to whoever owned it on that date (the sale or registration in
  force), unless it carries another identity than the owner's (a new owner after a resale); a fleet car's
  records always go to the company, so drivers never chain unrelated people together;
- a fleet driver's call that names no car goes to the company whose cars the driver brings in;
- a record without a full name but with a mobile (张先生 on the hotline, a web sign-up without a name)
  joins the one customer holding that mobile, with a compatible surname when it gives one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.matching.graph import edges_frame, text_codes

OWNERSHIP_SOURCES = ("dealer_sales", "vehicle_registrations")
VEHICLE_EVENT_SOURCES = ("service_orders", "call_center")
# Strength orders exact edges when a conflicting component must be rebuilt: strongest evidence first.
STRENGTH = {
    "manual_must_link": 100.0,
    "id": 90.0,
    "vin_name": 80.0,
    "company_name": 75.0,
    "mobile_name": 70.0,
    "vehicle_owner": 72.0,
    "email": 50.0,
    "mobile_only": 40.0,
}
PROBABILITY = {
    "manual_must_link": 1.0,
    "id": 0.999,
    "vin_name": 0.995,
    "company_name": 0.99,
    "mobile_name": 0.99,
    "vehicle_owner": 0.98,
    "email": 0.97,
    "mobile_only": 0.95,
}


def _star(mask: pd.Series | np.ndarray, keys: np.ndarray, reason: str) -> pd.DataFrame:
    """Edges from the first record of each key group (among `mask`, keys as `text_codes`) to the others:
    enough to connect it."""
    pos = np.flatnonzero(np.asarray(mask, dtype=bool) & (keys >= 0))
    first = pd.Series(pos).groupby(keys[pos]).transform("min").to_numpy()
    linked = pos != first
    return edges_frame(first[linked], pos[linked], reason, PROBABILITY[reason], STRENGTH[reason])


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One code per distinct pair of codes, -1 where either is missing."""
    return np.where((a >= 0) & (b >= 0), a * (int(b.max(initial=0)) + 1) + b, -1)


def resolve_vins(records: pd.DataFrame) -> pd.Series:
    """The full VIN a record is about: its own, or a unique match of its last six characters or its plate."""
    codes, known = pd.factorize(records["vin"], use_na_sentinel=True)
    last6 = pd.Series(known).str[-6:]
    unique_last6 = pd.Series(np.arange(len(known)), index=last6)[~last6.duplicated(keep=False).to_numpy()]
    need = (codes < 0) & records["vin_last6"].notna().to_numpy()
    codes[need] = records["vin_last6"][need].map(unique_last6).fillna(-1).to_numpy(dtype=np.int64)
    plates = text_codes(records["plate"])
    seen = pd.DataFrame({"plate": plates, "vin": codes}).iloc[
        np.flatnonzero((plates >= 0) & records["vin"].notna().to_numpy())
    ]
    seen = seen.drop_duplicates()
    single = seen[~seen["plate"].duplicated(keep=False)]
    plate_vin = np.full(plates.max(initial=-1) + 1, -1, dtype=np.int64)
    plate_vin[single["plate"].to_numpy()] = single["vin"].to_numpy()
    need = (codes < 0) & (plates >= 0)
    codes[need] = plate_vin[plates[need]]
    return pd.Series(known.take(codes, allow_fill=True, fill_value=None), index=records.index, name="vin")


def owner_edges(records: pd.DataFrame, vehicle_vin: pd.Series) -> pd.DataFrame:
    """Repair orders and calls to whoever owned their car on their date.

    A car's plate changes when it is resold, so each plate of a VIN is one ownership period: the first
    plate belongs to the buyer of the sale or registration in force, each later plate to a new owner,
    anchored on the first record that shows it. A record without a plate falls in the period in force on
    its date. Within a period every record follows its owner (a fleet car's drivers follow the company).
    """
    return _owner_edges(records, text_codes(vehicle_vin))


def _owner_edges(records: pd.DataFrame, vin_codes: np.ndarray) -> pd.DataFrame:
    """`owner_edges` on the resolved VINs' codes (a sale's or registration's own VIN is its resolved one)."""
    dated = records["event_date"].notna().to_numpy() & (vin_codes >= 0)
    dated_sales = dated & records["source_system"].isin(OWNERSHIP_SOURCES).to_numpy()
    dated_sales &= records["vin"].notna().to_numpy()
    starts = pd.DataFrame(
        {
            "owner_pos": np.flatnonzero(dated_sales),
            "vehicle_vin": vin_codes[dated_sales],
            "event_date": records["event_date"].to_numpy()[dated_sales],
        }
    )
    on_events = dated & records["source_system"].isin(VEHICLE_EVENT_SOURCES).to_numpy()
    events = pd.DataFrame(
        {
            "pos": np.flatnonzero(on_events),
            "vehicle_vin": vin_codes[on_events],
            "plate": text_codes(records["plate"])[on_events],
            "event_date": records["event_date"].to_numpy()[on_events],
        }
    )
    if events.empty:
        return edges_frame([], [], "vehicle_owner", 0.0, 0.0)
    plated = events[events["plate"] >= 0].sort_values(["event_date", "pos"])
    periods = plated.drop_duplicates(["vehicle_vin", "plate"]).rename(columns={"pos": "anchor_pos"})
    periods["period"] = periods.groupby("vehicle_vin").cumcount()
    periods = periods[["vehicle_vin", "plate", "anchor_pos", "period", "event_date"]]
    with_plate = events.merge(periods.drop(columns="event_date"), on=["vehicle_vin", "plate"], how="inner")
    without_plate = pd.merge_asof(
        events[events["plate"] < 0].sort_values("event_date"),
        periods.drop(columns="plate").sort_values("event_date"),
        on="event_date",
        by="vehicle_vin",
        direction="backward",
    )
    placed = pd.concat([with_plate, without_plate], ignore_index=True)
    resale = placed[placed["period"].fillna(0) > 0]
    first_period = placed[placed["period"].fillna(0) == 0].sort_values("event_date")
    owned = pd.merge_asof(
        first_period,
        starts.sort_values("event_date"),
        on="event_date",
        by="vehicle_vin",
        direction="nearest",
    )
    unsold = owned[owned["owner_pos"].isna() & owned["anchor_pos"].notna()]
    owned = owned.dropna(subset=["owner_pos"])
    parts = [
        (owned["owner_pos"], owned["pos"]),
        (unsold["anchor_pos"], unsold["pos"]),
        (resale["anchor_pos"], resale["pos"]),
    ]
    left = np.concatenate([np.asarray(a, dtype=np.int64) for a, _ in parts])
    right = np.concatenate([np.asarray(b, dtype=np.int64) for _, b in parts])
    keep = left != right
    return edges_frame(
        left[keep], right[keep], "vehicle_owner", PROBABILITY["vehicle_owner"], STRENGTH["vehicle_owner"]
    )


def exact_edges(records: pd.DataFrame, vehicle_vin: pd.Series) -> tuple[pd.DataFrame, pd.Index]:
    """All exact edges, and the positions of records that follow their car's owner (no keys of their own)."""
    vin_codes = text_codes(vehicle_vin)
    owner = _owner_edges(records, vin_codes)
    following = pd.Index(owner["right"].unique())
    own = ~records.index.isin(following)
    # A fleet driver's name and mobile on a company car's records reach the driver's other contacts.
    fleet = owner["left"].map(records["party_type"]).eq("company")
    driving_for_company = records.index.isin(owner.loc[fleet, "right"])
    person = records["party_type"].eq("person").to_numpy()
    company = ~person
    valid_id = records["id_is_valid"] & records["id_number"].notna()
    named = (records["is_full_name"] & records["name_key"].notna()).to_numpy()
    name_key = text_codes(records["name_key"])
    own_vin = np.where(records["vin"].notna().to_numpy(), vin_codes, -1)
    parts = [
        owner,
        _star(valid_id, text_codes(records["id_number"]), "id"),
        _star(
            (own | driving_for_company) & named & person,
            _pair_codes(text_codes(records["mobile"]), name_key),
            "mobile_name",
        ),
        _star(
            records["source_system"].isin(OWNERSHIP_SOURCES).to_numpy() & named,
            _pair_codes(own_vin, name_key),
            "vin_name",
        ),
        _star(company & named & own, text_codes(records["name"]), "company_name"),
        _star(own & person, text_codes(records["email"]), "email"),
    ]
    return pd.concat(parts, ignore_index=True), following


def mobile_only_edges(records: pd.DataFrame, labels: np.ndarray, following: pd.Index) -> pd.DataFrame:
    """A record with a mobile but no full name joins the single customer whose named records hold that
    mobile (and the same surname, when the record gives one); a phone shared by several customers is
    ambiguous and links nobody."""
    person = records["party_type"].eq("person").to_numpy()
    mobile = text_codes(records["mobile"])
    full = records["is_full_name"].to_numpy(dtype=bool)
    has_mobile = (mobile >= 0) & person
    surname = text_codes(records["surname"])
    named = pd.DataFrame(
        {
            "mobile": mobile[has_mobile & full],
            "surname": surname[has_mobile & full],
            "label": labels[has_mobile & full],
        },
        index=np.flatnonzero(has_mobile & full),
    )
    nameless_at = np.flatnonzero(has_mobile & ~full & ~records.index.isin(following))
    if named.empty or not len(nameless_at):
        return edges_frame([], [], "mobile_only", 0.0, 0.0)
    holders = (
        named.reset_index(names="holder_pos").groupby(["mobile", "label"], as_index=False)["holder_pos"].min()
    )
    nameless = pd.DataFrame(
        {"pos": nameless_at, "mobile": mobile[nameless_at], "surname": surname[nameless_at]}
    )
    joined = nameless.merge(holders, on="mobile")
    # A nameless record giving a surname joins only a holder whose named records carry that surname.
    surnames = (
        named.loc[named["surname"] >= 0, ["mobile", "label", "surname"]]
        .drop_duplicates()
        .assign(same_surname=True)
    )
    joined = joined.merge(surnames, on=["mobile", "label", "surname"], how="left")
    joined = joined[(joined["surname"] < 0) | joined["same_surname"].eq(True)]
    unique = joined[joined.groupby("pos")["label"].transform("nunique") == 1].drop_duplicates("pos")
    return edges_frame(
        unique["holder_pos"],
        unique["pos"],
        "mobile_only",
        PROBABILITY["mobile_only"],
        STRENGTH["mobile_only"],
    )
