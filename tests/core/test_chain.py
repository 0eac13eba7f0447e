"""The ledger's hash chain (pure): every kind of broken link is found, and where."""

from __future__ import annotations

import json

import pytest

from remediation.core.chain import GENESIS, chain_line, line_hash, parse_line, tip_of, verify_chain


def chain(count: int) -> list[bytes]:
    lines, prev = [], GENESIS
    for seq in range(1, count + 1):
        line = chain_line({"event": "x", "n": seq}, seq=seq, prev=prev)
        lines.append(line)
        prev = line_hash(line)
    return lines


def test_an_intact_chain_across_parts() -> None:
    lines = chain(5)
    result = verify_chain([("a", b"".join(lines[:2])), ("b", b""), ("c", b"".join(lines[2:]))])
    assert result.intact and (result.records, result.parts, result.last_seq) == (5, 3, 5)
    assert result.last_hash == line_hash(lines[-1])
    assert result.to_dict()["first_broken"] is None
    assert verify_chain([]).to_dict() == {
        "intact": True, "records": 0, "parts": 0, "last_seq": 0, "last_hash": GENESIS, "first_broken": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "line", "reason"),
    [
        (lambda ls: [*ls[:2], b"not json\n", *ls[3:]], 3, "not JSON"),
        (lambda ls: [*ls[:2], b'{"seq": 3}\n', *ls[3:]], 3, "not a ledger line"),
        (lambda ls: [*ls[:2], json.dumps({"seq": 0, "prev": GENESIS, "record": {}}).encode() + b"\n"], 3, "seq is not"),
        (lambda ls: [*ls[:2], json.dumps({"seq": 3, "prev": "x", "record": {}}).encode() + b"\n"], 3, "prev is not a"),
        (lambda ls: [*ls[:2], json.dumps({"seq": 3, "prev": GENESIS, "record": []}).encode() + b"\n"], 3, "record is"),
        (lambda ls: ls[:1] + ls[2:], 2, "records are missing"),
        (lambda ls: ls[:2] + ls[1:], 3, "repeated or out of order"),
        (lambda ls: [*ls[:-1], ls[-1].rstrip(b"\n")], 5, "does not end a line"),
    ],
)
def test_each_broken_link_is_named(mutate, line, reason) -> None:  # type: ignore[no-untyped-def]
    result = verify_chain([("part", b"".join(mutate(chain(5))))])
    assert not result.intact
    assert result.first_broken is not None
    assert result.first_broken.line == line
    assert reason in result.first_broken.reason


def test_the_tip_of_a_part() -> None:
    lines = chain(3)
    tip = tip_of(b"".join(lines))
    assert tip is not None and (tip.seq, tip.hash) == (3, line_hash(lines[2]))
    assert tip_of(b"") is None
    with pytest.raises(ValueError):
        parse_line(b"[1]")
