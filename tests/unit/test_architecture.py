"""The layer rules in pyproject's [tool.importlinter] hold (core: no Qt, no network clients)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _import_graph():
    import grimp

    # Imports under `if TYPE_CHECKING:` never run. (The Memory page's parts still name the
    # page as a type: the one type-level cycle left.)
    return grimp.build_graph("carrier_studio", exclude_type_checking_imports=True)


def _cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in imports.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_inside_carrier_studio():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    graph = _import_graph()
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = _cycles(imports)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


#: A module longer than this says why at its top, in a comment that starts with "# Long:".
MAX_LINES = 500


def test_no_module_is_long_without_saying_why():
    long = []
    for path in sorted((ROOT / "carrier_studio").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not any(line.startswith("# Long:") for line in lines[:40]):
            long.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert not long, "over 500 lines with no '# Long:' reason at the top:\n" + "\n".join(long)
