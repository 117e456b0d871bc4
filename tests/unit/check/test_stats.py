"""The statistics behind label_drift agree with scipy's reference implementations."""

from __future__ import annotations

import pytest

from datagate.check.labels import chi2_sf, chi_square, js_distance


@pytest.mark.parametrize(("stat", "df"), [(0.5, 1), (3.84, 1), (10.0, 4), (150.0, 9), (2.0, 30), (500.0, 3)])
def test_chi2_sf_matches_scipy(stat: float, df: int) -> None:
    from scipy.stats import chi2

    assert chi2_sf(stat, df) == pytest.approx(float(chi2.sf(stat, df)), rel=1e-6, abs=1e-300)


def test_chi_square_matches_scipy_contingency() -> None:
    from scipy.stats import chi2_contingency

    a = {"x": 30, "y": 50, "z": 20}
    b = {"x": 60, "y": 20, "z": 25}
    stat, df, p = chi_square(a, b)
    ref = chi2_contingency([[30, 50, 20], [60, 20, 25]], correction=False)
    assert stat == pytest.approx(ref.statistic) and df == ref.dof and p == pytest.approx(ref.pvalue)


def test_js_distance_matches_scipy() -> None:
    from scipy.spatial.distance import jensenshannon

    a = {"x": 30, "y": 50, "z": 20}
    b = {"x": 60, "y": 20, "w": 25}
    keys = ["x", "y", "z", "w"]
    ref = jensenshannon([a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys], base=2)
    assert js_distance(a, b) == pytest.approx(float(ref))
    assert js_distance(a, a) == 0.0
