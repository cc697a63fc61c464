"""Who exists: dealers, stations, persons, companies (with drivers), vehicles and their owners."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ids
from .config import TODAY, Config
from .reference import (
    CITIES,
    COLORS,
    COMPANY_BRANDS,
    COMPANY_SUFFIXES,
    COMPANY_TRADES,
    DEALER_SUFFIX,
    EMAIL_DOMAINS,
    FEMALE_GIVEN_1,
    FEMALE_GIVEN_2,
    LATIN_FIRST_F,
    LATIN_FIRST_M,
    LATIN_LAST,
    MALE_GIVEN_1,
    MALE_GIVEN_2,
    MODELS,
    PLACEHOLDER_PHONES,
    STATION_AUTH_SUFFIX,
    STATION_INDEP_PATTERNS,
    STREETS,
    SURNAMES,
    VIN_PLANTS,
    VIN_WMI,
    VIN_YEAR_CODES,
)

ROLE_BUYER, ROLE_PROSPECT, ROLE_USED_ONLY, ROLE_COMPANY = 0, 1, 2, 3
ID_RIC, ID_PASSPORT, ID_USCC = 0, 1, 2
MOBILE_PREFIXES = (
    130,
    131,
    132,
    133,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    173,
    176,
    177,
    180,
    181,
    182,
    183,
    185,
    186,
    187,
    188,
    189,
    191,
    198,
    199,
)
COMPLEXES = (
    "阳光花园",
    "金色家园",
    "锦绣苑",
    "翠湖天地",
    "世纪新城",
    "幸福里",
    "和平小区",
    "绿地国际",
    "万科城",
    "碧桂园",
    "滨江花园",
    "御景湾",
)
NO_DAY = np.iinfo(np.int64).max // 4
# Draws of a new company name before a used-up name space (a large city at about 1M customers) gets a branch.
COMPANY_NAME_ATTEMPTS = 50
VIN_SERIALS = 900_000  # six-digit production numbers, 100000 to 999999


def zipf_p(n: int, s: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def pick(rng: np.random.Generator, options: tuple | list, n: int, p: np.ndarray | None = None) -> np.ndarray:
    arr = np.empty(len(options), dtype=object)
    arr[:] = list(options)
    return arr[rng.choice(len(options), size=n, p=p)]


def city_weights() -> np.ndarray:
    w = np.array([c.weight for c in CITIES])
    return w / w.sum()


@dataclass
class People:
    """Anyone with a name and a phone: persons, fleet managers, drivers."""

    surname: np.ndarray
    given: np.ndarray
    name: np.ndarray
    male: np.ndarray
    foreign: np.ndarray
    latin_first: np.ndarray
    latin_last: np.ndarray
    mobile1: np.ndarray
    mobile2: np.ndarray
    switch_day: np.ndarray  # from this day on mobile2 replaces mobile1 (phone_mode 1)
    phone_mode: np.ndarray  # 0 one number, 1 changed number, 2 two numbers
    landline: np.ndarray

    def mobile_at(self, idx: np.ndarray, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mode = self.phone_mode[idx]
        use2 = ((mode == 1) & (days >= self.switch_day[idx])) | ((mode == 2) & (rng.random(len(idx)) < 0.35))
        return np.where(use2, self.mobile2[idx], self.mobile1[idx])


@dataclass
class Dealers:
    code: np.ndarray
    name: np.ndarray
    city: np.ndarray
    vendor: np.ndarray
    opened: np.ndarray
    date_style: np.ndarray  # 0 YYYY-MM-DD, 1 YYYYMMDD, 2 YYYY/MM/DD
    crlf: np.ndarray
    total_row: np.ndarray
    reps: list[np.ndarray]
    seq0: np.ndarray  # vendor B counters start here (records before the window)


@dataclass
class Stations:
    code: np.ndarray
    name: np.ndarray
    authorized: np.ndarray
    city: np.ndarray
    gbk: np.ndarray
    bom: np.ndarray
    crlf: np.ndarray
    date_style: np.ndarray
    ro_style: np.ndarray
    advisors: list[np.ndarray]
    seq0: np.ndarray


@dataclass
class Customers:
    pid: np.ndarray
    company: np.ndarray  # bool
    company_name: np.ndarray
    role: np.ndarray
    id_kind: np.ndarray
    id_number: np.ndarray
    org_code: np.ndarray
    birth: np.ndarray  # days; NO_DAY for companies
    city: np.ndarray
    district: np.ndarray
    street: np.ndarray
    email: np.ndarray
    household: np.ndarray  # -1 or household number
    defector_trait: np.ndarray
    km_rate: np.ndarray  # km per day
    company_landline: np.ndarray
    fleet_size: np.ndarray  # per customer: vehicles a company will buy (0 for persons)


@dataclass
class Vehicles:
    vin: np.ndarray
    model: np.ndarray
    color: np.ndarray
    buyer: np.ndarray
    buy_day: np.ndarray
    delivery_day: np.ndarray
    dealer: np.ndarray
    price: np.ndarray
    rep: np.ndarray
    fleet: np.ndarray
    driver: np.ndarray  # primary driver (people index) for fleet cars, else the buyer
    resale_day: np.ndarray  # NO_DAY if never resold
    new_owner: np.ndarray  # -1 if never resold


@dataclass
class Segments:
    """One row per (vehicle, owner) period: the true ownership history."""

    vehicle: np.ndarray
    owner: np.ndarray
    start: np.ndarray
    stop: np.ndarray  # last day owned (inclusive); timeline end while still owned
    current: np.ndarray  # still owned at the end of the window
    plate: np.ndarray
    km0: np.ndarray  # odometer at the start of the period
    second_hand: np.ndarray


@dataclass
class World:
    people: People
    customers: Customers
    drivers_of: list[np.ndarray]  # per customer: people indices of fleet drivers
    dealers: Dealers
    stations: Stations
    vehicles: Vehicles
    segments: Segments


# ---------------------------------------------------------------- people


def make_names(rng: np.random.Generator, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(male)
    sur = pick(
        rng,
        [s for s, _, _ in SURNAMES],
        n,
        np.array([w for _, _, w in SURNAMES]) / sum(w for _, _, w in SURNAMES),
    )
    given = np.empty(n, dtype=object)
    single = rng.random(n) < 0.3
    for is_m, one, two in ((True, MALE_GIVEN_1, MALE_GIVEN_2), (False, FEMALE_GIVEN_1, FEMALE_GIVEN_2)):
        m1 = (male == is_m) & single
        m2 = (male == is_m) & ~single
        given[m1] = pick(rng, one, int(m1.sum()), zipf_p(len(one), 0.8))
        given[m2] = pick(rng, two, int(m2.sum()), zipf_p(len(two), 0.5))
    return sur, given


def unique_numbers(rng: np.random.Generator, n: int, draw, taken: set[int] | None = None) -> np.ndarray:
    """Draw n distinct int64 values with draw(rng, k); stable for a given rng state."""
    taken = set() if taken is None else taken
    out = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        cand = draw(rng, n - filled)
        for v in cand.tolist():
            if v not in taken:
                taken.add(v)
                out[filled] = v
                filled += 1
                if filled == n:
                    break
    return out


def draw_mobiles(rng: np.random.Generator, k: int) -> np.ndarray:
    pre = np.array(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), k)]
    return pre * 10**8 + rng.integers(0, 10**8, k)


def make_people(
    cfg: Config,
    n_persons: int,
    n_extra: int,
    household_pairs: np.ndarray,
    person_male: np.ndarray,
    foreign: np.ndarray,
) -> tuple[People, np.ndarray]:
    rng = cfg.rng("people")
    n = n_persons + n_extra
    male = np.concatenate([person_male, rng.random(n_extra) < 0.8])
    sur, given = make_names(rng, male)
    foreign_all = np.concatenate([foreign, np.zeros(n_extra, dtype=bool)])
    lf = np.where(male, pick(rng, LATIN_FIRST_M, n), pick(rng, LATIN_FIRST_F, n))
    ll = pick(rng, LATIN_LAST, n)
    name = np.array([s + g for s, g in zip(sur.tolist(), given.tolist(), strict=True)], dtype=object)
    name[foreign_all] = [f"{a} {b}" for a, b in zip(lf[foreign_all], ll[foreign_all], strict=True)]
    taken = {int(p) for p in PLACEHOLDER_PHONES if len(p) == 11}
    mob = unique_numbers(rng, 2 * n, draw_mobiles, taken).astype(str).astype(object)
    mobile1, mobile2 = mob[:n].copy(), mob[n:].copy()
    b = cfg.behaviour
    u = rng.random(n)
    mode = np.where(
        u < b.changed_mobile_share, 1, np.where(u < b.changed_mobile_share + b.second_mobile_share, 2, 0)
    )
    tl = cfg.timeline
    margin = min(60, tl.n_days // 4)
    switch = rng.integers(tl.start + margin, max(tl.start + margin + 1, tl.end - margin), n)
    has_land = rng.random(n) < b.landline_share
    has_land[n_persons:] = False
    landline = np.full(n, "", dtype=object)
    # households: the spouse uses the head's mobile and landline
    heads, spouses = household_pairs[:, 0], household_pairs[:, 1]
    mobile1[spouses] = mobile1[heads]
    mode[heads] = 0
    mode[spouses] = 0
    has_land[spouses] = has_land[heads]
    return People(
        sur, given, name, male, foreign_all, lf, ll, mobile1, mobile2, switch, mode, landline
    ), has_land


def assign_landlines(
    rng: np.random.Generator,
    people: People,
    has_land: np.ndarray,
    city: np.ndarray,
    household_pairs: np.ndarray,
) -> None:
    idx = np.flatnonzero(has_land)
    nums = unique_numbers(rng, len(idx), lambda r, k: r.integers(20_000_000, 89_999_999, k))
    codes = [CITIES[c].area_code for c in city[idx].tolist()]
    people.landline[idx] = [f"{a}{x}" for a, x in zip(codes, nums.tolist(), strict=True)]
    people.landline[household_pairs[:, 1]] = people.landline[household_pairs[:, 0]]


def make_addresses(
    rng: np.random.Generator, city: np.ndarray, company: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    n = len(city)
    district = np.array(
        [
            CITIES[c].districts[i]
            for c, i in zip(
                city.tolist(),
                (rng.random(n) * np.array([len(CITIES[c].districts) for c in city.tolist()]))
                .astype(int)
                .tolist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    street = pick(rng, STREETS, n)
    num = rng.integers(1, 2999, n)
    b = rng.integers(1, 30, n)
    room = rng.integers(1, 33, n) * 100 + rng.integers(1, 6, n)
    comp = pick(rng, COMPLEXES, n)
    style = rng.integers(0, 4 if not company else 2, n)
    out = np.empty(n, dtype=object)
    for i, (s, nu, bb, r, cx, st) in enumerate(
        zip(
            street.tolist(),
            num.tolist(),
            b.tolist(),
            room.tolist(),
            comp.tolist(),
            style.tolist(),
            strict=True,
        )
    ):
        if company:
            out[i] = f"{s}{nu}号{bb}楼" if st == 0 else f"{s}{nu}号{cx}{bb}号楼{r}室"
        elif st == 0:
            out[i] = f"{s}{nu}号{bb}幢{r}室"
        elif st == 1:
            out[i] = f"{s}{nu}弄{bb}号{r}室"
        elif st == 2:
            out[i] = f"{s}{nu}号{cx}{bb}栋{r % 100}单元{r}"
        else:
            out[i] = f"{cx}{bb}号楼{r}室"
    return district, out


def make_customers(cfg: Config) -> tuple[People, Customers, list[np.ndarray]]:
    b = cfg.behaviour
    rng = cfg.rng("customers")
    n = cfg.customers
    n_comp = max(1, round(n * b.company_share)) if n >= 20 else 1
    n_pers = n - n_comp
    company = np.zeros(n, dtype=bool)
    company[rng.choice(n, n_comp, replace=False)] = True
    pers_idx = np.flatnonzero(~company)
    comp_idx = np.flatnonzero(company)
    # roles
    role = np.full(n, ROLE_BUYER)
    role[company] = ROLE_COMPANY
    u = rng.random(n_pers)
    role[pers_idx[u < b.prospect_share]] = ROLE_PROSPECT
    role[pers_idx[(u >= b.prospect_share) & (u < b.prospect_share + b.used_only_share)]] = ROLE_USED_ONLY
    foreign = np.zeros(n, dtype=bool)
    foreign[pers_idx[rng.random(n_pers) < b.foreigner_share]] = True
    # households: pairs of (non-foreign) persons
    cand = pers_idx[~foreign[pers_idx]]
    cand = cand[rng.permutation(len(cand))]
    n_pairs = int(round(n_pers * b.household_share / 2))
    pairs = (
        np.stack([cand[:n_pairs], cand[n_pairs : 2 * n_pairs]], axis=1) if n_pairs else np.zeros((0, 2), int)
    )
    male = rng.random(n) < 0.55
    male[pairs[:, 1]] = ~male[pairs[:, 0]]
    # fleet drivers: 2..6+ per company, people indices after the customers
    fleet_size = draw_fleet_sizes(rng, n_comp)
    n_drv = np.clip(np.round(fleet_size * rng.uniform(0.5, 1.1, n_comp)), 2, 20).astype(int)
    people, has_land = make_people(cfg, n, int(n_drv.sum()), pairs, male, foreign)
    drivers_of: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
    start = n
    for ci, k in zip(comp_idx.tolist(), n_drv.tolist(), strict=True):
        drivers_of[ci] = np.arange(start, start + k)
        start += k
    # where they live
    city = rng.choice(len(CITIES), n, p=city_weights())
    city[pairs[:, 1]] = city[pairs[:, 0]]
    district, street = make_addresses(rng, city)
    cdist, cstreet = make_addresses(rng, city[comp_idx], company=True)
    district[comp_idx], street[comp_idx] = cdist, cstreet
    district[pairs[:, 1]] = district[pairs[:, 0]]
    street[pairs[:, 1]] = street[pairs[:, 0]]
    assign_landlines(
        rng, people, has_land, np.concatenate([city, np.zeros(len(people.name) - n, int)]), pairs
    )
    # birth dates and ids
    age = np.clip(rng.normal(41, 11, n), 24, 78)
    birth = (int(TODAY.astype(np.int64)) - (age * 365.25).astype(np.int64)).astype(np.int64)
    birth[company] = NO_DAY
    birth_city = np.where(rng.random(n) < 0.8, city, rng.choice(len(CITIES), n, p=city_weights()))
    id_kind = np.full(n, ID_RIC)
    id_kind[foreign] = ID_PASSPORT
    id_kind[company] = ID_USCC
    id_number = np.full(n, "", dtype=object)
    ric = np.flatnonzero(id_kind == ID_RIC)
    years = ids.ymd_parts(birth[ric])[0]
    u = rng.random(len(ric))
    admin = np.empty(len(ric), dtype=np.int64)
    for j, (bc, y) in enumerate(zip(birth_city[ric].tolist(), years.tolist(), strict=True)):
        codes = ids.birth_admin_codes(CITIES[bc].district_codes[0][:4], y)
        admin[j] = int(codes[int(u[j] * len(codes))])
    seq = rng.integers(0, 500, len(ric)) * 2 + male[ric].astype(int)
    id_number[ric] = ids.resident_ids(admin, birth[ric], seq)
    dup = {}
    for j, v in zip(ric.tolist(), id_number[ric].tolist(), strict=True):
        if v in dup:  # astronomically rare: bump the order code
            s = (int(v[14:17]) + 2) % 1000
            id_number[j] = ids.resident_ids(np.array([int(v[:6])]), birth[j : j + 1], np.array([s]))[0]
        dup[v] = j
    pas = np.flatnonzero(id_kind == ID_PASSPORT)
    letters = "ABCEGHKLMPST"
    id_number[pas] = [
        letters[a] + f"{d:08d}"
        for a, d in zip(
            rng.integers(0, len(letters), len(pas)).tolist(),
            rng.integers(0, 10**8, len(pas)).tolist(),
            strict=True,
        )
    ]
    org_code = np.full(n, "", dtype=object)
    company_name = np.full(n, "", dtype=object)
    used_names: set[str] = set()
    for ci in comp_idx.tolist():
        c = CITIES[city[ci]]
        org_code[ci] = ids.make_org_code(rng)
        region = c.district_codes[int(rng.integers(0, len(c.district_codes)))]
        id_number[ci] = ids.make_uscc(region, org_code[ci])
        for attempt in range(COMPANY_NAME_ATTEMPTS + 1):
            nm = (
                c.short
                + COMPANY_BRANDS[int(rng.integers(0, len(COMPANY_BRANDS)))]
                + COMPANY_TRADES[int(rng.integers(0, len(COMPANY_TRADES)))]
                + COMPANY_SUFFIXES[int(rng.integers(0, len(COMPANY_SUFFIXES)))]
            )
            if nm not in used_names:
                break
            if rng.random() < 0.5:  # a second company with the same brand: add a qualifier
                nm = nm.replace(c.short, c.short + ("新" if rng.random() < 0.5 else "华东"), 1)
                if nm not in used_names:
                    break
            if attempt == COMPANY_NAME_ATTEMPTS:  # a city's names are used up (about 1M customers): a branch
                base, branch = nm, 2
                while nm in used_names:
                    nm, branch = f"{base}第{branch}分公司", branch + 1
        used_names.add(nm)
        company_name[ci] = nm
    company_landline = np.full(n, "", dtype=object)
    for ci in comp_idx.tolist():
        if rng.random() < 0.9:
            company_landline[ci] = CITIES[city[ci]].area_code + str(int(rng.integers(20_000_000, 89_999_999)))
    email = make_emails(rng, people, n)
    pid_order = rng.permutation(n)
    pid = np.empty(n, dtype=object)
    pid[pid_order] = [f"P{i + 1:07d}" for i in range(n)]
    household = np.full(n, -1)
    household[pairs[:, 0]] = np.arange(len(pairs))
    household[pairs[:, 1]] = np.arange(len(pairs))
    defector = rng.random(n) < b.defector_share
    km_rate = np.where(company, rng.uniform(60, 160, n), rng.uniform(18, 45, n))
    cust = Customers(
        pid,
        company,
        company_name,
        role,
        id_kind,
        id_number,
        org_code,
        birth,
        city,
        district,
        street,
        email,
        household,
        defector,
        km_rate,
        company_landline,
        np.zeros(n, dtype=np.int64),
    )
    cust.fleet_size[comp_idx] = fleet_size
    return people, cust, drivers_of


def draw_fleet_sizes(rng: np.random.Generator, k: int) -> np.ndarray:
    sizes = np.arange(2, 16)
    p = 1.0 / sizes**2.0
    return rng.choice(sizes, k, p=p / p.sum())


def make_emails(rng: np.random.Generator, people: People, n: int) -> np.ndarray:
    from .noise import pinyin_of  # local import: noise depends on reference only

    email = np.empty(n, dtype=object)
    seen: set[str] = set()
    style = rng.integers(0, 5, n)
    num = rng.integers(1, 9999, n)
    qq = rng.integers(10_000_000, 3_999_999_999, n)
    dom = rng.integers(0, len(EMAIL_DOMAINS), n)
    for i in range(n):
        if people.foreign[i]:
            local = f"{people.latin_first[i]}.{people.latin_last[i]}".lower()
        else:
            sp, gp = pinyin_of(people.surname[i]), pinyin_of(people.given[i])
            st = style[i]
            local = (
                f"{sp}{gp}{num[i] % 100:02d}"
                if st == 0
                else f"{gp}.{sp}"
                if st == 1
                else f"{sp[0]}{gp}{num[i]}"
                if st == 2
                else str(qq[i])
                if st == 3
                else f"{sp}_{gp}"
            )
        domain = "qq.com" if style[i] == 3 else EMAIL_DOMAINS[dom[i]]
        e = f"{local}@{domain}"
        k = 1
        while e in seen:
            e = f"{local}{k}@{domain}"
            k += 1
        seen.add(e)
        email[i] = e
    return email


# ---------------------------------------------------------------- dealers and stations


def make_dealers(cfg: Config, n_people_rng_seed: str = "dealers") -> Dealers:
    rng = cfg.rng(n_people_rng_seed)
    nd = cfg.n_dealers
    tl = cfg.timeline
    city = rng.choice(len(CITIES), nd, p=city_weights())
    vendor = np.where(rng.permutation(nd) % 2 == 0, "A", "B").astype(object)
    opened = rng.integers(int(np.datetime64("2004-01-01").astype(np.int64)), tl.start - 30, nd)
    late = rng.random(nd) < cfg.behaviour.dealer_open_in_window
    late[0] = False  # at least one dealer is open from the first day
    opened[late] = rng.integers(tl.start, max(tl.start + 1, tl.end - 180), int(late.sum()))
    date_style = np.where(vendor == "A", 0, rng.integers(1, 3, nd))
    nz = cfg.noise
    crlf = rng.random(nd) < np.where(vendor == "A", nz.crlf_dealer_a, nz.crlf_dealer_b)
    total_row = (vendor == "A") & (rng.random(nd) < nz.total_row_dealer)
    if not total_row.any():  # every data set shows the habit at least once
        total_row[np.flatnonzero(vendor == "A")[0]] = True
    names, seen = [], set()
    for i in range(nd):
        c = CITIES[city[i]]
        d = c.districts[int(rng.integers(0, len(c.districts)))]
        brand = COMPANY_BRANDS[int(rng.integers(0, len(COMPANY_BRANDS)))]
        nm = f"{c.short}{brand}{DEALER_SUFFIX}"
        if nm in seen:
            nm = f"{c.short}{d[:2]}{brand}{DEALER_SUFFIX}"
        k = 2
        base = nm
        while nm in seen:
            nm = base.replace(DEALER_SUFFIX, f"第{k}{DEALER_SUFFIX}")
            k += 1
        seen.add(nm)
        names.append(nm)
    reps = []
    for _ in range(nd):
        k = int(rng.integers(3, 9))
        s, g = make_names(rng, rng.random(k) < 0.6)
        reps.append(np.array([a + b for a, b in zip(s.tolist(), g.tolist(), strict=True)], dtype=object))
    code = np.array([f"DL{i + 1:04d}" for i in range(nd)], dtype=object)
    return Dealers(
        code,
        np.array(names, dtype=object),
        city,
        vendor,
        opened,
        date_style,
        crlf,
        total_row,
        reps,
        rng.integers(100, 20000, nd),
    )


def make_stations(cfg: Config) -> Stations:
    rng = cfg.rng("stations")
    ns = cfg.n_stations
    b = cfg.behaviour
    city = rng.choice(len(CITIES), ns, p=city_weights())
    auth = rng.random(ns) < b.authorized_station_share
    auth[0], auth[-1] = True, False  # at least one of each kind
    gbk = rng.random(ns) < b.gbk_station_share
    if not gbk.any():  # at least one GBK station in every data set
        gbk[1] = True
    bom = ~gbk & (rng.random(ns) < 0.4)
    crlf = rng.random(ns) < cfg.noise.crlf_station
    date_style = rng.choice(3, ns, p=[0.6, 0.2, 0.2])
    ro_style = rng.integers(0, 3, ns)
    names, seen = [], set()
    for i in range(ns):
        c = CITIES[city[i]]
        d = c.districts[int(rng.integers(0, len(c.districts)))]
        brand = COMPANY_BRANDS[int(rng.integers(0, len(COMPANY_BRANDS)))]
        if auth[i]:
            nm = f"{c.short}{brand}{STATION_AUTH_SUFFIX}"
        else:
            pat = STATION_INDEP_PATTERNS[int(rng.integers(0, len(STATION_INDEP_PATTERNS)))]
            sur = SURNAMES[int(rng.integers(0, 20))][0]
            nm = pat.format(city=c.short, district=d, brand=brand, surname=sur)
        base, k = nm, 2
        while nm in seen:
            nm = f"{base}（{k}）"
            k += 1
        seen.add(nm)
        names.append(nm)
    advisors = []
    for _ in range(ns):
        k = int(rng.integers(2, 7))
        s, g = make_names(rng, rng.random(k) < 0.6)
        advisors.append(np.array([a + b for a, b in zip(s.tolist(), g.tolist(), strict=True)], dtype=object))
    code = np.array([f"ST{i + 1:04d}" for i in range(ns)], dtype=object)
    return Stations(
        code,
        np.array(names, dtype=object),
        auth,
        city,
        gbk,
        bom,
        crlf,
        date_style,
        ro_style,
        advisors,
        rng.integers(1, 50000, ns),
    )


def nearest(
    kind_mask: np.ndarray,
    loc_city: np.ndarray,
    want_city: np.ndarray,
    rng: np.random.Generator,
    open_ok: np.ndarray | None = None,
) -> np.ndarray:
    """Pick, for each wanted city, an entity of that city (else of the province, else any)."""
    cand_all = np.flatnonzero(kind_mask)
    by_city: dict[int, np.ndarray] = {}
    by_prov: dict[str, np.ndarray] = {}
    for c in range(len(CITIES)):
        by_city[c] = cand_all[loc_city[cand_all] == c]
    for prov in dict.fromkeys(c.province for c in CITIES):
        by_prov[prov] = cand_all[
            np.isin(loc_city[cand_all], [i for i, c in enumerate(CITIES) if c.province == prov])
        ]
    u = rng.random(len(want_city))
    out = np.empty(len(want_city), dtype=np.int64)
    for i, c in enumerate(want_city.tolist()):
        arr = by_city[c]
        if len(arr) == 0:
            arr = by_prov[CITIES[c].province]
            if len(arr) == 0 or u[i] < 0.15:
                arr = cand_all
        out[i] = arr[int(u[i] * len(arr)) % len(arr)]
    return out


# ---------------------------------------------------------------- vehicles


def make_plates(rng: np.random.Generator, city: np.ndarray, ev: np.ndarray, taken: set[str]) -> np.ndarray:
    out = np.empty(len(city), dtype=object)
    alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    for i, (c, e) in enumerate(zip(city.tolist(), ev.tolist(), strict=True)):
        cc = CITIES[c]
        while True:
            head = cc.plate + cc.plate_letters[int(rng.integers(0, len(cc.plate_letters)))]
            if e:
                tail = ("D" if rng.random() < 0.7 else "F") + f"{int(rng.integers(0, 100000)):05d}"
            else:
                digits = list(f"{int(rng.integers(0, 100000)):05d}")
                if rng.random() < 0.45:
                    digits[int(rng.integers(0, 5))] = alnum[int(rng.integers(0, len(alnum)))]
                tail = "".join(digits)
            p = head + tail
            if p not in taken:
                taken.add(p)
                out[i] = p
                break
    return out


def make_vins(rng: np.random.Generator, model: np.ndarray, year: np.ndarray) -> np.ndarray:
    n = len(model)
    plants = np.array(list(VIN_PLANTS))
    if n <= VIN_SERIALS:
        serial = rng.choice(VIN_SERIALS, n, replace=False) + 100_000
        plant = plants[rng.integers(0, len(VIN_PLANTS), n)]
    else:  # more vehicles than serials (about 1M customers): serials unique per plant instead
        drawn = rng.choice(VIN_SERIALS * len(plants), n, replace=False)
        plant, serial = plants[drawn // VIN_SERIALS], drawn % VIN_SERIALS + 100_000
    body = np.array(
        [
            f"{VIN_WMI}{MODELS[m].vds}0{VIN_YEAR_CODES[y]}{p}{s}"
            for m, y, p, s in zip(model.tolist(), year.tolist(), plant.tolist(), serial.tolist(), strict=True)
        ],
        dtype=object,
    )
    chk = vin_checks(body)
    return np.array(
        [b[:8] + c + b[9:] for b, c in zip(body.tolist(), chk.tolist(), strict=True)], dtype=object
    )


def vin_checks(body: np.ndarray) -> np.ndarray:
    return ids.vin_check_chars(body) if len(body) else np.zeros(0, dtype="<U1")


def make_vehicles(
    cfg: Config, people: People, cust: Customers, drivers_of: list[np.ndarray], dealers: Dealers
) -> Vehicles:
    rng = cfg.rng("vehicles")
    tl = cfg.timeline
    b = cfg.behaviour
    buyers = np.flatnonzero(cust.role == ROLE_BUYER)
    ncar = rng.choice(3, len(buyers), p=np.array(b.cars_per_buyer) / sum(b.cars_per_buyer)) + 1
    first = rng.integers(tl.start, tl.end + 1, len(buyers))
    rows_buyer, rows_day, rows_fleet, rows_batch = [], [], [], []
    for k in range(3):
        gap = rng.integers(300, 1500, len(buyers))
        day = first + k * gap
        ok = (ncar > k) & (day <= tl.end)
        rows_buyer.append(buyers[ok])
        rows_day.append(day[ok])
        rows_fleet.append(np.zeros(int(ok.sum()), dtype=bool))
        rows_batch.append(np.full(int(ok.sum()), -1))
    # companies: fleets bought in 1-3 batches
    comp = np.flatnonzero(cust.company)
    sizes = cust.fleet_size[comp]
    batch_id = 0
    for ci, sz in zip(comp.tolist(), sizes.tolist(), strict=True):
        nb = 1 if sz <= 3 else int(rng.integers(1, 4))
        bdays = np.sort(rng.integers(tl.start, tl.end + 1, nb))
        split = np.sort(rng.integers(0, nb, sz))
        d = bdays[split] + rng.integers(0, 8, sz)
        d = np.minimum(d, tl.end)
        rows_buyer.append(np.full(sz, ci))
        rows_day.append(d)
        rows_fleet.append(np.ones(sz, dtype=bool))
        rows_batch.append(batch_id + split)
        batch_id += nb
    buyer = np.concatenate(rows_buyer)
    day = np.concatenate(rows_day)
    fleet = np.concatenate(rows_fleet)
    batch = np.concatenate(rows_batch)
    order = np.lexsort((buyer, day))
    buyer, day, fleet, batch = buyer[order], day[order], fleet[order], batch[order]
    n = len(buyer)
    # dealer: one in the buyer's city (else province, else anywhere), open on the day
    dealer = nearest(np.ones(len(dealers.code), dtype=bool), dealers.city, cust.city[buyer], rng)
    closed = dealers.opened[dealer] > day
    if closed.any():
        old = dealers.opened <= tl.start
        dealer[closed] = nearest(old, dealers.city, cust.city[buyer[closed]], rng)
    # a company buys a batch at one dealer
    first_of_batch: dict[int, int] = {}
    for i in np.flatnonzero(fleet).tolist():
        bi = int(batch[i])
        if bi in first_of_batch:
            dealer[i] = dealer[first_of_batch[bi]]
        else:
            first_of_batch[bi] = i
    # model
    pw = np.array([m.person_weight for m in MODELS])
    fw = np.array([m.fleet_weight for m in MODELS])
    model = np.where(
        fleet, rng.choice(len(MODELS), n, p=fw / fw.sum()), rng.choice(len(MODELS), n, p=pw / pw.sum())
    )
    for bi, i in first_of_batch.items():  # mostly one model per batch
        same = np.flatnonzero(batch == bi)
        keep = rng.random(len(same)) < 0.85
        model[same[keep]] = model[i]
    color = rng.integers(0, len(COLORS), n)
    list_price = np.array([MODELS[m].price for m in model.tolist()])
    disc = np.where(fleet, rng.uniform(0.80, 0.92, n), rng.uniform(0.86, 1.0, n))
    price = (np.round(list_price * disc / 100) * 100).astype(np.int64)
    rep = np.array(
        [
            dealers.reps[d][int(u * len(dealers.reps[d]))]
            for d, u in zip(dealer.tolist(), rng.random(n).tolist(), strict=True)
        ],
        dtype=object,
    )
    years = ids.ymd_parts(day)[0]
    late_year = rng.random(n) < 0.35  # cars sold late in a year carry next model year
    mon = ids.ymd_parts(day)[1]
    years = np.where((mon >= 9) & late_year, years + 1, years)
    vin = make_vins(rng, model, years)
    delivery = day + rng.integers(1, 15, n)
    driver = buyer.copy()
    for i in np.flatnonzero(fleet).tolist():
        drv = drivers_of[buyer[i]]
        driver[i] = drv[int(rng.integers(0, len(drv)))]
    # resales
    eligible = np.flatnonzero(delivery <= tl.end - 400)
    p = min(0.9, b.resale_share * n / max(1, len(eligible)))
    sold = eligible[rng.random(len(eligible)) < p]
    resale_day = np.full(n, NO_DAY, dtype=np.int64)
    lo = delivery[sold] + 365
    resale_day[sold] = lo + (rng.random(len(sold)) * (tl.end - 30 - lo)).astype(np.int64)
    new_owner = np.full(n, -1)
    used_pool = np.flatnonzero(cust.role == ROLE_USED_ONLY)
    used_pool = used_pool[rng.permutation(len(used_pool))]
    buyer_pool = np.flatnonzero(cust.role == ROLE_BUYER)
    k_used = min(len(used_pool), int(round(0.7 * len(sold))))
    choice = rng.permutation(len(sold))
    new_owner[sold[choice[:k_used]]] = used_pool[:k_used]
    rest = sold[choice[k_used:]]
    if len(rest):
        cand = buyer_pool[rng.integers(0, len(buyer_pool), len(rest))] if len(buyer_pool) else used_pool[:1]
        clash = cand == buyer[rest]
        cand[clash] = buyer_pool[(np.searchsorted(buyer_pool, cand[clash]) + 1) % len(buyer_pool)]
        new_owner[rest] = cand
    # used-only persons without a car become prospects
    unused = used_pool[k_used:]
    cust.role[unused] = ROLE_PROSPECT
    return Vehicles(
        vin, model, color, buyer, day, delivery, dealer, price, rep, fleet, driver, resale_day, new_owner
    )


def make_segments(cfg: Config, cust: Customers, veh: Vehicles) -> Segments:
    rng = cfg.rng("segments")
    tl = cfg.timeline
    n = len(veh.vin)
    ev = np.array([MODELS[m].ev for m in veh.model.tolist()])
    taken: set[str] = set()
    sold = np.flatnonzero(veh.resale_day != NO_DAY)
    vehicle = np.concatenate([np.arange(n), sold])
    owner = np.concatenate([veh.buyer, veh.new_owner[sold]])
    start = np.concatenate([veh.buy_day, veh.resale_day[sold]])
    stop = np.concatenate(
        [np.where(veh.resale_day == NO_DAY, tl.end, veh.resale_day - 1), np.full(len(sold), tl.end)]
    )
    current = np.concatenate([veh.resale_day == NO_DAY, np.ones(len(sold), dtype=bool)])
    plate = make_plates(rng, cust.city[owner], ev[vehicle], taken)
    km0 = np.zeros(len(vehicle))
    first_rate = cust.km_rate[veh.buyer[sold]]
    km0[n:] = (veh.resale_day[sold] - veh.buy_day[sold]) * first_rate
    second = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(sold), dtype=bool)])
    return Segments(vehicle, owner, start, stop, current, plate, km0, second)


def build_world(cfg: Config) -> World:
    people, cust, drivers_of = make_customers(cfg)
    dealers = make_dealers(cfg)
    stations = make_stations(cfg)
    veh = make_vehicles(cfg, people, cust, drivers_of, dealers)
    seg = make_segments(cfg, cust, veh)
    return World(people, cust, drivers_of, dealers, stations, veh, seg)
