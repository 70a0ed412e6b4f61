"""The example character tests shipped in scenarios/: each loads, tests a shipped character,
every shipped character has one, and a new workspace is seeded with them."""

from __future__ import annotations

import json

from carrier_studio import assets
from carrier_studio.core.scenarios.loader import load_scenario
from carrier_studio.services.platform.workspace import open_workspace


def _shipped_characters() -> set[str]:
    return {
        json.loads(p.read_text(encoding="utf-8"))["name"]
        for p in assets.seed_characters_dir().glob("*.json")
    }


def test_every_example_loads_and_tests_a_shipped_character():
    examples = sorted(assets.seed_scenarios_dir().glob("*.yaml"))
    assert examples, "the app ships example scenarios"
    characters = _shipped_characters()
    tested = set()
    for path in examples:
        scenario = load_scenario(path)
        assert scenario.character in characters, f"{path.name}: {scenario.character}"
        tested.add(scenario.character)
    assert tested == characters, f"characters with no example test: {characters - tested}"


def test_the_examples_show_both_kinds_of_conversation_and_the_discord_rehearsal():
    scenarios = [load_scenario(p) for p in assets.seed_scenarios_dir().glob("*.yaml")]
    assert any(s.simulated_user for s in scenarios) and any(s.turns for s in scenarios)
    assert any(s.setup.client == "discord" for s in scenarios)
    assert any(s.setup.memories for s in scenarios)


def test_a_new_workspace_is_seeded_with_the_examples(tmp_path):
    opened = open_workspace(tmp_path / "ws")
    shipped = sorted(p.name for p in assets.seed_scenarios_dir().glob("*.yaml"))
    assert sorted(p.name for p in opened.paths.scenarios_dir.glob("*.yaml")) == shipped


def _readme_section() -> str:
    readme = (assets._SOURCE_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Character tests")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_readmes_examples_load():
    import re
    from pathlib import Path

    from carrier_studio.core.scenarios.loader import expectation_kinds, load_text

    section = _readme_section()
    # The scenario files among the section's YAML blocks (a matrix file, say, is not one).
    blocks = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", section, re.S)
        if re.search(r"^(character|team):", block, re.M)
    ]
    assert len(blocks) >= 2
    for block in blocks:
        load_text(block, Path("README.md"))
    # Every expectation in the table, as written there, is a valid expectation line.
    rows = re.findall(r"^\| `([^|]+?)`(?: / `([^|]+?)`)? \|", section, re.M)
    written = [cell for row in rows for cell in row if cell]
    for cell in written:
        load_text(f"character: A\nturns:\n  - user: hi\n    expect:\n      - {cell}\n", Path("x"))
    kinds = {cell.split(":")[0] for cell in written}
    assert kinds == set(expectation_kinds())
