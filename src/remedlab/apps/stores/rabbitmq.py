"""remedlab/rabbitmq: the host's RabbitMQ (Debian rabbitmq-server) as the rabbitmq image's entry point.

It reads the settings the official rabbitmq image reads:

  RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS   the account made on the first start (guest / guest)
  RABBITMQ_NODE_PORT                              AMQP port (default 5672), on the pod's address

The node's data (mnesia) is /var/lib/rabbitmq, a container path (usually a volume). Its log goes to
stdout, for `kubectl logs`.

Erlang's distribution stays inside the pod: the node's own port mapper (epmd) runs as a child of
this process on 127.0.0.1 and a free port, and the node's distribution port is another free port on
127.0.0.1, so nodes of several pods on one host never meet, and no daemon outlives the pod.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from remedlab.apps.stores.store_binaries import MissingBinary, env_int, fail, find_binary, host_path, listen_address
from remedlab.free_port import free_port

PREFIX = "remedlab-rabbitmq"
PACKAGE = "rabbitmq-server"
DEFAULT_PORT = 5672
DATA_DIR = "/var/lib/rabbitmq"
# the server script itself, not Debian's /usr/sbin wrapper (which switches to the rabbitmq user)
SERVER_SCRIPT = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL_SCRIPT = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
NODE_NAME = "rabbit@localhost"


def config_text(env: Mapping[str, str]) -> str:
    """rabbitmq.conf: the default account, reachable from other pods, and a small footprint."""
    user = env.get("RABBITMQ_DEFAULT_USER", "guest")
    password = env.get("RABBITMQ_DEFAULT_PASS", "guest")
    lines = [
        f"default_user = {user}",
        f"default_pass = {password}",
        "loopback_users = none",
        "vm_memory_high_watermark.absolute = 256MiB",
        "disk_free_limit.absolute = 50MB",
        "log.console = true",
        "log.console.level = info",
        "log.file = false",
    ]
    return "\n".join(lines) + "\n"


def node_env(env: Mapping[str, str], base: Path, epmd_port: int, dist_port: int) -> dict[str, str]:
    """The environment rabbitmq-server runs in: its paths under ``base``, its ports, and its Erlang cookie's
    home (the node writes ``.erlang.cookie`` there)."""
    port = env_int("RABBITMQ_NODE_PORT", DEFAULT_PORT, PREFIX)
    return {
        **env,
        "HOME": str(base),
        "RABBITMQ_NODENAME": NODE_NAME,
        "RABBITMQ_NODE_IP_ADDRESS": listen_address(),
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }


def prepare(base: Path, env: Mapping[str, str]) -> None:
    for sub in ("mnesia", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "rabbitmq.conf").write_text(config_text(env))
    (base / "enabled_plugins").write_text("[].\n")


def _script(path: Path) -> str:
    if not os.access(path, os.X_OK):
        raise MissingBinary(path.name, PACKAGE)
    return str(path)


def serve(base: Path) -> int:
    """Run epmd and the node as children; stop both when either ends or a signal comes."""
    server_script = _script(SERVER_SCRIPT)
    epmd_binary = find_binary("epmd", "erlang-base")
    prepare(base, os.environ)
    epmd_port, dist_port = free_port(), free_port()
    env = node_env(os.environ, base, epmd_port, dist_port)
    (base / "ports").write_text(f"{epmd_port} {dist_port}\n")
    epmd = subprocess.Popen([epmd_binary, "-address", "127.0.0.1", "-port", str(epmd_port)], env=env)
    node = subprocess.Popen([server_script], env=env)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if node.poll() is None:
            node.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = node.wait()
    epmd.terminate()
    try:
        epmd.wait(5)
    except subprocess.TimeoutExpired:
        epmd.kill()
    return code


def client(tool: Path, args: list[str]) -> None:
    """rabbitmqctl and friends against this pod's node (its cookie and port mapper)."""
    base = host_path(DATA_DIR)
    ports = base / "ports"
    try:
        epmd_port = ports.read_text().split()[0]
    except (OSError, IndexError):
        fail(PREFIX, f"no node runs in this pod (no {ports})")
    env = {**os.environ, "HOME": str(base), "ERL_EPMD_PORT": epmd_port, "RABBITMQ_NODENAME": NODE_NAME}
    command = [_script(tool), *args]
    os.execve(command[0], command, env)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["--client"]:
            client(CTL_SCRIPT.parent / (args[1] if len(args) > 1 else "rabbitmqctl"), args[2:])
            return
        base = host_path(DATA_DIR)
        base.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        print(f"{PREFIX}: starting node {NODE_NAME} (data in {DATA_DIR})", file=sys.stderr, flush=True)
        code = serve(base)
        print(f"{PREFIX}: node stopped after {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        sys.exit(code)
    except MissingBinary as exc:
        fail(PREFIX, str(exc))


if __name__ == "__main__":
    main()
