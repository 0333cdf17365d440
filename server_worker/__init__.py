"""nwbscope's service side: the static viewer site, the content-addressed store, the job broker
and the worker, on one port (``nwbscope serve``).

Layers (each knows only those above it): ``settings`` -> ``store`` (content-addressed bytes),
``ranges``/``static``/``files`` (serving bytes over HTTP) -> ``app`` (the factory that wires
routers from settings) -> ``cli`` (thin commands over all of it).
"""

__version__ = "0.1.0"


def optional_module(name: str):
    """Import ``name`` if it exists, else None; a missing dependency *inside* it still raises
    (so a broken broker is an error, not a silently absent feature)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
