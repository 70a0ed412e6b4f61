"""Plain-Python domain code: no Qt, no qasync, no network clients (import-linter checks this)."""
