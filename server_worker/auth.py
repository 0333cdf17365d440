"""Bearer-token checks, declared once as FastAPI dependencies.

    @router.put("/x")
    def write(_: UserAuth) -> ...       # people and scripts (the token `nwbscope serve` prints)
    @router.post("/register")
    def register(_: WorkerAuth) -> ...  # workers only (the shared worker token)
    @router.post("/{worker_id}/claim")
    def claim(_: WorkerCredential) -> ...  # that one worker only (its own credential)

Reads of files and store objects need no token (they are public by hash or by registration);
every write does, and so do reads of jobs, logs, workers and the file list (``ReadAuth``: the
user token or ``Settings.read_token``). User and worker tokens differ on purpose (see
``Settings``). The shared worker token only registers a worker; registration answers a
credential for that worker alone (``issue_worker_credential``), signed with the server's
secret, so it is checked without the database and cannot be made by another worker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


WORKER_CREDENTIAL_PREFIX = "w1."


# The checks are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, a hand-off per dependency per request that cost more than the check itself.


def bearer_token(request: Request) -> str:
    """The bearer token of ``request`` (scheme case-insensitive, RFC 7235), or ``""``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _check(given: str, expected: str, who: str) -> None:
    if not expected or not given or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status_code=401,
            detail=f"A valid {who} token is needed (header 'Authorization: Bearer <token>').",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_user(request: Request, settings: SettingsDep) -> None:
    _check(bearer_token(request), settings.user_token, "user")


async def require_worker(request: Request, settings: SettingsDep) -> None:
    _check(bearer_token(request), settings.worker_token, "worker")


async def require_reader(request: Request, settings: SettingsDep) -> None:
    given = bearer_token(request)
    if settings.read_token and given and secrets.compare_digest(given, settings.read_token):
        return
    _check(given, settings.user_token, "user (or read)")


def _signature(settings: Settings, worker_id: str) -> str:
    key = settings.server_secret.encode()
    return hmac.new(key, worker_id.encode(), hashlib.sha256).hexdigest()


def issue_worker_credential(settings: Settings, worker_id: str) -> str:
    """The bearer credential of one registered worker: ``w1.<worker id>.<signature>``."""
    if not settings.server_secret:
        raise RuntimeError("Settings.server_secret is empty (call Settings.with_tokens())")
    return f"{WORKER_CREDENTIAL_PREFIX}{worker_id}.{_signature(settings, worker_id)}"


def credential_worker(settings: Settings, token: str) -> str | None:
    """The worker id a credential was issued to, or None when it is not one of ours."""
    if not settings.server_secret or not token.startswith(WORKER_CREDENTIAL_PREFIX):
        return None
    worker_id, _, signature = token.removeprefix(WORKER_CREDENTIAL_PREFIX).partition(".")
    if not worker_id or len(worker_id) > 40:
        return None
    return worker_id if hmac.compare_digest(signature, _signature(settings, worker_id)) else None


async def require_worker_credential(worker_id: str, request: Request, settings: SettingsDep
                                    ) -> None:
    """The per-worker routes (``/api/workers/{worker_id}/...``): only the credential issued
    to ``worker_id`` at registration, so no worker can claim, heartbeat, log, upload, complete
    or fail for another (the shared worker token is refused here: it only registers)."""
    given = bearer_token(request)
    owner = credential_worker(settings, given) if given else None
    if owner is not None and secrets.compare_digest(owner, worker_id):
        return
    if owner is not None or (given and settings.worker_token
                             and secrets.compare_digest(given, settings.worker_token)):
        shown = "the shared worker token" if owner is None else f"worker {owner}'s credential"
        raise HTTPException(
            status_code=403,
            detail=f"This call is for worker {worker_id[:40]} only, and came with {shown}. "
                   "Send the credential POST /api/workers/register answered this worker.",
        )
    raise HTTPException(
        status_code=401,
        detail="A valid worker credential is needed (header 'Authorization: Bearer "
               "<credential>', as answered by POST /api/workers/register). Re-register if "
               "the server's secret changed.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def known_token(settings: Settings, token: str) -> bool:
    """Whether ``token`` may write anything here at all (the check made before any body is
    read; each route then checks for the exact token it needs)."""
    for expected in (settings.user_token, settings.worker_token):
        if expected and token and secrets.compare_digest(token, expected):
            return True
    return credential_worker(settings, token) is not None




UserAuth = Annotated[None, Depends(require_user)]
ReadAuth = Annotated[None, Depends(require_reader)]
WorkerAuth = Annotated[None, Depends(require_worker)]
WorkerCredential = Annotated[None, Depends(require_worker_credential)]
