"""The Chat page: conversations per character, a streaming transcript, approvals, errors.

Every turn is one owned task that consumes a `ChatThread`'s events and turns each into a
transcript widget. The thread (services/chat/thread.py) has already stored the event by the
time the page sees it, so the page only draws.
"""

# Long: the Chat page's conversation list, transcript and composer share the running
# turn's state; the conversation list is the next cut.

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.mcp import ServerStatus
from carrier_studio.core.mcp.requests import ListChanged, ToolProgress
from carrier_studio.core.mcp.resources import PromptText
from carrier_studio.core.mcp.status import without_tools_line
from carrier_studio.core.runtime import attachments as attached
from carrier_studio.core.runtime.events import (
    ApprovalRequested,
    ChatEvent,
    Done,
    HandoffEvent,
    MemoriesRecalled,
    RunError,
    TextDelta,
    ToolCallStarted,
    ToolsUnavailable,
)
from carrier_studio.core.runtime.transcript import (
    Approval,
    ApprovalResult,
    AssistantText,
    Failure,
    Handoff,
    Memories,
    Stored,
    ToolCall,
    TurnReducer,
    UserText,
)
from carrier_studio.core.settings import WORKSPACE_DEFAULT, ConversationModel, ModelChoice
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.ask import Ask
from carrier_studio.ui.widgets.attachment_strip import AttachmentStrip
from carrier_studio.ui.widgets.avatar import show_avatars
from carrier_studio.ui.widgets.chat_branches import EditBar, mark_branches
from carrier_studio.ui.widgets.chat_items import (
    ApprovalCard,
    ErrorCard,
    MemoryCard,
    MessageBubble,
    Notice,
    ToolCard,
)
from carrier_studio.ui.widgets.chat_mcp import ComposerMcp
from carrier_studio.ui.widgets.chat_servers import ServersCard
from carrier_studio.ui.widgets.chat_tools import ContextMeter, ConversationExport
from carrier_studio.ui.widgets.elided_label import ElidedLabel
from carrier_studio.ui.widgets.memory_card import MemoryCardActions
from carrier_studio.ui.widgets.page import Page
from carrier_studio.ui.widgets.save_as_test import SaveAsTest, TestFiles
from carrier_studio.ui.widgets.transcript import Transcript

if TYPE_CHECKING:
    from carrier_studio.services.chat import ChatService, ChatThread
    from carrier_studio.services.mcp import McpBrowser


#: The pause in typing after which the draft's memories are recalled (ChatThread.recall_ahead).
RECALL_AHEAD_MS = 200
#: How long a turn's memory card waits for the reply's first words before it is drawn anyway:
#: shorter than a person notices, longer than a quick model takes to start answering.
CARD_WAIT_MS = 40
#: The widest the model box grows beside the conversation's title (px).
MODEL_BOX_MAX_WIDTH = 420


@dataclass
class ChatPageDeps:
    chat: ChatService
    #: Models offered by the switcher besides the character's own and the workspace default:
    #: (label, choice).
    model_options: Callable[[], list[tuple[str, ModelChoice]]]
    #: Whether the dark theme is showing (code blocks are highlighted to match).
    dark: Callable[[], bool]
    #: Where "Save as test" writes scenario files (None: no such button).
    save_test: TestFiles | None = None
    #: The MCP servers' resources and prompts (None: no Resource button, no /commands).
    browser: McpBrowser | None = None
    #: Subscribe to MCP tool progress and to servers' list changes (McpManager.on_progress,
    #: on_list_changed); each returns the way to stop. None: not shown.
    on_progress: Callable[[Callable[[ToolProgress], None]], Callable[[], None]] | None = None
    on_list_changed: Callable[[Callable[[ListChanged], None]], Callable[[], None]] | None = None


class Composer(QPlainTextEdit):
    """Enter sends; Shift+Enter adds a line. Files dropped or pasted, and pasted pictures,
    become attachments instead of text."""

    submitted = Signal()
    files_dropped = Signal(list)
    #: A pasted picture, as PNG bytes.
    image_pasted = Signal(bytes)
    #: A completion popup (the /commands) that takes Enter, Tab and Escape while it shows.
    popup: QWidget | None = None

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt override
        return bool(source.hasImage() or _local_files(source)) or super().canInsertFromMimeData(
            source
        )

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt override
        if files := _local_files(source):
            self.files_dropped.emit(files)
        elif source.hasImage():
            buffer = QBuffer()
            buffer.open(QBuffer.OpenModeFlag.WriteOnly)
            QImage(source.imageData()).save(buffer, "PNG")
            self.image_pasted.emit(bytes(buffer.data()))
        else:
            super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if (
            self.popup is not None
            and self.popup.isVisible()
            and event.key()
            in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, Qt.Key.Key_Escape)
        ):
            event.ignore()  # the completer chooses or closes
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def _local_files(source: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in source.urls() if u.isLocalFile()]


class ChatPage(Page):
    #: A turn finished (tests, bench).
    turn_finished = Signal()
    #: The user asked to see a recalled memory on the Memory page (its id).
    open_memory = Signal(str)
    #: The first text of a reply was painted (bench/chat.py).
    first_token_painted = Signal()

    def __init__(self, deps: ChatPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__("Chat", "Talk to a character to test it.", parent)
        self.deps = deps
        self.tasks = tasks
        self.ask = Ask
        self.thread: ChatThread | None = None
        self._bubble: MessageBubble | None = None
        #: The next turn's bubbles, built while nothing happens (`_make_spares`).
        self._spare_user: MessageBubble | None = None
        self._spare_reply: MessageBubble | None = None
        self._tools: dict[str, ToolCard] = {}
        self._approvals: dict[str, ApprovalCard] = {}
        self._decisions: dict[str, tuple[bool, bool]] = {}
        #: The running turn's reducer (a fresh one for each turn).
        self._turn = TurnReducer("")
        self._running = False
        self._turns = 0
        #: This turn's recalled memories, drawn once the reply's first words are painted, and
        #: the transcript item they go after (`_defer_memory_card`).
        self._pending_card: tuple[Memories, QWidget | None] | None = None
        # After the signal's other receivers (the bench times the first token by it).
        #: Chosen in the sidebar before the message box could take the keyboard.
        self._focus_wanted = False
        self.first_token_painted.connect(
            lambda: QTimer.singleShot(0, self, self._draw_pending_card)
        )
        self._characters: list[str] = []
        # Recall cards pin, edit and forget through the memory service (none: memory is off).
        memory = getattr(deps.chat, "memory", None)
        self._memory_actions = MemoryCardActions(getattr(memory, "ready", None), tasks, self)
        #: The chosen character's MCP servers (started when it was chosen) and their card in
        #: the transcript; the character they were started for.
        self._server_names: list[str] = []
        self._servers_card: ServersCard | None = None
        self._warmed: str | None = None
        #: The transcript's scroll range before its last change (to follow the end).
        self._scroll_max = 0
        self._stop_watching_servers = deps.chat.watch_servers(self._on_server_status)
        self._unwatch_mcp = [
            watch(handler)
            for watch, handler in (
                (deps.on_progress, self._on_tool_progress),
                (deps.on_list_changed, self._on_list_changed),
            )
            if watch is not None
        ]

        splitter = QSplitter()
        splitter.addWidget(self._build_sidebar())
        splitter.addWidget(self._build_conversation())
        splitter.setSizes([260, 900])
        splitter.setChildrenCollapsible(False)
        self.body.addWidget(splitter, 1)
        self._set_conversation_enabled(False)
        self.refresh()

    # -- building -------------------------------------------------------------------------

    def _build_sidebar(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 8, 0)
        self.character = QComboBox()
        self.character.setObjectName("chatCharacter")
        self.character.currentTextChanged.connect(lambda _t: self.refresh_conversations())
        layout.addWidget(self.character)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search conversations…")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.refresh_conversations)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        layout.addWidget(self.search)
        self.conversations = QListWidget()
        self.conversations.setObjectName("conversationList")
        self.conversations.currentItemChanged.connect(self._on_conversation_changed)
        layout.addWidget(self.conversations, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.new_conversation)
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self.rename_conversation)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_conversation)
        for button in (self.new_button, self.rename_button, self.delete_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.save_test: SaveAsTest | None = None
        if self.deps.save_test is not None:  # the conversation as a scripted test (#17)
            self.save_test = SaveAsTest(self.deps.save_test, self.tasks, self)
            self.save_test_button = QPushButton("Save as test")
            self.save_test_button.setObjectName("saveAsTest")
            self.save_test_button.setToolTip("Turn this conversation into a character test")
            self.save_test_button.clicked.connect(self.save_as_test)
            layout.addWidget(self.save_test_button)
        self.export = ConversationExport(self._export_source, self.tasks, self)
        layout.addWidget(self.export)
        return panel

    def _build_conversation(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(8, 0, 0, 0)
        header = QHBoxLayout()
        # Elided: a long title must not squeeze the model box beside it.
        self.heading = ElidedLabel("No conversation")
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600")
        header.addWidget(self.heading, 1)
        self.model_label = QLabel("Model")
        header.addWidget(self.model_label)
        self.model = QComboBox()
        self.model.setObjectName("modelSwitcher")
        # Sized to about 18 characters, not to its longest choice: a long "… cannot run here"
        # pushed the box off the right edge at 1024x700, and at 30 the title beside it read
        # "Hello, wh…". It shares the row with the title and grows to MODEL_BOX_MAX_WIDTH on a
        # wide window; the tooltip says the whole choice.
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(18)
        self.model.setMaximumWidth(MODEL_BOX_MAX_WIDTH)
        self.model.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.model.activated.connect(self._on_model_activated)
        header.addWidget(self.model, 1)
        layout.addLayout(header)
        problem = QHBoxLayout()
        self.model_problem = QLabel()
        self.model_problem.setObjectName("modelProblem")
        self.model_problem.setWordWrap(True)
        problem.addWidget(self.model_problem, 1)
        self.use_default_button = QPushButton("Use the workspace default for this conversation")
        self.use_default_button.setObjectName("useWorkspaceDefault")
        self.use_default_button.clicked.connect(self._on_use_default_clicked)
        problem.addWidget(self.use_default_button)
        self.model_problem.hide()
        self.use_default_button.hide()
        layout.addLayout(problem)
        self.transcript = Transcript()
        self.scroll = QScrollArea()
        self.scroll.setObjectName("transcriptScroll")
        self.scroll.setWidgetResizable(True)
        # Never sideways: every item gives way to the column's width (a long tool name once
        # widened it, cut Approve to "Appr" and left the replies cut on the left).
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.transcript)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._on_scroll_range_changed)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(self._build_context_row())
        row = QHBoxLayout()
        self.composer = Composer()
        self.composer.setObjectName("composer")
        self.composer.setPlaceholderText("Message… (Enter sends, Shift+Enter adds a line)")
        self.composer.setMaximumHeight(110)
        self.composer.submitted.connect(self.send)
        self._meter_timer = QTimer(self, singleShot=True, interval=150)
        self._meter_checks = 0
        self._meter_timer.timeout.connect(self._update_meter)
        self.composer.textChanged.connect(self._meter_timer.start)
        # After a pause in typing the thread recalls the draft's memories, so Send need not
        # wait for the embedder (#21); a message sent with other text recalls afresh.
        self._recall_timer = QTimer(self, singleShot=True, interval=RECALL_AHEAD_MS)
        self._recall_timer.timeout.connect(self._recall_ahead)
        self.composer.textChanged.connect(self._recall_timer.start)
        row.addWidget(self.composer, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setProperty("primary", True)
        self.send_button.clicked.connect(self._on_send_clicked)
        self.mcp: ComposerMcp | None = None
        if self.deps.browser is not None:
            self.mcp = ComposerMcp(self.composer, self.deps.browser, self.tasks, self)
            self.composer.popup = self.mcp.commands.completer.popup()
            self.mcp.attach.connect(self._on_mcp_attach)
            self.mcp.prompt_filled.connect(self._on_prompt_filled)
            row.addWidget(self.mcp.button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        #: The sent message being edited (Send then makes a new branch), and its bar.
        self._editing: MessageBubble | None = None
        self.edit_bar = EditBar()
        self.edit_bar.cancelled.connect(self._end_edit)
        layout.addWidget(self.edit_bar)
        #: What the next message takes along (core/runtime/attachments.py), shown above it.
        self._attachments: list[attached.Attachment] = []
        self.attachment_strip = AttachmentStrip(removable=True)
        self.attachment_strip.removed.connect(self._remove_attachment)
        layout.addWidget(self.attachment_strip)
        self.attachment_problem = QLabel()
        self.attachment_problem.setObjectName("attachmentProblem")
        self.attachment_problem.setWordWrap(True)
        self.attachment_problem.hide()
        layout.addWidget(self.attachment_problem)
        self.composer.files_dropped.connect(self.attach_files)
        self.composer.image_pasted.connect(
            lambda data: self._attach(lambda: attached.image("pasted image.png", data))
        )
        layout.addLayout(row)
        return panel

    # -- conversations ----------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.start("Loading characters for chat", self._load_characters())

    async def _load_characters(self) -> None:
        self._warmed = None  # a character's servers may have changed since: look again
        pickable = await self.deps.chat.pickable()
        names = sorted(pickable)
        current = self.character.currentText()
        self._characters = names
        self.character.blockSignals(True)
        self.character.clear()
        self.character.addItems(names)
        if current in names:
            self.character.setCurrentText(current)
        self.character.blockSignals(False)
        await show_avatars(self.character, pickable)
        await self._load_conversations()

    def refresh_conversations(self) -> None:
        self.tasks.start("Loading conversations", self._load_conversations())

    async def _load_conversations(self, select: int | None = None) -> None:
        character = self.character.currentText()
        if not character:
            return
        if character != self._warmed:
            # Its MCP servers start now, not at the first message; the transcript shows them.
            self._warmed = character
            self._server_names = await self.deps.chat.warm(character)
            if self.mcp is not None:
                names = self._server_names
                statuses = {n: self.deps.chat.server_status(n) for n in names}
                self.mcp.set_servers(names, statuses, character)
        summaries = await self.deps.chat.conversations.list(character, self.search.text())
        current = select if select is not None else (self.thread.id if self.thread else None)
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for summary in summaries:
            item = QListWidgetItem(summary.title)
            item.setData(Qt.ItemDataRole.UserRole, summary.id)
            item.setToolTip(f"{summary.messages} messages · {summary.updated_at[:16]}")
            self.conversations.addItem(item)
            if summary.id == current:
                self.conversations.setCurrentItem(item)
        self.conversations.blockSignals(False)
        if self.conversations.currentItem() is None and self.conversations.count():
            self.conversations.setCurrentRow(0)  # opens it
        elif self.conversations.currentItem() is not None and (
            self.thread is None or self.thread.id != current
        ):
            await self._open(self.conversations.currentItem().data(Qt.ItemDataRole.UserRole))
        elif not self.conversations.count():
            await self._close_thread()
            self.transcript.clear()
            self.heading.setText("No conversation yet — type a message to start one")
            self._set_conversation_enabled(False)
            self._show_servers()

    def _on_conversation_changed(self, current: QListWidgetItem | None, _previous: Any) -> None:
        if current is None:
            return
        conversation_id = current.data(Qt.ItemDataRole.UserRole)
        if self.thread is not None and self.thread.id == conversation_id:
            return
        if self._running and self.thread is not None:
            self.thread.cancel()
        self.tasks.start("Opening conversation", self._open(conversation_id))

    async def _close_thread(self) -> None:
        if self.thread is not None:
            thread, self.thread = self.thread, None
            await thread.close()

    async def _open(self, conversation_id: int) -> None:
        await self._close_thread()
        self._approvals, self._decisions = {}, {}
        thread = await self.deps.chat.open(conversation_id)
        self.thread = thread
        self.heading.setText(thread.conversation.title)
        # The conversation first, then the model box: checking the model reads keys in a
        # thread, and the transcript need not wait for it.
        self._render_history(thread.transcript, {r.approval_id for r in thread.pending})
        for request in thread.pending:
            self._approval_card(request)
        self._show_servers()
        self._scroll_to_end()
        self._set_conversation_enabled(True)
        self._update_send_button()
        self._meter_checks = 0
        self._update_meter()
        QTimer.singleShot(0, self, self._make_spares)
        await self._show_greeting_choice()
        await self._show_models()
        await self._learn_context_window(thread)

    def new_conversation(self) -> None:
        character = self.character.currentText()
        if character:
            self.tasks.start("Starting a conversation", self._new(character))

    async def _new(self, character: str, then_send: bool = False) -> None:
        conversation_id = await self.deps.chat.conversations.create(character)
        await self.deps.chat.greet(conversation_id, character)
        await self._load_conversations(select=conversation_id)
        await self._open(conversation_id)
        self.composer.setFocus()
        if then_send:
            self.send()

    def rename_conversation(self) -> None:
        if self.thread is None:
            return
        title = self.ask.text(self, "Rename conversation", "Title:", self.thread.conversation.title)
        if title and title.strip():
            self.tasks.start("Renaming", self._rename(self.thread.id, title.strip()))

    async def _rename(self, conversation_id: int, title: str) -> None:
        await self.deps.chat.conversations.rename(conversation_id, title)
        if self.thread is not None and self.thread.id == conversation_id:
            self.heading.setText(title)
            self.thread.conversation = type(self.thread.conversation)(
                conversation_id,
                self.thread.character,
                title,
                self.thread.conversation.history,
                self.thread.conversation.pending_state,
            )
        await self._load_conversations(select=conversation_id)

    def delete_conversation(self) -> None:
        if self.thread is None:
            return
        if self.confirm_delete(self.thread.conversation.title):
            self.tasks.start("Deleting conversation", self._delete(self.thread.id))

    def confirm_delete(self, title: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Delete conversation",
            f"Delete “{title}” and all its messages? This cannot be undone.",
        )
        return answer == QMessageBox.StandardButton.Yes

    async def _delete(self, conversation_id: int) -> None:
        await self._close_thread()
        await self.deps.chat.conversations.delete(conversation_id)
        self.transcript.clear()
        await self._load_conversations()

    # -- model switcher ---------------------------------------------------------------------

    async def _show_models(self) -> None:
        """Fill the model box: each item says which model answers and why, and the current one
        is what will really answer this conversation. What stops it is said beneath, with the
        way out when the character's own provider is not set up."""
        thread = self.thread
        if thread is None:
            return
        own, workspace, current = await self.deps.chat.model_plans(thread)
        if self.thread is not thread:
            return  # another conversation was opened meanwhile
        chosen = self.deps.chat.model_choice(thread)
        self.model.clear()
        if own.choice is None:
            self.model.addItem(f"{own.reason} — cannot run here", None)
        else:
            self.model.addItem(f"{own.label} — {own.reason}", None)
        if own.source == "character":
            self.model.addItem(f"Workspace default: {workspace.label}", WORKSPACE_DEFAULT)
        options = self.deps.model_options()
        if isinstance(chosen, ModelChoice) and all(c != chosen for _, c in options):
            options = [*options, (f"{chosen.label} — chosen for this conversation", chosen)]
        for label, choice in options:
            self.model.addItem(label, choice)
        for index in range(self.model.count()):
            if self.model.itemData(index) == chosen:
                self.model.setCurrentIndex(index)
        self.model.setToolTip(f"Answers: {current.label} — {current.reason}")
        self.model_problem.setText(current.problem)
        self.model_problem.setVisible(bool(current.problem))
        # The way out is for a character whose own provider cannot answer; when the workspace
        # default itself cannot, only Settings can help, and the text says what is missing.
        self.use_default_button.setVisible(bool(current.problem) and current.source == "character")

    def _on_model_activated(self, index: int) -> None:
        if self.thread is not None:
            self.tasks.start("Choosing a model", self._choose_model(self.model.itemData(index)))

    def _on_use_default_clicked(self) -> None:
        if self.thread is not None:
            self.tasks.start("Choosing a model", self._choose_model(WORKSPACE_DEFAULT))

    async def _choose_model(self, choice: ConversationModel) -> None:
        thread = self.thread
        if thread is None:
            return
        await self.deps.chat.set_model(thread, choice)
        await self._show_models()
        await self._learn_context_window(thread)

    # -- transcript ---------------------------------------------------------------------------

    def _render_history(self, stored: list[Stored], pending: set[str]) -> None:
        """Draw a stored conversation; approvals still pending are drawn live afterwards."""
        self._pending_card = None
        self.transcript.clear()
        self._bubble = None
        self._tools = {}
        dark = self.deps.dark()
        for entry in stored:
            item = entry.item
            if isinstance(item, UserText | AssistantText):
                bubble = MessageBubble(item.KIND, item.agent, item.text, dark)
                if isinstance(item, UserText):
                    bubble.attachments.set_attachments(item.attachments)
                self._wire_bubble(bubble)
                if isinstance(item, AssistantText):
                    bubble.finish(self._usage_text(item))
                self.transcript.add(bubble)
                if isinstance(item, AssistantText) and item.left_out:
                    self.transcript.add(self._left_out_notice(item.left_out))
            elif isinstance(item, ToolCall):
                card = ToolCard(item.name, item.arguments, item.agent)
                card.finish(item.result, item.duration_s, item.waited_s)
                self.transcript.add(card)
            elif isinstance(item, Handoff):
                self.transcript.add(Notice(f"Handed off: {item.from_agent} → {item.to_agent}"))
            elif isinstance(item, Memories):
                self._memory_card(item)
            elif isinstance(item, Approval):
                if item.approval_id in pending:
                    continue
                card = ApprovalCard(item.approval_id, item.tool, item.arguments, item.agent)
                card.show_verdict("answered")
                self.transcript.add(card)
            elif isinstance(item, ApprovalResult):
                verdict = "approved" if item.approved else "rejected"
                self.transcript.add(Notice(f"{item.tool} call {verdict}"))
            elif isinstance(item, Failure):
                self._error_card(item.message, item.hint, None)
        self._mark_last_retry()
        self._end_edit()  # the message being edited is gone with the old view
        mark_branches(self._message_bubbles(), stored, idle=not self._running)

    def _memory_card(self, item: Memories, after: QWidget | None = None) -> None:
        card = MemoryCard([asdict(m) for m in item.memories], self.deps.dark())
        card.open_memory.connect(self.open_memory)
        self._memory_actions.attach(card)
        if after is None:
            self.transcript.add(card)
        else:
            self.transcript.insert_after(after, card)

    def _defer_memory_card(self, item: Memories) -> None:
        """A turn's recalled memories, drawn above its reply once the reply's first words are
        painted, or after `CARD_WAIT_MS` while the model thinks: built first, the card's ~1.5 ms
        came before a quick model's first token (#21)."""
        items = self.transcript.items()
        self._pending_card = (item, items[-1] if items else None)
        QTimer.singleShot(CARD_WAIT_MS, self, self._draw_pending_card)

    def _draw_pending_card(self) -> None:
        pending, self._pending_card = self._pending_card, None
        if pending is None:
            return
        item, after = pending
        if after is not None and after not in self.transcript.items():
            return  # the view was redrawn meanwhile: the stored transcript has the card
        self._memory_card(item, after)

    @staticmethod
    def _usage_text(item: AssistantText) -> str:
        parts = []
        if item.input_tokens or item.output_tokens:
            parts.append(f"{item.input_tokens} in · {item.output_tokens} out tokens")
        if item.stopped:
            parts.append("stopped")
        return " · ".join(parts)

    def _wire_bubble(self, bubble: MessageBubble) -> None:
        bubble.retry_requested.connect(self.retry)
        bubble.edit_requested.connect(lambda: self._begin_edit(bubble))
        bubble.branches.switch_to.connect(self._switch_branch)
        bubble.copy_requested.connect(lambda _t: messages.info("Copied to the clipboard."))

    def _mark_last_retry(self) -> None:
        bubbles = [w for w in self.transcript.items() if isinstance(w, MessageBubble)]
        for bubble in bubbles:
            bubble.retry_button.hide()
        # A greeting alone has no message to answer again.
        asked = any(b.role == "user" for b in bubbles)
        if bubbles and bubbles[-1].role == "assistant" and asked and not self._running:
            bubbles[-1].retry_button.show()
        if self._running:  # no edit or switch under a running turn; marked again after it
            for bubble in bubbles:
                bubble.edit_button.hide()
                bubble.branches.setEnabled(False)

    def _error_card(self, message: str, hint: str, retry_after: float | None) -> ErrorCard:
        card = ErrorCard(message, hint, retry_after)
        card.retry_requested.connect(self.retry)
        self.transcript.add(card)
        return card

    def _approval_card(self, request: ApprovalRequested) -> ApprovalCard:
        card = ApprovalCard(request.approval_id, request.tool, request.arguments, request.agent)
        card.decided.connect(self._on_approval_decided)
        self._approvals[request.approval_id] = card
        self.transcript.add(card)
        return card

    def _on_scroll_range_changed(self, _low: int, high: int) -> None:
        # Follow the end while it is in view: compared with the range before this change, since
        # a reopened conversation's bubbles grow it by far more than a line at once.
        bar = self.scroll.verticalScrollBar()
        if self._running or bar.value() >= self._scroll_max - 80:
            bar.setValue(high)
        self._scroll_max = high

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._scroll_max = bar.maximum()  # and keep following as the bubbles take their height

    # -- MCP servers ---------------------------------------------------------------------------

    def _show_servers(self) -> None:
        """A card per chosen character in the transcript: each server starting, ready, failed."""
        self._servers_card = None
        names = self._server_names
        if not names:
            return
        card = ServersCard(self._warmed or self.character.currentText(), names)
        for name in names:
            card.show_status(name, self.deps.chat.server_status(name))
        card.set_waiting(self._running)
        card.go_on_requested.connect(self._on_servers_go_on_requested)
        self._servers_card = card
        self.transcript.add(card)

    def _live_servers_card(self) -> ServersCard | None:
        """The servers card, unless the transcript has let it go (cleared, or cut by Retry)."""
        card = self._servers_card
        return card if card is not None and card in self.transcript.items() else None

    def _on_server_status(self, status: ServerStatus) -> None:
        if self.mcp is not None:
            self.mcp.on_status(status)
        if (card := self._live_servers_card()) is not None:
            card.show_status(status.name, status)

    def _on_tool_progress(self, progress: ToolProgress) -> None:
        if (card := self._tools.get(progress.call_id)) is not None:
            card.show_progress(progress.progress, progress.total, progress.message)

    def _on_list_changed(self, change: ListChanged) -> None:
        if self.mcp is not None:
            self.mcp.on_list_changed(change)

    def _on_servers_go_on_requested(self) -> None:
        if self.thread is not None:
            self.thread.stop_waiting()

    # -- turns -------------------------------------------------------------------------------

    def _on_send_clicked(self) -> None:
        if self._running:
            self.stop()
        else:
            self.send()

    # -- attachments ------------------------------------------------------------------------

    def attach_files(self, paths: list[Path]) -> None:
        """Attach files; those refused are named with the reason, the rest are kept."""
        problems = []
        for path in paths:
            problems += self._attach(lambda p=path: attached.load(p), show=False)
        self._show_attachment_problems(problems)

    def _attach(self, make: Callable[[], attached.Attachment], show: bool = True) -> list[str]:
        try:
            self._attachments.append(make())
        except attached.AttachmentRefusedError as exc:
            problems = [str(exc)]
        else:
            problems = []
            self.attachment_strip.set_attachments(self._attachments)
        if show:
            self._show_attachment_problems(problems)
        return problems

    def _show_attachment_problems(self, problems: list[str]) -> None:
        self.attachment_problem.setText("Not attached: " + "; ".join(problems))
        self.attachment_problem.setVisible(bool(problems))

    def _on_mcp_attach(self, files: list[attached.Attachment]) -> None:
        self._attachments += files
        self.attachment_strip.set_attachments(self._attachments)
        self._show_attachment_problems([])

    def _on_prompt_filled(self, filled: PromptText) -> None:
        """A /command's prompt replaces what was typed; its files join the attachments."""
        self.composer.setPlainText(filled.text)
        self.composer.moveCursor(QTextCursor.MoveOperation.End)
        self.composer.setFocus()
        if filled.attachments:
            self._on_mcp_attach(list(filled.attachments))
        self._show_attachment_problems(list(filled.left_out))

    def _recall_ahead(self) -> None:
        text = self.composer.toPlainText().strip()
        if self.thread is not None and not self._running and text:
            self.thread.recall_ahead(text)

    def _remove_attachment(self, index: int) -> None:
        del self._attachments[index]
        self.attachment_strip.set_attachments(self._attachments)

    def focus_on_open(self) -> None:
        """Chosen in the sidebar: the message box takes the keyboard (MainWindow), now or
        once a character is chosen (the page's first showing lists them first)."""
        self._focus_wanted = not self.composer.isEnabled()
        if not self._focus_wanted:
            self.composer.setFocus()

    def send(self) -> None:
        text = self.composer.toPlainText().strip()
        if not (text or self._attachments) or self._running:
            return
        if self.thread is None:
            # Typing into an empty chat starts a conversation with the chosen character.
            character = self.character.currentText()
            if character:
                self.tasks.start("Starting a conversation", self._new(character, then_send=True))
            return
        editing, message_id = self._editing, self._editing and self._editing.message_id
        self._end_edit()
        if editing is not None and editing not in self.transcript.items():
            editing = None  # the view was redrawn meanwhile: send it as a new message
        self.composer.clear()
        files, self._attachments = tuple(self._attachments), []
        self.attachment_strip.set_attachments(())
        self._show_attachment_problems([])
        if editing is not None:
            self.transcript.remove_from(editing)  # it and what followed become a branch
        bubble = self._user_bubble(text)
        bubble.attachments.set_attachments(files)
        self._wire_bubble(bubble)
        self.transcript.add(bubble)
        if editing is not None and message_id is not None:
            self._run_turn(self.thread.edit(message_id, text))
        else:
            self._run_turn(self.thread.send(text, attachments=files))

    # -- edit and branch (core/runtime/branches.py) ------------------------------------------

    def _message_bubbles(self) -> list[MessageBubble]:
        return [w for w in self.transcript.items() if isinstance(w, MessageBubble)]

    def _begin_edit(self, bubble: MessageBubble) -> None:
        if self._running or bubble.message_id is None:
            return
        self._editing = bubble
        self.composer.setPlainText(bubble.text)
        self.composer.setFocus()
        self.edit_bar.show()

    def _end_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.edit_bar.hide()

    def _switch_branch(self, message_id: int) -> None:
        if self.thread is not None and not self._running:
            if self._editing is not None:
                self._end_edit()
                self.composer.clear()
            self.tasks.start("Showing another version", self._switch(message_id))

    async def _switch(self, message_id: int) -> None:
        thread = self.thread
        if thread is None:
            return
        stored = await thread.switch(message_id)
        if self.thread is thread and not self._running:
            self._render_history(stored, set())
            self._show_servers()
            self._update_meter()

    async def _mark_turn(self) -> None:
        """After a turn: each bubble learns its stored message and its alternatives."""
        thread = self.thread
        if thread is None:
            return
        stored = await self.deps.chat.conversations.transcript(thread.id)
        if self.thread is thread and not self._running:
            mark_branches(self._message_bubbles(), stored, idle=True)

    def retry(self) -> None:
        if self.thread is None or self._running:
            return
        items = self.transcript.items()
        last_user = next(
            (w for w in reversed(items) if isinstance(w, MessageBubble) and w.role == "user"), None
        )
        if last_user is None:
            return
        after = items[items.index(last_user) + 1 :]
        if after:
            self.transcript.remove_from(after[0])
        self._run_turn(self.thread.retry())

    def stop(self) -> None:
        if self.thread is not None and self._running:
            self.thread.cancel()

    def _on_approval_decided(self, approval_id: str, approved: bool, remember: bool) -> None:
        self._decisions[approval_id] = (approved, remember)
        if self.thread is None or any(a not in self._decisions for a in self._approvals):
            return
        decisions = {a: d[0] for a, d in self._decisions.items()}
        remembered = {a: d[1] for a, d in self._decisions.items()}
        self._approvals, self._decisions = {}, {}
        self._run_turn(self.thread.resolve(decisions, remembered))

    def _run_turn(self, events: AsyncIterator[ChatEvent]) -> None:
        self._running = True
        self._bubble = None
        self._turn = TurnReducer(self.thread.character if self.thread else "")
        self._update_send_button()
        self._mark_last_retry()
        if (card := self._live_servers_card()) is not None:
            card.set_waiting(True)
        # `_running` is the guard against a second turn; the task name only has to be unique,
        # since a finished turn's task may not have been reaped yet when the next one starts.
        self._turns += 1
        self.tasks.start(f"Chat turn {self._turns}", self._consume(events))

    async def _consume(self, events: AsyncIterator[ChatEvent]) -> None:
        try:
            async for event in events:
                self._show(event)
            # A key or endpoint may have been set up since the box was filled: say it afresh.
            await self._show_models()
        finally:
            self._draw_pending_card()  # a turn that ended before any words still shows it
            self._running = False
            if (card := self._live_servers_card()) is not None:
                card.set_waiting(False)
            self._update_send_button()
            self._mark_last_retry()
            if self.composer.toPlainText().strip():
                self._recall_timer.start()  # typed during the reply: recall it now
            self._after_turn()
            await self._mark_turn()
            QTimer.singleShot(0, self, self._make_spares)
            self.turn_finished.emit()

    def _make_spares(self) -> None:
        """Build the next turn's two message bubbles while nothing happens: each costs ~2 ms
        of the event loop, which a send would spend before its request leaves and a reply
        before its first words show (#21)."""
        if self.thread is None:
            return
        if self._spare_user is None:
            self._spare_user = self._spare("user", "")
        if self._spare_reply is None or self._spare_reply.agent != self.thread.character:
            if self._spare_reply is not None:
                self._spare_reply.deleteLater()
            self._spare_reply = self._spare("assistant", self.thread.character)

    def _spare(self, role: str, agent: str) -> MessageBubble:
        # Parented and styled now, hidden outside the transcript's column: adding it later
        # costs no style sheet pass (~1 ms a bubble).
        bubble = MessageBubble(role, agent, "", self.deps.dark())
        bubble.hide()
        bubble.setParent(self.transcript)
        bubble.ensurePolished()
        return bubble

    def _user_bubble(self, text: str) -> MessageBubble:
        bubble, self._spare_user = self._spare_user, None
        if bubble is None or not text:
            if bubble is not None:
                bubble.deleteLater()
            return MessageBubble("user", "", text, self.deps.dark())
        # A theme switch since it was built reached it too (MessageBubble.changeEvent).
        bubble.append(text)
        bubble.finish()  # rendered as markdown, as a bubble built with its text is
        bubble.show()
        return bubble

    def _reply_bubble(self, agent: str) -> MessageBubble:
        bubble, self._spare_reply = self._spare_reply, None
        if bubble is None or bubble.agent != agent:
            if bubble is not None:
                bubble.deleteLater()
            return MessageBubble("assistant", agent, "", self.deps.dark())
        bubble.show()
        return bubble

    def _show(self, event: ChatEvent) -> None:
        """Draw one event as it arrives; the turn's reducer says what each finished item is."""
        turn = self._turn
        if isinstance(event, ToolCallStarted | HandoffEvent | MemoriesRecalled):
            self._bubble = None
        finished = turn.feed(event)
        if isinstance(event, TextDelta):
            if self._bubble is None or self._bubble.agent != event.agent:
                self._bubble = self._reply_bubble(event.agent)
                self._wire_bubble(self._bubble)
                self._bubble.first_text_painted.connect(self.first_token_painted)
                self.transcript.add(self._bubble)
            self._bubble.append(event.text)
        elif isinstance(event, ToolCallStarted):
            card = ToolCard(event.name, event.arguments, event.agent)
            self._tools[event.call_id] = card
            self.transcript.add(card)
        elif isinstance(event, ApprovalRequested):
            self._approval_card(event)
        elif isinstance(event, RunError):
            self._error_card(event.message, event.hint, event.retry_after)
        elif isinstance(event, ToolsUnavailable):
            # Short, and wrapped: the servers card above says each reason in full.
            notice = Notice(without_tools_line(event.servers))
            notice.setWordWrap(True)
            notice.setToolTip("\n".join(f"{name} {why}" for name, why in event.servers))
            self.transcript.add(notice)
        for item in finished:
            if isinstance(item, ToolCall):
                card = self._tools.get(item.call_id)
                if card is None:
                    card = ToolCard(item.name, "", "")
                    self.transcript.add(card)
                card.finish(item.result, item.duration_s, item.waited_s)
            elif isinstance(item, Handoff):
                self.transcript.add(Notice(f"Handed off: {item.from_agent} → {item.to_agent}"))
            elif isinstance(item, Memories):
                self._defer_memory_card(item)
            elif isinstance(item, AssistantText) and item.final and self._bubble is not None:
                self._bubble.finish(self._usage_text(item))
        if isinstance(event, Done):
            if self.thread is not None and self.heading.text() != self.thread.conversation.title:
                self.heading.setText(self.thread.conversation.title)
                self.refresh_conversations()

    def _update_send_button(self) -> None:
        self.send_button.setText("Stop" if self._running else "Send")
        self.send_button.setToolTip("Stop the reply" if self._running else "Send (Enter)")

    def _set_conversation_enabled(self, enabled: bool) -> None:
        # With a character chosen, the message box works even before a conversation exists:
        # sending starts one.
        can_type = enabled or bool(self.character.currentText())
        self.composer.setEnabled(can_type)
        if can_type and self._focus_wanted:
            self._focus_wanted = False
            self.composer.setFocus()
        self.send_button.setEnabled(can_type)
        # No conversation, no model to choose: the heading gets the row.
        self.model_label.setVisible(enabled)
        self.model.setVisible(enabled)
        self.context_meter.setVisible(enabled)
        if not enabled:
            self.greeting_button.hide()
        for widget in (
            self.model,
            self.rename_button,
            self.delete_button,
            self.export,
        ):
            widget.setEnabled(enabled)

    # -- greeting, context meter, export ------------------------------------------------------

    def _build_context_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.greeting_button = QPushButton("Another greeting")
        self.greeting_button.setObjectName("anotherGreeting")
        self.greeting_button.setToolTip("Open this conversation with the character's next greeting")
        self.greeting_button.clicked.connect(self._on_greeting_clicked)
        self.greeting_button.hide()
        row.addWidget(self.greeting_button)
        row.addStretch(1)
        self.context_meter = ContextMeter()
        row.addWidget(self.context_meter)
        return row

    async def _show_greeting_choice(self) -> None:
        """'Another greeting (1/3)' while the conversation holds only one of several."""
        thread = self.thread
        self.greeting_button.hide()
        if thread is None:
            return
        choice = await self.deps.chat.greeting_choice(thread.id, thread.character)
        if choice is not None and self.thread is thread and not self._running:
            self.greeting_button.setText(f"Another greeting ({choice[0] + 1}/{choice[1]})")
            self.greeting_button.show()

    def _on_greeting_clicked(self) -> None:
        if self.thread is not None and not self._running:
            self.tasks.start("Choosing another greeting", self._next_greeting(self.thread.id))

    async def _next_greeting(self, conversation_id: int) -> None:
        thread = self.thread
        if thread is None:
            return
        if await self.deps.chat.next_greeting(conversation_id, thread.character):
            await self._open(conversation_id)  # a fresh thread: the model sees the new one

    async def _learn_context_window(self, thread: ChatThread) -> None:
        """The window the model's server states, when it states one (the meter guessed)."""
        await self.deps.chat.learn_context_window(thread)
        if self.thread is thread:
            self._update_meter()

    def _update_meter(self) -> None:
        thread = self.thread
        if thread is None:
            self.context_meter.show_budget(None)
            return
        self.context_meter.show_budget(thread.context.budget(self.composer.toPlainText()))
        if not thread.context.ready() and self._meter_checks < 40:
            # The agent is still being built: its instructions count once it is (polled for at
            # most 12 s; an agent that cannot be built says why when a message is sent).
            self._meter_checks += 1
            self._meter_timer.start(300)
        elif thread.context.ready():
            self._meter_checks = 0

    def _after_turn(self) -> None:
        thread = self.thread
        self.greeting_button.hide()
        if thread is None:
            return
        self._update_meter()
        if thread.context.left_out:
            self.transcript.add(self._left_out_notice(thread.context.left_out))

    @staticmethod
    def _left_out_notice(count: int) -> Notice:
        """The marker under a reply whose request went without the oldest turns."""
        notice = Notice(
            f"The model was not sent the oldest {count} messages: they no longer fit its "
            "context window (the conversation keeps them)."
        )
        notice.setObjectName("contextTrimmed")
        notice.setWordWrap(True)
        return notice

    async def _export_source(self) -> tuple[str, str, list[Stored]] | None:
        thread = self.thread
        if thread is None:
            return None
        stored = await self.deps.chat.conversations.transcript(thread.id)
        return thread.conversation.title, thread.character, stored

    def save_as_test(self) -> None:
        """Save the open conversation as a scenario file on the Tests page (#17)."""
        if self.thread is None:
            messages.info("Open a conversation first: its messages become the test's turns.")
        elif self.save_test is not None:
            thread = self.thread
            self.save_test.start(
                thread.character,
                thread.conversation.title,
                lambda: self.deps.chat.conversations.transcript(thread.id),
            )

    async def shutdown(self) -> None:
        """Stop a running turn and close the open conversation (window shutdown)."""
        self._stop_watching_servers()
        for unwatch in self._unwatch_mcp:
            unwatch()
        if self.thread is not None:
            self.thread.cancel()
        await self._close_thread()
