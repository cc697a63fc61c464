"""Party ids: resident id cards, unified social credit codes, organisation codes, passports.

The value decides the kind wherever its check digits prove it; the hint (an id-type label from the
feed) only breaks ties the value leaves open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from ._gazetteer import province_codes
from ._text import remove_whitespace, to_text

IdKind = Literal["resident_id", "uscc", "org_code", "passport", "unknown", "empty"]
Sex = Literal["M", "F"]


@dataclass(frozen=True, slots=True)
class IdResult:
    kind: IdKind
    value: str | None
    is_valid: bool
    birth_date: date | None = None
    sex: Sex | None = None
    region_code: str | None = None


_EMPTY = IdResult("empty", None, False)

# Labels of the feeds (vendor A 证件类型, registrations id_type) -> kind; matched as substrings.
_HINTS: tuple[tuple[str, IdKind], ...] = (
    ("身份证", "resident_id"),
    ("ID_CARD", "resident_id"),
    ("IDCARD", "resident_id"),
    ("RESIDENT", "resident_id"),
    ("护照", "passport"),
    ("護照", "passport"),
    ("PASSPORT", "passport"),
    ("统一社会信用代码", "uscc"),
    ("統一社會信用代碼", "uscc"),
    ("信用代码", "uscc"),
    ("营业执照", "uscc"),
    ("USCC", "uscc"),
    ("组织机构代码", "org_code"),
    ("組織機構代碼", "org_code"),
    ("ORG_CODE", "org_code"),
    ("ORGCODE", "org_code"),
)
_COMPANY_KINDS = ("uscc", "org_code")

_SEPARATORS = re.compile(r"[\s\-_./·]")
_RIC18 = re.compile(r"^\d{17}[\dX]$")
_RIC15 = re.compile(r"^\d{15}$")
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_ORG_SHAPE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
_ORG_HYPHEN = re.compile(r"^[0-9A-Z]{8}-[0-9X]$")
# Chinese ordinary / e-passports (E12345678, EA1234567, G12345678) look like org codes; shape decides.
_CN_PASSPORT = re.compile(r"^(?:[EGDSP]\d{8}|E[A-Z]\d{7})$")
_PASSPORT = re.compile(r"^(?=.*\d)[A-Z0-9]{5,9}$")
# GB 11714 organisation code: python-stdnum has no module for it, so the check digit is computed here.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def parse_id_hint(hint: str | None) -> IdKind | None:
    """Map an id-type label to a kind; None when absent or not recognised."""
    text = to_text(hint)
    if text is None:
        return None
    text = text.upper().replace(" ", "")
    for label, kind in _HINTS:
        if label in text:
            return kind
    return None


def org_code_check_digit(body: str) -> str:
    """GB 11714-1997 check character for the 8-character body of an organisation code."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _org_valid(code: str) -> bool:
    return bool(_ORG_SHAPE.match(code)) and org_code_check_digit(code[:8]) == code[8]


def _birth(number18: str) -> date | None:
    try:
        born = ric.get_birth_date(number18)
    except ValidationError:
        return None
    return born if born.year >= 1900 else None


def _resident(number18: str) -> IdResult:
    """Resident id of 18 chars; valid = check digit (ISO 7064 MOD 11-2), birth date and known province."""
    born = _birth(number18)
    valid = (
        born is not None
        and ric.calc_check_digit(number18) == number18[-1]
        and number18[:2] in province_codes()
    )
    sex: Sex | None = None if born is None else ("M" if int(number18[16]) % 2 else "F")
    return IdResult("resident_id", number18, valid, born, sex, number18[:6])


def _upgrade15(number15: str) -> str:
    """Legacy 15-digit id -> 18 digits: insert the century (19) and append the computed check digit."""
    body = number15[:6] + "19" + number15[6:]
    return body + ric.calc_check_digit(body + "0")


def conform_party_id(raw: str | None, id_type_hint: str | None = None) -> IdResult:
    text = to_text(raw)
    if text is None:
        return _EMPTY
    text = remove_whitespace(text).upper()
    hint = parse_id_hint(id_type_hint)
    if _ORG_HYPHEN.match(text):
        code = text.replace("-", "")
        return IdResult("org_code", code, _org_valid(code))
    value = _SEPARATORS.sub("", text)

    if _RIC18.match(value):
        result = _resident(value)
        if result.is_valid:
            return result
    # An all-digit value that reads as a resident id (province, birth date) and fails only its check digit
    # is a mistyped resident id, even when it happens to pass the USCC check (1 in 31).
    looks_resident = (
        _RIC18.match(value) is not None
        and hint not in _COMPANY_KINDS
        and value[:2] in province_codes()
        and _birth(value) is not None
    )
    if _USCC_SHAPE.match(value) and uscc.is_valid(value) and not looks_resident:
        return IdResult("uscc", value, True, region_code=value[2:8])
    if len(value) == 9 and _org_valid(value) and hint != "passport" and not _CN_PASSPORT.match(value):
        return IdResult("org_code", value, True)

    # Nothing proven by a check digit: the shape narrows the kinds, the hint picks among them.
    if _RIC18.match(value) and (looks_resident or hint == "resident_id" or not _USCC_SHAPE.match(value)):
        return _resident(value)
    if _USCC_SHAPE.match(value):
        return IdResult("uscc", value, False, region_code=value[2:8])
    if _RIC15.match(value):
        if hint in _COMPANY_KINDS:  # an old 15-digit business licence number, not a person
            return IdResult("unknown", value, False)
        upgraded = _upgrade15(value)
        if _birth(upgraded) is not None or hint == "resident_id":
            return _resident(upgraded)
    if _ORG_SHAPE.match(value) and hint == "org_code":
        return IdResult("org_code", value, False)
    if _PASSPORT.match(value) and (hint == "passport" or not value.isdigit()):
        return IdResult("passport", value, True)
    if hint == "passport" and value.isalnum():
        return IdResult("passport", value, False)
    if _ORG_SHAPE.match(value) and hint in _COMPANY_KINDS:
        return IdResult("org_code", value, False)
    return IdResult("unknown", value, False)
