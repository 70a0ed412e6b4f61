from __future__ import annotations

import asyncio
import json
import os

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent, QIcon
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from carrier_studio.core.settings import CompatEndpoint
from carrier_studio.services.platform.secrets import SERVICE
from carrier_studio.ui.models.character_list import PathRole, QtCharacterListModel
from tests.helpers.waiting import wait_until


@pytest.fixture
def page_and_studio(make_studio, loop):
    studio = make_studio()
    studio.window.show_page("characters")
    page = studio.window.page("characters")
    loop.run_until_complete(studio.tasks.wait_idle())
    return page, studio


def _select(page, name):
    for row in range(page.proxy.rowCount()):
        index = page.proxy.index(row, 0)
        if index.data().startswith(name):
            page.list.setCurrentIndex(index)
            return
    raise AssertionError(f"{name} not listed")


def _idle(loop, studio):
    loop.run_until_complete(studio.tasks.wait_idle())


def test_the_examples_are_listed_and_the_first_is_open(page_and_studio):
    page, _ = page_and_studio
    names = [page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())]
    assert names == ["Ada", "Juniper", "Mira", "Orchestrator"]
    assert page.doc.name == "Ada"
    assert page.form.name_edit.text() == "Ada"
    assert not page.dirty
    assert "You are Ada" in page.prompt_view.toPlainText()


def test_search_filters_by_name_and_topic(page_and_studio):
    page, _ = page_and_studio
    QTest.keyClicks(page.search, "ceramic")
    assert [page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())] == ["Mira"]
    page.search.clear()
    assert page.proxy.rowCount() == 4


def test_form_edit_updates_json_then_save_and_reload(page_and_studio, loop, make_studio):
    page, studio = page_and_studio
    page.form.username_edit.clear()
    QTest.keyClicks(page.form.username_edit, "ada_writes")
    page.form.lists["topics"].add_item("typography")
    page.form.lists["topics"].list.closePersistentEditor(
        page.form.lists["topics"].list.currentItem()
    )
    assert page.json_payload()["username"] == "ada_writes"
    assert page.json_payload()["topics"][-1] == "typography"
    assert page.dirty
    assert page.heading.text().endswith("•")
    assert "typography" in page.prompt_view.toPlainText()

    page.save()
    _idle(loop, studio)
    assert not page.dirty
    on_disk = json.loads(page.path.read_text())
    assert on_disk["username"] == "ada_writes"
    assert on_disk["topics"][-1] == "typography"

    # A fresh window shows the same.
    loop.run_until_complete(studio.shutdown())
    second = make_studio(str(studio.session.workspace.root))
    second.window.show_page("characters")
    again = second.window.page("characters")
    _idle(loop, second)
    assert again.form.username_edit.text() == "ada_writes"
    assert again.form.lists["topics"].values()[-1] == "typography"


def test_editing_json_updates_the_form_and_bad_json_is_never_saved(page_and_studio, loop):
    page, studio = page_and_studio
    data = page.json_payload()
    data["username"] = "from_json"
    data["adjectives"] = ["terse"]
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    assert page.form.username_edit.text() == "from_json"
    assert page.form.lists["adjectives"].values() == ["terse"]

    before = page.path.read_bytes()
    page.json_edit.setPlainText('{"name": "Ada", oops}')
    assert page.json_error.isVisible()
    assert "line 1, column 17" in page.json_error.text()
    assert not page.form.isTabEnabled(0), "the form is locked while the JSON is broken"
    page.save()
    _idle(loop, studio)
    assert page.path.read_bytes() == before
    assert any("JSON tab has an error" in m.text for m in studio.messages.history)


def test_an_external_change_is_noticed_and_can_be_reloaded(page_and_studio, loop):
    page, studio = page_and_studio
    data = json.loads(page.path.read_text())
    data["username"] = "changed_outside"
    page.path.write_text(json.dumps(data, indent=2))
    stat = page.path.stat()
    os.utime(page.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    wait_until(loop, page.reload_banner.isVisible)
    assert "changed outside the studio" in page.reload_label.text()
    page.reload_button.click()
    wait_until(loop, lambda: not page.reload_banner.isVisible())
    assert page.form.username_edit.text() == "changed_outside"


def test_saving_over_an_external_change_asks_first(page_and_studio, loop):
    page, studio = page_and_studio
    QTest.keyClicks(page.form.username_edit, "_mine")
    data = json.loads(page.path.read_text())
    data["lore"] = ["theirs"]
    page.path.write_text(json.dumps(data, indent=2))
    stat = page.path.stat()
    os.utime(page.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    page.save()
    _idle(loop, studio)
    assert json.loads(page.path.read_text())["lore"] == ["theirs"], "their edit is not lost"
    assert page.reload_banner.isVisible()
    page.keep_button.click()
    page.save()
    _idle(loop, studio)
    assert json.loads(page.path.read_text())["username"].endswith("_mine")


def test_new_delete_and_undo(page_and_studio, loop):
    page, studio = page_and_studio
    page.new_character()
    _idle(loop, studio)
    assert page.doc.name == "New character"
    path = page.path
    assert path.exists()
    page.delete()
    _idle(loop, studio)
    assert not path.exists()
    assert page.trash_banner.isVisible()
    page.undo_button.click()
    _idle(loop, studio)
    assert path.exists()
    assert page.doc.name == "New character"


def test_switching_with_unsaved_changes_asks(page_and_studio, loop, monkeypatch):
    page, studio = page_and_studio
    QTest.keyClicks(page.form.username_edit, "x")
    asked = []
    monkeypatch.setattr(page.ask, "unsaved", lambda parent, name: asked.append(name) or "cancel")
    _select(page, "Mira")
    assert asked == ["Ada"]
    assert page.doc.name == "Ada" and page.dirty
    monkeypatch.setattr(page.ask, "unsaved", lambda parent, name: "discard")
    _select(page, "Mira")
    assert page.doc.name == "Mira" and not page.dirty


def test_dropping_a_card_imports_it(page_and_studio, loop, tmp_path):
    page, studio = page_and_studio
    card = tmp_path / "luna.json"
    card.write_text(
        json.dumps(
            {
                "spec": "chara_card_v2",
                "spec_version": "2.0",
                "data": {
                    "name": "Luna",
                    "description": "A night-sky guide.",
                    "personality": "calm, wry",
                    "scenario": "",
                    "first_mes": "Look up.",
                    "mes_example": "<START>\n{{user}}: What is that?\n{{char}}: Vega.",
                    "tags": ["astronomy"],
                },
            }
        )
    )
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(card))])
    event = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dropEvent(event)
    _idle(loop, studio)
    assert page.doc.name == "Luna"
    assert page.doc.strings("topics") == ["astronomy"]
    assert (studio.session.workspace.paths.characters_dir / "luna.json").exists()
    assert json.loads(card.read_text())["spec"] == "chara_card_v2", "the source is untouched"


def test_secrets_in_a_character_move_to_the_keyring(page_and_studio, loop, keyring_backend):
    page, studio = page_and_studio
    data = page.json_payload()
    data["settings"]["secrets"] = {"OPENAI_API_KEY": "sk-in-the-file-0123456789abcd"}
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    assert page.move_secrets_button.isVisible()
    page.move_secrets_button.click()
    _idle(loop, studio)
    assert keyring_backend.entries[(SERVICE, "OPENAI_API_KEY")] == "sk-in-the-file-0123456789abcd"
    assert page.json_payload()["settings"]["secrets"] == {"OPENAI_API_KEY": ""}
    page.save()
    _idle(loop, studio)
    assert "sk-in-the-file" not in page.path.read_text()


def test_list_model_passes_the_model_tester(qtmodeltester, tmp_path):
    from carrier_studio.services.characters.store import CharacterStore

    store = CharacterStore(tmp_path, tmp_path / ".trash")
    (tmp_path / "a.json").write_text('{"name": "A"}')
    (tmp_path / "b.json").write_text("{oops")
    model = QtCharacterListModel()
    model.set_entries(store.list())
    qtmodeltester.check(model)
    assert model.rowCount() == 2


def _use_local_model(studio, server):
    from carrier_studio.core.settings import CompatEndpoint, ModelChoice

    providers = studio.session.settings.settings.providers
    providers.endpoints = [CompatEndpoint(name="local", base_url=server.openai_base_url)]
    providers.default = ModelChoice(
        provider="openai-compatible", model="test-model", endpoint="local"
    )


def test_the_builder_drafts_an_unsaved_character(page_and_studio, loop):
    from tests.fakes import json_text, running_server
    from tests.helpers.drafts import DRAFT

    page, studio = page_and_studio
    with running_server() as server:
        _use_local_model(studio, server)
        server.script(json_text(DRAFT))
        dialog = page.open_builder()
        labels = [label.text() for label in dialog.findChildren(QLabel)]
        assert any("test-model (openai-compatible at local)" in t for t in labels)
        dialog.description.setPlainText("A cheerful bike mechanic.")
        dialog.generate()
        loop.run_until_complete(dialog.task)
        _idle(loop, studio)
    assert not dialog.isVisible()
    assert page.doc.name == "Pip"
    assert page.dirty, "a draft opens unsaved"
    assert not page.path.exists()
    page.save()
    _idle(loop, studio)
    assert page.path.exists() and not page.dirty
    assert json.loads(page.path.read_text())["name"] == "Pip"


def test_the_builder_keeps_the_description_when_the_model_fails(page_and_studio, loop):
    from tests.fakes import running_server, text

    page, studio = page_and_studio
    with running_server() as server:
        _use_local_model(studio, server)
        server.script(text("no json here"), text("still none"))
        dialog = page.open_builder()
        dialog.description.setPlainText("A chess coach.")
        dialog.generate()
        loop.run_until_complete(dialog.task)
    assert dialog.isVisible()
    assert "did not produce a valid character in 2 attempts" in dialog.status.text()
    assert dialog.description.toPlainText() == "A chess coach."
    assert page.doc.name == "Ada", "nothing was opened"
    dialog.reject()


def test_switching_characters_shows_their_own_examples(page_and_studio):
    page, _ = page_and_studio
    _select(page, "Mira")
    first_turn = page.form.examples.turns.item(0, 1).text()
    expected = page.doc.data["messageExamples"][0][0]["content"]["text"]
    assert first_turn == expected
    speakers = [
        page.form.examples.turns.cellWidget(r, 0).currentText()
        for r in range(page.form.examples.turns.rowCount())
    ]
    assert "Mira" in speakers and "Ada" not in speakers


def test_examples_editor_edits_keep_other_message_keys(page_and_studio):
    page, _ = page_and_studio
    data = page.json_payload()
    data["messageExamples"] = [
        [
            {"user": "{{user1}}", "content": {"text": "hi", "action": "NONE"}},
            {"user": "Ada", "content": {"text": "hello"}},
        ]
    ]
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    page.form.setCurrentIndex(1)
    page.form.examples.turns.item(0, 1).setText("hi there")
    message = page.json_payload()["messageExamples"][0][0]
    assert message == {"user": "{{user1}}", "content": {"text": "hi there", "action": "NONE"}}
    page.form.examples.add_turn()
    assert page.json_payload()["messageExamples"][0][-1]["user"] == "{{user1}}"


def test_rename_renames_the_file_and_keeps_the_conversations(page_and_studio, loop, monkeypatch):
    page, studio = page_and_studio
    store = studio.session.chat.conversations
    conversation = loop.run_until_complete(store.create("Ada", "Before the rename"))
    loop.run_until_complete(store.remember("Ada", "calculate", "auto"))
    old = page.path
    monkeypatch.setattr(page.ask, "text", lambda *args: "Ada Lovelace")
    monkeypatch.setattr(page.ask, "yes_no", lambda *args: False)  # her examples (#15)
    page.rename()
    _idle(loop, studio)
    assert page.doc.name == "Ada Lovelace"
    assert page.path.name == "ada-lovelace.json" and not old.exists()
    kept = loop.run_until_complete(store.list("Ada Lovelace"))
    assert [c.id for c in kept] == [conversation]
    assert loop.run_until_complete(store.remembered("Ada Lovelace")) == {"calculate": "auto"}


def test_ctrl_s_saves_the_open_character(page_and_studio, loop, qtbot):
    page, studio = page_and_studio
    studio.window.activateWindow()
    page.form.username_edit.setFocus()
    qtbot.waitUntil(page.form.username_edit.hasFocus)
    QTest.keyClicks(page.form.username_edit, "_s")
    QTest.keyClick(page.form.username_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    _idle(loop, studio)
    assert json.loads(page.path.read_text())["username"] == "ada_s"
    assert not page.dirty


def test_quitting_with_unsaved_changes_asks(page_and_studio, loop):
    page, studio = page_and_studio
    QTest.keyClicks(page.form.username_edit, "_unsaved")
    answers = iter(["cancel", "save"])
    asked = []
    answered = asyncio.Event()

    async def ask(parent, label):
        asked.append(label)
        answered.set()
        return next(answers)

    studio.ask_unsaved = ask

    async def close_twice():
        waiting = asyncio.ensure_future(studio.wait_closed())
        studio.request_close()
        await answered.wait()
        await asyncio.sleep(0)  # one turn: wait_closed goes back to waiting
        assert not waiting.done(), "cancel keeps the window open"
        studio.request_close()
        await waiting

    loop.run_until_complete(close_twice())
    assert asked == ["Ada", "Ada"]
    assert json.loads(page.path.read_text())["username"] == "ada_unsaved"


#: A Carrier-format character as Carrier writes it, with keys the studio does not know.
KIT = {
    "version": 1,
    "name": "Kit",
    "username": "kit",
    "system": "You are Kit, who fixes radios.",
    "bio": ["Kit fixes radios."],
    "lore": ["Kit once fixed a lighthouse radio in a storm."],
    "messageExamples": [
        [
            {"user": "{{user1}}", "content": {"text": "Can you fix it?"}},
            {"user": "Kit", "content": {"text": "Probably. What does it do?"}},
        ]
    ],
    "postExamples": ["Solder first, ask later."],
    "topics": ["radios"],
    "adjectives": ["handy"],
    "style": {"all": ["short sentences"], "chat": ["warm"], "post": ["plain"]},
    "settings": {"secrets": {}, "voice": {"model": "en_US-male-medium"}},
    "clients": ["Discord"],
    "modelProvider": "openai",
    "temperature": 0.5,
    "mcp_servers": [],
    "tools": [],
    "discord_config": {"initial_channel": "general", "initial_message": "Hello!"},
    "model": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.5},
    "instagram": {"enabled": False, "default_hashtags": ["#radio"]},
    "memory": {"enabled": True, "recall_k": 5},
    # Keys the studio does not know: they must survive every edit untouched.
    "knowledge": ["Valve radios need warming up."],
    "people": ["Sam"],
    "x-carrier-notes": {"owner": "workshop", "rev": 3},
}


def _flat(value, path="$"):
    """Every leaf of a JSON value by its path (lists are leaves: a list edit is one change)."""
    if isinstance(value, dict):
        leaves = {}
        for key, sub in value.items():
            leaves.update(_flat(sub, f"{path}.{key}"))
        return leaves
    return {path: value}


def _changed(before, after):
    old, new = _flat(before), _flat(after)
    return {p for p in old.keys() | new.keys() if old.get(p, ...) != new.get(p, ...)}


def _checklist_item(widget, value):
    for row in range(widget.count()):
        if widget.item(row).data(Qt.ItemDataRole.UserRole) == value:
            return widget.item(row)
    raise AssertionError(f"{value} not in {widget.objectName()}")


def _finish_list_edit(editor):
    editor.list.closePersistentEditor(editor.list.currentItem())


def test_each_form_field_changes_exactly_its_key_in_a_carrier_file(make_studio, loop, monkeypatch):
    studio = make_studio(start=False)
    providers = studio.session.settings.settings.providers
    providers.endpoints = [CompatEndpoint(name="lm", base_url="http://127.0.0.1:1/v1")]
    path = studio.session.workspace.paths.characters_dir / "kit.json"
    path.write_text(json.dumps(KIT, indent=4))
    loop.run_until_complete(studio.start())
    studio.window.show_page("characters")
    page = studio.window.page("characters")
    _idle(loop, studio)
    _select(page, "Kit")
    _idle(loop, studio)
    form = page.form
    # What the form shows is what the file says (the client name in any case).
    assert form.discord.isChecked()
    assert form.provider.currentData() == "openai"
    assert form.temperature.value() == 0.5

    def edit(change, expected, tab=None):
        before = json.loads(page.path.read_text())
        if tab is not None:
            form.setCurrentIndex(tab)
        change()
        assert page.dirty, f"{expected}: the edit left the page clean"
        page.save()
        _idle(loop, studio)
        assert not page.dirty
        after = json.loads(page.path.read_text())
        assert _changed(before, after) == expected
        return after

    def retype(line_edit, text):
        line_edit.clear()
        QTest.keyClicks(line_edit, text)

    edit(lambda: retype(form.username_edit, "kit_fixes"), {"$.username"})
    # Not the generated "You are Kit.", which would follow the rename below (#15).
    edit(lambda: form.system_edit.setPlainText("You are Kit, who mends radios."), {"$.system"})
    for key in ("bio", "lore", "adjectives", "topics", "postExamples"):
        editor = form.lists[key]

        def add(editor=editor, key=key):
            editor.add_item(f"new {key}")
            _finish_list_edit(editor)

        after = edit(add, {f"$.{key}"})
        assert after[key][-1] == f"new {key}"
    for part, editor in form.style_editors.items():

        def add_rule(editor=editor):
            editor.add_item("no jargon")
            _finish_list_edit(editor)

        edit(add_rule, {f"$.style.{part}"})
    after = edit(
        lambda: form.examples.turns.item(0, 1).setText("Can you fix my radio?"),
        {"$.messageExamples"},
        tab=1,
    )
    assert after["messageExamples"][0][0]["content"]["text"] == "Can you fix my radio?"

    def greet(text):
        form.greetings.add_item(text)
        _finish_list_edit(form.greetings)

    # Greetings live where a Character Card keeps them (the chat opens with the first).
    after = edit(lambda: greet("Hello, {{char}} here."), {"$.card.first_mes"}, tab=1)
    assert after["card"]["first_mes"] == "Hello, {{char}} here."
    after = edit(lambda: greet("Back again?"), {"$.card.alternate_greetings"}, tab=1)
    assert after["card"]["alternate_greetings"] == ["Back again?"]

    def pick(combo, data):
        combo.setCurrentIndex(combo.findData(data))

    # ElizaOS's modelProvider cannot say "openai-compatible": only the studio's key changes.
    edit(lambda: pick(form.provider, "openai-compatible"), {"$.model.provider"})
    edit(lambda: pick(form.endpoint, "lm"), {"$.model.endpoint"})
    after = edit(lambda: pick(form.provider, "anthropic"), {"$.model.provider", "$.modelProvider"})
    assert (after["model"]["provider"], after["modelProvider"]) == ("anthropic", "anthropic")
    edit(lambda: retype(form.model_edit, "claude-sonnet-4-5"), {"$.model.model"})
    after = edit(lambda: form.temperature.setValue(0.9), {"$.temperature", "$.model.temperature"})
    assert (after["temperature"], after["model"]["temperature"]) == (0.9, 0.9)

    after = edit(
        lambda: _checklist_item(form.mcp_list, "filesystem").setCheckState(Qt.CheckState.Checked),
        {"$.mcp_servers"},
    )
    assert after["mcp_servers"] == ["filesystem"]

    def set_policy():
        form.mcp_list.setCurrentItem(_checklist_item(form.mcp_list, "filesystem"))
        form.policy.setCurrentText("auto")

    edit(set_policy, {"$.tool_policy.filesystem"})
    after = edit(
        lambda: _checklist_item(form.handoffs, "Ada").setCheckState(Qt.CheckState.Checked),
        {"$.handoffs"},
    )
    assert after["handoffs"] == ["Ada"]

    after = edit(lambda: form.discord.setChecked(False), {"$.clients"})
    assert after["clients"] == []
    after = edit(lambda: form.discord.setChecked(True), {"$.clients"})
    assert after["clients"] == ["discord"]
    edit(lambda: retype(form.initial_channel, "workshop"), {"$.discord_config.initial_channel"})
    edit(lambda: retype(form.initial_message, "Hi all"), {"$.discord_config.initial_message"})
    edit(lambda: form.instagram.setChecked(True), {"$.instagram.enabled"})
    after = edit(lambda: retype(form.hashtags, "#radio, #repair"), {"$.instagram.default_hashtags"})
    assert after["instagram"]["default_hashtags"] == ["#radio", "#repair"]
    edit(lambda: form.memory.setChecked(False), {"$.memory.enabled"})
    edit(lambda: form.recall.setValue(8), {"$.memory.recall_k"})
    assert form.min_score.value() == 0.30  # the measured default, shown though not written
    after = edit(lambda: form.min_score.setValue(0.45), {"$.memory.min_score"})
    assert after["memory"]["min_score"] == 0.45
    # Back to the workspace default: both keys that name a provider go, so neither picks one.
    after = edit(
        lambda: pick(form.provider, ""),
        {"$.model.provider", "$.model.model", "$.model.endpoint", "$.modelProvider"},
    )
    assert after["model"] == {"temperature": 0.9}
    # With no provider of its own the temperature still counts, so it is still written.
    edit(lambda: form.temperature.setValue(0.4), {"$.temperature", "$.model.temperature"})
    edit(lambda: retype(form.name_edit, "Kitty"), {"$.name"})

    final = json.loads(page.path.read_text())
    for key in ("knowledge", "people", "x-carrier-notes", "settings", "tools", "version"):
        assert final[key] == KIT[key]


def test_a_carrier_client_name_in_another_case_is_the_same_client(page_and_studio, loop):
    page, studio = page_and_studio
    data = page.json_payload()
    data["clients"] = ["Discord", "Twitter"]
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    assert page.form.discord.isChecked()
    page.form.discord.setChecked(False)
    assert page.json_payload()["clients"] == ["Twitter"]
    page.form.discord.setChecked(True)
    assert page.json_payload()["clients"] == ["Twitter", "discord"]


def test_the_provider_box_shows_the_provider_the_file_names(page_and_studio):
    page, _ = page_and_studio
    data = page.json_payload()
    data.pop("model", None)
    for named, shown in [("Anthropic", "Anthropic"), ("groq", "groq (cannot run here)")]:
        data["modelProvider"] = named
        page.json_edit.setPlainText(json.dumps(data, indent=2))
        assert page.form.provider.currentText() == shown
    del data["modelProvider"]
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    assert page.form.provider.currentText() == "Workspace default"


def test_a_broken_file_is_marked_with_an_icon_not_an_emoji(page_and_studio, loop):
    """#15: the emoji mark showed as an empty box where no emoji font is installed."""
    page, studio = page_and_studio
    (page.path.parent / "broken.json").write_text("{oops", "utf-8")
    page.refresh()
    _idle(loop, studio)
    rows = [page.proxy.index(r, 0) for r in range(page.proxy.rowCount())]
    broken = next(i for i in rows if i.data(Qt.ItemDataRole.ToolTipRole) != i.data(PathRole))
    icon = broken.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert not icon.pixmap(16, 16).isNull()
    for index in rows:
        assert all(ord(c) < 0x2600 for c in index.data()), index.data()
    page.list.setCurrentIndex(broken)
    assert page.issue_list.isVisible()
    item = page.issue_list.item(0)
    assert not item.icon().isNull()
    assert all(ord(c) < 0x2600 for c in item.text()), item.text()


def test_a_generated_system_prompt_follows_the_name_and_an_edited_one_is_kept(
    page_and_studio, loop
):
    """#15: a new character's "You are New character." did not follow a rename."""
    page, studio = page_and_studio
    page.new_character()
    _idle(loop, studio)
    assert page.form.system_edit.toPlainText() == "You are New character."
    page.form.name_edit.selectAll()
    QTest.keyClicks(page.form.name_edit, "Wren")
    assert page.form.system_edit.toPlainText() == "You are Wren."
    assert page.json_payload()["system"] == "You are Wren."
    page.save()
    _idle(loop, studio)
    assert json.loads(page.path.read_text())["system"] == "You are Wren."

    page.form.system_edit.setPlainText("You are Wren, a bird watcher.")
    page.form.name_edit.selectAll()
    QTest.keyClicks(page.form.name_edit, "Robin")
    assert page.json_payload()["name"] == "Robin"
    assert page.json_payload()["system"] == "You are Wren, a bird watcher."
    assert page.form.system_edit.toPlainText() == "You are Wren, a bird watcher."


def test_enter_in_a_list_item_saves_no_trailing_newline(page_and_studio, loop):
    """#15: typing an item and pressing Enter saved "text\\n"."""
    page, studio = page_and_studio
    page.form.setCurrentIndex(0)
    saved = {}
    for key in ("bio", "lore", "adjectives"):
        editor = page.form.lists[key]
        editor.add_item()
        item = editor.list.currentItem()
        box = editor.list.indexWidget(editor.list.indexFromItem(item))
        assert box is not None, "the item is being edited"
        box.selectAll()
        QTest.keyClicks(box, f"new {key}  ")
        QTest.keyClick(box, Qt.Key.Key_Return)
        QTest.keyClick(box, Qt.Key.Key_Return)
        assert box.toPlainText().endswith("\n")
        QTest.keyClick(box, Qt.Key.Key_Tab)  # commits, as clicking away does
        assert editor.list.indexWidget(editor.list.indexFromItem(item)) is None
        saved[key] = f"new {key}"
    page.save()
    _idle(loop, studio)
    on_disk = json.loads(page.path.read_text())
    for key, text in saved.items():
        assert on_disk[key][-1] == text, on_disk[key]


def _two_conversations_of_kit(page, loop, studio):
    kit = json.loads(json.dumps(KIT))
    kit["messageExamples"].append(
        {
            "name": "Tuning",
            "examples": [
                {"name": "{{user1}}", "content": {"text": "Static again."}},
                {"name": "Kit", "content": {"text": "Kit says: check the antenna."}},
            ],
        }
    )
    (page.path.parent / "kit.json").write_text(json.dumps(kit, indent=4), "utf-8")
    page.refresh()
    _idle(loop, studio)
    _select(page, "Kit")
    _idle(loop, studio)
    assert page.doc.name == "Kit"


def _speakers(data):
    speakers = []
    for conversation in data["messageExamples"]:
        turns = conversation["examples"] if isinstance(conversation, dict) else conversation
        speakers += [turn.get("user", turn.get("name")) for turn in turns]
    return speakers


@pytest.mark.parametrize("answer", [True, False])
def test_renaming_in_the_name_field_offers_to_rename_the_examples(
    page_and_studio, loop, monkeypatch, answer
):
    """#15: a rename left the examples on the old name, one warning per turn."""
    page, studio = page_and_studio
    _two_conversations_of_kit(page, loop, studio)
    asked = []
    monkeypatch.setattr(
        page.ask, "yes_no", lambda parent, title, text: asked.append(text) or answer
    )
    page.form.name_edit.setFocus()
    page.form.name_edit.selectAll()
    QTest.keyClicks(page.form.name_edit, "Kitty")
    assert asked == [], "nothing is asked while typing"
    QTest.keyClick(page.form.name_edit, Qt.Key.Key_Return)
    assert asked == ["Also rename Kit to Kitty in its 2 examples?"]
    data = page.json_payload()
    assert data["name"] == "Kitty"
    expected = "Kitty" if answer else "Kit"
    assert _speakers(data) == ["{{user1}}", expected, "{{user1}}", expected]
    # Only the speaker changes: the text saying "Kit" is the user's.
    assert data["messageExamples"][1]["examples"][1]["content"]["text"].startswith("Kit says")
    assert page.form.examples.examples() == data["messageExamples"]
    page.form.name_edit.clearFocus()  # committing again asks nothing more
    QTest.keyClick(page.form.name_edit, Qt.Key.Key_Return)
    assert len(asked) == 1
    page.save()
    _idle(loop, studio)
    assert _speakers(json.loads(page.path.read_text())) == _speakers(data)


@pytest.mark.parametrize("answer", [True, False])
def test_the_rename_action_offers_to_rename_the_examples(
    page_and_studio, loop, monkeypatch, answer
):
    page, studio = page_and_studio
    _two_conversations_of_kit(page, loop, studio)
    asked = []
    monkeypatch.setattr(page.ask, "text", lambda *args: "Kitty")
    monkeypatch.setattr(
        page.ask, "yes_no", lambda parent, title, text: asked.append(text) or answer
    )
    page.rename()
    _idle(loop, studio)
    assert asked == ["Also rename Kit to Kitty in its 2 examples?"]
    assert page.doc.name == "Kitty" and page.path.name == "kitty.json"
    assert not page.dirty
    expected = "Kitty" if answer else "Kit"
    on_disk = json.loads(page.path.read_text())
    assert _speakers(on_disk) == ["{{user1}}", expected, "{{user1}}", expected]
    assert on_disk["system"] == KIT["system"], "an edited system prompt is kept"


def test_the_rename_action_also_renames_a_generated_system_prompt(
    page_and_studio, loop, monkeypatch
):
    page, studio = page_and_studio
    page.new_character()
    _idle(loop, studio)
    monkeypatch.setattr(page.ask, "text", lambda *args: "Wren")
    page.rename()
    _idle(loop, studio)
    assert page.doc.name == "Wren" and not page.dirty
    assert json.loads(page.path.read_text())["system"] == "You are Wren."


def test_a_warning_goes_to_its_field_and_one_without_a_field_to_the_json(page_and_studio, loop):
    """#15: warnings in the editor did not lead anywhere; now a click shows the field."""
    page, studio = page_and_studio
    page.show()
    data = json.loads(page.json_edit.toPlainText())
    data["temperature"] = 9
    data["mcp_servers"] = ["no-such-server"]
    data["unheard_of"] = {"x": 1}
    page.json_edit.setPlainText(json.dumps(data, indent=2))
    paths = [
        page.issue_list.item(r).data(Qt.ItemDataRole.UserRole)
        for r in range(page.issue_list.count())
    ]
    mcp_row = next(r for r, p in enumerate(paths) if p and p.startswith("$.mcp_servers"))
    page.issue_list.itemClicked.emit(page.issue_list.item(mcp_row))
    assert page.form.currentWidget().isAncestorOf(page.form.mcp_list)
    assert page.form.mcp_list.hasFocus() or page.focusWidget() is page.form.mcp_list
    assert page.form.field_for("$.bio[2]") is page.form.lists["bio"]
    assert page.form.field_for("$.style.chat[0]") is page.form.style_editors["chat"]
    assert page.form.field_for("$.memory.min_score") is page.form.min_score
    # A path the form has no field for opens the JSON at its key.
    page.form.setCurrentIndex(0)
    item = page.issue_list.item(0)
    item.setData(Qt.ItemDataRole.UserRole, "$.unheard_of.x")
    page.issue_list.itemClicked.emit(item)
    assert page.form.currentIndex() == page.json_tab
    assert page.json_edit.textCursor().selectedText() == '"unheard_of"'
