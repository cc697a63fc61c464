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
    surname_pinyin,
)
from pipelines.workers import worker_pool

COMPANY_ID_KINDS = ("uscc", "org_code")
MATCHABLE_ID_KINDS = ("resident_id", "uscc", "org_code", "passport")


def _prefixed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame.add_prefix(prefix)


def _pinyin_keys(
    pinyin_key: str | None, surname: str | None, script: str | None
) -> tuple[str | None, str | None]:
    """(surname in pinyin, surname and given name in pinyin sorted): 'Li Lin' and 林丽 agree on the latter."""
    if not isinstance(pinyin_key, str) or not isinstance(surname, str):
        return None, pinyin_key if isinstance(pinyin_key, str) else None
    surname_key = surname.lower() if script == "latin" else surname_pinyin(surname)
    if not pinyin_key.startswith(surname_key) or len(pinyin_key) == len(surname_key):
        return surname_key, pinyin_key
    return surname_key, "".join(sorted([surname_key, pinyin_key[len(surname_key) :]]))


def _derived_name_keys(name: pd.DataFrame) -> pd.DataFrame:
    columns = ["name_pinyin_key", "name_surname", "name_script"]
    parts = name[columns]
    distinct = parts.drop_duplicates()
    keys = [_pinyin_keys(k, s, sc) for k, s, sc in distinct.itertuples(index=False)]
    lookup = distinct.assign(surname_key=[k[0] for k in keys], name_key_unordered=[k[1] for k in keys])
    merged = parts.merge(lookup, on=columns, how="left")
    return merged[["surname_key", "name_key_unordered"]].set_index(name.index)


def conform_records(records: pd.DataFrame) -> pd.DataFrame:
    """Conform `int_party_records_unioned` rows and decide whether each identifies a customer.

    A record identifies nobody when it has no full name, no usable mobile, id, VIN, plate or e-mail.
    """
    with worker_pool() as pool:
        name = _prefixed(conform_column(records["name_raw"], conform_name, pool), "name_")
        phone = _prefixed(conform_column(records["phone_raw"], conform_phone, pool), "phone_")
        phone_alt = _prefixed(conform_column(records["phone_alt_raw"], conform_phone, pool), "phone_alt_")
        party_id = _prefixed(conform_column(records["id_raw"], conform_party_id, pool), "id_")
        vin = _prefixed(conform_column(records["vin_raw"], conform_vin, pool), "vin_")
        plate = _prefixed(conform_column(records["plate_raw"], conform_plate, pool), "plate_")
        email = _prefixed(conform_column(records["email_raw"], conform_email, pool), "email_")
        address = _prefixed(conform_column(records["address_raw"], conform_address, pool), "address_")
        city = conform_column(records["city_raw"], conform_address, pool)
        province = conform_column(records["province_raw"], conform_address, pool)
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
    derived = _derived_name_keys(name)
    out["surname_key"] = derived["surname_key"]
    out["name_key_unordered"] = derived["name_key_unordered"]
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
    out["province"] = address["address_province"].fillna(city["province"]).fillna(province["province"])
    out["city"] = address["address_city"].fillna(city["city"])
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
