"""An MCP server asks to use the studio's model (sampling): shown before anything is sent.

The dialog names the server and the model, and shows the system prompt and the messages the
server wrote. Allow once, Always allow (this server, remembered in settings) or Deny; closing
it denies. `SamplingDialog.ask` is what the studio calls (tests replace it); `WindowAsker`
is the window's answer to every server question (`core.mcp.requests.McpAsker`).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.mcp.requests import (
    ElicitationAnswer,
    ElicitationRequest,
    SamplingDecision,
    SamplingRequest,
)
from carrier_studio.ui.widgets.ask import accepted
from carrier_studio.ui.widgets.mcp_elicitation import ElicitationDialog


class SamplingDialog(QDialog):
    def __init__(self, request: SamplingRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mcpSampling")
        self.request = request
        self.decision = SamplingDecision.DENY
        self.setWindowTitle(f"{request.server} wants to use your model")
        self.resize(560, 460)
        self.setMaximumHeight(640)  # fits 1024x700 with the title bar
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"The MCP server <b>{html.escape(request.server)}</b> asks for a reply from "
            f"<b>{html.escape(request.model_label or 'your model')}</b> "
            f"(at most {request.max_tokens} tokens). Nothing is sent unless you allow it."
        )
        intro.setObjectName("samplingIntro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(QLabel("System prompt"))
        self.system = QPlainTextEdit(request.system_prompt or "(none)")
        self.system.setObjectName("samplingSystem")
        self.system.setReadOnly(True)
        self.system.setMaximumHeight(90)
        layout.addWidget(self.system)
        layout.addWidget(QLabel("Messages"))
        self.messages = QPlainTextEdit(
            "\n\n".join(
                f"{'User' if m.role == 'user' else 'Assistant'}: {m.text}" for m in request.messages
            )
        )
        self.messages.setObjectName("samplingMessages")
        self.messages.setReadOnly(True)
        layout.addWidget(self.messages, 1)
        buttons = QDialogButtonBox()
        self.allow = QPushButton("Allow once")
        self.allow.setObjectName("samplingAllow")
        # The server is named in bold above: a name such as "everything" read as part of the
        # sentence on the button ("Always allow everything").
        self.always = QPushButton("Always allow this server")
        self.always.setObjectName("samplingAlways")
        self.always.setToolTip(
            f"Let {request.server} use your model from now on without asking (saved in settings)"
        )
        self.deny = QPushButton("Deny")
        self.deny.setObjectName("samplingDeny")
        self.deny.setDefault(True)  # Enter does not send anything by accident
        buttons.addButton(self.allow, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.always, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.deny, QDialogButtonBox.ButtonRole.RejectRole)
        self.allow.clicked.connect(lambda: self._finish(SamplingDecision.ALLOW))
        self.always.clicked.connect(lambda: self._finish(SamplingDecision.ALWAYS))
        self.deny.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.deny.setFocus()

    def _finish(self, decision: SamplingDecision) -> None:
        self.decision = decision
        self.accept()

    @classmethod
    async def ask(cls, parent: QWidget | None, request: SamplingRequest) -> SamplingDecision:
        """Show the dialog window-modal and wait for the decision (closing it denies)."""
        dialog = cls(request, parent)
        try:
            return dialog.decision if await accepted(dialog) else SamplingDecision.DENY
        finally:
            dialog.deleteLater()


class WindowAsker:
    """The window's dialogs for servers' questions (`McpAsker`), over ``parent``."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent

    async def elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        return await ElicitationDialog.ask(self._parent, request)

    async def approve_sampling(self, request: SamplingRequest) -> SamplingDecision:
        return await SamplingDialog.ask(self._parent, request)
