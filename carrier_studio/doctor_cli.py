"""``carrier-studio doctor``: what this installation and workspace can do, without a window."""

from __future__ import annotations

import argparse
import sys

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.services.platform.paths import AppPaths


def run_doctor(args: argparse.Namespace) -> int:
    from carrier_studio.services.platform import doctor
    from carrier_studio.session import Session

    try:
        session = Session.build(AppPaths.for_user(), args.workspace)
    except CarrierError as exc:
        print(f"carrier-studio: {exc}", file=sys.stderr)
        return 1
    for held in messages.bus.held():
        print(f"{held.level.value}: {held.text}", file=sys.stderr)
    report = doctor.report(session.workspace, session.settings, session.secrets)
    print(doctor.format_report(report), end="")
    return 0
