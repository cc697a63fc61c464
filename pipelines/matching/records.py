"""Conform party records: every identifying value cleaned by the conformers, each distinct value once."""

from __future__ import annotations

import pandas as pd

from pipelines.conform import (
    conform_address,
    conform_column,
    conform_email,
    conform_name,
    conform_party_id,
    conform_phone,
    conform_plate,
    conform_vin,
)

COMPANY_ID_KINDS = ("uscc", "org_code")
MATCHABLE_ID_KINDS = ("resident_id", "uscc", "org_code", "passport")


def _prefixed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame.add_prefix(prefix)


def conform_records(records: pd.DataFrame) -> pd.DataFrame:
    """Conform `int_party_records_unioned` rows and decide whether each identifies a customer.

    A record identifies nobody when it has no full name, no usable mobile, id, VIN, plate or e-mail.
    """
    name = _prefixed(conform_column(records["name_raw"], conform_name), "name_")
    phone = _prefixed(conform_column(records["phone_raw"], conform_phone), "phone_")
    phone_alt = _prefixed(conform_column(records["phone_alt_raw"], conform_phone), "phone_alt_")
    party_id = _prefixed(conform_column(records["id_raw"], conform_party_id), "id_")
    vin = _prefixed(conform_column(records["vin_raw"], conform_vin), "vin_")
    plate = _prefixed(conform_column(records["plate_raw"], conform_plate), "plate_")
    email = _prefixed(conform_column(records["email_raw"], conform_email), "email_")
    address = _prefixed(conform_column(records["address_raw"], conform_address), "address_")
    out = pd.DataFrame(
        {
            "source_system": records["source_system"],
            "source_record_id": records["source_record_id"],
            "event_date": pd.to_datetime(records["event_date"]),
            "dealer_code": records["dealer_code"],
            "station_code": records["station_code"],
        }
    )
    out["name"] = name["name_name"]
    out["name_key"] = name["name_pinyin_key"]
    out["surname"] = name["name_surname"]
    out["is_full_name"] = name["name_is_full_name"].fillna(False).astype(bool)
    out["honorific_sex"] = name["name_honorific_sex"]
    mobile_ok = phone["phone_kind"].eq("mobile") & phone["phone_is_valid"].fillna(False).astype(bool)
    alt_mobile_ok = phone_alt["phone_alt_kind"].eq("mobile") & phone_alt["phone_alt_is_valid"].fillna(
        False
    ).astype(bool)
    out["mobile"] = (
        phone["phone_e164"].where(mobile_ok).fillna(phone_alt["phone_alt_e164"].where(alt_mobile_ok))
    )
    landline_ok = phone["phone_kind"].eq("landline")
    alt_landline_ok = phone_alt["phone_alt_kind"].eq("landline")
    out["landline"] = (
        phone["phone_e164"].where(landline_ok).fillna(phone_alt["phone_alt_e164"].where(alt_landline_ok))
    )
    out["phone_kind"] = phone["phone_kind"]
    id_ok = party_id["id_is_valid"].fillna(False).astype(bool)
    out["id_kind"] = party_id["id_kind"]
    out["id_number"] = party_id["id_value"]
    out["id_is_valid"] = id_ok
    out["birth_date"] = pd.to_datetime(party_id["id_birth_date"])
    out["sex"] = party_id["id_sex"].fillna(name["name_honorific_sex"])
    vin_full = vin["vin_is_full"].fillna(False).astype(bool)
    out["vin"] = vin["vin_vin"].where(vin_full)
    out["vin_is_valid"] = vin["vin_is_valid"].fillna(False).astype(bool) & vin_full
    out["vin_last6"] = vin["vin_last6"]
    out["plate"] = plate["plate_plate"].where(plate["plate_is_valid"].fillna(False).astype(bool))
    out["email"] = email["email_email"].where(email["email_is_valid"].fillna(False).astype(bool))
    out["province"] = address["address_province"].fillna(records["province_raw"])
    out["city"] = address["address_city"].fillna(records["city_raw"])
    out["district"] = address["address_district"]
    out["address"] = address["address_full"]
    is_company = (
        records["party_type_hint"].eq("company")
        | name["name_is_company"].fillna(False).astype(bool)
        | (party_id["id_kind"].isin(COMPANY_ID_KINDS) & id_ok)
    )
    out["party_type"] = is_company.map({True: "company", False: "person"})
    out["identifies_customer"] = (
        out["is_full_name"]
        | out["mobile"].notna()
        | (out["id_number"].notna() & id_ok & party_id["id_kind"].isin(MATCHABLE_ID_KINDS))
        | out["vin"].notna()
        | out["vin_last6"].notna()
        | out["plate"].notna()
        | out["email"].notna()
    )
    return out
