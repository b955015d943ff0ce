"""Errors services raise; entry points turn them into 400/403/404/409 answers or CLI messages.

Messages are written for the person at the screen and never contain contact data.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(ServiceError):
    status = 422


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409
