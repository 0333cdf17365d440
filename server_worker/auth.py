"""Bearer-token checks, declared once as FastAPI dependencies.

    @router.put("/x")
    def write(_: UserAuth) -> ...       # people and scripts (the token `nwbscope serve` prints)
    @router.post("/claim")
    def claim(_: WorkerAuth) -> ...     # workers only

Reads of files and store objects need no token (they are public by hash or by registration);
every write does. User and worker tokens differ on purpose (see ``Settings``).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _check(given: str, expected: str, who: str) -> None:
    if not expected or not given or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status_code=401,
            detail=f"A valid {who} token is needed (header 'Authorization: Bearer <token>').",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_user(request: Request, settings: SettingsDep) -> None:
    _check(_bearer(request), settings.user_token, "user")


def require_worker(request: Request, settings: SettingsDep) -> None:
    _check(_bearer(request), settings.worker_token, "worker")


UserAuth = Annotated[None, Depends(require_user)]
WorkerAuth = Annotated[None, Depends(require_worker)]
