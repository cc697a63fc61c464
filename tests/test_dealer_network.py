"""Dealer network tables: every scorecard figure computed by hand on a small case, built by the real dbt
models (mining_as_of, fct_customer_events and the dealer_network folder) on a tiny DuckDB file, then checked
on the whole job's build of the sample."""

import importlib.util
import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.settings import DBT_PROJECT_DIR
from tests.conftest import run_dbt

AS_OF = "2026-01-01"

# Customers P, Q, R, T of the master; None = a record that identifies nobody.
DEALERS = [
    ("D1", "一号店", "上海市", "上海市", date(2010, 1, 1)),
    ("D2", "二号店", "江苏省", "南京市", date(2012, 1, 1)),
]
STATIONS = [
    ("SA", "授权站", "authorized", "上海市", "上海市"),
    ("SI", "路边店", "independent", "上海市", "上海市"),
]
# lead id, dealer, visit date, mobile, customer
LEADS = [
    (
        "D1:L1",
        "D1",
        date(2024, 1, 10),
        "+8613900000001",
        "P",
    ),  # P buys at D2 on another phone: converts elsewhere
    ("D1:L2", "D1", date(2024, 1, 20), "+8613900000002", "Q"),  # Q buys here 41 days later
    ("D1:L3", "D1", date(2024, 1, 25), "+8613900000003", "R"),  # R buys here 128 days later: too late
    ("D1:L4", "D1", date(2024, 1, 5), "+8613800000000", None),  # placeholder phone, nobody
    ("D1:L5", "D1", date(2025, 12, 5), "+8613900000005", None),  # window not over on the as-of date
]
# sale id, dealer, invoice date, mobile, customer
SALES = [
    ("D2:S1", "D2", date(2024, 2, 15), "+8613911111111", "P"),
    ("D1:S2", "D1", date(2024, 3, 1), "+8613900000002", "Q"),
    ("D1:S4", "D1", date(2024, 3, 20), "+8613900000004", "T"),
    ("D1:S3", "D1", date(2024, 6, 1), "+8613900000003", "R"),
    ("D2:S5", "D2", date(2025, 7, 1), "+8613900000002", "Q"),  # Q's repurchase, at another dealer
]
# order id, station, open date, service type, total, customer
ORDERS = [
    ("SA:O1", "SA", date(2024, 8, 1), "保养", 800.0, "Q"),
    ("SA:O2", "SA", date(2024, 8, 15), "维修", 400.0, None),  # walk-in
    ("SA:O3", "SA", date(2024, 8, 20), "召回", 0.0, "Q"),  # Q back within a year: a repeat visit
    ("SI:O4", "SI", date(2025, 5, 1), "保养", 500.0, "Q"),  # Q's last visit: independent, so lost
    ("SA:O5", "SA", date(2025, 6, 1), "保修", 0.0, "T"),  # T: year 2 at an authorised station
]
# customer, type, id number, province of residence (as dim_customer holds them)
MASTER = [
    ("P", "person", "31010919700701207X", "浙江"),  # born in 上海 on 1970-07-01, male
    ("Q", "person", "440306199503011244", "广东"),  # born in 广东 on 1995-03-01, female
    ("R", "person", "440306199503011245", "广东"),  # wrong check digit: not read
    ("T", "person", None, "上海"),
    ("K", "company", "91430103814628075G", "湖南"),
]
# call id, started at, dealer, station, customer
COMPLAINTS = [
    ("C1", "2024-03-05 10:00:00", "D1", None, None),
    ("C2", "2024-03-10 10:00:00", "D1", None, "Q"),
    ("C3", "2024-08-25 10:00:00", None, "SA", "Q"),
    ("C4", "2025-10-01 10:00:00", None, None, "R"),  # R consents to marketing on this call
]


def _load(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("frame", frame)
    con.execute(f"create table {table} as select * from frame")
    con.unregister("frame")


def build_network(workdir: Path) -> Path:
    """The hand case as staging tables and customer_xref in a new DuckDB file, then `dbt build` of the real
    mining_as_of, fct_customer_events and dealer_network models with the as-of date pinned."""
    workdir.mkdir(parents=True)
    warehouse = workdir / "warehouse.duckdb"
    xref = [("dealer_leads", i, c) for i, _, _, _, c in LEADS]
    xref += [("dealer_sales", i, c) for i, _, _, _, c in SALES]
    xref += [("service_orders", i, c) for i, *_, c in ORDERS]
    xref += [("call_center", i, c) for i, *_, c in COMPLAINTS]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema staging; create schema marts")
        _load(
            con,
            "staging.stg_dms__dealers",
            pd.DataFrame(DEALERS, columns=["dealer_code", "dealer_name", "province", "city", "opened_on"]),
        )
        _load(
            con,
            "staging.stg_shops__stations",
            pd.DataFrame(
                STATIONS, columns=["station_code", "station_name", "station_type", "province", "city"]
            ),
        )
        _load(
            con,
            "staging.stg_dms__leads",
            pd.DataFrame(
                [
                    {
                        "source_system": "dealer_leads",
                        "source_record_id": i,
                        "dealer_code": d,
                        "visit_date": day,
                        "mobile": m,
                        "model_interest": "X1",
                        "test_drive": False,
                        "is_latest_version": True,
                    }
                    for i, d, day, m, _ in LEADS
                ]
            ),
        )
        _load(
            con,
            "staging.stg_dms__sales",
            pd.DataFrame(
                [
                    {
                        "source_system": "dealer_sales",
                        "source_record_id": i,
                        "dealer_code": d,
                        "invoice_date": day,
                        "mobile": m,
                        "invoice_price": 150000.0,
                        "model_name": "X1",
                        "is_latest_version": True,
                    }
                    for i, d, day, m, _ in SALES
                ]
            ),
        )
        _load(
            con,
            "staging.stg_shops__service_orders",
            pd.DataFrame(
                [
                    {
                        "source_system": "service_orders",
                        "source_record_id": i,
                        "station_code": s,
                        "open_date": day,
                        "service_type": t,
                        "total_amount": amount,
                        "mileage_km": 1000,
                        "is_latest_version": True,
                    }
                    for i, s, day, t, amount, _ in ORDERS
                ]
            ),
        )
        calls = pd.DataFrame(
            [
                {
                    "source_system": "call_center",
                    "source_record_id": i,
                    "started_at": pd.Timestamp(at),
                    "category": "complaint",
                    "related_dealer_code": d,
                    "related_station_code": s,
                    "vin": None,
                    "purchase_intent": None,
                    "consent_marketing": i == "C4",
                    "model_interest": None,
                    "notes": "投诉",
                    "is_latest_version": True,
                }
                for i, at, d, s, _ in COMPLAINTS
            ]
        )
        # A superseded version and a non-complaint call count nowhere.
        calls.loc[len(calls)] = {**calls.iloc[1].to_dict(), "is_latest_version": False}
        calls.loc[len(calls)] = {**calls.iloc[1].to_dict(), "source_record_id": "C9", "category": "inquiry"}
        for column in (
            "related_dealer_code",
            "related_station_code",
            "vin",
            "purchase_intent",
            "model_interest",
        ):
            calls[column] = calls[column].astype("string")
        _load(con, "staging.stg_oem__calls", calls)
        con.execute("""create table staging.stg_oem__vehicle_registrations (source_system varchar,
            source_record_id varchar, delivery_date date, dealer_code varchar, model_code varchar,
            is_latest_version boolean)""")
        con.execute("""create table staging.stg_oem__web_registrations (source_system varchar,
            source_record_id varchar, registered_at timestamp, consent_marketing boolean,
            model_interest varchar, is_latest_version boolean)""")
        _load(
            con,
            "marts.dim_customer",
            pd.DataFrame(MASTER, columns=["customer_id", "customer_type", "id_number", "province"]),
        )
        con.execute("""create table marts.customer_xref (source_system varchar, source_record_id varchar,
            customer_id varchar, vehicle_vin varchar)""")
        con.executemany(
            "insert into marts.customer_xref values (?, ?, ?, null)",
            [row for row in xref if row[2] is not None],
        )
    done = run_dbt(
        [
            "build",
            "--select", "mining_as_of fct_customer_events dealer_network",
            "--vars", json.dumps({"as_of_date": AS_OF}),
        ],
        warehouse, workdir, unset=["CRM_AS_OF_DATE"],
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return warehouse


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_network(tmp_path_factory.mktemp("dealer_network") / "case")


def _frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchdf()


def _dealer_month(small: Path, dealer: str, month: str) -> pd.Series:
    rows = _frame(small, f"select * from marts.dealer_scorecard where dealer_code = '{dealer}' "
                         f"and month = date '{month}'")  # fmt: skip
    assert len(rows) == 1
    return rows.iloc[0]


def test_dealer_scorecard_has_one_row_per_dealer_and_network_month(small: Path):
    card = _frame(small, "select dealer_code, month from marts.dealer_scorecard")
    months = {"2024-01-01", "2024-02-01", "2024-03-01", "2024-06-01", "2025-07-01", "2025-12-01"}
    assert len(card) == 2 * len(months)
    assert set(card["month"].dt.strftime("%Y-%m-%d")) == months


def test_lead_conversion_by_hand(small: Path):
    jan = _dealer_month(small, "D1", "2024-01-01")
    assert jan["leads"] == 4
    # Q bought here after 41 days; P bought at D2 under another phone; R after 128 days; L4 is nobody.
    assert (jan["leads_converted_here"], jan["leads_converted_any"]) == (1, 2)
    assert jan["lead_conversion_rate_here"] == pytest.approx(0.25)
    assert jan["lead_conversion_rate_any_dealer"] == pytest.approx(0.5)
    dec = _dealer_month(small, "D1", "2025-12-01")
    assert dec["leads"] == 1 and pd.isna(dec["lead_conversion_rate_here"])  # 90 days not over by 2026-01-01
    assert pd.isna(_dealer_month(small, "D2", "2024-01-01")["lead_conversion_rate_any_dealer"])  # no leads


def test_sales_retention_loss_and_complaints_by_hand(small: Path):
    march = _dealer_month(small, "D1", "2024-03-01")
    assert (march["new_car_sales"], march["buyers"], march["cohort_buyers"]) == (2, 2, 2)
    # Q visited SA on 2024-08-01 (year 1); T first on 2025-06-01 (year 2, window still open).
    assert march["service_retention_year_1"] == pytest.approx(0.5)
    assert pd.isna(march["service_retention_year_2"]) and pd.isna(march["service_retention_year_3"])
    assert march["lost_to_independent_share"] == pytest.approx(0.5)  # Q's last visit: SI on 2025-05-01
    assert march["complaints"] == 2 and march["complaints_per_100_sold"] == pytest.approx(100.0)
    june = _dealer_month(small, "D1", "2024-06-01")
    assert june["service_retention_year_1"] == 0 and june["lost_to_independent_share"] == 0  # R: no visits
    assert _dealer_month(small, "D2", "2024-02-01")["new_car_sales"] == 1
    assert pd.isna(_dealer_month(small, "D1", "2024-01-01")["complaints_per_100_sold"])


def test_repurchase_of_past_buyers_by_hand(small: Path):
    assert tuple(_dealer_month(small, "D1", "2024-06-01")[["past_buyers", "past_buyers_repurchased"]]) == (
        3,
        0,
    )
    july = _dealer_month(small, "D1", "2025-07-01")  # Q bought again, at D2
    assert (july["past_buyers"], july["past_buyers_repurchased"]) == (3, 1)
    assert july["repurchase_rate"] == pytest.approx(1 / 3)
    d2 = _dealer_month(small, "D2", "2025-07-01")
    assert (d2["past_buyers"], d2["past_buyers_repurchased"], d2["cohort_buyers"]) == (2, 0, 1)


def test_station_scorecard_by_hand(small: Path):
    card = _frame(small, "select * from marts.station_scorecard order by station_code, month")
    assert len(card) == 2 * 3 and not card.duplicated(["station_code", "month"]).any()
    aug = card[(card["station_code"] == "SA") & (card["month"] == pd.Timestamp("2024-08-01"))].iloc[0]
    assert bool(aug["is_authorised"])
    assert tuple(aug[["repair_orders", "customer_pay_orders", "warranty_orders", "recall_orders"]]) == (
        3,
        2,
        0,
        1,
    )
    assert aug["avg_order_value"] == pytest.approx(400.0)
    assert aug["avg_customer_pay_order_value"] == pytest.approx(600.0)
    assert (aug["identified_orders"], aug["repeat_orders"]) == (2, 1)
    assert aug["repeat_visit_rate"] == pytest.approx(0.5)
    assert aug["complaints"] == 1 and aug["complaints_per_100_orders"] == pytest.approx(100 / 3)
    june = card[(card["station_code"] == "SA") & (card["month"] == pd.Timestamp("2025-06-01"))].iloc[0]
    assert (june["warranty_orders"], june["warranty_share"], june["repeat_orders"]) == (1, 1.0, 0)
    may_si = card[(card["station_code"] == "SI") & (card["month"] == pd.Timestamp("2025-05-01"))].iloc[0]
    assert not bool(may_si["is_authorised"]) and may_si["repair_orders"] == 1
    assert card.loc[card["repair_orders"] == 0, "complaints_per_100_orders"].isna().all()


def test_complaint_cases_follow_the_customer(small: Path):
    cases = _frame(small, "select * from marts.complaint_cases").set_index("call_id")
    assert sorted(cases.index) == ["C1", "C2", "C3", "C4"]
    assert cases.loc["C1", "outcome"] == "unknown_customer"
    c2 = cases.loc["C2"]
    assert (c2["customer_id"], c2["complaint_about"], c2["outcome"]) == ("Q", "dealer", "came_back")
    assert c2["next_service_station_code"] == "SA" and c2["days_to_next_service"] == 144
    assert (c2["next_contact_type"], str(c2["next_contact_at"].date())) == ("call", "2024-08-25")
    c3 = cases.loc["C3"]
    assert (c3["complaint_about"], c3["station_type"], c3["outcome"]) == ("station", "authorized", "defected")
    assert (c3["next_contact_type"], str(c3["next_contact_at"].date())) == ("purchase", "2025-07-01")
    assert (cases.loc["C4", "complaint_about"], cases.loc["C4", "outcome"]) == (
        "unspecified",
        "no_service_since",
    )


def test_demographics_read_from_valid_ids_only(small: Path):
    profiles = _frame(small, "select * from marts.customer_demographics").set_index("customer_id")
    assert sorted(profiles.index) == ["K", "P", "Q"]
    p, q, k = profiles.loc["P"], profiles.loc["Q"], profiles.loc["K"]
    assert (p["age"], p["age_band"], p["sex"], p["birth_province"]) == (55, "55_64", "male", "上海")
    assert not p["lives_in_birth_province"]
    # Born 1995-03-01: 30 on 2026-01-01, the birthday not yet reached that year.
    assert (q["age"], q["age_band"], q["sex"], q["birth_region_code"]) == (30, "25_34", "female", "440306")
    assert q["lives_in_birth_province"]
    assert (k["birth_province"], k["entity_category"], k["registering_authority"]) == (
        "湖南",
        "enterprise",
        "market_regulation",
    )
    assert pd.isna(k["age_band"]) and pd.isna(k["sex"])


def test_survey_candidates_take_consent_as_stated_by_the_month_end(small: Path):
    candidates = _frame(
        small, "select * from marts.survey_candidates order by sample_month, unit_code, customer_id"
    )
    assert len(candidates) == 5 + 2  # 5 purchases; Q in Aug 2024 and T in Jun 2025 at SA (not the walk-in)
    assert set(candidates["unit_code"]) == {"D1", "D2", "SA"}  # never the independent garage
    # R consented on 2025-10-01, long after buying in June 2024: no consent for that month.
    r = candidates[candidates["customer_id"] == "R"].iloc[0]
    assert (str(r["sample_month"].date()), bool(r["has_consent"])) == ("2024-06-01", False)
    assert _frame(small, "select count(*) as n from marts.survey_sample")["n"][0] == 0


# ------------------------------------------------------------------ the whole job on the committed sample


LATEST_SALES = "from staging.stg_dms__sales s where s.is_latest_version and s.invoice_date is not null"
LATEST_LEADS = "from staging.stg_dms__leads l where l.is_latest_version and l.visit_date is not null"
LATEST_ORDERS = "from staging.stg_shops__service_orders where is_latest_version and open_date is not null"
RATES = [
    "lead_conversion_rate_here",
    "lead_conversion_rate_any_dealer",
    "service_retention_year_1",
    "service_retention_year_2",
    "service_retention_year_3",
    "lost_to_independent_share",
    "repurchase_rate",
]


def _one(built, sql: str) -> tuple:
    return built.query(sql)[0]


def test_sample_dealer_scorecard_is_one_row_per_dealer_month_with_rates_in_range(built):
    rows, keys, dealers, months = _one(
        built,
        "select count(*), count(distinct (dealer_code, month)), count(distinct dealer_code), "
        "count(distinct month) from marts.dealer_scorecard",
    )
    assert rows == keys == dealers * months
    assert dealers == _one(built, "select count(distinct dealer_code) from staging.stg_dms__dealers")[0]
    bounds = _one(
        built,
        "select "
        + ", ".join(f"min({r}), max({r}), count({r})" for r in RATES)
        + " from marts.dealer_scorecard",
    )
    for i, rate in enumerate(RATES):
        low, high, n = bounds[3 * i : 3 * i + 3]
        assert n > 0 and 0 <= low <= high <= 1, rate
    here, anywhere = _one(
        built, "select sum(leads_converted_here), sum(leads_converted_any) from marts.dealer_scorecard"
    )
    assert 0 < here <= anywhere
    totals = _one(built, "select sum(new_car_sales), sum(leads) from marts.dealer_scorecard")
    assert totals == _one(built, f"select (select count(*) {LATEST_SALES}), (select count(*) {LATEST_LEADS})")


def test_sample_conversions_are_counted_through_customer_xref(built):
    """Recount conversions in pandas from staging and customer_xref; some convert under another phone."""
    xref = "join marts.customer_xref x using (source_system, source_record_id)"
    leads = pd.DataFrame(
        built.query(
            "select l.source_record_id, l.dealer_code, l.visit_date, l.mobile, x.customer_id "
            + LATEST_LEADS.replace(" where", f" {xref} where")
        ),
        columns=["lead", "lead_dealer", "visit_date", "lead_mobile", "customer_id"],
    )
    sales = pd.DataFrame(
        built.query(
            "select s.dealer_code, s.invoice_date, s.mobile, x.customer_id "
            + LATEST_SALES.replace(" where", f" {xref} where")
        ),
        columns=["sale_dealer", "invoice_date", "sale_mobile", "customer_id"],
    )
    pairs = leads.merge(sales, on="customer_id")
    days = (pd.to_datetime(pairs["invoice_date"]) - pd.to_datetime(pairs["visit_date"])).dt.days
    pairs = pairs[(days >= 0) & (days <= 90)]
    here = pairs[pairs["lead_dealer"] == pairs["sale_dealer"]]
    expected = (pairs["lead"].nunique(), here["lead"].nunique())
    assert (
        _one(built, "select sum(leads_converted_any), sum(leads_converted_here) from marts.dealer_scorecard")
        == expected
    )
    assert (pairs["lead_mobile"] != pairs["sale_mobile"]).any()


def test_sample_station_scorecard_and_complaint_cases(built):
    rows, keys, orders, split = _one(
        built,
        "select count(*), count(distinct (station_code, month)), sum(repair_orders), "
        "sum(customer_pay_orders + warranty_orders + recall_orders) from marts.station_scorecard",
    )
    assert rows == keys and orders == split == _one(built, f"select count(*) {LATEST_ORDERS}")[0]
    assert _one(
        built,
        "select count(*) filter (where repeat_visit_rate < 0 or repeat_visit_rate > 1), "
        "count(distinct is_authorised) from marts.station_scorecard",
    ) == (0, 2)
    cases, outcomes = _one(built, "select count(*), count(distinct outcome) from marts.complaint_cases")
    complaints = (
        "select count(*) from staging.stg_oem__calls where is_latest_version and category = 'complaint'"
    )
    assert cases == _one(built, complaints)[0]
    assert outcomes == 4


def test_sample_demographics_stay_out_of_the_analyst_views(built):
    profiled, persons_with_id = _one(
        built,
        "select (select count(*) from marts.customer_demographics where customer_type = 'person'), "
        "(select count(*) from marts.dim_customer where customer_type = 'person' and length(id_number) = 18)",
    )
    assert 0.9 * persons_with_id <= profiled <= persons_with_id
    exposed = (
        "select count(*) from information_schema.columns where table_schema = 'analyst' "
        "and column_name in ('birth_date', 'age', 'age_band', 'sex', 'birth_region_code', 'birth_province')"
    )
    assert _one(built, exposed)[0] == 0


# ------------------------------------------------------------------ the survey sample's draw


def _draw_module():
    path = DBT_PROJECT_DIR / "models" / "dealer_network" / "survey_sample.py"
    spec = importlib.util.spec_from_file_location("survey_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _candidates(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for month in pd.date_range("2024-01-01", periods=14, freq="MS"):
        for unit_type, unit_code in (("dealer", "D1"), ("dealer", "D2"), ("station", "SA")):
            for customer in rng.choice(40, size=int(rng.integers(0, 9)), replace=False):
                rows.append(
                    {
                        "sample_month": month.date(),
                        "unit_type": unit_type,
                        "unit_code": unit_code,
                        "customer_id": f"C{customer:02d}",
                        "has_consent": bool(rng.random() < 0.7),
                    }
                )
    return pd.DataFrame(rows)


def test_survey_draw_is_reproducible_stratified_consenting_and_excludes_six_months():
    draw = _draw_module().draw
    candidates = _candidates()
    sample = draw(candidates, seed=11, per_stratum=2)
    pd.testing.assert_frame_equal(sample, draw(candidates, seed=11, per_stratum=2))
    assert not sample[["sample_month", "customer_id"]].equals(
        draw(candidates, seed=12, per_stratum=2)[["sample_month", "customer_id"]]
    )
    assert sample["has_consent"].all() and len(sample) > 20
    assert sample.groupby(["sample_month", "unit_type", "unit_code"]).size().max() == 2
    assert not sample.duplicated(["sample_month", "customer_id"]).any()
    months = {(r.customer_id, pd.Timestamp(r.sample_month)) for r in sample.itertuples()}
    index = {c: sorted(m.year * 12 + m.month for cc, m in months if cc == c) for c, _ in months}
    assert all(b - a > 6 for seen in index.values() for a, b in zip(seen, seen[1:], strict=False))
    # Nothing eligible is left out: a stratum short of 2 had no consenting candidate free to take.
    picked = sample.set_index(["sample_month", "unit_type", "unit_code"]).sort_index()
    for (month, unit_type, unit_code), group in candidates[candidates["has_consent"]].groupby(
        ["sample_month", "unit_type", "unit_code"]
    ):
        taken = (
            picked.loc[[(month, unit_type, unit_code)]]
            if (month, unit_type, unit_code) in picked.index
            else []
        )
        if len(taken) == 2:
            continue
        now = pd.Timestamp(month).year * 12 + pd.Timestamp(month).month
        for customer in group["customer_id"]:
            seen = index.get(customer, [])
            assert any(0 <= now - m <= 6 for m in seen), (month, unit_code, customer)


def test_sample_survey_sample_honours_consent_and_exclusion(built):
    rows, strata_over, unconsented = _one(
        built,
        "select count(*), "
        "(select count(*) from (select 1 from marts.survey_sample "
        "group by sample_month, unit_type, unit_code having count(*) > 3)), "
        "count(*) filter (where not has_consent) from marts.survey_sample",
    )
    assert rows > 100 and strata_over == 0 and unconsented == 0
    # Every sampled customer's latest consent statement before the month ended says yes (recounted here).
    latest = (
        "select s.sample_month, s.customer_id, e.consent_marketing, row_number() over ("
        "partition by s.sample_month, s.customer_id "
        "order by e.event_at desc, e.source_system desc, e.source_record_id desc) as pick "
        "from marts.survey_sample s join marts.fct_customer_events e on e.customer_id = s.customer_id "
        "and e.consent_marketing is not null and e.event_date < s.sample_month + interval 1 month"
    )
    consenting = f"select count(*), count(*) filter (where consent_marketing) from ({latest}) where pick = 1"
    assert _one(built, consenting) == (rows, rows)
    repeats = (
        "select count(*) from marts.survey_sample a join marts.survey_sample b "
        "on a.customer_id = b.customer_id and b.sample_month > a.sample_month "
        "and b.sample_month <= a.sample_month + interval 6 month"
    )
    assert _one(built, repeats)[0] == 0
