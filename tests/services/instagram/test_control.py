"""The session's Instagram controller follows the settings: no worker until an account is set."""

from __future__ import annotations

import asyncio

from carrier_studio.core.instagram import PostState
from carrier_studio.core.status import StatusBoard
from carrier_studio.services.instagram.controller import NOT_SET_UP, InstagramController
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from tests.fakes.graph_api import TOKEN, USER_ID
from tests.services.instagram import media
from tests.services.instagram.rig import FAST, Rig


def test_the_worker_runs_once_instagram_is_set_up(tmp_path, keyring_backend):
    source = media.jpeg(tmp_path / "a.jpg")
    board = StatusBoard()
    board.add("instagram", "Instagram")

    async def go():
        async with Rig(tmp_path / "rig") as rig:
            settings = SettingsStore.load(tmp_path / "settings.json")
            secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend)
            secrets.set("INSTAGRAM_ACCESS_TOKEN", TOKEN)
            secrets.set("FTP_PASSWORD", rig.ftp.password)
            control = InstagramController(
                rig.db, settings, secrets, tmp_path / "ws" / "instagram", status=board, config=FAST
            )
            before = await control.sync(), board.get("instagram")
            post = await control.queue.add([source], caption="configured")
            s = settings.settings
            s.instagram.user_id = USER_ID
            s.instagram.graph_base_url = rig.graph.base_url
            s.ftp.host, s.ftp.port, s.ftp.user = rig.ftp.host, rig.ftp.port, rig.ftp.user
            s.ftp.public_base_url, s.ftp.use_tls = rig.files.base_url, False
            changed = asyncio.Event()
            control.queue.changed.subscribe(lambda _c: changed.set())
            running = await control.sync()

            async def published():
                while True:
                    changed.clear()
                    if (await control.queue.get(post.id)).state is PostState.PUBLISHED:
                        return
                    await changed.wait()

            await asyncio.wait_for(published(), 10)
            s.instagram.publish_in_background = False
            stopped = await control.sync(), board.get("instagram").detail
            await control.close()
            return rig, before, running, stopped, control.worker.running

    rig, (ran_before, slot_before), running, stopped, still = asyncio.run(go())
    assert not ran_before and slot_before.detail == NOT_SET_UP
    assert running and stopped == (False, NOT_SET_UP) and not still
    assert rig.graph.publishes_of("configured") == 1
