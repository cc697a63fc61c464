"""The raw feeds of the data contract: where each file lives, its columns and the table it lands in."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """One landing table: the columns a file of this kind carries, as delivered."""

    table: str
    columns: tuple[str, ...]
    id_column: str
    description: str
    context: tuple[str, ...] = ()
    source_system: str | None = None  # the contract's source_system of its records; None for registries
    date_columns: tuple[str, ...] = ()  # typed columns of a Parquet layout that the contract says are dates

    def record_key(self, row: dict) -> str:
        """The contract's `source_record_id` of a landed row: `{dealer or station code}:{id}` or the id."""
        record_id = str(row[self.id_column]).strip()
        return f"{row[self.context[0]]}:{record_id}" if self.context else record_id

    def record_key_sql(self) -> str:
        """`record_key` as a SQL expression over the landing table, the same as the staging models'."""
        trimmed = f'trim("{self.id_column}")'
        return f"\"{self.context[0]}\" || ':' || {trimmed}" if self.context else trimmed


DEALERS = Layout(
    table="dealers",
    columns=("dealer_code", "dealer_name", "province", "city", "dms_vendor", "opened_on"),
    id_column="dealer_code",
    description="Dealer registry: dms_vendor decides the layout of each dealer's files.",
)
STATIONS = Layout(
    table="stations",
    columns=("station_code", "station_name", "station_type", "province", "city", "encoding"),
    id_column="station_code",
    description="Repair-station registry: station_type and the encoding of each station's files.",
)
DEALER_SALES_A = Layout(
    table="dealer_sales_vendor_a",
    columns=(
        "销售单号",
        "客户名称",
        "客户类型",
        "证件类型",
        "证件号码",
        "手机号码",
        "联系电话",
        "省份",
        "城市",
        "详细地址",
        "车架号",
        "车型代码",
        "车型名称",
        "颜色",
        "开票日期",
        "开票价格",
        "销售顾问",
    ),
    id_column="销售单号",
    description="Vehicle sales from dealers on DMS vendor A (UTF-8 with BOM, Chinese headers).",
    context=("_dealer_code",),
    source_system="dealer_sales",
)
DEALER_SALES_B = Layout(
    table="dealer_sales_vendor_b",
    columns=(
        "ORDER_NO",
        "CUST_NAME",
        "CUST_TYPE",
        "ID_NO",
        "MOBILE",
        "TEL",
        "ADDR",
        "VIN",
        "MODEL",
        "INVOICE_DATE",
        "PRICE",
        "SALES_REP",
    ),
    id_column="ORDER_NO",
    description="Vehicle sales from dealers on DMS vendor B (GBK, upper-case English headers).",
    context=("_dealer_code",),
    source_system="dealer_sales",
)
DEALER_LEADS_A = Layout(
    table="dealer_leads_vendor_a",
    columns=("线索编号", "客户姓名", "手机号码", "意向车型", "到店日期", "线索来源", "是否试驾"),
    id_column="线索编号",
    description="Showroom and test-drive leads from dealers on DMS vendor A.",
    context=("_dealer_code",),
    source_system="dealer_leads",
)
DEALER_LEADS_B = Layout(
    table="dealer_leads_vendor_b",
    columns=("LEAD_NO", "NAME", "MOBILE", "MODEL", "VISIT_DATE", "CHANNEL", "TEST_DRIVE"),
    id_column="LEAD_NO",
    description="Showroom and test-drive leads from dealers on DMS vendor B.",
    context=("_dealer_code",),
    source_system="dealer_leads",
)
VEHICLE_REGISTRATIONS = Layout(
    table="vehicle_registrations",
    columns=(
        "registration_id",
        "vin",
        "owner_name",
        "owner_type",
        "id_type",
        "id_number",
        "mobile",
        "province",
        "city",
        "address",
        "delivery_date",
        "dealer_code",
        "model_code",
    ),
    id_column="registration_id",
    description="Manufacturer warranty activations, one Parquet file a month.",
    source_system="vehicle_registrations",
    date_columns=("delivery_date",),
)
CALL_CENTER = Layout(
    table="call_center",
    columns=(
        "call_id",
        "started_at",
        "caller_number",
        "caller_name",
        "vin",
        "plate_no",
        "category",
        "related_dealer_code",
        "related_station_code",
        "model_interest",
        "purchase_intent",
        "consent_marketing",
        "notes",
    ),
    id_column="call_id",
    description="800-hotline interactions, one JSON-lines file a day.",
    source_system="call_center",
)
WEB_REGISTRATIONS = Layout(
    table="web_registrations",
    columns=(
        "reg_id",
        "registered_at",
        "email",
        "nickname",
        "name",
        "mobile",
        "province",
        "city",
        "model_interest",
        "budget_range",
        "consent_marketing",
    ),
    id_column="reg_id",
    description="Website sign-ups.",
    source_system="web_registrations",
)
SERVICE_ORDERS = Layout(
    table="service_orders",
    columns=(
        "ro_no",
        "open_date",
        "close_date",
        "plate_no",
        "vin",
        "customer_name",
        "contact_phone",
        "mileage_km",
        "service_type",
        "labor_amount",
        "parts_amount",
        "total_amount",
        "advisor",
    ),
    id_column="ro_no",
    description="Repair orders from authorised stations and independent garages, per station and month.",
    context=("_station_code",),
    source_system="service_orders",
)

LAYOUTS: tuple[Layout, ...] = (
    DEALERS,
    STATIONS,
    DEALER_SALES_A,
    DEALER_SALES_B,
    DEALER_LEADS_A,
    DEALER_LEADS_B,
    VEHICLE_REGISTRATIONS,
    CALL_CENTER,
    WEB_REGISTRATIONS,
    SERVICE_ORDERS,
)

DEALER_FILE = re.compile(r"^dealers/(?P<code>[^/]+)/(?P<kind>sales|leads)_(?P<period>\d{6})\.csv$")
STATION_FILE = re.compile(r"^repair_shops/(?P<code>[^/]+)/service_orders_(?P<period>\d{6})\.csv$")
REGISTRATION_FILE = re.compile(r"^manufacturer/vehicle_registrations/\d{4}-\d{2}\.parquet$")
CALL_FILE = re.compile(r"^manufacturer/call_center/\d{4}-\d{2}-\d{2}\.jsonl$")
WEB_FILE = "manufacturer/web_registrations.csv"
DEALER_REGISTRY_FILE = "dealers/dealers.csv"
STATION_REGISTRY_FILE = "repair_shops/stations.csv"
TRUTH_DIR = "_truth"
