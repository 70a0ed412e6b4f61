from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox, QPushButton

from carrier_studio.core import messages
from carrier_studio.core.errors import ConfigError
from carrier_studio.core.messages import Level
from carrier_studio.ui.tasks import TaskOwner


def test_a_task_disables_its_trigger_and_refuses_to_run_twice(qapp, loop):
    owner = TaskOwner()
    button = QPushButton("Go")
    gate = asyncio.Event()
    done = []

    async def work():
        await gate.wait()
        done.append(True)

    first = owner.start("Import", work(), busy=[button])
    assert first is not None
    assert not button.isEnabled()
    assert owner.start("Import", work(), busy=[button]) is None
    gate.set()
    loop.run_until_complete(owner.wait_idle())
    assert done == [True]
    assert button.isEnabled()


def test_a_failing_task_is_reported_once_with_its_name(qapp, loop, message_bus):
    owner = TaskOwner()

    async def fails():
        raise ConfigError("field is wrong", where="x.y")

    owner.start("Loading catalogue", fails())
    loop.run_until_complete(owner.wait_idle())
    (message,) = message_bus.held()
    assert message.level is Level.ERROR
    assert message.text == "Loading catalogue could not finish: x.y: field is wrong"


def test_cancel_all_ends_running_tasks(qapp, loop):
    owner = TaskOwner()
    cancelled = []

    async def forever():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = owner.start("Forever", forever())
    loop.run_until_complete(asyncio.sleep(0))  # let it reach its await
    loop.run_until_complete(owner.cancel_all())
    assert task.cancelled()
    assert cancelled == [True]
    assert not owner.running("Forever")


def test_errors_open_a_dialog_and_info_goes_to_the_status_bar(make_studio):
    studio = make_studio()
    messages.info("Saved the thing.")
    assert studio.window.statusBar().currentMessage() == "Saved the thing."
    messages.error("Could not open x.json", details="line 3: trailing comma")
    boxes = [b for b in studio.window.findChildren(QMessageBox) if b.isVisible()]
    assert [b.text() for b in boxes] == ["Could not open x.json"]
    assert boxes[0].detailedText() == "line 3: trailing comma"
    boxes[0].accept()
