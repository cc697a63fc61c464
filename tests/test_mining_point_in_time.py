"""customer_features is point-in-time: the real dbt models on a small real DuckDB file, rebuilt after every
event on or after a snapshot's as_of_date has been changed, moved, deleted or joined by new ones, give that
snapshot (and every earlier one) exactly the same features. Labels, which read the window after, change."""

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_dbt

AS_OF = "2026-01-01"
CUTOFFS = (date(2023, 6, 1), date(2024, 11, 1))
EVENT_COLUMNS = {
    "customer_id": "varchar",
    "source_system": "varchar",
    "source_record_id": "varchar",
    "event_type": "varchar",
    "event_date": "date",
    "event_at": "timestamp",
    "vin": "varchar",
    "amount": "decimal(18, 2)",
    "dealer_code": "varchar",
    "station_code": "varchar",
    "station_type": "varchar",
    "service_kind": "varchar",
    "mileage_km": "integer",
    "category": "varchar",
    "purchase_intent": "varchar",
    "test_drive": "boolean",
    "consent_marketing": "boolean",
    "model_interest": "varchar",
}
SOURCE = {
    "purchase": "dealer_sales",
    "registration": "vehicle_registrations",
    "service": "service_orders",
    "call": "call_center",
    "web_signup": "web_registrations",
    "showroom_visit": "dealer_leads",
}
KINDS = ["maintenance", "repair", "body", "warranty", "recall"]
STATIONS = ["authorized", "independent"]
CATEGORIES = ["inquiry", "complaint", "lead", "service_booking", "other"]


def _event(customer: str, n: int, event_type: str, day: date, **values) -> dict:
    row = dict.fromkeys(EVENT_COLUMNS)
    row.update(
        customer_id=customer,
        source_system=SOURCE[event_type],
        source_record_id=f"{customer}-{n}",
        event_type=event_type,
        event_date=day,
        event_at=pd.Timestamp(day) + pd.Timedelta(hours=10),
        **values,
    )
    if event_type == "web_signup":
        row["category"] = "web_signup"
    if event_type == "showroom_visit":
        row["category"] = "showroom_visit"
    return row


def hand_customer() -> list[dict]:
    """H: one car, two authorised visits, one at an independent garage, a recall, a complaint, a sign-up."""
    return [
        _event("H", 1, "purchase", date(2022, 3, 10), vin="HV1", amount=150000.0),
        _event("H", 2, "registration", date(2022, 3, 15), vin="HV1"),
        _event("H", 3, "service", date(2022, 9, 1), vin="HV1", amount=800.0, station_type="authorized",
               service_kind="maintenance", mileage_km=5000),
        _event("H", 4, "service", date(2023, 3, 1), vin="HV1", amount=2000.0, station_type="authorized",
               service_kind="repair", mileage_km=9000),
        _event("H", 5, "service", date(2023, 9, 1), vin="HV1", amount=600.0, station_type="independent",
               service_kind="maintenance", mileage_km=14000),
        _event("H", 6, "service", date(2023, 10, 1), vin="HV1", amount=0.0, station_type="authorized",
               service_kind="recall", mileage_km=15000),
        _event("H", 7, "call", date(2023, 5, 5), category="complaint", consent_marketing=False),
        _event("H", 8, "web_signup", date(2023, 11, 11), consent_marketing=True),
    ]  # fmt: skip


def random_events(seed: int = 7, customers: int = 30) -> list[dict]:
    rng = np.random.default_rng(seed)
    start, span = date(2022, 1, 1), (date(2025, 12, 31) - date(2022, 1, 1)).days
    rows = []
    for c in range(customers):
        cid = f"C{c:02d}"
        for n in range(1, int(rng.integers(6, 41))):
            day = start + timedelta(days=int(rng.integers(0, span)))
            kind = str(rng.choice(list(SOURCE)))
            values: dict = {}
            if kind in ("purchase", "registration"):
                values = {"vin": f"{cid}V{int(rng.integers(0, 3))}", "amount": float(rng.uniform(8e4, 3e5))}
                if kind == "registration":
                    values["amount"] = None
            elif kind == "service":
                values = {
                    "vin": f"{cid}V0",
                    "amount": float(rng.uniform(200, 5000)),
                    "station_type": str(rng.choice(["authorized", "independent"])),
                    "service_kind": str(rng.choice(KINDS)),
                    "mileage_km": int(rng.integers(1000, 150000)),
                }
            elif kind == "call":
                category = str(rng.choice(CATEGORIES))
                values = {
                    "category": category,
                    "purchase_intent": str(rng.choice(["high", "medium", "low"]))
                    if category == "lead"
                    else None,
                    "consent_marketing": bool(rng.random() < 0.5),
                }
            elif kind == "web_signup":
                values = {"consent_marketing": bool(rng.random() < 0.5)}
            else:
                test_drive = bool(rng.random() < 0.4)
                values = {"test_drive": test_drive, "purchase_intent": "high" if test_drive else "medium"}
            rows.append(_event(cid, n, kind, day, **values))
    return rows


def change_after(events: pd.DataFrame, cutoff: date, seed: int) -> pd.DataFrame:
    """Every event on or after `cutoff` altered (amounts, stations, kinds, categories, intents, consent,
    vehicles, dates moved later), a third of them deleted, and new events added, old customers and new."""
    rng = np.random.default_rng(seed)
    before = events[events["event_date"] < cutoff]
    after = events[events["event_date"] >= cutoff].copy()
    after["amount"] = after["amount"] * 3 + 17
    after["station_type"] = after["station_type"].map(dict(zip(STATIONS, STATIONS[::-1], strict=True)))
    after["service_kind"] = after["service_kind"].map(dict(zip(KINDS, KINDS[1:] + KINDS[:1], strict=True)))
    after["category"] = (
        after["category"]
        .map(dict(zip(CATEGORIES, CATEGORIES[1:] + CATEGORIES[:1], strict=True)))
        .fillna(after["category"])
    )
    after["purchase_intent"] = "high"
    after["consent_marketing"] = after["consent_marketing"].map({True: False, False: True}).fillna(True)
    after["vin"] = after["vin"].map(lambda v: f"{v}-X" if v else v)
    shift = pd.to_timedelta(rng.integers(0, 200, len(after)), unit="D")
    after["event_date"] = (pd.to_datetime(after["event_date"]) + shift).dt.date
    after["event_at"] = pd.to_datetime(after["event_date"]) + pd.Timedelta(hours=9)
    after = after[rng.random(len(after)) > 1 / 3]
    extra = []
    for i, cid in enumerate([*events["customer_id"].unique()[:10], "NEW"]):
        day = cutoff + timedelta(days=int(rng.integers(0, 300)))
        visit = {"station_type": "independent", "service_kind": "maintenance", "mileage_km": 1}
        extra.append(_event(cid, 1000 + i, "service", day, vin=f"{cid}V0", amount=999.0, **visit))
        extra.append(_event(cid, 2000 + i, "purchase", day, vin=f"{cid}NEW", amount=123456.0))
    return pd.concat([before, after, pd.DataFrame(extra)], ignore_index=True)


def load_events(events: pd.DataFrame, warehouse: Path) -> None:
    """`events` as marts.fct_customer_events in `warehouse`, replacing what was there."""
    frame = events[list(EVENT_COLUMNS)]
    casts = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in EVENT_COLUMNS.items())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.register("frame", frame)
        con.execute(f"create or replace table marts.fct_customer_events as select {casts} from frame")


def run_features(
    warehouse: Path, workdir: Path, as_of: str = AS_OF, full_refresh: bool = False
) -> pd.DataFrame:
    """Run the real dbt models mining_as_of and customer_features on `warehouse` with the as-of date
    pinned, and read the features back."""
    args = ["run", "--select", "mining_as_of customer_features", "--vars", json.dumps({"as_of_date": as_of})]
    done = run_dbt(
        [*args, *(["--full-refresh"] if full_refresh else [])], warehouse, workdir, unset=["CRM_AS_OF_DATE"]
    )
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select * from marts.customer_features order by as_of_date, customer_id").fetchdf()


def build_features(events: pd.DataFrame, workdir: Path) -> pd.DataFrame:
    """customer_features of `events` in a new DuckDB file."""
    workdir.mkdir(parents=True)
    warehouse = workdir / "warehouse.duckdb"
    load_events(events, warehouse)
    return run_features(warehouse, workdir)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return pd.DataFrame(hand_customer() + random_events())


@pytest.fixture(scope="module")
def base(events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return build_features(events, tmp_path_factory.mktemp("pit") / "base")


def _row(features: pd.DataFrame, customer: str, as_of: str) -> pd.Series:
    rows = features[(features["customer_id"] == customer) & (features["as_of_date"] == pd.Timestamp(as_of))]
    assert len(rows) == 1
    return rows.iloc[0]


def test_snapshots_are_monthly_up_to_the_pinned_as_of_date(base: pd.DataFrame):
    dates = sorted(base["as_of_date"].unique())
    assert pd.Timestamp(dates[0]) == pd.Timestamp("2022-02-01")
    assert pd.Timestamp(dates[-1]) == pd.Timestamp(AS_OF)
    assert len(dates) == 48
    assert not base.duplicated(["customer_id", "as_of_date"]).any()
    # A customer appears from the first snapshot after their first event.
    assert base.loc[base["customer_id"] == "H", "as_of_date"].min() == pd.Timestamp("2022-04-01")


def test_hand_computed_features_and_labels(base: pd.DataFrame):
    h = _row(base, "H", "2023-12-01")
    assert h["n_vehicles_bought"] == 1 and h["purchase_amount"] == 150000
    assert h["n_service_visits"] == 3  # the recall is not a visit
    assert (h["n_authorized_visits_24m"], h["n_independent_visits_24m"]) == (2, 1)
    assert h["authorized_visit_share_24m"] == pytest.approx(2 / 3)
    assert h["service_spend_12m"] == 2600  # 2023-03-01 and 2023-09-01
    assert h["authorized_service_spend_24m"] == 2800
    assert (h["days_since_last_service"], h["days_since_last_authorized_service"]) == (91, 275)
    assert (h["n_complaints_12m"], h["n_purchase_signals_12m"]) == (1, 1)
    assert pd.isna(h["label_defected_within_12m"])  # last visit was already independent
    june = _row(base, "H", "2023-06-01")
    assert june["label_defected_within_12m"]  # authorised last, independent on 2023-09-01
    assert not june["label_service_within_90d"]  # the next visit is 92 days later
    assert _row(base, "H", "2023-08-01")["label_service_within_90d"]
    assert not june["label_repurchased_within_24m"]
    # Labels stay null while their window reaches past the as-of date.
    late = _row(base, "H", "2025-11-01")
    assert pd.isna(late["label_service_within_90d"]) and pd.isna(late["label_repurchased_within_24m"])


@pytest.mark.parametrize("cutoff", CUTOFFS, ids=str)
def test_changing_events_after_a_snapshot_changes_none_of_its_features(
    cutoff: date, events: pd.DataFrame, base: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
):
    changed = change_after(events, cutoff, seed=cutoff.toordinal())
    assert len(changed.merge(events, how="inner")) == int((events["event_date"] < cutoff).sum())
    rebuilt = build_features(changed, tmp_path_factory.mktemp("pit") / str(cutoff))
    labels = [c for c in base.columns if c.startswith("label_")]
    features = [c for c in base.columns if c not in labels]
    upto = pd.Timestamp(cutoff)
    old = base[base["as_of_date"] <= upto].reset_index(drop=True)
    new = rebuilt[rebuilt["as_of_date"] <= upto].reset_index(drop=True)
    assert len(old) > 100
    pd.testing.assert_frame_equal(old[features], new[features])
    # The test can fail: the same changes do move labels up to the cutoff and features after it.
    assert not old[labels].equals(new[labels])
    later = base[base["as_of_date"] > upto][features].reset_index(drop=True)
    assert not later.equals(rebuilt[rebuilt["as_of_date"] > upto][features].reset_index(drop=True))


def _rebuilt_customers(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select customer_id from intermediate.customer_features_inputs where rebuilt")
        return {customer for (customer,) in rows.fetchall()}


def test_incremental_builds_equal_a_full_build(events: pd.DataFrame, tmp_path: Path):
    """Built on top of the last build, customer_features rewrites only the customers whose events changed,
    the as-of snapshot when the as-of date moves and the snapshots whose labels became known; after each
    step it equals a build from scratch of the same events and as-of date."""
    warehouse = tmp_path / "warehouse.duckdb"
    load_events(events, warehouse)
    run_features(warehouse, tmp_path / "first", as_of="2025-12-10")
    ids = events["customer_id"]
    changed = events[ids != "C07"].copy()  # C07's records withdrawn
    changed.loc[changed["customer_id"] == "C03", "amount"] *= 2  # C03's records corrected
    changed.loc[changed["customer_id"] == "C05", "customer_id"] = "C06"  # C05 merged into C06
    visit = {"station_type": "authorized", "service_kind": "maintenance", "vin": "NV1", "amount": 500.0}
    new = [_event("NEW", 1, "purchase", date(2025, 6, 1), vin="NV1", amount=99000.0),
           _event("NEW", 2, "service", date(2025, 12, 19), **visit)]  # fmt: skip
    changed = pd.concat([changed, pd.DataFrame(new)], ignore_index=True)
    later = pd.concat([changed, pd.DataFrame([_event("C08", 999, "service", date(2025, 12, 28), **visit)])])
    steps = [
        # (events, as-of date, customers rewritten whole: None for every one)
        (changed, "2025-12-10", {"C03", "C06", "NEW"}),  # the same as-of date
        (changed, "2025-12-20", set()),  # the as-of snapshot moves; no label window ends in between
        (later, "2025-12-31", {"C08"}),  # 2025-10-01's 90 days end on 2025-12-30: its labels are known
        (later, "2026-01-05", None),  # a new month: everything
    ]
    for n, (step_events, as_of, rebuilt) in enumerate(steps):
        load_events(step_events, warehouse)
        incremental = run_features(warehouse, tmp_path / f"step{n}", as_of=as_of)
        scratch = tmp_path / f"scratch{n}.duckdb"
        shutil.copyfile(warehouse, scratch)
        full = run_features(scratch, tmp_path / f"scratch{n}", as_of=as_of, full_refresh=True)
        pd.testing.assert_frame_equal(incremental, full)
        everyone = set(step_events["customer_id"])
        assert _rebuilt_customers(warehouse) == (everyone if rebuilt is None else rebuilt), as_of
        assert _rebuilt_customers(scratch) == everyone
    assert "C07" not in set(incremental["customer_id"]) and "C05" not in set(incremental["customer_id"])
