"""Which feed owns a delivered file, and how each feed's files are parsed.

Parsers are module-level functions or partials of them, so that landing can hand them to worker processes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

from pipelines.extract import layouts as L
from pipelines.extract.landing import DeliveredFile, Parser, discover
from pipelines.extract.parsing import DecodeError, ParsedFile, decode, parse_csv, parse_jsonl, parse_parquet

FEEDS = (
    "dealers",
    "stations",
    "dealer_files",
    "vehicle_registrations",
    "call_center",
    "web_registrations",
    "service_orders",
)
OUTSIDE_CONTRACT = "file name outside the contract"


# The folders that can hold a feed's files (see `owner_feed`); web registrations own everything else.
FEED_FOLDERS = {
    "dealers": "dealers",
    "dealer_files": "dealers",
    "stations": "repair_shops",
    "service_orders": "repair_shops",
    "vehicle_registrations": "manufacturer/vehicle_registrations",
    "call_center": "manufacturer/call_center",
}
# Feeds whose only file sits at the top of their folder: its subfolders (every dealer's, every station's)
# are not walked.
REGISTRY_FEEDS = frozenset({"dealers", "stations"})


def feed_files(raw_dir: Path, feed: str) -> list[DeliveredFile]:
    """The delivered files `owner_feed` gives to `feed`, walking only the folders that can hold them."""
    folder = FEED_FOLDERS.get(feed)
    found = (
        discover(raw_dir, under=folder, recursive=feed not in REGISTRY_FEEDS)
        if folder is not None
        else discover(raw_dir, skip=frozenset(FEED_FOLDERS.values()))
    )
    return [f for f in found if owner_feed(f.rel_path) == feed]


def owner_feed(rel_path: str) -> str:
    """The feed whose asset lands (or quarantines) a file; names outside the contract go by folder."""
    if rel_path == L.DEALER_REGISTRY_FILE:
        return "dealers"
    if rel_path == L.STATION_REGISTRY_FILE:
        return "stations"
    if rel_path.startswith("dealers/"):
        return "dealer_files"
    if rel_path.startswith("repair_shops/"):
        return "service_orders"
    if rel_path.startswith("manufacturer/vehicle_registrations/"):
        return "vehicle_registrations"
    if rel_path.startswith("manufacturer/call_center/"):
        return "call_center"
    return "web_registrations"


def _decoded(data: bytes, encoding: str) -> str | ParsedFile:
    try:
        return decode(data, encoding)
    except DecodeError as exc:
        return ParsedFile.whole_file_rejected(str(exc))


def csv_parser(layout: L.Layout, path_pattern: str) -> Parser:
    """A UTF-8 CSV file at one fixed path (registries, web registrations)."""
    return partial(_parse_fixed_csv, layout, path_pattern)


def _parse_fixed_csv(
    layout: L.Layout, path_pattern: str, delivered: DeliveredFile, data: bytes
) -> ParsedFile:
    if delivered.rel_path != path_pattern:
        return ParsedFile.whole_file_rejected(OUTSIDE_CONTRACT)
    text = _decoded(data, "utf-8")
    return text if isinstance(text, ParsedFile) else parse_csv(text, layout)


DEALER_LAYOUTS = {
    ("A", "sales"): L.DEALER_SALES_A,
    ("B", "sales"): L.DEALER_SALES_B,
    ("A", "leads"): L.DEALER_LEADS_A,
    ("B", "leads"): L.DEALER_LEADS_B,
}
VENDOR_ENCODING = {"A": "utf-8", "B": "gbk"}


def dealer_parser(vendor_by_dealer: Mapping[str, str]) -> Parser:
    """Dealer DMS exports: layout and encoding follow the dealer registry's `dms_vendor`."""
    return partial(_parse_dealer_file, dict(vendor_by_dealer))


def _parse_dealer_file(
    vendor_by_dealer: Mapping[str, str], delivered: DeliveredFile, data: bytes
) -> ParsedFile:
    match = L.DEALER_FILE.match(delivered.rel_path)
    if not match:
        return ParsedFile.whole_file_rejected(OUTSIDE_CONTRACT)
    vendor = vendor_by_dealer.get(match["code"])
    if vendor is None:
        return ParsedFile.whole_file_rejected(f"dealer {match['code']} is not in the dealer registry")
    if vendor not in VENDOR_ENCODING:
        return ParsedFile.whole_file_rejected(f"dealer {match['code']} has unknown dms_vendor {vendor!r}")
    text = _decoded(data, VENDOR_ENCODING[vendor])
    if isinstance(text, ParsedFile):
        return text
    return parse_csv(text, DEALER_LAYOUTS[(vendor, match["kind"])])


def dealer_context(delivered: DeliveredFile) -> dict[str, str]:
    return {"_dealer_code": delivered.rel_path.split("/")[1]}


def station_parser(encoding_by_station: Mapping[str, str]) -> Parser:
    """Repair orders: the encoding follows the station registry."""
    return partial(_parse_station_file, dict(encoding_by_station))


def _parse_station_file(
    encoding_by_station: Mapping[str, str], delivered: DeliveredFile, data: bytes
) -> ParsedFile:
    match = L.STATION_FILE.match(delivered.rel_path)
    if not match:
        return ParsedFile.whole_file_rejected(OUTSIDE_CONTRACT)
    encoding = encoding_by_station.get(match["code"])
    if encoding is None:
        return ParsedFile.whole_file_rejected(f"station {match['code']} is not in the station registry")
    text = _decoded(data, encoding)
    return text if isinstance(text, ParsedFile) else parse_csv(text, L.SERVICE_ORDERS)


def station_context(delivered: DeliveredFile) -> dict[str, str]:
    return {"_station_code": delivered.rel_path.split("/")[1]}


def registrations_parser(delivered: DeliveredFile, data: bytes) -> ParsedFile:
    if not L.REGISTRATION_FILE.match(delivered.rel_path):
        return ParsedFile.whole_file_rejected(OUTSIDE_CONTRACT)
    return parse_parquet(data, L.VEHICLE_REGISTRATIONS)


def call_center_parser(delivered: DeliveredFile, data: bytes) -> ParsedFile:
    if not L.CALL_FILE.match(delivered.rel_path):
        return ParsedFile.whole_file_rejected(OUTSIDE_CONTRACT)
    text = _decoded(data, "utf-8")
    return text if isinstance(text, ParsedFile) else parse_jsonl(text, L.CALL_CENTER)
