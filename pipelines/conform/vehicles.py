"""Vehicle identifiers: VIN (ISO 3779, check digit in position 9) and Chinese licence plates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import remove_whitespace, to_simplified, to_text


@dataclass(frozen=True, slots=True)
class VinResult:
    vin: str | None
    last6: str | None
    is_full: bool
    is_valid: bool


@dataclass(frozen=True, slots=True)
class PlateResult:
    plate: str | None
    is_valid: bool
    is_new_energy: bool


# python-stdnum 2.2 has no VIN module, so the check digit (North American / ISO 3779 scheme, also
# mandatory for Chinese VINs under GB 16735) is computed here.
_VIN_VALUES = dict(
    zip(
        "0123456789ABCDEFGHJKLMNPRSTUVWXYZ",
        (*range(10), *range(1, 9), *range(1, 6), 7, 9, *range(2, 10)),
        strict=True,
    )
)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_REPAIR = str.maketrans({"I": "1", "O": "0", "Q": "0"})
_VIN_SEPARATORS = re.compile(r"[\s\-_.·*]")
_VIN_CHARS = re.compile(r"^[0-9A-HJ-NPR-Z]+$")

_EMPTY_VIN = VinResult(None, None, False, False)


def vin_check_digit(vin: str) -> str:
    """Check character (position 9) of a 17-character VIN: weighted sum of the transliterated chars mod 11."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def conform_vin(raw: str | None) -> VinResult:
    """17 chars -> full VIN (valid when its check digit agrees); 6 chars -> last6 only; else nothing."""
    text = to_text(raw)
    if text is None:
        return _EMPTY_VIN
    vin = _VIN_SEPARATORS.sub("", text).upper().translate(_VIN_REPAIR)
    if not _VIN_CHARS.match(vin):
        return _EMPTY_VIN
    if len(vin) == 17:
        return VinResult(vin, vin[-6:], True, vin[8] == vin_check_digit(vin))
    if len(vin) == 6:
        return VinResult(None, vin, False, True)
    return _EMPTY_VIN


# Plate rules (GA 36): no library covers them, hence the patterns below.
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SERIAL = "[A-HJ-NP-Z0-9]"
_REGULAR = re.compile(rf"^[{_PLATE_PROVINCES}][A-HJ-NP-Z]{_SERIAL}{{4}}[A-HJ-NP-Z0-9挂学警港澳领试超]$")
_NEW_ENERGY = re.compile(rf"^[{_PLATE_PROVINCES}][A-HJ-NP-Z](?:[DF]{_SERIAL}\d{{4}}|\d{{5}}[DF])$")
_PLATE_SEPARATORS = re.compile(r"[\s\-_.·•・‧∙]")


def conform_plate(raw: str | None) -> PlateResult:
    """'沪a·12345' -> '沪A12345'; 8-character new-energy plates (沪AD12345, 沪A12345D) are valid."""
    text = to_text(raw)
    if text is None:
        return PlateResult(None, False, False)
    plate = _PLATE_SEPARATORS.sub("", remove_whitespace(text)).upper()
    if plate and plate[0] not in _PLATE_PROVINCES:
        plate = to_simplified(plate[0]) + plate[1:]  # 滬A12345
    if _NEW_ENERGY.match(plate):
        return PlateResult(plate, True, True)
    return PlateResult(plate or None, bool(_REGULAR.match(plate)), False)
