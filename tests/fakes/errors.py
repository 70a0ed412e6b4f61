"""Error bodies in each provider's real JSON shape, so the clients raise their typed exceptions.

The clients pick the exception class from the status code, but read `message`, `type` and
`code` from the body; tests of error handling in the app see exactly what production would.
"""

from __future__ import annotations

from typing import Any

from .replies import ErrorReply

# (type, code) the OpenAI API sends for common statuses.
_OPENAI_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}

# error.type the Anthropic API sends per status.
_ANTHROPIC_DEFAULTS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error_body(reply: ErrorReply) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}` as api.openai.com sends it."""
    default_type, default_code = _OPENAI_DEFAULTS.get(
        reply.status, ("server_error" if reply.status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": reply.message,
            "type": reply.type_ or default_type,
            "param": None,
            "code": reply.code if reply.code is not None else default_code,
        }
    }


def anthropic_error_body(reply: ErrorReply, request_id: str) -> dict[str, Any]:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` as Anthropic sends it."""
    default_type = _ANTHROPIC_DEFAULTS.get(
        reply.status, "api_error" if reply.status >= 500 else "invalid_request_error"
    )
    return {
        "type": "error",
        "error": {"type": reply.type_ or default_type, "message": reply.message},
        "request_id": request_id,
    }
