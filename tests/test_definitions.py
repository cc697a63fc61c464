"""The code location loads and shows the whole layered graph, as `dagster dev` would."""

import dagster as dg

from pipelines.definitions import defs


def test_graph_has_every_layer_grouped_and_owned():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw/dealers",
        "raw/stations",
        "raw/dealer_sales_vendor_a",
        "raw/dealer_sales_vendor_b",
        "raw/dealer_leads_vendor_a",
        "raw/dealer_leads_vendor_b",
        "raw/vehicle_registrations",
        "raw/call_center",
        "raw/web_registrations",
        "raw/service_orders",
        "staging/stg_dms__sales",
        "staging/stg_dms__leads",
        "staging/stg_oem__vehicle_registrations",
        "staging/stg_oem__calls",
        "staging/stg_oem__web_registrations",
        "staging/stg_shops__service_orders",
        "intermediate/int_party_records_unioned",
        "intermediate/int_party_records_conformed",
        "intermediate/int_party_records_clustered",
        "marts/customer_xref",
        "marts/dim_customer",
        "marts/dim_vehicle",
        "marts/fct_vehicle_ownership",
    } <= keys
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        # Mining and dealer network tables land in marts but form their own groups.
        own_group = key.path[0] == "marts" and node.group_name in ("mining", "dealer_network")
        assert node.group_name == key.path[0] or own_group, key
        assert node.owners == ["team:data-platform"], key
        assert node.kinds, key


def test_layers_depend_in_order():
    graph = defs.resolve_asset_graph()
    xref = graph.get(dg.AssetKey(["marts", "customer_xref"]))
    assert dg.AssetKey(["intermediate", "int_party_records_clustered"]) in xref.parent_keys
    sales = graph.get(dg.AssetKey(["staging", "stg_dms__sales"]))
    assert {
        dg.AssetKey(["raw", "dealer_sales_vendor_a"]),
        dg.AssetKey(["raw", "dealer_sales_vendor_b"]),
    } <= set(sales.parent_keys)
    orders = graph.get(dg.AssetKey(["raw", "service_orders"]))
    assert dg.AssetKey(["raw", "stations"]) in orders.parent_keys


def test_dbt_tests_are_asset_checks():
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert any(name.startswith("unique_dim_customer_customer_id") for name in checks)
    assert any(name.startswith("relationships_customer_xref_customer_id") for name in checks)
