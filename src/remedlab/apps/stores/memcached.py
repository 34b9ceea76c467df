"""remedlab/memcached: the host's memcached as a container entry point.

Environment:
  MEMCACHED_PORT       TCP port (default 11211), on the pod's address (`REMEDLAB_POD_IP`); UDP is off
  MEMCACHED_MEMORY_MB  item memory in MiB (default 64)
Arguments (a container's `args`, e.g. ["-c", "4096", "-t", "2"]) are appended
to memcached's command line, so they override these settings.
"""

from __future__ import annotations

import os
import pwd
import sys

from remedlab.apps.stores.store_binaries import MissingBinary, env_int, fail, find_binary, listen_address

PREFIX = "remedlab-memcached"
DEFAULT_PORT = 11211
DEFAULT_MEMORY_MB = 64
# memcached refuses to run as root without -u: the users it may switch to, in order
RUN_AS_CANDIDATES = ("remedlab-pod", "memcache", "nobody")


def _run_as() -> str:
    for name in RUN_AS_CANDIDATES:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return "nobody"


def server_argv(binary: str, args: list[str]) -> list[str]:
    args = list(args)
    if args and os.path.basename(args[0]) == "memcached":
        args = args[1:]
    port = env_int("MEMCACHED_PORT", DEFAULT_PORT, PREFIX)
    memory = env_int("MEMCACHED_MEMORY_MB", DEFAULT_MEMORY_MB, PREFIX)
    argv = [binary, "-l", listen_address(), "-p", str(port), "-m", str(memory), "-U", "0"]
    if os.geteuid() == 0 and "-u" not in args:
        argv += ["-u", _run_as()]
    return argv + args


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        binary = find_binary("memcached", "memcached")
    except MissingBinary as exc:
        fail(PREFIX, str(exc))
    command = server_argv(binary, args)
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
