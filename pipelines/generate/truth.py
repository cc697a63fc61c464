"""Ground truth under `_truth/`: who every record belongs to, who owned which car, who exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .events import RECALL, Events
from .feeds import TruthPart, iso_dates
from .population import ROLE_COMPANY, ROLE_PROSPECT, World
from .reference import CITIES
from .writers import Written, write_plain_csv

ROLE_NAMES = ("buyer", "prospect", "used_car_owner", "company")

README = """# Ground truth of a generated data set (never read by the pipeline)

- record_truth.csv: source_system,source_record_id,person_id for every raw record in the final
  deliveries that belongs to a customer. Records that identify nobody (anonymous calls, surname-only
  callers with a hidden number, walk-ins with placeholder phones, test web sign-ups, a few showroom
  leads with only a surname and a placeholder phone) have no row; neither have unparseable rows,
  total rows (合计) or blank/garbage lines.
- vehicle_truth.csv: vin,person_id,owned_from,owned_to (owned_from = invoice day of the new car or the
  day of the resale; owned_to = day of the resale, empty while owned).
- persons.csv: one row per customer (person or company) with true attributes.
- redeliveries.csv: files delivered twice; the first delivery is under earlier_deliveries/<same path>.
- Unparseable rows (about 0.1%: truncated rows, unquoted commas, garbage lines, truncated JSON lines in
  the call center) are not records and have no truth row.
- Placeholder phones that identify nobody: 13800000000, 11111111111, 00000000000, 12345678901, 0 and
  empty; hidden caller numbers: anonymous, unknown, empty or null.
"""


def defectors(w: World, ev: Events) -> np.ndarray:
    """Owners whose car went to an authorised station first and to an independent garage last."""
    so = ev.service
    keep = (so.segment >= 0) & (so.stype != RECALL)
    seg, day = so.segment[keep], so.day[keep]
    auth = w.stations.authorized[so.station[keep]]
    out = np.zeros(len(w.customers.pid), dtype=bool)
    if not len(seg):
        return out
    order = np.lexsort((day, seg))
    seg, auth = seg[order], auth[order]
    starts = np.r_[0, np.flatnonzero(np.diff(seg)) + 1]
    ends = np.r_[starts[1:], len(seg)] - 1
    switched = auth[starts] & ~auth[ends]
    owners = w.segments.owner[seg[starts[switched]]]
    out[owners] = True
    return out & w.customers.defector_trait


def write_truth(root: Path, w: World, ev: Events, parts: list[TruthPart], stats: Written) -> dict[str, int]:
    made: set[str] = set()
    cust, ppl, seg, veh = w.customers, w.people, w.segments, w.vehicles
    rows = []
    counts: dict[str, int] = {}
    n_rec = np.zeros(len(cust.pid), dtype=np.int64)
    for p in parts:
        sel = np.flatnonzero(p.owner >= 0)
        counts[p.source] = counts.get(p.source, 0) + len(sel)
        n_rec += np.bincount(p.owner[sel], minlength=len(cust.pid))
        rows.extend(
            [p.source, r, o]
            for r, o in zip(p.record_id[sel].tolist(), cust.pid[p.owner[sel]].tolist(), strict=True)
        )
    write_plain_csv(
        root, "_truth/record_truth.csv", ["source_system", "source_record_id", "person_id"], rows, stats, made
    )
    start = iso_dates(seg.start)
    resale = veh.resale_day[seg.vehicle]
    stop = iso_dates(np.where(seg.current, 0, resale))
    vrows = [
        [veh.vin[v], cust.pid[o], s, "" if c else e]
        for v, o, s, e, c in zip(
            seg.vehicle.tolist(),
            seg.owner.tolist(),
            start.tolist(),
            stop.tolist(),
            seg.current.tolist(),
            strict=True,
        )
    ]
    vrows.sort(key=lambda r: (r[0], r[2]))
    write_plain_csv(
        root, "_truth/vehicle_truth.csv", ["vin", "person_id", "owned_from", "owned_to"], vrows, stats, made
    )
    n_veh = np.bincount(seg.owner, minlength=len(cust.pid))
    is_def = defectors(w, ev)
    birth = iso_dates(np.where(cust.company, 0, cust.birth))
    header = [
        "person_id",
        "person_type",
        "name",
        "sex",
        "birth_date",
        "province",
        "city",
        "is_prospect_only",
        "is_defector",
        "n_vehicles",
        "role",
        "id_number",
        "mobile",
        "second_mobile",
        "landline",
        "email",
        "household_id",
        "is_foreigner",
        "contact_name",
        "n_drivers",
        "n_records",
    ]
    prow = []
    for i in np.argsort(cust.pid).tolist():
        comp = bool(cust.company[i])
        c = CITIES[cust.city[i]]
        prow.append(
            [
                cust.pid[i],
                "company" if comp else "person",
                cust.company_name[i] if comp else ppl.name[i],
                "" if comp else ("M" if ppl.male[i] else "F"),
                "" if comp else birth[i],
                c.province,
                c.name,
                str(bool(cust.role[i] == ROLE_PROSPECT and n_veh[i] == 0)).lower(),
                str(bool(is_def[i])).lower(),
                str(int(n_veh[i])),
                ROLE_NAMES[cust.role[i]] if cust.role[i] != ROLE_COMPANY else "company",
                cust.id_number[i],
                ppl.mobile1[i],
                ppl.mobile2[i] if ppl.phone_mode[i] else "",
                ppl.landline[i] or cust.company_landline[i],
                "" if comp else cust.email[i],
                f"H{cust.household[i]:06d}" if cust.household[i] >= 0 else "",
                str(bool(ppl.foreign[i])).lower(),
                ppl.name[i] if comp else "",
                str(len(w.drivers_of[i])) if comp else "0",
                str(int(n_rec[i])),
            ]
        )
    write_plain_csv(root, "_truth/persons.csv", header, prow, stats, made)
    write_plain_csv(
        root, "_truth/redeliveries.csv", ["path"], [[p] for p in sorted(stats.redelivered)], stats, made
    )
    (root / "_truth" / "README.md").write_text(README, encoding="utf-8")
    stats.files += 1
    return counts
