"""`carrier-studio mcp list | import FILE | sign-in NAME | sign-out NAME`: the workspace's MCP
catalogue without a window (a sign-in here serves `carrier-studio headless` too: the tokens are
in the keyring).

Imports no Qt. The import plans with the same core code as the MCP page's preview
(`carrier_studio.core.mcp.importing`), so the command line and the window agree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from carrier_studio.core.errors import CarrierError
from carrier_studio.services.platform.paths import AppPaths

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from carrier_studio.core.mcp.config import Catalogue
    from carrier_studio.core.mcp.importing import ImportCandidate
    from carrier_studio.services.platform.secrets import SecretStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser("mcp", help="list the MCP servers, import a Claude Desktop config")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="the servers of the workspace's mcp_servers.json")
    imported = actions.add_parser(
        "import",
        help="add the servers of a claude_desktop_config.json (or Cursor/VS Code mcp.json)",
    )
    imported.add_argument("file", type=Path, help="the JSON file to read")
    clash = imported.add_mutually_exclusive_group()
    clash.add_argument(
        "--rename",
        action="store_true",
        help="a server whose name is taken is added as name-2 (default: it is skipped)",
    )
    clash.add_argument(
        "--replace", action="store_true", help="a server whose name is taken replaces it"
    )
    imported.add_argument(
        "--move-secrets",
        action="store_true",
        help="store secret-looking env values in the keyring; the file then says ${VAR}",
    )
    sign_in = actions.add_parser(
        "sign-in", help="sign in to a remote server with OAuth (opens the browser)"
    )
    sign_in.add_argument("name", help="the server's name in mcp_servers.json")
    sign_out = actions.add_parser("sign-out", help="forget a remote server's OAuth tokens")
    sign_out.add_argument("name", help="the server's name in mcp_servers.json")


def run_mcp(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    *,
    app_paths: AppPaths | None = None,
    keyring_backend: KeyringBackend | None = None,
    environ: Mapping[str, str] = os.environ,
    open_browser: Callable[[str], Awaitable[None] | None] | None = None,
) -> int:
    """Run one ``mcp`` action; the keyword arguments are for tests."""
    try:
        context = _Context.open(args, app_paths or AppPaths.for_user(), keyring_backend, environ)
        if args.mcp_command == "list":
            return _list(context, out)
        if args.mcp_command in ("sign-in", "sign-out"):
            return _sign_in(context, args, out, open_browser)
        return _import(context, args, out)
    except CarrierError as exc:
        print(f"carrier-studio mcp {args.mcp_command}: {exc}", file=err)
        return 1


@dataclass
class _Context:
    path: Path
    workspace: Path
    secrets: SecretStore

    @classmethod
    def open(
        cls,
        args: argparse.Namespace,
        app_paths: AppPaths,
        keyring_backend: KeyringBackend | None,
        environ: Mapping[str, str],
    ) -> _Context:
        from carrier_studio.services.platform.secrets import SecretStore
        from carrier_studio.services.platform.settings_store import SettingsStore
        from carrier_studio.services.platform.workspace import open_workspace

        settings = SettingsStore.load(app_paths.settings_file)
        workspace = open_workspace(app_paths.choose_workspace(args.workspace, environ))
        secrets = SecretStore(
            settings.settings.secrets.storage,
            workspace.paths.env_file,
            backend=keyring_backend,
            environ=environ,
        )
        return cls(workspace.paths.mcp_config, workspace.root, secrets)

    def catalogue(self) -> Catalogue:
        from carrier_studio.core.mcp.config import Catalogue, McpConfigError

        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return Catalogue.empty(self.path)
        except OSError as exc:
            raise McpConfigError(f"cannot be read ({exc.strerror})", path=self.path) from exc
        return Catalogue.from_text(text, self.path)

    def is_set(self, name: str) -> bool:
        from carrier_studio.services.mcp.tool_maker import studio_variables

        return name in studio_variables(self.workspace) or self.secrets.get(name) is not None


def _list(context: _Context, out: TextIO) -> int:
    from carrier_studio.core.mcp.lint import lint_server

    catalogue = context.catalogue()
    print(f"{context.path}", file=out)
    if not catalogue.names:
        print("  (no servers)", file=out)
    for name in catalogue.names:
        config = catalogue.servers.get(name)
        if config is None:
            print(f"  {name}  (broken)", file=out)
            for problem in catalogue.problems_of(name):
                print(f"      error: {problem.where}: {problem.message}", file=out)
            continue
        state = "on " if config.enabled else "off"
        print(f"  {name}  [{state}] {config.type}: {config.describe()}", file=out)
        for warning in lint_server(
            config,
            path=context.path,
            which=shutil.which,
            exists=os.path.exists,
            is_set=context.is_set,
        ):
            print(f"      warning: {warning.where}: {warning.message}", file=out)
    return 0


def _sign_in(
    context: _Context,
    args: argparse.Namespace,
    out: TextIO,
    open_browser: Callable[[str], Awaitable[None] | None] | None,
) -> int:
    import asyncio

    from carrier_studio.core.errors import SecretStoreError
    from carrier_studio.core.mcp import McpConfigError
    from carrier_studio.services.mcp.oauth import McpOAuth

    config = context.catalogue().servers.get(args.name)
    if config is None or config.oauth is None:
        raise McpConfigError(
            f'{args.name!r} is not a server with an "oauth" entry', path=context.path
        )
    oauth = McpOAuth(context.secrets)
    if args.mcp_command == "sign-in" and context.secrets.effective_storage != "keyring":
        # Without a keyring the tokens live in memory, and this process ends at once.
        raise SecretStoreError(
            "a sign-in needs the system keyring here: without one the tokens would be "
            f"forgotten when this command ends (secrets go to {context.secrets.storage_words})",
            hint="Sign in from the MCP Servers page of the window instead.",
        )
    if args.mcp_command == "sign-out":
        asyncio.run(oauth.sign_out(config))
        print(f"Signed out of {args.name}: its tokens are deleted.", file=out)
        return 0

    def show(url: str) -> Awaitable[None] | None:
        print(f"Open this address to sign in to {args.name}:\n  {url}", file=out, flush=True)
        if open_browser is not None:
            return open_browser(url)
        import webbrowser

        webbrowser.open(url)
        return None

    asyncio.run(oauth.sign_in(config, show))
    print(f"Signed in to {args.name}; the tokens are kept in the system keyring.", file=out)
    return 0


def _import(context: _Context, args: argparse.Namespace, out: TextIO) -> int:
    from carrier_studio.core.mcp.importing import check_choices, plan_import, read_client_config
    from carrier_studio.services.platform.files import atomic_write_text

    source: Path = args.file
    try:
        text = source.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CarrierError(f"cannot be read ({exc.strerror})", path=source) from exc
    if args.move_secrets and not (
        context.secrets.storage == "keyring" and context.secrets.keyring_available
    ):
        # Moving means "out of the plain-text file": a .env or this process only is not that.
        raise CarrierError(
            "--move-secrets needs the OS keyring, and secrets are not stored there here",
            hint="Choose the keyring in Settings → Secrets (or run without --move-secrets).",
        )
    catalogue = context.catalogue()
    plan = plan_import(
        read_client_config(text, source),
        catalogue.names,
        path=context.path,
        on_clash="rename" if args.rename else "replace" if args.replace else "skip",
        move_secrets=args.move_secrets,
        which=shutil.which,
        exists=os.path.exists,
        stored=context.secrets.get if args.move_secrets else None,
    )
    problems = check_choices(plan, catalogue.names)
    if problems:
        raise CarrierError("; ".join(problems), path=source)
    chosen = [c for c in plan if c.action != "skip"]
    # Secrets go to the keyring before the file is written: if the keyring refuses one,
    # nothing is written, so no server is left pointing at a ${VAR} that is not there.
    for candidate in chosen:
        for variable, value in candidate.stored_secrets().items():
            context.secrets.set(variable, value)
    for candidate in chosen:
        catalogue.put(candidate.name, candidate.final_raw())
    if chosen:
        atomic_write_text(context.path, catalogue.to_text())
    for candidate in plan:
        _report(candidate, out)
    added = len(chosen)
    print(
        f"{added} server(s) written to {context.path}" if added else "Nothing imported.", file=out
    )
    return 0


def _report(candidate: ImportCandidate, out: TextIO) -> None:
    name = candidate.source_name
    if candidate.problems:
        print(f"{name}: not imported: {candidate.problems[0]}", file=out)
        return
    line = {
        "add": f"{name}: added",
        "rename": f"{name}: added as {candidate.name} (the name was taken)",
        "replace": f"{name}: replaced the server of that name",
        "skip": f"{name}: skipped, the name is taken (--rename or --replace to import it)",
    }[candidate.action]
    print(line, file=out)
    if candidate.action == "skip":
        return
    if candidate.move_secrets:
        moved = ", ".join(f"{m.key} → ${{{m.variable}}}" for m in candidate.secrets)
        print(f"    moved to the keyring: {moved}", file=out)
    elif candidate.secrets:
        keys = ", ".join(m.key for m in candidate.secrets)
        print(f"    note: {keys} look secret and stay in plain text (--move-secrets)", file=out)
    for warning in candidate.warnings:
        print(f"    warning: {warning}", file=out)
