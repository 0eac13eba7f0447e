"""Exemptions: the exclude tag, with an optional expiry and reason, like Azure Policy's exemptions. Pure.

The exclude tag (``REMEDIATION_EXCLUDE_TAG``, by default ``aks-audit-remediation=exclude``) may
carry its value as is (excluded until the tag is removed) or as ``<value>-until:YYYY-MM-DD``
(excluded through that day, UTC). An optional tag ``<key>-reason`` (by default
``aks-audit-remediation-reason``) says why. Key and value compare case-insensitively.

* ``active``: the cluster is excluded; ``expiring_soon`` when its last day is within
  :data:`EXPIRING_SOON_DAYS` days (the reports list those);
* ``expired``: the day has passed: the cluster is checked and remediated like any other, and its
  evidence says the exemption expired (and why it had been granted);
* ``malformed``: the tag's key is ours but its value is neither form (a typo, an impossible date):
  it excludes nothing and is reported with its text. A typo never silently exempts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from remediation.config.values import ExcludeTag
from remediation.core.report import ExemptionDoc

EXPIRING_SOON_DAYS = 14
UNTIL = "-until:"
REASON_SUFFIX = "-reason"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ExemptionState(StrEnum):
    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    MALFORMED = "malformed"


@dataclass(frozen=True, kw_only=True)
class Exemption:
    state: ExemptionState
    tag: str  # the tag as found on the cluster, key=value
    until: date | None = None  # the last excluded day; None: until the tag is removed (or malformed)
    reason: str | None = None  # the reason tag's value

    @property
    def excludes(self) -> bool:
        return self.state in (ExemptionState.ACTIVE, ExemptionState.EXPIRING_SOON)


def reason_key(exclude_tag: ExcludeTag) -> str:
    """The tag that carries an exemption's reason: ``<key>-reason``."""
    return exclude_tag.key + REASON_SUFFIX


def _tag(tags: Mapping[str, str], key: str) -> tuple[str, str] | None:
    return next(((k, v or "") for k, v in tags.items() if k.lower() == key.lower()), None)


def exemption_of(tags: Mapping[str, str] | None, exclude_tag: ExcludeTag, *, today: date) -> Exemption | None:
    """The cluster's exemption on ``today`` (UTC), or None when it carries no exclude tag."""
    found = _tag(tags or {}, exclude_tag.key)
    if found is None:
        return None
    key, raw = found
    value = raw.strip()
    text = f"{key}={raw}"
    why = _tag(tags or {}, reason_key(exclude_tag))
    reason = (why[1].strip() or None) if why is not None else None
    if value.lower() == exclude_tag.value.lower():
        return Exemption(state=ExemptionState.ACTIVE, tag=text, reason=reason)
    prefix = exclude_tag.value.lower() + UNTIL
    until = _day(value[len(prefix) :]) if value.lower().startswith(prefix) else None
    if until is None:
        return Exemption(state=ExemptionState.MALFORMED, tag=text, reason=reason)
    if until < today:
        state = ExemptionState.EXPIRED
    elif until <= today + timedelta(days=EXPIRING_SOON_DAYS):
        state = ExemptionState.EXPIRING_SOON
    else:
        state = ExemptionState.ACTIVE
    return Exemption(state=state, tag=text, until=until, reason=reason)


def _day(text: str) -> date | None:
    """A calendar day written YYYY-MM-DD, or None (another form, or a day that does not exist)."""
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def exemption_doc(exemption: Exemption) -> ExemptionDoc:
    doc = ExemptionDoc(
        state=exemption.state.value,
        tag=exemption.tag,
        until=exemption.until.isoformat() if exemption.until is not None else None,
        reason=exemption.reason,
    )
    if exemption.state is ExemptionState.EXPIRED and exemption.until is not None:
        doc["expired_on"] = exemption.until.isoformat()
    return doc
