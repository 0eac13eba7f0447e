"""Baseline verdicts in every format: compact in table and markdown, a column each in csv and html."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from remediation.core.report import ReportDocument, summarize
from remediation.output.baselines import baseline_ids, compact_text, html_cells, reason_words, short, title
from remediation.output.render import render
from tests.support.documents import XSS, judged, make_document


def baseline_document() -> ReportDocument:
    document = make_document()
    clusters: list[Any] = document["clusters"]
    clusters[0]["baselines"] = {
        "cis-aks-2.1.1": judged("pass", "cis-audit-logs-kept", "sent to Log Analytics by 'ops'"),
        "psrule-Azure.AKS.AuditAdmin": judged("fail", "auditadmin-kube-audit", f"'{XSS}' enable kube-audit"),
    }
    clusters[1]["baselines"] = {
        "cis-aks-2.1.1": judged("unknown", "excluded"),
        "psrule-Azure.AKS.AuditAdmin": judged("unknown", "excluded"),
    }
    document["summary"] = summarize(clusters)
    return document


def test_the_summary_counts_each_baseline_in_configuration_order():
    document = baseline_document()
    assert document["summary"]["baselines"] == {
        "cis-aks-2.1.1": {"pass": 1, "fail": 0, "unknown": 1},
        "psrule-Azure.AKS.AuditAdmin": {"pass": 0, "fail": 1, "unknown": 1},
    }
    clusters: list[Any] = document["clusters"]
    clusters[2]["baselines"] = {"someone-elses": judged("pass", "x")}
    assert list(summarize(clusters)["baselines"])[-1] == "someone-elses", "unknown ids last"


def test_compact_text_and_words():
    clusters = baseline_document()["clusters"]
    assert compact_text(clusters[0]) == "1/2 pass; fail: AuditAdmin"
    assert compact_text(clusters[1]) == "unknown (excluded)"
    assert compact_text(clusters[2]) == "-"
    assert reason_words(judged("fail", "auditadmin-kube-audit", "'a' enable kube-audit")).startswith(
        "auditadmin-kube-audit: a setting enables kube-audit"
    )
    assert reason_words(judged("pass", "not-in-the-catalogue")) == "not-in-the-catalogue"
    assert short("other") == title("other") == "other"


def test_every_format_shows_them_and_escapes_the_detail():
    document = baseline_document()
    table = render(document, "table")
    assert "baselines   cis-aks-2.1.1: 1 pass, 0 fail, 1 unknown" in table
    assert "1/2 pass; fail: AuditAdmin" in table
    markdown = render(document, "markdown")
    assert "## Baselines" in markdown and "| psrule-Azure.AKS.AuditAdmin |" in markdown
    rows = list(csv.DictReader(io.StringIO(render(document, "csv"))))
    assert [r["baseline:psrule-Azure.AKS.AuditAdmin"] for r in rows[:3]] == ["fail", "unknown", ""]
    page = render(document, "html")
    assert 'id="baselines"' in page and XSS not in page
    assert '<th data-key="bl-1" title="PSRule for Azure' in page
    assert json.loads(render(document, "json"))["clusters"][0]["baselines"]["cis-aks-2.1.1"]["verdict"] == "pass"


def test_without_summary_the_ids_come_from_the_clusters_and_missing_cells_show_a_dash():
    document = baseline_document()
    del document["summary"]["baselines"]
    assert baseline_ids(document) == ["cis-aks-2.1.1", "psrule-Azure.AKS.AuditAdmin"]
    assert html_cells(document, document["clusters"][2]).count('<td class="muted">-</td>') == 2
    plain = make_document()
    assert "BASELINES" not in render(plain, "table") and "## Baselines" not in render(plain, "markdown")
    assert 'id="baselines"' not in render(plain, "html")
