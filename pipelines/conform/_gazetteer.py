"""China's administrative divisions, read from python-stdnum's `cn/loc` database (internal).

python-stdnum ships the GB/T 2260 code list (province, prefecture, county, with validity years) to look up
the birth place of a resident id; the address conformer reuses it as its gazetteer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import numdb

from ._text import to_simplified

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# Placeholder rows of the code list that name no place.
_GENERIC = frozenset(
    {
        "市辖区",
        "市区",
        "县",
        "市",
        "郊区",
        "矿区",
        "林区",
        "省直辖县级行政区划",
        "自治区直辖县级行政区划",
        "省直辖县级行政单位",
        "自治区直辖县级行政单位",
    }
)
_NAME = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")
_PROVINCE_SUFFIX = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
# The peoples named in autonomous prefectures' names ("黔东南苗族侗族自治州" -> "黔东南"); the code list
# gives only full names, so the short forms are derived here.
_PEOPLES = re.compile(
    r"(?:回族|哈萨克|柯尔克孜|彝族|蒙古族|蒙古|白族|朝鲜族|傣族|景颇族|傈僳族|土家族|苗族|壮族|藏族|黎族|哈尼族|羌族|侗族|布依族)$"
)


def province_short(name: str) -> str:
    """'上海市' -> '上海', '广西壮族自治区' -> '广西', '香港特别行政区' -> '香港'."""
    return _PROVINCE_SUFFIX.sub("", name) or name


def city_short(name: str) -> str:
    """'深圳市' -> '深圳', '大兴安岭地区' -> '大兴安岭', '延边朝鲜族自治州' -> '延边'."""
    if name.endswith("自治州"):
        short = name[:-3]
        while (stripped := _PEOPLES.sub("", short)) != short:
            short = stripped
        return short
    for suffix in ("地区", "市", "盟"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def district_short(name: str) -> str | None:
    """'浦东新区' -> '浦东', '南山区' -> '南山', '昆山市' -> '昆山'; None when too short to be safe."""
    for suffix in ("新区", "区", "县", "市", "旗"):
        if name.endswith(suffix) and "自治" not in name and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@dataclass
class Gazetteer:
    provinces: dict[str, str] = field(default_factory=dict)  # code2 -> short name
    cities: dict[str, tuple[str, str]] = field(default_factory=dict)  # code4 -> (short, province code2)
    province_alias: dict[str, str] = field(default_factory=dict)  # full/short -> code2
    city_full: dict[str, list[str]] = field(default_factory=dict)  # full name -> [code4]
    city_alias: dict[str, dict[str, str]] = field(default_factory=dict)  # code2 -> alias -> code4
    # parent (code4 city, or code2 for a municipality) -> alias -> canonical district name
    district_alias: dict[str, dict[str, str]] = field(default_factory=dict)
    district_full: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # full -> [(parent, name)]
    city_start: dict[str, str] = field(default_factory=dict)  # city names unique in the country -> code
    district_unique: dict[str, tuple[str, str]] = field(default_factory=dict)  # full -> (parent, name)


def _names(raw: str) -> list[tuple[str, bool]]:
    """'[1983-1986]郊区,[1987-]白云区' -> [('郊区', False), ('白云区', True)]."""
    out = []
    for part in raw.split(","):
        match = _NAME.match(part)
        if match:
            out.append((to_simplified(match.group(3)), not match.group(2)))
    return out


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    gaz = Gazetteer()
    for _length, code2, _high, props, children in numdb.get("cn/loc").prefixes:
        full = to_simplified(props.get("province", ""))
        if not full:
            continue
        short = province_short(full)
        gaz.provinces[code2] = short
        gaz.province_alias[full] = gaz.province_alias[short] = code2
        gaz.city_alias.setdefault(code2, {})
        if code2 in MUNICIPALITIES:
            gaz.cities[code2] = (short, code2)
        rows = [(c[1], _names(c[3].get("county", ""))) for c in children]
        for code4, names in rows:  # prefecture-level rows first, so districts find their city
            if code4 == "0000" or not code4.endswith("00") or code2 in MUNICIPALITIES:
                continue
            for name, current in names:
                if current and name not in _GENERIC:
                    _add_city(gaz, code2, code2 + code4, name)
        for code4, names in rows:
            if code4.endswith("00"):
                continue
            parent = code2 if code2 in MUNICIPALITIES else code2 + code4[:2] + "00"
            canonical = next((n for n, current in names if current), names[-1][0] if names else "")
            if parent not in gaz.cities:
                # county-level city directly under its province (省直辖, codes xx90xx): a city of its own;
                # other rows under a prefecture that no longer exists are history, skipped
                if code4.startswith("90") and names[-1][1] and canonical.endswith("市"):
                    _add_city(gaz, code2, code2 + code4, canonical)
                continue
            for name, current in names:
                if name in _GENERIC:
                    continue
                gaz.district_alias.setdefault(parent, {})[name] = canonical
                gaz.district_full.setdefault(name, []).append((parent, canonical))
                short_name = district_short(name) if current else None
                if short_name and short_name not in gaz.province_alias:
                    gaz.district_alias[parent].setdefault(short_name, canonical)
    owners: dict[str, set[str]] = {}
    for aliases in gaz.city_alias.values():
        for alias, code in aliases.items():
            owners.setdefault(alias, set()).add(code)
    gaz.city_start = {
        alias: codes.pop()
        for alias, codes in owners.items()
        if len(codes) == 1 and alias not in gaz.province_alias
    }
    gaz.district_unique = {name: rows[0] for name, rows in gaz.district_full.items() if len(rows) == 1}
    return gaz


def _add_city(gaz: Gazetteer, code2: str, code: str, name: str) -> None:
    short = city_short(name)
    gaz.cities[code] = (short, code2)
    gaz.city_full.setdefault(name, []).append(code)
    gaz.city_alias[code2][name] = code
    gaz.city_alias[code2].setdefault(short, code)


@lru_cache(maxsize=1)
def province_codes() -> frozenset[str]:
    return frozenset(gazetteer().provinces)
