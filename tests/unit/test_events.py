"""The one change mechanism: subscribe returns its undo, and a failing listener stops nobody."""

from __future__ import annotations

import logging

from carrier_studio.core.events import Emitter


def test_unsubscribe_stops_the_listener_and_can_run_twice() -> None:
    emitter: Emitter[int] = Emitter("numbers")
    seen: list[int] = []
    unsubscribe = emitter.subscribe(seen.append)
    emitter.emit(1)
    unsubscribe()
    unsubscribe()  # harmless: a page may unsubscribe at close and again at shutdown
    emitter.emit(2)
    assert seen == [1] and len(emitter) == 0


def test_a_listener_that_raises_is_logged_and_the_others_still_hear(caplog) -> None:
    emitter: Emitter[str] = Emitter("words")
    seen: list[str] = []

    def broken(_value: str) -> None:
        raise RuntimeError("a broken view")

    emitter.subscribe(broken)
    emitter.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="carrier_studio.core.events"):
        emitter.emit("hello")
    assert seen == ["hello"]
    assert "a listener of words failed" in caplog.text
