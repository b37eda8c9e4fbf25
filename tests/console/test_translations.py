"""Every closed set of values the API defines has its words in the console, in both languages: read
from the merged OpenAPI document, so a new enum value without a translation fails here, before a
person meets it as an English word inside a Chinese page."""

from __future__ import annotations

from gateway.console.i18n import ENUMS, Words
from kernel.auth import ROLES
from tests.security.role_table import local_document

# Which table of gateway/console/i18n.py translates the values of a field, by the field's name.
TABLE_OF = {"category": "category", "caps": "category", "special_caps": "category", "metric": "metric",
            "status": "status", "action": "action", "kind": "kind", "role": "role", "roles": "role"}
NOT_READ = {"token_type"}  # closed sets no person reads on a console page


def enums_of(doc: dict) -> dict[str, set[str]]:
    """{field name: its enum values} over every schema and parameter of the document."""
    found: dict[str, set[str]] = {}

    def walk(node, name: str | None) -> None:
        if isinstance(node, dict):
            if "enum" in node and name:
                found.setdefault(name, set()).update(map(str, node["enum"]))
            for key, value in node.items():
                if key == "properties":
                    for field, schema in value.items():
                        walk(schema, field)
                elif key in ("items", "anyOf", "oneOf", "allOf", "schema", "additionalProperties"):
                    walk(value, name)
                elif isinstance(value, (dict, list)):
                    walk(value, None if key in ("components", "schemas", "paths") else name)
        elif isinstance(node, list):
            for value in node:
                walk(value, value.get("name") if isinstance(value, dict) and "in" in value else name)

    walk(doc, None)
    return found


def test_every_enum_of_the_openapi_document_is_translated():
    enums = enums_of(local_document())
    assert {"category", "metric", "kind", "assignee_type", "source"} <= set(enums)  # the walk finds them
    missing = []
    for field, values in sorted(enums.items()):
        if field in NOT_READ:
            continue
        table = ENUMS[TABLE_OF.get(field, "kind")]
        missing += [f"{field}={value}" for value in sorted(values) if value not in table]
    assert missing == [], "add these to gateway/console/i18n.py: " + ", ".join(missing)


def test_every_role_is_translated_and_each_table_has_both_languages():
    assert set(ROLES) <= set(ENUMS["role"])
    for name, table in ENUMS.items():
        for value, words in table.items():
            assert len(words) == 2 and all(words), (name, value)
            assert any("\u4e00" <= c <= "\u9fff" for c in words[0]), f"{name}.{value} has no Chinese: {words[0]}"


def test_an_untranslated_value_is_marked_for_the_page_tests():
    words = Words("zh-CN")
    assert words.status("approved") == "已批准" and Words("en").status("approved") == "Approved"
    marked = str(words.status("<b>new</b>"))
    assert marked == '<span data-untranslated="status">&lt;b&gt;new&lt;/b&gt;</span>'
