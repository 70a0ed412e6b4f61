from __future__ import annotations

import logging

import pytest

from carrier_studio.services.platform.logs import REDACTED, RedactingFilter, Redactor


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "sk-ant-api03-abcdefghijklmnopqrstuv",
        "Bearer abcdefghijklmnopqrstuvwxyz012345",
        "EAAGm0PX4ZCpsBAabcdefghijklmnopqrstu",
        "api_key=supersecretvalue",
    ],
)
def test_credential_shapes_are_redacted_without_registration(secret):
    text = Redactor().redact(f"calling with {secret} now")
    assert REDACTED in text
    assert secret.split()[-1].split("=")[-1] not in text


def test_registered_values_are_redacted_anywhere():
    redactor = Redactor()
    redactor.add("my-custom-password-42")
    assert redactor.redact("pw=my-custom-password-42!") == f"pw={REDACTED}!"


def test_short_values_are_not_registered():
    redactor = Redactor()
    redactor.add("abc")
    assert redactor.redact("abc abc") == "abc abc"


def test_log_records_and_tracebacks_are_redacted(tmp_path):
    redactor = Redactor()
    redactor.add("registered-secret-value")
    handler = logging.FileHandler(tmp_path / "log.txt")
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        logger.error("key is %s", "registered-secret-value")
        try:
            raise ValueError("failed with registered-secret-value")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = (tmp_path / "log.txt").read_text()
    assert "registered-secret-value" not in text
    assert "key is [redacted]" in text
    assert "ValueError: failed with [redacted]" in text
    assert "ValueError" in text
