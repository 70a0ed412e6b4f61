"""Character files in the workspace (`CharacterStore`) and drafting one from a description.

Other features use these names only; the modules inside are this package's own business.
"""

from carrier_studio.services.characters.builder import draft_character
from carrier_studio.services.characters.store import CharacterStore, slugify

__all__ = ["CharacterStore", "draft_character", "slugify"]
