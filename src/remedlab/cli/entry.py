"""The `remedlab` console script: `remedlab kubectl ...` starts without loading the rest of the CLI."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "kubectl":
        from remedlab.remediate.kubectl.main import main as kubectl_main

        sys.exit(kubectl_main(sys.argv[2:]))
    from remedlab.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
