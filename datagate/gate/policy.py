"""Composable gate rules. A rule looks at findings and checks and returns what blocks.

Rules compose with :class:`AllOf` (every rule must pass) and :class:`AnyOf` (one passing rule
suffices). An empty combinator is a configuration error, never a pass (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from datagate.errors import ConfigError
from datagate.models import CheckResult, CheckStatus, Finding, Severity

__all__ = ["AllOf", "AnyOf", "CheckThreshold", "FindingThreshold", "GateRule", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """What one rule decided."""

    passed: bool
    """True when the rule found nothing blocking."""
    findings: tuple[Finding, ...] = ()
    """Findings that block under this rule."""
    checks: tuple[CheckResult, ...] = ()
    """Checks that block under this rule."""
    reasons: tuple[str, ...] = ()
    """One line per reason the rule failed."""


class GateRule(Protocol):
    """A gate rule."""

    def evaluate(self, findings: Sequence[Finding], checks: Sequence[CheckResult]) -> Verdict:
        """Return this rule's verdict."""
        ...


@dataclass(frozen=True)
class FindingThreshold:
    """Block on unwaived findings at or above ``threshold``."""

    threshold: Severity

    def evaluate(self, findings: Sequence[Finding], checks: Sequence[CheckResult]) -> Verdict:
        """Return a failing verdict listing blocking findings, if any."""
        blocking = tuple(f for f in findings if f.waived is None and f.severity >= self.threshold)
        if not blocking:
            return Verdict(True)
        return Verdict(
            False,
            findings=blocking,
            reasons=(f"{len(blocking)} finding(s) at or above {self.threshold.value}",),
        )


@dataclass(frozen=True)
class CheckThreshold:
    """Block on failed or errored checks whose severity is at or above ``threshold``.

    A check that errored could not tell whether the data is fine, so it blocks like a failure
    (fail closed).
    """

    threshold: Severity

    def evaluate(self, findings: Sequence[Finding], checks: Sequence[CheckResult]) -> Verdict:
        """Return a failing verdict listing blocking checks, if any."""
        blocking = tuple(
            c
            for c in checks
            if c.status in (CheckStatus.FAIL, CheckStatus.ERROR) and c.severity >= self.threshold
        )
        if not blocking:
            return Verdict(True)
        return Verdict(
            False,
            checks=blocking,
            reasons=(f"{len(blocking)} check(s) failed at or above {self.threshold.value}",),
        )


def _merge(verdicts: Sequence[Verdict], passed: bool) -> Verdict:
    return Verdict(
        passed,
        tuple(f for v in verdicts for f in v.findings),
        tuple(c for v in verdicts for c in v.checks),
        tuple(r for v in verdicts for r in v.reasons),
    )


@dataclass(frozen=True)
class AllOf:
    """Passes only when every rule passes. Raises ConfigError when empty."""

    rules: tuple[GateRule, ...]

    def __post_init__(self) -> None:
        if not self.rules:
            raise ConfigError("gate: AllOf() with no rules would pass everything")

    def evaluate(self, findings: Sequence[Finding], checks: Sequence[CheckResult]) -> Verdict:
        """Return the combined verdict of every rule."""
        verdicts = [r.evaluate(findings, checks) for r in self.rules]
        return _merge(verdicts, all(v.passed for v in verdicts))


@dataclass(frozen=True)
class AnyOf:
    """Passes when at least one rule passes. Raises ConfigError when empty."""

    rules: tuple[GateRule, ...]

    def __post_init__(self) -> None:
        if not self.rules:
            raise ConfigError("gate: AnyOf() with no rules is undecidable")

    def evaluate(self, findings: Sequence[Finding], checks: Sequence[CheckResult]) -> Verdict:
        """Return a passing verdict if any rule passes, else every rule's reasons."""
        verdicts = [r.evaluate(findings, checks) for r in self.rules]
        if any(v.passed for v in verdicts):
            return Verdict(True)
        return _merge(verdicts, False)
