"""Gate: policy rules -> pass/fail decision and exit code.

>>> from datagate.config import Policy
>>> from datagate.gate import decide
>>> decide(Policy()).exit_code
0
"""

from __future__ import annotations

from datagate.gate.decision import apply_waivers, decide
from datagate.gate.policy import AllOf, AnyOf, CheckThreshold, FindingThreshold, GateRule, Verdict

__all__ = [
    "AllOf",
    "AnyOf",
    "CheckThreshold",
    "FindingThreshold",
    "GateRule",
    "Verdict",
    "apply_waivers",
    "decide",
]
