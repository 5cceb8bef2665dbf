"""RFC 9457 problem details for every error the API returns, and the handlers that make them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from pulse_gateway.adapters.ports import ArchiveUnavailableError, BusUnavailableError
from pulse_gateway.api.models import FieldProblem, Problem
from pulse_gateway.api.security import SECURITY_HEADERS
from pulse_gateway.control import RunNotFoundError, RunStatusConflictError
from pulse_gateway.intake import RunIdTakenError
from pulse_gateway.protection import OverloadedError, RateLimitedError
from pulse_telemetry import current_trace_id

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_RESPONSES",
    "ProblemResponse",
    "install_problem_handlers",
    "problem_doc",
    "problem_response",
]

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:pulse:problem:"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_CONTENT_TYPE


def problem_doc(description: str) -> dict[str, object]:
    """OpenAPI `responses` entry for a problem+json answer."""
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: Final[dict[int | str, dict[str, object]]] = {
    400: problem_doc("The request could not be read (a body that is not UTF-8, say)"),
    401: problem_doc("Missing or unknown API key"),
    413: problem_doc("Request body too large"),
    422: problem_doc("The request did not validate"),
    429: problem_doc("This API key's rate limit is used up; retry after `Retry-After` seconds"),
    503: problem_doc(
        "NATS or PostgreSQL is unreachable, or too many runs wait; retry after `Retry-After`"
    ),
    504: problem_doc("The request took longer than the gateway's request timeout"),
}


def problem_response(
    request: Request,
    status: int,
    *,
    kind: str | None = None,
    detail: str | None = None,
    errors: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
    with_trace: bool = False,
) -> ProblemResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    problem = Problem(
        type=f"{_TYPE_PREFIX}{kind}" if kind else "about:blank",
        title=phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors) if errors is not None else None,
        trace_id=current_trace_id() if with_trace else None,
    )
    # Responses made by the outermost error middleware skip our header middleware.
    all_headers = {**SECURITY_HEADERS, **(headers or {})}
    return ProblemResponse(
        problem.model_dump(mode="json", exclude_none=True), status_code=status, headers=all_headers
    )


_KINDS: Final = {
    400: "bad-request",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    413: "content-too-large",
    422: "validation-error",
}


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette names only the first route
    that matched, and `GET /v1/runs` and `POST /v1/runs` are two routes."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _on_http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(
        request,
        exc.status_code,
        kind=_KINDS.get(exc.status_code),
        detail=detail,
        headers=headers,
    )


async def _on_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    # Only location, message and type: echoing `input` could return a megabyte prompt or
    # whatever secret a client put in the wrong field.
    errors = [
        FieldProblem(
            loc=[part for part in err.get("loc", ()) if isinstance(part, str | int)],
            msg=str(err.get("msg", "")),
            type=str(err.get("type", "")),
        )
        for err in exc.errors()
    ]
    return problem_response(
        request,
        422,
        kind="validation-error",
        detail="The request did not validate; see `errors`.",
        errors=errors,
    )


def _on_bus_unavailable(
    retry_after_s: int,
) -> Callable[[Request, Exception], Awaitable[ProblemResponse]]:
    async def handler(request: Request, exc: Exception) -> ProblemResponse:
        log.warning("answering 503: %s", exc)
        return problem_response(
            request,
            503,
            kind="unavailable",
            detail="The message bus is unreachable right now; please retry.",
            headers={"Retry-After": str(retry_after_s)},
            with_trace=True,
        )

    return handler


def _on_archive_unavailable(
    retry_after_s: int,
) -> Callable[[Request, Exception], Awaitable[ProblemResponse]]:
    async def handler(request: Request, exc: Exception) -> ProblemResponse:
        log.warning("answering 503: %s", exc)
        return problem_response(
            request,
            503,
            kind="unavailable",
            detail="Run history is unreachable right now; please retry.",
            headers={"Retry-After": str(retry_after_s)},
            with_trace=True,
        )

    return handler


async def _on_rate_limited(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RateLimitedError)
    return problem_response(
        request,
        429,
        kind="rate-limited",
        detail="This API key sent too many requests; slow down.",
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _on_overloaded(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, OverloadedError)
    log.warning("refusing a run: %s", exc)
    return problem_response(
        request,
        503,
        kind="overloaded",
        detail="Too many runs are waiting to be planned; please retry later.",
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _on_run_id_taken(request: Request, exc: Exception) -> ProblemResponse:
    return problem_response(
        request,
        409,
        kind="conflict",
        detail="This idempotency key cannot be used; choose another.",
    )


async def _on_run_not_found(request: Request, exc: Exception) -> ProblemResponse:
    # Another tenant's run is reported exactly like a missing one.
    return problem_response(request, 404, kind="not-found", detail="No such run.")


async def _on_run_status_conflict(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RunStatusConflictError)
    return problem_response(request, 409, kind="conflict", detail=exc.message)


async def _on_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        500,
        kind="internal",
        detail="Something went wrong on our side; quote the trace id when reporting it.",
        with_trace=True,
    )


def install_problem_handlers(app: FastAPI, *, retry_after_s: int) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(BusUnavailableError, _on_bus_unavailable(retry_after_s))
    app.add_exception_handler(ArchiveUnavailableError, _on_archive_unavailable(retry_after_s))
    app.add_exception_handler(RateLimitedError, _on_rate_limited)
    app.add_exception_handler(OverloadedError, _on_overloaded)
    app.add_exception_handler(RunIdTakenError, _on_run_id_taken)
    app.add_exception_handler(RunNotFoundError, _on_run_not_found)
    app.add_exception_handler(RunStatusConflictError, _on_run_status_conflict)
    app.add_exception_handler(Exception, _on_unexpected)
