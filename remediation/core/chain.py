"""The tamper-evident change ledger's format: a hash chain of change records, one JSON line each.

Pure; no I/O. Each line is the canonical JSON (sorted keys, no spaces, ASCII) of
``{"seq": n, "prev": "<SHA-256 of the line before>", "record": {...}}``, ending in a newline.
``seq`` counts from 1 across the whole ledger; the first line's ``prev`` is :data:`GENESIS`. The
hash of a line is the SHA-256 of its bytes without the newline. The ledger is a sequence of
parts (append blobs, oldest first); the chain runs on across them.

:func:`verify_chain` reads every line and reports the first broken link: a line that is not a
ledger line, a ``seq`` that does not follow (a record removed, or lines reordered), or a
``prev`` that is not the hash of the line before (that line was changed, or removed). A change
to the very last line breaks no link: the immutability policy protects it, and the newest
hash (``last_hash``) can be kept elsewhere to check against later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def chain_line(record: Mapping[str, Any], *, seq: int, prev: str) -> bytes:
    """One ledger line (with its newline)."""
    body = {"seq": seq, "prev": prev, "record": dict(record)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def line_hash(line: bytes) -> str:
    """The SHA-256 (hex) of a ledger line, without its newline: the next line's ``prev``."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@dataclass(frozen=True)
class ChainTip:
    """Where the chain ends: the newest line's ``seq`` and hash, and its record (GENESIS and 0 when empty)."""

    seq: int = 0
    hash: str = GENESIS
    record: Mapping[str, Any] | None = None


def parse_line(line: bytes) -> tuple[int, str, dict[str, Any]]:
    """``(seq, prev, record)`` of a ledger line; ValueError when it is not one."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict) or set(data) != {"seq", "prev", "record"}:
        raise ValueError("not a ledger line (expected exactly seq, prev and record)")
    seq, prev, record = data["seq"], data["prev"], data["record"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("seq is not a whole number from 1")
    if not isinstance(prev, str) or len(prev) != 64:
        raise ValueError("prev is not a SHA-256")
    if not isinstance(record, dict):
        raise ValueError("record is not an object")
    return seq, prev, record


def tip_of(data: bytes) -> ChainTip | None:
    """The last complete line of a part (None when it holds none)."""
    lines = data.split(b"\n")[:-1]  # a part always ends with a newline; a trailing fragment is not a line
    if not lines:
        return None
    seq, _, record = parse_line(lines[-1])
    return ChainTip(seq, line_hash(lines[-1]), record)


@dataclass(frozen=True)
class BrokenLink:
    part: str  # the append blob
    line: int  # 1-based, within the part
    seq: int | None  # what the line says (None when it is not a ledger line)
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "line": self.line, "seq": self.seq, "reason": self.reason}


@dataclass(frozen=True)
class Verification:
    """The result of checking the whole chain."""

    records: int
    parts: int
    last_seq: int
    last_hash: str
    first_broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.first_broken is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "records": self.records,
            "parts": self.parts,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_broken": self.first_broken.to_dict() if self.first_broken else None,
        }


def verify_chain(parts: Iterable[tuple[str, bytes]]) -> Verification:
    """Check every link of the chain over ``parts`` (name and content, oldest first)."""
    prev, expected, records, count = GENESIS, 1, 0, 0
    for name, data in parts:
        count += 1
        lines = data.split(b"\n")
        if lines[-1]:
            return _broken(records, count, expected - 1, prev, name, len(lines), None, "the part does not end a line")
        for number, line in enumerate(lines[:-1], start=1):
            try:
                seq, claimed, _ = parse_line(line)
            except ValueError as exc:
                return _broken(records, count, expected - 1, prev, name, number, None, str(exc))
            if seq != expected:
                reason = f"seq {seq} where {expected} was expected: " + (
                    "records are missing before it" if seq > expected else "a record is repeated or out of order"
                )
                return _broken(records, count, expected - 1, prev, name, number, seq, reason)
            if claimed != prev:
                reason = "prev is not the hash of the record before it: that record was changed or removed"
                return _broken(records, count, expected - 1, prev, name, number, seq, reason)
            prev, expected, records = line_hash(line), expected + 1, records + 1
    return Verification(records, count, expected - 1, prev, None)


def _broken(
    records: int, parts: int, last_seq: int, last_hash: str, part: str, line: int, seq: int | None, reason: str
) -> Verification:
    return Verification(records, parts, last_seq, last_hash, BrokenLink(part, line, seq, reason))
