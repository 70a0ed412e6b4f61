"""One redaction pass for every text that leaves memory: logs, crash reports, the MCP page,
stored run errors, transcripts, memories and exports.

A `Redactor` replaces two kinds of secret with ``[redacted]``:

- values it was told about (`add`): what the keyring, the workspace ``.env``, the characters'
  ``settings.secrets`` and the MCP servers' ``env`` hold. The composition root
  (``session.py``) registers them as they are read.
- credential shapes nobody registered: provider keys (``sk-…``, ``ghp_…``, ``xoxb-…``, JWTs,
  ``AKIA…``, ``AIza…``, Discord and Meta tokens), ``Bearer``/``Bot`` headers, URL passwords,
  PEM private keys, and ``key=value`` or JSON fields whose name says credential
  (``api_key``, ``"OPENAI_API_KEY": "…"``, ``password: …``).

Shapes are written to keep false positives low: an ordinary sentence about tokens, keys or
passwords stays as it is (``tests/unit/test_redaction.py`` holds a chat paragraph to prove it),
and a redacted JSON document stays valid JSON (values stop at quotes and backslashes).

Pure Python, no I/O: the redactor is shared by the log handlers (any thread), the event loop and
worker threads, so it takes a lock around its registered values.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable

REDACTED = "[redacted]"

#: Registered values shorter than this would redact ordinary words; real secrets are longer.
MIN_VALUE_LENGTH = 6

# A credential's name: ends in one of these words (``OPENAI_API_KEY``, ``client_secret``,
# ``x-auth-token``, ``db_password``). ``max_tokens`` does not: the word must end the name.
_SECRET_NAME = (
    r"(?:[A-Za-z0-9_.-]*?(?i:api[_-]?key|apikey|secret|token|passw(?:or)?d|pwd|credentials?"
    r"|(?:private|access|auth|secret|service|signing|encryption)[_-]?key)"
    # Upper-case environment names ending in _KEY are credentials in practice (SUPABASE_…).
    r"|[A-Z][A-Z0-9_]*_KEY)"
)
# A value in ``name=value``: up to the next space, quote, separator or backslash, so a
# redaction inside JSON or a URL query never eats the closing quote or the next parameter.
_BARE_VALUE = r"(?!\[redacted\])[^\s\"'\\,;&<>)\]}]{6,}"

#: Shapes replaced whole, most specific first.
_WHOLE: list[re.Pattern[str]] = [
    # PEM private keys, whatever the key type; the body may be JSON-escaped ("\\n"), and never
    # runs past a quote, so a key inside a JSON string leaves the document valid.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\n)*"
        r"(?:-----END [A-Z ]*PRIVATE KEY-----)?"
    ),
    # JWTs (Supabase anon and service keys, most OAuth access tokens): header.payload.signature.
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    # OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-…) keys.
    re.compile(r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}"),
    # GitHub personal, OAuth, user-to-server, server and refresh tokens; fine-grained PATs.
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
    # Slack bot, user, app, refresh and config tokens.
    re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"),
    # AWS access key ids (the secret key is caught by its name, aws_secret_access_key=…).
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
    # Google API keys.
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    # Discord bot tokens: base64 user id, timestamp, HMAC.
    re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6,7}\.[A-Za-z\d_-]{27,}"),
    # Meta Graph API access tokens.
    re.compile(r"\bEAA[A-Za-z0-9]{20,}"),
]

#: Shapes whose first group (the name, the header word) is kept and whose value is replaced.
_VALUE: list[re.Pattern[str]] = [
    # Authorization headers: "Bearer <token>", "Bot <token>". The token must hold a digit, so
    # "the bearer instrument of …" in prose is left alone.
    re.compile(r"(\b(?i:bearer)\s+|\bBot\s+)(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/-]{16,}=*"),
    # Passwords in URLs: scheme://user:password@host.
    re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(?=@)"),
    # JSON or Python-repr fields: "api_key": "…", 'OPENAI_API_KEY': '…', and the same inside an
    # escaped JSON string (\"token\": \"…\"). The value keeps its quotes.
    re.compile(
        r"((?P<q>\\?[\"'])" + _SECRET_NAME + r"(?P=q)\s*:\s*(?P=q))"
        r"((?:[^\"'\\]|\\[^\"'])+)(?=(?P=q))"
    ),
    # name=value (env files, query strings, command lines).
    re.compile(r"(\b" + _SECRET_NAME + r"\s*=\s*)" + _BARE_VALUE),
    # name: value (log lines, YAML). Prose says "refreshing the token: connection refused", so
    # after a colon only a value with a digit, or a long one, counts.
    re.compile(r"(\b" + _SECRET_NAME + r":\s*)(?=[^\s\"']*\d|[^\s\"']{20})" + _BARE_VALUE),
]


class Redactor:
    """Replaces registered secret values and credential shapes with ``[redacted]``.

    Thread-safe: values may be added from worker threads (keyring reads) while the log
    handlers and the event loop redact.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._compiled: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        """Remember a secret value so it is redacted wherever it appears from now on."""
        if not value or len(value.strip()) < MIN_VALUE_LENGTH:
            return
        value = value.strip()
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._compiled = None

    def add_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def values(self) -> frozenset[str]:
        """Every secret value known so far (character tests check no reply repeats one)."""
        with self._lock:
            return frozenset(self._values)

    def _known(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._compiled is None and self._values:
                # Longest first, so a value that contains another is replaced whole.
                # A value is also looked for as it appears inside a JSON string (a quote or
                # backslash in a password is escaped in stored transcripts and exports).
                forms = self._values | {json.dumps(v)[1:-1] for v in self._values}
                ordered = sorted(forms, key=len, reverse=True)
                self._compiled = re.compile("|".join(re.escape(v) for v in ordered))
            return self._compiled

    def redact(self, text: str) -> str:
        """``text`` with every registered value and credential shape replaced."""
        if not text:
            return text
        known = self._known()
        if known is not None:
            text = known.sub(REDACTED, text)
        for pattern in _WHOLE:
            text = pattern.sub(REDACTED, text)
        for pattern in _VALUE:
            text = pattern.sub(_keep_name, text)
        return text

    def contains_secret(self, text: str) -> bool:
        """True when `redact` would change ``text``."""
        return self.redact(text) != text


def _keep_name(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def looks_like_credential(value: str) -> bool:
    """Whether an unnamed value (an MCP server's env entry, a .env line) is worth registering:
    long, one word, letters and digits mixed. Ordinary settings ("production", "/usr/bin",
    "https://example.com") are not, so registering them would redact common words."""
    value = value.strip()
    if len(value) < 16 or any(c.isspace() for c in value) or "://" in value or "/" in value:
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
