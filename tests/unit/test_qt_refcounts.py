"""The pinned PySide6 must not leak or drop references to Python's singletons.

PySide6 6.12.0 on CPython 3.11 dropped a reference to None on every void method call and to
True/False on every signal emit; a long session then aborted with "deallocating None". On 3.12+
these objects are immortal, so the check only means something on 3.11 — which we support.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

CALLS = 5000


class _Emitter(QObject):
    fired = Signal(bool)


def test_void_calls_and_emits_keep_singleton_refcounts(qapp):
    label = QLabel()
    emitter = _Emitter()
    emitter.fired.connect(lambda value: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(CALLS):
        label.setEnabled(False)
        label.setText("x")
        emitter.fired.emit(True)
    # A few references come and go with the loop itself; a per-call leak or drop is thousands.
    assert abs(sys.getrefcount(None) - none_before) < 100
    assert abs(sys.getrefcount(True) - true_before) < 100
