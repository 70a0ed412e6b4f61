"""Teams: several characters that message each other (model, routing, guards, HAAS import).

No SDK and no network here: `carrier_studio.services.teams.service` runs a team on the agents SDK.
"""

from carrier_studio.core.teams.model import USER, Member, Team, TeamError
from carrier_studio.core.teams.network import Delivery, Posted, Stop, Task, TeamNetwork

__all__ = [
    "USER",
    "Delivery",
    "Member",
    "Posted",
    "Stop",
    "Task",
    "Team",
    "TeamError",
    "TeamNetwork",
]
