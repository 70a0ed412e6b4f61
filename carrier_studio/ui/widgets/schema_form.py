"""A form generated from a tool's JSON Schema, for trying an MCP tool by hand."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)


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
            widget = self._widget(spec if isinstance(spec, dict) else {})
            widget.setObjectName(f"arg_{name}")
            label = f"{name}{' *' if name in self._required else ''}"
            if isinstance(spec, dict) and spec.get("description"):
                widget.setToolTip(spec["description"])
            self.form.addRow(label, widget)
            self._fields[name] = (spec if isinstance(spec, dict) else {}, widget)

    def _widget(self, spec: dict[str, Any]) -> QWidget:
        kind = spec.get("type")
        if isinstance(spec.get("enum"), list):
            combo = QComboBox()
            for option in spec["enum"]:
                combo.addItem(str(option), option)
            return combo
        if kind == "boolean":
            return QCheckBox()
        if kind == "integer":
            spin = QSpinBox()
            spin.setRange(int(spec.get("minimum", -(2**31))), int(spec.get("maximum", 2**31 - 1)))
            if isinstance(spec.get("default"), int):
                spin.setValue(spec["default"])
            return spin
        if kind == "number":
            number = QDoubleSpinBox()
            number.setDecimals(6)
            number.setRange(float(spec.get("minimum", -1e12)), float(spec.get("maximum", 1e12)))
            if isinstance(spec.get("default"), (int, float)):
                number.setValue(float(spec["default"]))
            return number
        line = QLineEdit()
        if kind in ("object", "array"):
            line.setPlaceholderText("JSON, e.g. " + ("{}" if kind == "object" else "[]"))
        elif isinstance(spec.get("default"), str):
            line.setText(spec["default"])
        return line

    def values(self) -> dict[str, Any]:
        """The arguments; raises ValueError naming a field whose text is not valid JSON."""
        result: dict[str, Any] = {}
        for name, (spec, widget) in self._fields.items():
            kind = spec.get("type")
            if isinstance(widget, QComboBox):
                result[name] = widget.currentData()
            elif isinstance(widget, QCheckBox):
                result[name] = widget.isChecked()
            elif isinstance(widget, QSpinBox):
                result[name] = widget.value()
            elif isinstance(widget, QDoubleSpinBox):
                result[name] = widget.value()
            elif isinstance(widget, QLineEdit):
                text = widget.text()
                if not text and name not in self._required:
                    continue
                if kind in ("object", "array"):
                    try:
                        result[name] = json.loads(text or ("{}" if kind == "object" else "[]"))
                    except ValueError as exc:
                        raise ValueError(f"{name}: not valid JSON ({exc})") from exc
                else:
                    result[name] = text
        return result
