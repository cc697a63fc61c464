"""Tests of the synthetic raw-data generator (pipelines.generate) against the data contract."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from pipelines.generate import generate
from pipelines.generate.feeds import LEADS_A, LEADS_B, REGISTRATION_SCHEMA, SALES_A, SALES_B, SERVICE, WEB
from pipelines.generate.ids import vin_is_valid
from pipelines.generate.noise import traditional
from pipelines.generate.reference import (
    CITIES,
    COMPANY_BRANDS,
    COMPANY_TRADES,
    FEMALE_GIVEN_1,
    FEMALE_GIVEN_2,
    HOMOPHONES,
    MALE_GIVEN_1,
    MALE_GIVEN_2,
    MODELS,
    STREETS,
    SURNAMES,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "raw"
N = 300
SEED = 7
TODAY = dt.date(2026, 11, 22)
EXTRA_COLS = {"备注", "REMARK", "remark"}


# ---------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "raw"
    generate(out, N, SEED)
    return out


def read_csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]], int]:
    """(header, parseable rows, number of unparseable non-blank lines)."""
    text = path.read_bytes().decode(encoding)
    lines = [x for x in text.splitlines() if x.strip()]
    rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    good = [r for r in body if len(r) == len(header)]
    return header, good, len(body) - len(good)


def check_header(header: list[str], expected: tuple[str, ...]) -> None:
    assert header[0] == expected[0]
    core = [h for h in header if h not in EXTRA_COLS]
    assert set(core) <= set(expected), header
    assert len(core) >= len(expected) - 1, header
    assert [h for h in expected if h in core] == core, "column order kept"
    assert len(header) - len(core) <= 1


def dealers(root: Path) -> list[dict[str, str]]:
    with open(root / "dealers" / "dealers.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def stations(root: Path) -> list[dict[str, str]]:
    with open(root / "repair_shops" / "stations.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def station_encoding(s: dict[str, str]) -> str:
    return "gbk" if s["encoding"] == "gbk" else "utf-8-sig"  # utf-8-sig also reads files without BOM


def parse_date(s: str) -> dt.date:
    s = s.replace("/", "-")
    if "-" not in s:
        s = f"{s[:4]}-{s[4:6]}-{s[6:]}"
    return dt.date.fromisoformat(s)


def all_records(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """source_system -> record id -> parsed record (only rows that parse)."""
    out: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for d in dealers(root):
        enc = "utf-8" if d["dms_vendor"] == "A" else "gbk"
        for kind, source in (("sales", "dealer_sales"), ("leads", "dealer_leads")):
            for p in sorted((root / "dealers" / d["dealer_code"]).glob(f"{kind}_*.csv")):
                header, rows, _ = read_csv(p, "utf-8-sig" if enc == "utf-8" else enc)
                for r in rows:
                    if r[0] == "合计":
                        continue
                    rid = f"{d['dealer_code']}:{r[0]}"
                    assert rid not in out[source], f"duplicate record id {rid}"
                    out[source][rid] = dict(zip(header, r, strict=True))
    for s in stations(root):
        for p in sorted((root / "repair_shops" / s["station_code"]).glob("service_orders_*.csv")):
            header, rows, _ = read_csv(p, station_encoding(s))
            for r in rows:
                rid = f"{s['station_code']}:{r[0]}"
                assert rid not in out["service_orders"]
                out["service_orders"][rid] = dict(zip(header, r, strict=True))
    for p in sorted((root / "manufacturer" / "call_center").glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out["call_center"][rec["call_id"]] = rec
    for p in sorted((root / "manufacturer" / "vehicle_registrations").glob("*.parquet")):
        for rec in pq.read_table(p).to_pylist():
            out["vehicle_registrations"][rec["registration_id"]] = rec
    header, rows, _ = read_csv(root / "manufacturer" / "web_registrations.csv", "utf-8-sig")
    for r in rows:
        out["web_registrations"][r[0]] = dict(zip(header, r, strict=True))
    return out


def truth(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / "_truth" / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def months(start: str = "2021-11", end: str = "2026-10") -> list[str]:
    y, m = map(int, start.split("-"))
    out = []
    while f"{y}-{m:02d}" <= end:
        out.append(f"{y}{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------- layout


def test_layout(gen: Path) -> None:
    ms = months()
    assert (gen / "dealers" / "dealers.csv").is_file()
    assert (gen / "repair_shops" / "stations.csv").is_file()
    ds = dealers(gen)
    assert list(ds[0]) == ["dealer_code", "dealer_name", "province", "city", "dms_vendor", "opened_on"]
    assert len(ds) == max(3, round(N / 400))
    assert {d["dms_vendor"] for d in ds} == {"A", "B"}
    for d in ds:
        first = max(d["opened_on"][:7].replace("-", ""), ms[0])
        for kind in ("sales", "leads"):
            got = sorted(p.name for p in (gen / "dealers" / d["dealer_code"]).glob(f"{kind}_*.csv"))
            assert got == [f"{kind}_{m}.csv" for m in ms if m >= first]
    ss = stations(gen)
    assert list(ss[0]) == ["station_code", "station_name", "station_type", "province", "city", "encoding"]
    assert {s["station_type"] for s in ss} == {"authorized", "independent"}
    assert {s["encoding"] for s in ss} <= {"utf-8", "gbk"}
    for s in ss:
        got = sorted(p.name for p in (gen / "repair_shops" / s["station_code"]).glob("*.csv"))
        assert got == [f"service_orders_{m}.csv" for m in ms]
    calls = sorted((gen / "manufacturer" / "call_center").glob("*.jsonl"))
    assert len(calls) == (dt.date(2026, 10, 31) - dt.date(2021, 11, 1)).days + 1
    regs = sorted(p.name for p in (gen / "manufacturer" / "vehicle_registrations").glob("*.parquet"))
    assert regs == [f"{m[:4]}-{m[4:]}.parquet" for m in ms]
    assert (gen / "manufacturer" / "web_registrations.csv").is_file()


def test_no_truth_in_feed_folders(gen: Path) -> None:
    for p in gen.rglob("*"):
        rel = p.relative_to(gen).parts
        if rel[0] == "_truth":
            continue
        assert "truth" not in "/".join(rel).lower()
        assert rel[0] in ("dealers", "manufacturer", "repair_shops")
    assert {p.name for p in (gen / "_truth").iterdir()} >= {
        "record_truth.csv",
        "vehicle_truth.csv",
        "persons.csv",
    }


# ---------------------------------------------------------------------- encodings and headers


def test_vendor_a_files(gen: Path) -> None:
    for d in dealers(gen):
        if d["dms_vendor"] != "A":
            continue
        for p in (gen / "dealers" / d["dealer_code"]).glob("*.csv"):
            raw = p.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf"), p
            header, rows, _ = read_csv(p, "utf-8-sig")
            check_header(header, SALES_A if p.name.startswith("sales") else LEADS_A)
            if p.name.startswith("sales") and "开票日期" in header:
                i = header.index("开票日期")
                for r in rows:
                    if r[0] != "合计":
                        assert len(r[i]) == 10 and r[i][4] == "-", r[i]


def test_vendor_b_files(gen: Path) -> None:
    for d in dealers(gen):
        if d["dms_vendor"] != "B":
            continue
        habits = set()
        for p in (gen / "dealers" / d["dealer_code"]).glob("*.csv"):
            raw = p.read_bytes()
            assert not raw.startswith(b"\xef\xbb\xbf")
            raw.decode("gbk")
            header, rows, _ = read_csv(p, "gbk")
            check_header(header, SALES_B if p.name.startswith("sales") else LEADS_B)
            assert all(h == h.upper() for h in header)
            date_col = "INVOICE_DATE" if p.name.startswith("sales") else "VISIT_DATE"
            for r in rows:
                assert len(r[0]) == 8 and r[0].isdigit(), r[0]
                if date_col in header:
                    v = r[header.index(date_col)]
                    habits.add("/" if "/" in v else ("-" if "-" in v else "plain"))
        assert len(habits) <= 1 and "-" not in habits, habits


def test_service_order_files(gen: Path) -> None:
    for s in stations(gen):
        for p in (gen / "repair_shops" / s["station_code"]).glob("*.csv"):
            raw = p.read_bytes()
            if s["encoding"] == "gbk":
                assert not raw.startswith(b"\xef\xbb\xbf")
                raw.decode("gbk")
            else:
                raw.decode("utf-8")
            header, rows, _ = read_csv(p, station_encoding(s))
            check_header(header, SERVICE)
            for r in rows:
                rec = dict(zip(header, r, strict=True))
                assert rec["service_type"] in ("保养", "维修", "钣喷", "保修", "召回")
                if rec["service_type"] in ("保修", "召回"):
                    assert s["station_type"] == "authorized"
                assert len(rec["vin"]) in (0, 6, 17)


def test_registrations_parquet(gen: Path) -> None:
    for p in (gen / "manufacturer" / "vehicle_registrations").glob("*.parquet"):
        schema = pq.read_schema(p)
        assert schema.names == REGISTRATION_SCHEMA.names
        assert schema.field("delivery_date").type == REGISTRATION_SCHEMA.field("delivery_date").type
        t = pq.read_table(p)
        for rec in t.to_pylist():
            assert rec["owner_type"] in ("individual", "company")
            assert rec["id_type"] in ("ID_CARD", "PASSPORT", "USCC", "ORG_CODE")
            assert p.stem == rec["delivery_date"].strftime("%Y-%m")
            assert rec["delivery_date"] <= TODAY


def test_call_center_jsonl(gen: Path) -> None:
    total = bad = 0
    for p in (gen / "manufacturer" / "call_center").glob("*.jsonl"):
        for line in p.read_text(encoding="utf-8").splitlines():
            total += 1
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad += 1  # deliberate, rare: truncated lines
                continue
            assert rec["call_id"] and rec["started_at"].endswith("+08:00")
            assert rec["started_at"][:10] == p.stem
            assert rec.get("category") in ("inquiry", "complaint", "lead", "service_booking", "other")
            assert rec.get("purchase_intent") in ("high", "medium", "low", None)
            assert rec.get("consent_marketing") in (True, False, None)
    assert total > 100
    assert bad <= max(2, total * 0.01)


def test_web_registrations(gen: Path) -> None:
    header, rows, bad = read_csv(gen / "manufacturer" / "web_registrations.csv", "utf-8-sig")
    assert header == list(WEB)
    assert bad <= max(2, len(rows) * 0.01)
    assert {r[-1] for r in rows} <= {"true", "false"}
    pinyin = sum(1 for r in rows if r[4] and r[4].replace(" ", "").isascii() and r[4].strip())
    assert pinyin > len(rows) * 0.2


# ---------------------------------------------------------------------- values


def test_check_digits(gen: Path) -> None:
    recs = all_records(gen)
    ids_ok = ids_n = uscc_ok = uscc_n = vin_ok = vin_n = 0
    for rec in recs["dealer_sales"].values():
        company = rec.get("客户类型", rec.get("CUST_TYPE")) in ("单位", "C")
        value = rec.get("证件号码", rec.get("ID_NO", ""))
        vin = rec.get("车架号", rec.get("VIN", ""))
        if len(value) == 18 and value[:17].isdigit() and not company:
            ids_n += 1
            ids_ok += ric.is_valid(value)
        elif len(value) == 18:
            uscc_n += 1
            uscc_ok += uscc.is_valid(value)
        if len(vin) == 17:
            vin_n += 1
            vin_ok += vin_is_valid(vin)
    for rec in recs["vehicle_registrations"].values():
        vin_n += 1
        vin_ok += vin_is_valid(rec["vin"])
        if rec["id_type"] == "ID_CARD" and len(rec["id_number"]) == 18:
            ids_n += 1
            ids_ok += ric.is_valid(rec["id_number"])
    assert ids_n > 100 and ids_ok / ids_n > 0.95
    assert uscc_n > 5 and uscc_ok / uscc_n > 0.9
    assert vin_n > 100 and vin_ok / vin_n > 0.95


def test_truth_ids_valid(gen: Path) -> None:
    persons = truth(gen, "persons.csv")
    for p in persons:
        if p["person_type"] == "company":
            assert uscc.is_valid(p["id_number"])
        elif p["is_foreigner"] == "false":
            assert ric.is_valid(p["id_number"]), p
            assert ric.get_birth_date(p["id_number"]).isoformat() == p["birth_date"]
            assert (int(p["id_number"][16]) % 2 == 1) == (p["sex"] == "M")
    for v in truth(gen, "vehicle_truth.csv"):
        assert vin_is_valid(v["vin"])


def test_dates_not_in_future(gen: Path) -> None:
    recs = all_records(gen)
    for rec in recs["dealer_sales"].values():
        v = rec.get("开票日期") or rec.get("INVOICE_DATE")
        if v:
            assert parse_date(v) <= TODAY
    for rec in recs["service_orders"].values():
        for k in ("open_date", "close_date"):
            if rec.get(k):
                assert parse_date(rec[k]) <= TODAY
    for rec in recs["call_center"].values():
        assert dt.date.fromisoformat(rec["started_at"][:10]) <= TODAY


def test_vocabulary_is_gbk() -> None:
    words = [c.province + c.name + "".join(c.districts) for c in CITIES] + list(STREETS)
    words += [s for s, _, _ in SURNAMES] + list(MALE_GIVEN_1 + MALE_GIVEN_2 + FEMALE_GIVEN_1 + FEMALE_GIVEN_2)
    words += list(HOMOPHONES) + list(HOMOPHONES.values()) + list(COMPANY_BRANDS + COMPANY_TRADES)
    words += [m.name for m in MODELS]
    for w in words:
        w.encode("gbk")
        traditional(w).encode("gbk")


# ---------------------------------------------------------------------- truth


def test_truth_points_at_records(gen: Path) -> None:
    recs = all_records(gen)
    rows = truth(gen, "record_truth.csv")
    persons = {p["person_id"] for p in truth(gen, "persons.csv")}
    seen = set()
    for r in rows:
        key = (r["source_system"], r["source_record_id"])
        assert key not in seen
        seen.add(key)
        assert r["source_record_id"] in recs[r["source_system"]], key
        assert r["person_id"] in persons
    by_source = Counter(r["source_system"] for r in rows)
    assert set(by_source) == {
        "dealer_sales",
        "dealer_leads",
        "vehicle_registrations",
        "call_center",
        "web_registrations",
        "service_orders",
    }
    # some records identify nobody (walk-ins, anonymous calls, test sign-ups)
    for source in ("service_orders", "call_center", "web_registrations"):
        assert by_source[source] < len(recs[source])
    # every sale and registration that parses belongs to someone
    assert by_source["vehicle_registrations"] == len(recs["vehicle_registrations"])


def test_records_follow_vehicle_ownership(gen: Path) -> None:
    """A repair order about a car belongs to whoever owned it on that day."""
    owners: dict[str, list[tuple[dt.date, dt.date, str]]] = defaultdict(list)
    for v in truth(gen, "vehicle_truth.csv"):
        end = dt.date.fromisoformat(v["owned_to"]) if v["owned_to"] else dt.date(2100, 1, 1)
        owners[v["vin"]].append((dt.date.fromisoformat(v["owned_from"]), end, v["person_id"]))
    recs = all_records(gen)["service_orders"]
    checked = resold = 0
    for r in truth(gen, "record_truth.csv"):
        if r["source_system"] != "service_orders":
            continue
        rec = recs[r["source_record_id"]]
        vin = rec["vin"]
        if vin not in owners:
            continue
        day = parse_date(rec["open_date"])
        expect = [p for a, b, p in owners[vin] if a <= day < b]
        assert expect == [r["person_id"]], (rec, owners[vin])
        checked += 1
        resold += len(owners[vin]) > 1
    assert checked > 100 and resold > 0


def test_realistic_population(gen: Path) -> None:
    persons = truth(gen, "persons.csv")
    people = [p for p in persons if p["person_type"] == "person"]
    companies = [p for p in persons if p["person_type"] == "company"]
    assert 0.03 < len(companies) / len(persons) < 0.12
    prospects = sum(p["is_prospect_only"] == "true" for p in people) / len(people)
    assert 0.25 < prospects < 0.45
    assert any(p["household_id"] for p in people)
    assert all(2 <= int(c["n_vehicles"]) <= 15 for c in companies if c["n_vehicles"] != "0")
    vt = truth(gen, "vehicle_truth.csv")
    assert any(v["owned_to"] for v in vt)


def test_redeliveries(gen: Path) -> None:
    listed = [r["path"] for r in truth(gen, "redeliveries.csv")]
    assert len(listed) >= 3
    for rel in listed:
        early = gen / "_truth" / "earlier_deliveries" / rel
        final = gen / rel
        assert early.is_file() and final.is_file()
        assert early.read_bytes() != final.read_bytes()


def test_determinism(gen: Path, tmp_path: Path) -> None:
    again = tmp_path / "raw"
    generate(again, N, SEED)
    assert tree_digest(gen) == tree_digest(again)
    other = tmp_path / "other"
    generate(other, N, SEED + 1)
    assert tree_digest(other)["_truth/persons.csv"] != tree_digest(gen)["_truth/persons.csv"]


def test_window_options(tmp_path: Path) -> None:
    out = tmp_path / "short"
    summary = generate(out, 60, 3, "2026-01", "2026-03")
    assert summary.files > 0
    regs = sorted(p.name for p in (out / "manufacturer" / "vehicle_registrations").glob("*.parquet"))
    assert regs == ["2026-01.parquet", "2026-02.parquet", "2026-03.parquet"]


# ---------------------------------------------------------------------- committed sample


@pytest.mark.skipif(not (SAMPLE / "_truth" / "record_truth.csv").exists(), reason="no committed sample")
def test_committed_sample() -> None:
    ds = dealers(SAMPLE)
    assert len(ds) == round(3000 / 400)
    persons = truth(SAMPLE, "persons.csv")
    assert len(persons) == 3000
    recs = all_records(SAMPLE)
    for r in truth(SAMPLE, "record_truth.csv"):
        assert r["source_record_id"] in recs[r["source_system"]]
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 15e6
