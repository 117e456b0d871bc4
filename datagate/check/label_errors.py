"""``label_errors``: likely mislabelled rows, by confident learning on out-of-fold probabilities.

Method (Northcutt, Jiang & Chuang, "Confident Learning", JAIR 2021; cleanlab's
``find_label_issues(filter_by="prune_by_noise_rate")``), implemented here with scikit-learn:

1. a bounded, shard-independent sample: the ``sample`` (20,000) *distinct* labelled rows with the
   smallest seeded hash of their content, label included (an exact copy is judged once, at its
   first row; :class:`LabelSample`, a mergeable partial, so the same rows are judged however the
   data is cut into shards);
2. features: numeric and boolean columns standardised (nulls at the median), other non-text
   columns one-hot by feature hashing (``column=value``, 1,024 features), text columns as hashed TF-IDF
   (``HashingVectorizer`` 2**16 features, word unigrams and bigrams, + ``TfidfTransformer``);
3. out-of-fold predicted probabilities, ``folds`` (5)-fold stratified cross-validation (fixed
   seeds), from a logistic regression: multinomial (lbfgs) on tabular features, fitted by SGD
   (log loss, one-vs-rest) when there is text (as accurate there, and some 25x faster); classes with fewer than ``folds`` sampled
   rows are not modelled (their rows are not judged, and the report names them);
4. per-class thresholds ``t_j`` = mean predicted probability of class ``j`` over rows labelled
   ``j``; the confident joint counts each row labelled ``i`` under the most probable class ``j``
   with ``p_j >= t_j``; calibrated to the class counts, its off-diagonal cell ``(i, j)`` says how
   many rows labelled ``i`` are really ``j``; that many rows labelled ``i`` with the largest margin
   ``p_j - p_i`` are flagged, unless the model's top class is their given label or its
   probability is below ``min_confidence`` (0.5).
5. applicability: confident learning assumes the features determine the label, so that a row the
   model confidently gives another class is an anomaly, not a hard case. Where they do not (a
   survey answer predicted from demographics, tomorrow's weather from today's), every row the
   model gets wrong looks like a label error. The check therefore measures the model's *skill*
   first: the proportional reduction in error over always guessing the commonest class
   (Goodman & Kruskal's lambda on the out-of-fold predictions,
   ``(accuracy - majority share) / (1 - majority share)``). Below ``min_skill`` (0.6: the
   features must remove most of the guessing error) the check is ``skipped`` with the
   measured accuracy and skill, and the candidate count kept in ``observed`` for a reader who
   wants them. Measured on real tables (``benchmarks/bench_false_alarms.py``): clean tables whose
   labels the features predict well have skill 0.93-0.98, the weakly predictable ones 0.12-0.46,
   and digits with 5/10/20% of labels flipped 0.87/0.81/0.70, so flips are still found; beyond
   about a quarter of labels flipped the skill falls below the bar and the check says the labels
   are weakly predictable instead.

Report: ``observed.rows`` (``{"split", "row", "label", "suggested", "confidence"}``, every flagged
row up to :data:`MAX_ROWS`, most confident first), ``observed.count`` (flagged rows in the
sample), ``observed.sample`` (rows judged, rows labelled, whether it is the whole data),
``observed.per_class`` (sampled rows, flagged rows and rate per given label), ``observed.model``,
``observed.accuracy`` (out-of-fold), ``observed.majority_share`` and ``observed.skill``.
The check fires when the flagged share of the judged rows exceeds ``threshold`` (default
:data:`THRESHOLD`); default severity medium (warn). scikit-learn is imported lazily (the
``[check]`` extra); without it the check is skipped with that reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate._system import usable_cpus
from datagate.check._hashing import mix64, row_hash
from datagate.check.backdoor import label_strings
from datagate.check.duplicates import LOC_SHIFT, loc_of
from datagate.check.interface import (
    CheckSettings,
    errored,
    fired,
    passed,
    row_ref,
    settings_for,
    skipped,
)
from datagate.models import CheckResult, Severity

__all__ = ["CHECK_ID", "DEFAULTS", "MAX_ROWS", "MIN_SKILL", "THRESHOLD", "LabelSample", "confident_learning", "evaluate", "settings"]

CHECK_ID = "label_errors"
THRESHOLD = 0.03
"""Flagged share of the judged rows tolerated before the check fires (real, clean tables typically
show 0-3% by this method: ambiguous rows the model cannot separate)."""
MIN_CONFIDENCE = 0.5
"""A row is flagged only when the model gives its suggested class at least this probability: on
labels the features barely predict (a survey's party identification), confident learning alone
flags a large share of rows that are merely hard."""
MIN_SKILL = 0.6
"""Proportional reduction in error over the majority class below which the labels are too weakly
predictable from the features to tell label errors from hard rows (the check is skipped)."""
DEFAULTS: Mapping[str, Any] = {"threshold": THRESHOLD, "sample": 20_000, "folds": 5, "min_confidence": MIN_CONFIDENCE, "min_skill": MIN_SKILL}
"""``threshold``: flagged share tolerated; ``sample``: rows judged at most; ``folds``: CV folds;
``min_confidence``: see :data:`MIN_CONFIDENCE`; ``min_skill``: see :data:`MIN_SKILL`."""
MAX_ROWS = 10_000
"""At most this many flagged rows are listed (``observed.count`` is exact for the sample)."""
HASH_FEATURES = 1 << 16
"""Hashed text features."""
CATEGORY_FEATURES = 1 << 10
"""Hashed one-hot features for the non-numeric, non-text columns (``column=value``)."""
_SEED = np.uint64(0x5EED_1AB5_E770_0017)


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``label_errors`` (default severity medium: warn)."""
    return settings_for(policy, CHECK_ID, Severity.MEDIUM, DEFAULTS)


@dataclass
class LabelSample:
    """Mergeable bottom-k sample of labelled rows (by a seeded hash of their content).

    The same rows are kept however the data is cut into shards and batches. Picklable.
    """

    columns: tuple[str, ...]
    """Feature columns kept (the label is added)."""
    label_column: str
    """The label column."""
    k: int = 20_000
    """Rows kept."""
    labelled: int = 0
    """Labelled rows seen."""
    parts: list[pa.Table] = field(default_factory=list)
    """Kept rows (with ``__hash`` and ``__loc`` columns), not yet compacted."""
    pending: int = 0
    """Rows in ``parts``."""
    cutoff: int = (1 << 64) - 1
    """Hash of the k-th kept row once k rows are held (rows above it cannot enter)."""
    error: str | None = None
    """Why a batch could not be sampled (the check is then an ``error``), or None."""

    def add(self, batch: pa.RecordBatch | pa.Table, split_index: int, first_row: int, hashes: dict[str, npt.NDArray[np.uint64]] | None = None) -> None:
        """Offer the batch's labelled rows to the sample (``hashes``: the batch's column-hash
        cache, see :func:`~datagate.check._hashing.row_hash`)."""
        n = batch.num_rows
        lab = batch.column(batch.schema.get_field_index(self.label_column))
        valid = np.asarray(lab.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        self.labelled += int(valid.sum())
        locs = loc_of(split_index, np.arange(first_row, first_row + n, dtype=np.int64))
        cols = [c for c in (*self.columns, self.label_column) if c in batch.schema.names]
        h = mix64(row_hash(batch, cols, hashes) ^ _SEED)
        keep = valid & (h <= np.uint64(self.cutoff))
        if not keep.any():
            return
        sub = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        sub = sub.select(cols).filter(pa.array(keep))
        sub = sub.append_column("__hash", pa.array(h[keep])).append_column("__loc", pa.array(locs[keep]))
        self.parts.append(sub)
        self.pending += sub.num_rows
        if self.pending > 2 * self.k:
            self.compact()

    def relocate(self, split_index: int, row_offset: int) -> None:
        """Turn locations ``(0, row)`` into ``(split_index, row_offset + row)`` (engine fold)."""
        base = np.uint64((split_index << LOC_SHIFT) + row_offset)
        self.parts = [
            t.set_column(t.schema.get_field_index("__loc"), "__loc", pa.array(np.asarray(t.column("__loc").to_numpy(), dtype=np.uint64) + base))
            for t in self.parts
        ]

    def merge(self, other: LabelSample) -> LabelSample:
        """Fold ``other`` into this sample and return it."""
        self.labelled += other.labelled
        self.error = self.error or other.error
        self.parts += other.parts
        self.pending += other.pending
        self.cutoff = min(self.cutoff, other.cutoff)
        if self.pending > 2 * self.k:
            self.compact()
        return self

    def compact(self) -> None:
        """Keep the ``k`` rows with the smallest hashes."""
        if not self.parts:
            return
        tab = pa.concat_tables(self.parts, promote_options="permissive")
        tab = tab.take(pc.sort_indices(tab, sort_keys=[("__hash", "ascending"), ("__loc", "ascending")]))
        # distinct rows only (an exact copy, label included, is judged once: at its first row)
        h = np.asarray(tab.column("__hash").to_numpy(), dtype=np.uint64)
        first = np.ones(len(h), dtype=bool)
        first[1:] = h[1:] != h[:-1]
        tab = tab.filter(pa.array(first)).slice(0, self.k)
        self.parts = [tab]
        self.pending = tab.num_rows
        if tab.num_rows >= self.k:
            self.cutoff = int(tab.column("__hash")[self.k - 1].as_py())

    def table(self) -> pa.Table:
        """Return the sample, sorted by location."""
        self.compact()
        if not self.parts:
            return pa.table({})
        tab = self.parts[0]
        return tab.take(pc.sort_indices(tab, sort_keys=[("__loc", "ascending")]))


def confident_learning(labels: npt.NDArray[np.int64], probs: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Return a mask of likely label errors (confident joint, pruned by noise rate).

    ``labels`` are class indices 0..K-1, ``probs`` out-of-fold probabilities (n x K). Raises
    nothing; a class nobody has gets threshold 1.
    """
    n, k = probs.shape
    thresholds = np.ones(k)
    for j in range(k):
        mine = labels == j
        if mine.any():
            thresholds[j] = float(probs[mine, j].mean())
    above = probs >= thresholds[None, :] - 1e-9
    has = above.any(axis=1)
    j_star = np.where(above, probs, -1.0).argmax(axis=1)
    joint = np.zeros((k, k), dtype=np.float64)
    np.add.at(joint, (labels[has], j_star[has]), 1.0)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    row_sums = joint.sum(axis=1)
    calibrated = np.where(row_sums[:, None] > 0, joint / np.maximum(row_sums, 1)[:, None] * counts[:, None], 0.0)
    issues = np.zeros(n, dtype=bool)
    for i in range(k):
        rows_i = np.flatnonzero(labels == i)
        if not len(rows_i):
            continue
        budget = len(rows_i) - 1  # never flag a whole class
        for j in range(k):
            if i == j:
                continue
            num = min(int(round(calibrated[i, j])), budget)
            if num <= 0:
                continue
            margin = probs[rows_i, j] - probs[rows_i, i]
            top = rows_i[np.argsort(-margin, kind="stable")[:num]]
            issues[top] = True
    issues &= probs.argmax(axis=1) != labels
    return issues


def _features(table: pa.Table, text_columns: Sequence[str], columns: Sequence[str]) -> Any:
    from scipy import sparse
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    blocks: list[Any] = []
    numeric = []
    categorical = []
    for c in columns:
        if c in text_columns:
            continue
        t = table.schema.field(c).type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
            numeric.append(c)
        elif not pa.types.is_nested(t):
            categorical.append(c)
    if numeric:
        x = np.column_stack(
            [np.asarray(pc.cast(table.column(c), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64) for c in numeric]
        )
        x[~np.isfinite(x)] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-null column has no median
            med = np.nanmedian(x, axis=0)
        med = np.where(np.isfinite(med), med, 0.0)
        x = np.where(np.isnan(x), med[None, :], x)
        sd = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        blocks.append(sparse.csr_matrix(x))
    if categorical:
        values = [pc.cast(table.column(c), pa.string()).to_pylist() for c in categorical]
        rows = [[f"{c}={v}" for c, v in zip(categorical, vals, strict=True) if v is not None] for vals in zip(*values, strict=True)]
        blocks.append(FeatureHasher(n_features=CATEGORY_FEATURES, input_type="string", alternate_sign=False).transform(rows))
    for c in text_columns:
        if c not in table.schema.names:
            continue
        texts = [v or "" for v in pc.cast(table.column(c), pa.string()).to_pylist()]
        hv = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm=None)
        blocks.append(TfidfTransformer(sublinear_tf=True).fit_transform(hv.transform(texts)))
    if not blocks:
        return None
    x = sparse.hstack(blocks).tocsr()
    if not any(c in table.schema.names for c in text_columns) and x.shape[0] * x.shape[1] <= 20_000_000:
        return x.toarray()  # lbfgs is far faster on a small dense matrix
    return x


def _out_of_fold(x: Any, y: npt.NDArray[np.int64], folds: int, *, text: bool) -> npt.NDArray[np.float64]:
    from joblib import parallel_config
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model: Any
    if text:
        model = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=30, tol=1e-3, random_state=0)
    else:
        model = LogisticRegression(max_iter=300, C=1.0)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    # sparse features (text): the folds fit in threads, one per core; SGD's inner loops release
    # the GIL for part of their work, the sample is shared instead of pickled to processes, and
    # each fold's model is a seeded clone, so the probabilities do not depend on the thread
    # count. A dense matrix (tables): one fold at a time, as lbfgs's matrix products already use
    # every core through BLAS, and fold threads only contend with them (20,000 rows of 64
    # columns, 2 cores: 1.74-1.91 s one at a time against 2.05-2.30 s in threads; same
    # probabilities)
    jobs = 1 if isinstance(x, np.ndarray) else max(1, min(folds, usable_cpus()))
    with warnings.catch_warnings(), parallel_config(backend="threading", n_jobs=jobs):
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few more iterations change little
        probs = cross_val_predict(model, x, y, cv=cv, method="predict_proba", n_jobs=jobs)
    return np.asarray(probs, dtype=np.float64)


def _display(label: str, class_names: Sequence[str] | None) -> str:
    if class_names is not None and label.lstrip("-").isdigit() and 0 <= int(label) < len(class_names):
        return class_names[int(label)]
    return label


def evaluate(
    settings: CheckSettings,
    sample: LabelSample | None,
    names: Sequence[str],
    text_columns: Sequence[str],
    *,
    class_names: Sequence[str] | None = None,
    reason: str = "",
) -> CheckResult:
    """Return the ``label_errors`` result for the merged sample.

    Deterministic for the same rows (fixed folds and seed); raises nothing (a missing
    scikit-learn or an unlearnable sample is a ``skipped`` result with the reason).
    """
    if sample is None:
        return skipped(settings.id, reason or "no label column (use --label)")
    if sample.error is not None:
        return errored(settings.id, f"could not sample rows: {sample.error}")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return skipped(settings.id, "scikit-learn is not installed (pip install 'datagate-intake[check]')")
    folds = max(2, int(settings.num("folds")))
    table = sample.table()
    if table.num_rows == 0:
        return skipped(settings.id, "no labelled rows")
    labels = label_strings(table.column(sample.label_column)).to_pylist()
    counts: dict[str, int] = {}
    for v in labels:
        counts[str(v)] = counts.get(str(v), 0) + 1
    modelled = sorted(c for c, n in counts.items() if n >= folds)
    too_small = sorted(c for c, n in counts.items() if n < folds)
    if len(modelled) < 2:
        return skipped(settings.id, f"fewer than 2 classes with at least {folds} sampled rows")
    index = {c: i for i, c in enumerate(modelled)}
    keep = np.array([str(v) in index for v in labels], dtype=bool)
    table = table.filter(pa.array(keep))
    y = np.array([index[str(v)] for v, k in zip(labels, keep, strict=True) if k], dtype=np.int64)
    feature_cols = [c for c in sample.columns if c in table.schema.names]
    x = _features(table, text_columns, feature_cols)
    if x is None or x.shape[1] == 0:
        return skipped(settings.id, "no usable feature column")
    has_text = any(c in text_columns for c in feature_cols)
    probs = _out_of_fold(x, y, folds, text=has_text)
    issues = confident_learning(y, probs)
    suggested = probs.argmax(axis=1)
    confidence = probs[np.arange(len(y)), suggested]
    issues &= confidence >= settings.num("min_confidence")
    locs = np.asarray(table.column("__loc").to_numpy(), dtype=np.uint64)
    flagged = np.flatnonzero(issues)
    flagged = flagged[np.lexsort((locs[flagged], -confidence[flagged]))]
    mask = np.uint64((1 << LOC_SHIFT) - 1)
    rows = [
        {
            **row_ref(names[int(locs[i] >> np.uint64(LOC_SHIFT))], int(locs[i] & mask)),
            "label": _display(modelled[int(y[i])], class_names),
            "suggested": _display(modelled[int(suggested[i])], class_names),
            "confidence": round(float(confidence[i]), 4),
        }
        for i in flagged[:MAX_ROWS]
    ]
    per_class = {}
    for j, c in enumerate(modelled):
        nj = int((y == j).sum())
        fj = int(issues[y == j].sum())
        per_class[_display(c, class_names)] = {"rows": nj, "flagged": fj, "rate": round(fj / nj, 6) if nj else 0.0}
    judged = len(y)
    accuracy = float((suggested == y).mean())
    majority = float(np.bincount(y).max() / judged)
    skill = (accuracy - majority) / (1.0 - majority) if majority < 1.0 else 0.0
    observed: dict[str, Any] = {
        "count": len(flagged),
        "rate": round(len(flagged) / judged, 6),
        "rows": rows,
        "sample": {"rows": judged, "labelled_rows": sample.labelled, "complete": sample.labelled <= sample.k},
        "per_class": per_class,
        "not_modelled": [_display(c, class_names) for c in too_small],
        "model": ("SGD logistic regression on hashed TF-IDF" if has_text else "logistic regression")
        + f", {folds}-fold out-of-fold probabilities",
        "accuracy": round(accuracy, 4),
        "majority_share": round(majority, 4),
        "skill": round(skill, 4),
    }
    min_skill = settings.num("min_skill")
    if skill < min_skill:
        candidates = {"candidates": observed["count"], "accuracy": observed["accuracy"], "majority_share": observed["majority_share"], "skill": observed["skill"]}
        return skipped(
            settings.id,
            f"the features predict {sample.label_column!r} too weakly to tell label errors from hard rows: out-of-fold accuracy "
            f"{accuracy:.1%} against {majority:.1%} for the commonest class (skill {skill:.2f} < {min_skill:g}); "
            f"{len(flagged)} rows disagree confidently with the model",
            {**candidates, "sample": observed["sample"], "model": observed["model"]},
        )
    limit = settings.num("threshold")
    of = f"{judged} sampled rows" if sample.labelled > judged else f"{judged} rows"
    if len(flagged) <= math.floor(limit * judged):
        return passed(settings.id, f"{len(flagged)} likely label errors in {of} (tolerated: {limit:.1%})", observed)
    worst = max(per_class.items(), key=lambda kv: (kv[1]["rate"], kv[0]))
    return fired(
        settings,
        f"{len(flagged)} likely label errors in {of} ({len(flagged) / judged:.1%}); highest rate in class {worst[0]!r} ({worst[1]['rate']:.1%})",
        observed,
    )
