"""``table``: plain text for terminals, laid out by ``rich`` to fit a width.

A header (run, scope, configuration), the summary, one row per cluster (problems first: cluster,
resource group, subscription, location, status, missing categories, what happens next), then
why each problem cluster is where it is, workspaces and errors. Every value from ARM or
configuration is shown with control characters escaped (no terminal escape sequences pass).
Without a width the table takes what it needs (one line per row, for pipes and files).
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from remediation.core.report import ClusterDoc, ReportDocument, WorkspaceDoc
from remediation.output.baselines import compact_text, has_baselines, summary_lines
from remediation.output.common import (
    COST_NOTE,
    COSTLY_CATEGORY,
    action_verb,
    by_attention,
    escape_control,
    last_segment,
    reason_codes,
    reason_text,
    subscription_label,
    summary_line,
)
from remediation.output.exemptions import HEADINGS, NOTABLE, describe, notable, summary_text
from remediation.output.flow_section import cost_lines, flow_summary_line, flow_text, has_flow, table_plan_lines

UNLIMITED = 100_000
REASON_WIDTH = 24
WIDE = 150  # columns from which the table shows every column
MEDIUM = 110  # below: no subscription column, missing categories as a count
_PROBLEMS = ("failed", "blocked", "deferred", "excluded")


def _console(width: int | None) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or UNLIMITED,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
        soft_wrap=False,
    )
    return console, buffer


def _t(*lines: object) -> Text:
    """Escaped text, one escaped value per line."""
    return Text("\n".join(escape_control(str(line)) for line in lines))


def _status(status: str, reason: str | None) -> Text:
    label = status.replace("_", "-")
    if reason and len(reason) > REASON_WIDTH:  # codes are short; anything longer is cut (the why section has it all)
        reason = reason[: REASON_WIDTH - 3] + "..."
    return _t(label, reason) if reason else _t(label)


def _missing(document: ReportDocument, c: ClusterDoc) -> str:
    missing = c["missing_categories"]
    if missing is None:
        return "unknown"
    if missing and len(missing) == len(document["required_categories"]) > 1:
        return f"all {len(missing)}"
    return ", ".join(missing) or "-"


def _missing_count(document: ReportDocument, c: ClusterDoc) -> str:
    missing = c["missing_categories"]
    if missing is None:
        return "unknown"
    return f"{len(missing)} of {len(document['required_categories'])}" if missing else "-"


def _next(document: ReportDocument, c: ClusterDoc) -> str:
    action = c["action"]
    if action is not None and c["status"] in ("non_compliant", "remediated"):
        added = action.get("added", action["categories"])
        return f"{action_verb(document, c)} (+{len(added)})"
    if c["status"] in _PROBLEMS and c.get("next_step"):
        return "see below"
    return "-"


def _workspace_line(w: WorkspaceDoc) -> str:
    parts = w["id"].split("/")
    where = f"resource group {parts[4]}, subscription {parts[2]}" if len(parts) > 8 else w["id"]
    return f"{w['action'].replace('_', ' ')}: {last_segment(w['id'])} in {w['location']} ({where})"


def _fit(headers: list[str], rows: list[list[Text]], width: int | None, flexible: set[str]) -> list[int | None]:
    """Column widths: every column as wide as it needs; when that is too wide, the flexible ones
    (subscription, missing categories) wrap at spaces: each keeps its header and longest word
    whole, and they share the rest of the width in proportion to what they would need."""
    if width is None:
        return [None] * len(headers)

    def cells(i: int) -> list[str]:
        return [line for row in rows for line in row[i].plain.split("\n")]

    natural = [max(len(h), *map(len, cells(i))) for i, h in enumerate(headers)]
    flex = [i for i, h in enumerate(headers) if h in flexible]
    room = width - 2 * (len(headers) - 1) - 1 - sum(w for i, w in enumerate(natural) if i not in flex)
    if not flex or sum(natural[i] for i in flex) <= room:
        return [None] * len(headers)
    floor = {i: max(len(headers[i]), *(len(word) for text in cells(i) for word in text.split())) for i in flex}
    deficit = sum(floor.values()) - room
    # Too narrow even so: words fold, the cluster's name last.
    for i in sorted(flex, key=lambda i: (headers[i] == "CLUSTER", -floor[i])):
        if deficit <= 0:
            break
        cut = min(deficit, floor[i] - max(8, *map(len, headers[i].split())))
        floor[i] -= max(0, cut)
        deficit -= max(0, cut)
    spare = max(0, room - sum(floor.values()))
    extra = sum(natural[i] - floor[i] for i in flex) or 1
    out: list[int | None] = [None] * len(headers)
    for i in flex:
        out[i] = floor[i] + spare * (natural[i] - floor[i]) // extra
    return out


def _grid(width: int | None) -> Table:
    grid = Table.grid(padding=(0, 2), expand=False)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def render_table(document: ReportDocument, width: int | None = None) -> str:
    console, buffer = _console(width)
    scope = document.get("scope") or {"subscriptions": [], "clusters": []}
    config = document.get("configuration")
    header = _grid(width)
    header.add_row(
        "run",
        _t(
            f"{document['mode']} {document['run_id']}, {document['started_at']} .. {document['finished_at']}"
            + (f", aks-audit-remediation {document['tool_version']}" if document.get("tool_version") else "")
        ),
    )
    header.add_row(
        "scope",
        _t(
            (", ".join(scope["subscriptions"]) or "every subscription the identity can list")
            + (f"; clusters: {', '.join(scope['clusters'])}" if scope["clusters"] else "")
        ),
    )
    header.add_row("categories", _t(", ".join(document["required_categories"])))
    if config:
        header.add_row(
            "settings",
            _t(
                f"destination tables {config['destination_tables']}, accepted destinations "
                f"{config['accepted_destinations']}, our setting {config['setting_name']}"
            ),
        )
    header.add_row("summary", _t(summary_line(document["summary"])))
    flow_line = flow_summary_line(document["summary"])
    if flow_line:
        header.add_row("flow", _t(flow_line))
    cost = cost_lines(document.get("cost"))
    if cost:
        header.add_row("cost", _t(*cost))
    judged = summary_lines(document["summary"])
    if judged:
        header.add_row("baselines", _t(*judged))
    exempt = summary_text(document)
    if exempt:
        header.add_row("exemptions", _t(exempt.removeprefix("exemptions: ")))
    console.print(header)
    console.print("")

    clusters = by_attention(document["clusters"])
    if clusters:
        table = Table(box=None, padding=(0, 1), pad_edge=False, expand=False, header_style="")
        # Narrower terminals leave out the location, then the subscription, then name only how many
        # categories are missing; the cluster, its resource group and its status always stay whole.
        wide = width is None or width >= WIDE
        medium = width is None or width >= MEDIUM
        with_flow = has_flow(document) and medium  # narrow terminals: the flow counts are in the header
        with_baselines = has_baselines(document) and medium  # and so are the baselines' counts
        rows = [
            [
                _t(c["name"]),
                _t(c["resource_group"]),
                *([_t(subscription_label(c))] if medium else []),
                *([_t(c["location"] or "-")] if wide else []),
                _status(c["status"], c["reason"] if medium else None),
                _t(_missing(document, c) if medium else _missing_count(document, c)),
                _t(_next(document, c)),
                *([_t(flow_text(c))] if with_flow else []),
                *([_t(compact_text(c))] if with_baselines else []),
            ]
            for c in clusters
        ]
        headers = [
            "CLUSTER",
            "RESOURCE GROUP",
            *(["SUBSCRIPTION"] if medium else []),
            *(["LOCATION"] if wide else []),
            "STATUS",
            "MISSING",
            "NEXT",
            *(["FLOW"] if with_flow else []),
            *(["BASELINES"] if with_baselines else []),
        ]
        flexible = {"CLUSTER", "RESOURCE GROUP", "SUBSCRIPTION", "MISSING", "FLOW", "BASELINES"}
        widths = _fit(headers, rows, width, flexible=flexible)
        for name, fixed in zip(headers, widths, strict=True):
            table.add_column(
                name,
                no_wrap=name not in flexible,
                overflow="fold",
                width=fixed,
            )
        for cells in rows:
            table.add_row(*cells)
        console.print(table)
    else:
        console.print("no clusters in scope")

    problems = [c for c in clusters if c["status"] in _PROBLEMS and c.get("explanation")]
    if problems:
        console.print("")
        why = _grid(width)
        for c in problems:
            text = [c["explanation"]] + ([f"-> {c['next_step']}"] if c.get("next_step") else [])
            why.add_row(_t(c["name"]), _t(*text))
        console.print("why, and what to do:")
        console.print(why)
    for state in NOTABLE:
        listed = notable(document, state)
        if listed:
            console.print("")
            console.print(f"{HEADINGS[state].lower()}:")
            grid = _grid(width)
            for c, exemption in listed:
                grid.add_row(_t(c["name"]), _t(describe(exemption)))
            console.print(grid)
    codes = reason_codes(clusters)
    if codes:
        console.print("")
        console.print("reason codes:")
        grid = _grid(width)
        for code in codes:
            grid.add_row(_t(code), _t(reason_text(code)))
        console.print(grid)
    if document["workspaces"]:
        console.print("")
        console.print("workspaces:")
        for w in document["workspaces"]:
            console.print(_t(f"  {_workspace_line(w)}"))
    for line in table_plan_lines(document):
        console.print(_t(line))
    if document["errors"]:
        console.print("")
        console.print("errors:")
        for e in document["errors"]:
            console.print(_t(f"  {e['scope']}: {e['code']}: {e['message']}"), overflow="fold")
    if COSTLY_CATEGORY in document["required_categories"]:
        console.print("")
        console.print(_t(f"note: {COST_NOTE}"))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
