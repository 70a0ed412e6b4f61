"""The tool form built from a JSON Schema: numbers show as typed, optional ones stay out (#15)."""

from __future__ import annotations

import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from carrier_studio.ui.widgets.schema_form import SchemaForm

SCHEMA = {
    "type": "object",
    "properties": {
        "ratio": {"type": "number", "description": "optional, no default"},
        "count": {"type": "integer", "default": 3},
        "amount": {"type": "number"},
        "scale": {"type": "number", "default": 2.0},
    },
    "required": ["amount", "scale"],
}


@pytest.fixture
def form(qtbot):
    widget = SchemaForm()
    qtbot.addWidget(widget)
    widget.set_schema(SCHEMA)
    return widget


def _field(form, name) -> QLineEdit:
    field = form.findChild(QLineEdit, f"arg_{name}")
    assert field is not None, name
    return field


def test_unset_optional_numbers_show_empty_with_a_placeholder(form):
    assert _field(form, "ratio").text() == ""
    assert _field(form, "ratio").placeholderText() == "optional"
    assert _field(form, "count").text() == ""
    assert _field(form, "count").placeholderText() == "default 3"
    # A required number with a default starts at it, written as a person would: no decimals.
    assert _field(form, "scale").text() == "2"
    assert _field(form, "amount").placeholderText() == "required"


def test_unset_optional_numbers_are_left_out_of_the_arguments(form):
    QTest.keyClicks(_field(form, "amount"), "2.5")
    assert form.values() == {"amount": 2.5, "scale": 2}


def test_numbers_show_and_go_as_typed(form):
    QTest.keyClicks(_field(form, "ratio"), "0.125")
    QTest.keyClicks(_field(form, "count"), "7")
    QTest.keyClicks(_field(form, "amount"), "10")
    assert _field(form, "ratio").text() == "0.125"
    assert _field(form, "count").text() == "7"
    values = form.values()
    assert values == {"ratio": 0.125, "count": 7, "amount": 10, "scale": 2}
    assert isinstance(values["count"], int) and isinstance(values["amount"], int)


def test_an_integer_field_takes_no_decimals(form):
    QTest.keyClicks(_field(form, "count"), "4.5")
    assert _field(form, "count").text() == "45", "the point is refused as it is typed"


def test_a_required_number_left_empty_is_named(form):
    with pytest.raises(ValueError, match="amount"):
        form.values()
