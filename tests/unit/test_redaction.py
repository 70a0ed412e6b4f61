"""The redactor: credential shapes nobody registered, registered values in any form, and no
false positives on ordinary text."""

from __future__ import annotations

import json

import pytest

from carrier_studio.core.redaction import REDACTED, Redactor, looks_like_credential

# Each: (text around a secret, the secret's bytes that must be gone).
SHAPES = [
    ("OpenAI sk-proj-abcdefghijklmnopqrstuvwx0123", "abcdefghijklmnopqrstuvwx0123"),
    ("Anthropic sk-ant-api03-abcdefghijklmnopqrstuv_01", "api03-abcdefghijklmnopqrstuv_01"),
    (
        "GitHub ghp_16C7e42F292c6912E7710c838347Ae178B4a here",
        "16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912E7710c838347Ae178B4a"),
    (
        "fine-grained github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345",
        "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345",
    ),
    ("Slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("xoxp-123456789012-abcdefghijkl", "123456789012-abcdefghijkl"),
    (
        "Supabase anon eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiIsImlzcyI6InN1cGFi"
        "YXNlIn0.M9jrxyvPLkUxWgOYSf5dNdJ8v_eWrqwU7WgQ4Bw2Ow0",
        "M9jrxyvPLkUxWgOYSf5dNdJ8v_eWrqwU7WgQ4Bw2Ow0",
    ),
    ("AWS AKIAIOSFODNN7EXAMPLE key", "AKIAIOSFODNN7EXAMPLE"),
    ("Google AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
    (
        "Discord MTA4NjQyMzU2Nzg5MDEyMzQ1Ng.GhIjKl.abcdefghijklmnopqrstuvwxyz0123",
        "abcdefghijklmnopqrstuvwxyz0123",
    ),
    ("Meta EAAGm0PX4ZCpsBAabcdefghijklmnopqrstu", "EAAGm0PX4ZCpsBAabcdefghijklmnopqrstu"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"),
    ("Authorization: Bot abcdefghijklmnopqrst0123456789", "abcdefghijklmnopqrst0123456789"),
    ("DATABASE_URL=postgres://app:pa55w0rd-xyz@db.example.com/app", "pa55w0rd-xyz"),
    ("api_key=supersecretvalue", "supersecretvalue"),
    ("OPENAI_API_KEY=hello-world-1234", "hello-world-1234"),
    ("SUPABASE_SERVICE_KEY=abc123def456", "abc123def456"),
    ("https://api.example.com/v1?access_token=q1w2e3r4t5&page=2", "q1w2e3r4t5"),
    ("db password: hunter22", "hunter22"),
    ('{"api_key": "abc123def"}', "abc123def"),
    ('{"OPENAI_API_KEY": "not-shaped-at-all"}', "not-shaped-at-all"),
    ("{'client_secret': 'abcd efgh'}", "abcd efgh"),
    ('{"x": "{\\"token\\": \\"zz1234567\\"}"}', "zz1234567"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
    ),
]


@pytest.mark.parametrize(("text", "secret"), SHAPES, ids=[s[0][:24] for s in SHAPES])
def test_credential_shapes_are_redacted_without_registration(text, secret):
    redacted = Redactor().redact(f"calling with {text} now")
    assert secret not in redacted
    assert REDACTED in redacted
    assert Redactor().contains_secret(text)


PARAGRAPH = (
    "Hi Ada! I finally finished the lighthouse chapter. Sam said the token economy in board "
    "games is a good metaphor for the keeper's rations, and that the bearer of bad news should "
    "arrive by boat. My password manager keeps crashing, so I wrote the secret ending on paper: "
    "the keeper's api is his logbook, key=value pairs of wind and tide. Can you check the "
    "max_tokens=4096 setting later? Also, the skeleton key (sk-short) opens the cellar. "
    "Refreshing the token: connection refused, said the radio. Bot operators at 9:30, "
    "https://example.com/docs?page=2 has the rest. Thanks — see you Thursday at 10:45!"
)


def test_an_ordinary_chat_paragraph_is_left_as_it_is():
    assert Redactor().redact(PARAGRAPH) == PARAGRAPH
    assert not Redactor().contains_secret(PARAGRAPH)


def test_settings_and_counters_are_not_mistaken_for_keys():
    text = "max_tokens=100000 temperature=0.7 input_tokens: 1234 token_count=99999 keys=12"
    assert Redactor().redact(text) == text


def test_registered_values_are_redacted_anywhere_and_short_ones_are_not_registered():
    redactor = Redactor()
    redactor.add("my-custom-password-42")
    redactor.add("abc")
    assert redactor.redact("pw=my-custom-password-42!") == f"pw={REDACTED}!"
    assert redactor.redact("abc abc") == "abc abc"
    assert "my-custom-password-42" in redactor


def test_a_registered_value_is_found_in_its_json_escaped_form():
    redactor = Redactor()
    value = 'quote"and\\slash-secret'
    redactor.add(value)
    document = json.dumps({"note": f"it is {value}"})
    assert value not in redactor.redact(f"it is {value}")
    redacted = redactor.redact(document)
    assert json.dumps(value)[1:-1] not in redacted
    assert json.loads(redacted) == {"note": f"it is {REDACTED}"}


def test_redacting_json_keeps_it_valid_json():
    document = json.dumps(
        {
            "api_key": "abc123def",
            "note": "api_key=zzz999yyy, then token: t0k3n-value",
            "auth": "Bearer abcdefghijklmnop0123456789",
            "pem": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
            "max_tokens": 100,
        }
    )
    redacted = Redactor().redact(document)
    data = json.loads(redacted)
    assert data["api_key"] == REDACTED
    assert data["note"] == f"api_key={REDACTED}, then token: {REDACTED}"
    assert data["auth"] == f"Bearer {REDACTED}"
    assert "MIIEvQ" not in data["pem"]
    assert data["max_tokens"] == 100


def test_redaction_is_idempotent():
    redactor = Redactor()
    once = redactor.redact("api_key=supersecretvalue password: hunter22 Bearer abcdefgh12345678")
    assert redactor.redact(once) == once
    assert not redactor.contains_secret(once)


@pytest.mark.parametrize(
    ("value", "credential"),
    [
        ("production", False),
        ("/usr/local/bin/node", False),
        ("https://example.com/x1", False),
        ("a sentence with 123 words", False),
        ("Zq9Zq9Zq9Zq9Zq9Zq9Zq9", True),
        ("3f8a9c2e-55b1-4d2a-9e77-0c1d2e3f4a5b", True),
    ],
)
def test_unnamed_values_are_registered_only_when_they_look_like_keys(value, credential):
    assert looks_like_credential(value) is credential
