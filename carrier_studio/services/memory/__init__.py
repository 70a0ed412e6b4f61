"""Long-term memory. Other features use these names only (the session builds the rest)."""

from carrier_studio.services.memory.scratch import open_scratch_memory

__all__ = ["open_scratch_memory"]
