"""Following a job's growing console log, piece by piece, for the broker.

One reader for both places a log is forwarded from: the daemon (``log.txt`` in a job folder
on a shared file system) and a Slurm job that reports itself (``remote_job``, its own folder
on the compute node). Each piece is small enough that its JSON fits the broker's body limit,
and bytes are decoded incrementally, so a UTF-8 character cut between two pieces is whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Bytes read per piece: its JSON (an escape takes up to 6 bytes) fits ``max_json_bytes``.
PIECE_BYTES = 128 << 10


def _decoder() -> Any:
    return codecs.getincrementaldecoder("utf-8")("replace")


@dataclass
class LogTail:
    """The part of ``path`` not read yet, from ``offset`` (bytes already forwarded)."""

    path: Path
    offset: int = 0
    decoder: Any = field(default_factory=_decoder)
    #: A piece read but not sent yet (its send raised): sent first next time.
    pending: str | None = None

    def read(self) -> str | None:
        """The next piece as text (possibly "" while a character is incomplete), or None
        when there are no new bytes (or no file yet)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(PIECE_BYTES)
        except FileNotFoundError:
            return None
        if not data:
            return None
        self.offset += len(data)
        return self.decoder.decode(data)

    def forward(self, send: Callable[[str], object]) -> bool:
        """Send the next piece with ``send`` (nothing for ""); True if there was one. A piece
        whose send raised is kept and sent first on the next call, so a broker that was away
        for a moment loses none of the log."""
        text = self.pending if self.pending is not None else self.read()
        if text is None:
            return False
        self.pending = text
        if text:
            send(text)
        self.pending = None
        return True
