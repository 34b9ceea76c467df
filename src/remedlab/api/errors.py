"""Errors of the cluster API, shaped like Kubernetes `Status` failures."""

from __future__ import annotations

from typing import Any


class ClusterError(Exception):
    """An API failure with a Kubernetes reason and HTTP code."""

    reason = "InternalError"
    code = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        """The Status's details: name, group, kind and, for Invalid, causes ({reason, message, field})."""

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            out["details"] = self.details
        return out


class NotFound(ClusterError):
    reason = "NotFound"
    code = 404

    @classmethod
    def of(cls, plural: str, name: str) -> NotFound:
        return cls(f'{plural} "{name}" not found')


class AlreadyExists(ClusterError):
    reason = "AlreadyExists"
    code = 409

    @classmethod
    def of(cls, plural: str, name: str) -> AlreadyExists:
        return cls(f'{plural} "{name}" already exists')


class Conflict(ClusterError):
    reason = "Conflict"
    code = 409

    @classmethod
    def modified(cls, plural: str, name: str) -> Conflict:
        return cls(
            f'Operation cannot be fulfilled on {plural} "{name}": '
            "the object has been modified; please apply your changes to the latest version and try again"
        )


class Forbidden(ClusterError):
    reason = "Forbidden"
    code = 403


class Invalid(ClusterError):
    reason = "Invalid"
    code = 422


class BadRequest(ClusterError):
    reason = "BadRequest"
    code = 400


class Expired(ClusterError):
    """A watch or list from a resourceVersion the server no longer keeps: the client must list afresh."""

    reason = "Expired"
    code = 410


class MethodNotAllowed(ClusterError):
    reason = "MethodNotAllowed"
    code = 405


class Unauthorized(ClusterError):
    reason = "Unauthorized"
    code = 401


class NotAcceptable(ClusterError):
    reason = "NotAcceptable"
    code = 406


class UnsupportedMediaType(ClusterError):
    reason = "UnsupportedMediaType"
    code = 415


def error_from_status(status: dict[str, Any], http_code: int) -> ClusterError:
    """The error a Kubernetes ``Status`` failure (from any API server) stands for."""
    reason, code = str(status.get("reason") or ""), int(status.get("code") or http_code)
    message = str(status.get("message") or f"the API answered {http_code}")
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    classes: list[type[ClusterError]] = [
        NotFound,
        AlreadyExists,
        Conflict,
        Forbidden,
        Invalid,
        BadRequest,
        Expired,
        MethodNotAllowed,
        Unauthorized,
        NotAcceptable,
        UnsupportedMediaType,
    ]
    for cls in classes:
        if cls.reason == reason:
            return cls(message, details)
    if reason == "Gone":
        return Expired(message, details)
    for cls in classes:
        if cls.code == code and cls is not AlreadyExists:
            return cls(message, details)
    error = ClusterError(message, details)
    error.code = code
    if reason:
        error.reason = reason
    return error
