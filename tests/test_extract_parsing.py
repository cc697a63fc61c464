"""Parsers: one delivered file's bytes in, rows as delivered and rejected rows with reasons out."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.extract import layouts as L
from pipelines.extract.parsing import DecodeError, decode, parse_csv, parse_jsonl, parse_parquet

SALES_A_HEADER = ",".join(L.DEALER_SALES_A.columns)


def sales_a_row(order_no: str, name: str = "张伟", address: str = "浦东新区张江路1号") -> str:
    values = [
        order_no,
        name,
        "个人",
        "身份证",
        "110101199003071234",
        "13800138000",
        "",
        "上海",
        "上海",
        address,
        "LSGJA52U8CH000001",
        "CRZ",
        "科鲁泽",
        "白",
        "2024-01-05",
        "129900",
        "王强",
    ]
    return ",".join(values)


def test_bom_crlf_quoted_commas_blank_lines_and_total_row():
    text = (
        "\ufeff"
        + "\r\n".join(
            [
                SALES_A_HEADER,
                sales_a_row("S001"),
                "",
                sales_a_row("S002", address='"上海市浦东新区,张江路2号"'),
                "   ",
                "合计,,,,,,,,,,,,,,,259800,",
            ]
        )
        + "\r\n"
    )
    parsed = parse_csv(decode(text.encode("utf-8"), "utf-8"), L.DEALER_SALES_A)
    assert [r["销售单号"] for r in parsed.rows] == ["S001", "S002"]
    assert parsed.rows[1]["详细地址"] == "上海市浦东新区,张江路2号"
    assert [r["_row_number"] for r in parsed.rows] == [2, 4]
    assert [(q.line_number, q.reason) for q in parsed.rejected] == [(6, "total row")]
    assert parsed.rejected[0].raw_text.startswith("合计")


def test_bad_rows_are_rejected_with_reasons_and_text():
    text = "\n".join(
        [
            SALES_A_HEADER,
            sales_a_row("S001"),
            "this line is garbage",
            sales_a_row(""),
            sales_a_row("S001", name="李娜"),
        ]
    )
    parsed = parse_csv(text, L.DEALER_SALES_A)
    assert len(parsed.rows) == 1
    reasons = {q.line_number: q.reason for q in parsed.rejected}
    assert reasons == {
        3: "expected 17 fields, got 1",
        4: "missing record id",
        5: "duplicate record id S001 in file",
    }
    assert parsed.rejected[0].raw_text == "this line is garbage"


def test_extra_column_is_kept_and_missing_column_loads_as_null():
    columns = [c for c in L.DEALER_LEADS_A.columns if c != "是否试驾"] + ["备注"]
    text = ",".join(columns) + "\nL1,张伟,13800138000,CRZ,2024-01-05,展厅,老客户介绍\n"
    parsed = parse_csv(text, L.DEALER_LEADS_A)
    (row,) = parsed.rows
    assert "是否试驾" not in row
    assert json.loads(row["_extra_columns"]) == {"备注": "老客户介绍"}


def test_header_without_record_id_rejects_the_whole_file():
    parsed = parse_csv("CUST_NAME,MOBILE\n张伟,13800138000\n", L.DEALER_SALES_B)
    assert parsed.rows == []
    assert parsed.file_error.startswith("header lacks the record-id column 'ORDER_NO'")


def test_gbk_decodes_and_wrong_encodings_are_named():
    text = "ORDER_NO,CUST_NAME\n00000123,張偉\n"
    assert decode(text.encode("gbk"), "gbk") == text
    with pytest.raises(DecodeError, match="declared gbk but the file is UTF-8"):
        decode(text.encode("utf-8"), "gbk")
    with pytest.raises(DecodeError, match="declared utf-8"):
        decode(text.encode("gbk"), "utf-8")


def test_vendor_b_keeps_leading_zeros():
    header = ",".join(L.DEALER_SALES_B.columns)
    row = (
        "00000123,张伟,P,110101199003071234,13800138000,,上海市浦东新区张江路1号,VIN,CRZ,20240105,129900,王强"
    )
    parsed = parse_csv(f"{header}\n{row}\n", L.DEALER_SALES_B)
    assert parsed.rows[0]["ORDER_NO"] == "00000123"


def test_jsonl_bad_lines_and_missing_keys():
    lines = [
        json.dumps({"call_id": "C1", "caller_number": None, "consent_marketing": True, "extra": 1}),
        "{not json",
        "[1, 2]",
        json.dumps({"caller_name": "张先生"}),
        "",
        json.dumps({"call_id": "C2", "category": "complaint"}, ensure_ascii=False),
    ]
    parsed = parse_jsonl("\n".join(lines), L.CALL_CENTER)
    assert [r["call_id"] for r in parsed.rows] == ["C1", "C2"]
    first = parsed.rows[0]
    assert first["caller_number"] is None and first["consent_marketing"] == "true"
    assert json.loads(first["_extra_columns"]) == {"extra": 1}
    assert parsed.rows[1]["_row_number"] == 6
    assert [(q.line_number, q.reason.split(":")[0]) for q in parsed.rejected] == [
        (2, "invalid JSON"),
        (3, "JSON line is not an object"),
        (4, "missing record id"),
    ]


def test_parquet_lands_as_text():
    import datetime as dt

    table = pa.table(
        {
            "registration_id": ["R1", None],
            "vin": ["LSGJA52U8CH000001", "LSGJA52U8CH000002"],
            "delivery_date": [dt.date(2024, 1, 9), dt.date(2024, 2, 1)],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    parsed = parse_parquet(buffer.getvalue(), L.VEHICLE_REGISTRATIONS)
    assert parsed.rows[0]["delivery_date"] == "2024-01-09"
    assert parsed.rows[0]["owner_name"] is None
    assert [(q.line_number, q.reason) for q in parsed.rejected] == [(2, "missing record id")]
    assert parse_parquet(b"not parquet", L.VEHICLE_REGISTRATIONS).file_error.startswith("unreadable parquet")
