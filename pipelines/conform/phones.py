"""Phone numbers -> E.164, with mobile/landline/placeholder classification (phonenumbers, region CN)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

from ._text import to_text

PhoneKind = Literal["mobile", "landline", "placeholder", "invalid", "empty"]

_HIDDEN = frozenset({"anonymous", "unknown", "private", "withheld", "匿名", "未知", "无号码"})
# Several numbers in one cell ("138.../139...") or an extension ("021-58881234转801"): keep the first number.
_FIRST = re.compile(r"[/,;，；、|转]|ext", re.IGNORECASE)
_EXCEL_FLOAT = re.compile(r"^\+?\d+\.0$")
_NON_DIGIT = re.compile(r"\D")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


@dataclass(frozen=True, slots=True)
class PhoneResult:
    e164: str | None
    kind: PhoneKind
    is_valid: bool


_EMPTY = PhoneResult(None, "empty", False)
_PLACEHOLDER = PhoneResult(None, "placeholder", False)
_INVALID = PhoneResult(None, "invalid", False)


_UP = "0123456789" * 3
_DOWN = "9876543210" * 3


def _is_run(digits: str) -> bool:
    """All one digit, or a run counting up or down (mod 10), e.g. 11111111, 12345678901, 98765432."""
    return digits == digits[0] * len(digits) or (len(digits) <= 20 and (digits in _UP or digits in _DOWN))


def is_placeholder_number(national: str) -> bool:
    """A number that identifies nobody: 11111111111, 12345678901, or a mobile whose 8-digit subscriber
    part is one repeated digit or a straight run (13800000000, 13912345678).

    Written here because phonenumbers only knows number plans, and 13800000000 fits the plan.
    """
    if len(national) >= 7 and _is_run(national):
        return True
    return len(national) == 11 and national.startswith("1") and _is_run(national[3:])


def _is_cn_mobile_form(text: str, digits: str) -> bool:
    """11 digits starting with 1, bare or behind the trunk prefix 0, 86 or 0086, or behind +86: the forms
    of a CN mobile whose national number is those 11 digits whatever phonenumbers would make of the rest."""
    if len(digits) < 11 or digits[-11] != "1":
        return False
    prefix = digits[:-11]
    if "+" in text:
        return prefix == "86" and text.startswith("+") and text.count("+") == 1
    return prefix in ("", "0", "86", "0086")


def conform_phone(raw: str | None, region: str = "CN") -> PhoneResult:
    """Parse a phone as captured in any feed; e164 is set only for valid, non-placeholder numbers."""
    text = to_text(raw)
    if text is None or text.lower() in _HIDDEN:
        return _EMPTY
    text = _FIRST.split(text, maxsplit=1)[0].strip()
    if _EXCEL_FLOAT.match(text):
        text = text[:-2]
    digits = _NON_DIGIT.sub("", text)
    if not digits:
        return _INVALID
    if len(digits) >= 7 and _is_run(digits):
        return _PLACEHOLDER
    if region == "CN" and _is_cn_mobile_form(text, digits):
        # the common case, a CN mobile as dialled at home or abroad: skip phonenumbers.parse, 4x faster
        # and the same answer
        number = PhoneNumber(country_code=86, national_number=int(digits[-11:]))
    else:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException:
            return _INVALID
    national = phonenumbers.national_significant_number(number)
    if is_placeholder_number(national):
        return _PLACEHOLDER
    number_type = phonenumbers.number_type(number)  # UNKNOWN exactly when is_valid_number is False
    if number_type == PhoneNumberType.UNKNOWN:
        return _INVALID
    kind: PhoneKind = "mobile" if number_type in _MOBILE_TYPES else "landline"
    return PhoneResult(f"+{number.country_code}{national}", kind, True)
