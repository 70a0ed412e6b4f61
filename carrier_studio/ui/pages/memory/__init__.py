"""The Memory page and the widgets only it uses.

page.py      `MemoryPage` (what the window builds, with its `MemoryPageDeps`) lays out its parts:
browser.py   the filters, the search box and the lazily loaded table of memories;
filters.py   the filter row;
detail.py    the detail pane, one memory in full and editable;
edits.py     what the detail pane asks for (save, pin, new notes), deleting and Undo;
map.py       the map of a character's memories and the pane that keeps it drawn;
jobs.py      import, export, moving to Supabase and re-embedding, one at a time with progress.
"""

from carrier_studio.ui.pages.memory.page import MemoryAsk, MemoryPage, MemoryPageDeps

__all__ = ["MemoryAsk", "MemoryPage", "MemoryPageDeps"]
