"""YAML read through PyYAML's safe loader with every value's line kept, for file:line messages.

Scenario files and imported ElizaOS scenarios both go through :func:`parse_yaml`: repeated keys
and non-text keys are errors (loaders otherwise keep the last silently), and a cap on how far
anchors may expand keeps a hostile file from multiplying into millions of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carrier_studio.core.errors import ScenarioError

if TYPE_CHECKING:  # PyYAML loads with the first scenario, not with the window
    import yaml

#: Scenario files are short hand-written text; anything larger is not one.
MAX_SCENARIO_BYTES = 1024 * 1024
#: How many YAML values a file may expand to, counting each use of an anchor again: a guard
#: against "billion laughs" files whose aliases multiply into millions of values.
MAX_VALUES = 100_000
Part = str | int


class Lines:
    """The line of any part of the parsed document, by its path (``("turns", 1, "expect")``)."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def of(self, parts: Sequence[Part]) -> int:
        import yaml

        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in parts:
            if isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
                if not found:
                    break
                key, node = found[-1]  # the loader keeps the last of repeated keys
                line = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def field_name(parts: Sequence[Part]) -> str:
    """``("turns", 1, "expect", 0)`` → ``turns[1].expect[0]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_yaml(text: str, path: Path) -> tuple[Any, Lines]:
    """Plain data and its line map from YAML ``text``, through PyYAML's safe loader.

    Repeated keys (which YAML loaders silently collapse to the last) and non-text keys are
    errors here, since either one hides what the creator wrote.
    """
    import yaml

    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"the text is {len(text) / 2**20:.1f} MB; scenario files over "
            f"{MAX_SCENARIO_BYTES // 2**20} MB are not read",
            path=path,
        )
    # libyaml's parser when PyYAML was built with it (wheels are): the same safe constructor
    # and node marks, parsing about ten times faster than the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_nodes(root, path)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise ScenarioError(
            f"not valid YAML: {problem}"
            + (f" (column {mark.column + 1})" if mark is not None else ""),
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    return data, Lines(root)


def _check_nodes(root: yaml.Node, path: Path) -> None:
    import yaml

    seen = 0
    stack: list[tuple[yaml.Node, tuple[Part, ...]]] = [(root, ())]
    while stack:
        node, parts = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ScenarioError(
                f"the file expands to more than {MAX_VALUES:,} values (through anchors and "
                "aliases); a scenario is never that large",
                path=path,
                line=node.start_mark.line + 1,
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*parts, i)) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":
                    stack.append((value, parts))
                    continue
                line = key.start_mark.line + 1
                if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                    raise ScenarioError(
                        f"a field name must be text, not {getattr(key, 'value', key)!r}",
                        path=path,
                        line=line,
                        field=field_name(parts) or None,
                        hint="Put it in quotes: yes, no, on, off and numbers are read as values.",
                    )
                if key.value in first:
                    raise ScenarioError(
                        f'"{key.value}" appears twice (first on line {first[key.value]}); '
                        "only one would be used",
                        path=path,
                        line=line,
                        field=field_name(parts) or None,
                    )
                first[key.value] = line
                stack.append((value, (*parts, key.value)))
