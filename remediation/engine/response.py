"""What each trigger answers for a run's outcome, in one place.

A run ends as a value: a report (:class:`~remediation.core.report.ReportDocument`), or, for an
event, an :class:`~remediation.engine.outcomes.EventResult` whose
:class:`~remediation.engine.outcomes.Stop` says why there is none. The triggers answer:

=====================  ===================  =====================  =============================
outcome                CLI (exit code)      ``GET /api/report``    Event Grid / sweep queue
=====================  ===================  =====================  =============================
a report               :func:`exit_code`    200                    done (queue: redelivered when
                                                                   the sweep could read nothing)
unknown categories     2                    500                    done: a redelivery cannot help
cluster deleted        (in the report)      (in the report)        done (and forgotten)
cluster unreadable     (in the report)      (in the report)        done, logged at ERROR
cluster still busy     (in the report)      (in the report)        **redelivered**
transient ARM failure  (in the report)      (in the report)        **redelivered**
deadline               (in the report)      (in the report)        **redelivered**
=====================  ===================  =====================  =============================

The Functions host redelivers when the function raises: :class:`Delivery` names the exception
to raise (``redeliver``), so that the raise is explicit in the trigger's handler.
"""

from __future__ import annotations

from dataclasses import dataclass

from remediation.core.report import ReportDocument
from remediation.core.report import exit_code as report_exit_code
from remediation.engine.estate import OUTSIDE_SCOPE
from remediation.engine.outcomes import EventResult, Stop
from remediation.errors import ArmError, SweepFailedError

# A configured category that ARM does not know (REMEDIATION_CATEGORIES): nothing was written.
INVALID_CONFIGURATION_EXIT_CODE = 2
INVALID_CONFIGURATION_HTTP_STATUS = 500

# The event outcomes a redelivery can help with: Event Grid retries (10 s, 30 s, 1 min, 5 min, ...).
REDELIVERED: frozenset[Stop] = frozenset({Stop.CLUSTER_BUSY, Stop.TRANSIENT, Stop.DEADLINE})


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What a trigger with at-least-once delivery does with one delivery."""

    redeliver: Exception | None = None  # raise it: the execution fails and the host delivers again
    note: str = ""  # why the delivery is done without a report (for logs and tests)


def exit_code(document: ReportDocument) -> int:
    """The CLI's exit code for a report (see :func:`remediation.core.report.exit_code`)."""
    return report_exit_code(document)


def event_grid_delivery(result: EventResult) -> Delivery:
    """Done, or redelivered (the failure to raise), for one event's result."""
    if result.stop is None:
        return Delivery()
    if result.stop in REDELIVERED:
        assert result.error is not None
        return Delivery(redeliver=result.error)
    if result.stop is Stop.UNREADABLE and isinstance(result.error, ArmError):
        return Delivery(note=result.error.code)
    return Delivery(note=result.stop.value)


def queue_delivery(document: ReportDocument, *, subscription_id: str, dequeue_count: int) -> Delivery:
    """A sweep message is done unless the sweep could read nothing at all (then the host retries it,
    and after ``maxDequeueCount`` attempts moves it to the poison queue). A subscription that left
    the management group since the fan-out (``OutsideScope``) is done: trying again cannot help."""
    errors = [e for e in document["errors"] if e["code"] != OUTSIDE_SCOPE]
    if not document["clusters"] and errors:
        codes = ", ".join(sorted({e["code"] for e in errors}))
        return Delivery(
            redeliver=SweepFailedError(
                f"sweep {document['run_id']} of subscription {subscription_id} could read nothing ({codes}); "
                f"attempt {dequeue_count}, the host retries"
            )
        )
    return Delivery()
