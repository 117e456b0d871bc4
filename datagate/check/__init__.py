"""datagate's check stage: data-quality checks over a dataset's splits, streaming.

>>> from datagate.check import check
>>> report = check("fixtures/build/sample")                     # doctest: +SKIP
>>> [(c.id, c.status.value) for c in report.checks][:2]         # doctest: +SKIP
[('schema', 'pass'), ('label_distribution', 'pass')]

:func:`run_checks` reads every split once (pyarrow record batches) and returns a
:class:`CheckOutcome`: the :class:`~datagate.models.CheckReport` (stable check ids ``schema``,
``label_distribution``, ``label_drift``, ``duplicates.within_split``, ``duplicates.cross_split``,
``near_duplicates.cross_split``, ``near_duplicates.within_split``, ``outliers``, ``nulls``, ``conflicting_labels``, then
``gx.<suite>`` per suite) and the version's compact :class:`~datagate.check.profile.Profile`,
which a later run takes as ``baseline``. Default thresholds are named constants in each check
family's module and can be overridden per check id in the policy file::

    checks:
      outliers: {threshold: 8, fail_mads: 50}     # robust deviations (warn / fail)
      duplicates.within_split: {severity: high}    # fail instead of warn
      near_duplicates.cross_split: {enabled: false}

=============================  ========  =====================================================
check id                       default   policy options (defaults)
=============================  ========  =====================================================
schema                         fail      threshold (0 changes), rename_similarity (0.6)
label_distribution             warn      threshold (10x imbalance), min_expected (5 rows),
                                         skew_threshold (0.1 share), skew_alpha (0.01)
label_drift                    fail      threshold (JS distance 0.1), alpha (0.01),
                                         ks_threshold (0.1, regression targets)
duplicates.within_split        warn      threshold (0 rows per split)
duplicates.cross_split         fail      threshold (0 rows)
near_duplicates.cross_split    fail      threshold (Jaccard 0.7)
near_duplicates.within_split   warn      threshold (Jaccard 0.7)
outliers                       warn      threshold (6 robust deviations), fail_mads (30),
                                         max_share (0.01), orders (2 decades),
                                         discrete_max (20 values); impossible values fail
nulls                          warn      threshold (null rate 1.0), spike_delta (0.05),
                                         spike_ratio (2.0), high_rate (0.2),
                                         column_delta (0.1)
conflicting_labels             fail      threshold (0 groups); warn where the features
                                         have few distinct values (they identify no row)
backdoor_triggers              fail      threshold (label share 0.95), min_rows (20),
                                         min_share (0.0005), alpha (0.01), max_agreement
                                         (0.5), max_context_share (0.5), ngrams (2),
                                         vocabulary_cap (262144), max_candidates (200)
label_errors                   warn      threshold (flagged share 0.03), sample (20000),
                                         folds (5), min_confidence (0.5), min_skill
                                         (0.6: skipped below it)
=============================  ========  =====================================================

Every check also takes ``enabled`` and ``severity`` (fail = high and above, warn = below).
Reading never executes anything: pyarrow reads parquet/CSV/JSON/Arrow directly; no pickle, no
dataset loading scripts, no ``trust_remote_code``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datagate import _callable_module
from datagate.check._engine import CheckOutcome, profile_dataset, run_checks
from datagate.check.load import CsvOptions
from datagate.check.profile import Profile
from datagate.models import CheckReport
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["CheckOutcome", "CsvOptions", "Profile", "check", "profile_dataset", "run_checks"]


def check(
    path: Path | str,
    *,
    label: str | None = None,
    keys: Sequence[str] = (),
    text: Sequence[str] = (),
    baseline: Path | str | Profile | None = None,
    suites: Sequence[Path | str] = (),
    policy: Any = None,
    progress: ProgressSink = NULL_PROGRESS,
    no_label: bool = False,
    encoding: str = "utf-8",
    csv: CsvOptions | None = None,
    label_type: str | None = None,
) -> CheckReport:
    """Run every check and return the report (see :func:`run_checks` for arguments and errors)."""
    return run_checks(
        path, label=label, keys=keys, text=text, baseline=baseline, suites=suites, policy=policy, progress=progress,
        no_label=no_label, encoding=encoding, csv=csv, label_type=label_type,
    ).report


# `import datagate.check` binds the package attribute to this module: keep `datagate.check(...)` working.
_callable_module(__name__)
