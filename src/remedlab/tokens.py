"""The server's bearer tokens: a JSON file, created at the server's first start, readable by its owner only.

    {"tokens": [{"name": "admin", "scope": "admin", "token": "..."},
                {"name": "agent", "scope": "agent", "token": "..."}]}

Scope ``admin`` may do everything (deploy, inject, stop, restore, grade);
scope ``agent`` may observe and remediate only. Clients on the server's host
find the admin token in ``$REMEDLAB_HOME/tokens.json``; agents get the agent
token, never the admin one.

Standard library only: the kubectl CLI reads it and must start fast.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

TOKENS_FILE = "tokens.json"
SCOPES = ("admin", "agent")


class TokenFileError(Exception):
    """The token file cannot be read or is malformed; the message says which file and why."""


def default_token_file(home: Path) -> Path:
    return home / TOKENS_FILE


def create_token_file(path: Path) -> None:
    """Write a new token file (mode 0600) with one admin and one agent token, unless it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = [{"name": scope, "scope": scope, "token": secrets.token_urlsafe(32)} for scope in SCOPES]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"tokens": tokens}, handle, indent=2)
        handle.write("\n")


def load_tokens(path: Path) -> dict[str, str]:
    """token -> scope, from a token file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TokenFileError(f"cannot read the token file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise TokenFileError(f"the token file {path} is not JSON: {exc}") from None
    entries = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise TokenFileError(f'the token file {path} has no "tokens" list')
    tokens: dict[str, str] = {}
    for i, entry in enumerate(entries):
        token = entry.get("token") if isinstance(entry, dict) else None
        scope = entry.get("scope") if isinstance(entry, dict) else None
        if not isinstance(token, str) or len(token) < 16 or scope not in SCOPES:
            raise TokenFileError(
                f"the token file {path}: tokens[{i}] needs a token of 16+ characters and a scope of "
                f"{' or '.join(SCOPES)}"
            )
        tokens[token] = str(scope)
    return tokens


def token_for_scope(path: Path, scope: str) -> str | None:
    """The first token of ``scope`` in the file, or None when the file is absent or unreadable."""
    try:
        tokens = load_tokens(path)
    except TokenFileError:
        return None
    return next((token for token, s in tokens.items() if s == scope), None)


def scope_of(tokens: dict[str, str], presented: str) -> str | None:
    """The scope of a presented token (compared in constant time), or None."""
    found = None
    for token, scope in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = scope
    return found


def client_token(home: Path) -> str | None:
    """The token a client on this host sends: ``$REMEDLAB_TOKEN``, ``$REMEDLAB_TOKEN_FILE``, or the
    admin token of the local server's token file."""
    token = os.environ.get("REMEDLAB_TOKEN", "").strip()
    if token:
        return token
    token_file = os.environ.get("REMEDLAB_TOKEN_FILE", "").strip()
    if token_file:
        text = Path(token_file).read_text(encoding="utf-8").strip()
        if text.startswith("{"):
            return token_for_scope(Path(token_file), "admin")
        return text or None
    return token_for_scope(default_token_file(home), "admin")
