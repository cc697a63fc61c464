"""Value-level mess: how names, phones, ids, VINs, plates and addresses get written down.

Every function takes clean values (object arrays) and returns what a clerk, a DMS or a
telephone system would have recorded. Rates come from `config.Noise`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import opencc
from pypinyin import lazy_pinyin

from .config import Noise
from .reference import CITIES, HOMOPHONES, PLACEHOLDER_PHONES, SURNAMES

_S2T = opencc.OpenCC("s2t")
_SURNAME_PY = {s: p for s, p, _ in SURNAMES}
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@cache
def pinyin_of(text: str) -> str:
    if text in _SURNAME_PY:
        return _SURNAME_PY[text]
    return "".join(lazy_pinyin(text))


@cache
def traditional(text: str) -> str:
    """Traditional form (falls back to the simplified one where GBK has no such character)."""
    t = _S2T.convert(text)
    try:
        t.encode("gbk")
    except UnicodeEncodeError:
        return text
    return t


def split_name(name: str) -> tuple[str, str]:
    for s in (name[:2], name[:1]):
        if s in _SURNAME_PY:
            return s, name[len(s) :]
    return name[:1], name[1:]


def _pick(rng: np.random.Generator, rate: float, n: int) -> np.ndarray:
    return np.flatnonzero(rng.random(n) < rate)


class Messer:
    """Applies the noise of `config.Noise` with one random stream."""

    def __init__(self, rng: np.random.Generator, rates: Noise) -> None:
        self.rng = rng
        self.r = rates

    # ------------------------------------------------------------------ names
    def person_names(
        self,
        names: np.ndarray,
        foreign: np.ndarray,
        male: np.ndarray,
        surname_only: float = 0.0,
        typo_scale: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chinese names as typed by a clerk. Returns (names, is_full_name)."""
        rng, r = self.rng, self.r
        out = names.copy()
        n = len(out)
        full = np.ones(n, dtype=bool)
        chinese = ~foreign
        for i in _pick(rng, r.name_traditional * typo_scale, n):
            if chinese[i]:
                out[i] = traditional(out[i])
        for i in _pick(rng, r.name_homophone * typo_scale, n):
            if chinese[i]:
                out[i] = homophone(out[i], rng)
        for i in _pick(rng, r.name_space * typo_scale, n):
            if chinese[i]:
                out[i] = stray_space(out[i], rng)
        for i in np.flatnonzero(foreign):
            if rng.random() < 0.5:  # passport style
                first, _, last = names[i].partition(" ")
                out[i] = f"{last.upper()} {first.upper()}"
        if surname_only:
            for i in _pick(rng, surname_only, n):
                out[i] = honorific(names[i], bool(male[i]), bool(foreign[i]))
                full[i] = False
        return out, full

    def company_names(self, names: np.ndarray) -> np.ndarray:
        out = names.copy()
        rng = self.rng
        for i in _pick(rng, self.r.company_name_variant, len(out)):
            s = out[i]
            k = rng.integers(0, 4)
            if k == 0:
                out[i] = traditional(s)
            elif k == 1:
                out[i] = s.replace("有限责任公司", "").replace("股份有限公司", "").replace("有限公司", "")
            elif k == 2:
                city = next((c for c in CITIES if s.startswith(c.short)), None)
                out[i] = s[len(city.short) :] if city else s
            else:
                out[i] = s.replace("有限公司", "有限公司 ").replace("（", "(").replace("）", ")")
        return out

    # ------------------------------------------------------------------ phones
    def mobiles(
        self,
        values: np.ndarray,
        formatted: float | None = None,
        typo: float | None = None,
        placeholder: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns (written values, usable) where usable is False for placeholders/empties."""
        rng, r = self.rng, self.r
        out = values.copy()
        n = len(out)
        usable = np.array([bool(v) for v in out.tolist()], dtype=bool)
        for i in _pick(rng, r.phone_typo if typo is None else typo, n):
            if usable[i]:
                out[i] = digit_typo(out[i], rng, first=3)
        for i in _pick(rng, r.phone_formatted if formatted is None else formatted, n):
            if usable[i]:
                out[i] = format_phone(out[i], int(rng.integers(0, 8)))
        for i in _pick(rng, r.phone_placeholder if placeholder is None else placeholder, n):
            out[i] = PLACEHOLDER_PHONES[int(rng.integers(0, len(PLACEHOLDER_PHONES)))]
            usable[i] = False
        return out, usable

    # ------------------------------------------------------------------ ids
    def resident_ids(self, values: np.ndarray, birth_year: np.ndarray, sloppy: float = 1.0) -> np.ndarray:
        rng, r = self.rng, self.r
        out = values.copy()
        n = len(out)
        for i in _pick(rng, r.id_lower_x * sloppy, n):
            if out[i].endswith("X"):
                out[i] = out[i][:-1] + "x"
        for i in _pick(rng, r.id_legacy15 * sloppy, n):
            if len(out[i]) == 18 and birth_year[i] < 1985:
                out[i] = out[i][:6] + out[i][8:17]
        for i in _pick(rng, r.id_typo * sloppy, n):
            if len(out[i]) == 18:
                out[i] = digit_typo(out[i], rng, first=0, last=16)
        return out

    # ------------------------------------------------------------------ vehicles
    def vins(self, values: np.ndarray, blank: float = 0.0, last6: float = 0.0) -> np.ndarray:
        rng, r = self.rng, self.r
        out = values.copy()
        n = len(out)
        for i in _pick(rng, r.vin_ioq, n):
            out[i] = ioq_typo(out[i], rng)
        for i in _pick(rng, r.vin_lower, n):
            out[i] = out[i].lower()
        if blank or last6:
            u = rng.random(n)
            out[u < blank] = ""
            sel = np.flatnonzero((u >= blank) & (u < blank + last6))
            out[sel] = [v[-6:] for v in out[sel].tolist()]
        return out

    def plates(self, values: np.ndarray, rate: float | None = None) -> np.ndarray:
        rng = self.rng
        out = values.copy()
        for i in _pick(rng, self.r.plate_variant if rate is None else rate, len(out)):
            p = out[i]
            k = rng.integers(0, 4)
            if k == 0:
                out[i] = p[:2] + "·" + p[2:]
            elif k == 1:
                out[i] = p[0] + p[1].lower() + " " + p[2:]
            elif k == 2:
                out[i] = p[:2] + " " + p[2:]
            else:
                out[i] = p[0] + p[1:].lower()
        return out

    # ------------------------------------------------------------------ places
    def addresses(
        self,
        city: np.ndarray,
        district: np.ndarray,
        street: np.ndarray,
        prefix_rate: float,
    ) -> np.ndarray:
        """Street addresses with or without province/city prefix, abbreviations, full-width digits."""
        rng, r = self.rng, self.r
        n = len(city)
        u = rng.random(n)
        out = np.empty(n, dtype=object)
        for i, (c, d, s, uu) in enumerate(
            zip(city.tolist(), district.tolist(), street.tolist(), u.tolist(), strict=True)
        ):
            cc = CITIES[c]
            head = cc.province + (cc.name if cc.name != cc.province else "")
            if uu < prefix_rate:
                out[i] = head + d + s
            elif uu < prefix_rate + (1 - prefix_rate) * 0.3:
                out[i] = cc.name + d + s
            else:
                out[i] = d + s
        for i in _pick(rng, r.addr_abbrev, n):
            out[i] = abbreviate(out[i])
        for i in _pick(rng, r.addr_fullwidth, n):
            out[i] = out[i].translate(_FULLWIDTH)
        for i in _pick(rng, r.addr_comma, n):
            s = out[i]
            cut = max(s.find("号"), s.find("弄"))
            if 0 < cut < len(s) - 1:
                out[i] = s[: cut + 1] + "," + s[cut + 1 :]
        return out

    def province_city(self, city: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        n = len(city)
        short = rng.random(n) < 0.15
        prov = np.array(
            [
                CITIES[c].prov_short if s else CITIES[c].province
                for c, s in zip(city.tolist(), short.tolist(), strict=True)
            ],
            dtype=object,
        )
        short = rng.random(n) < 0.15
        cty = np.array(
            [
                CITIES[c].short if s else CITIES[c].name
                for c, s in zip(city.tolist(), short.tolist(), strict=True)
            ],
            dtype=object,
        )
        return prov, cty


# ---------------------------------------------------------------------- scalar helpers


def honorific(name: str, male: bool, foreign: bool) -> str:
    if foreign:
        last = name.split(" ")[-1]
        return ("Mr. " if male else "Ms. ") + last
    return split_name(name)[0] + ("先生" if male else "女士")


def homophone(name: str, rng: np.random.Generator) -> str:
    sur, given = split_name(name)
    spots = [i for i, ch in enumerate(given) if ch in HOMOPHONES]
    if spots:
        i = spots[int(rng.integers(0, len(spots)))]
        alts = HOMOPHONES[given[i]]
        return sur + given[:i] + alts[int(rng.integers(0, len(alts)))] + given[i + 1 :]
    if sur in HOMOPHONES:
        alts = HOMOPHONES[sur]
        return alts[int(rng.integers(0, len(alts)))] + given
    return traditional(name)


def stray_space(name: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(0, 4))
    if k == 0:
        sur, given = split_name(name)
        return f"{sur} {given}"
    if k == 1:
        return " ".join(name)
    if k == 2:
        return name + " "
    return " " + name


def pinyin_forms(name: str, foreign: bool, rng: np.random.Generator) -> str:
    if foreign:
        return name if rng.random() < 0.6 else name.upper()
    sur, given = split_name(name)
    s, g = pinyin_of(sur), pinyin_of(given)
    k = int(rng.integers(0, 7))
    return (
        f"{s.title()} {g.title()}",
        f"{g.upper()} {s.upper()}",
        f"{s}{g}",
        f"{g.title()} {s.title()}",
        f"{s.upper()} {g.upper()}",
        f"{s} {g}",
        f"{s.upper()} {g.title()}",
    )[k]


def digit_typo(value: str, rng: np.random.Generator, first: int = 0, last: int | None = None) -> str:
    last = len(value) - 1 if last is None else last
    pos = [i for i in range(first, last + 1) if value[i].isdigit()]
    if not pos:
        return value
    i = pos[int(rng.integers(0, len(pos)))]
    d = (int(value[i]) + int(rng.integers(1, 10))) % 10
    return value[:i] + str(d) + value[i + 1 :]


def ioq_typo(vin: str, rng: np.random.Generator) -> str:
    pos = [i for i, c in enumerate(vin) if c in "10"]
    if not pos:
        return vin
    i = pos[int(rng.integers(0, len(pos)))]
    rep = "I" if vin[i] == "1" else ("O" if rng.random() < 0.7 else "Q")
    return vin[:i] + rep + vin[i + 1 :]


def format_phone(value: str, style: int) -> str:
    """Write a number (mobile or landline with area code) the way people do."""
    if len(value) == 11 and value.startswith("1"):
        a, b, c = value[:3], value[3:7], value[7:]
        return (
            f"+86 {a} {b} {c}",
            f"0086-{value}",
            f"{a}-{b}-{c}",
            f"{a} {b} {c}",
            f"+86{value}",
            f"86-{value}",
            f"+86-{value}",
            f"({a}){b}{c}",
        )[style % 8]
    area_len = 3 if value[:2] in ("01", "02") else 4
    area, local = value[:area_len], value[area_len:]
    half = len(local) - 4
    return (
        f"{area}-{local}",
        f"{area}-{local[:half]} {local[half:]}",
        f"({area}){local}",
        value,
        local,
        f"+86 {area[1:]} {local[:half]} {local[half:]}",
        f"{area} {local}",
        f"{area}-{local}",
    )[style % 8]


def abbreviate(addr: str) -> str:
    for a, b in (
        ("浦东新区", "浦东"),
        ("工业园区", "园区"),
        ("号楼", "#"),
        ("室", ""),
        ("单元", "-"),
        ("上海市", "上海"),
        ("北京市", "北京"),
        ("省", ""),
        ("幢", "#"),
    ):
        addr = addr.replace(a, b)
    return addr
