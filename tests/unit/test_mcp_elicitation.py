"""An elicitation's schema as form fields, its defaults, and the answer's problems by field."""

from __future__ import annotations

from carrier_studio.core.mcp.elicitation import coerce, fill_defaults, form_fields, problems

SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email", "title": "Email"},
        "age": {"type": "integer", "minimum": 18, "maximum": 99, "default": 30},
        "size": {
            "type": "string",
            "oneOf": [{"const": "s", "title": "Small"}, {"const": "l", "title": "Large"}],
            "default": "s",
        },
        "colour": {"type": "string", "enum": ["r", "g"], "enumNames": ["Red", "Green"]},
        "toppings": {
            "type": "array",
            "items": {"type": "string", "enum": ["ham", "egg"]},
            "maxItems": 1,
            "default": ["egg"],
        },
        "when": {"type": "string", "format": "date"},
        "nested": {"type": "object"},
    },
    "required": ["email", "when"],
}


def test_fields_follow_the_schema_in_order_with_their_defaults():
    fields = {f.name: f for f in form_fields(SCHEMA)}
    assert list(fields) == ["email", "age", "size", "colour", "toppings", "when"]  # no object
    assert fields["email"].required and fields["email"].format == "email"
    assert (fields["age"].kind, fields["age"].default, fields["age"].minimum) == (
        "integer",
        30,
        18,
    )
    assert fields["size"].kind == "choice"
    assert fields["size"].options == (("s", "Small"), ("l", "Large"))
    assert fields["colour"].options == (("r", "Red"), ("g", "Green"))
    assert fields["toppings"].kind == "choices" and fields["toppings"].default == ["egg"]
    assert fields["toppings"].max_length == 1


def test_defaults_fill_what_the_answer_leaves_out_and_nothing_else():
    assert fill_defaults(SCHEMA, {"email": "a@b.co", "age": 40}) == {
        "email": "a@b.co",
        "age": 40,
        "size": "s",
        "toppings": ["egg"],
    }


def test_each_problem_names_its_field():
    fields = form_fields(SCHEMA)
    found = problems(
        fields,
        {"email": "nope", "age": 12, "size": "xl", "toppings": ["ham", "egg"], "when": "soon"},
    )
    assert found == {
        "email": "Email must be an email address",
        "age": "age must be at least 18",
        "size": "size must be one of the choices",
        "toppings": "toppings allows at most 1 chosen",
        "when": "when must be a date (YYYY-MM-DD)",
    }
    assert problems(fields, {}) == {"email": "Email is required", "when": "when is required"}
    assert problems(fields, {"email": "a@b.co", "when": "2026-12-03", "age": 30.0}) == {}
    age = next(f for f in fields if f.name == "age")
    assert coerce(age, 30.0) == 30 and isinstance(coerce(age, 30.0), int)
