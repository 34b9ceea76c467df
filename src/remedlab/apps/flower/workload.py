"""The Flower workload: submits the digits app (``fedapp/``) to the SuperLink with ``flwr run``, one
run after another, so that a run is always in progress or just finished.

Settings come from the environment: ``SUPERLINK`` (the Control API's ``host:port``), ``FLWR_HOME``
(where ``flwr`` keeps its configuration and the app's copy), ``RUN_PAUSE`` (seconds between runs) and
``RUN_TIMEOUT`` (a run that streams longer is left and the next one submitted). Each run's output,
the ServerApp's logs streamed back, goes to this process's stdout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from remedlab.apps.flower.launch import environment_bin, program_environment

CONNECTION = "cluster"


def connection_config(superlink: str) -> str:
    return (
        f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\naddress = "{superlink}"\ninsecure = true\n'
    )


def prepare(home: Path, superlink: str) -> Path:
    """Write flwr's configuration and a copy of the app under ``home``; the app's directory."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(connection_config(superlink), encoding="utf-8")
    app = home / "digitsfl-app"
    source = Path(str(resources.files("remedlab.apps.flower").joinpath("fedapp")))
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(source, app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return app


def run_once(app: Path, env: dict[str, str], timeout: float) -> int:
    flwr = str(environment_bin() / "flwr")
    started = time.monotonic()
    print(f"flwr run {app.name} {CONNECTION}", flush=True)
    try:
        done = subprocess.run([flwr, "run", str(app), CONNECTION, "--stream"], env=env, timeout=timeout, check=False)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    print(f"flwr run ended with {code} after {time.monotonic() - started:.1f}s", flush=True)
    return code


def main() -> None:
    env = program_environment(dict(os.environ), None)
    home = Path(env.get("FLWR_HOME") or Path.home() / ".flwr")
    env["FLWR_HOME"] = str(home)
    app = prepare(home, os.environ.get("SUPERLINK", "superlink:9093"))
    pause = float(os.environ.get("RUN_PAUSE", "1"))
    timeout = float(os.environ.get("RUN_TIMEOUT", "300"))
    while True:
        code = run_once(app, env, timeout)
        time.sleep(pause if code == 0 else max(pause, 2.0))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
