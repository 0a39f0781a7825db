"""Events encoded and decoded by ``orjson``, in the library's own format, byte for byte.

Replaces: the library's ``JSONTranscoder`` encode and decode, which run Python's ``json``
with a ``default`` hook called for every UUID, datetime and Decimal and an ``object_hook``
called for every object it reads. Encoding is most of a stored event's own cost on the write
path: a transfer writes six.

Why it is safe: the state is walked once in Python, each registered type replaced by the
library's ``{"_type_": name, "_data_": ...}`` with the library's transcodings, and the result
written by ``orjson``, which writes what ``json`` writes with the library's separators and
``ensure_ascii=False`` for these values (str and its subclasses, ints, bools, None, lists,
str-keyed dicts): the same bytes, so a store written tuned reads untuned and back (the test
of this module compares them on every kind of event the contexts store). Anything else — a
float (the two round-trip it alike but may spell it differently), an int past 64 bits, a key
that is not a str, a type with no transcoding — takes the library's path for the whole state,
and so gets the library's answer or its error. Decoding reads with ``orjson`` and replaces
each ``{"_type_", "_data_"}`` pair inside out, as the library's hook does; what ``orjson``
will not read, or reads as a float, the library reads.

What would break it: a library release that changes its format (its separators, its
``_type_``/``_data_`` pairs) or its transcodings' names; ``orjson`` changing how it writes a
str (the tests would see the bytes differ). ``orjson`` reads an int past 64 bits as a float,
so a state in which it finds a float is read again by the library.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoder

# What json and orjson write alike, and what neither needs a transcoding for.
_SCALARS = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list})


class _NotPlain(Exception):
    """The state holds something only the library's encoder may write, or its decoder read."""


class OrjsonTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._plain(obj))
        except (_NotPlain, orjson.JSONEncodeError):
            return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            return self._revive(orjson.loads(data))
        except (_NotPlain, orjson.JSONDecodeError):
            return super().decode(data)

    def _plain(self, obj: Any) -> Any:
        """``obj`` as orjson may write it: each registered type as the library's pair. A
        container of scalars alone is passed as it is, looked at by its values' types only
        (an account's applied entries are thousands of them)."""
        kind = type(obj)
        if kind is dict:
            if not set(map(type, obj)) <= {str}:
                raise _NotPlain
            if set(map(type, obj.values())) <= _SCALARS:
                return obj
            return {key: self._plain(value) for key, value in obj.items()}
        if kind is list or kind is tuple:
            if kind is list and set(map(type, obj)) <= _SCALARS:
                return obj
            return [self._plain(value) for value in obj]
        if kind in _SCALARS:
            return obj
        transcoding = self.types.get(kind)
        if transcoding is not None:
            return {"_type_": transcoding.name, "_data_": self._plain(transcoding.encode(obj))}
        if isinstance(obj, (str, int)):  # a subclass (a StrEnum): both write its value
            return obj
        raise _NotPlain

    def _revive(self, obj: Any) -> Any:
        """What the library's decoder makes of what orjson read: its hook on each object,
        inside out; containers of scalars alone are looked at by their values' types only."""
        kind = type(obj)
        if kind is dict:
            kinds = set(map(type, obj.values()))
            if float in kinds:
                raise _NotPlain
            if kinds & _CONTAINERS:
                obj = {k: self._revive(v) if type(v) in _CONTAINERS else v for k, v in obj.items()}
            return self._decode_obj(obj)
        if kind is list:
            kinds = set(map(type, obj))
            if float in kinds:
                raise _NotPlain
            if kinds & _CONTAINERS:
                return [self._revive(v) if type(v) in _CONTAINERS else v for v in obj]
            return obj
        if kind is float:  # orjson reads an int past 64 bits as a float: only json reads it
            raise _NotPlain
        return obj


class OrjsonTranscoding(Application[Any]):
    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder
