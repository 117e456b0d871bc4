"""What every check family shares: ids, settings from the policy, and result constructors.

A check family is a module with named default constants and an ``evaluate(...)`` function that
turns merged per-shard partial results into one :class:`~datagate.models.CheckResult`. Status
rules, the same for every check:

* nothing found: ``pass`` (severity info);
* something found: ``fail`` when the check's severity (default or policy override) is high or
  above, else ``warn``;
* the check could not run, or part of the data could not be read and nothing was found in the
  rest: ``error`` (severity high) naming the files; a found problem stays ``warn``/``fail`` with
  ``observed.incomplete`` listing the unread files (never a silent pass);
* the check does not apply (no label column, no baseline): ``skipped`` with the reason.

Policy overrides, per check id: ``{"enabled": false, "severity": "high", "threshold": 0.2, ...}``
(``threshold`` is each check's main knob; other keys are the check's named options). Unknown keys
raise :class:`~datagate.errors.ConfigError` naming them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from datagate.errors import ConfigError
from datagate.models import CheckResult, CheckStatus, Severity

__all__ = [
    "CHECK_IDS",
    "MAX_EVIDENCE",
    "CheckSettings",
    "PolicyLike",
    "errored",
    "fired",
    "mark_incomplete",
    "passed",
    "row_ref",
    "settings_for",
    "skipped",
]

CHECK_IDS = (
    "schema",
    "label_distribution",
    "label_drift",
    "duplicates.within_split",
    "duplicates.cross_split",
    "near_duplicates.cross_split",
    "near_duplicates.within_split",
    "outliers",
    "nulls",
    "conflicting_labels",
    "backdoor_triggers",
    "label_errors",
)
"""The stable ids of the built-in checks, in run order (``gx.<suite>`` results follow)."""

MAX_EVIDENCE = 50
"""At most this many rows or pairs are listed in ``observed.rows`` / ``observed.pairs``;
``observed.count`` always has the full count."""


class PolicyLike(Protocol):
    """The part of :class:`datagate.config.Policy` the check stage reads."""

    @property
    def checks(self) -> Mapping[str, Mapping[str, Any]]:
        """Per-check overrides keyed by check id."""
        ...


@dataclass(frozen=True)
class CheckSettings:
    """A check's effective settings: defaults merged with the policy's overrides."""

    id: str
    """The check id."""
    enabled: bool
    """False when the policy disables the check (it is then reported as skipped)."""
    severity: Severity
    """Severity carried by the result when the check finds something."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Thresholds and options (defaults overridden by the policy)."""

    def num(self, key: str) -> float:
        """Return option ``key`` as a float."""
        return float(self.options[key])


def settings_for(
    policy: PolicyLike | None, check_id: str, severity: Severity, defaults: Mapping[str, Any]
) -> CheckSettings:
    """Return the settings of ``check_id``: ``defaults`` overridden by ``policy.checks[check_id]``.

    Raises ConfigError naming the check and key when an override is unknown or has a bad value.
    """
    raw: Mapping[str, Any] = {}
    if policy is not None:
        got = policy.checks.get(check_id, {})
        raw = got if isinstance(got, Mapping) else {}
    enabled = True
    options = dict(defaults)
    problems: list[str] = []
    for key, value in raw.items():
        if key == "enabled":
            enabled = bool(value)
        elif key == "severity":
            try:
                severity = Severity.parse(str(value))
            except ValueError as e:
                problems.append(f"checks.{check_id}.severity: {e}")
        elif key in options:
            default = options[key]
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    problems.append(f"checks.{check_id}.{key}: expected a number, got {value!r}")
                    continue
            options[key] = value
        else:
            known = ", ".join(["enabled", "severity", *sorted(defaults)])
            problems.append(f"checks.{check_id}: unknown setting {key!r} (known: {known})")
    if problems:
        raise ConfigError("; ".join(problems))
    return CheckSettings(check_id, enabled, severity, options)


def row_ref(split: str, row: int) -> dict[str, Any]:
    """Return the JSON reference to a row: ``{"split": split, "row": row}`` (0-based, file order)."""
    return {"split": split, "row": int(row)}


def passed(check_id: str, message: str, observed: Mapping[str, Any] | None = None) -> CheckResult:
    """Return a ``pass`` result (severity info)."""
    obs = {"count": 0, **(observed or {})}
    return CheckResult(check_id, CheckStatus.PASS, Severity.INFO, message, obs)


def fired(settings: CheckSettings, message: str, observed: Mapping[str, Any], *, severity: Severity | None = None) -> CheckResult:
    """Return ``fail`` when the severity is high or above, else ``warn``."""
    sev = severity if severity is not None else settings.severity
    status = CheckStatus.FAIL if sev >= Severity.HIGH else CheckStatus.WARN
    return CheckResult(settings.id, status, sev, message, dict(observed))


def skipped(check_id: str, reason: str, observed: Mapping[str, Any] | None = None) -> CheckResult:
    """Return a ``skipped`` result with ``reason`` as its message."""
    return CheckResult(check_id, CheckStatus.SKIPPED, Severity.INFO, reason, dict(observed or {}))


def errored(check_id: str, message: str, observed: Mapping[str, Any] | None = None) -> CheckResult:
    """Return an ``error`` result (severity high: an unreadable input never passes)."""
    return CheckResult(check_id, CheckStatus.ERROR, Severity.HIGH, message, dict(observed or {}))


def mark_incomplete(result: CheckResult, problems: Sequence[str]) -> CheckResult:
    """Return ``result`` adjusted for data that could not be read (``problems``, one per file).

    A pass becomes an error naming the files; warn and fail keep their status and list the files
    in ``observed.incomplete``. Skipped and error results are returned unchanged.
    """
    if not problems or result.status in (CheckStatus.SKIPPED, CheckStatus.ERROR):
        return result
    observed = {**result.observed, "incomplete": list(problems)}
    if result.status is CheckStatus.PASS:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return replace(
            result,
            status=CheckStatus.ERROR,
            severity=Severity.HIGH,
            message=f"could not check all data: {first}{more}",
            observed=observed,
        )
    return replace(result, message=f"{result.message} (incomplete: {len(problems)} unreadable input(s))", observed=observed)
