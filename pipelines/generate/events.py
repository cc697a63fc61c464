"""What happens: leads, service visits, calls and web sign-ups (sales follow from vehicles)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Config
from .population import ROLE_PROSPECT, World, nearest
from .reference import MODELS

SERVICE_TYPES = ("保养", "维修", "钣喷", "保修", "召回")
MAINT, REPAIR, BODY, WARRANTY, RECALL = range(5)
CALL_CATEGORIES = ("inquiry", "complaint", "lead", "service_booking", "other")
INQ, COMPLAINT, LEAD, BOOKING, OTHER = range(5)


@dataclass
class Leads:
    dealer: np.ndarray
    day: np.ndarray
    customer: np.ndarray
    model: np.ndarray
    source: np.ndarray  # index into the vendor's source list
    test_drive: np.ndarray
    anonymous: np.ndarray  # surname only and a placeholder phone: identifies nobody


@dataclass
class ServiceOrders:
    station: np.ndarray
    day: np.ndarray
    close_in: np.ndarray  # days until closed, -1 if not closed / not recorded
    segment: np.ndarray  # -1 for walk-ins
    contact: np.ndarray  # people index, -1 for walk-ins
    company_named: np.ndarray  # the fleet owner's company name is on the order
    stype: np.ndarray
    mileage: np.ndarray
    labor: np.ndarray
    parts: np.ndarray


@dataclass
class Calls:
    day: np.ndarray
    second: np.ndarray
    customer: np.ndarray  # -1: an anonymous caller nobody can be told
    contact: np.ndarray  # people index of the caller, -1 if anonymous
    segment: np.ndarray  # vehicle period the call is about, -1 if none
    category: np.ndarray
    number_kind: np.ndarray  # 0 mobile, 1 landline, 2 hidden
    name_kind: np.ndarray  # 0 full, 1 surname + honorific, 2 none
    say_vin: np.ndarray
    say_plate: np.ndarray
    dealer: np.ndarray  # related dealer or -1
    station: np.ndarray  # related station or -1
    model: np.ndarray  # -1 if none
    intent: np.ndarray  # 0 high, 1 medium, 2 low, 3 null


@dataclass
class WebSignups:
    day: np.ndarray
    second: np.ndarray
    customer: np.ndarray  # -1 for test sign-ups
    model: np.ndarray
    budget: np.ndarray
    consent: np.ndarray


@dataclass
class Events:
    leads: Leads
    service: ServiceOrders
    calls: Calls
    web: WebSignups
    prospect_channels: np.ndarray  # (n_customers, 3) bool: leads, calls, web


def _model_choice(rng: np.random.Generator, n: int) -> np.ndarray:
    w = np.array([m.person_weight for m in MODELS])
    return rng.choice(len(MODELS), n, p=w / w.sum())


def make_leads(cfg: Config, w: World, channels: np.ndarray) -> Leads:
    rng = cfg.rng("leads")
    tl = cfg.timeline
    veh, cust, dealers = w.vehicles, w.customers, w.dealers
    person_sale = np.flatnonzero(~veh.fleet)
    nlead = rng.choice(4, len(person_sale), p=[0.2, 0.55, 0.2, 0.05])
    d_parts, day_parts, c_parts, m_parts = [], [], [], []
    for k in range(3):
        sel = person_sale[nlead > k]
        back = rng.integers(0, 75, len(sel)) + k * rng.integers(3, 30, len(sel))
        same = rng.random(len(sel)) < (0.75 if k == 0 else 0.5)
        other = nearest(np.ones(len(dealers.code), dtype=bool), dealers.city, cust.city[veh.buyer[sel]], rng)
        d_parts.append(np.where(same, veh.dealer[sel], other))
        day_parts.append(veh.buy_day[sel] - back)
        c_parts.append(veh.buyer[sel])
        m_parts.append(np.where(rng.random(len(sel)) < 0.8, veh.model[sel], _model_choice(rng, len(sel))))
    # prospects who walk into showrooms
    pros = np.flatnonzero(channels[:, 0])
    n_p = rng.choice(3, len(pros), p=[0.6, 0.3, 0.1]) + 1
    rep = np.repeat(pros, n_p)
    d_parts.append(nearest(np.ones(len(dealers.code), dtype=bool), dealers.city, cust.city[rep], rng))
    first = np.repeat(rng.integers(tl.start, tl.end + 1, len(pros)), n_p)
    day_parts.append(first + rng.integers(0, 120, len(rep)))
    c_parts.append(rep)
    m_parts.append(_model_choice(rng, len(rep)))
    dealer = np.concatenate(d_parts)
    day = np.concatenate(day_parts)
    customer = np.concatenate(c_parts)
    model = np.concatenate(m_parts)
    ok = (day >= tl.start) & (day <= tl.end) & (day >= dealers.opened[dealer])
    dealer, day, customer, model = dealer[ok], day[ok], customer[ok], model[ok]
    n = len(day)
    return Leads(
        dealer, day, customer, model, rng.integers(0, 100, n), rng.random(n) < 0.45, rng.random(n) < 0.004
    )


def make_service(cfg: Config, w: World) -> ServiceOrders:
    rng = cfg.rng("service")
    tl = cfg.timeline
    seg, veh, cust, st = w.segments, w.vehicles, w.customers, w.stations
    ns = len(seg.vehicle)
    fleet = cust.company[seg.owner]
    # preferred stations: an authorised one, and the independent garage of defectors
    auth = nearest(st.authorized, st.city, cust.city[seg.owner], rng)
    indep = nearest(~st.authorized, st.city, cust.city[seg.owner], rng)
    trait = cust.defector_trait[seg.owner] & ~fleet
    defect_day = np.where(
        seg.second_hand & (rng.random(ns) < 0.5),
        seg.start,
        veh.buy_day[seg.vehicle] + rng.integers(800, 1400, ns),
    )
    defect_day = np.where(trait, defect_day, np.iinfo(np.int64).max // 4)
    stop = np.minimum(seg.stop, tl.end)
    # scheduled maintenance
    K = 16
    lo, hi = np.where(fleet, 90, 160), np.where(fleet, 200, 370)
    first = seg.start + np.where(seg.second_hand, rng.integers(7, 90, ns), rng.integers(60, 200, ns))
    steps = rng.integers(0, 1 << 30, (ns, K)) % (hi - lo)[:, None] + lo[:, None]
    steps[:, 0] = 0
    sched = first[:, None] + np.cumsum(steps, axis=1)
    keep = (sched <= stop[:, None]) & (rng.random((ns, K)) > 0.08)
    s_seg, s_k = np.nonzero(keep)
    s_day = sched[s_seg, s_k]
    s_type = np.where(rng.random(len(s_seg)) < 0.9, MAINT, REPAIR)
    # unscheduled repairs and body work
    K2 = 6
    mean_gap = np.where(fleet, 420.0, 800.0)
    gaps = rng.exponential(1.0, (ns, K2)) * mean_gap[:, None] + 20
    uns = seg.start[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)
    u_seg, u_k = np.nonzero(uns <= stop[:, None])
    u_day = uns[u_seg, u_k]
    u_type = np.where(rng.random(len(u_seg)) < 0.6, REPAIR, BODY)
    seg_i = np.concatenate([s_seg, u_seg])
    day = np.concatenate([s_day, u_day])
    stype = np.concatenate([s_type, u_type])
    # recall campaigns: a model and build years, called in on one day
    rc_seg, rc_day = [], []
    n_campaigns = 3
    for _ in range(n_campaigns):
        m = int(rng.integers(0, len(MODELS)))
        cday = int(rng.integers(tl.start + 200, max(tl.start + 201, tl.end - 60)))
        hit = (
            (veh.model[seg.vehicle] == m) & (seg.start <= cday) & (stop >= cday + 1) & (rng.random(ns) < 0.6)
        )
        idx = np.flatnonzero(hit)
        d = cday + rng.integers(0, 180, len(idx))
        ok = d <= stop[idx]
        rc_seg.append(idx[ok])
        rc_day.append(d[ok])
    seg_i = np.concatenate([seg_i, *rc_seg])
    day = np.concatenate([day, *rc_day])
    stype = np.concatenate([stype, np.full(sum(len(x) for x in rc_seg), RECALL)])
    n = len(day)
    # where
    at_indep = day >= defect_day[seg_i]
    stray = (~at_indep) & np.isin(stype, (REPAIR, BODY)) & (rng.random(n) < 0.05)
    at_indep |= stray
    at_indep &= stype != RECALL
    station = np.where(at_indep, indep[seg_i], auth[seg_i])
    # warranty: repairs at authorised stations within 3 years / 100k km
    age = day - veh.buy_day[seg.vehicle[seg_i]]
    km = seg.km0[seg_i] + (day - seg.start[seg_i]) * cust.km_rate[seg.owner[seg_i]] + rng.normal(0, 60, n)
    km = np.maximum(np.round(km), 5 + rng.integers(0, 50, n)).astype(np.int64)
    warranty = (stype == REPAIR) & ~at_indep & (age < 3 * 365) & (km < 100_000) & (rng.random(n) < 0.4)
    stype = np.where(warranty, WARRANTY, stype)
    # who brings the car
    owner = seg.owner[seg_i]
    contact = owner.copy()
    company_named = np.zeros(n, dtype=bool)
    fl = np.flatnonzero(fleet[seg_i])
    u = rng.random(len(fl))
    for j, i in enumerate(fl.tolist()):
        v = seg.vehicle[seg_i[i]]
        drv = w.drivers_of[owner[i]]
        if u[j] < 0.75:
            contact[i] = veh.driver[v]
        elif u[j] < 0.9:
            contact[i] = drv[int(u[j] * 1000) % len(drv)]
        else:
            company_named[i] = True  # company name with the fleet manager's phone
    # walk-ins with no name and placeholder phones
    n_walk = max(2, int(round(n * cfg.behaviour.walkin_share)))
    w_station = rng.choice(
        len(st.code), n_walk, p=(np.where(st.authorized, 1.0, 3.0) / np.where(st.authorized, 1.0, 3.0).sum())
    )
    w_day = rng.integers(tl.start, tl.end + 1, n_walk)
    w_type = rng.choice([MAINT, REPAIR, BODY], n_walk, p=[0.4, 0.4, 0.2])
    station = np.concatenate([station, w_station])
    day = np.concatenate([day, w_day])
    stype = np.concatenate([stype, w_type])
    seg_i = np.concatenate([seg_i, np.full(n_walk, -1)])
    contact = np.concatenate([contact, np.full(n_walk, -1)])
    company_named = np.concatenate([company_named, np.zeros(n_walk, dtype=bool)])
    km = np.concatenate([km, rng.integers(3_000, 180_000, n_walk)])
    n = len(day)
    # money
    labor = np.zeros(n)
    parts = np.zeros(n)
    for t, (l_lo, l_hi, p_lo, p_hi) in {
        MAINT: (120, 450, 250, 1100),
        REPAIR: (200, 2200, 0, 5200),
        BODY: (400, 3200, 150, 4200),
    }.items():
        m = stype == t
        labor[m] = rng.uniform(l_lo, l_hi, int(m.sum()))
        parts[m] = rng.uniform(p_lo, p_hi, int(m.sum()))
    labor = np.round(labor)
    parts = np.round(parts, 1)
    close_in = np.where(np.isin(stype, (MAINT, RECALL)), rng.integers(0, 2, n), rng.integers(0, 7, n))
    close_in[rng.random(n) < 0.03] = -1
    close_in[day + np.maximum(close_in, 0) > tl.end] = -1
    return ServiceOrders(station, day, close_in, seg_i, contact, company_named, stype, km, labor, parts)


def make_calls(cfg: Config, w: World, channels: np.ndarray) -> Calls:
    rng = cfg.rng("calls")
    tl = cfg.timeline
    seg, veh, cust, st = w.segments, w.vehicles, w.customers, w.stations
    stop = np.minimum(seg.stop, tl.end)
    years = (stop - seg.start + 1) / 365.25
    k = rng.poisson(cfg.behaviour.calls_per_owner_year * years)
    o_seg = np.repeat(np.arange(len(seg.vehicle)), k)
    o_day = seg.start[o_seg] + (rng.random(len(o_seg)) * (stop[o_seg] - seg.start[o_seg] + 1)).astype(
        np.int64
    )
    o_cat = rng.choice([BOOKING, INQ, COMPLAINT, OTHER], len(o_seg), p=[0.4, 0.3, 0.2, 0.1])
    o_cust = seg.owner[o_seg]
    o_contact = o_cust.copy()
    fl = cust.company[o_cust]
    o_contact[fl] = veh.driver[seg.vehicle[o_seg[fl]]]
    # prospects and buyers before their purchase
    pros = np.flatnonzero(channels[:, 1])
    n_p = rng.choice(2, len(pros), p=[0.7, 0.3]) + 1
    p_cust = np.repeat(pros, n_p)
    p_day = rng.integers(tl.start, tl.end + 1, len(p_cust))
    pre = np.flatnonzero((~veh.fleet) & (rng.random(len(veh.vin)) < 0.15))
    b_cust = veh.buyer[pre]
    b_day = veh.buy_day[pre] - rng.integers(5, 90, len(pre))
    l_cust = np.concatenate([p_cust, b_cust])
    l_day = np.concatenate([p_day, b_day])
    l_cat = np.where(rng.random(len(l_cust)) < 0.65, LEAD, INQ)
    okl = (l_day >= tl.start) & (l_day <= tl.end)
    l_cust, l_day, l_cat = l_cust[okl], l_day[okl], l_cat[okl]
    # anonymous callers
    n_known = len(o_seg) + len(l_cust)
    share = cfg.behaviour.anonymous_call_share
    n_anon = max(3, int(round(n_known * share / (1 - share))))
    a_day = rng.integers(tl.start, tl.end + 1, n_anon)
    a_cat = rng.choice([INQ, OTHER, COMPLAINT], n_anon, p=[0.5, 0.4, 0.1])
    day = np.concatenate([o_day, l_day, a_day])
    n = len(day)
    customer = np.concatenate([o_cust, l_cust, np.full(n_anon, -1)])
    contact = np.concatenate([o_contact, l_cust, np.full(n_anon, -1)])
    segment = np.concatenate([o_seg, np.full(len(l_cust) + n_anon, -1)])
    category = np.concatenate([o_cat, l_cat, a_cat])
    u = rng.random(n)
    has_land = np.array([bool(x) for x in w.people.landline[np.maximum(contact, 0)].tolist()])
    number_kind = np.where(u < 0.08, 2, np.where((u < 0.18) & has_land, 1, 0))
    number_kind[customer < 0] = 2
    v = rng.random(n)
    name_kind = np.where(v < cfg.noise.name_surname_only_call, 1, np.where(v < 0.42, 2, 0))
    name_kind[(customer < 0) & (v < 0.5)] = 2
    name_kind[(customer < 0) & (v >= 0.5)] = 1
    about = segment >= 0
    say_vin = about & (rng.random(n) < 0.25)
    say_plate = about & (rng.random(n) < 0.45)
    dealer = np.full(n, -1)
    station = np.full(n, -1)
    vi = seg.vehicle[np.maximum(segment, 0)]
    auth = nearest(st.authorized, st.city, cust.city[np.maximum(customer, 0)], rng)
    comp = category == COMPLAINT
    to_dealer = comp & about & (rng.random(n) < 0.5)
    dealer[to_dealer] = veh.dealer[vi[to_dealer]]
    to_station = (comp & ~to_dealer & (customer >= 0)) | ((category == BOOKING) & (rng.random(n) < 0.8))
    station[to_station] = auth[to_station]
    anon_complaint = comp & (customer < 0)
    dealer[anon_complaint] = rng.integers(0, len(w.dealers.code), int(anon_complaint.sum()))
    station[anon_complaint] = -1
    model = np.where(np.isin(category, (LEAD, INQ)) & (rng.random(n) < 0.8), _model_choice(rng, n), -1)
    intent = np.where(category == LEAD, rng.choice(4, n, p=[0.3, 0.4, 0.2, 0.1]), 3)
    second = rng.integers(8 * 3600 + 1800, 21 * 3600, n)
    return Calls(
        day,
        second,
        customer,
        contact,
        segment,
        category,
        number_kind,
        name_kind,
        say_vin,
        say_plate,
        dealer,
        station,
        model,
        intent,
    )


def make_web(cfg: Config, w: World, channels: np.ndarray) -> WebSignups:
    rng = cfg.rng("web")
    tl = cfg.timeline
    veh = w.vehicles
    pros = np.flatnonzero(channels[:, 2])
    n_p = np.where(rng.random(len(pros)) < 0.15, 2, 1)
    p_cust = np.repeat(pros, n_p)
    p_day = rng.integers(tl.start, tl.end + 1, len(p_cust))
    firsts = {}
    for v in np.flatnonzero(~veh.fleet).tolist():
        firsts.setdefault(int(veh.buyer[v]), int(veh.buy_day[v]))
    buyers = np.array(list(firsts.keys()), dtype=np.int64)
    sel = buyers[rng.random(len(buyers)) < 0.25]
    b_day = np.array([firsts[b] for b in sel.tolist()], dtype=np.int64) - rng.integers(0, 150, len(sel))
    customer = np.concatenate([p_cust, sel])
    day = np.concatenate([p_day, b_day])
    ok = day >= tl.start
    customer, day = customer[ok], day[ok]
    share = cfg.behaviour.web_test_share
    n_test = max(1, int(round(len(day) * share / (1 - share))))
    customer = np.concatenate([customer, np.full(n_test, -1)])
    day = np.concatenate([day, rng.integers(tl.start, tl.end + 1, n_test)])
    n = len(day)
    return WebSignups(
        day,
        rng.integers(0, 86400, n),
        customer,
        _model_choice(rng, n),
        rng.integers(0, 5, n),
        rng.random(n) < 0.55,
    )


def prospect_channels(cfg: Config, w: World) -> np.ndarray:
    rng = cfg.rng("channels")
    n = len(w.customers.role)
    ch = rng.random((n, 3)) < np.array([0.6, 0.35, 0.4])
    none = ~ch.any(axis=1)
    ch[none, 0] = True
    ch[w.customers.role != ROLE_PROSPECT] = False
    return ch


def make_events(cfg: Config, w: World) -> Events:
    ch = prospect_channels(cfg, w)
    return Events(
        make_leads(cfg, w, ch), make_service(cfg, w), make_calls(cfg, w, ch), make_web(cfg, w, ch), ch
    )
