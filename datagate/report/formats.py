"""Output formats as an exhaustive enum: each (format, result kind) pair maps to one renderer.

The CLI takes ``--format`` as :class:`OutputFormat` and asks it for a renderer; there are no
scattered ``if fmt == "json"`` branches. Every mapping ends in :func:`typing.assert_never`, so a new
format or kind that is not handled is a type error, and a test walks every member.

>>> OutputFormat("sarif").supports(ReportKind.CHECK), OutputFormat.HTML.supports(ReportKind.VERIFY)
(True, False)
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from typing import Any

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - Python 3.10 (requires-python >= 3.10)
    from typing_extensions import assert_never

from datagate.errors import UsageError
from datagate.models import CheckReport, GateDecision, ScanReport

__all__ = ["OutputFormat", "ReportKind", "render"]

ScanRenderer = Callable[[ScanReport, GateDecision], str]
CheckRenderer = Callable[[CheckReport, GateDecision], str]
ResultRenderer = Callable[[Any], str]


class ReportKind(str, enum.Enum):
    """What is being rendered: the result of ``scan``, ``check``, ``ingest`` or ``verify``."""

    SCAN = "scan"
    CHECK = "check"
    INGEST = "ingest"
    VERIFY = "verify"


class OutputFormat(str, enum.Enum):
    """A ``--format`` choice."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    HTML = "html"

    def supports(self, kind: ReportKind) -> bool:
        """Return True when this format can render results of ``kind``."""
        try:
            self.renderer_for(kind)
        except UsageError:
            return False
        return True

    @classmethod
    def choices(cls, kind: ReportKind) -> tuple[OutputFormat, ...]:
        """Return the formats that can render ``kind``, in declaration order."""
        return tuple(f for f in cls if f.supports(kind))

    def renderer_for(self, kind: ReportKind) -> Callable[..., str]:
        """Return the renderer of ``kind`` results in this format.

        Scan and check renderers take ``(report, decision)``; ingest and verify renderers take
        the result object. Raises UsageError when the format does not apply (e.g. HTML of a
        verify run), naming the formats that do.
        """
        match kind:
            case ReportKind.SCAN:
                return self.to_scan_renderer()
            case ReportKind.CHECK:
                return self.to_check_renderer()
            case ReportKind.INGEST:
                return self.to_ingest_renderer()
            case ReportKind.VERIFY:
                return self.to_verify_renderer()
            case _:
                assert_never(kind)

    def to_scan_renderer(self) -> ScanRenderer:
        """Return ``render(report, decision) -> str`` for scan results in this format."""
        match self:
            case OutputFormat.TEXT:
                from datagate.report import text

                return text.render_scan
            case OutputFormat.JSON:
                return _json_scan
            case OutputFormat.SARIF:
                return _sarif_scan
            case OutputFormat.MARKDOWN:
                from datagate.report import markdown

                return markdown.render_scan
            case OutputFormat.HTML:
                from datagate.report import html

                return html.render_html_scan
            case _:
                assert_never(self)

    def to_check_renderer(self) -> CheckRenderer:
        """Return ``render(report, decision) -> str`` for check results in this format.

        SARIF carries the failed, errored and warned checks as results.
        """
        match self:
            case OutputFormat.TEXT:
                from datagate.report import text

                return text.render_check
            case OutputFormat.JSON:
                return _json_check
            case OutputFormat.SARIF:
                return _sarif_check
            case OutputFormat.MARKDOWN:
                from datagate.report import markdown

                return markdown.render_check
            case OutputFormat.HTML:
                from datagate.report import html

                return html.render_html_check
            case _:
                assert_never(self)

    def to_ingest_renderer(self) -> ResultRenderer:
        """Return ``render(result) -> str`` for ingest results in this format.

        SARIF of an ingest carries its scan's findings.
        """
        match self:
            case OutputFormat.TEXT:
                from datagate.report import text

                return text.render_ingest
            case OutputFormat.JSON:
                return _json_ingest
            case OutputFormat.SARIF:
                return _sarif_ingest
            case OutputFormat.MARKDOWN:
                from datagate.report import markdown

                return markdown.render_ingest
            case OutputFormat.HTML:
                from datagate.report import html

                return html.render_html_ingest
            case _:
                assert_never(self)

    def to_verify_renderer(self) -> ResultRenderer:
        """Return ``render(result) -> str`` for verify results in this format.

        Raises UsageError for SARIF and HTML.
        """
        match self:
            case OutputFormat.TEXT:
                from datagate.report import text

                return text.render_verify
            case OutputFormat.JSON:
                return _json_verify
            case OutputFormat.MARKDOWN:
                from datagate.report import markdown

                return markdown.render_verify
            case OutputFormat.SARIF | OutputFormat.HTML:
                raise self._unsupported(ReportKind.VERIFY)
            case _:
                assert_never(self)

    def _unsupported(self, kind: ReportKind) -> UsageError:
        allowed = ", ".join(f.value for f in OutputFormat if (f, kind) not in _UNSUPPORTED)
        return UsageError(
            f"--format {self.value} is not available for {kind.value} results",
            hint=f"use one of: {allowed}",
        )


# Only used to name the alternatives in an error message; a test checks it agrees with the
# renderers above.
_UNSUPPORTED: frozenset[tuple[OutputFormat, ReportKind]] = frozenset(
    {
        (OutputFormat.SARIF, ReportKind.VERIFY),
        (OutputFormat.HTML, ReportKind.VERIFY),
    }
)


def render(fmt: OutputFormat, kind: ReportKind, *args: Any) -> str:
    """Return ``args`` rendered as ``kind`` results in ``fmt``.

    Raises UsageError when ``fmt`` does not apply to ``kind``.
    """
    return fmt.renderer_for(kind)(*args)


def _json_scan(report: ScanReport, decision: GateDecision) -> str:
    from datagate.report import json as j

    return j.dumps(j.scan_to_dict(report))


def _json_check(report: CheckReport, decision: GateDecision) -> str:
    from datagate.report import json as j

    doc = j.check_to_dict(report)
    # which policy decided (None: the built-in defaults); additive to the check JSON contract
    doc["policy"] = decision.policy
    return j.dumps(doc)


def _sarif_scan(report: ScanReport, decision: GateDecision) -> str:
    from datagate.report.sarif import render_sarif

    return render_sarif(report)


def _decision_dict(decision: GateDecision) -> dict[str, Any]:
    from datagate.report import json as j

    return {
        "passed": decision.passed,
        "exit_code": decision.exit_code,
        "threshold": decision.threshold.value,
        "blocking_findings": [j.finding_to_dict(f) for f in decision.blocking_findings],
        "blocking_checks": [c.id for c in decision.blocking_checks],
        "reasons": list(decision.reasons),
        "policy": decision.policy,
    }


def _json_ingest(result: Any) -> str:
    from datagate.report import json as j

    own = getattr(j, "ingest_to_dict", None)
    if callable(own):
        return j.dumps(own(result))
    scan = getattr(result, "scan", None)
    check = getattr(result, "check", None)
    record = getattr(result, "record", None)
    manifest = getattr(result, "manifest", None)
    doc = {
        "tool": {"name": "datagate", "version": _version()},
        "root_digest": getattr(manifest, "root_digest", None),
        "gate": _decision_dict(result.decision),
        "scan": j.scan_to_dict(scan) if scan is not None else None,
        "check": j.check_to_dict(check) if check is not None else None,
        # The lineage record object wraps its document in ``.data``; emit the document itself.
        "record": j.to_jsonable(getattr(record, "data", record)) if record is not None else None,
        "record_path": j.to_jsonable(getattr(result, "record_path", None)),
    }
    return j.dumps(doc)


def _sarif_check(report: CheckReport, decision: GateDecision) -> str:
    from datagate.report.sarif import render_check_sarif

    return render_check_sarif(report)


def _sarif_ingest(result: Any) -> str:
    from datagate.report.sarif import render_check_sarif, render_sarif
    from datagate.report.text import ingest_scan

    scan = ingest_scan(result)
    check = getattr(result, "check", None)
    if isinstance(check, CheckReport):
        return render_check_sarif(check, scan)
    if scan is None:
        raise UsageError("--format sarif needs a scan or a check, and this ingest ran neither")
    return render_sarif(scan)


def _json_verify(result: Any) -> str:
    from datagate.report.inventory import verify_json

    return verify_json(result)


def _version() -> str:
    import datagate

    return datagate.__version__
