"""Every closed set of values the API defines has its words in the console, in both languages: read
from the merged OpenAPI document, so a new enum value without a translation fails here, before a
person meets it as an English word inside a Chinese page."""

from __future__ import annotations

from gateway.console.i18n import ENUMS, NOTICES, Words
from kernel import notices
from kernel.auth import ROLES
from tests.security.role_table import local_document

# Which table of gateway/console/i18n.py translates the values of a field, by the field's name.
TABLE_OF = {"category": "category", "caps": "category", "special_caps": "category", "seats_per_device": "category",
            "metric": "metric",
            "status": "status", "action": "action", "kind": "kind", "role": "role", "roles": "role",
            "edition": "edition", "procurement_method": "method"}
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


def test_every_procurement_method_of_the_thresholds_is_translated():
    """`procurement_method` is a plain string in the OpenAPI document: its values are read from the
    thresholds that compute it, one amount in each tier."""
    tiers = notices.Thresholds(decentralized_fen=100, public_tender_fen=200)
    methods = {tiers.method_for(amount) for amount in (1, 100, 200)}
    assert methods == {"below_threshold", "decentralized_procurement", "public_tender"}
    assert methods <= set(ENUMS["method"])
    assert Words("zh-CN").method("public_tender") == "公开招标"
    assert Words("en").method("below_threshold") == "Below the threshold"


def test_every_edition_and_every_notice_behind_a_default_is_translated():
    assert set(notices.EDITIONS) <= set(ENUMS["edition"])
    assert Words("zh-CN").edition("server") == "服务器端" and Words("zh-CN").edition("client") == "客户端"
    behind = {source.notice for source in notices.defaults().sources.values()}
    assert behind - set(NOTICES) == set(), "add these to NOTICES in gateway/console/i18n.py"
    for zh, en in NOTICES.values():
        assert any("\u4e00" <= c <= "\u9fff" for c in zh) and en


def test_a_refused_price_says_its_cap_in_yuan():
    body = {"type": "https://zhengban.dev/problems/price-above-special-cap", "cap_fen": 10_000}
    assert Words("zh-CN").problem(body) == "单价超过限价，特殊需求也不能超过（限价 100.00 元）"
    assert Words("en").problem(body) == "The unit price is above the cap, special need or not (cap 100.00 元)"
    assert Words("zh-CN").problem({"type": "https://zhengban.dev/problems/os-needs-justification"}) \
        == "操作系统随计算机配备，单独购买须填写特殊需求说明"


def test_an_imports_missing_columns_are_named_in_the_pages_language():
    from kernel.errors import DomainError
    from kernel.spreadsheets import Column, read_table
    columns = (Column("asset_tag", ("asset_tag", "资产编号")), Column("hostname", ("hostname", "主机名")),
               Column("kind", ("kind", "类型")))
    try:
        read_table(b"owner\nx\n", columns, required=[("asset_tag", "hostname"), ("kind",)], max_rows=1)
    except DomainError as refused:
        body = {"type": refused.type, **refused.extensions}
    assert Words("zh-CN").problem(body) == "缺少必需的列：资产编号 或 主机名；类型"
    assert Words("en").problem(body) == "Required columns are missing: asset_tag or hostname; kind"


def test_every_column_an_import_may_name_reads_as_its_template_heads_it():
    """The import page shows a row error's column by its Chinese header: the same words as the
    kind's template, which the services declare (kernel.imports.Field)."""
    from gateway.console.i18n import IMPORT_COLUMNS
    from gateway.console.import_kinds import KINDS
    from gateway.identity import imports as identity
    from services.budget.lines import imports as lines
    from services.licenses.devices import register_import as devices
    from services.licenses.pools import imports as entitlements

    fields = {"devices": devices.FIELDS, "entitlements": entitlements.FIELDS, "lines": lines.FIELDS,
              "orgs": identity.ORG_FIELDS, "users": identity.USER_FIELDS}
    assert set(KINDS) == set(fields) == set(IMPORT_COLUMNS)
    for kind, declared in fields.items():
        assert IMPORT_COLUMNS[kind] == {f.name: f.zh for f in declared if f.zh}, kind
    words = Words("zh-CN")
    assert words.column("lines", "unit_price") == "单价（元）"
    assert words.column("lines", "unit_price_fen") == "unit_price_fen"  # a column with an English header only
    assert Words("en").column("devices", "asset_tag") == "asset_tag" and words.column("users", None) == "—"
