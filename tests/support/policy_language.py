"""A small evaluator of the Azure Policy rule language, for the tests only.

It evaluates a vendored definition's ``existenceCondition`` literally against one diagnostic
setting (its ARM JSON), so the tests can check the product's hand-written judgement
(remediation/core/baselines.py) against the rule text rather than against a second reading of it.
It knows what the two AKS definitions use: allOf, anyOf, field, value, count (field and value
forms, with name and where), equals, notEquals, exists, greater, greaterOrEquals, and the template
functions parameters(), current() and padLeft().

The one interpretation (docs/baselines.md): an alias without ``[*]`` over an array member, such as
``Microsoft.Insights/diagnosticSettings/logs.enabled``, is the legacy array alias: its condition
holds when it holds for every member of the array, wherever it is used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PREFIX = "Microsoft.Insights/diagnosticSettings/"
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[(),.\[\]]))")


class Context:
    def __init__(self, resource: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
        self.resource = resource
        self.parameters = parameters
        self.element: Mapping[str, Any] | None = None  # the member of a field count's array
        self.array: str | None = None  # which array it belongs to (logs, metrics)
        self.named: dict[str, Any] = {}  # value counts' current items by name


def _properties(ctx: Context) -> Mapping[str, Any]:
    return ctx.resource.get("properties", {})


def _walk(value: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _field(ctx: Context, alias: str) -> tuple[str, Any]:
    """('one', value), or ('all', [values]) for a legacy array alias or a [*] alias outside its count."""
    assert alias.startswith(PREFIX), alias
    rest = alias[len(PREFIX) :]
    match = re.fullmatch(r"(logs|metrics)(\[\*\])?(?:\.(.*))?", rest)
    if match is None:
        return "one", _properties(ctx).get(rest)
    array, star, path = match.group(1), match.group(2), match.group(3) or ""
    if star and ctx.element is not None and ctx.array == array:
        return "one", _walk(ctx.element, path)
    return "all", [_walk(member, path) for member in _properties(ctx).get(array) or []]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        assert m is not None, text[pos:]
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _expression(ctx: Context, text: str) -> Any:
    """A template expression "[...]", or the text itself."""
    if not (text.startswith("[") and text.endswith("]")):
        return text
    tokens = _tokens(text[1:-1])
    value, rest = _parse(ctx, tokens)
    assert not rest, rest
    return value


def _parse(ctx: Context, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
    kind, text = tokens[0]
    tokens = tokens[1:]
    if kind == "str":
        return text[1:-1].replace("''", "'"), tokens
    if kind == "num":
        return int(text), tokens
    assert kind == "id" and tokens[0] == ("op", "("), text
    tokens = tokens[1:]
    args = []
    while tokens[0] != ("op", ")"):
        arg, tokens = _parse(ctx, tokens)
        args.append(arg)
        if tokens[0] == ("op", ","):
            tokens = tokens[1:]
    tokens = tokens[1:]
    value = _call(ctx, text, args)
    while tokens and tokens[0] == ("op", "."):
        value = value.get(tokens[1][1]) if isinstance(value, Mapping) else None
        tokens = tokens[2:]
    return value, tokens


def _call(ctx: Context, name: str, args: list[Any]) -> Any:
    if name == "parameters":
        return ctx.parameters[args[0]]
    if name == "current":
        if args[0] in ctx.named:
            return ctx.named[args[0]]
        kind, value = _field(ctx, args[0])
        assert kind == "one", args[0]
        return value
    if name == "padLeft":
        return str(args[0]).rjust(int(args[1]), str(args[2]))
    raise AssertionError(f"function {name} not supported")


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "equals":  # a string beside a number or boolean compares as text (retentionPolicy.days equals "0")
        if left is None:
            return False
        if isinstance(left, str) != isinstance(right, str):
            return bool(_text(str(_text(left))) == _text(str(_text(right))))
        return bool(_text(left) == _text(right))
    if op == "notEquals":
        return not _compare("equals", left, right)
    if op == "exists":
        return (left is not None) == (_text(right) == "true")
    if left is None:
        return False
    if isinstance(left, str) or isinstance(right, str):
        left, right = _text(str(left)), _text(str(right))
    if op == "greater":
        return bool(left > right)
    if op == "greaterOrEquals":
        return bool(left >= right)
    raise AssertionError(f"operator {op} not supported")


_OPERATORS = ("equals", "notEquals", "exists", "greater", "greaterOrEquals")


def _count(ctx: Context, spec: Mapping[str, Any]) -> int:
    where = spec.get("where")
    if "field" in spec:
        array = re.fullmatch(re.escape(PREFIX) + r"(logs|metrics)\[\*\]", spec["field"])
        assert array is not None, spec["field"]
        members = _properties(ctx).get(array.group(1)) or []
        saved = (ctx.element, ctx.array)
        total = 0
        for member in members:
            ctx.element, ctx.array = member, array.group(1)
            total += where is None or evaluate(ctx, where)
        ctx.element, ctx.array = saved
        return total
    items = spec["value"]
    total = 0
    for item in items:
        ctx.named[spec["name"]] = {k: _expression(ctx, v) if isinstance(v, str) else v for k, v in item.items()}
        total += where is None or evaluate(ctx, where)
    ctx.named.pop(spec["name"], None)
    return total


def evaluate(ctx: Context, condition: Mapping[str, Any]) -> bool:
    if "allOf" in condition:
        return all(evaluate(ctx, c) for c in condition["allOf"])
    if "anyOf" in condition:
        return any(evaluate(ctx, c) for c in condition["anyOf"])
    op = next(o for o in _OPERATORS if o in condition)
    right = _expression(ctx, condition[op]) if isinstance(condition[op], str) else condition[op]
    if "count" in condition:
        return _compare(op, _count(ctx, condition["count"]), right)
    if "value" in condition:
        return _compare(op, _expression(ctx, condition["value"]), right)
    kind, left = _field(ctx, condition["field"])
    if kind == "all":
        return all(_compare(op, member, right) for member in left)
    return _compare(op, left, right)


def defaults(definition: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    parameters = definition["properties"]["parameters"]
    values = {name: p.get("defaultValue") for name, p in parameters.items()}
    values.update(overrides)
    return values


def exists(definition: Mapping[str, Any], setting: Mapping[str, Any], **parameters: Any) -> bool:
    """Whether ``setting`` (ARM JSON) meets the definition's existenceCondition."""
    condition = definition["properties"]["policyRule"]["then"]["details"]["existenceCondition"]
    return evaluate(Context(setting, defaults(definition, **parameters)), condition)
