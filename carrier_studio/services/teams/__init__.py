"""Teams of characters: team files, HAAS imports (`TeamService`) and their runs (`TeamRunner`).

Other features use these names only; the modules inside are this package's own business.
"""

from carrier_studio.services.teams.runner import TeamRunner
from carrier_studio.services.teams.service import ImportResult, TeamService

__all__ = ["ImportResult", "TeamRunner", "TeamService"]
