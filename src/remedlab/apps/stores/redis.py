"""remedlab/redis: the host's redis-server as a container entry point.

Environment:
  REDIS_PORT     port (default 6379), on the pod's address (`REMEDLAB_POD_IP`)
  REDIS_PERSIST  "1": keep RDB snapshots in /data (a container path, usually a
                 volume; redis' default save points); otherwise nothing is saved
Arguments (a container's `args`) are appended to redis-server's command line,
so they override these settings; a first argument that does not start with
"-" is a configuration file (a container path).

`python -m remedlab.apps.stores.redis --client redis-cli ...` is the image's
`redis-cli`: it points at this pod's server unless -h, -u or -s is given.
"""

from __future__ import annotations

import os
import sys

from remedlab.apps.stores.store_binaries import MissingBinary, env_int, fail, find_binary, host_path, listen_address

PREFIX = "remedlab-redis"
DEFAULT_PORT = 6379
DATA_DIR = "/data"


def server_argv(binary: str, args: list[str]) -> list[str]:
    args = list(args)
    if args and os.path.basename(args[0]) == "redis-server":
        args = args[1:]
    config: list[str] = []
    if args and not args[0].startswith("-"):
        config = [str(host_path(args[0]))]
        args = args[1:]
    port = env_int("REDIS_PORT", DEFAULT_PORT, PREFIX)
    argv = [binary, *config, "--bind", listen_address(), "--port", str(port)]
    argv += ["--protected-mode", "no", "--daemonize", "no", "--logfile", ""]
    if os.environ.get("REDIS_PERSIST") == "1":
        data = host_path(DATA_DIR)
        data.mkdir(parents=True, exist_ok=True)
        argv += ["--dir", str(data)]
    else:
        argv += ["--save", "", "--appendonly", "no"]
    return argv + args


def client_argv(binary: str, args: list[str]) -> list[str]:
    given = set(args)
    prefix: list[str] = []
    if not given & {"-h", "-u", "-s"}:
        prefix += ["-h", listen_address() if os.environ.get("REMEDLAB_POD_IP") else "127.0.0.1"]
        if "-p" not in given:
            prefix += ["-p", str(env_int("REDIS_PORT", DEFAULT_PORT, PREFIX))]
    return [binary, *prefix, *args]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["--client"]:
            tool = args[1] if len(args) > 1 else "redis-cli"
            binary = find_binary(tool, "redis-tools")
            command = client_argv(binary, args[2:])
        else:
            binary = find_binary("redis-server", "redis-server")
            command = server_argv(binary, args)
    except MissingBinary as exc:
        fail(PREFIX, str(exc))
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
