"""``python -m server_worker`` is ``nwbscope`` (used to start detached servers portably)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
