"""The character form: one tab per part of a character, each field bound to one JSON key.

A field writes its key only when the user changes it, so a file's other keys, and the shape of
keys the form did not touch (``bio`` as one string, say), stay exactly as they were.
"""

# Long: every tab's fields and their key bindings, plus the map from a JSON path back to its
# field (validation warnings go there); one tab per module is the next cut.

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.characters.formats.base import CARD_KEY
from carrier_studio.core.runtime.memory_hooks import DEFAULT_MIN_SCORE, min_score
from carrier_studio.core.settings import PROVIDERS, named_provider, provider_key
from carrier_studio.ui.widgets.examples_editor import MessageExamplesEditor
from carrier_studio.ui.widgets.list_editor import StringListEditor

_PROVIDERS = [("", "Workspace default"), *PROVIDERS.items()]
#: Providers ElizaOS's ``modelProvider`` can also name; another choice goes in the studio's own
#: ``model.provider``, which wins over ``modelProvider``.
_ELIZA_PROVIDERS = ("openai", "anthropic")
_POLICIES = ["ask", "auto", "off"]


def generated_system(name: str) -> str:
    """The system prompt a new character is given (CharacterDoc.new)."""
    return f"You are {name}."


def _form_tab(tabs: QTabWidget, title: str) -> QFormLayout:
    page = QWidget()
    form = QFormLayout(page)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(page)
    tabs.addTab(scroll, title)
    return form


def _checklist(name: str) -> QListWidget:
    widget = QListWidget()
    widget.setObjectName(name)
    widget.setMaximumHeight(140)
    return widget


def _checked(widget: QListWidget) -> list[str]:
    return [
        widget.item(row).data(Qt.ItemDataRole.UserRole)
        for row in range(widget.count())
        if widget.item(row).checkState() == Qt.CheckState.Checked
    ]


def _fill_checklist(widget: QListWidget, options: list[str], checked: list[str], missing: str):
    widget.clear()
    for value in list(dict.fromkeys(options + checked)):
        label = value if value in options else f"{value} ({missing})"
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if value in checked else Qt.CheckState.Unchecked)
        widget.addItem(item)


class CharacterForm(QTabWidget):
    #: The document was changed through the form.
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("characterForm")
        # Every tab stays in sight: at 1024x700 the last ones (Prompt) hid behind scroll
        # arrows; where the row is too narrow, the titles are shortened instead.
        self.setUsesScrollButtons(False)
        self.tabBar().setElideMode(Qt.TextElideMode.ElideRight)
        self.doc = CharacterDoc({})
        self._loading = False
        self._build_persona()
        self._build_examples()
        self._build_style()
        self._build_model_and_tools()
        self._build_clients()

    # -- finding a field -------------------------------------------------------------------

    def field_for(self, path: str) -> QWidget | None:
        """The widget that edits the JSON path of a validation issue (``$.bio[2]``,
        ``$.style.chat``, ``$.memory.min_score``), None when the form has none for it."""
        parts = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.removeprefix("$"))
        if not parts:
            return None
        key, sub = parts[0], parts[1] if len(parts) > 1 else ""
        if key in self.lists:
            return self.lists[key]
        if key == "style":
            return self.style_editors.get(sub) or self.style_editors.get("all")
        if key == "memory":
            return {"min_score": self.min_score, "recall": self.recall}.get(sub, self.memory)
        fields: dict[str, QWidget] = {
            "name": self.name_edit,
            "username": self.username_edit,
            "system": self.system_edit,
            "messageExamples": self.examples,
            "modelProvider": self.provider,
            "model": self.model_edit,
            "temperature": self.temperature,
            "mcp_servers": self.mcp_list,
            "handoffs": self.handoffs,
            "clients": self.discord,
            "discord_config": self.discord,
            "instagram": self.instagram,
            "tool_policy": self.policy,
        }
        return fields.get(key)

    def show_field(self, path: str) -> bool:
        """Bring the field for ``path`` into view on its tab and focus it; False if none."""
        widget = self.field_for(path)
        if widget is None:
            return False
        page: QWidget | None = widget
        while page is not None and self.indexOf(page) < 0:
            page = page.parentWidget()
        if page is None:
            return False
        self.setCurrentWidget(page)
        if isinstance(page, QScrollArea):
            page.ensureWidgetVisible(widget)
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    # -- binding ----------------------------------------------------------------------------

    def _bind(self, signal: Any, write: Callable[[], None]) -> None:
        def on_change(*_args: Any) -> None:
            if not self._loading:
                write()
                self.edited.emit()

        signal.connect(on_change)

    def _list_writer(self, key: str, editor: StringListEditor) -> Callable[[], None]:
        def write() -> None:
            values = editor.values()
            # A one-string bio stays a string while it has at most one line.
            if isinstance(self.doc.data.get(key), str) and len(values) <= 1:
                self.doc.set(key, values[0] if values else "")
            else:
                self.doc.set(key, values)

        return write

    # -- tabs -------------------------------------------------------------------------------

    def _build_persona(self) -> None:
        form = _form_tab(self, "Persona")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("nameEdit")
        self._bind(self.name_edit.textEdited, self._write_name)
        form.addRow("Name", self.name_edit)
        self.username_edit = QLineEdit()
        self._bind(
            self.username_edit.textEdited,
            lambda: self.doc.set("username", self.username_edit.text()),
        )
        form.addRow("Username", self.username_edit)
        self.system_edit = QPlainTextEdit()
        self.system_edit.setObjectName("systemEdit")
        self.system_edit.setMinimumHeight(110)
        self._bind(
            self.system_edit.textChanged,
            lambda: self.doc.set("system", self.system_edit.toPlainText()),
        )
        form.addRow("System prompt", self.system_edit)
        self.lists: dict[str, StringListEditor] = {}
        for key, label, placeholder in [
            ("bio", "Bio", "A fact about the character"),
            ("lore", "Lore", "A story from their past"),
            ("adjectives", "Adjectives", "curious"),
            ("topics", "Topics", "a topic"),
        ]:
            editor = StringListEditor(placeholder)
            editor.setObjectName(f"{key}Editor")
            editor.setMinimumHeight(130)
            self._bind(editor.changed, self._list_writer(key, editor))
            self.lists[key] = editor
            form.addRow(label, editor)

    def _build_examples(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Greetings — the first opens a new chat; others can replace it"))
        self.greetings = StringListEditor("The character's first message ({{char}}: its name)")
        self.greetings.setObjectName("greetingsEditor")
        self._bind(self.greetings.changed, self._write_greetings)
        layout.addWidget(self.greetings, 1)
        layout.addWidget(QLabel("Message examples — how the character answers"))
        self.examples = MessageExamplesEditor()
        self._bind(
            self.examples.changed, lambda: self.doc.set("messageExamples", self.examples.examples())
        )
        layout.addWidget(self.examples, 2)
        layout.addWidget(QLabel("Post examples — for Instagram and other social posts"))
        posts = StringListEditor("A post in the character's voice")
        posts.setObjectName("postExamplesEditor")
        self._bind(posts.changed, self._list_writer("postExamples", posts))
        self.lists["postExamples"] = posts
        layout.addWidget(posts, 1)
        self.addTab(page, "Examples")

    def _write_greetings(self) -> None:
        # Kept where a Character Card keeps them, so a card's export carries them back.
        values = self.greetings.values()
        self.doc.set_in(CARD_KEY, "first_mes", values[0] if values else "")
        self.doc.set_in(CARD_KEY, "alternate_greetings", values[1:])

    def _build_style(self) -> None:
        form = _form_tab(self, "Style")
        self.style_editors: dict[str, StringListEditor] = {}
        for part, label in [("all", "Always"), ("chat", "In chat"), ("post", "In posts")]:
            editor = StringListEditor("A writing rule")
            editor.setObjectName(f"style_{part}")
            editor.setMinimumHeight(120)
            self._bind(
                editor.changed,
                lambda part=part, editor=editor: self.doc.set_in("style", part, editor.values()),
            )
            self.style_editors[part] = editor
            form.addRow(label, editor)

    def _build_model_and_tools(self) -> None:
        form = _form_tab(self, "Model && tools")
        self.provider = QComboBox()
        self.provider.setObjectName("characterProvider")
        for value, label in _PROVIDERS:
            self.provider.addItem(label, value)
        form.addRow("Provider", self.provider)
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("the workspace default model")
        form.addRow("Model", self.model_edit)
        self.endpoint = QComboBox()
        form.addRow("Endpoint", self.endpoint)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        form.addRow("Temperature", self.temperature)
        # One writer per field, each writing only its own key: a change of temperature
        # must not rewrite the provider, nor drop the temperature when there is none.
        self._bind(self.provider.currentIndexChanged, self._write_provider)
        self._bind(
            self.model_edit.textEdited,
            lambda: self.doc.set_in("model", "model", self.model_edit.text().strip()),
        )
        self._bind(
            self.endpoint.currentIndexChanged,
            self._write_endpoint,
        )
        self._bind(self.temperature.valueChanged, self._write_temperature)

        self.mcp_list = _checklist("mcpChecklist")
        self._bind(self.mcp_list.itemChanged, self._write_mcp)
        form.addRow("MCP servers", self.mcp_list)
        self.policy = QComboBox()
        self.policy.addItems(_POLICIES)
        self.policy.setToolTip("Whether tool calls need your approval: ask, auto (no), off")
        self._bind(self.policy.currentIndexChanged, self._write_policy)
        self.policy_label = QLabel("Tool approval")
        form.addRow(self.policy_label, self.policy)
        self.mcp_list.currentItemChanged.connect(lambda *_: self._show_policy())
        self.handoffs = _checklist("handoffChecklist")
        self._bind(
            self.handoffs.itemChanged, lambda: self.doc.set("handoffs", _checked(self.handoffs))
        )
        form.addRow("Hands off to", self.handoffs)

    def _build_clients(self) -> None:
        form = _form_tab(self, "Clients")  # and memory; a short title keeps every tab in sight
        self.discord = QCheckBox("Answer on Discord as this character")
        self._bind(self.discord.toggled, self._write_clients)
        form.addRow("Discord", self.discord)
        self.initial_channel = QLineEdit()
        self.initial_channel.setPlaceholderText("general")
        self._bind(
            self.initial_channel.textEdited,
            lambda: self.doc.set_in(
                "discord_config", "initial_channel", self.initial_channel.text()
            ),
        )
        form.addRow("First channel", self.initial_channel)
        self.initial_message = QLineEdit()
        self._bind(
            self.initial_message.textEdited,
            lambda: self.doc.set_in(
                "discord_config", "initial_message", self.initial_message.text()
            ),
        )
        form.addRow("First message", self.initial_message)
        self.instagram = QCheckBox("Write Instagram captions as this character")
        self._bind(
            self.instagram.toggled,
            lambda: self.doc.set_in("instagram", "enabled", self.instagram.isChecked()),
        )
        form.addRow("Instagram", self.instagram)
        self.hashtags = QLineEdit()
        self.hashtags.setPlaceholderText("#handmade, #ceramics")
        self._bind(
            self.hashtags.textEdited,
            lambda: self.doc.set_in(
                "instagram",
                "default_hashtags",
                [t.strip() for t in self.hashtags.text().split(",") if t.strip()],
            ),
        )
        form.addRow("Default hashtags", self.hashtags)
        self.memory = QCheckBox("Remember conversations (long-term memory)")
        self._bind(
            self.memory.toggled,
            lambda: self.doc.set_in("memory", "enabled", self.memory.isChecked()),
        )
        form.addRow("Memory", self.memory)
        self.recall = QSpinBox()
        self.recall.setRange(1, 100)
        self._bind(
            self.recall.valueChanged,
            lambda: self.doc.set_in("memory", "recall_k", self.recall.value()),
        )
        form.addRow("Memories recalled per reply", self.recall)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setDecimals(2)
        self.min_score.setToolTip(
            "Memories that match a message less than this are not sent with it. A match is "
            "70% meaning and 30% shared words, from 0 to 1; "
            f"{DEFAULT_MIN_SCORE:.2f} is the default (measured on chat memories)."
        )
        self._bind(
            self.min_score.valueChanged,
            lambda: self.doc.set_in("memory", "min_score", round(self.min_score.value(), 2)),
        )
        form.addRow("Minimum match score", self.min_score)

    # -- writers ----------------------------------------------------------------------------

    def _write_name(self) -> None:
        """Write the name; a system prompt still exactly the generated "You are <name>." follows
        it (#15: a new character kept "You are New character."). An edited prompt is kept."""
        old, new = self.doc.name, self.name_edit.text()
        if self.doc.data.get("system") == generated_system(old):
            self.doc.set("system", generated_system(new))
            self._loading = True
            try:
                self.system_edit.setPlainText(generated_system(new))
            finally:
                self._loading = False
        self.doc.set("name", new)

    def _write_provider(self) -> None:
        """The provider goes where the file names it: the studio's ``model.provider``, else an
        ElizaOS ``modelProvider`` (kept in step when both are there, in the file's spelling
        when it already means this provider). "Workspace default" removes both, since either
        one alone would still pick the provider."""
        provider = self.provider.currentData() or ""
        self._enable_model_fields(provider)
        model = self.doc.data.get("model")
        eliza = self.doc.data.get("modelProvider")
        if not provider:
            if isinstance(model, dict):
                for key in ("provider", "model", "endpoint"):
                    model.pop(key, None)
                if not model:
                    del self.doc.data["model"]
            self.doc.data.pop("modelProvider", None)
            return
        if "modelProvider" in self.doc.data and provider_key(eliza) != provider:
            if provider in _ELIZA_PROVIDERS:
                self.doc.data["modelProvider"] = provider
        own = model.get("provider") if isinstance(model, dict) else None
        if own or provider_key(self.doc.data.get("modelProvider")) != provider:
            self.doc.set_in("model", "provider", provider)

    def _write_endpoint(self) -> None:
        endpoint = self.endpoint.currentData()
        if endpoint:
            self.doc.set_in("model", "endpoint", endpoint)
        else:
            self.doc.section("model").pop("endpoint", None)

    def _write_temperature(self) -> None:
        """Write the temperature wherever the file keeps it (``model.temperature``, the
        top-level ``temperature``, or both); a file with neither gets the top-level key, which
        counts whether or not the character names a provider."""
        value = round(self.temperature.value(), 2)
        model = self.doc.section("model")
        if "temperature" in model:
            model["temperature"] = value
        if "temperature" in self.doc.data or "temperature" not in model:
            self.doc.data["temperature"] = value

    def _enable_model_fields(self, provider: str) -> None:
        # A model or endpoint without a provider counts for nothing (the workspace default's
        # are used), so they can only be set once a provider is chosen.
        self.model_edit.setEnabled(bool(provider))
        self.endpoint.setEnabled(provider == "openai-compatible")

    def _write_mcp(self) -> None:
        self.doc.set("mcp_servers", _checked(self.mcp_list))

    def _write_policy(self) -> None:
        item = self.mcp_list.currentItem()
        if item is not None:
            server = item.data(Qt.ItemDataRole.UserRole)
            self.doc.set_in("tool_policy", server, self.policy.currentText())

    def _show_policy(self) -> None:
        item = self.mcp_list.currentItem()
        self.policy.setEnabled(item is not None)
        if item is None:
            return
        server = item.data(Qt.ItemDataRole.UserRole)
        self.policy_label.setText(f"Approval for {server}")
        current = self.doc.section("tool_policy").get(server, "ask")
        self._loading = True
        self.policy.setCurrentText(current if current in _POLICIES else "ask")
        self._loading = False

    def _write_clients(self) -> None:
        # Client names are compared case-insensitively and kept in the file's spelling:
        # a Carrier file's "Discord" is the Discord client, not a second one.
        clients = self.doc.strings("clients")
        has = any(c.lower() == "discord" for c in clients)
        if self.discord.isChecked() and not has:
            self.doc.set("clients", [*clients, "discord"])
        elif not self.discord.isChecked() and has:
            self.doc.set("clients", [c for c in clients if c.lower() != "discord"])

    # -- loading ----------------------------------------------------------------------------

    def _show_provider(self, named: str | None) -> None:
        """Show the provider the character runs on (core.settings.named_provider): a provider
        the studio cannot run is shown as it is written, never as "Workspace default"."""
        while self.provider.count() > len(_PROVIDERS):
            self.provider.removeItem(self.provider.count() - 1)
        if named is None:
            self.provider.setCurrentIndex(0)
            return
        key = provider_key(named)
        if key is None:
            self.provider.addItem(f"{named} (cannot run here)", named)
            self.provider.setCurrentIndex(self.provider.count() - 1)
        else:
            self.provider.setCurrentIndex(self.provider.findData(key))

    def load(
        self,
        doc: CharacterDoc,
        *,
        mcp_servers: list[str],
        characters: list[str],
        endpoints: list[str],
    ) -> None:
        """Show ``doc`` (the form edits this object in place)."""
        self._loading = True
        try:
            self.doc = doc
            self.name_edit.setText(doc.name)
            self.username_edit.setText(doc.text("username"))
            if self.system_edit.toPlainText() != doc.text("system"):
                self.system_edit.setPlainText(doc.text("system"))
            for key, editor in self.lists.items():
                editor.set_values(doc.strings(key))
            for part, editor in self.style_editors.items():
                editor.set_values(doc.style(part))
            self.examples.set_examples(doc.data.get("messageExamples"), doc.name)
            card = doc.section(CARD_KEY)
            first, others = card.get("first_mes"), card.get("alternate_greetings")
            said = [first] if isinstance(first, str) and first else []
            said += [g for g in others if isinstance(g, str)] if isinstance(others, list) else []
            self.greetings.set_values(said)
            model = doc.section("model")
            self._show_provider(named_provider(doc.data))
            self.model_edit.setText(str(model.get("model", "")))
            self.endpoint.clear()
            # Unset is a choice of its own: showing the first endpoint instead would claim a
            # key the file does not have, and picking it would write nothing.
            self.endpoint.addItem("Workspace default's, else the first", "")
            for name in dict.fromkeys(
                endpoints + [str(model.get("endpoint", ""))] if model.get("endpoint") else endpoints
            ):
                self.endpoint.addItem(name, name)
            if model.get("endpoint"):
                self.endpoint.setCurrentIndex(self.endpoint.findData(model["endpoint"]))
            self._enable_model_fields(self.provider.currentData() or "")
            temperature = model.get("temperature", doc.data.get("temperature", 0.7))
            self.temperature.setValue(
                float(temperature) if isinstance(temperature, (int, float)) else 0.7
            )
            _fill_checklist(
                self.mcp_list, mcp_servers, doc.strings("mcp_servers"), "not in catalogue"
            )
            others = [c for c in characters if c != doc.name]
            _fill_checklist(self.handoffs, others, doc.strings("handoffs"), "no such character")
            self.discord.setChecked(any(c.lower() == "discord" for c in doc.strings("clients")))
            discord = doc.section("discord_config")
            self.initial_channel.setText(str(discord.get("initial_channel", "")))
            self.initial_message.setText(str(discord.get("initial_message", "")))
            instagram = doc.section("instagram")
            self.instagram.setChecked(bool(instagram.get("enabled", False)))
            tags = instagram.get("default_hashtags", [])
            self.hashtags.setText(
                ", ".join(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ""
            )
            memory = doc.section("memory")
            self.memory.setChecked(bool(memory.get("enabled", True)))
            recall = memory.get("recall_k", 5)
            self.recall.setValue(recall if isinstance(recall, int) else 5)
            self.min_score.setValue(min_score(memory))
        finally:
            self._loading = False
        self._show_policy()
