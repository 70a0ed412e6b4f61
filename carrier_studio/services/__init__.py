"""Adapters to the outside world: files, SQLite, keyring, providers. No Qt (import-linter)."""
