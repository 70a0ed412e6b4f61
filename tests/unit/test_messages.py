from __future__ import annotations

import threading

from carrier_studio.core import messages
from carrier_studio.core.messages import Level, MessageBus


def test_messages_are_held_until_a_listener_connects():
    bus = MessageBus()
    bus.post(Level.WARNING, "early")
    bus.post(Level.INFO, "also early")
    seen = []
    bus.connect(seen.append)
    bus.post(Level.ERROR, "late", "details")
    assert [(m.level, m.text) for m in seen] == [
        (Level.WARNING, "early"),
        (Level.INFO, "also early"),
        (Level.ERROR, "late"),
    ]
    assert seen[-1].details == "details"
    assert bus.held() == []


def test_module_functions_reach_the_process_bus(message_bus):
    messages.error("e")
    messages.warning("w")
    messages.info("i")
    assert [m.level for m in message_bus.held()] == [Level.ERROR, Level.WARNING, Level.INFO]


def test_posting_from_threads_loses_nothing():
    bus = MessageBus()
    seen = []
    bus.connect(seen.append)
    threads = [
        threading.Thread(target=lambda n=n: [bus.post(Level.INFO, f"{n}-{i}") for i in range(50)])
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 200
