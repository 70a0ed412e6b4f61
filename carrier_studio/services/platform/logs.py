"""Logging to the log folder, with secrets redacted before anything is written."""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from pathlib import Path

#: Shapes of credentials that must never reach a log even if nobody registered them.
_PATTERNS = [
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"),
    re.compile(r"(?i)\b(bearer|bot)\s+[A-Za-z0-9._\-]{16,}"),
    re.compile(r"\b[MN][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}"),  # Discord
    re.compile(r"\bEAA[A-Za-z0-9]{20,}"),  # Meta Graph API tokens
    re.compile(r"(?i)((?:api[_-]?key|token|password|secret)\s*[=:]\s*)(\S{6,})"),
]
REDACTED = "[redacted]"


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``[redacted]``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        # Very short values would redact ordinary words; real keys are long.
        if value and len(value) >= 6:
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            if pattern.groups == 2:
                text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
            elif pattern.groups == 1:
                text = pattern.sub(lambda m: m.group(1) + " " + REDACTED, text)
            else:
                text = pattern.sub(REDACTED, text)
        return text


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        return True


def setup_logging(
    log_file: Path | None, redactor: Redactor, *, stream: bool = False
) -> list[logging.Handler]:
    """Send the studio's logs to a rotating file (and optionally stderr), redacted.

    Returns the handlers it added, so a caller (a test, headless mode) can remove them again.
    """
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
        )
    if stream:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter(redactor))
        root.addHandler(handler)
    return handlers


def remove_handlers(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        logging.getLogger().removeHandler(handler)
        handler.close()
