"""Characters: persona files in the ElizaOS v0 / Carrier superset, their checks and formats."""

from carrier_studio.core.characters.document import CharacterDoc, CharacterError
from carrier_studio.core.characters.validation import Issue, Severity, validate

__all__ = ["CharacterDoc", "CharacterError", "Issue", "Severity", "validate"]
