"""Conforming functions: raw customer-data values -> clean, typed, comparable values.

Every conformer is a pure function of one raw value (None and NaN allowed) returning a frozen dataclass.
"""

from .addresses import AddressResult, conform_address
from .emails import EmailResult, conform_email
from .frame import ConformedValues, conform_column, conform_values
from .ids import IdResult, conform_party_id, org_code_check_digit, parse_id_hint
from .names import NameResult, conform_name, surname_pinyin
from .phones import PhoneResult, conform_phone, is_placeholder_number
from .vehicles import PlateResult, VinResult, conform_plate, conform_vin, vin_check_digit

__all__ = [
    "AddressResult",
    "ConformedValues",
    "EmailResult",
    "IdResult",
    "NameResult",
    "PhoneResult",
    "PlateResult",
    "VinResult",
    "conform_address",
    "conform_column",
    "conform_email",
    "conform_name",
    "conform_party_id",
    "conform_phone",
    "conform_plate",
    "conform_values",
    "conform_vin",
    "is_placeholder_number",
    "org_code_check_digit",
    "parse_id_hint",
    "surname_pinyin",
    "vin_check_digit",
]
