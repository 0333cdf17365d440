"""The app factory: one ``Settings`` in, one FastAPI app out, nothing global.

Routers per resource: health, store (``store.routes``), local files (``files``), then
whatever the broker contributes, then the static site at ``/`` (last: a mount at ``/``
shadows routes added after it). Middlewares: CORS, then ``limits.RequestLimits`` (the token
before any body is read, body sizes); a real server adds the ``Host`` check (``serving``).

Plugging in the broker: when the package ``server_worker.broker`` exists it must offer
``routers() -> list[APIRouter]`` and may offer ``install(app)`` (error handlers, listeners
on ``app.state.upload_listeners``) and ``lifespan(app)``, an async context manager
entered at startup (open the database from ``app.state.settings.database_url``, start the
embedded worker when ``settings.embedded_worker``) and left at shutdown. The store is on
``app.state.store`` and the settings on ``app.state.settings`` (or the ``SettingsDep``,
``UserAuth``, ``WorkerAuth`` dependencies in ``auth``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI

from . import __version__, optional_module
from .cors import CorsMiddleware
from .files import FileRegistry
from .files import router as files_router
from .limits import RequestLimits
from .settings import Settings
from .static import mount_site, register_mime_types
from .store import Store, open_store
from .store.routes import router as store_router

BROKER_MODULE = "server_worker.broker"

health_router = APIRouter(tags=["health"])


@health_router.get("/api/health")
def health() -> dict[str, object]:
    """Says that this is an nwbscope server (``nwbscope open`` checks before reusing a port)."""
    return {"app": "nwbscope", "version": __version__}


def create_app(
    settings: Settings, *, store: Store | None = None, broker: bool = True
) -> FastAPI:
    """Build the whole server from ``settings``.

    ``store`` overrides the configured one; ``broker=False`` leaves the job broker out (tests
    of the store and the site, and deployments that only serve files).
    """
    register_mime_types()
    hooks: list[Callable[[FastAPI], AbstractAsyncContextManager[object]]] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store.clean_scratch()  # what uploads cut off by a crash (kill -9) left
        async with AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            yield

    app = FastAPI(title="nwbscope", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store or open_store(settings.store_url, tmp_dir=settings.tmp_dir)
    app.state.files = FileRegistry(settings.data_dir / "files.json")
    #: Called as ``listener(PutResult, label)`` in a thread after each user upload.
    app.state.upload_listeners = []

    app.include_router(health_router)
    app.include_router(store_router)
    app.include_router(files_router)
    module = optional_module(BROKER_MODULE) if broker else None
    if module is not None:
        for router in module.routers():
            app.include_router(router)
        if hasattr(module, "install"):
            module.install(app)
        if hasattr(module, "lifespan"):
            hooks.append(module.lifespan)

    # inside CORS, so its early 401/413 answers still carry CORS headers a page can read
    app.add_middleware(RequestLimits, settings=settings)
    app.add_middleware(
        CorsMiddleware,
        read_origins=settings.cors_read_origins,
        write_origins=settings.cors_origins,
    )
    mount_site(app, settings)
    return app
