"""The error hierarchy of gridservice.

Domain code raises these; it never knows about HTTP. The API maps them to
status codes in one table (``gridservice.api.errors``) and the CLI prints
their message as one line.
"""

from __future__ import annotations


class GridserviceError(Exception):
    """Base of every error gridservice raises on purpose."""


class DataError(GridserviceError, ValueError):
    """Input data breaks the contract: bad rows, geometry, CRS or encoding.

    The message names the file, row or feature and the problem.
    """


class CoordinateSystemError(DataError):
    """An unknown coordinate system, or coordinates that cannot be in it."""


class StoreError(GridserviceError):
    """The store cannot be opened, read or written."""


class StoreUnavailable(StoreError):  # noqa: N818 — the name the PostGIS store raises too
    """The store cannot be reached now (its file moved away, locked or unreadable; its database down).

    A retry may succeed: the API answers 503 with ``Retry-After``.
    """


class NotFoundError(GridserviceError, LookupError):
    """An id that the service area does not hold."""


class ConflictError(GridserviceError):
    """A write based on a stale version (optimistic locking)."""


class InvalidPlanError(GridserviceError):
    """A grid plan that fails validation; ``problems`` holds the findings."""

    def __init__(self, msg: str, problems: object = None) -> None:
        super().__init__(msg)
        self.problems = problems


class TransitionError(GridserviceError, ValueError):
    """A work-order status change or timestamp that is not allowed."""


class PermissionDeniedError(GridserviceError):
    """The user's role may not do this."""


class AuthenticationError(GridserviceError):
    """No valid credentials."""


class RateLimitError(GridserviceError):
    """Too many attempts (logins, searches) in too short a time; ``retry_after`` says how many seconds to wait."""

    def __init__(self, msg: str, *, retry_after: float) -> None:
        super().__init__(msg)
        self.retry_after = retry_after


class AssetError(GridserviceError):
    """A front-end asset a map needs (Leaflet, a plugin) is not installed locally."""


class TopologyError(DataError):
    """The network cannot be traced as asked: a loop of closed links (a meshed network)."""
