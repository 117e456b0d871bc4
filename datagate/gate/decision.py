"""Turn a policy plus results into a :class:`~datagate.models.GateDecision`."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from datagate.config import Policy
from datagate.gate.policy import AllOf, CheckThreshold, FindingThreshold
from datagate.models import CheckResult, Finding, GateDecision, Manifest

__all__ = ["apply_waivers", "decide"]


def apply_waivers(
    findings: Iterable[Finding], manifest: Manifest, policy: Policy
) -> tuple[Finding, ...]:
    """Return ``findings`` with those covered by a still-valid waiver marked ``waived``.

    A waiver covers a finding when the path matches, the file's current SHA-256 equals the
    reviewed one, and the rule id matches the waiver's pattern. Waived findings stay in the
    result (reported, marked), they just stop blocking.
    """
    if not policy.waivers:
        return tuple(findings)
    digests = {e.path: e.sha256 for e in manifest.entries}
    out: list[Finding] = []
    for f in findings:
        reason = None
        for w in policy.waivers:
            if (
                w.path == f.path
                and digests.get(f.path) == w.sha256
                and fnmatch.fnmatchcase(f.rule, w.rule)
            ):
                reason = w.reason
                break
        if reason is not None and f.waived is None:
            from dataclasses import replace

            f = replace(f, waived=reason)
        out.append(f)
    return tuple(out)


def decide(
    policy: Policy,
    *,
    findings: Sequence[Finding] = (),
    checks: Sequence[CheckResult] = (),
) -> GateDecision:
    """Return the gate decision: fail on unwaived findings or failed checks >= ``fail_on``."""
    rule = AllOf((FindingThreshold(policy.fail_on), CheckThreshold(policy.fail_on)))
    verdict = rule.evaluate(findings, checks)
    return GateDecision(
        passed=verdict.passed,
        threshold=policy.fail_on,
        blocking_findings=verdict.findings,
        blocking_checks=verdict.checks,
        reasons=verdict.reasons,
        policy=policy.source,
    )
