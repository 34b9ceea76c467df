"""Runs a program of the Flower environment: ``launch.py [--model-input-size N] PROGRAM ARGS...``.

Flower pins other versions of the web stack than remedlab, so it lives in an environment of its own,
``<remedlab's environment>/flower`` (``make setup`` installs it from the ``flower`` dependency group),
as a container image would. The program replaces this process; its PATH starts with the environment's
programs (SuperExec starts ``flwr-serverapp`` and ``flwr-clientapp`` by name), and ``FLWR_HOME`` and
``ROUND_LOG`` are turned into this host's paths where they name a mounted volume.

``--model-input-size`` sets ``MODEL_INPUT_SIZE``, the input size of the ClientApp's model (the digits
app reads it): an image built with another model configuration passes it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from remedlab.apps.kit.volumes import container_path

PATH_VARIABLES = ("FLWR_HOME", "ROUND_LOG")


def environment_bin() -> Path:
    return Path(sys.prefix) / "flower" / "bin"


def program_environment(environ: dict[str, str], model_input_size: str | None) -> dict[str, str]:
    env = dict(environ)
    env["PATH"] = f"{environment_bin()}:{env.get('PATH', '/usr/bin:/bin')}"
    for name in PATH_VARIABLES:
        if env.get(name):
            env[name] = container_path(env[name])
    if env.get("FLWR_HOME"):
        Path(env["FLWR_HOME"]).mkdir(parents=True, exist_ok=True)
    if model_input_size is not None:
        env["MODEL_INPUT_SIZE"] = model_input_size
    env.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    return env


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    size: str | None = None
    if args[:1] == ["--model-input-size"] and len(args) >= 2:
        size, args = args[1], args[2:]
    if not args:
        raise SystemExit("usage: launch [--model-input-size N] PROGRAM [ARGS...]")
    program = environment_bin() / args[0]
    if not program.exists():
        raise SystemExit(f"{program} is missing: run `make setup` to install the Flower environment")
    env = program_environment(dict(os.environ), size)
    sys.stdout.flush()
    os.execve(str(program), [str(program), *args[1:]], env)


if __name__ == "__main__":
    main()
