"""Unknown query parameters are refused, as unknown body fields are: a misspelt filter
(`?stauts=failed`) must not silently list everything. A dependency of the API's routers
(not of the probes, which Kubernetes and load balancers call as they please)."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

__all__ = ["refuse_unknown_query"]

_known: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared(route: APIRoute) -> frozenset[str]:
    # Routes never change after start-up: work their parameters out once.
    names = _known.get(id(route))
    if names is None:
        names = frozenset(_query_names(route.dependant))
        _known[id(route)] = names
    return names


async def refuse_unknown_query(request: HTTPConnection) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
