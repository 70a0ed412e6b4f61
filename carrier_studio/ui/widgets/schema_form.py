"""A form generated from a tool's JSON Schema, for trying an MCP tool by hand."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

#: What may be typed in a number field (a sign, digits, a point, an exponent), and in an
#: integer field; the value is checked again when the arguments are read.
_NUMBER = QRegularExpression(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d*)?")
_INTEGER = QRegularExpression(r"[+-]?\d+")


class SchemaForm(QWidget):
    """One input per property of an object schema; `values()` gives the arguments."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self._fields: dict[str, tuple[dict[str, Any], QWidget]] = {}
        self._required: set[str] = set()

    def set_schema(self, schema: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._fields.clear()
        properties = schema.get("properties") or {}
        self._required = set(schema.get("required") or [])
        if not properties:
            self.form.addRow(QLabel("This tool takes no arguments."))
        for name, spec in properties.items():
            widget = self._widget(
                spec if isinstance(spec, dict) else {}, required=name in self._required
            )
            widget.setObjectName(f"arg_{name}")
            label = f"{name}{' *' if name in self._required else ''}"
            if isinstance(spec, dict) and spec.get("description"):
                widget.setToolTip(spec["description"])
            self.form.addRow(label, widget)
            self._fields[name] = (spec if isinstance(spec, dict) else {}, widget)

    def _widget(self, spec: dict[str, Any], *, required: bool) -> QWidget:
        kind = spec.get("type")
        if isinstance(spec.get("enum"), list):
            combo = QComboBox()
            for option in spec["enum"]:
                combo.addItem(str(option), option)
            return combo
        if kind == "boolean":
            return QCheckBox()
        if kind in ("integer", "number"):
            # A text field, not a spin box: an optional number the user leaves alone stays
            # empty (and out of the call), and what is typed shows as typed (#15).
            number = QLineEdit()
            number.setValidator(
                QRegularExpressionValidator(_INTEGER if kind == "integer" else _NUMBER, number)
            )
            default = spec.get("default")
            has_default = isinstance(default, (int, float)) and not isinstance(default, bool)
            if required and has_default:
                number.setText(_number_text(default))
            elif has_default:
                number.setPlaceholderText(f"default {_number_text(default)}")
            else:
                number.setPlaceholderText("required" if required else "optional")
            return number
        line = QLineEdit()
        if kind in ("object", "array"):
            line.setPlaceholderText("JSON, e.g. " + ("{}" if kind == "object" else "[]"))
        elif isinstance(spec.get("default"), str):
            line.setText(spec["default"])
        return line

    def values(self) -> dict[str, Any]:
        """The arguments; raises ValueError naming a field whose text is not valid JSON, not a
        number, or a required one left empty. Optional fields left empty are left out."""
        result: dict[str, Any] = {}
        for name, (spec, widget) in self._fields.items():
            kind = spec.get("type")
            if isinstance(widget, QComboBox):
                result[name] = widget.currentData()
            elif isinstance(widget, QCheckBox):
                result[name] = widget.isChecked()
            elif isinstance(widget, QLineEdit):
                text = widget.text()
                if not text and name not in self._required:
                    continue
                if kind in ("integer", "number"):
                    result[name] = _parse_number(name, text, kind)
                elif kind in ("object", "array"):
                    try:
                        result[name] = json.loads(text or ("{}" if kind == "object" else "[]"))
                    except ValueError as exc:
                        raise ValueError(f"{name}: not valid JSON ({exc})") from exc
                else:
                    result[name] = text
        return result


def _number_text(value: float) -> str:
    """A number as a person writes it: 3, 0.5, 1e-07 — never 3.000000."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _parse_number(name: str, text: str, kind: str) -> int | float:
    text = text.strip()
    if not text:
        raise ValueError(f"{name}: a value is required")
    try:
        if kind == "integer":
            return int(text)
        value = float(text)
    except ValueError:
        what = "a whole number" if kind == "integer" else "a number"
        raise ValueError(f"{name}: {text!r} is not {what}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name}: {text!r} is not a number")
    # "3" goes as 3 and "2.50" as 2.5: the number as typed, not a fixed six decimals.
    return int(text) if text.lstrip("+-").isdigit() else value
