"""The first-run guide: where the characters' model runs, tested, then chosen.

A new user with no key and no endpoint meets it when the window opens (and it can be opened
again from Settings). Three answers: a model server on this computer (the usual ports of
Ollama, LM Studio, llama.cpp and vLLM are looked at as the guide opens, or an address is
typed), OpenAI, or Anthropic. "Test connection" lists the server's models or says in words what
is wrong; "Use this model" makes the choice the workspace default. The guide itself stores
nothing: the app's `apply` does (services.providers.first_model), as Settings would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.ui.tasks import TaskOwner

#: What the guide offers before a server has listed anything (the user may type another).
SUGGESTED = {
    "openai": ["gpt-4.1-mini", "gpt-4.1", "gpt-4o-mini"],
    "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5"],
}
DEFAULT_ADDRESS = "http://127.0.0.1:11434/v1"
_WHERE_KEYS = {
    "openai": "Create a key at platform.openai.com → API keys.",
    "anthropic": "Create a key at console.anthropic.com → API keys.",
}


@dataclass(frozen=True)
class FirstRunDeps:
    """What the guide works with, from the app."""

    #: (provider kind, base URL, API key) -> the model ids the server offers; raises in words.
    list_models: Callable[[str, str, str], Awaitable[list[str]]]
    #: The local servers that answer: (endpoint name, base URL, models) each.
    find_local_servers: Callable[[], Awaitable[Sequence[tuple[str, str, list[str]]]]]
    #: Store the answer: kind, model, base URL, endpoint label, API key.
    apply: Callable[[str, str, str, str, str], Awaitable[None]]
    #: "Later": do not offer the guide at start again.
    skip: Callable[[], Awaitable[None]]


class FirstRunGuide(QDialog):
    #: Emitted once the answer is stored (the app then opens the Chat page).
    chosen = Signal()

    def __init__(self, deps: FirstRunDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(parent)
        self.deps = deps
        self.tasks = tasks
        self.setObjectName("firstRunGuide")
        self.setWindowTitle("Set up a model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        #: The label each local server's endpoint row gets, by address.
        self._labels: dict[str, str] = {}
        layout = QVBoxLayout(self)
        title = QLabel("<b>Where should your characters' model run?</b>")
        intro = QLabel(
            "Characters answer through a language model. Pick one now; every choice can be "
            "changed later under Settings."
        )
        intro.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(intro)
        self.kinds = QButtonGroup(self)
        self.local = QRadioButton("A model server on this computer (Ollama, LM Studio, llama.cpp…)")
        self.openai = QRadioButton("OpenAI (needs an API key)")
        self.anthropic = QRadioButton("Anthropic (needs an API key)")
        for n, (button, name) in enumerate(
            ((self.local, "Local"), (self.openai, "OpenAI"), (self.anthropic, "Anthropic"))
        ):
            button.setObjectName(f"firstRun{name}")
            self.kinds.addButton(button, n)
            layout.addWidget(button)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._local_page())
        self.stack.addWidget(self._key_page())
        layout.addWidget(self.stack)
        layout.addLayout(self._test_row())
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model:"))
        self.model = QComboBox()
        self.model.setObjectName("firstRunModel")
        self.model.setEditable(True)
        self.model.setMinimumContentsLength(24)
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.editTextChanged.connect(self._update_buttons)
        model_row.addWidget(self.model, 1)
        layout.addLayout(model_row)
        layout.addStretch(1)
        layout.addLayout(self._buttons())
        self.kinds.idToggled.connect(self._on_kind)
        self.local.setChecked(True)
        self.resize(560, 440)

    # -- building ---------------------------------------------------------------------------

    def _local_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(20, 0, 0, 0)
        self.found = QListWidget()
        self.found.setObjectName("firstRunFound")
        self.found.setMaximumHeight(84)
        self.found.hide()  # shown once a server is found
        self.found.currentItemChanged.connect(self._on_found_picked)
        self.look_again = QPushButton("Look again")
        self.look_again.setObjectName("firstRunLookAgain")
        self.look_again.clicked.connect(self.look_for_servers)
        row = QHBoxLayout()
        row.addWidget(QLabel("Address:"))
        self.address = QLineEdit()
        self.address.setObjectName("firstRunAddress")
        self.address.setPlaceholderText(DEFAULT_ADDRESS)
        self.address.setToolTip("The server's OpenAI-compatible address, ending in /v1")
        self.address.textEdited.connect(self._on_address_edited)
        row.addWidget(self.address, 1)
        row.addWidget(self.look_again)
        box.addWidget(self.found)
        box.addLayout(row)
        return page

    def _key_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(20, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("API key:"))
        self.key = QLineEdit()
        self.key.setObjectName("firstRunKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.textEdited.connect(lambda _t: self._say(""))
        row.addWidget(self.key, 1)
        self.where_keys = QLabel()
        self.where_keys.setWordWrap(True)
        box.addLayout(row)
        box.addWidget(self.where_keys)
        return page

    def _test_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("firstRunTest")
        self.test_button.clicked.connect(self.test_connection)
        self.status = QLabel()
        self.status.setObjectName("firstRunStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.status, 1)
        return row

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.later = QPushButton("Later")
        self.later.setObjectName("firstRunLater")
        self.later.setToolTip("Close the guide; Settings has every choice")
        self.later.clicked.connect(self._on_later)
        self.use = QPushButton("Use this model")
        self.use.setObjectName("firstRunUse")
        self.use.setDefault(True)
        self.use.clicked.connect(self._on_use)
        row.addStretch(1)
        row.addWidget(self.later)
        row.addWidget(self.use)
        return row

    # -- what the user does -----------------------------------------------------------------

    def kind(self) -> str:
        if self.openai.isChecked():
            return "openai"
        if self.anthropic.isChecked():
            return "anthropic"
        return "openai-compatible"

    def _on_kind(self, _id: int, checked: bool) -> None:
        if not checked:
            return
        kind = self.kind()
        self.stack.setCurrentIndex(0 if kind == "openai-compatible" else 1)
        self._say("")
        self.model.clear()
        if kind == "openai-compatible":
            if self.found.count() == 0 and not self.tasks.running("Looking for local servers"):
                self.look_for_servers()
        else:
            self.where_keys.setText(_WHERE_KEYS[kind])
            self.model.addItems(SUGGESTED[kind])
        self._update_buttons()

    def look_for_servers(self) -> None:
        self.tasks.start(
            "Looking for local servers", self._look(), busy=[self.look_again, self.test_button]
        )

    async def _look(self) -> None:
        self._say("Looking for Ollama, LM Studio, llama.cpp and vLLM on this computer…")
        servers = await self.deps.find_local_servers()
        self.found.clear()
        self.found.setVisible(bool(servers))
        for label, url, models in servers:
            count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
            item = QListWidgetItem(f"{label} at {url} · {count}")
            item.setData(Qt.ItemDataRole.UserRole, (label, url, list(models)))
            self.found.addItem(item)
        if not servers:
            self._say(
                "No server answered on the usual ports (Ollama 11434, LM Studio 1234, llama.cpp "
                "8080, vLLM 8000). Start one and press Look again, or type its address and "
                "press Test connection."
            )
            return
        self._say(f"Found {len(servers)} server{'s' if len(servers) != 1 else ''}: pick one.")
        self.found.setCurrentRow(0)

    def _on_found_picked(self, item: QListWidgetItem | None, _old: Any = None) -> None:
        if item is None:
            return
        label, url, models = item.data(Qt.ItemDataRole.UserRole)
        self._labels[url] = label
        self.address.setText(url)
        self._offer(models)

    def _on_address_edited(self, _text: str) -> None:
        self.found.clearSelection()
        self.model.clear()
        self._say("")
        self._update_buttons()

    def test_connection(self) -> None:
        self.tasks.start("Testing the connection", self._test(), busy=[self.test_button])

    async def _test(self) -> None:
        kind = self.kind()
        base = self.address.text().strip() if kind == "openai-compatible" else ""
        if kind == "openai-compatible" and not base:
            self.address.setText(DEFAULT_ADDRESS)
            base = DEFAULT_ADDRESS
        key = self.key.text().strip() if kind != "openai-compatible" else ""
        if kind != "openai-compatible" and not key:
            self._say("Paste your API key first.", error=True)
            return
        self._say("Testing the connection…")
        try:
            models = await self.deps.list_models(kind, base, key)
        except CarrierError as exc:
            self._say(str(exc), error=True)
            return
        self._offer(models)

    def _offer(self, models: list[str]) -> None:
        kind = self.kind()
        typed = self.model.currentText().strip()
        self.model.clear()
        if kind != "openai-compatible":  # the suggestions first, when the service has them
            preferred = [m for m in SUGGESTED[kind] if m in models]
            models = preferred + [m for m in models if m not in preferred]
        self.model.addItems(models)
        if typed in models:
            self.model.setCurrentText(typed)
        count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
        self._say(
            f"Connected: {count}. Choose one and press Use this model."
            if models
            else (
                "Connected, but the server lists no models: load one in it, or type a model name."
            ),
            ok=bool(models),
        )
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        self.use.setEnabled(bool(self.model.currentText().strip()))

    def _on_use(self) -> None:
        self.tasks.start("Saving the model choice", self._use(), busy=[self.use])

    async def _use(self) -> None:
        kind = self.kind()
        model = self.model.currentText().strip()
        address = self.address.text().strip() or DEFAULT_ADDRESS
        base = address if kind == "openai-compatible" else ""
        label = self._labels.get(address, "local")
        key = self.key.text().strip() if kind != "openai-compatible" else ""
        await self.deps.apply(kind, model, base, label, key)
        self.chosen.emit()
        self.accept()

    def _on_later(self) -> None:
        self.tasks.start("Closing the guide", self._later(), busy=[self.later])

    async def _later(self) -> None:
        await self.deps.skip()
        self.reject()

    def _say(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.status.setProperty("tone", "error" if error else "ok" if ok else "")
        self.status.setText(text)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
