"""`as_frame` gives the frame DuckDB's `fetchdf` gives, column type by column type."""

from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.resources import Warehouse
from pipelines.tables import DuckDBTables, as_frame, plain_text

VALUES = """
    select * from (values
        (1, 10::tinyint, 100::integer, true, 12.50::decimal(12, 2), date '2024-02-29',
         timestamp '2024-01-01 08:00:00', timestamptz '2024-01-01 08:00:00+08', '王小明', null::varchar, 1.5),
        (2, null, 200, null, null, null, null, null, 'Wang Xiaoming', null, null),
        (3, 30, 300, false, 0.01, date '1999-12-31', timestamp '1999-12-31 23:59:59.123456',
         timestamptz '1999-12-31 23:59:59+00', null, null, 2.5)
    ) as t(id, small, plain, flag, amount, day, seen_at, seen_at_tz, name, nothing, ratio)
"""


@pytest.mark.parametrize("large_strings", [False, True])
@pytest.mark.parametrize("where", ["", "where id = 1", "where id = 2", "where false"])
def test_as_frame_equals_fetchdf(where: str, large_strings: bool):
    # The warehouse's connections hand text over as large strings (`Warehouse.connect`); DuckDB's default too
    con = duckdb.connect(config={"arrow_large_buffer_size": large_strings})
    con.execute("set timezone = 'Asia/Shanghai'")
    sql = f"select * from ({VALUES}) {where}"
    expected = con.execute(sql).fetchdf()
    frame = as_frame(con.sql(sql).to_arrow_table())
    pd.testing.assert_frame_equal(frame, expected)


def test_duckdb_tables_read_round_trips_a_written_frame():
    con = duckdb.connect()
    tables = DuckDBTables(con)
    con.execute(f"create schema s; create table s.t as {VALUES}")
    frame = tables.read("s", "t")
    assert frame["amount"].tolist()[::2] == [12.5, 0.01]
    assert str(frame["small"].dtype) == "Int8" and frame["small"].isna().tolist() == [False, True, False]
    assert frame["nothing"].dtype == object and frame["nothing"].isna().all()
    tables.replace("s", "u", frame)
    assert con.execute("select count(*), sum(plain), count(flag) from s.u").fetchall() == [(3, 600, 2)]


def test_read_where_filters_in_the_engine():
    con = duckdb.connect()
    tables = DuckDBTables(con)
    con.execute(f"create schema s; create table s.t as {VALUES}")
    day = tables.read("s", "t", where={"day": date(2024, 2, 29)})
    assert day["id"].tolist() == [1]
    expected = con.execute("select * from s.t where day = date '2024-02-29'").fetchdf()
    pd.testing.assert_frame_equal(day, expected)
    assert tables.read("s", "t", where={"id": 3, "plain": 300})["name"].isna().tolist() == [True]
    assert tables.read("s", "t", where={"id": 4}).empty


def test_read_only_some_columns_in_their_order():
    con = duckdb.connect()
    tables = DuckDBTables(con)
    con.execute(f"create schema s; create table s.t as {VALUES}")
    frame = tables.read("s", "t", where={"day": date(2024, 2, 29)}, columns=["name", "id"])
    expected = con.execute("select name, id from s.t where day = date '2024-02-29'").fetchdf()
    pd.testing.assert_frame_equal(frame, expected)
    assert list(tables.read("s", "t", columns=["small"]).columns) == ["small"]


def test_read_text_as_categoricals_and_back():
    con = duckdb.connect(config={"arrow_large_buffer_size": True})
    tables = DuckDBTables(con)
    con.execute(f"create schema s; create table s.t as {VALUES}")
    plain = tables.read("s", "t")
    coded = tables.read("s", "t", categorical=["name", "nothing", "id"])
    assert list(coded.columns) == list(plain.columns)
    assert isinstance(coded["name"].dtype, pd.CategoricalDtype)
    assert coded["name"].isna().tolist() == [False, False, True]
    assert isinstance(coded["nothing"].dtype, pd.CategoricalDtype) and coded["nothing"].isna().all()
    # Only text is coded: the rest comes as it always does.
    text = ["name", "nothing"]
    pd.testing.assert_frame_equal(coded.drop(columns=text), plain.drop(columns=text))
    pd.testing.assert_series_equal(plain_text(coded["name"]), plain["name"])
    name = plain["name"]
    assert plain_text(name) is name
    some = tables.read("s", "t", where={"plain": 200}, columns=["name", "id"], categorical=["name"])
    assert some["name"].tolist() == ["Wang Xiaoming"] and some["id"].tolist() == [2]
    # Asked to code no text column, it reads as without `categorical`.
    pd.testing.assert_frame_equal(
        tables.read("s", "t", columns=["id", "ratio"], categorical=["id"]), plain[["id", "ratio"]]
    )
    none = tables.read("s", "t", where={"id": 4}, columns=["name"], categorical=["name"])
    assert none.empty and isinstance(none["name"].dtype, pd.CategoricalDtype)


def test_read_sorted_by_a_key_whatever_the_stored_order():
    con = duckdb.connect(config={"arrow_large_buffer_size": True})
    tables = DuckDBTables(con)
    con.execute("create schema s; create table s.t as select * from range(5000) as r(id) order by hash(id)")
    con.execute("alter table s.t add column name varchar default 'x'")
    con.execute("update s.t set name = case when id % 3 = 0 then 'a' when id % 3 = 1 then 'b' end")
    assert tables.read("s", "t", columns=["id"])["id"].tolist() != list(range(5000))
    # The coded column and the plain ones come from two queries: both sort, so rows stay whole.
    frame = tables.read("s", "t", where={"name": "b"}, categorical=["name"], order_by=["id"])
    assert frame["id"].tolist() == list(range(1, 5000, 3))
    assert isinstance(frame["name"].dtype, pd.CategoricalDtype) and set(frame["name"]) == {"b"}
    coded = tables.read("s", "t", categorical=["name"], order_by=["id"])
    assert coded["id"].tolist() == list(range(5000))
    assert plain_text(coded["name"]).fillna("-").tolist() == ["ab-"[i % 3] for i in range(5000)]


def test_categoricals_are_written_as_text():
    con = duckdb.connect()
    tables = DuckDBTables(con)
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "kind": pd.Categorical(["a", None, "a"]), "n": pd.Categorical([1, 2, 1])}
    )
    tables.replace("s", "t", frame)
    tables.append("s", "t", frame)
    tables.append("s", "u", pa.Table.from_pandas(frame, preserve_index=False))
    for table in ("t", "u"):
        kinds = con.execute(
            f"select column_name, data_type from information_schema.columns where table_name = '{table}'"
        )
        assert dict(kinds.fetchall())["kind"] == "VARCHAR"
    assert con.execute("select kind, count(*) from s.t group by all order by all").fetchall() == [
        ("a", 4),
        (None, 2),
    ]


def test_warehouse_connections_hand_text_over_as_large_strings(tmp_path):
    with Warehouse(path=str(tmp_path / "w.duckdb")).connect() as con:
        assert con.sql("select 'a' as s").to_arrow_table().schema.field("s").type == pa.large_string()
