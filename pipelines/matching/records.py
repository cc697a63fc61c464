"""Conform party records: every identifying value cleaned by the conformers, each distinct value once."""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

import pipelines.conform
from pipelines.conform import (
    ConformedValues,
    conform_address,
    conform_email,
    conform_name,
    conform_party_id,
    conform_phone,
    conform_plate,
    conform_values,
    conform_vin,
    surname_pinyin,
)
from pipelines.workers import worker_pool

COMPANY_ID_KINDS = ("uscc", "org_code")
MATCHABLE_ID_KINDS = ("resident_id", "uscc", "org_code", "passport")
CONFORMERS: dict[str, Callable[[Any], Any]] = {
    "name_raw": conform_name,
    "phone_raw": conform_phone,
    "phone_alt_raw": conform_phone,
    "id_raw": conform_party_id,
    "vin_raw": conform_vin,
    "plate_raw": conform_plate,
    "email_raw": conform_email,
    "address_raw": conform_address,
    "city_raw": conform_address,
    "province_raw": conform_address,
}
# The libraries the conformers call: a new version of one may conform a value differently.
CONFORM_LIBRARIES = ("phonenumbers", "pypinyin", "OpenCC", "python-stdnum")
FINGERPRINT = "record_fingerprint"
PASSED_THROUGH = (
    "source_system",
    "source_record_id",
    "event_date",
    "dealer_code",
    "station_code",
    "party_type_hint",
)
# Rows assembled at a time: the conformed fields spread to every row at once would take 4 GB at 1M customers.
CHUNK_ROWS = 250_000


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


def _with_name_keys(name: ConformedValues) -> ConformedValues:
    """The distinct names with their surname key and order-free name key."""
    columns = ["pinyin_key", "surname", "script"]
    parts = name.fields[columns]
    distinct = parts.drop_duplicates()
    keys = [_pinyin_keys(k, s, sc) for k, s, sc in distinct.itertuples(index=False)]
    lookup = distinct.assign(surname_key=[k[0] for k in keys], name_key_unordered=[k[1] for k in keys])
    merged = parts.merge(lookup, on=columns, how="left")
    derived = merged[["surname_key", "name_key_unordered"]].set_index(name.fields.index)
    return ConformedValues(name.fields.join(derived), name.codes)


def _flag(column: pd.Series) -> pd.Series:
    return column.fillna(False).astype(bool)


def _assemble(records: pd.DataFrame, fields: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The conformed record for each of `records`, from its fields conformed per raw column."""
    name, phone, phone_alt = fields["name_raw"], fields["phone_raw"], fields["phone_alt_raw"]
    party_id, vin, plate = fields["id_raw"], fields["vin_raw"], fields["plate_raw"]
    email = fields["email_raw"]
    address, city, province = fields["address_raw"], fields["city_raw"], fields["province_raw"]
    out = pd.DataFrame(
        {
            "source_system": records["source_system"],
            "source_record_id": records["source_record_id"],
            "event_date": pd.to_datetime(records["event_date"]),
            "dealer_code": records["dealer_code"],
            "station_code": records["station_code"],
        }
    )
    out["name"] = name["name"]
    out["name_key"] = name["pinyin_key"]
    out["surname"] = name["surname"]
    out["surname_key"] = name["surname_key"]
    out["name_key_unordered"] = name["name_key_unordered"]
    out["is_full_name"] = _flag(name["is_full_name"])
    out["honorific_sex"] = name["honorific_sex"]
    mobile_ok = phone["kind"].eq("mobile") & _flag(phone["is_valid"])
    alt_mobile_ok = phone_alt["kind"].eq("mobile") & _flag(phone_alt["is_valid"])
    out["mobile"] = phone["e164"].where(mobile_ok).fillna(phone_alt["e164"].where(alt_mobile_ok))
    landline_ok = phone["kind"].eq("landline")
    alt_landline_ok = phone_alt["kind"].eq("landline")
    out["landline"] = phone["e164"].where(landline_ok).fillna(phone_alt["e164"].where(alt_landline_ok))
    out["phone_kind"] = phone["kind"]
    id_ok = _flag(party_id["is_valid"])
    out["id_kind"] = party_id["kind"]
    out["id_number"] = party_id["value"]
    out["id_is_valid"] = id_ok
    out["birth_date"] = pd.to_datetime(party_id["birth_date"])
    out["sex"] = party_id["sex"].fillna(name["honorific_sex"])
    vin_full = _flag(vin["is_full"])
    out["vin"] = vin["vin"].where(vin_full)
    out["vin_is_valid"] = _flag(vin["is_valid"]) & vin_full
    out["vin_last6"] = vin["last6"]
    out["plate"] = plate["plate"].where(_flag(plate["is_valid"]))
    out["email"] = email["email"].where(_flag(email["is_valid"]))
    out["province"] = address["province"].fillna(city["province"]).fillna(province["province"])
    out["city"] = address["city"].fillna(city["city"])
    out["district"] = address["district"]
    out["address"] = address["full"]
    is_company = (
        records["party_type_hint"].eq("company")
        | _flag(name["is_company"])
        | (party_id["kind"].isin(COMPANY_ID_KINDS) & id_ok)
    )
    out["party_type"] = is_company.map({True: "company", False: "person"})
    out["identifies_customer"] = (
        out["is_full_name"]
        | out["mobile"].notna()
        | (out["id_number"].notna() & id_ok & party_id["kind"].isin(MATCHABLE_ID_KINDS))
        | out["vin"].notna()
        | out["vin_last6"].notna()
        | out["plate"].notna()
        | out["email"].notna()
    )
    return out


def conform_version() -> str:
    """What a conformed record depends on besides its raw values: the conforming code (`pipelines.conform`
    and this module) and the versions of the libraries it calls. A new version re-conforms every record."""
    digest = hashlib.sha256()
    for path in [*sorted(Path(pipelines.conform.__file__).parent.glob("*.py")), Path(__file__)]:
        digest.update(path.read_bytes())
    for library in CONFORM_LIBRARIES:
        digest.update(f"{library}=={importlib.metadata.version(library)}".encode())
    return digest.hexdigest()[:16]


def record_fingerprints(records: pd.DataFrame, version: str) -> np.ndarray:
    """A 64-bit fingerprint of each record's raw values (every column) and the conforming `version`, in
    the records' order: a record with the fingerprint of a conformed one conforms to the same row."""
    with duckdb.connect() as con:
        con.register("records", records)
        hashes = con.execute("select hash(*columns(*), $version) as h from records", {"version": version})
        return hashes.fetchnumpy()["h"].view(np.int64)


def conform_records(
    records: pd.DataFrame, chunk_rows: int = CHUNK_ROWS, fingerprints: np.ndarray | None = None
) -> pa.Table:
    """Conform `int_party_records_unioned` rows and decide whether each identifies a customer, as the
    Arrow table DuckDB makes of the conformed frame (assembled `chunk_rows` at a time), with each record's
    fingerprint (`record_fingerprints`, unless given).

    A record identifies nobody when it has no full name, no usable mobile, id, VIN, plate or e-mail.
    """
    records = records.reset_index(drop=True)
    if fingerprints is None:
        fingerprints = record_fingerprints(records, conform_version())
    with worker_pool() as pool:
        conformed = {column: conform_values(records[column], fn, pool) for column, fn in CONFORMERS.items()}
    conformed["name_raw"] = _with_name_keys(conformed["name_raw"])
    # The raw values are conformed: only the columns passed through are kept (at 1M customers, freed when
    # the caller holds no other reference to the records).
    records = records[list(PASSED_THROUGH)]
    parts = []
    for start in range(0, max(len(records), 1), chunk_rows):
        stop = min(start + chunk_rows, len(records))
        fields = {column: values.rows(start, stop) for column, values in conformed.items()}
        assembled = _assemble(records.iloc[start:stop], fields).assign(
            **{FINGERPRINT: fingerprints[start:stop]}
        )
        parts.append(duckdb.from_df(assembled).to_arrow_table())
    return pa.concat_tables(parts, promote_options="default")


@dataclass(frozen=True)
class Reconformed:
    reused: int  # records whose stored conformed row was kept
    conformed: int  # records conformed in this run: new, changed, or conformed by another version


def reconform_records(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, table: str) -> Reconformed:
    """Make the conformed `table` (which holds fingerprints) hold one row per record of `records`: the
    stored row where a record's fingerprint is stored under its key, else the record conformed now. The
    table then holds what `conform_records(records)` would make, at the cost of the new and changed
    records only: the rows of records gone or changed are deleted and those conformed now inserted, in
    one transaction, so the table is no longer in the records' order (matching reads it sorted)."""
    records = records.reset_index(drop=True)
    keys = ["source_system", "source_record_id", FINGERPRINT]
    current = records[keys[:2]].assign(
        **{FINGERPRINT: record_fingerprints(records, conform_version()), "_position": np.arange(len(records))}
    )
    matched = " and ".join(f"_current.{key} = stored.{key}" for key in keys)
    con.register("_current", current)
    con.begin()
    try:
        gone = f"not exists (select 1 from _current where {matched})"
        con.execute(f"delete from {table} as stored where {gone}")
        unstored = f"select _position from _current anti join {table} using ({', '.join(keys)})"
        fresh = np.sort(con.execute(unstored).fetchnumpy()["_position"])
        if len(fresh):
            fingerprints = current[FINGERPRINT].to_numpy()[fresh]
            con.register("_fresh", conform_records(records.iloc[fresh], fingerprints=fingerprints))
            con.execute(f"insert into {table} by name select * from _fresh")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.unregister("_current")
        con.unregister("_fresh")
    return Reconformed(reused=len(records) - len(fresh), conformed=len(fresh))
