"""Character formats: detect what a JSON object is, import it, export to other formats.

The studio's own shape is the Carrier format: ElizaOS v0 plus ``version``, ``mcp_servers``,
``tools``, ``discord_config`` and the studio keys (model, memory, instagram, handoffs,
tool_policy). These functions convert decoded JSON; reading and writing files is the services'
job.

Detection (:func:`detect_format`), first rule that matches:

1. Not an object: UNKNOWN.
2. A Character Card: ``spec`` starting with ``chara_card`` (``chara_card_v3``: CARD_V3), or a
   ``data`` object with a name and ``first_mes``/``mes_example``; or a V1 card (no
   spec, no data, no bio/messageExamples; top-level ``first_mes`` or ``mes_example``, or
   ``description`` with ``personality`` or ``scenario``): CARD_V2.
3. Any Carrier key (``version``, ``mcp_servers``, ``tools``, ``discord_config``, a studio key):
   CARRIER.
4. An ElizaOS v0 key (``modelProvider``, ``clients``, ``lore``): ELIZA_V0.
5. An example conversation written as a group ``{"name": title, "examples": [...]}``: ELIZA_V2.
6. Example messages that name their speaker with ``"name"``, none with ``"user"``: ELIZA_V1.
7. Example messages with ``"user"`` speakers: ELIZA_V0.
8. An ElizaOS 1.x key (``plugins``, ``knowledge``, ``templates``, ``secrets``, ``id``): ELIZA_V1.
9. Any other character key (``name``, ``bio``, ``system``, …): ELIZA_V0, the studio's base.
10. Otherwise UNKNOWN.

Rules 3 and 4 come first because the studio's own files may use what ElizaOS 1.x writes (groups,
``"name"`` speakers; validation accepts both) and must still come back untouched.

Import (:func:`import_character`) returns Carrier and v0 input as it is (the same dict, so the
same key order). ElizaOS 1.x input gets ``version`` and ``"user"`` speakers; v2 groups become
plain conversations whose headers (title) go to ``messageExampleGroups``. Cards are described in
:mod:`.card`. Every unknown key is kept. Input that cannot be a character raises
:class:`CharacterError` with a JSON path in ``where``; a wrong shape inside a field that can be
copied as it is (``messageExamples``) is left for ``validate()`` to report.

Export (:data:`EXPORTERS`: Carrier, ElizaOS v0/v1/v2, Card V2/V3) never writes a
secret value: ``settings.secrets`` and top-level ``secrets`` keep their keys with empty values, and
a secret copied into any other text is cut out. ``lost`` names each non-empty field the target
cannot carry (``version``, the file's own version, is not counted).
"""

from __future__ import annotations

from collections.abc import Callable

from carrier_studio.core.characters.document import CharacterDoc, CharacterError
from carrier_studio.core.characters.formats.base import (
    AVATAR_KEY,
    CARD_KEY,
    FORMAT_LABELS,
    GROUPS_KEY,
    ExportResult,
    Format,
    ImportResult,
    without_secrets,
)
from carrier_studio.core.characters.formats.card import (
    export_card_v2,
    export_card_v3,
    import_card,
)
from carrier_studio.core.characters.formats.detect import detect_format
from carrier_studio.core.characters.formats.eliza import (
    export_eliza_v0,
    export_eliza_v1,
    export_eliza_v2,
    import_eliza,
)
from carrier_studio.core.json_types import json_type as _json_type


def export_carrier(doc: CharacterDoc) -> ExportResult:
    """The character in the studio's own format, to share: every key, secret values blanked."""
    clean, secrets = without_secrets(doc.data)
    return ExportResult(clean, secrets.lost("the file keeps the key with an empty value"))


#: The JSON formats a character can be exported to, for the UI's "Export as…" menu and the CLI.
#: A PNG card (`Format.CARD_PNG`) is the V2 and V3 cards in an image: the services write it.
EXPORTERS: dict[Format, Callable[[CharacterDoc], ExportResult]] = {
    Format.CARRIER: export_carrier,
    Format.ELIZA_V0: export_eliza_v0,
    Format.ELIZA_V1: export_eliza_v1,
    Format.ELIZA_V2: export_eliza_v2,
    Format.CARD_V2: export_card_v2,
    Format.CARD_V3: export_card_v3,
}

__all__ = [
    "AVATAR_KEY",
    "CARD_KEY",
    "EXPORTERS",
    "FORMAT_LABELS",
    "GROUPS_KEY",
    "ExportResult",
    "Format",
    "ImportResult",
    "detect_format",
    "export_card_v2",
    "export_card_v3",
    "export_carrier",
    "export_eliza_v0",
    "export_eliza_v1",
    "export_eliza_v2",
    "import_character",
]


def import_character(raw: object) -> ImportResult:
    """``raw`` (decoded JSON) as a document in the studio's shape, with notes for the user."""
    if not isinstance(raw, dict):
        raise CharacterError(f"a character must be a JSON object, not {_json_type(raw)}", where="$")
    source = detect_format(raw)
    if source in (Format.CARRIER, Format.ELIZA_V0):
        return ImportResult(CharacterDoc(raw), source, [])
    if source in (Format.ELIZA_V1, Format.ELIZA_V2):
        return import_eliza(raw, source)
    if source in (Format.CARD_V2, Format.CARD_V3):
        return import_card(raw)
    raise CharacterError(
        "this JSON object is not a character: it has none of the keys name, bio, system, "
        "messageExamples, nor a Character Card's spec or data",
        where="$",
    )
