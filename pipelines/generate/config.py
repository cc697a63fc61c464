"""Run configuration, behaviour and noise rates, time line and random streams."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

TODAY = np.datetime64("2026-11-22", "D")  # fixed "today": nothing generated may be later
DEFAULT_START = "2021-11"
DEFAULT_END = "2026-10"


@dataclass(frozen=True)
class Behaviour:
    """Who exists and what they do (shares and rates)."""

    company_share: float = 0.07
    prospect_share: float = 0.35  # of persons: only leads / calls / web sign-ups
    used_only_share: float = 0.04  # of persons: own only second-hand cars
    household_share: float = 0.05  # of persons: share one phone with a spouse
    foreigner_share: float = 0.01
    changed_mobile_share: float = 0.10  # switch to a new number on some day
    second_mobile_share: float = 0.05  # use two numbers side by side
    landline_share: float = 0.25
    cars_per_buyer: tuple[float, float, float] = (0.75, 0.20, 0.05)  # P(1), P(2), P(3)
    resale_share: float = 0.08
    defector_share: float = 0.30  # of owners: leave for independent garages after a few years
    dealer_open_in_window: float = 0.15
    authorized_station_share: float = 0.70
    gbk_station_share: float = 0.25
    calls_per_owner_year: float = 0.30
    anonymous_call_share: float = 0.05
    walkin_share: float = 0.03  # of repair orders
    web_test_share: float = 0.02  # of web sign-ups


@dataclass(frozen=True)
class Noise:
    """How messy the raw data is. Rates are per value unless noted."""

    name_traditional: float = 0.03
    name_space: float = 0.02
    name_homophone: float = 0.015
    name_surname_only_lead: float = 0.06
    name_surname_only_call: float = 0.35
    company_name_variant: float = 0.08
    phone_formatted: float = 0.12  # +86 / 0086- / dashes / spaces
    phone_typo: float = 0.01
    phone_placeholder: float = 0.01
    id_lower_x: float = 0.35  # of ids ending in X, where the source is sloppy
    id_legacy15: float = 0.03  # of ids of people born before 1985
    id_typo: float = 0.01
    vin_lower: float = 0.03
    vin_ioq: float = 0.01
    ro_vin_blank: float = 0.10
    ro_vin_last6: float = 0.08
    plate_variant: float = 0.10
    addr_no_prefix: float = 0.30
    addr_fullwidth: float = 0.03
    addr_abbrev: float = 0.05
    addr_comma: float = 0.03  # address with a comma (quoted in the CSV)
    json_missing_key: float = 0.03
    json_null: float = 0.03
    # per file
    blank_lines_file: float = 0.02
    missing_column_file: float = 0.03
    extra_column_file: float = 0.03
    crlf_dealer_a: float = 0.2  # share of dealers/stations writing CRLF
    crlf_dealer_b: float = 0.7
    crlf_station: float = 0.3
    total_row_dealer: float = 0.4  # share of vendor-A dealers ending sales files with 合计
    bad_row: float = 0.001  # per data row: truncated / unquoted comma / garbage
    redelivered_files: float = 0.0005  # share of files delivered twice (at least 3)


@dataclass(frozen=True)
class Timeline:
    start: int  # first day (days since 1970-01-01)
    end: int  # last day, inclusive
    months: tuple[tuple[int, int], ...]

    @classmethod
    def from_months(cls, start: str, end: str) -> Timeline:
        m0 = np.datetime64(start, "M")
        m1 = np.datetime64(end, "M")
        if m1 < m0:
            raise ValueError("--end is before --start")
        first = m0.astype("datetime64[D]")
        last = min((m1 + 1).astype("datetime64[D]") - 1, TODAY)
        if last < first:
            raise ValueError("the window lies in the future")
        months = []
        m = m0
        while m <= m1 and m.astype("datetime64[D]") <= last:
            y, mo = str(m).split("-")
            months.append((int(y), int(mo)))
            m = m + 1
        return cls(int(first.astype(np.int64)), int(last.astype(np.int64)), tuple(months))

    @property
    def n_days(self) -> int:
        return self.end - self.start + 1


@dataclass
class Config:
    out: str
    customers: int
    seed: int
    timeline: Timeline
    behaviour: Behaviour = field(default_factory=Behaviour)
    noise: Noise = field(default_factory=Noise)

    def rng(self, stream: str) -> np.random.Generator:
        """Independent, reproducible random stream per named purpose."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    @property
    def n_dealers(self) -> int:
        return max(3, round(self.customers / 400))

    @property
    def n_stations(self) -> int:
        return max(4, round(self.customers / 300))
