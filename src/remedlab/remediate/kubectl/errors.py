"""The failures a command reports, each printed the way kubectl prints it."""

from __future__ import annotations

from typing import Any

_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class KubectlError(Exception):
    """Base of the failures that end a command with a message and an exit code."""

    exit_code = 1

    def render(self) -> str:
        raise NotImplementedError


class CommandError(KubectlError):
    """A usage or client-side failure: printed as `error: MESSAGE`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def render(self) -> str:
        return f"error: {self.message}"


class FlagError(CommandError):
    """A command line kubectl would reject, followed by the pointer to the command's help."""

    def __init__(self, message: str, command_path: str) -> None:
        super().__init__(message)
        self.command_path = command_path

    def render(self) -> str:
        where = f"kubectl {self.command_path}".rstrip()
        return f"error: {self.message}\nSee '{where} --help' for usage."


class ServerUnreachable(KubectlError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def render(self) -> str:
        return self.message


class ApiStatusError(KubectlError):
    """A failure answered by the server with a Kubernetes `Status` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    @classmethod
    def from_body(cls, code: int, body: object) -> ApiStatusError:
        reason = _REASON_BY_CODE.get(code, "")
        message = ""
        details: dict[str, Any] | None = None
        if isinstance(body, dict):
            if body.get("kind") == "Status" or "reason" in body or "message" in body:
                reason = str(body.get("reason") or reason)
                message = str(body.get("message") or "")
                raw_details = body.get("details")
                details = raw_details if isinstance(raw_details, dict) else None
            elif "detail" in body:
                message = _detail_text(body["detail"])
        elif isinstance(body, str):
            message = body.strip()
        if not message:
            message = f"the server responded with the status code {code} but did not return more information"
        return cls(code, reason, message, details)

    @property
    def not_found(self) -> bool:
        return self.code == 404 or self.reason == "NotFound"

    @property
    def already_exists(self) -> bool:
        return self.reason == "AlreadyExists"

    def with_context(self, prefix: str) -> ApiStatusError:
        """The same failure with `prefix` before its message (e.g. `error when creating "x.yaml": `)."""
        return ApiStatusError(self.code, self.reason, prefix + self.message, self.details)

    def render(self) -> str:
        if self.reason == "Unauthorized":
            return f"error: You must be logged in to the server ({self.message})"
        if self.reason:
            return f"Error from server ({self.reason}): {self.message}"
        return f"Error from server: {self.message}"


def _detail_text(detail: object) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)
