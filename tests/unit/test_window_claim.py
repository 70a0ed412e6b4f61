"""One window per workspace, the part without Qt: which folder is which, and who holds it."""

from __future__ import annotations

import os

import pytest

from carrier_studio.services.platform.window_claim import (
    JobRunningError,
    claim_window,
    socket_name,
    window_key,
)


def test_one_folder_by_any_path_has_one_key_and_others_differ(tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    link = tmp_path / "link"
    link.symlink_to(workspace)
    assert window_key(workspace) == window_key(link) == window_key(workspace / ".." / "workspace")
    assert window_key(workspace) != window_key(tmp_path / "other")
    name = socket_name(workspace)
    assert name.startswith("carrier-studio-") and len(name) < 100  # a Unix socket path's limit


def test_a_second_claim_names_the_holder_and_a_released_claim_is_free(tmp_path):
    locks, workspace = tmp_path / "windows", tmp_path / "workspace"
    first = claim_window(locks, workspace)
    with pytest.raises(JobRunningError) as held:
        claim_window(locks, workspace)
    assert held.value.pid == os.getpid()
    other = claim_window(locks, tmp_path / "elsewhere")  # another workspace is not held
    other.release()
    first.release()
    claim_window(locks, workspace).release()
    assert not workspace.exists()  # the claim writes nothing into the workspace
