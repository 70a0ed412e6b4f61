"""The Instagram page: drop media into a draft, write its caption, queue it, watch it publish.

The draft is checked (pre-flight) as soon as files arrive, through the queue facade; a file
that breaks a rule says which file and what is wrong, and an image that only fails on format,
size or aspect can be converted — only after the user agrees, and into a copy (the queue keeps
converted JPEGs; the user's files are never written). The queue itself lives in studio.db: the
page lists it, stores drag-to-reorder, retries and cancels through the facade, and redraws when
the facade reports a change (the background worker's steps included).
"""

# Long: the Instagram page (drop zone, queue, editor, quota, caption writer); the editor
# pane is the next cut into a pages/instagram/ package.

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.instagram import (
    Finding,
    InstagramError,
    PostKind,
    PostState,
    QueuedPost,
    Quota,
    check_caption,
    convertible,
    utcnow,
)
from carrier_studio.core.instagram.preflight import check_alt_text
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.instagram_caption import CaptionEditor
from carrier_studio.ui.widgets.instagram_drop import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    MediaDropZone,
    is_video,
    load_icon,
    placeholder,
)
from carrier_studio.ui.widgets.instagram_edit import MediaStrip, PostEditDialog
from carrier_studio.ui.widgets.instagram_posts import ICON, PostList
from carrier_studio.ui.widgets.instagram_quota import QuotaGauge
from carrier_studio.ui.widgets.instagram_timeline import Timeline
from carrier_studio.ui.widgets.page import Page, page_shortcut

if TYPE_CHECKING:
    from carrier_studio.services.instagram.queue import InstagramQueue, QueueChange

S = PostState


@dataclass(frozen=True)
class CaptionRequest:
    """What "Write caption as" asks for: who writes, the user's notes, the post's shape."""

    character: str
    #: What the user typed in the caption box (notes for the model; may be empty).
    brief: str
    kind: str
    #: The draft's file names (names only: the model never sees the user's folders).
    files: list[str]


#: (request, progress callback) → the caption (services.instagram_captions.write_caption).
WriteCaption = Callable[[CaptionRequest, Callable[[str], None]], Awaitable[str]]


@dataclass
class InstagramPageDeps:
    """What the page needs, handed in by app/pages.py."""

    #: The workspace's queue facade (services.instagram.queue.InstagramQueue).
    queue: InstagramQueue
    #: The workspace's character names, for "Write caption as".
    characters: Callable[[], Awaitable[list[str]]]
    #: Writes a caption as a character with the default model (services.instagram_captions).
    write_caption: WriteCaption
    #: Says what is missing before publishing can work (`setup_problem`), None when nothing.
    setup_problem: Callable[[], Awaitable[str | None]]
    colors: Callable[[], dict[str, str]]
    #: Reads the live content_publishing_limit; None: only the worker's readings are shown.
    read_quota: Callable[[], Awaitable[Quota]] | None = None
    #: The worker's token warning (InstagramWorker.token_warning), None when all is well.
    token_warning: Callable[[], str | None] = lambda: None
    #: Shows the Settings page (the banner's button).
    open_settings: Callable[[], None] | None = None
    #: ThemeManager.changed: state colours follow a theme switch.
    theme_changed: Any = None
    clock: Callable[[], datetime] = field(default=utcnow)


class InstagramAsk:
    """The page's questions to the user; tests replace these instead of driving dialogs."""

    @staticmethod
    def confirm(parent: QWidget, title: str, text: str) -> bool:
        answer = QMessageBox.question(parent, title, text)
        return answer == QMessageBox.StandardButton.Yes

    @staticmethod
    def media_files(parent: QWidget) -> list[str]:
        images = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        videos = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        paths, _ = QFileDialog.getOpenFileNames(
            parent,
            "Add media",
            "",
            f"Images and videos ({images} {videos});;All files (*)",
        )
        return paths


class InstagramPage(Page):
    def __init__(
        self, deps: InstagramPageDeps, tasks: TaskOwner, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "Instagram",
            "Drop images or videos, write the caption (or let a character write it), and queue "
            "the post. The studio uploads it to your FTP host and publishes it on schedule "
            "within Instagram's daily quota — never twice.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        self.ask = InstagramAsk
        #: The draft: files in order, whether the user agreed to convert, pre-flight results.
        self.files: list[str] = []
        self.convert_consent = False
        self.media_findings: list[Finding] = []
        self._checked_files: tuple[list[str], PostKind] | None = None
        self._kind_by_hand = False
        self._caption_character = ""
        self._write_task: asyncio.Task | None = None
        self._write_cancelled = False
        self._icons: dict[str, QIcon] = {}
        self._refresh_again = False
        self._quota_note = ""
        self._quota_read_once = False
        self.posts: list[QueuedPost] = []
        #: The draft's thumbnails by file (a redraw of the strip puts them back), and the
        #: converted previews shown instead once the user agreed to convert.
        self._draft_icons: dict[str, tuple[QIcon, bool]] = {}
        self.converted_previews: dict[str, Path] = {}
        #: The post editor while it is open (tests fill it in).
        self.post_editor: PostEditDialog | None = None
        self._build()
        self._unsubscribe = deps.queue.changed.subscribe(self._on_queue_changed)
        self._shortcuts()
        if deps.theme_changed is not None:
            deps.theme_changed.connect(self._on_theme_changed)
        self.tasks.start("Loading characters for Instagram", self._load_characters())
        self.refresh()

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        colors = self.deps.colors
        self.setup_banner = QWidget()
        self.setup_banner.setObjectName("banner")
        self.setup_banner.setProperty("severity", "warning")
        self.setup_banner.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        banner_row = QHBoxLayout(self.setup_banner)
        banner_row.setContentsMargins(10, 6, 10, 6)
        self.setup_label = QLabel()
        self.setup_label.setObjectName("instagramSetup")
        self.setup_label.setWordWrap(True)
        banner_row.addWidget(self.setup_label, 1)
        self.settings_button = QPushButton("Open Settings")
        self.settings_button.clicked.connect(self._on_settings_clicked)
        self.settings_button.setVisible(self.deps.open_settings is not None)
        banner_row.addWidget(self.settings_button)
        self.setup_banner.hide()
        self.body.addWidget(self.setup_banner)

        self.token_banner = QLabel()
        self.token_banner.setObjectName("banner")
        self.token_banner.setProperty("severity", "warning")
        self.token_banner.setWordWrap(True)
        self.token_banner.hide()
        self.body.addWidget(self.token_banner)

        self.quota = QuotaGauge(colors)
        self.quota.refresh_requested.connect(self.read_quota)
        self.quota.refresh.setVisible(self.deps.read_quota is not None)
        self.body.addWidget(self.quota)

        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        self.body.addWidget(splitter, 1)

        draft = QGroupBox("New post")
        # A short window scrolls the draft rather than squeezing the caption box.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet("QScrollArea, #instagramDraft { background: transparent; }")
        draft_outer = QVBoxLayout(draft)
        draft_outer.addWidget(scroll, 1)
        content = QWidget()
        content.setObjectName("instagramDraft")
        scroll.setWidget(content)
        draft_layout = QVBoxLayout(content)
        draft_layout.setContentsMargins(0, 0, 6, 0)
        self.drop_zone = MediaDropZone()
        self.drop_zone.files_dropped.connect(self.add_files)
        self.drop_zone.add_requested.connect(self.choose_files)
        self.drop_zone.clear_requested.connect(self.clear_draft)
        draft_layout.addWidget(self.drop_zone)
        self.problems = QLabel()
        self.problems.setObjectName("instagramProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.hide()
        draft_layout.addWidget(self.problems)
        self.convert_button = QPushButton("Convert…")
        self.convert_button.setObjectName("instagramConvert")
        self.convert_button.setToolTip("Make JPEG copies that pass; asks first")
        self.convert_button.clicked.connect(self.ask_to_convert)
        self.convert_button.hide()
        self.drop_zone.buttons.insertWidget(2, self.convert_button)
        self.editor = CaptionEditor(colors)
        self.editor.changed.connect(self._on_editor_changed)
        self.editor.kind_chosen.connect(self._on_kind_chosen)
        self.editor.write_requested.connect(self.write_caption)
        self.editor.cancel_write_requested.connect(self.cancel_writing)
        draft_layout.addWidget(self.editor)
        draft_layout.addStretch(1)
        # Outside the scrolled part: the button stays in view however long the draft gets.
        queue_row = QHBoxLayout()
        self.queue_button = QPushButton("Queue post")
        self.queue_button.setObjectName("instagramQueuePost")
        self.queue_button.setProperty("primary", True)
        self.queue_button.setToolTip("Add the draft to the end of the queue (Ctrl+Enter)")
        self.queue_button.clicked.connect(self.queue_draft)
        queue_row.addStretch(1)
        queue_row.addWidget(self.queue_button)
        draft_outer.addLayout(queue_row)
        splitter.addWidget(draft)

        queue_box = QGroupBox("Queue")
        queue_layout = QVBoxLayout(queue_box)
        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        self.post_list = PostList(colors)
        self.post_list.reordered.connect(self._on_posts_reordered)
        self.post_list.itemSelectionChanged.connect(self._on_selection_changed)
        self.post_list.setToolTip("Drag a post to change the order; Delete cancels it")
        right.addWidget(self.post_list)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 4, 0, 0)
        # The title has a line of its own: beside the three buttons at 1024x700 it had 55 px
        # and read "Post 1 / · image / · / queued" down the side.
        self.detail_title = QLabel("Select a post to see its timeline.")
        self.detail_title.setObjectName("instagramDetail")
        self.detail_title.setWordWrap(True)
        detail_layout.addWidget(self.detail_title)
        actions = QHBoxLayout()
        actions.addStretch(1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("instagramRetry")
        self.retry_button.clicked.connect(self.retry_selected)
        self.cancel_button = QPushButton("Cancel post")
        self.cancel_button.setObjectName("instagramCancel")
        self.cancel_button.setToolTip("Stop this post (Delete)")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("instagramEdit")
        self.edit_button.setToolTip("Change the caption, time or order (until publishing starts)")
        self.edit_button.clicked.connect(self.edit_selected)
        actions.addWidget(self.edit_button)
        actions.addWidget(self.retry_button)
        actions.addWidget(self.cancel_button)
        detail_layout.addLayout(actions)
        # A carousel shows every item, in order (the list's card shows only the first).
        self.detail_media = MediaStrip()
        self.detail_media.setObjectName("instagramPostMedia")
        self.detail_media.hide()
        detail_layout.addWidget(self.detail_media)
        self.timeline = Timeline(colors)
        detail_layout.addWidget(self.timeline, 1)
        right.addWidget(detail)
        right.setSizes([300, 220])
        queue_layout.addWidget(right)
        splitter.addWidget(queue_box)
        # The draft's form needs its width (drop zone text, caption counters); the queue can
        # give some.
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([560, 500])
        # The draft scrolls up and down, never sideways: it must not get narrower than its form
        # (at 1024x700 the splitter squeezed it and the form's right edge was cut off).
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(content.minimumSizeHint().width() + bar)
        self._show_draft()
        self._show_detail(None)

    def _shortcuts(self) -> None:
        page_shortcut(QKeySequence.StandardKey.Open, self, self.choose_files)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            page_shortcut(keys, self, self.queue_draft)
        # Only on the list: Delete in the caption editor deletes text.
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.post_list, self.cancel_selected)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)

    # -- the draft ----------------------------------------------------------------------------

    def choose_files(self) -> None:
        files = self.ask.media_files(self)
        if files:
            self.add_files(files)

    def add_files(self, paths: list[str]) -> None:
        """Add files to the draft (what a drop or the file dialog calls): several files make a
        carousel. Pre-flight and thumbnails start at once, in the background."""
        new = [str(Path(p)) for p in paths if str(Path(p)) not in self.files]
        if not new:
            return
        self.files.extend(new)
        self.convert_consent = False
        self.converted_previews = {}
        if not self._kind_by_hand:
            self.editor.set_kind(self._inferred_kind())
        self.drop_zone.show_files(self.files, {})
        for path, (icon, decoded) in self._draft_icons.items():
            self.drop_zone.set_thumbnail(path, icon, decoded)
        self.tasks.start(f"Loading thumbnails of {len(new)} files", self._load_thumbnails(new))
        self._check_media()

    def clear_draft(self) -> None:
        self.files = []
        self.media_findings = []
        self._checked_files = None
        self.convert_consent = False
        self._draft_icons = {}
        self.converted_previews = {}
        self._kind_by_hand = False
        self.drop_zone.show_files([], {})
        self._show_draft()

    def _inferred_kind(self) -> PostKind:
        if len(self.files) > 1:
            return PostKind.CAROUSEL
        if self.files and is_video(self.files[0]):
            return PostKind.REEL
        return PostKind.IMAGE

    def _on_kind_chosen(self) -> None:
        self._kind_by_hand = True

    def _on_editor_changed(self) -> None:
        checked = self._checked_files
        if self.files and (checked is None or checked[1] != self.editor.chosen_kind()):
            self._check_media()  # the kind changes the rules (stories, reels)
        self._show_draft()

    async def _load_thumbnails(self, paths: list[str]) -> None:
        for path in paths:
            picture: str | None = path
            if is_video(path):  # its poster frame, made by ffmpeg (None: it cannot be read)
                poster = await self.deps.queue.poster_preview(Path(path))
                picture = str(poster) if poster else None
            if picture is None:
                continue
            icon, decoded = await load_icon(picture)
            self._draft_icons[path] = (icon, decoded)
            self.drop_zone.set_thumbnail(path, icon, decoded)

    def _check_media(self) -> None:
        self._checked_files = None
        self._show_draft()
        self.tasks.start("Checking the media", self._preflight_loop())

    async def _preflight_loop(self) -> None:
        # Files or kind may change while a check runs: check again until the answer matches.
        while self.files and self._checked_files is None:
            files, kind = list(self.files), self.editor.chosen_kind()
            findings = await self.deps.queue.preflight([Path(f) for f in files], "", kind)
            if files == self.files and kind == self.editor.chosen_kind():
                self.media_findings = findings
                self._checked_files = (files, kind)
        self._show_draft()

    def draft_findings(self) -> list[Finding]:
        images = [f for f in self.files if not is_video(f)]
        return [
            *self.media_findings,
            *check_caption(self.editor.text()),
            *check_alt_text(images, self.editor.alt_text.text()),
        ]

    def _blocking(self, findings: list[Finding]) -> list[Finding]:
        """The findings that keep the draft from being queued (not warnings, nor problems the
        user agreed to convert away)."""
        fixable = self._fixable(findings)
        return [
            f for f in findings if not f.warning and not (f in fixable and self.convert_consent)
        ]

    @staticmethod
    def _fixable(findings: list[Finding]) -> list[Finding]:
        """The findings a conversion fixes: of files whose every problem it fixes (a PNG strip
        too thin to crop is not offered a conversion that would leave it refused)."""
        errors = [f for f in findings if not f.warning]  # a warning needs no conversion
        return [f for f in errors if f.fixable and f.file and convertible(errors, f.file)]

    def _show_draft(self) -> None:
        findings = self.draft_findings() if self.files or self.editor.text() else []
        checking = bool(self.files) and self._checked_files is None
        fixable = self._fixable(findings)
        by_file: dict[str, list[str]] = {}
        for finding in self.media_findings:
            # A file the user agreed to convert has no problem left: no warning mark on it.
            if finding.file and not (self.convert_consent and finding in fixable):
                by_file.setdefault(finding.file, []).append(finding.message)
        self.drop_zone.mark_problems({k: "; ".join(v) for k, v in by_file.items()})
        lines = []
        colors = self.deps.colors()
        for finding in findings:
            fixed = finding in fixable and self.convert_consent
            color = colors["ok"] if fixed else colors["warn" if finding.warning else "error"]
            mark = "✓" if fixed else ("⚠" if finding.warning else "✗")
            suffix = " — a converted JPEG copy will be queued" if fixed else ""
            lines.append(
                f"<span style='color:{color}'>{mark}</span> "
                f"{html.escape(str(finding))}{html.escape(suffix)}"
            )
        if checking:
            lines.append("Checking the media…")
        self.problems.setText("<br>".join(lines))
        self.problems.setVisible(bool(lines))
        self.convert_button.setVisible(bool(fixable) and not self.convert_consent)
        if fixable:
            count = len({f.file for f in fixable})
            self.convert_button.setText(f"Convert {count} image{'s' if count != 1 else ''}…")
        self.queue_button.setEnabled(
            bool(self.files) and not checking and not self._blocking(findings)
        )

    def ask_to_convert(self) -> None:
        fixable = sorted({f.file or "" for f in self._fixable(self.draft_findings())})
        if not fixable:
            return
        names = "\n".join(f"• {Path(f).name}" for f in fixable)
        if not self.ask.confirm(
            self,
            "Convert images",
            f"Convert these images for Instagram?\n\n{names}\n\nThe queue keeps a converted "
            "copy: JPEG, at most 1440 px wide and 8 MB, cropped from the centre to the nearest "
            "aspect Instagram accepts (4:5 to 1.91:1). Your original files are not changed.",
        ):
            return
        self.convert_consent = True
        self._show_draft()
        self.tasks.start("Previewing the converted images", self._preview_converted(fixable))

    async def _preview_converted(self, files: list[str]) -> None:
        """Show each converted copy's thumbnail in place of its original: what will be
        queued (cropped, flattened), not the picture that failed."""
        for path in files:
            preview = await self.deps.queue.converted_preview(Path(path))
            if not self.convert_consent or path not in self.files:
                return  # the draft changed meanwhile
            icon, decoded = await load_icon(str(preview))
            self.converted_previews[path] = preview
            self.drop_zone.set_thumbnail(path, icon, decoded)

    def queue_draft(self) -> None:
        """Queue the draft (Ctrl+Enter); says why when it cannot be queued yet."""
        if not self.files:
            messages.info("Drop images or videos first (or Ctrl+O).")
            return
        if not self.queue_button.isEnabled():
            problems = self._blocking(self.draft_findings())
            messages.warning(
                "The post cannot be queued yet: "
                + (
                    "; ".join(str(f) for f in problems)
                    if problems
                    else "the media is being checked"
                )
            )
            return
        self.tasks.start("Queueing the post", self._queue(), busy=[self.queue_button])

    async def _queue(self) -> None:
        from carrier_studio.core.instagram import PreflightError

        try:
            post = await self.deps.queue.add(
                [Path(f) for f in self.files],
                kind=self.editor.chosen_kind(),
                caption=self.editor.text(),
                alt_text=self.editor.alt_text.text(),
                scheduled_at=self.editor.scheduled_at(),
                character=self._caption_character,
                convert=self.convert_consent,
            )
        except PreflightError as exc:
            found = getattr(exc, "findings", None)
            if found is not None:
                self.media_findings = [f for f in found if f.field != "caption"]
            self._show_draft()
            messages.warning(f"The post was not queued: {exc}")
            return
        self.clear_draft()
        self.editor.reset()
        self._caption_character = ""
        await self._refresh_once()
        self.post_list.select_id(post.id)
        when = "as soon as possible" if post.scheduled_at is None else "on schedule"
        article = "an" if post.kind.value[:1] in "aeiou" else "a"  # "Queued a image post"
        messages.info(f"Queued {article} {post.kind.value} post; it publishes {when}.")

    # -- captions -----------------------------------------------------------------------------

    async def _load_characters(self) -> None:
        self.editor.set_characters(sorted(await self.deps.characters()))

    def write_caption(self, character: str) -> None:
        self._write_cancelled = False
        self._write_task = self.tasks.start(
            f"Writing a caption as {character}",
            self._write(character),
            failure="failed",
        )

    def cancel_writing(self) -> None:
        if self._write_task is not None and not self._write_task.done():
            self._write_cancelled = True
            self._write_task.cancel()

    def caption_request(self, character: str) -> CaptionRequest:
        return CaptionRequest(
            character,
            self.editor.text().strip(),
            self.editor.chosen_kind().value,
            [Path(f).name for f in self.files],
        )

    async def _write(self, character: str) -> None:
        self.editor.set_writing(True, f"Asking the default model to write as {character}…")
        try:
            caption = await self.deps.write_caption(
                self.caption_request(character), self.editor.show_write_note
            )
        except asyncio.CancelledError:
            self.editor.set_writing(False, "Cancelled; the caption is as it was.")
            if self._write_cancelled:
                return
            raise
        except CarrierError as exc:
            self.editor.set_writing(False, f"Could not write a caption: {exc}")
            raise
        self.editor.set_writing(False)
        self.editor.replace_caption(caption)
        self._caption_character = character
        self.editor.show_write_note(f"Written as {character} — edit freely (Ctrl+Z undoes).")

    # -- the queue ----------------------------------------------------------------------------

    def _on_queue_changed(self, change: QueueChange) -> None:
        if change.by is self:
            return  # our own edit (a drag): the list already shows it
        if change.kind == "quota":
            self.quota.show_quota(self.deps.queue.quota, self._quota_note)
        elif change.kind == "updated" and change.post_id in self.post_list.post_ids():
            self.tasks.start(f"Reading post {change.post_id}", self._refresh_post(change.post_id))
        else:
            self.refresh()

    async def _refresh_post(self, post_id: int) -> None:
        """Redraw the one post that changed (the worker updates a post at every step)."""
        try:
            post = await self.deps.queue.get(post_id)
        except InstagramError:  # removed meanwhile (PostNotFoundError): redraw the list
            self.refresh()
            return
        await self._load_post_icons([post])
        self.posts = [post if p.id == post_id else p for p in self.posts]
        self.post_list.update_post(post, self._icons, self.deps.clock())
        if self.post_list.selected_id() == post_id:
            await self._show_selected()

    def refresh(self) -> None:
        """Redraw the queue from the facade (changes arriving meanwhile redraw once more)."""
        self._refresh_again = True
        self.tasks.start("Reading the Instagram queue", self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while self._refresh_again:
            self._refresh_again = False
            await self._refresh_once()

    async def _refresh_once(self) -> None:
        posts = await self.deps.queue.list()
        await self._load_post_icons(posts)
        self.posts = posts
        self.post_list.show_posts(posts, self._icons, self.deps.clock())
        self.quota.show_quota(self.deps.queue.quota, self._quota_note)
        warning = self.deps.token_warning()
        self.token_banner.setText(warning or "")
        self.token_banner.setVisible(bool(warning))
        await self._show_selected()

    async def _load_post_icons(self, posts: list[QueuedPost]) -> None:
        if "video" not in self._icons:
            self._icons["video"] = QIcon(placeholder("video", ICON))
            self._icons["image"] = QIcon(placeholder("broken", ICON))
        for post in posts:
            thumb = post.media[0].thumbnail if post.media else None
            if thumb and thumb not in self._icons:
                icon, decoded = await load_icon(thumb, ICON)
                if decoded:
                    self._icons[thumb] = icon

    def post_has_thumbnail(self, post_id: int) -> bool:
        """True when the post's card shows its decoded thumbnail (tests)."""
        post = next((p for p in self.posts if p.id == post_id), None)
        thumb = post.media[0].thumbnail if post and post.media else None
        return bool(thumb) and thumb in self._icons

    def _on_selection_changed(self) -> None:
        self.tasks.start("Reading a post's timeline", self._show_selected())

    async def _show_selected(self) -> None:
        post_id = self.post_list.selected_id()
        post = None
        if post_id is not None:
            try:
                post = await self.deps.queue.get(post_id)
            except InstagramError:  # removed meanwhile
                post = None
        self._show_detail(post)

    def _show_detail(self, post: QueuedPost | None) -> None:
        self.selected_post = post
        if post is None:
            self.detail_title.setText("Select a post to see its timeline.")
            self.timeline.show_attempts([])
            self.detail_media.hide()
            self.edit_button.setEnabled(False)
            self.retry_button.setEnabled(False)
            self.cancel_button.setEnabled(False)
            return
        error = ""
        if post.last_error:
            color = self.deps.colors()["error"]
            error = f"<br><span style='color:{color}'>{html.escape(post.last_error)}</span>"
        if post.state not in (S.PUBLISHED, S.CANCELLED):
            images = [m.source or m.path for m in post.media if m.media_type == "image"]
            color = self.deps.colors()["warn"]
            for finding in check_alt_text(images, post.alt_text):
                error += f"<br><span style='color:{color}'>⚠ {html.escape(str(finding))}</span>"
        self.detail_title.setText(
            f"<b>Post {post.id}</b> · {post.kind.value} · {post.state.value}{error}"
        )
        self.timeline.show_attempts(post.attempts)
        if len(post.media) > 1:
            self.detail_media.show_media(post.media)
            self.tasks.start(f"Thumbnails of post {post.id}", self.detail_media.load(post.media))
        else:
            self.detail_media.hide()
        self.edit_button.setEnabled(post.editable)
        self.retry_button.setEnabled(post.state in (S.FAILED, S.CANCELLED))
        self.cancel_button.setEnabled(post.state not in (S.PUBLISHED, S.PUBLISHING, S.CANCELLED))

    def edit_selected(self) -> None:
        post = self.selected_post
        if post is not None and post.editable and self.post_editor is None:
            # No busy=[edit_button]: re-enabling it at the end would undo what the post's
            # state says (it may have started publishing meanwhile); the dialog is modal.
            self.tasks.start("Editing a post", self._edit(post))

    async def _edit(self, post: QueuedPost) -> None:
        """Ask for the post's new caption, time and order, and store them in one change; the
        queue refuses if publishing started meanwhile, and the page says so."""
        dialog = self.post_editor = PostEditDialog(post, self)
        thumbnails = self.tasks.start(
            "Thumbnails in the post editor", dialog.media.load(post.media)
        )
        try:
            if not await dialog.answered():
                return
            order = dialog.media.order()
            try:
                await self.deps.queue.update(
                    post.id or 0,
                    caption=dialog.caption.toPlainText(),
                    alt_text=dialog.alt_text.text(),
                    scheduled_at=dialog.scheduled_at(),
                    media_order=order if order != sorted(order) else None,
                )
            except CarrierError as exc:
                messages.warning(f"Post {post.id} was not changed: {exc}")
                return
        finally:
            if thumbnails is not None:
                thumbnails.cancel()  # the strip goes with the dialog
            self.post_editor = None
            dialog.deleteLater()
        messages.info(f"Saved the changes to post {post.id}.")

    def _on_posts_reordered(self, ids: list[int]) -> None:
        self.tasks.start("Reordering the queue", self.deps.queue.reorder(ids, by=self))

    def retry_selected(self) -> None:
        post = self.selected_post
        if post is None or post.state not in (S.FAILED, S.CANCELLED):
            return
        if self.ask.confirm(
            self,
            "Retry post",
            f"Queue post {post.id} again? If Instagram already has its container, the worker "
            "checks it first, so the post is never published twice.",
        ):
            self.tasks.start("Retrying the post", self.deps.queue.retry(post.id or 0))

    def cancel_selected(self) -> None:
        """Cancel the selected post (Delete), after asking."""
        post = self.selected_post
        if post is None or post.state in (S.PUBLISHED, S.PUBLISHING, S.CANCELLED):
            return
        if self.ask.confirm(
            self,
            "Cancel post",
            f"Cancel post {post.id} ({post.kind.value})? It stays in the list; Retry queues it "
            "again.",
        ):
            self.tasks.start("Cancelling the post", self.deps.queue.cancel(post.id or 0))

    # -- quota, setup -------------------------------------------------------------------------

    def read_quota(self) -> None:
        if self.deps.read_quota is not None:
            self.tasks.start("Reading the Instagram quota", self._read_quota())

    async def _read_quota(self) -> None:
        self._quota_read_once = True
        if (problem := await self.deps.setup_problem()) is not None:
            self._quota_note = "unknown — publishing is not set up"
            self.quota.show_quota(self.deps.queue.quota, self._quota_note)
            self._show_setup(problem)
            return
        assert self.deps.read_quota is not None
        try:
            quota = await self.deps.read_quota()
        except CarrierError as exc:
            self._quota_note = f"unknown — could not read it: {exc}"
            self.quota.show_quota(self.deps.queue.quota, self._quota_note)
            return
        self._quota_note = ""
        # Stored on the queue, so the worker and every view share the one reading.
        self.deps.queue.set_quota(quota)

    def _show_setup(self, problem: str | None) -> None:
        self.setup_label.setText(problem or "")
        self.setup_banner.setVisible(bool(problem))
        if self.post_list.set_up != (problem is None):
            # Queued posts say they go nowhere until publishing is set up (not "uploads next").
            self.post_list.set_up = problem is None
            now = self.deps.clock()
            for post in self.posts:
                self.post_list.update_post(post, self._icons, now)

    async def _check_setup(self) -> None:
        self._show_setup(await self.deps.setup_problem())
        if (
            self.deps.read_quota is not None
            and not self._quota_read_once
            and self.deps.queue.quota is None
        ):
            await self._read_quota()

    def _on_theme_changed(self, _scheme: str) -> None:
        self.editor.recount()
        self._show_draft()
        self.refresh()

    def _on_settings_clicked(self) -> None:
        if self.deps.open_settings is not None:
            self.deps.open_settings()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # Settings may have changed on the Settings page since the page was last shown.
        self.tasks.start("Checking the Instagram setup", self._check_setup())

    async def shutdown(self) -> None:
        self._unsubscribe()
        self.cancel_writing()
        await self.deps.queue.clear_previews()
