"""Integer path parameters (database ids, numbers, years) stay within what the database can hold.

A number past 2**63-1 in a URL reached SQLite as an OverflowError (a 500); on PostgreSQL it would be a
DataError. Every such value names nothing, so the answer is 404, as for an id that does not exist; so is a
value that is not a number at all (FastAPI would say 422). One app-wide dependency applies the bound to every
route's `int` path parameters, new routes included, without each route having to remember it.
"""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

MIN_ID = 1
MAX_ID = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT


def bounded_path_ints(request: Request) -> None:
    """App dependency: 404 unless every `int` path parameter of the matched route is within [MIN_ID, MAX_ID].

    Runs before the route's own dependencies (login, CSRF); the parameter is parsed by the route's own field,
    so it accepts exactly what the endpoint would."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    for field in dependant.path_params:
        if field.field_info.annotation is not int:
            continue
        value, errors = field.validate(request.path_params.get(field.alias), loc=("path", field.alias))
        if errors or not isinstance(value, int) or not MIN_ID <= value <= MAX_ID:
            raise StarletteHTTPException(404)
