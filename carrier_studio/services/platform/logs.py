"""Logging to the log folder, with secrets redacted before anything is written."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

# The redaction itself is plain core code (crash reports, the MCP page, stored errors and the
# memory writer use it too); only the logging filter lives here.
from carrier_studio.core.redaction import REDACTED, Redactor

__all__ = ["REDACTED", "RedactingFilter", "Redactor", "remove_handlers", "setup_logging"]


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
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
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
