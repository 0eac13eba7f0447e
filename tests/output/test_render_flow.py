"""Flow verdicts and the cost header in every format (HTML also in real Chromium)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from remediation.core.report import ReportDocument, summarize
from remediation.output.render import render
from tests.support.chromium import png_pixels, run_chromium
from tests.support.documents import WS, XSS, make_document
from tests.support.html_text import HtmlCollector

SEEN = "2026-11-27T11:00:00Z"


def flow(verdict: str, missing=(), reason=None, gb=None) -> dict[str, Any]:
    categories = ["kube-audit", "kube-audit-admin", "kube-apiserver"]
    return {
        "verdict": verdict,
        "last_seen": {c: (None if c in missing or verdict == "unknown" else SEEN) for c in categories},
        "gb_per_day": gb,
        "reason": reason,
    }


def flow_document() -> ReportDocument:
    document = make_document()
    clusters: list[Any] = document["clusters"]
    flows = [
        flow("flowing", gb=2.5),
        flow("partial", missing=("kube-audit",), gb=0.75),
        flow("silent", missing=("kube-audit", "kube-audit-admin", "kube-apiserver"), gb=0.0),
        flow("unknown", reason=XSS),
    ]
    for cluster, item in zip(clusters, flows, strict=False):
        cluster["flow"] = item
    clusters.append(
        {
            **clusters[0],
            "id": clusters[0]["id"] + "-new",
            "name": "aks-new",
            "flow": flow("pending", missing=("kube-audit",)),
        }
    )
    document["summary"] = summarize(clusters)
    document["cost"] = {
        "lookback_hours": 24,
        "queries": 2,
        "gb_per_day": {"kube-apiserver": 0.25, "kube-audit": 2.5, "kube-audit-admin": 0.5},
        "total_gb_per_day": 3.25,
        "kube_audit_share": 0.7692,
        "workspaces": [{"id": WS, "gb_per_day": {"kube-audit": 2.5}, "total_gb_per_day": 2.5}],
    }
    return document


def test_json_carries_flow_per_cluster_summary_counts_and_cost():
    doc = json.loads(render(flow_document(), "json"))
    assert doc["summary"]["flow"] == {"flowing": 1, "partial": 1, "silent": 1, "pending": 1, "unknown": 1}
    assert list(doc["clusters"][0])[-1] == "flow"
    assert doc["cost"]["kube_audit_share"] == 0.7692


def test_table_shows_flow_column_counts_and_cost():
    text = render(flow_document(), "table")
    assert "audit records: 1 flowing, 1 partial, 1 silent, 1 pending, 1 unknown" in text
    assert "billed ingestion over the last 24 h: 3.250 GB/day (2 Log Analytics queries); kube-audit alone: 77%" in text
    header = next(line for line in text.splitlines() if line.startswith("CLUSTER"))
    assert header.split()[-1] == "FLOW"
    assert "partial: no kube-audit" in text
    assert "silent: no kube-audit, kube-audit-admin, kube-apiserver" in text


def test_markdown_has_a_flow_column_flow_counts_and_a_cost_section():
    text = render(flow_document(), "markdown")
    header = next(line for line in text.splitlines() if line.startswith("| cluster |"))
    assert header.endswith("| reason | why | flow |")
    assert "| 1 | 1 | 1 | 1 | 1 |" in text
    assert "## Cost" in text and "**3.250 GB/day**" in text and "takes **77%**" in text
    assert "partial: no kube-audit |" in text.replace("\\", "")
    assert "<script>" not in text


def test_csv_has_flow_columns():
    rows = list(csv.DictReader(io.StringIO(render(flow_document(), "csv"))))
    assert [r["flow"] for r in rows] == ["flowing", "partial", "silent", "unknown", "pending"]
    assert rows[1]["flow_missing"] == "kube-audit"
    assert rows[0]["flow_gb_per_day"] == "2.5"
    assert rows[3]["flow_gb_per_day"] == ""


def test_html_has_a_badge_per_cluster_flow_cards_and_cost():
    page = render(flow_document(), "html")
    for verdict in ("flowing", "partial", "silent", "pending", "unknown"):
        assert f'class="badge flow-{verdict}"' in page
    assert ">Audit records</button></th>" in page
    assert 'id="flow-silent"' in page and 'id="cost"' in page
    assert XSS not in page


def test_documents_without_flow_render_as_before():
    text = render(make_document(), "table")
    header = next(line for line in text.splitlines() if line.startswith("CLUSTER"))
    assert "FLOW" not in header


@pytest.mark.browser
def test_flow_badges_render_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "flow.html"
    page.write_text(render(flow_document(), "html"), encoding="utf-8")

    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = HtmlCollector()
    parser.feed(dom.stdout)
    text = "".join(parser.text)
    assert parser.tags.count("script") == 1, "only the page's own hashed script"
    for needle in ("Audit records", "no records:", "3.250 GB/day", "flowing", "silent", "pending"):
        assert needle in text, needle

    shot = tmp_path / "flow.png"
    result = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1400", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    _, _, colours = png_pixels(shot.read_bytes())
    # the flow badges are drawn in their colours: silent red, partial orange, pending blue
    for colour in ("#c62828", "#ef6c00", "#1565c0"):
        assert bytes.fromhex(colour[1:]) in colours, colour


def test_a_known_verdicts_caveat_is_shown_beside_it():
    from remediation.output.flow_section import flow_text

    def cluster(verdict: str, reason: str | None) -> Any:
        last_seen = {"kube-audit": None, "kube-apiserver": "2026-11-27T11:00:00Z"}
        return {"flow": {"verdict": verdict, "last_seen": last_seen, "gb_per_day": 0.1, "reason": reason}}

    assert flow_text(cluster("silent", "last-write-from-ledger")) == "silent: no kube-audit (last-write-from-ledger)"
    assert flow_text(cluster("pending", None)) == "pending: no kube-audit"
    assert flow_text(cluster("unknown", "last-write-unknown")) == "unknown (last-write-unknown)"
