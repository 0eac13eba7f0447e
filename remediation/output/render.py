"""Render a schema-1 report document in any format: the one entry point every surface uses.

Each format lives in its own module (``table``, ``json_doc``, ``markdown``, ``html_page``,
``csv_rows``, and for other tools ``sarif``, ``junit``, ``ocsf``); what they share is in ``common``. Pure; no I/O. A status document
(``mode: "status"``, ``GET /api/status``) renders like a report, plus when each cluster was
observed (markdown, html and csv add the column; json carries ``observed_at`` and ``observed_run_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from remediation.core.report import ReportDocument
from remediation.output.common import (
    CHEAPER_CATEGORY,
    CONTENT_TYPES,
    COST_NOTE,
    COSTLY_CATEGORY,
    FORMATS,
    STATUS_COLOURS,
    Format,
    action_text,
    action_verb,
    summary_line,
)
from remediation.output.csv_rows import CSV_COLUMNS, render_csv
from remediation.output.html_page import render_html
from remediation.output.json_doc import canonical, render_json
from remediation.output.junit import render_junit
from remediation.output.markdown import md, render_markdown
from remediation.output.ocsf import render_ocsf
from remediation.output.sarif import render_sarif
from remediation.output.table import render_table

__all__ = [
    "CHEAPER_CATEGORY",
    "CONTENT_TYPES",
    "COSTLY_CATEGORY",
    "COST_NOTE",
    "CSV_COLUMNS",
    "FORMATS",
    "STATUS_COLOURS",
    "Format",
    "action_text",
    "action_verb",
    "canonical",
    "md",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "summary_line",
]


def render(document: ReportDocument, fmt: str, *, width: int | None = None) -> str:
    """Render ``document`` in ``fmt`` (one of :data:`FORMATS`); raises ValueError otherwise.

    ``width`` (columns) fits the table to a terminal; the other formats ignore it.
    """
    try:
        chosen = Format(fmt.lower())
    except ValueError:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}") from None
    if chosen is Format.TABLE:
        return render_table(document, width)
    renderers: Mapping[Format, Callable[[ReportDocument], str]] = {
        Format.JSON: render_json,
        Format.MARKDOWN: render_markdown,
        Format.HTML: render_html,
        Format.CSV: render_csv,
        Format.SARIF: render_sarif,
        Format.JUNIT: render_junit,
        Format.OCSF: render_ocsf,
    }
    return renderers[chosen](document)
