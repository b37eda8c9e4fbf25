"""docs/authorization.md carries the visibility table the procurement service enforces."""

from pathlib import Path

from services.procurement import visibility

DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"


def test_the_documented_visibility_table_is_the_one_the_code_uses():
    assert visibility.documented(DOC) == visibility.render(), (
        "docs/authorization.md is out of date: run .venv/bin/python -m services.procurement.visibility --write")
