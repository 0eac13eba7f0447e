"""``junit``: JUnit XML, which CI systems render as a test report. Pure.

One ``testsuite`` per subscription, one ``testcase`` per cluster (class name
``<subscription>.<resource group>``): a ``failure`` for ``non_compliant``, ``blocked`` and
``failed`` (its type the status, its text the explanation and next step), ``skipped`` for
``excluded`` and ``deferred`` (not judged in this run), a pass otherwise. Each test case's
``system-out`` lists its baselines. Text from ARM is written with control characters escaped
(XML 1.0 cannot carry most of them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from remediation.core.report import ClusterDoc, ReportDocument
from remediation.output.baselines import reason_words
from remediation.output.common import escape_control, subscription_label

FAILURES = ("non_compliant", "blocked", "failed")
SKIPPED = ("excluded", "deferred")


def _clean(*lines: str) -> str:
    """Lines joined by newlines, each with its control characters made visible."""
    return "\n".join(escape_control(line) for line in lines)


def _timestamp(moment: str) -> str:
    """JUnit's timestamp has no zone: the run's UTC time."""
    return moment.removesuffix("Z")


def _testcase(cluster: ClusterDoc) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": _clean(f"{cluster['subscription_id']}.{cluster['resource_group']}"),
            "name": _clean(cluster["name"]),
            "time": "0",
        },
    )
    status = cluster["status"]
    why = cluster.get("explanation") or ""
    step = cluster.get("next_step")
    headline = status.replace("_", "-") + (f": {cluster['reason']}" if cluster["reason"] else "")
    if status in FAILURES:
        failure = ET.SubElement(case, "failure", {"message": _clean(headline), "type": status})
        failure.text = _clean(cluster["id"], why, *([f"next: {step}"] if step else []))
    elif status in SKIPPED:
        ET.SubElement(case, "skipped", {"message": _clean(headline + (f" ({why})" if why else ""))})
    judged = cluster.get("baselines") or {}
    if judged:
        out = ET.SubElement(case, "system-out")
        out.text = _clean(*(f"{b}: {j['verdict']} ({reason_words(j)})" for b, j in judged.items()))
    return case


def _suite(name: str, subscription_id: str, clusters: Iterable[ClusterDoc], document: ReportDocument) -> ET.Element:
    cases = [_testcase(c) for c in clusters]
    suite = ET.Element(
        "testsuite",
        {
            "name": _clean(name),
            "id": subscription_id,
            "tests": str(len(cases)),
            "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
            "errors": "0",
            "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
            "time": "0",
            "timestamp": _timestamp(document["started_at"]),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("subscription_id", subscription_id),
        ("run_id", document["run_id"]),
        ("mode", document["mode"]),
    ):
        ET.SubElement(properties, "property", {"name": key, "value": _clean(value)})
    suite.extend(cases)
    return suite


def render_junit(document: ReportDocument) -> str:
    by_subscription: dict[str, list[ClusterDoc]] = {}
    for cluster in document["clusters"]:
        by_subscription.setdefault(cluster["subscription_id"].lower(), []).append(cluster)
    root = ET.Element("testsuites", {"name": "aks-audit-remediation"})
    for subscription_id in sorted(by_subscription):
        clusters = sorted(
            by_subscription[subscription_id], key=lambda c: (c["resource_group"].lower(), c["name"].lower())
        )
        root.append(_suite(subscription_label(clusters[0]), subscription_id, clusters, document))
    for key in ("tests", "failures", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
