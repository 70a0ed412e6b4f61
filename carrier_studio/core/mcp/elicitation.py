"""An elicitation's requested schema as form fields, and the answer checked against it.

MCP servers ask the user for input with a flat JSON Schema object whose properties are
strings (optionally an email, URI, date or date-time; or a choice: ``enum`` with
``enumNames``, or ``oneOf`` of ``{const, title}``), numbers, integers, booleans, and
multi-select arrays of choices. `form_fields` turns it into fields for the dialog, each with
its default (SEP-1034: every primitive type may carry one, and the client shows it filled
in); `fill_defaults` puts the defaults into an answer that leaves them out, and `problems`
says which values do not fit, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

Kind = Literal["string", "number", "integer", "boolean", "choice", "choices"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class FormField:
    name: str
    kind: Kind
    #: The label: the schema's ``title``, else the property name.
    title: str
    description: str = ""
    required: bool = False
    #: The schema's default (None when it has none), already of the field's type.
    default: Any = None
    #: For "choice" and "choices": (value, label) pairs in the schema's order.
    options: tuple[tuple[str, str], ...] = ()
    #: "email", "uri", "date" or "date-time" for strings; "" otherwise.
    format: str = ""
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


def _options(prop: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    if isinstance(prop.get("oneOf"), list) or isinstance(prop.get("anyOf"), list):
        items = prop.get("oneOf") or prop.get("anyOf") or []
        return tuple(
            (str(item["const"]), str(item.get("title", item["const"])))
            for item in items
            if isinstance(item, Mapping) and "const" in item
        )
    values = [str(v) for v in prop.get("enum") or ()]
    names = prop.get("enumNames")
    labels = [str(n) for n in names] if isinstance(names, list) else values
    if len(labels) != len(values):
        labels = values
    return tuple(zip(values, labels, strict=True))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def form_fields(schema: Mapping[str, Any]) -> tuple[FormField, ...]:
    """The fields of a requested schema, in its order. A property of a type the form cannot
    show is left out (it is never required of the user; `problems` ignores it too)."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return ()
    required = set(schema.get("required") or ())
    fields = []
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        kind = _kind(prop)
        if kind is None:
            continue
        default = prop.get("default")
        if kind in ("number", "integer") and _number(default) is None:
            default = None
        elif kind == "boolean" and not isinstance(default, bool):
            default = None
        elif kind in ("string", "choice") and not isinstance(default, str):
            default = None
        elif kind == "choices":
            default = list(default) if isinstance(default, list) else None
        items = prop.get("items") if kind == "choices" else None
        fields.append(
            FormField(
                name=str(name),
                kind=kind,
                title=str(prop.get("title") or name),
                description=str(prop.get("description") or ""),
                required=name in required,
                default=default,
                options=_options(items if isinstance(items, Mapping) else prop),
                format=str(prop.get("format") or "") if kind == "string" else "",
                minimum=_number(prop.get("minimum")),
                maximum=_number(prop.get("maximum")),
                min_length=_int(
                    prop.get("minLength") if kind != "choices" else prop.get("minItems")
                ),
                max_length=_int(
                    prop.get("maxLength") if kind != "choices" else prop.get("maxItems")
                ),
            )
        )
    return tuple(fields)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kind(prop: Mapping[str, Any]) -> Kind | None:
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items")
        return "choices" if isinstance(items, Mapping) and _options(items) else None
    if kind == "string" and _options(prop):
        return "choice"
    if kind in ("string", "number", "integer", "boolean"):
        return kind
    return None


def fill_defaults(schema: Mapping[str, Any], content: Mapping[str, Any] | None) -> dict[str, Any]:
    """``content`` with each field's schema default where the answer leaves the field out
    (SEP-1034: a client applies the defaults the server sent)."""
    filled = dict(content or {})
    for field in form_fields(schema):
        if field.name not in filled and field.default is not None:
            filled[field.name] = field.default
    return filled


def problems(fields: tuple[FormField, ...], values: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with ``values``, by field name, each message naming its field."""
    found: dict[str, str] = {}
    for field in fields:
        value = values.get(field.name)
        if value is None or value == "" or value == []:
            if field.required:
                found[field.name] = f"{field.title} is required"
            continue
        message = _problem(field, value)
        if message:
            found[field.name] = f"{field.title} {message}"
    return found


def _problem(field: FormField, value: Any) -> str:  # noqa: PLR0911 - one check per rule
    if field.kind in ("number", "integer"):
        number = _number(value)
        if number is None or (field.kind == "integer" and not float(number).is_integer()):
            return "must be a whole number" if field.kind == "integer" else "must be a number"
        if field.minimum is not None and number < field.minimum:
            return f"must be at least {field.minimum:g}"
        if field.maximum is not None and number > field.maximum:
            return f"must be at most {field.maximum:g}"
        return ""
    if field.kind == "boolean":
        return "" if isinstance(value, bool) else "must be yes or no"
    if field.kind == "choice":
        return "" if value in {v for v, _ in field.options} else "must be one of the choices"
    if field.kind == "choices":
        allowed = {v for v, _ in field.options}
        if not isinstance(value, list) or not set(value) <= allowed:
            return "must be among the choices"
        if field.min_length is not None and len(value) < field.min_length:
            return f"needs at least {field.min_length} chosen"
        if field.max_length is not None and len(value) > field.max_length:
            return f"allows at most {field.max_length} chosen"
        return ""
    text = str(value)
    if field.min_length is not None and len(text) < field.min_length:
        return f"must be at least {field.min_length} characters"
    if field.max_length is not None and len(text) > field.max_length:
        return f"must be at most {field.max_length} characters"
    return _format_problem(field.format, text)


def _format_problem(fmt: str, text: str) -> str:
    if fmt == "email" and not _EMAIL.match(text):
        return "must be an email address"
    if fmt == "uri" and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", text):
        return "must be a URI such as https://example.com"
    try:
        if fmt == "date":
            date.fromisoformat(text)
        elif fmt == "date-time":
            datetime.fromisoformat(text)
    except ValueError:
        return f"must be a {'date (YYYY-MM-DD)' if fmt == 'date' else 'date and time'}"
    return ""


def coerce(field: FormField, value: Any) -> Any:
    """A typed value from the form's raw one (integers as int), unchanged when it cannot be."""
    if field.kind == "integer":
        number = _number(value)
        if number is not None and float(number).is_integer():
            return int(number)
    return value
