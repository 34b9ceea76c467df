"""The pod shim is compiled once per host: a new state directory copies it from the host's cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from remedlab.cluster.node import time_shift


def test_a_second_state_directory_copies_the_compiled_shim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDLAB_SHIM_CACHE", str(tmp_path / "cache"))
    first, note = time_shift.build_shim(tmp_path / "one")
    assert first is not None, note
    cached = list((tmp_path / "cache").glob("*.so"))
    assert [p.name for p in cached] == [first.name]
    # no compiler from here on: the cache is all the second directory may use
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kwargs: None)
    second, note = time_shift.build_shim(tmp_path / "two")
    assert second is not None and second.read_bytes() == first.read_bytes(), note
    assert second.parent == tmp_path / "two" / "lib" and not list((tmp_path / "cache").glob(".build-*"))


def test_without_a_compiler_or_cache_it_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDLAB_SHIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kwargs: None)
    built, note = time_shift.build_shim(tmp_path / "home")
    assert built is None and "C compiler" in note
