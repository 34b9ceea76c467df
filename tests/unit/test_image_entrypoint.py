"""`remedlab-image`, the container image's entry point: it reads which image it is and the
container's command or args, and execs what the image map says, as the embedded cluster runs it.
The installed console script runs for real on harmless commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remedlab.api.image_map import ExecutableNotFound, ImageRegistry
from remedlab.apps.real_cluster.image_entrypoint import (
    NOT_FOUND_EXIT,
    USAGE_EXIT,
    Invocation,
    InvocationError,
    parse_invocation,
    plan,
)
from remedlab.apps.stores.store_binaries import MissingBinary, postgres_bindir

IMAGES = ImageRegistry.load(None)
PYTHON = sys.executable
SCRIPT = Path(sys.executable).parent / "remedlab-image"


def test_invocations() -> None:
    env = {"REMEDLAB_IMAGE": "remedlab/hotel-reservation:1.0"}
    assert parse_invocation([], env) == Invocation("remedlab/hotel-reservation:1.0", None, None)
    assert parse_invocation(["--"], env) == Invocation("remedlab/hotel-reservation:1.0", None, None)
    assert parse_invocation(["--", "--command"], env) == Invocation(
        "remedlab/hotel-reservation:1.0", None, ["--command"]
    )
    assert parse_invocation(["-c", "x"], env) == Invocation("remedlab/hotel-reservation:1.0", None, ["-c", "x"])
    assert parse_invocation(["--command", "geo", "--"], env) == Invocation(
        "remedlab/hotel-reservation:1.0", ["geo", "--"], None
    )
    assert parse_invocation(["--image", "busybox", "--", "sh"], env) == Invocation("busybox", None, ["sh"])
    assert parse_invocation(["--image=busybox"], {}) == Invocation("busybox", None, None)
    for bad, bad_env in (([], {}), (["--image"], env), (["--command"], env)):
        with pytest.raises(InvocationError):
            parse_invocation(bad, bad_env)


def test_plans_follow_the_image_map() -> None:
    geo = ["-m", "remedlab.apps.hotel_reservation.geo"]
    hello = [PYTHON, "-m", "remedlab.apps.simple_micro.hello"]
    assert plan(Invocation("remedlab/hotel-reservation:1.0", ["geo"], None), IMAGES) == [PYTHON, *geo]
    assert plan(Invocation("ghcr.io/you/remedlab/hotel-reservation:1.0", ["geo", "-v"], None), IMAGES) == [
        PYTHON,
        *geo,
        "-v",
    ]
    assert plan(Invocation("remedlab/simple-micro-hello:1.0", None, None), IMAGES) == hello
    assert plan(Invocation("remedlab/simple-micro-hello", None, ["--x"]), IMAGES) == [*hello, "--x"]
    assert plan(Invocation("busybox", None, None), IMAGES) == ["sh"]
    with pytest.raises(InvocationError, match="not one of remedlab's images"):
        plan(Invocation("remedlab/nope:1.0", None, None), IMAGES)
    with pytest.raises(InvocationError, match=r"remedlab/hotel-reservation has no tag 9\.9"):
        plan(Invocation("remedlab/hotel-reservation:9.9", None, None), IMAGES)
    with pytest.raises(ExecutableNotFound):
        plan(Invocation("remedlab/hotel-reservation:1.0", None, None), IMAGES)  # no ENTRYPOINT nor CMD


def _run(args: list[str], image: str | None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: run make setup"
    env = {k: v for k, v in os.environ.items() if k != "REMEDLAB_IMAGE"}
    if image is not None:
        env["REMEDLAB_IMAGE"] = image
    return subprocess.run(
        [str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_script_execs_a_command_of_the_image() -> None:
    done = _run(["--command", "echo", "hello", "world"], "busybox:latest")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello world\n", "")


def test_the_script_runs_the_images_cmd_or_the_args_that_replace_it() -> None:
    done = _run([], "busybox", stdin="echo from the CMD\n")
    assert (done.returncode, done.stdout) == (0, "from the CMD\n")
    done = _run(["--", "printf", "%s-%s", "a", "b"], "busybox")
    assert (done.returncode, done.stdout) == (0, "a-b")


def test_the_script_runs_a_python_program_of_the_image() -> None:
    # {python} is the interpreter: the postgres image's psql is remedlab's wrapper, which execs psql
    try:
        postgres_bindir(("psql",))
    except MissingBinary as exc:
        pytest.skip(str(exc))
    done = _run(["--command", "psql", "--version"], "registry.example.com/team/remedlab/postgres:15")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("psql (PostgreSQL)")


def test_the_script_exits_with_one_line_on_errors() -> None:
    done = _run([], None)
    assert done.returncode == USAGE_EXIT
    assert done.stderr.startswith("remedlab-image: which image is this container? set REMEDLAB_IMAGE")
    done = _run([], "remedlab/no-such-image:1.0")
    assert done.returncode == USAGE_EXIT
    assert done.stderr.count("\n") == 1
    if shutil.which("no-such-program") is None:
        done = _run(["--command", "no-such-program"], "remedlab/hotel-reservation:1.0")
        assert done.returncode == NOT_FOUND_EXIT
        assert done.stderr == 'remedlab-image: exec: "no-such-program": executable file not found in $PATH\n'
