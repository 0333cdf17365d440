"""How broker errors become HTTP answers: one place, so every route says the same thing."""

from __future__ import annotations

from fastapi import HTTPException

from nwbscope.errors import ParameterError


def unprocessable(error: ParameterError) -> HTTPException:
    """422 whose detail names the field, e.g. ``parameters.detection.detect_threshold``."""
    return HTTPException(422, detail={"field": error.field, "message": str(error)})


def not_found(what: str) -> HTTPException:
    return HTTPException(404, detail=f"There is no {what}.")
