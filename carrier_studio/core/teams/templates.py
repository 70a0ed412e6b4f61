"""HAAS instruction files are Jinja templates: render them the way HAAS does.

HAAS loads each agent's instruction file through a Jinja environment whose loader is the team's
template folder (the folder holding agents.yaml), so ``{% include "_mission.md" %}`` pulls in a
shared file and ``{{ name }}`` is the agent's own field from agents.yaml. We render the same way,
with three guards HAAS does not have, because the folder may come from a stranger:

- a sandboxed environment, so a template cannot reach Python internals (``{{ ''.__class__ }}``);
- `StrictUndefined`, so a misspelt variable is an error naming the file and the variable, rather
  than an empty string the model never notices is missing;
- a loader that refuses names leaving the folder, symlinks included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from carrier_studio.core.teams.model import TeamError


class TeamFolderLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that also refuses a file whose real path is outside the folder.

    FileSystemLoader already refuses ``..`` in a name; a symlink inside the folder that points
    out of it would still be followed, and that would let a shared team read the user's files.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder), encoding="utf-8-sig")
        self.folder = folder.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.folder):
            raise jinja2.TemplateNotFound(f"{template} (it leads outside the team folder)")
        return source, filename, uptodate


@dataclass
class Rendered:
    """One rendered instruction file and what rendering used."""

    text: str
    #: Files pulled in with include/import/extends, in the order they were loaded.
    included: list[str] = field(default_factory=list)
    #: True when the file has Jinja syntax at all (a plain file is copied as it is).
    templated: bool = False


class _Recorder(TeamFolderLoader):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.loaded: list[str] = []

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        found = super().get_source(environment, template)
        self.loaded.append(template)
        return found


def environment(folder: Path) -> jinja2.sandbox.SandboxedEnvironment:
    """The environment one team's instruction files render in."""
    return jinja2.sandbox.SandboxedEnvironment(
        loader=_Recorder(folder),
        undefined=jinja2.StrictUndefined,
        # Markdown for a model, not HTML: escaping would turn "&" into "&amp;".
        autoescape=False,
        keep_trailing_newline=True,
    )


def _is_template(source: str) -> bool:
    return any(mark in source for mark in ("{{", "{%", "{#"))


def render(
    env: jinja2.sandbox.SandboxedEnvironment, name: str, variables: Mapping[str, Any]
) -> Rendered:
    """Render the instruction file ``name`` of the team folder with ``variables``.

    Raises TeamError naming the file (the included one, when the problem is there), the line and
    the variable or the missing file.
    """
    loader = env.loader
    assert isinstance(loader, _Recorder)
    loader.loaded.clear()
    folder = Path(loader.folder)
    try:
        template = env.get_template(name)
        source, _, _ = TeamFolderLoader.get_source(loader, env, name)
        text = template.render(**variables)
    except jinja2.TemplateNotFound as exc:
        missing = exc.name if isinstance(exc.name, str) else str(exc)
        if missing == name:
            raise TeamError(f"the file {name} is not in {folder}") from exc
        raise TeamError(
            f"{name} includes {missing}, which is not in the team folder",
            path=folder / name,
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TeamError(
            f"is not a valid template: {exc.message}",
            path=folder / (exc.name or name),
            where=f"line {exc.lineno}",
        ) from exc
    except jinja2.UndefinedError as exc:
        where_file, line = _template_frame(exc, loader.loaded or [name])
        raise TeamError(
            f"uses a variable that agents.yaml does not give: {exc.message}",
            path=folder / where_file,
            where=f"line {line}" if line else None,
            hint="Add the field to the agent in agents.yaml, or give the template a default "
            "(e.g. {{ role | default('a member') }}).",
        ) from exc
    except jinja2.sandbox.SecurityError as exc:
        raise TeamError(
            f"does something a team template may not: {exc}", path=folder / name
        ) from exc
    except jinja2.TemplateError as exc:
        raise TeamError(f"cannot be rendered: {exc}", path=folder / name) from exc
    included = [n for n in dict.fromkeys(loader.loaded) if n != name]
    return Rendered(text, included, _is_template(source))


def _template_frame(exc: BaseException, names: list[str]) -> tuple[str, int | None]:
    """The template file and line a render error came from.

    Jinja rewrites the traceback so template frames carry the template's file name and line;
    the innermost such frame is where the undefined variable was used (an included file, say).
    """
    found: tuple[str, int | None] = (names[0], None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        for candidate in names:
            if filename.endswith(candidate) and (
                len(filename) == len(candidate) or filename[-len(candidate) - 1] in "/\\"
            ):
                found = (candidate, tb.tb_lineno)
        tb = tb.tb_next
    return found
