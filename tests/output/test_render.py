"""Rendering a schema-1 document: table, JSON, Markdown, CSV, HTML (and HTML in real Chromium)."""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import html
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from remediation.core.report import ReportDocument, summarize
from remediation.output.common import by_attention
from remediation.output.render import CONTENT_TYPES, COST_NOTE, CSV_COLUMNS, FORMATS, render
from tests.support.chromium import png_pixels, run_chromium
from tests.support.constants import REQUIRED, SUB_B
from tests.support.documents import WS, XSS, make_document
from tests.support.html_text import HtmlCollector


def test_content_types_cover_every_format() -> None:
    assert set(CONTENT_TYPES) == set(FORMATS) == {"table", "json", "markdown", "html", "csv", "sarif", "junit", "ocsf"}
    assert CONTENT_TYPES["json"] == "application/json"
    assert CONTENT_TYPES["html"] == "text/html; charset=utf-8"
    assert CONTENT_TYPES["csv"] == "text/csv; charset=utf-8"
    assert CONTENT_TYPES["markdown"] == "text/markdown; charset=utf-8"
    assert CONTENT_TYPES["table"] == "text/plain; charset=utf-8"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render(make_document(), "xml")


def test_json_is_exactly_the_document_in_schema_order() -> None:
    doc = make_document()
    shuffled: Any = dict(reversed(list(copy.deepcopy(doc).items())))
    shuffled["clusters"] = [dict(reversed(list(c.items()))) for c in shuffled["clusters"]]
    text = render(shuffled, "json")
    assert json.loads(text) == doc
    assert text == render(doc, "json")
    assert list(json.loads(text)) == [
        "schema_version", "mode", "run_id", "started_at", "finished_at",
        "required_categories", "summary", "clusters", "workspaces", "errors",
        "tool_version", "scope", "configuration",
    ]  # fmt: skip
    assert list(json.loads(text)["clusters"][1]) == [
        "id", "name", "subscription_id", "resource_group", "location", "status",
        "missing_categories", "reason", "action", "subscription_name", "portal_url",
        "settings", "explanation", "next_step",
    ]  # fmt: skip
    assert text.startswith('{\n  "schema_version": 1,\n  "mode": "report",')


def test_table_has_summary_one_row_per_cluster_problems_first_and_why() -> None:
    text = render(make_document(), "table")
    lines = text.splitlines()
    assert any(line.endswith("4 clusters: 1 compliant, 1 non-compliant, 1 deferred, 1 failed") for line in lines)
    header = next(line for line in lines if line.startswith("CLUSTER"))
    assert header.split() == ["CLUSTER", "RESOURCE", "GROUP", "SUBSCRIPTION", "LOCATION", "STATUS", "MISSING", "NEXT"]
    body = lines[lines.index(header) + 1 :]
    body = body[: body.index("")]
    names = [line.split()[0] for line in body if line.startswith(("aks-", "<script"))]
    assert names[:3] == ['<script>alert("x")</script><img', "aks-dev", "aks-busy"]
    assert names[-1] == "aks-prod", "failed, non-compliant and deferred before compliant"
    row = next(line for line in lines if line.startswith("aks-dev "))
    assert "rg-apps" in row and "Contoso Production" in row and "would create (+2)" in row
    assert "non-compliant" in row
    assert any("wait for the next sweep" in line for line in lines)
    assert any(line.startswith("cluster-busy") and "provisioning" in line for line in lines)
    assert any("would create: law-aks-audit-westeurope in westeurope" in line for line in lines)
    assert any(line.startswith(f"  /subscriptions/{SUB_B}: AuthorizationFailed") for line in lines)
    assert "note: " + COST_NOTE in " ".join(line.strip() for line in lines)


def test_table_fits_the_width_and_keeps_the_resource_group() -> None:
    for width in (80, 100, 120, 160):
        lines = render(make_document(), "table", width=width).splitlines()
        assert max(map(len, lines)) <= width, width
        at = next(i for i, line in enumerate(lines) if "CLUSTER" in line)
        header = " ".join(lines[at - 1 : at + 1])  # a narrow column's header may wrap at its space
        assert "RESOURCE" in header and "GROUP" in header and "STATUS" in header
        assert any(line.startswith("aks-dev ") and "rg-apps" in line for line in lines)
    wide = render(make_document(), "table").splitlines()
    assert max(map(len, wide)) > 160, "without a width, one line per row"


def test_table_escapes_control_characters() -> None:
    doc = make_document()
    doc["clusters"][0]["name"] = "aks\x1b[31mred\x07"
    text = render(doc, "table", width=120)
    assert "\x1b" not in text and "\x07" not in text
    assert "aks\\x1b[31mred\\x07" in text


def test_table_in_apply_mode_says_what_was_done() -> None:
    text = render(make_document("apply"), "table")
    assert "created (+2)" in text


def test_empty_document() -> None:
    doc = make_document()
    doc["clusters"] = []
    doc["workspaces"] = []
    doc["errors"] = []
    doc["required_categories"] = ["kube-audit-admin"]
    doc["summary"] = summarize([])
    assert "no clusters in scope" in render(doc, "table")
    assert "note:" not in render(doc, "table")
    assert "No clusters in scope." in render(doc, "markdown")
    assert render(doc, "csv") == ",".join(CSV_COLUMNS) + "\r\n"
    page = render(doc, "html")
    assert "No clusters in scope." in page
    assert 'id="cost-note"' not in page


def test_markdown_escapes_user_data() -> None:
    text = render(make_document(), "markdown")
    assert text.startswith("# AKS audit-log report\n")
    assert "<script>" not in text
    assert "<img" not in text
    assert "&lt;script&gt;" in text
    cluster_rows = [line for line in text.splitlines() if line.startswith("| aks-") or line.startswith("| &lt;")]
    assert len(cluster_rows) == 4
    # every row has the header's number of cells: the '|' inside the reason is escaped
    header = next(line for line in text.splitlines() if line.startswith("| cluster |"))
    for row in cluster_rows:
        assert row.replace("\\|", "").count("|") == header.count("|")
    assert "**Cost:**" in text


def test_csv_one_row_per_cluster() -> None:
    text = render(make_document(), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["name"] for r in rows] == ["aks-prod", "aks-dev", "aks-busy", XSS]
    assert rows[3]["missing_categories"] == "unknown"
    assert rows[1]["added"] == "kube-audit;kube-audit-admin"
    assert rows[0]["subscription_name"] == "Contoso Production"
    assert rows[0]["portal_url"].startswith("https://portal.azure.com/#resource/subscriptions/")
    dev = rows[1]
    assert dev["missing_categories"] == "kube-audit;kube-audit-admin"
    assert dev["categories"] == ";".join(REQUIRED)
    assert dev["action_kind"] == "create"
    assert dev["workspace_id"] == WS
    assert rows[0]["reason"] == "" and rows[0]["action_kind"] == ""
    assert rows[3]["reason"].startswith("'=HYPERLINK"), "formula neutralised"


def test_html_is_self_contained_and_escaped() -> None:
    page = render(make_document(), "html")
    parser = HtmlCollector()
    parser.feed(page)
    assert parser.tags.count("script") == 1, "one inline script, allowed by its hash"
    assert "img" not in parser.tags
    assert not [a for a in parser.attrs if a[0].startswith("on")], "no event handler attributes"
    assert not [a for a in parser.attrs if a[0] == "src"], "no external assets"
    links = [a[1] for a in parser.attrs if a[0] == "href"]
    assert links and all(str(link).startswith("https://portal.azure.com/#resource/subscriptions/") for link in links)
    assert "http://" not in page.replace('"http://evil"', "").replace("&quot;http://evil&quot;", "")
    text = "".join(parser.text)
    assert XSS in text, "the hostile name is shown as text"
    assert "Content-Security-Policy" in page
    assert page.count('<tr class="cluster"') == 4
    assert 'id="cost-note"' in page
    assert "kube-audit-admin" in page
    for status in ("compliant", "non_compliant", "deferred", "failed"):
        assert f'class="seg-{status}"' in page
    assert 'class="seg-remediated"' not in page


def test_html_without_kube_audit_has_no_cost_note() -> None:
    doc = make_document()
    doc["required_categories"] = ["kube-audit-admin", "kube-apiserver"]
    assert 'id="cost-note"' not in render(doc, "html")


class _Grid(HTMLParser):
    """The cluster table's header labels and, per row, its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []
        self.rows: list[list[str]] = []
        self._where = ""
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._in_table = dict(attrs).get("id") == "clusters"
        if not self._in_table:
            return
        if tag == "th":
            self.heads.append("")
            self._where = "th"
        elif tag == "tr" and dict(attrs).get("class") == "cluster":
            self.rows.append([])
        elif tag == "td" and self.rows:
            self.rows[-1].append("")
            self._where = "td"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        if tag in ("th", "td"):
            self._where = ""

    def handle_data(self, data: str) -> None:
        if self._where == "th":
            self.heads[-1] += data
        elif self._where == "td":
            self.rows[-1][-1] += data


def _grid(page: str) -> _Grid:
    grid = _Grid()
    grid.feed(page)
    return grid


def make_status_document() -> ReportDocument:
    doc = make_document("status")
    for i, cluster in enumerate(doc["clusters"]):
        cluster["observed_at"] = f"2025-01-01T00:0{i}:00Z"
        cluster["observed_run_id"] = f"run-{i}"
    return doc


@pytest.mark.parametrize("document", [make_document(), make_status_document()], ids=["report", "status"])
def test_html_has_a_cell_under_every_header(document: ReportDocument) -> None:
    grid = _grid(render(document, "html"))
    assert grid.heads and len(grid.rows) == 4
    for row in grid.rows:
        assert len(row) == len(grid.heads), (grid.heads, row)


def test_html_status_page_says_when_each_cluster_was_observed() -> None:
    document = make_status_document()
    page = render(document, "html")
    grid = _grid(page)
    assert grid.heads[-1] == "Observed"
    by_name = {c["name"]: c for c in document["clusters"]}
    names = [c["name"] for c in by_attention(document["clusters"])]
    assert [row[-1] for row in grid.rows] == [by_name[n]["observed_at"] for n in names]
    assert '<time datetime="2025-01-01T00:01:00Z" title="run run-1">' in page
    assert "Observed" not in _grid(render(make_document(), "html")).heads, "a report has no observation column"


def test_html_status_page_without_an_observation_time_shows_a_dash() -> None:
    document = make_status_document()
    del document["clusters"][0]["observed_at"]
    grid = _grid(render(document, "html"))
    assert sorted(row[-1] for row in grid.rows)[0] == "-"


def test_html_script_is_the_one_its_hash_allows() -> None:
    page = render(make_document(), "html")
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}'" in html.unescape(page)
    assert "location.hash" in script, "the packaged script is inlined"
    assert "border-collapse" in page and ".flow small" in page and ".bl {" in page, "the packaged stylesheet is inlined"


# --- real headless Chromium ------------------------------------------------------------------


@pytest.mark.browser
def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(make_document(), "html"), encoding="utf-8")

    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = HtmlCollector()
    parser.feed(dom.stdout)
    assert dom.stdout.count('<tr class="cluster"') == 4, dom.stdout[:2000]
    text = "".join(parser.text)
    for name in ("aks-prod", "aks-dev", "aks-busy", XSS):
        assert name in text
    assert parser.tags.count("script") == 1, "the hostile cluster name did not become a script element"
    assert "img" not in parser.tags
    assert "kube-audit-admin is its write-only subset" in text

    shot = tmp_path / "report.png"
    result = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert len(data) > 5000
    width, height, colours = png_pixels(data)
    assert (width, height) == (1280, 900)
    assert len(colours) > 20, "not a blank page"
    # the stacked status bar is drawn: its segment colours appear on screen
    for colour in ("#2e7d32", "#c62828", "#ef6c00"):
        assert bytes.fromhex(colour[1:]) in colours, colour


@pytest.mark.browser
def test_html_status_page_sorts_by_observation_time_in_headless_chromium(tmp_path: Path) -> None:
    document = make_status_document()
    page = tmp_path / "status.html"
    page.write_text(render(document, "html"), encoding="utf-8")

    dom = run_chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri() + "#sort=-observed")
    assert dom.returncode == 0, dom.stderr[-2000:]
    grid = _grid(dom.stdout)
    assert grid.heads[-1] == "Observed"
    assert all(len(row) == len(grid.heads) for row in grid.rows)
    assert [row[-1] for row in grid.rows] == sorted((c["observed_at"] for c in document["clusters"]), reverse=True)
