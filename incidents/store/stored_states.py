"""How the SQL stores keep a stream's state and an event's data in their rows: compressed,
as zstd frames.

Everything above the stores sees a state as its JSON document (``StreamSnapshot.state``,
``StreamRow.state``) and an event's data as its JSON (``RecordedEvent.data``); only the SQL
adapters call :func:`pack` where they write a stream row or an event and :func:`unpack`
where they read one. The states are most of the streams table and of each append's WAL
(every append rewrites its stream's row whole); the events' data is most of the events
table.

The stored bytes say what they are, so rows written before states were compressed read as
they are and no migration is needed: a zstd frame begins with zstd's magic number
(28 B5 2F FD), a JSON document with ``{``. A state whose frame would not be smaller stays
JSON. An event's data is packed only once the log has a dictionary (alone, its few hundred
bytes of JSON shrink by a third), so the data of the events written before reads as the
JSON it is.

One state alone compresses to about half; states share most of their words (field names,
missions, places, phrases), so a zstd dictionary trained from a log's own states packs them
to a fraction of that. The writer trains one (:func:`train`) from the first
:data:`TRAINING_STATES` states it writes to a log that has none, and stores it in the log's
``state_dictionaries`` table in the transaction of the first frames made with it. A frame
names its dictionary by the id in its header (zstd's own; the trainer derives it from the
dictionary's content), so frames made without one, or with an older one, read as they
are. The dictionary trained from states packs event data about as well as one trained from
data (4.5:1 on a generated log), so there is one. A dictionary is never deleted.
Dictionaries are kept here by id for the whole process (:func:`learn`); :func:`unpack`
raises :class:`UnknownDictionaryError` for a frame whose dictionary this process has not
read yet (another process trained it), and the store reads the table and tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import zstandard

# zstd's fastest levels compress JSON states about as well as its default (3) does, in
# less time, and the writer compresses every state it writes while it holds the lock.
LEVEL = 1
MAGIC = b"\x28\xb5\x2f\xfd"
# How many states the writer trains a dictionary from, and its size: 2,000 states of a
# generated log train in about 0.1 s; 32 KiB packs as well as 64 or 110 there.
TRAINING_STATES = 2000
DICTIONARY_BYTES = 32 * 1024

# Every dictionary this process has read or trained, by id. The id is a hash of the
# dictionary's content, so logs opened in one process do not mistake each other's.
_dictionaries: dict[int, zstandard.ZstdCompressionDict] = {}
_dictionaries_lock = threading.Lock()


class UnknownDictionaryError(LookupError):
    """A frame made with a dictionary this process has not read: read the log's
    ``state_dictionaries`` (:func:`learn`) and unpack again."""

    def __init__(self, dictionary_id: int) -> None:
        super().__init__(f"state dictionary {dictionary_id} is not loaded")
        self.dictionary_id = dictionary_id


class _Contexts(threading.local):
    """Compressors and decompressors for each thread (one per dictionary): a zstandard
    context must not be used by two threads at once, and making one per state costs more
    than the state."""

    def __init__(self) -> None:
        # Content size in the frame (one-shot decompression needs it); no checksum: the
        # database's own pages are what a damaged file is found by.
        self.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
        self.decompressor = zstandard.ZstdDecompressor()
        self.compressors: dict[int, zstandard.ZstdCompressor] = {}
        self.decompressors: dict[int, zstandard.ZstdDecompressor] = {}


_contexts = _Contexts()


def _dictionary(dictionary_id: int) -> zstandard.ZstdCompressionDict:
    found = _dictionaries.get(dictionary_id)
    if found is None:
        raise UnknownDictionaryError(dictionary_id)
    return found


def learn(rows: Iterable[Sequence[Any]]) -> None:
    """Keep the dictionaries of these ``state_dictionaries`` rows (id, bytes)."""
    for row in rows:
        dictionary_id = int(row[0])
        if dictionary_id in _dictionaries:
            continue
        dictionary = zstandard.ZstdCompressionDict(bytes(row[1]))
        dictionary.precompute_compress(level=LEVEL)
        with _dictionaries_lock:
            _dictionaries.setdefault(dictionary_id, dictionary)


def train(samples: Sequence[bytes]) -> tuple[int, bytes] | None:
    """A dictionary trained from these JSON states, learnt: its id and bytes (the row of
    ``state_dictionaries``); None when zstd finds too little in them to train from."""
    try:
        dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, list(samples), level=LEVEL)
    except zstandard.ZstdError:
        return None
    dictionary_id = dictionary.dict_id()
    data = dictionary.as_bytes()
    learn([(dictionary_id, data)])
    return dictionary_id, data


def pack(state: bytes, dictionary_id: int | None = None) -> bytes:
    """A state as its row stores it: a zstd frame (made with that dictionary, if one is
    given), or the JSON itself when that is not larger."""
    if dictionary_id is None:
        compressor = _contexts.compressor
    else:
        compressor = _contexts.compressors.get(dictionary_id)  # type: ignore[assignment]
        if compressor is None:
            compressor = _contexts.compressors[dictionary_id] = zstandard.ZstdCompressor(
                level=LEVEL, dict_data=_dictionary(dictionary_id), write_checksum=False
            )
    frame = compressor.compress(state)
    return frame if len(frame) < len(state) else state


def unpack(stored: bytes) -> bytes:
    """The JSON document of a stored state (a zstd frame, or JSON as it is);
    UnknownDictionaryError if its frame names a dictionary not learnt yet."""
    if stored[:4] != MAGIC:
        return stored
    dictionary_id = zstandard.get_frame_parameters(stored).dict_id
    if not dictionary_id:
        return _contexts.decompressor.decompress(stored)
    decompressor = _contexts.decompressors.get(dictionary_id)
    if decompressor is None:
        decompressor = _contexts.decompressors[dictionary_id] = zstandard.ZstdDecompressor(
            dict_data=_dictionary(dictionary_id)
        )
    return decompressor.decompress(stored)
