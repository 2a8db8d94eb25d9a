"""What one request may cost: its body size (413) and a slot for heavy work (503 with Retry-After).

The plan-size caps (features and vertices, 422) are checked where a plan is
read (:func:`gridservice.api.routes.plans.plan_of`); all the limits are
settings (``GRIDSERVICE_MAX_BODY_MB``, ``…_MAX_PLAN_FEATURES``,
``…_MAX_PLAN_VERTICES``, ``…_HEAVY_REQUESTS``).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

from fastapi import Depends, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridservice.api.errors import problem

#: The process's C library (glibc's ``malloc_trim`` gives freed heap back to the system).
_LIBC = ctypes.CDLL(None)

#: Seconds a client is told to wait when every slot for heavy work is taken.
RETRY_AFTER_S = 10


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes (setting max_body_mb)"


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is refused with 413, by its Content-Length before a byte
    is read, or as soon as the bytes streamed in pass the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(Request(scope), 413, _too_large(self.max_bytes), "HTTPError")
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # a chunked body: the handlers answer the problem
                raise HTTPException(413, _too_large(self.max_bytes))
            return message

        await self.app(scope, counted, send)


def heavy_slot(request: Request) -> Iterator[None]:
    """Hold one of the ``heavy_requests`` slots for the request, or answer 503 with Retry-After at once.

    Plan checks, previews, proposals and commits take seconds and memory in
    proportion to the plan; bounding how many run at once bounds both, and
    the memory is returned when each ends.
    """
    slots = request.app.state.heavy
    if not slots.acquire(blocking=False):
        raise HTTPException(503, f"the server is busy with other plans; retry in {RETRY_AFTER_S} s",
                            headers={"Retry-After": str(RETRY_AFTER_S)})
    try:
        yield
    finally:
        slots.release()
        return_memory()


def return_memory() -> None:
    """Give the heap a finished plan freed back to the system.

    glibc keeps it for reuse otherwise: measured, a 240,000-vertex plan check
    left the server 260 MB larger; trimmed, it came back to where it started.
    """
    trim = getattr(_LIBC, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)


#: ``dependencies=HEAVY`` on a route: it runs only in a free slot.
HEAVY = [Depends(heavy_slot)]
