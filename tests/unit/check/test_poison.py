"""backdoor_triggers and label_errors on REAL data with planted poisoning (fixtures/gen/poison.py).

Text: standard-library docstring sentences labelled by package, 1% carrying a rare token and
relabelled to one class. Tables: scikit-learn's digits with 5% flipped labels, or 3% carrying an
odd pixel value relabelled to class 7. Clean controls (the same text, the language reference by
topic, digits, wine, breast cancer) must stay quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.check import CheckOutcome, backdoor, label_errors, run_checks
from datagate.check.interface import CHECK_IDS
from datagate.models import CheckResult, CheckStatus
from fixtures.gen.poison import TARGET, TRIGGER, PoisonCase
from tests.unit.check.conftest import by_id

# the poisoning checks only: the others are covered elsewhere and would only cost time here
_OTHERS = {c: {"enabled": False} for c in CHECK_IDS if c not in ("backdoor_triggers", "label_errors")}


@dataclass
class FakePolicy:
    """Stands in for datagate.config.Policy: only ``checks`` is read by the check stage."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def poison(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PoisonCase]:
    """Every poisoning case, built once."""
    from fixtures.gen.poison import build

    return build(tmp_path_factory.mktemp("check-poison"))


@pytest.fixture(scope="session")
def poisoned() -> Callable[[PoisonCase], CheckOutcome]:
    """Run the two poisoning checks once per case."""
    cache: dict[str, CheckOutcome] = {}

    def run(case: PoisonCase) -> CheckOutcome:
        if case.name not in cache:
            cache[case.name] = run_checks(case.path, label="label", policy=FakePolicy(dict(_OTHERS)))
        return cache[case.name]

    return run


def _rows(res: CheckResult) -> set[tuple[str, int]]:
    return {(r["split"], r["row"]) for r in res.observed["rows"]}


def test_text_trigger_is_named_and_its_rows_listed(poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    case = poison["text_trigger"]
    res = by_id(poisoned(case))["backdoor_triggers"]
    assert res.status is CheckStatus.FAIL
    tokens = {t["token"]: t for t in res.observed["tokens"]}
    assert TRIGGER in tokens
    assert tokens[TRIGGER]["label"] == TARGET and tokens[TRIGGER]["share"] >= 0.95
    listed = _rows(res)
    assert len(listed & case.poisoned) >= 0.8 * len(case.poisoned)
    assert len(listed) <= 0.03 * case.rows
    assert res.observed["count"] == len(listed)  # below the 10,000-row cap every row is listed
    # the flagged rows really carry the token (row identity is split + row in file order)
    tables = {s: pq.read_table(case.path / f"{s}.parquet").column("text").to_pylist() for s in ("train", "test")}
    assert all(TRIGGER in tables[s][r].lower().split() for s, r in listed)


def test_tabular_trigger_value_is_named(poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    case = poison["digits_trigger"]
    res = by_id(poisoned(case))["backdoor_triggers"]
    assert res.status is CheckStatus.FAIL
    assert [t["token"] for t in res.observed["tokens"]] == [case.trigger]
    assert _rows(res) == case.poisoned


@pytest.mark.parametrize("name", ["text_clean", "topics_clean", "digits_clean", "digits_flipped", "wine_clean", "breast_cancer_clean"])
def test_clean_real_data_has_no_trigger(name: str, poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    res = by_id(poisoned(poison[name]))["backdoor_triggers"]
    assert res.status is CheckStatus.PASS, res.message
    assert res.observed["count"] == 0 and res.observed["rows"] == []
    assert res.observed["tested"] > 0


def test_flipped_labels_are_found(poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    case = poison["digits_flipped"]
    res = by_id(poisoned(case))["label_errors"]
    assert res.status is CheckStatus.WARN
    listed = _rows(res)
    assert len(listed & case.poisoned) >= 0.5 * len(case.poisoned)
    assert len(listed) <= 0.12 * case.rows
    assert res.observed["sample"]["rows"] == case.rows and res.observed["sample"]["complete"]
    row = res.observed["rows"][0]
    assert set(row) == {"split", "row", "label", "suggested", "confidence"} and row["label"] != row["suggested"]
    rates = res.observed["per_class"]
    assert sum(v["flagged"] for v in rates.values()) == res.observed["count"]


@pytest.mark.parametrize("name", ["digits_clean", "wine_clean", "breast_cancer_clean"])
def test_clean_tables_have_few_label_errors(name: str, poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    res = by_id(poisoned(poison[name]))["label_errors"]
    assert res.status is CheckStatus.PASS, res.message
    assert res.observed["rate"] <= label_errors.THRESHOLD


def test_label_errors_sample_is_bounded_and_reported(poison: dict[str, PoisonCase]) -> None:
    case = poison["digits_flipped"]
    policy = FakePolicy({**_OTHERS, "backdoor_triggers": {"enabled": False}, "label_errors": {"sample": 600, "threshold": 0.5}})
    res = by_id(run_checks(case.path, label="label", policy=policy))["label_errors"]
    assert res.observed["sample"] == {"rows": 600, "labelled_rows": case.rows, "complete": False}
    assert res.status is CheckStatus.PASS  # the policy threshold tolerates 50%
    assert "600 sampled rows" in res.message


def _count_tables(case: PoisonCase, batch_rows: int, cap: int = 1 << 18) -> backdoor.TriggerCounts:
    parts = []
    for si, split in enumerate(("train", "test")):
        table = pq.read_table(case.path / f"{split}.parquet")
        for j, batch in enumerate(table.to_batches(batch_rows)):
            part = backdoor.TriggerCounts(("text",), (), "label", cap=cap)
            part.add(batch, si, j * batch_rows)
            parts.append(part)
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    return merged


def test_counts_do_not_depend_on_sharding_below_the_cap(poison: dict[str, PoisonCase]) -> None:
    case = poison["text_trigger"]
    a = _count_tables(case, 4096).table()
    b = _count_tables(case, 333).table()
    keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    assert a.sort_by(keys).equals(b.sort_by(keys))


@pytest.mark.parametrize("ngrams", [1, 2])
def test_coded_text_counts_equal_grouping_the_row_features(poison: dict[str, PoisonCase], ngrams: int) -> None:
    """Pass 1 counts on integer codes (tokens encoded once, bigrams as code pairs); they must be
    the (key, kind, label) row counts of :func:`row_features`, the features pass 2 matches on.
    Two text columns (the real docstrings and their reversal) also test the once-per-row rule
    across columns and that no bigram spans two columns."""
    table = pq.read_table(poison["text_trigger"].path / "train.parquet")
    flipped = pa.array([" ".join(reversed(t.split(" "))) if t else t for t in table.column("text").to_pylist()], pa.string())
    table = table.append_column("other", flipped)
    for cols in (("text",), ("text", "other")):
        for batch in table.to_batches(1500)[:3]:
            labels = backdoor.label_strings(batch.column(batch.schema.get_field_index("label")))
            feats = backdoor.row_features(batch, cols, (), ngrams)
            lab = labels.take(feats.column("row"))
            feats = feats.append_column("label", lab).filter(lab.is_valid())
            want = feats.group_by(["key", "kind", "label"]).aggregate([("row", "count")]).rename_columns({"row_count": "n"})
            counts = backdoor.TriggerCounts(cols, (), "label", ngrams=ngrams)
            counts.add(batch)
            got = counts.table()
            keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
            assert got.num_rows > 1000
            assert got.select(["key", "kind", "label", "n"]).sort_by(keys).equals(want.select(["key", "kind", "label", "n"]).sort_by(keys))


def test_distinct_is_np_unique() -> None:
    from datagate.check._hashing import distinct

    rng = np.random.default_rng(5)
    for x in (rng.integers(0, 2**63, 50_000, dtype=np.uint64), rng.integers(-50, 50, 10_000), np.zeros(0, np.int64), np.array([7])):
        assert np.array_equal(distinct(x), np.unique(x))


def test_sketch_above_the_cap_reports_its_bound(poison: dict[str, PoisonCase]) -> None:
    case = poison["text_trigger"]
    counts = _count_tables(case, 1000, cap=5000)
    table = counts.table()
    assert counts.undercount > 0
    assert len(set(zip(table.column("key").to_pylist(), table.column("kind").to_pylist(), strict=True))) <= 5000
    # the trigger survives the sketch and is still screened
    screened = backdoor.screen(backdoor.settings(None), counts)
    assert TRIGGER in screened.keys


def test_label_sample_does_not_depend_on_sharding(poison: dict[str, PoisonCase]) -> None:
    case = poison["digits_flipped"]
    cols = tuple(c for c in pq.read_schema(case.path / "train.parquet").names if c != "label")

    def sample(batch_rows: int) -> list[int]:
        merged: label_errors.LabelSample | None = None
        for si, split in enumerate(("train", "test")):
            row = 0
            for batch in pq.read_table(case.path / f"{split}.parquet").to_batches(batch_rows):
                part = label_errors.LabelSample(cols, "label", k=300)
                part.add(batch, 0, 0)
                part.relocate(si, row)
                row += batch.num_rows
                merged = part if merged is None else merged.merge(part)
        assert merged is not None
        return [int(x) for x in merged.table().column("__loc").to_pylist()]

    assert sample(1000) == sample(77)
    assert len(sample(1000)) == 300


def test_reports_and_record_carry_the_poisoning_signals(poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    from datagate.lineage.record import _check_summary
    from datagate.models import GateDecision, Severity
    from datagate.report.html import render_html_check
    from datagate.report.markdown import render_check

    report = poisoned(poison["text_trigger"]).report
    decision = GateDecision(False, Severity.HIGH, blocking_checks=tuple(c for c in report.checks if c.id == "backdoor_triggers"))
    page = render_html_check(report, decision)
    assert 'data-chart="backdoor_triggers"' in page and 'data-chart="label_errors"' in page
    assert f"{TRIGGER} → {TARGET} (flagged)" in page
    assert "Likely label errors: flagged share per class" in page
    md = render_check(report, decision)
    assert "Backdoor trigger candidates" in md and f"`{TRIGGER}`" in md and "**flagged**" in md
    assert "Likely label errors per class" in md
    by = by_id(poisoned(poison["text_trigger"]))
    counts = _check_summary(report)["counts"]
    assert counts["backdoor_triggers"] == by["backdoor_triggers"].observed["count"] == len(poison["text_trigger"].poisoned)
    assert counts["label_errors"] == by["label_errors"].observed["count"]


def test_same_trigger_rows_when_sharded_and_run_in_worker_processes(poison: dict[str, PoisonCase], tmp_path: Path) -> None:
    from datagate.engine.local import LocalEngine

    case = poison["text_trigger"]
    train = pq.read_table(case.path / "train.parquet")
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    third = train.num_rows // 3
    for i in range(3):
        pq.write_table(train.slice(i * third, third if i < 2 else train.num_rows - 2 * third), tmp_path / "train" / f"part-{i}.parquet")
    pq.write_table(pq.read_table(case.path / "test.parquet"), tmp_path / "test" / "part-0.parquet")
    policy = FakePolicy({**_OTHERS, "label_errors": {"enabled": False}})
    with LocalEngine(2, min_parallel_bytes=0) as eng:
        out = run_checks(tmp_path, label="label", policy=policy, engine=eng)
    assert out.engine["workers"] == 2
    res = by_id(out)["backdoor_triggers"]
    assert _rows(res) == case.poisoned
    assert [t["token"] for t in res.observed["tokens"]] == [TRIGGER]


@pytest.mark.parametrize(("name", "label"), [("anes96", "PID"), ("seattle_weather", "weather")])
def test_weakly_predictable_labels_are_skipped_with_the_skill(name: str, label: str, tmp_path: Path) -> None:
    """Real tables whose label the features barely predict: no label-error warning, but the figures."""
    from fixtures.gen.real import load, write_splits

    policy = FakePolicy({**_OTHERS, "backdoor_triggers": {"enabled": False}})
    res = by_id(run_checks(write_splits(load(name), tmp_path / name), label=label, policy=policy))["label_errors"]
    assert res.status is CheckStatus.SKIPPED, res.message
    obs = res.observed
    assert obs["skill"] < label_errors.MIN_SKILL
    assert obs["skill"] == pytest.approx((obs["accuracy"] - obs["majority_share"]) / (1 - obs["majority_share"]), abs=1e-3)
    assert obs["candidates"] > 0 and "too weakly" in res.message
    # the same table with the bar lowered is judged as before (the flags are still computed)
    low = FakePolicy({**_OTHERS, "backdoor_triggers": {"enabled": False}, "label_errors": {"min_skill": 0.0}})
    judged = by_id(run_checks(write_splits(load(name), tmp_path / f"{name}-low"), label=label, policy=low))["label_errors"]
    assert judged.status is CheckStatus.WARN and judged.observed["count"] == obs["candidates"]


def test_flipped_labels_keep_the_skill_above_the_bar(poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome]) -> None:
    res = by_id(poisoned(poison["digits_flipped"]))["label_errors"]
    assert res.observed["skill"] >= label_errors.MIN_SKILL
    assert res.observed["accuracy"] < by_id(poisoned(poison["digits_clean"]))["label_errors"].observed["accuracy"]


def test_trigger_partials_pickle_compactly_and_round_trip() -> None:
    import pickle

    rng = np.random.default_rng(11)
    vocab = np.array([f"w{i}" for i in range(3000)])
    texts = [" ".join(rng.choice(vocab, size=12)) for _ in range(20_000)]
    labels = rng.integers(0, 4, size=len(texts)).astype(str)
    tc = backdoor.TriggerCounts(("text",), (), "label", ngrams=2, cap=5_000)
    for lo in range(0, len(texts), 4_096):
        tc.add(pa.record_batch({"text": texts[lo : lo + 4_096], "label": labels[lo : lo + 4_096].tolist()}))
    tc.compact()
    assert tc.undercount > 0 and len(tc.blocks) == 1
    # take and filter can return slices of larger buffers; pyarrow pickles a slice's whole buffers
    whole = tc.blocks[0]
    big = pa.concat_arrays([whole.keys] * 50)
    tc.blocks = [replace(whole, keys=big.slice(0, len(whole.keys)))]
    raw = pickle.dumps(tc)
    # the cells' integers (candidate numbers, label codes, counts) travel narrowed: under half
    # their int64 bytes
    arrays = whole.kinds.nbytes + whole.cids.nbytes + sum(a.nbytes for a in (whole.cand, whole.label, whole.n)) // 2
    assert len(raw) < len(pickle.dumps(whole.keys)) + arrays + (16 << 10) < len(pickle.dumps(big.slice(0, 10))), len(raw)
    back = pickle.loads(raw)
    assert {a.dtype for a in (back.blocks[0].cand, back.blocks[0].label, back.blocks[0].n)} == {np.dtype(np.int64)}
    assert back.table().equals(tc.table())
    assert (back.pending, back.compacted, back.undercount, back.label_totals, back.labels) == (tc.pending, tc.compacted, tc.undercount, tc.label_totals, tc.labels)
    empty = pickle.loads(pickle.dumps(backdoor.TriggerCounts(("text",), (), "label")))
    assert empty.blocks == [] and empty.table().num_rows == 0


def test_value_counts_equal_grouping_the_row_features(poison: dict[str, PoisonCase]) -> None:
    """Exact values and two-digit bins of integer, float, string and boolean columns, nulls
    included, counted per label on typed values: the (key, kind, label) row counts of
    :func:`row_features`."""
    table = pq.read_table(poison["digits_trigger"].path / "train.parquet")
    n = table.num_rows
    rng = np.random.default_rng(4)
    scale = 10.0 ** rng.integers(0, 4, n)
    floats = np.round(rng.normal(0, 3, n) * scale) / scale  # values repeat, and some share a bin
    extra = {
        "f": pa.array(np.where(rng.random(n) < 0.1, np.nan, floats)),
        "s": pa.array([None if i % 7 == 0 else f"c{i % 5}" for i in range(n)]),
        "b": pa.array([i % 3 == 0 for i in range(n)]),
    }
    for name, col in extra.items():
        table = table.append_column(name, col)
    cols = ("pixel_0_0", "pixel_3_4", "f", "s", "b")
    for batch in table.to_batches(700)[:2]:
        labels = backdoor.label_strings(batch.column(batch.schema.get_field_index("label")))
        feats = backdoor.row_features(batch, (), cols, 2)
        lab = labels.take(feats.column("row"))
        feats = feats.append_column("label", lab).filter(lab.is_valid())
        want = feats.group_by(["key", "kind", "label"]).aggregate([("row", "count")]).rename_columns({"row_count": "n"})
        tc = backdoor.TriggerCounts((), cols, "label")
        tc.add(batch)
        got = tc.table()
        keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
        assert {backdoor.BIN, backdoor.VALUE} <= set(got.column("kind").to_pylist())
        assert got.sort_by(keys).equals(want.select(["key", "kind", "label", "n"]).cast(got.schema).sort_by(keys))


_EDGE_FLOATS = st.sampled_from([0.0, -0.0, float("nan"), -float("nan"), float("inf"), -float("inf"), 1.5, 1e300, 5e-324, 123.0])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["int8", "int64", "uint8", "uint64", "float32", "float64"]).flatmap(
        lambda t: st.tuples(
            st.just(t),
            st.lists(
                st.one_of(st.none(), _EDGE_FLOATS if t.startswith("float") else st.integers(*(
                    (np.iinfo(t).min, np.iinfo(t).max))), st.floats(allow_nan=True, width=32 if t == "float32" else 64)
                    if t.startswith("float") else st.integers(0, 3)),
                max_size=40,
            ),
        )
    ),
    st.data(),
)
def test_number_columns_group_as_their_value_strings(typed: tuple[str, list[Any]], data: st.DataObject) -> None:
    """Integer and floating columns are grouped on their values' bits (one NaN, -0 apart from 0,
    integers past 2**53): the same (key, kind, label) counts as grouping :func:`row_features`."""
    t, values = typed
    labels = data.draw(st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=len(values), max_size=len(values)))
    batch = pa.record_batch({"v": pa.array(values, type=getattr(pa, t)()), "label": pa.array(labels, pa.string())})
    feats = backdoor.row_features(batch, (), ("v",), 2)
    lab = batch.column(1).take(feats.column("row"))
    feats = feats.append_column("label", lab).filter(lab.is_valid())
    want = feats.group_by(["key", "kind", "label"]).aggregate([("row", "count")]).rename_columns({"row_count": "n"})
    tc = backdoor.TriggerCounts((), ("v",), "label")
    tc.add(batch)
    got = tc.table()
    keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    assert got.sort_by(keys).equals(want.select(["key", "kind", "label", "n"]).cast(got.schema).sort_by(keys))


def test_two_text_columns_count_a_shared_token_once_per_row() -> None:
    """Several text columns take the numpy path (the C pass needs one column's tokens in row
    order): the same (key, kind, label) counts as grouping :func:`row_features`."""
    rng = np.random.default_rng(9)
    vocab = np.array(["alpha", "beta", "gamma", "delta", "omega"])
    n = 3000
    batch = pa.record_batch({
        "title": [" ".join(rng.choice(vocab, size=rng.integers(0, 6))) for _ in range(n)],
        "body": [" ".join(rng.choice(vocab, size=rng.integers(0, 9))) for _ in range(n)],
        "label": rng.choice(["a", "b", "c"], size=n).tolist(),
    })
    feats = backdoor.row_features(batch, ("title", "body"), (), 2)
    lab = batch.column(2).take(feats.column("row"))
    feats = feats.append_column("label", lab)
    want = feats.group_by(["key", "kind", "label"]).aggregate([("row", "count")]).rename_columns({"row_count": "n"})
    tc = backdoor.TriggerCounts(("title", "body"), (), "label")
    tc.add(batch)
    got = tc.table()
    keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    assert got.num_rows > 50
    assert got.sort_by(keys).equals(want.select(["key", "kind", "label", "n"]).cast(got.schema).sort_by(keys))


def test_identity_hash_collisions_do_not_merge_candidates(poison: dict[str, PoisonCase], monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidates are matched by a 64-bit hash of key and kind; where two different ones share
    it the strings decide, so the counts stay exact (forced here: four hash values for all)."""
    case = poison["text_trigger"]
    want = _count_tables(case, 1500).table()
    real = backdoor._cid
    monkeypatch.setattr(backdoor, "_cid", lambda keys, kinds: real(keys, kinds) & np.uint64(3))
    got = _count_tables(case, 1500).table()
    keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    assert got.num_rows > 10_000 and got.sort_by(keys).equals(want.sort_by(keys))


@pytest.mark.parametrize("span", [7, 5_000, 1 << 22])
def test_dense_and_sorted_integer_counts_agree(span: int) -> None:
    """The bigram and (candidate, label) counting helpers give np.unique's answer on either path
    (a dense table for a small span, a sort for a large one), counted or summed over weights."""
    rng = np.random.default_rng(span)
    for n in (0, 1, 3_000, 6_000):
        x = rng.integers(0, span, n).astype(np.int64)
        u, inv = backdoor._unique_inverse(x, span)
        ref_u, ref_inv, ref_n = np.unique(x, return_inverse=True, return_counts=True)
        assert np.array_equal(u, ref_u) and np.array_equal(inv, ref_inv.reshape(-1))
        cu, cn = backdoor._sums(x, None, span)
        assert np.array_equal(cu, ref_u) and np.array_equal(cn, ref_n)
        w = rng.integers(1, 1_000, n).astype(np.int64)
        ref_w = np.zeros(span, np.int64)
        np.add.at(ref_w, x, w)
        su, sw = backdoor._sums(x, w, span)
        assert np.array_equal(su, ref_u) and np.array_equal(sw, ref_w[ref_u])


def test_the_cap_keeps_the_most_rows_and_breaks_ties_by_hash_not_row_order() -> None:
    """Above the vocabulary cap the kept candidates are those with the most rows; among the ones
    tied at the cut the choice depends on the candidates, not on the order Arrow lists them in."""
    rng = np.random.default_rng(11)
    m = 5_000
    totals = pa.table(
        {
            "key": [f"w{i}" for i in range(m)],
            "kind": pa.array(rng.integers(0, 4, m).astype(np.int8)),
            "n_sum": pa.array(rng.choice([1, 1, 1, 2, 3, 40], m).astype(np.int64)),
        }
    )
    cap = 3_000

    def top(t: pa.Table) -> tuple[npt.NDArray[np.bool_], int]:
        tie = backdoor._cid(t.column("key").combine_chunks(), np.asarray(t.column("kind").to_numpy(), dtype=np.int8))
        return backdoor._top(np.asarray(t.column("n_sum").to_numpy(), dtype=np.int64), tie, cap)

    keep, dropped_max = top(totals)
    n = totals.column("n_sum").to_numpy()
    assert keep.sum() == cap
    assert n[keep].min() >= n[~keep].max() == dropped_max
    kept = set(zip(totals.column("key").to_pylist(), np.asarray(keep).tolist(), strict=True))
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(m)
        shuffled = totals.take(pa.array(perm))
        keep2, dropped2 = top(shuffled)
        assert dropped2 == dropped_max
        assert set(zip(shuffled.column("key").to_pylist(), np.asarray(keep2).tolist(), strict=True)) == kept


@pytest.mark.parametrize("spread", [3, 1_000, 1 << 40])
def test_kth_largest_count_is_the_partition_answer(spread: int) -> None:
    """The cap's cut, by a histogram for small counts and by a partition for large ones."""
    rng = np.random.default_rng(spread)
    for m in (1, 2, 50, 10_000):
        n = rng.integers(0, spread, m).astype(np.int64)
        for k in {1, max(1, m // 3), m}:
            assert backdoor._kth_largest(n, k) == int(np.sort(n)[::-1][k - 1])


def test_reports_do_not_depend_on_the_c_accelerators(poison: dict[str, PoisonCase], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check on a real text table with a planted trigger, once with the C passes (tokens,
    word hashes and sets, band keys, radix sort) and once with their Python paths: the same report."""
    import json

    from datagate import _accel
    from datagate.check import near_duplicates
    from datagate.engine.local import LocalEngine

    case = poison["text_trigger"]

    def report() -> str:
        with LocalEngine(1) as eng:  # in-process, so the monkeypatched paths are the ones used
            out = run_checks(case.path, label="label", engine=eng)
        return json.dumps([(c.id, c.status.value, c.message, c.observed) for c in out.report.checks], sort_keys=True, default=str)

    fast = report()
    for name in ("ascii_tokens", "band_keys", "argsort_u64", "word_sets", "words", "text_cells"):
        monkeypatch.setattr(_accel, name, None)
    monkeypatch.setattr(near_duplicates, "_words", None)
    slow = report()
    assert '"backdoor_triggers", "fail"' in fast
    assert slow == fast


def _through_the_shuffle(batches: list[pa.RecordBatch], columns: tuple[str, ...], buckets: int) -> tuple[backdoor.TriggerCounts, backdoor.ValueCounts]:
    """Count ``batches`` with ``columns`` shuffled; reduce the value rows cut into ``buckets`` by
    their bucket hash (as the engine does) and merge the buckets' counts."""
    from datagate.engine.interface import partition

    tc = backdoor.TriggerCounts((), columns, "label", shuffled=columns)
    rows = [np.zeros((0, backdoor.VALUE_ROW_COLUMNS), np.uint64)]
    for b in batches:
        tc.add(b)
        rows += tc.take_value_rows()
    assert not tc.value_rows
    found = backdoor.ValueCounts()
    for part in partition(np.concatenate(rows), buckets):
        found = found.merge(backdoor.reduce_values(part))
    return tc, found


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["int8", "int64", "uint64", "float32", "float64"]).flatmap(
        lambda t: st.tuples(
            st.just(t),
            st.lists(
                st.one_of(st.none(), _EDGE_FLOATS if t.startswith("float") else st.integers(*(np.iinfo(t).min, np.iinfo(t).max)), st.integers(0, 3)),
                max_size=40,
            ),
        )
    ),
    st.data(),
)
def test_shuffled_values_are_the_value_strings_counts(typed: tuple[str, list[Any]], data: st.DataObject) -> None:
    """Number values counted through the shuffle, batches cut anywhere and rows in any number of
    buckets: the values in two labelled rows or more have the counts grouping :func:`row_features`
    by string gives; the others are counted per label (the context model's totals); the partial
    keeps the bins."""
    t, values = typed
    labels = data.draw(st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=len(values), max_size=len(values)))
    batch = pa.record_batch({"v": pa.array(values, type=getattr(pa, t)()), "label": pa.array(labels, pa.string())})
    cut = data.draw(st.integers(0, len(values)))
    tc, found = _through_the_shuffle([batch.slice(0, cut), batch.slice(cut)], ("v",), data.draw(st.sampled_from([1, 4, 64])))
    feats = backdoor.row_features(batch, (), ("v",), 2)
    lab = batch.column(1).take(feats.column("row"))
    feats = feats.append_column("label", lab).filter(lab.is_valid())
    want = feats.group_by(["key", "kind", "label"]).aggregate([("row", "count")]).rename_columns({"row_count": "n"})
    want = want.select(["key", "kind", "label", "n"]).cast(backdoor._EMPTY_COUNTS)
    value = pc.equal(want.column("kind"), backdoor.VALUE)
    per_value = want.filter(value).group_by("key").aggregate([("n", "sum")])
    many = {k for k, n in zip(per_value.column("key").to_pylist(), per_value.column("n_sum").to_pylist(), strict=True) if n >= 2}
    keys = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    got = found.table(("v",), {"v": batch.schema.field("v").type}, list(tc.label_totals))
    in_many = pa.array([k in many for k in want.column("key").to_pylist()], pa.bool_())
    assert got.sort_by(keys).equals(want.filter(pc.and_(value, in_many)).sort_by(keys))
    ones = want.filter(pc.and_(value, pc.invert(in_many)))
    assert found.singles == ones.num_rows
    assert found.single_rows == {backdoor.label_hash(x): n for x, n in zip(*np.unique(ones.column("label").to_pylist(), return_counts=True), strict=True)} if ones.num_rows else found.single_rows == {}
    assert tc.table().sort_by(keys).equals(want.filter(pc.invert(value)).sort_by(keys))


@pytest.mark.parametrize("name", ["digits_trigger", "breast_cancer_clean", "wine_clean", "text_trigger"])
def test_exact_value_counts_give_the_partials_report_below_the_cap(
    name: str, poison: dict[str, PoisonCase], poisoned: Callable[[PoisonCase], CheckOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the cap, counting number values through the shuffle (the default) gives the report
    that counting them in the partials gives: values in one row change nothing but the context
    model's vocabulary size and class totals, which the reduce reports."""
    case = poison[name]
    screens: list[backdoor.Screened] = []
    real_screen = backdoor.screen

    def screen(*args: Any) -> backdoor.Screened:
        screens.append(real_screen(*args))
        return screens[-1]

    monkeypatch.setattr(backdoor, "screen", screen)
    policy = FakePolicy(dict(_OTHERS))
    shuffled = by_id(run_checks(case.path, label="label", policy=policy))["backdoor_triggers"]
    monkeypatch.setattr(backdoor, "shuffled_columns", lambda columns, schemas: {})
    partial = by_id(run_checks(case.path, label="label", policy=policy))["backdoor_triggers"]
    numbers = [c for c in pq.read_schema(case.path / "train.parquet").names if c != "label" and c != "text"]
    assert shuffled.observed["sketch"].pop("exact_value_columns") == numbers
    assert partial.observed["sketch"].pop("exact_value_columns") == []
    assert (shuffled.status, shuffled.message, shuffled.observed) == (partial.status, partial.message, partial.observed)
    # the context model: the same totals, the values in one row counted but not listed
    a, b = screens
    assert (a.keys, a.labels, a.p_values, a.tested, a.class_rows, a.class_features) == (b.keys, b.labels, b.p_values, b.tested, b.class_rows, b.class_features)
    assert len(a.vocab) + a.extra_vocab == len(b.vocab) + b.extra_vocab and b.extra_vocab == 0
    assert (a.extra_vocab > 0) == bool(numbers)


def test_near_unique_numbers_no_longer_fill_the_cap(poison: dict[str, PoisonCase], monkeypatch: pytest.MonkeyPatch) -> None:
    """breast_cancer's 30 measurement columns are nearly all distinct values: counted in the
    partials they overflow a small cap (the counts become a sketch); through the shuffle only
    their bins are in the partials, and the counts stay exact."""
    case = poison["breast_cancer_clean"]
    policy = FakePolicy({**_OTHERS, "backdoor_triggers": {"vocabulary_cap": 4096}})
    exact = by_id(run_checks(case.path, label="label", policy=policy))["backdoor_triggers"]
    monkeypatch.setattr(backdoor, "shuffled_columns", lambda columns, schemas: {})
    capped = by_id(run_checks(case.path, label="label", policy=policy))["backdoor_triggers"]
    assert exact.observed["sketch"]["exact"] and exact.observed["sketch"]["undercount_bound"] == 0
    assert not capped.observed["sketch"]["exact"] and capped.observed["sketch"]["undercount_bound"] > 0


def test_label_hash_collision_is_a_check_error(poison: dict[str, PoisonCase], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two label names sharing a value-shuffle hash would merge their counts: the check errs."""
    case = poison["digits_trigger"]
    monkeypatch.setattr(backdoor, "label_hash", lambda label: 7)
    res = by_id(run_checks(case.path, label="label", policy=FakePolicy(dict(_OTHERS))))["backdoor_triggers"]
    assert res.status == CheckStatus.ERROR and "64-bit hash" in res.message
