"""The broker's errors and how they become HTTP answers: registered once, on the app.

Services raise these (or nwbscope's own ``ParameterError`` / ``NotFoundError``); no route maps
an error by hand. Every answer has a ``detail`` people can read, and a ``code`` programs test
instead of matching words: a worker that the broker no longer knows gets ``worker_unknown``
and registers again.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from nwbscope.errors import NotFoundError, NwbscopeError, ParameterError

from ..jobs.spec import WORKER_UNKNOWN


class BrokerError(NwbscopeError):
    """Base of the broker's own errors; ``status`` is the HTTP status it answers with."""

    status = 400
    code = "bad_request"


class ConflictError(BrokerError):
    """The job is not in a state that allows this (cancel a finished job, report on a job
    leased to another worker)."""

    status = 409
    code = "conflict"


class MissingError(BrokerError, LookupError):
    """No job (or other broker record) with that id."""

    status = 404
    code = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"There is no {what}.")


class UnknownWorkerError(MissingError):
    """The broker has no such worker (its database was reset, or it was pruned)."""

    code = WORKER_UNKNOWN

    def __init__(self, worker_id: str) -> None:
        BrokerError.__init__(self, f"Unknown worker {worker_id!r}: register again.")


async def _parameter(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ParameterError)
    return JSONResponse({"detail": {"field": error.field, "message": str(error)},
                         "code": "invalid"}, status_code=422)


async def _broker(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, BrokerError)
    return JSONResponse({"detail": str(error), "code": error.code}, status_code=error.status)


async def _not_found(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error), "code": "not_found"}, status_code=404)


def register_handlers(app: FastAPI) -> None:
    """Map the error tree to answers, once for every route of ``app``."""
    app.add_exception_handler(ParameterError, _parameter)
    app.add_exception_handler(BrokerError, _broker)
    app.add_exception_handler(NotFoundError, _not_found)
