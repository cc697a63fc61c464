"""Chinese addresses -> province / city / district / street, with short official province and city names.

The gazetteer is python-stdnum's GB/T 2260 code list; matching is prefix-greedy and deliberately simple.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from ._gazetteer import MUNICIPALITIES, Gazetteer, gazetteer
from ._text import remove_whitespace, to_simplified, to_text


@dataclass(frozen=True, slots=True)
class AddressResult:
    province: str | None
    city: str | None
    district: str | None
    street: str | None
    full: str | None


V = TypeVar("V")
_EMPTY = AddressResult(None, None, None, None, None)
_LEADING_JUNK = re.compile(r"^[,，;；:：\-_/()\s]+")
# A short name followed by one of these is a street ("南京路") or another place ("朝阳区"), not the place.
_NOT_AFTER_SHORT = tuple("路街道巷弄里号大桥区县旗镇乡村")


def _match(text: str, aliases: Mapping[str, V]) -> tuple[str, V] | None:
    """Longest alias that prefixes text -> (alias, value)."""
    for size in range(min(len(text), 12), 1, -1):
        head = text[:size]
        if head in aliases:
            if (
                size < len(text)
                and text[size].startswith(_NOT_AFTER_SHORT)
                and not head.endswith(("区", "县", "市"))
            ):
                continue
            return head, aliases[head]
    return None


def _resolve_province(gaz: Gazetteer, hint: str | None) -> str | None:
    text = to_text(hint)
    return gaz.province_alias.get(to_simplified(remove_whitespace(text))) if text else None


def _resolve_city(gaz: Gazetteer, hint: str | None, province: str | None) -> str | None:
    text = to_text(hint)
    if not text:
        return None
    text = to_simplified(remove_whitespace(text))
    if province in MUNICIPALITIES:
        return province
    if province:
        return gaz.city_alias.get(province, {}).get(text)
    if text in gaz.province_alias and gaz.province_alias[text] in MUNICIPALITIES:
        return gaz.province_alias[text]
    codes = {c for aliases in gaz.city_alias.values() for a, c in aliases.items() if a == text}
    return codes.pop() if len(codes) == 1 else None


def conform_address(
    raw: str | None, province_hint: str | None = None, city_hint: str | None = None
) -> AddressResult:
    """Split an address; parts not in the text come from the hints (the text wins where they disagree)."""
    gaz = gazetteer()
    text = to_text(raw)
    text = to_simplified(remove_whitespace(text)) if text else ""
    province: str | None = None
    city: str | None = None
    district: str | None = None

    # 1. a province, or a prefecture-level city ("吉林市..." is the city, not 吉林省; "深圳南山区...")
    prov_hit = _match(text, gaz.province_alias)
    city_hit = _match(text, gaz.city_start)
    hinted = _resolve_province(gaz, province_hint)
    if city_hit and hinted and not prov_hit and gaz.cities[city_hit[1]][1] != hinted:
        city_hit = None  # the hint's province has no such city: a street or district name
    if city_hit and (not prov_hit or len(city_hit[0]) > len(prov_hit[0])):
        city, province = city_hit[1], gaz.cities[city_hit[1]][1]
        text = text[len(city_hit[0]) :]
    elif prov_hit:
        province = prov_hit[1]
        text = text[len(prov_hit[0]) :]
    province = province or hinted

    # 2. the city (a municipality is its own city; its name may be repeated: 上海市上海市...)
    if city is None and province in MUNICIPALITIES:
        city = province
        again = _match(text, gaz.province_alias)
        if again and again[1] == province:
            text = text[len(again[0]) :]
    elif city is None and province:
        hit = _match(text, gaz.city_alias.get(province, {}))
        if hit:
            city, text = hit[1], text[len(hit[0]) :]
    if city is None:
        city = _resolve_city(gaz, city_hint, province)
        if city and province is None:
            province = gaz.cities[city][1]

    # 3. the district, within the city; or, with no city, a district name that is unique in the country
    if city is not None:
        hit = _match(text, gaz.district_alias.get(city, {}))
        if hit:
            district, text = hit[1], text[len(hit[0]) :]
    else:
        found = _match(text, gaz.district_unique)
        if found:
            alias, (parent, name) = found
            if province is None or parent.startswith(province):
                city, district, text = parent, name, text[len(alias) :]
                province = province or gaz.cities[parent][1]

    street = _LEADING_JUNK.sub("", text) or None
    province_name = gaz.provinces.get(province) if province else None
    city_name = gaz.cities[city][0] if city in gaz.cities else None
    if not any((province_name, city_name, district, street)):
        return _EMPTY
    parts = [province_name, city_name if city_name != province_name else None, district, street]
    return AddressResult(province_name, city_name, district, street, "".join(p for p in parts if p))
