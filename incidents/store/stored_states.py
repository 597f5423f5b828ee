"""How the SQL stores keep a stream's state in its row: compressed, as a zstd frame.

Everything above the stores sees a state as its JSON document (``StreamSnapshot.state``,
``StreamRow.state``); only the SQL adapters call :func:`pack` where they write a stream row
and :func:`unpack` where they read one. The states are most of the streams table and of
each append's WAL (every append rewrites its stream's row whole), and their JSON compresses
to about half.

The stored bytes say what they are, so rows written before states were compressed read as
they are and no migration is needed: a zstd frame begins with zstd's magic number
(28 B5 2F FD), a JSON document with ``{``. A state whose frame would not be smaller stays
JSON.
"""

from __future__ import annotations

import threading

import zstandard

# zstd's fastest levels compress JSON states about as well as its default (3) does, in
# less time, and the writer compresses every state it writes while it holds the lock.
LEVEL = 1
MAGIC = b"\x28\xb5\x2f\xfd"


class _Contexts(threading.local):
    """A compressor and a decompressor for each thread: a zstandard context must not be
    used by two threads at once, and making one per state costs more than the state."""

    def __init__(self) -> None:
        # Content size in the frame (one-shot decompression needs it); no checksum: the
        # database's own pages are what a damaged file is found by.
        self.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
        self.decompressor = zstandard.ZstdDecompressor()


_contexts = _Contexts()


def pack(state: bytes) -> bytes:
    """A state as its row stores it: a zstd frame, or the JSON itself when that is not
    larger."""
    frame = _contexts.compressor.compress(state)
    return frame if len(frame) < len(state) else state


def unpack(stored: bytes) -> bytes:
    """The JSON document of a stored state (a zstd frame, or JSON as it is)."""
    if stored[:4] == MAGIC:
        return _contexts.decompressor.decompress(stored)
    return stored
