"""#21: the app moves start-up's objects out of the garbage collector's sight once the chat
runtime is imported (a full collection walked ~260k of them, stalling the event loop 110-180 ms
every few dozen chat turns); a studio built without asking for it (every test's) does not."""

from __future__ import annotations

import gc

from carrier_studio.app.window import Studio
from carrier_studio.session import Session


def _warmed_freeze_count(qapp, loop, app_paths, keyring_backend, workspace, **options) -> int:
    session = Session.build(app_paths, str(workspace), keyring_backend=keyring_backend, environ={})
    studio = Studio(session, qapp, offer_first_run=False, **options)
    try:
        loop.run_until_complete(studio.start())
        loop.run_until_complete(studio._warming)  # the chat runtime's import, then the freeze
        return gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the rest of the test session is collected as usual
        loop.run_until_complete(studio.shutdown())
        studio.window.deleteLater()


def test_the_app_freezes_start_up_s_objects_and_a_plain_studio_does_not(
    qapp, loop, app_paths, keyring_backend, tmp_path
):
    gc.unfreeze()
    assert _warmed_freeze_count(qapp, loop, app_paths, keyring_backend, tmp_path / "a") == 0
    frozen = _warmed_freeze_count(
        qapp, loop, app_paths, keyring_backend, tmp_path / "b", freeze_heap=True
    )
    assert frozen > 10_000, frozen
