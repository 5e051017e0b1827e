"""The Kibana saved objects against the index templates: every reference, field and time field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from newsmon.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OBJECTS = DEPLOY / "kibana" / "newsmon-dashboard.ndjson"
# Each data view reads the index (or alias) one template makes.
TEMPLATES = {
    "newsmon-stories": "stories-template.json",
    "newsmon-alerts": "alerts-template.json",
    "newsmon-feeds": "feeds-template.json",
}
# Lens' pseudo-field for "count of records".
RECORDS = "___records___"
# A KQL field before its colon: `entity_ids : "Q7747"`, `first_copy:true`.
KQL_FIELD = re.compile(r"(?:^|[\s(])([a-z_][a-z_.]*)\s*:")


def _fields(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field a mapping defines, sub-fields and object properties included: name → type."""
    found = {}
    for name, spec in properties.items():
        path = prefix + name
        found[path] = spec.get("type", "object")
        found.update(_fields(spec.get("properties", {}), path + "."))
        for sub, sub_spec in spec.get("fields", {}).items():
            found[f"{path}.{sub}"] = sub_spec["type"]
    return found


def _mapped(view_id: str) -> dict[str, str]:
    template = json.loads((DEPLOY / "elasticsearch" / TEMPLATES[view_id]).read_text("utf-8"))
    return _fields(template["template"]["mappings"]["properties"])


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    lines = OBJECTS.read_text("utf-8").splitlines()
    parsed = [json.loads(line) for line in lines if line.strip()]
    by_key = {(o["type"], o["id"]): o for o in parsed}
    assert len(by_key) == len(parsed), "two objects share a type and id"
    return by_key


def _of_type(objects: dict[tuple[str, str], dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for (t, _id), o in objects.items() if t == kind]


def _kql_fields(query: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', query)
    return set(KQL_FIELD.findall(without_strings))


def test_every_object_carries_migration_versions_and_no_legacy_visualisations(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for (kind, obj_id), obj in objects.items():
        assert re.fullmatch(r"8\.\d+\.\d+", obj["coreMigrationVersion"]), obj_id
        assert re.fullmatch(r"[78]\.\d+\.\d+", obj["typeMigrationVersion"]), obj_id
        assert kind in {"index-pattern", "lens", "search", "dashboard"}, obj_id
    assert _of_type(objects, "lens"), "the visualisations are Lens"


def test_data_views_time_fields_and_titles_match_the_templates(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    views = {o["id"]: o["attributes"] for o in _of_type(objects, "index-pattern")}
    assert set(views) == set(TEMPLATES)
    # The stories view reads the alias, not a wildcard: an index kept by `es reindex
    # --keep-old` would otherwise count every story twice.
    assert views["newsmon-stories"]["title"] == Settings().es_alias
    assert views["newsmon-stories"]["timeFieldName"] == "published_at"
    assert views["newsmon-alerts"]["timeFieldName"] == "fired_at"
    assert "timeFieldName" not in views["newsmon-feeds"]  # health now, whatever the range
    for view_id, attributes in views.items():
        mapped = _mapped(view_id)
        if "timeFieldName" in attributes:
            assert mapped[attributes["timeFieldName"]] == "date", view_id
        for field in [
            *json.loads(attributes["fieldFormatMap"]),
            *json.loads(attributes["fieldAttrs"]),
        ]:
            assert field in mapped, f"{view_id}: formats or labels {field}, which is not mapped"
    # The URL column is a link.
    assert json.loads(views["newsmon-stories"]["fieldFormatMap"])["url"]["id"] == "url"


def test_every_reference_resolves_to_an_object_of_its_type(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for (kind, obj_id), obj in objects.items():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in objects, f"{kind} {obj_id}: {ref} is not in the file"


def test_lens_columns_and_queries_name_mapped_fields(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for lens in _of_type(objects, "lens"):
        state = lens["attributes"]["state"]
        refs = {r["name"]: r["id"] for r in lens["references"]}
        layers = state["datasourceStates"]["formBased"]["layers"]
        for layer_id, layer in layers.items():
            view = refs[f"indexpattern-datasource-layer-{layer_id}"]
            mapped = _mapped(view)
            assert layer["columnOrder"] and set(layer["columnOrder"]) == set(layer["columns"])
            for column_id, column in layer["columns"].items():
                where = f"{lens['id']} {column_id}"
                field = column.get("sourceField")
                if field and field != RECORDS:
                    assert field in mapped, f"{where}: {field} is not mapped in {view}"
                    if column["operationType"] == "date_histogram":
                        assert mapped[field] == "date", where
                sort_field = column.get("params", {}).get("sortField")
                if sort_field:
                    assert mapped.get(sort_field) == "date", f"{where}: sorts by {sort_field}"
                for ref in column.get("references", []):
                    assert ref in layer["columns"], f"{where}: refers to a missing column {ref}"
                kql = column.get("filter", {}).get("query", "")
                kql += column.get("params", {}).get("formula", "")
                assert _kql_fields(kql) <= set(mapped), where
        assert _kql_fields(state["query"]["query"]) <= set(_mapped(refs[next(iter(refs))]))
        # Every accessor the chart draws is a column of its layer.
        vis = state["visualization"]
        for layer in vis.get("layers", [vis]):
            columns = layers[layer["layerId"]]["columns"]
            drawn = [
                layer.get("xAccessor"),
                layer.get("splitAccessor"),
                *layer.get("accessors", []),
            ]
            drawn += [*layer.get("primaryGroups", []), *layer.get("metrics", [])]
            drawn += [c["columnId"] for c in layer.get("columns", [])]
            assert {d for d in drawn if d} <= set(columns), lens["id"]


def test_saved_searches_list_mapped_columns_one_row_per_story(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for search in _of_type(objects, "search"):
        [ref] = search["references"]
        mapped = _mapped(ref["id"])
        attributes = search["attributes"]
        assert set(attributes["columns"]) <= set(mapped), search["id"]
        assert {field for field, _order in attributes["sort"]} <= set(mapped), search["id"]
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["indexRefName"] == ref["name"]
        assert _kql_fields(source["query"]["query"]) <= set(mapped), search["id"]
    stories = objects[("search", "newsmon-putin-xi-stories")]["attributes"]
    assert {"url", "title", "outlet"} <= set(stories["columns"])
    assert "first_copy : true" in stories["kibanaSavedObjectMeta"]["searchSourceJSON"]


def test_the_dashboard_shows_every_panel_with_controls_for_outlet_language_and_entity(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    dashboard = objects[("dashboard", "newsmon-overview")]
    attributes = dashboard["attributes"]
    refs = {r["name"]: (r["type"], r["id"]) for r in dashboard["references"]}
    panels = json.loads(attributes["panelsJSON"])
    shown = {refs[p["panelRefName"]] for p in panels}
    assert shown == {key for key in objects if key[0] in {"lens", "search"}}, (
        "every visualisation and saved search is on the dashboard"
    )
    cells = {(p["gridData"]["x"], p["gridData"]["y"]) for p in panels}
    assert len(cells) == len(panels), "two panels start at the same place"
    controls = json.loads(attributes["controlGroupInput"]["panelsJSON"])
    fields = {c["explicitInput"]["fieldName"] for c in controls.values()}
    assert fields == {"outlet", "lang", "entity_names"}
    stories = _mapped("newsmon-stories")
    for control_id, control in controls.items():
        assert stories[control["explicitInput"]["fieldName"]] == "keyword"
        view = refs[f"controlGroup_{control_id}:optionsListDataView"]
        assert view == ("index-pattern", "newsmon-stories")
    titles = {o["attributes"]["title"] for o in objects.values() if o["type"] == "lens"}
    for wanted in ("Coverage over time by outlet", "Most-copied stories", "Feed health"):
        assert wanted in titles
