"""Where claims' data lives: a link from the state directory to memory, chosen once and kept."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from remedlab import volume_storage
from remedlab.volume_storage import (
    ENV,
    VOLUMES,
    claims_root,
    forget_orphans,
    place_claims,
    remove_claims,
    storage_check,
)


@pytest.fixture
def memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /dev/shm."""
    fs = tmp_path / "shm"
    fs.mkdir()
    monkeypatch.setattr(volume_storage, "MEMORY_FS", fs)
    monkeypatch.setattr(volume_storage, "ORPHAN_MIN_AGE_S", 0.0)
    monkeypatch.delenv(ENV, raising=False)
    return fs


def _home(tmp_path: Path, name: str = "home") -> Path:
    home = tmp_path / name
    home.mkdir()
    return home


def test_a_new_state_directory_keeps_its_claims_in_memory(tmp_path: Path, memory: Path) -> None:
    home = _home(tmp_path)
    root = place_claims(home)
    assert (home / VOLUMES).is_symlink()
    assert root == claims_root(home) and root.parent == memory / f"remedlab-{os.geteuid()}"
    assert oct(root.stat().st_mode & 0o777) == "0o755"
    assert place_claims(home) == root  # chosen once
    assert "in memory" in storage_check(home).detail


def test_disk_when_asked_or_when_the_directory_was_on_disk_already(
    tmp_path: Path, memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = _home(tmp_path, "older")
    (older / VOLUMES / "ns" / "claim").mkdir(parents=True)
    assert place_claims(older) == (older / VOLUMES).resolve()
    assert not (older / VOLUMES).is_symlink()
    monkeypatch.setenv(ENV, "disk")
    asked = _home(tmp_path, "asked")
    assert "on disk" in storage_check(asked).detail
    assert place_claims(asked) == (asked / VOLUMES).resolve()
    assert not (asked / VOLUMES).is_symlink()


def test_a_memory_directory_others_may_write_is_never_used(tmp_path: Path, memory: Path) -> None:
    base = memory / f"remedlab-{os.geteuid()}"
    base.mkdir(mode=0o777)
    os.chmod(base, 0o777)
    home = _home(tmp_path)
    place_claims(home)
    assert not (home / VOLUMES).is_symlink()


def test_a_link_whose_memory_went_with_a_reboot_gets_a_new_directory(tmp_path: Path, memory: Path) -> None:
    home = _home(tmp_path)
    root = place_claims(home)
    (root / "ns").mkdir()
    shutil.rmtree(root.parent)
    assert place_claims(home) == root and root.is_dir() and not (root / "ns").exists()


def test_orphans_are_forgotten_and_owned_directories_kept(tmp_path: Path, memory: Path) -> None:
    kept, gone = _home(tmp_path, "kept"), _home(tmp_path, "gone")
    kept_root, gone_root = place_claims(kept), place_claims(gone)
    (gone_root / "ns" / "claim").mkdir(parents=True)
    shutil.rmtree(gone)
    assert forget_orphans() == [gone_root]
    assert kept_root.is_dir() and not gone_root.exists()


def test_removing_a_state_directory_s_claims(tmp_path: Path, memory: Path) -> None:
    home = _home(tmp_path)
    root = place_claims(home)
    (root / "ns" / "claim" / "file").parent.mkdir(parents=True)
    remove_claims(home)
    assert not root.exists()
