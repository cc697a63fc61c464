"""Render the world and its events into the raw feeds of the data contract (with noise)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .config import Config, Timeline
from .events import CALL_CATEGORIES, SERVICE_TYPES, Events
from .ids import ymd_parts
from .noise import Messer, format_phone, honorific, pinyin_forms
from .population import ID_PASSPORT, ID_RIC, ID_USCC, World
from .reference import (
    BUDGETS,
    CALL_NOTES,
    CITIES,
    COLORS,
    LEAD_CHANNELS_B,
    LEAD_SOURCES_A,
    MODELS,
    NICK_WORDS,
    PLACEHOLDER_PHONES,
    RO_REMARKS,
    SALES_REMARKS,
    WALKIN_NAMES,
)
from .writers import CsvFeed, FileSpec, choose_broken

SALES_A = (
    "销售单号",
    "客户名称",
    "客户类型",
    "证件类型",
    "证件号码",
    "手机号码",
    "联系电话",
    "省份",
    "城市",
    "详细地址",
    "车架号",
    "车型代码",
    "车型名称",
    "颜色",
    "开票日期",
    "开票价格",
    "销售顾问",
)
LEADS_A = ("线索编号", "客户姓名", "手机号码", "意向车型", "到店日期", "线索来源", "是否试驾")
SALES_B = (
    "ORDER_NO",
    "CUST_NAME",
    "CUST_TYPE",
    "ID_NO",
    "MOBILE",
    "TEL",
    "ADDR",
    "VIN",
    "MODEL",
    "INVOICE_DATE",
    "PRICE",
    "SALES_REP",
)
LEADS_B = ("LEAD_NO", "NAME", "MOBILE", "MODEL", "VISIT_DATE", "CHANNEL", "TEST_DRIVE")
SERVICE = (
    "ro_no",
    "open_date",
    "close_date",
    "plate_no",
    "vin",
    "customer_name",
    "contact_phone",
    "mileage_km",
    "service_type",
    "labor_amount",
    "parts_amount",
    "total_amount",
    "advisor",
)
WEB = (
    "reg_id",
    "registered_at",
    "email",
    "nickname",
    "name",
    "mobile",
    "province",
    "city",
    "model_interest",
    "budget_range",
    "consent_marketing",
)
REGISTRATION_SCHEMA = pa.schema(
    [
        ("registration_id", pa.string()),
        ("vin", pa.string()),
        ("owner_name", pa.string()),
        ("owner_type", pa.string()),
        ("id_type", pa.string()),
        ("id_number", pa.string()),
        ("mobile", pa.string()),
        ("province", pa.string()),
        ("city", pa.string()),
        ("address", pa.string()),
        ("delivery_date", pa.date32()),
        ("dealer_code", pa.string()),
        ("model_code", pa.string()),
    ]
)


def obj(values) -> np.ndarray:
    """Object array from any iterable (strings stay Python strings)."""
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def iso_dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]")).astype(object)


def styled_dates(days: np.ndarray, style: np.ndarray) -> np.ndarray:
    iso = iso_dates(days)
    return obj(
        s if k == 0 else (s.replace("-", "") if k == 1 else s.replace("-", "/"))
        for s, k in zip(iso.tolist(), style.tolist(), strict=True)
    )


def month_index(days: np.ndarray, tl: Timeline) -> np.ndarray:
    y, m, _ = ymd_parts(days)
    y0, m0 = tl.months[0]
    return (y * 12 + m - 1) - (y0 * 12 + m0 - 1)


def rank_in_group(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """0-based rank of each element inside its group, ordered by key (ties by position)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), key, group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    counts = np.diff(np.r_[starts, n])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    return rank


def yyyymm(tl: Timeline, mi: int) -> str:
    y, m = tl.months[mi]
    return f"{y}{m:02d}"


@dataclass
class TruthPart:
    source: str
    record_id: np.ndarray
    owner: np.ndarray  # customer index, -1 = identifies nobody


# ---------------------------------------------------------------------- dealers


def dealer_files(
    w: World, cfg: Config, vendor: str, kind: str
) -> tuple[list[FileSpec], dict[int, int], np.ndarray]:
    tl = cfg.timeline
    d = w.dealers
    open_mi = np.maximum(month_index(d.opened, tl), 0)
    files: list[FileSpec] = []
    base: dict[int, int] = {}
    enc = "utf-8-sig" if vendor == "A" else "gbk"
    for i in np.flatnonzero(d.vendor == vendor).tolist():
        base[i] = len(files)
        for mi in range(int(open_mi[i]), len(tl.months)):
            files.append(
                FileSpec(
                    f"dealers/{d.code[i]}/{kind}_{yyyymm(tl, mi)}.csv",
                    enc,
                    bool(d.crlf[i]),
                    bool(d.total_row[i]) and kind == "sales",
                )
            )
    return files, base, open_mi


def file_index(base: dict[int, int], open_mi: np.ndarray, dealer: np.ndarray, mi: np.ndarray) -> np.ndarray:
    b = np.array([base[x] for x in dealer.tolist()], dtype=np.int64)
    return b + mi - open_mi[dealer]


def render_sales(cfg: Config, w: World) -> tuple[list[CsvFeed], TruthPart]:
    m = Messer(cfg.rng("noise.sales"), cfg.noise)
    rng = m.rng
    tl = cfg.timeline
    veh, cust, ppl, dl = w.vehicles, w.customers, w.people, w.dealers
    n = len(veh.vin)
    b = veh.buyer
    day = veh.buy_day
    comp = cust.company[b]
    name, _ = m.person_names(ppl.name[b], ppl.foreign[b], ppl.male[b])
    name[comp] = m.company_names(cust.company_name[b[comp]])
    by = ymd_parts(np.where(comp, 0, cust.birth[b]))[0]
    idno = cust.id_number[b].copy()
    ric = cust.id_kind[b] == ID_RIC
    idno[ric] = m.resident_ids(idno[ric], by[ric])
    org = comp & (rng.random(n) < 0.1)
    idno[org] = obj(f"{c[:8]}-{c[8]}" for c in cust.org_code[b[org]].tolist())
    mobile, _ = m.mobiles(ppl.mobile_at(b, day, rng))
    tel = np.where(comp, cust.company_landline[b], ppl.landline[b])
    tel = obj(
        format_phone(t, int(s)) if t and s < 8 else t
        for t, s in zip(tel.tolist(), rng.integers(0, 12, n).tolist(), strict=True)
    )
    vin = m.vins(veh.vin)
    city = cust.city[b]
    mi = month_index(day, tl)
    rank_m = rank_in_group(veh.dealer * 1000 + mi, day)
    rank_d = rank_in_group(veh.dealer, day)
    order_a = obj(f"XS{yyyymm(tl, x)}{r + 1:04d}" for x, r in zip(mi.tolist(), rank_m.tolist(), strict=True))
    order_b = obj(f"{s + r:08d}" for s, r in zip(dl.seq0[veh.dealer].tolist(), rank_d.tolist(), strict=True))
    is_a = dl.vendor[veh.dealer] == "A"
    record_no = np.where(is_a, order_a, order_b)
    record_id = obj(f"{c}:{r}" for c, r in zip(dl.code[veh.dealer].tolist(), record_no.tolist(), strict=True))
    model_code = obj(MODELS[x].code for x in veh.model.tolist())
    model_name = obj(MODELS[x].name for x in veh.model.tolist())
    feeds = []
    broken = choose_broken(rng, n, cfg.noise.bad_row)
    # vendor A
    a = np.flatnonzero(is_a)
    if len(a):
        files, base, open_mi = dealer_files(w, cfg, "A", "sales")
        prov, cty = m.province_city(city[a])
        kind = np.where(
            comp[a],
            "统一社会信用代码",
            np.where(
                cust.id_kind[b[a]] == ID_PASSPORT,
                "护照",
                np.where(veh.dealer[a] % 2 == 0, "身份证", "居民身份证"),
            ),
        )
        kind[org[a]] = "组织机构代码"
        cols = [
            order_a[a],
            name[a],
            obj(np.where(comp[a], "单位", "个人")),
            obj(kind),
            idno[a],
            mobile[a],
            tel[a],
            prov,
            cty,
            m.addresses(city[a], cust.district[b[a]], cust.street[b[a]], 0.3),
            vin[a],
            model_code[a],
            model_name[a],
            obj(COLORS[c] for c in veh.color[a].tolist()),
            iso_dates(day[a]),
            obj(f"{p:.2f}" for p in veh.price[a].tolist()),
            veh.rep[a],
        ]
        feeds.append(
            CsvFeed(
                "dealer_sales",
                SALES_A,
                cols,
                files,
                file_index(base, open_mi, veh.dealer[a], mi[a]),
                day[a] * 100000 + rank_m[a],
                record_id[a],
                b[a],
                quote_cols=(9,),
                droppable=(6, 13, 16, 7),
                extra=("备注", SALES_REMARKS),
                price=veh.price[a],
                price_col="开票价格",
                broken=broken[a],
            )
        )
    bb = np.flatnonzero(~is_a)
    if len(bb):
        files, base, open_mi = dealer_files(w, cfg, "B", "sales")
        addr = m.addresses(city[bb], cust.district[b[bb]], cust.street[b[bb]], 0.9)
        cols = [
            order_b[bb],
            name[bb],
            obj(np.where(comp[bb], "C", "P")),
            idno[bb],
            mobile[bb],
            tel[bb],
            addr,
            vin[bb],
            model_name[bb],
            styled_dates(day[bb], dl.date_style[veh.dealer[bb]]),
            obj(str(p) for p in veh.price[bb].tolist()),
            veh.rep[bb],
        ]
        feeds.append(
            CsvFeed(
                "dealer_sales",
                SALES_B,
                cols,
                files,
                file_index(base, open_mi, veh.dealer[bb], mi[bb]),
                day[bb] * 100000 + rank_d[bb],
                record_id[bb],
                b[bb],
                quote_cols=(6,),
                droppable=(5, 11),
                extra=("REMARK", SALES_REMARKS),
                broken=broken[bb],
            )
        )
    return feeds, TruthPart("dealer_sales", record_id, np.where(broken == 0, b, -1))


def render_leads(cfg: Config, w: World, ev: Events) -> tuple[list[CsvFeed], TruthPart]:
    m = Messer(cfg.rng("noise.leads"), cfg.noise)
    rng = m.rng
    tl = cfg.timeline
    ld, ppl, dl = ev.leads, w.people, w.dealers
    n = len(ld.day)
    c = ld.customer
    name, full = m.person_names(
        ppl.name[c], ppl.foreign[c], ppl.male[c], surname_only=cfg.noise.name_surname_only_lead
    )
    mobile, usable = m.mobiles(ppl.mobile_at(c, ld.day, rng), formatted=0.05)
    for i in np.flatnonzero(ld.anonymous).tolist():
        name[i] = honorific(ppl.name[c[i]], bool(ppl.male[c[i]]), bool(ppl.foreign[c[i]]))
        full[i] = False
        mobile[i] = PLACEHOLDER_PHONES[i % 2]
        usable[i] = False
    mi = month_index(ld.day, tl)
    rank_m = rank_in_group(ld.dealer * 1000 + mi, ld.day)
    rank_d = rank_in_group(ld.dealer, ld.day)
    is_a = dl.vendor[ld.dealer] == "A"
    no_a = obj(f"XL{yyyymm(tl, x)}{r + 1:04d}" for x, r in zip(mi.tolist(), rank_m.tolist(), strict=True))
    no_b = obj(f"{2 * s + r:08d}" for s, r in zip(dl.seq0[ld.dealer].tolist(), rank_d.tolist(), strict=True))
    record_id = obj(
        f"{d}:{r}"
        for d, r in zip(dl.code[ld.dealer].tolist(), np.where(is_a, no_a, no_b).tolist(), strict=True)
    )
    model_name = obj(MODELS[x].name for x in ld.model.tolist())
    owner = np.where(full | usable, c, -1)
    broken = choose_broken(rng, n, cfg.noise.bad_row)
    feeds = []
    a = np.flatnonzero(is_a)
    files, base, open_mi = dealer_files(w, cfg, "A", "leads")
    cols = [
        no_a[a],
        name[a],
        mobile[a],
        model_name[a],
        iso_dates(ld.day[a]),
        obj(LEAD_SOURCES_A[s % len(LEAD_SOURCES_A)] for s in ld.source[a].tolist()),
        obj(np.where(ld.test_drive[a], "是", "否")),
    ]
    feeds.append(
        CsvFeed(
            "dealer_leads",
            LEADS_A,
            cols,
            files,
            file_index(base, open_mi, ld.dealer[a], mi[a]),
            ld.day[a] * 100000 + rank_m[a],
            record_id[a],
            owner[a],
            droppable=(6, 5),
            broken=broken[a],
        )
    )
    bb = np.flatnonzero(~is_a)
    files, base, open_mi = dealer_files(w, cfg, "B", "leads")
    cols = [
        no_b[bb],
        name[bb],
        mobile[bb],
        model_name[bb],
        styled_dates(ld.day[bb], dl.date_style[ld.dealer[bb]]),
        obj(LEAD_CHANNELS_B[s % len(LEAD_CHANNELS_B)] for s in ld.source[bb].tolist()),
        obj(np.where(ld.test_drive[bb], "Y", "N")),
    ]
    feeds.append(
        CsvFeed(
            "dealer_leads",
            LEADS_B,
            cols,
            files,
            file_index(base, open_mi, ld.dealer[bb], mi[bb]),
            ld.day[bb] * 100000 + rank_d[bb],
            record_id[bb],
            owner[bb],
            droppable=(6, 5),
            broken=broken[bb],
        )
    )
    return feeds, TruthPart("dealer_leads", record_id, np.where(broken == 0, owner, -1))


# ---------------------------------------------------------------------- manufacturer


def render_registrations(cfg: Config, w: World) -> tuple[list[tuple[str, pa.Table]], TruthPart]:
    m = Messer(cfg.rng("noise.registrations"), cfg.noise)
    rng = m.rng
    tl = cfg.timeline
    veh, cust, ppl, dl = w.vehicles, w.customers, w.people, w.dealers
    sel = np.flatnonzero(veh.delivery_day <= tl.end)
    sel = sel[np.lexsort((sel, veh.delivery_day[sel]))]
    n = len(sel)
    b = veh.buyer[sel]
    day = veh.delivery_day[sel]
    comp = cust.company[b]
    name, _ = m.person_names(ppl.name[b], ppl.foreign[b], ppl.male[b], typo_scale=0.3)
    name[comp] = cust.company_name[b[comp]]
    by = ymd_parts(np.where(comp, 0, cust.birth[b]))[0]
    idno = cust.id_number[b].copy()
    ric = cust.id_kind[b] == ID_RIC
    idno[ric] = m.resident_ids(idno[ric], by[ric], sloppy=0.3)
    org = comp & (rng.random(n) < 0.05)
    idno[org] = cust.org_code[b[org]]
    id_type = np.where(
        cust.id_kind[b] == ID_USCC, "USCC", np.where(cust.id_kind[b] == ID_PASSPORT, "PASSPORT", "ID_CARD")
    ).astype(object)
    id_type[org] = "ORG_CODE"
    mobile, _ = m.mobiles(ppl.mobile_at(b, day, rng), formatted=0.03, typo=0.003, placeholder=0.002)
    mobile[rng.random(n) < 0.01] = None
    city = cust.city[b]
    addr = m.addresses(city, cust.district[b], cust.street[b], 0.5)
    addr[rng.random(n) < 0.01] = None
    reg_id = obj(f"VR{x:09d}" for x in (np.arange(n) + 1000).tolist())
    mi = month_index(day, tl)
    bounds = np.searchsorted(mi, np.arange(len(tl.months) + 1))
    cols = {
        "registration_id": reg_id,
        "vin": veh.vin[sel],
        "owner_name": name,
        "owner_type": obj(np.where(comp, "company", "individual")),
        "id_type": id_type,
        "id_number": idno,
        "mobile": mobile,
        "province": obj(CITIES[c].province for c in city.tolist()),
        "city": obj(CITIES[c].name for c in city.tolist()),
        "address": addr,
        "delivery_date": day.astype("datetime64[D]"),
        "dealer_code": dl.code[veh.dealer[sel]],
        "model_code": obj(MODELS[x].code for x in veh.model[sel].tolist()),
    }
    tables = []
    for k in range(len(tl.months)):
        lo, hi = bounds[k], bounds[k + 1]
        arrays = [
            pa.array(
                cols[f.name][lo:hi].tolist() if f.name != "delivery_date" else cols[f.name][lo:hi],
                type=f.type,
            )
            for f in REGISTRATION_SCHEMA
        ]
        y, mo = tl.months[k]
        tables.append(
            (
                f"manufacturer/vehicle_registrations/{y}-{mo:02d}.parquet",
                pa.Table.from_arrays(arrays, schema=REGISTRATION_SCHEMA),
            )
        )
    return tables, TruthPart("vehicle_registrations", reg_id, b)


def render_calls(cfg: Config, w: World, ev: Events) -> tuple[list[str], list[list[str]], TruthPart, int]:
    m = Messer(cfg.rng("noise.calls"), cfg.noise)
    rng = m.rng
    tl = cfg.timeline
    ca, ppl, seg, st, dl = ev.calls, w.people, w.segments, w.stations, w.dealers
    order = np.lexsort((ca.second, ca.day))
    n = len(order)
    day, sec = ca.day[order], ca.second[order]
    cust, contact, segi = ca.customer[order], ca.contact[order], ca.segment[order]
    cat, nk, namek = ca.category[order], ca.number_kind[order], ca.name_kind[order]
    c0 = np.maximum(contact, 0)
    names, full = m.person_names(ppl.name[c0], ppl.foreign[c0], ppl.male[c0])
    anon = contact < 0
    rand_sur = ppl.name[rng.integers(0, len(ppl.name), n)]
    mob, m_ok = m.mobiles(ppl.mobile_at(c0, day, rng), formatted=0.0, typo=0.003, placeholder=0.0)
    land = ppl.landline[c0]
    vin = m.vins(w.vehicles.vin[seg.vehicle[np.maximum(segi, 0)]])
    plate = m.plates(seg.plate[np.maximum(segi, 0)])
    iso = iso_dates(day)
    rank = rank_in_group(day, sec)
    call_id = obj(
        f"CC{d.replace('-', '')}{r + 1:05d}" for d, r in zip(iso.tolist(), rank.tolist(), strict=True)
    )
    owner = np.full(n, -1)
    lines_by_day: dict[int, list[str]] = {}
    hidden = ("anonymous", "unknown", "", None)
    u = rng.random((n, 8))
    nz = cfg.noise
    bad = rng.random(n) < nz.bad_row
    ok_rec = np.ones(n, dtype=bool)
    for i in range(n):
        if nk[i] == 2:
            number = hidden[int(u[i, 0] * 4)]
            usable = False
        elif nk[i] == 1:
            v = land[i]
            number = v if u[i, 0] < 0.6 else format_phone(v, 0)
            usable = True
        else:
            v = mob[i]
            usable = bool(m_ok[i])
            number = v if u[i, 0] < 0.7 else ("+86" + v if u[i, 0] < 0.9 else "0" + v)
        if anon[i]:
            caller = "" if namek[i] == 2 else honorific(rand_sur[i], u[i, 1] < 0.5, " " in rand_sur[i])
            has_name = False
        elif namek[i] == 0:
            caller, has_name = names[i], bool(full[i])
        elif namek[i] == 1:
            caller, has_name = (
                honorific(ppl.name[c0[i]], bool(ppl.male[c0[i]]), bool(ppl.foreign[c0[i]])),
                False,
            )
        else:
            caller, has_name = ("" if u[i, 1] < 0.5 else None), False
        say_vin, say_plate = bool(ca.say_vin[order[i]]), bool(ca.say_plate[order[i]])
        hh, rem = divmod(int(sec[i]), 3600)
        mm, ss = divmod(rem, 60)
        k = int(cat[i])
        category = CALL_CATEGORIES[k]
        notes = CALL_NOTES[category]
        mdl = ca.model[order[i]]
        intent = ca.intent[order[i]]
        rec = {
            "call_id": call_id[i],
            "started_at": f"{iso[i]}T{hh:02d}:{mm:02d}:{ss:02d}+08:00",
            "caller_number": number,
            "caller_name": caller,
            "vin": vin[i] if say_vin else None,
            "plate_no": plate[i] if say_plate else None,
            "category": category,
            "related_dealer_code": dl.code[ca.dealer[order[i]]] if ca.dealer[order[i]] >= 0 else None,
            "related_station_code": st.code[ca.station[order[i]]] if ca.station[order[i]] >= 0 else None,
            "model_interest": MODELS[mdl].name if mdl >= 0 else None,
            "purchase_intent": ("high", "medium", "low", None)[intent],
            "consent_marketing": bool(u[i, 2] < 0.4),
            "notes": notes[int(u[i, 3] * len(notes))],
        }
        if u[i, 4] < nz.json_null * 4:  # a few values dropped to null, a few keys missing
            key = (
                "caller_name",
                "vin",
                "plate_no",
                "model_interest",
                "notes",
                "consent_marketing",
                "related_dealer_code",
                "related_station_code",
            )[int(u[i, 5] * 8)]
            if u[i, 6] < 0.5:
                rec[key] = None
            else:
                del rec[key]
        if u[i, 7] < nz.json_missing_key * 4:
            for key in ("vin", "plate_no", "related_dealer_code", "related_station_code", "purchase_intent"):
                if key in rec and rec[key] is None:
                    del rec[key]
        line = json.dumps(rec, ensure_ascii=False)
        if bad[i]:
            line = line[: len(line) // 2]
            ok_rec[i] = False
        lines_by_day.setdefault(int(day[i]), []).append(line)
        if ok_rec[i] and cust[i] >= 0 and (has_name or usable or say_vin or say_plate):
            owner[i] = cust[i]
    rels, bodies = [], []
    for d in range(tl.start, tl.end + 1):
        s = str(np.datetime64(d, "D"))
        rels.append(f"manufacturer/call_center/{s}.jsonl")
        bodies.append(lines_by_day.get(d, []))
    return rels, bodies, TruthPart("call_center", call_id, owner), int((~ok_rec).sum())


def render_web(cfg: Config, w: World, ev: Events) -> tuple[CsvFeed, TruthPart]:
    m = Messer(cfg.rng("noise.web"), cfg.noise)
    rng = m.rng
    wb, ppl, cust = ev.web, w.people, w.customers
    order = np.lexsort((wb.second, wb.day))
    n = len(order)
    c = wb.customer[order]
    c0 = np.maximum(c, 0)
    test = c < 0
    day, sec = wb.day[order], wb.second[order]
    ts = day.astype("datetime64[D]") + sec.astype("timedelta64[s]")
    stamp = obj(s.replace("T", " ") for s in np.datetime_as_string(ts, unit="s").tolist())
    reg_id = obj(f"W{x:08d}" for x in (np.arange(n) + 1).tolist())
    cn_names, _ = m.person_names(ppl.name[c0], ppl.foreign[c0], ppl.male[c0])
    u = rng.random((n, 6))
    name = obj(
        cn_names[i]
        if u[i, 0] < 0.35
        else (pinyin_forms(ppl.name[c0[i]], bool(ppl.foreign[c0[i]]), rng) if u[i, 0] < 0.8 else "")
        for i in range(n)
    )
    mobile, _ = m.mobiles(ppl.mobile_at(c0, day, rng), formatted=0.25)
    mobile[u[:, 1] < 0.12] = ""
    email = cust.email[c0].copy()
    upper = u[:, 2] < 0.03
    email[upper] = obj(e.upper() for e in email[upper].tolist())
    nick = obj(nickname(rng, ppl.surname[c0[i]]) for i in range(n))
    prov = obj(CITIES[x].province for x in cust.city[c0].tolist())
    city = obj(CITIES[x].name for x in cust.city[c0].tolist())
    empty_place = u[:, 3] < 0.15
    prov[empty_place] = ""
    city[empty_place] = ""
    for i in np.flatnonzero(test).tolist():
        k = int(u[i, 4] * 4)
        name[i] = ("test", "测试", "aaa", "")[k]
        nick[i] = ("test", "测试一下", "asdf", "qwe")[k]
        email[i] = ("test@test.com", "", "123@123.com", "a@a.a")[int(u[i, 5] * 4)]
        mobile[i] = ("13800000000", "11111111111", "", "12345678901")[int(u[i, 5] * 4)]
        prov[i] = ""
        city[i] = ""
    cols = [
        reg_id,
        stamp,
        email,
        nick,
        name,
        mobile,
        prov,
        city,
        obj(MODELS[x].name for x in wb.model[order].tolist()),
        obj(BUDGETS[x] for x in wb.budget[order].tolist()),
        obj(np.where(wb.consent[order], "true", "false")),
    ]
    broken = choose_broken(rng, n, cfg.noise.bad_row)
    owner = np.where(test, -1, c)
    feed = CsvFeed(
        "web_registrations",
        WEB,
        cols,
        [FileSpec("manufacturer/web_registrations.csv", "utf-8")],
        np.zeros(n, dtype=np.int64),
        np.arange(n),
        reg_id,
        owner,
        quote_cols=(3, 4),
        broken=broken,
    )
    return feed, TruthPart("web_registrations", reg_id, np.where(broken == 0, owner, -1))


def nickname(rng: np.random.Generator, surname: str) -> str:
    k = int(rng.integers(0, 5))
    w = NICK_WORDS[int(rng.integers(0, len(NICK_WORDS)))]
    if k == 0:
        return f"{w}{surname}"
    if k == 1:
        return f"user_{int(rng.integers(100000, 999999))}"
    if k == 2:
        return f"{w}{int(rng.integers(1, 99))}"
    if k == 3:
        return f"{surname}{w}"
    return f"{w},{w}"  # a comma in a nickname: quoted in the CSV


# ---------------------------------------------------------------------- repair shops


def render_service(cfg: Config, w: World, ev: Events) -> tuple[CsvFeed, TruthPart]:
    m = Messer(cfg.rng("noise.service"), cfg.noise)
    rng = m.rng
    tl = cfg.timeline
    so, ppl, seg, st, cust = ev.service, w.people, w.segments, w.stations, w.customers
    n = len(so.day)
    walk = so.segment < 0
    s0 = np.maximum(so.segment, 0)
    c0 = np.maximum(so.contact, 0)
    owner_c = seg.owner[s0]
    name, full = m.person_names(ppl.name[c0], ppl.foreign[c0], ppl.male[c0], surname_only=0.02)
    cn = so.company_named
    name[cn] = m.company_names(cust.company_name[owner_c[cn]])
    full[cn] = True
    phone_src = np.where(cn, ppl.mobile1[owner_c], ppl.mobile_at(c0, so.day, rng))
    land = ppl.landline[c0]
    use_land = (rng.random(n) < 0.06) & np.array([bool(x) for x in land.tolist()]) & ~cn
    phone_src = np.where(use_land, land, phone_src)
    phone, usable = m.mobiles(phone_src, formatted=0.08, placeholder=0.015)
    plate = m.plates(seg.plate[s0])
    no_plate = rng.random(n) < 0.03
    plate[no_plate] = ""
    vin = m.vins(w.vehicles.vin[seg.vehicle[s0]], blank=cfg.noise.ro_vin_blank, last6=cfg.noise.ro_vin_last6)
    wi = np.flatnonzero(walk)
    name[wi] = obj(WALKIN_NAMES[k] for k in rng.integers(0, len(WALKIN_NAMES), len(wi)).tolist())
    phone[wi] = obj(
        ("13800000000", "11111111111", "", "00000000000", "0")[k]
        for k in rng.integers(0, 5, len(wi)).tolist()
    )
    full[wi] = False
    usable[wi] = False
    plate[wi] = ""
    vin[wi] = ""
    full_vin = np.array([len(v) == 17 for v in vin.tolist()], dtype=bool)
    identifies = (full | usable | (plate != "") | full_vin) & ~walk
    owner = np.where(identifies, owner_c, -1)
    # record ids
    mi = month_index(so.day, tl)
    rank_m = rank_in_group(so.station * 1000 + mi, so.day)
    rank_s = rank_in_group(so.station, so.day)
    style = st.ro_style[so.station]
    ro = obj(
        f"RO{yyyymm(tl, x)}{r + 1:05d}"
        if k == 0
        else (f"{yyyymm(tl, x)[2:]}{r + 1:05d}" if k == 1 else f"WX{s + q:08d}")
        for x, r, k, s, q in zip(
            mi.tolist(),
            rank_m.tolist(),
            style.tolist(),
            st.seq0[so.station].tolist(),
            rank_s.tolist(),
            strict=True,
        )
    )
    record_id = obj(f"{c}:{r}" for c, r in zip(st.code[so.station].tolist(), ro.tolist(), strict=True))
    ds = st.date_style[so.station]
    open_s = styled_dates(so.day, ds)
    close_s = styled_dates(so.day + np.maximum(so.close_in, 0), ds)
    close_s[so.close_in < 0] = ""
    free = np.isin(so.stype, (3, 4))
    labor = np.where(free, 0.0, so.labor)
    parts = np.where(free, 0.0, so.parts)
    adv = obj(
        st.advisors[s][int(x * len(st.advisors[s]))]
        for s, x in zip(so.station.tolist(), rng.random(n).tolist(), strict=True)
    )
    cols = [
        ro,
        open_s,
        close_s,
        plate,
        vin,
        name,
        phone,
        obj(str(k) for k in so.mileage.tolist()),
        obj(SERVICE_TYPES[t] for t in so.stype.tolist()),
        obj(f"{x:.2f}" for x in labor.tolist()),
        obj(f"{x:.2f}" for x in parts.tolist()),
        obj(f"{x:.2f}" for x in (labor + parts).tolist()),
        adv,
    ]
    files: list[FileSpec] = []
    for s in range(len(st.code)):
        enc = "gbk" if st.gbk[s] else ("utf-8-sig" if st.bom[s] else "utf-8")
        for k in range(len(tl.months)):
            files.append(
                FileSpec(
                    f"repair_shops/{st.code[s]}/service_orders_{yyyymm(tl, k)}.csv", enc, bool(st.crlf[s])
                )
            )
    file_of = so.station * len(tl.months) + mi
    broken = choose_broken(rng, n, cfg.noise.bad_row)
    feed = CsvFeed(
        "service_orders",
        SERVICE,
        cols,
        files,
        file_of,
        so.day * 100000 + rank_m,
        record_id,
        owner,
        quote_cols=(5,),
        droppable=(12, 2, 10),
        extra=("remark", RO_REMARKS),
        broken=broken,
    )
    return feed, TruthPart("service_orders", record_id, np.where(broken == 0, owner, -1))


def registry_rows(w: World) -> tuple[list[list[str]], list[list[str]]]:
    d, s = w.dealers, w.stations
    dealers = [
        [
            d.code[i],
            d.name[i],
            CITIES[d.city[i]].province,
            CITIES[d.city[i]].name,
            d.vendor[i],
            str(np.datetime64(int(d.opened[i]), "D")),
        ]
        for i in range(len(d.code))
    ]
    stations = [
        [
            s.code[i],
            s.name[i],
            "authorized" if s.authorized[i] else "independent",
            CITIES[s.city[i]].province,
            CITIES[s.city[i]].name,
            "gbk" if s.gbk[i] else "utf-8",
        ]
        for i in range(len(s.code))
    ]
    return dealers, stations
