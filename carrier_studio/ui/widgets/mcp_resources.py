"""Browse an MCP server's resources and resource templates, preview one, attach it (#19).

`ResourceBrowser` is the MCP page's Resources tab and, with a server box and an Attach button,
the Chat page's resource picker (`ResourceDialog`, limited to the character's servers). It asks
an `McpBrowser` (services/mcp/browse.py) for everything; a preview shows text as text, an image
as a thumbnail, and anything else as its type and size.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.resources import (
    PREVIEW_MAX_CHARS,
    ResourceContent,
    ResourceInfo,
    TemplateInfo,
    as_attachment,
    human_size,
)
from carrier_studio.core.runtime.attachments import Attachment, AttachmentRefusedError
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.mcp_listing import ServerListingTab
from carrier_studio.ui.widgets.schema_form import SchemaForm

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser

#: The preview's image side at most, in pixels.
PREVIEW_IMAGE = 220


class ResourceBrowser(ServerListingTab):
    """A server's resources and templates on the left, the chosen one's preview on the right."""

    #: The user attached the previewed resource: its parts as attachments.
    attach_requested = Signal(list)
    #: A preview finished (tests wait on it).
    previewed = Signal()

    noun = "resources"

    def __init__(
        self,
        browser: McpBrowser,
        tasks: TaskOwner,
        *,
        attachable: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(browser, tasks, parent)
        self._contents: list[ResourceContent] = []
        self._shown_uri = ""

        row = QHBoxLayout(self)  # the default margins, as the Tools tab beside it has
        self.server_box = QComboBox()
        self.server_box.setObjectName("resourceServer")
        self.server_box.activated.connect(lambda _i: self._on_server_chosen())
        self.server_box.hide()
        self._build_list_column(row, "resourceList", "noResources", top=self.server_box)

        right = self._build_pane("resourceHeading")
        self.template_form = SchemaForm()
        right.addWidget(self.template_form)
        self.read_button = QPushButton("Read")
        self.read_button.setObjectName("readResource")
        self.read_button.setToolTip("Fill the template's values and read that resource")
        self.read_button.clicked.connect(self._on_read_clicked)
        right.addWidget(self.read_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.text_view = QPlainTextEdit()
        self.text_view.setObjectName("resourceText")
        self.text_view.setReadOnly(True)
        right.addWidget(self.text_view, 1)
        self.image_view = QLabel()
        self.image_view.setObjectName("resourceImage")
        self.image_view.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        right.addWidget(self.image_view, 1)
        self.blob_label = QLabel()
        self.blob_label.setObjectName("resourceBlob")
        self.blob_label.setWordWrap(True)
        right.addWidget(self.blob_label, 1, Qt.AlignmentFlag.AlignTop)
        #: Takes the room while nothing is previewed, so a template's form stays at the top.
        self._filler = QWidget()
        right.addWidget(self._filler, 1)
        bottom = QHBoxLayout()
        self.problem = QLabel()
        self.problem.setObjectName("resourceProblem")
        self.problem.setWordWrap(True)
        bottom.addWidget(self.problem, 1)
        self.attach_button = QPushButton("Attach to message")
        self.attach_button.setObjectName("attachResource")
        self.attach_button.setProperty("primary", True)
        self.attach_button.clicked.connect(self._on_attach_clicked)
        self.attach_button.setVisible(attachable)
        bottom.addWidget(self.attach_button)
        right.addLayout(bottom)
        row.addWidget(self.pane, 1)
        self._attachable = attachable
        #: Where this browser is, in its tasks' names: the MCP page's and the chat's picker
        #: share the window's task owner, which runs one task of a name at a time.
        self._where = " for a message" if attachable else ""
        self._clear_preview()
        self._show_empty("Choose a server to see its resources.")

    # -- which server ------------------------------------------------------------------------

    def set_servers(self, names: list[str]) -> None:
        """Offer a choice of servers (the chat's picker); the first is shown."""
        self.server_box.clear()
        self.server_box.addItems(names)
        self.server_box.setVisible(len(names) > 1)
        self.set_server(names[0] if names else None, running=True)

    def _on_server_chosen(self) -> None:
        self.set_server(self.server_box.currentText() or None, running=True)

    async def _fetch(self, server: str) -> list[ResourceInfo | TemplateInfo]:
        resources = await self.browser.resources(server)
        return [*resources, *await self.browser.templates(server)]

    def _fill(self, items: list[ResourceInfo | TemplateInfo]) -> None:
        current = self.list.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.list.blockSignals(True)
        self.list.clear()
        for info in items:
            template = isinstance(info, TemplateInfo)
            # Marked in words: a symbol drew as an empty box in the default fonts.
            item = QListWidgetItem(f"{info.label} (template)" if template else info.label)
            item.setData(Qt.ItemDataRole.UserRole, info)
            item.setToolTip(info.uri_template if template else info.uri)
            self.list.addItem(item)
            if keep is not None and info == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if not self.list.count():
            self._show_empty(f"{self._server} offers no resources.")
            return
        if self.list.currentItem() is None:
            self.list.setCurrentRow(0)
        else:
            self._show_item()

    # -- preview -----------------------------------------------------------------------------

    def current(self) -> ResourceInfo | TemplateInfo | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _show_item(self) -> None:
        info = self.current()
        self._clear_preview()
        if info is None or self._server is None:
            return
        self.empty.hide()
        self.pane.show()
        if isinstance(info, TemplateInfo):
            lines = [
                f"<b>{html.escape(info.label)}</b> — a template",
                html.escape(info.uri_template),
            ]
            if info.description:
                lines.append(html.escape(info.description))
            self.heading.setText("<br>".join(lines))
            self.template_form.set_schema(
                {
                    "type": "object",
                    "properties": {v: {"type": "string"} for v in info.variables},
                    "required": list(info.variables),
                }
            )
            for field in self.template_form.findChildren(QLineEdit):  # Enter reads
                field.returnPressed.connect(self._on_read_clicked)
            self.template_form.show()
            self.read_button.show()
            return
        details = ", ".join(p for p in (info.mime, human_size(info.size) if info.size else "") if p)
        lines = [f"<b>{html.escape(info.label)}</b>", html.escape(info.uri)]
        if info.description or details:
            lines.append(html.escape(" · ".join(p for p in (info.description, details) if p)))
        self.heading.setText("<br>".join(lines))
        self._read(info.uri)

    def _on_read_clicked(self) -> None:
        info = self.current()
        if not isinstance(info, TemplateInfo):
            return
        try:
            values = self.template_form.values()
            # Every variable of a template is required: an empty one reads the wrong resource.
            missing = [name for name in info.variables if not str(values.get(name, "")).strip()]
            if missing:
                raise ValueError(f"{', '.join(missing)}: a value is required")
            uri = self.browser.expand(info, values)
        except (ValueError, CarrierError) as exc:
            self.problem.setText(str(exc))
            return
        self._read(uri)

    def _read(self, uri: str) -> None:
        server = self._server
        if server is None:
            return
        self._shown_uri = uri
        self.problem.setText(f"Reading {uri}…")
        # One task per resource: moving quickly through the list must not drop the last one.
        self._start(f"Reading {uri} from {server}{self._where}", self._preview(server, uri))

    async def _preview(self, server: str, uri: str) -> None:
        try:
            contents = await self.browser.read(server, uri)
        except CarrierError as exc:
            if uri == self._shown_uri:
                self.problem.setText(str(exc))
            self.previewed.emit()
            return
        if uri == self._shown_uri and server == self._server:
            self._show_contents(uri, contents)
        self.previewed.emit()

    def _show_contents(self, uri: str, contents: list[ResourceContent]) -> None:
        self._contents = contents
        self.preview_uri = uri
        self.problem.setText(
            f"{len(contents)} parts; the first is shown." if len(contents) > 1 else ""
        )
        self.text_view.hide()
        self.image_view.hide()
        self.blob_label.hide()
        self._filler.hide()
        first = contents[0] if contents else None
        if first is None:
            self.blob_label.setText(f"{uri} is empty.")
            self.blob_label.show()
        elif (text := first.readable_text) is not None:
            if len(text) > PREVIEW_MAX_CHARS:
                text = text[:PREVIEW_MAX_CHARS] + f"\n\n… ({human_size(first.size)} in all)"
            self.text_view.setPlainText(text)
            self.text_view.show()
        elif first.is_image and not (image := QImage.fromData(first.blob or b"")).isNull():
            pixmap = QPixmap.fromImage(image)
            if max(image.width(), image.height()) > PREVIEW_IMAGE:  # smaller ones as they are
                pixmap = pixmap.scaled(
                    PREVIEW_IMAGE,
                    PREVIEW_IMAGE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            self.image_view.setPixmap(pixmap)
            self.image_view.setToolTip(f"{first.describe()}, {image.width()}×{image.height()}")
            self.image_view.show()
        else:
            self.blob_label.setText(f"Binary content: {first.describe()}. It cannot be shown here.")
            self.blob_label.show()
        self.attach_button.setEnabled(bool(contents))

    def _clear_preview(self) -> None:
        self._contents = []
        #: The URI whose content the preview shows ("" while none is).
        self.preview_uri = ""
        self._shown_uri = ""
        self.heading.clear()
        self.problem.clear()
        for view in (self.text_view, self.image_view, self.blob_label):
            view.clear()
            view.hide()
        self._filler.show()
        self.template_form.hide()
        self.read_button.hide()
        self.attach_button.setEnabled(False)

    def attachments(self) -> tuple[list[Attachment], list[str]]:
        """The previewed resource's parts as attachments, and those refused with why."""
        found: list[Attachment] = []
        refused: list[str] = []
        for content in self._contents:
            try:
                found.append(as_attachment(content))
            except AttachmentRefusedError as exc:
                refused.append(str(exc))
        return found, refused

    def _on_attach_clicked(self) -> None:
        found, refused = self.attachments()
        if refused:
            self.problem.setText("Not attached: " + "; ".join(refused))
        if found:
            self.attach_requested.emit(found)


class ResourceDialog(QDialog):
    """The Chat page's picker: the resources of the character's running servers."""

    def __init__(
        self, browser: McpBrowser, tasks: TaskOwner, servers: list[str], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Attach a resource")
        self.setObjectName("resourceDialog")
        self.resize(760, 480)
        self.chosen: list[Attachment] = []
        column = QVBoxLayout(self)
        self.browser = ResourceBrowser(browser, tasks, attachable=True)
        self.browser.attach_requested.connect(self._on_attach_requested)
        column.addWidget(self.browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
        self.browser.set_servers(servers)

    def _on_attach_requested(self, attachments: list[Attachment]) -> None:
        self.chosen = attachments
        self.accept()

    def done(self, result: int) -> None:
        # Closed while a server was still listing or reading: its answer must not reach the
        # deleted list ("QListWidget already deleted"), and a reopened picker must not find
        # the old listing still holding its task name.
        self.browser.cancel_pending()
        super().done(result)
