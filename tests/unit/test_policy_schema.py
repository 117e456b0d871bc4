"""The policy JSON Schema: strict in every section, in step with the code (issue 14)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import datagate.check
from datagate.acquire import trust
from datagate.cli import main
from datagate.config import STARTER_POLICY, Policy, load_policy, policy_schema, schema_problems
from datagate.errors import ConfigError
from datagate.scan.interface import Limits


def _check_defaults() -> dict[str, dict[str, Any]]:
    """Every check's id and default options, from the check modules' own settings functions."""
    out: dict[str, dict[str, Any]] = {}
    for info in pkgutil.iter_modules(datagate.check.__path__):
        mod = importlib.import_module(f"datagate.check.{info.name}")
        for name, fn in vars(mod).items():
            if name.endswith("settings") and name != "settings_for" and callable(fn) and getattr(fn, "__module__", "") == mod.__name__:
                s = fn(None)
                out[s.id] = dict(s.options)
    return out


def test_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(policy_schema())
    assert "one line" in policy_schema()["description"].lower() or "ONE line" in policy_schema()["description"]


def test_every_check_and_option_is_in_the_schema() -> None:
    declared = policy_schema()["properties"]["checks"]["properties"]
    defaults = _check_defaults()
    assert defaults, "no check settings found"
    assert set(declared) == set(defaults), "add (or remove) the check id in datagate/schemas/policy.schema.json"
    for cid, opts in defaults.items():
        assert set(declared[cid].get("properties", {})) == set(opts), cid
        assert schema_problems({"checks": {cid: {**opts, "enabled": True, "severity": "high"}}}) == [], cid


def test_scan_limits_and_trust_keys_are_in_the_schema() -> None:
    props = policy_schema()["properties"]
    assert set(props["scan"]["properties"]["limits"]["properties"]) == {f.name for f in fields(Limits)}
    assert set(trust._KNOWN_KEYS) <= set(props["trust"]["properties"])


def test_starter_policy_is_valid() -> None:
    assert schema_problems(yaml.safe_load(STARTER_POLICY)) == []
    uncommented = "\n".join(
        line[1:] if line.startswith("#  ") else line for line in STARTER_POLICY.splitlines()
    ).replace("waivers: []", "waivers:").replace("checks: {}", "checks:").replace("trust: {}", "trust:").replace("scan: {}", "scan:")
    raw = yaml.safe_load(uncommented)
    raw["waivers"][0]["sha256"] = "0" * 64
    assert schema_problems(raw) == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"scan": {"strikt": True}}, "scan.strikt: unknown key (known: strict, limits)"),
        ({"scan": {"strict": "maybe"}}, "scan.strict: 'maybe' is not of type 'boolean'"),
        ({"checks": {"outlier": {}}}, "checks.outlier: unknown check id"),
        ({"checks": {"outliers": {"warp": 3}}}, "checks.outliers.warp: unknown key (known: enabled, severity, threshold"),
        ({"trust": {"min_download": 5}}, "trust.min_download: unknown key"),
        ({"trust": {"min_downloads": -5}}, "trust.min_downloads: -5 is less than the minimum of 0"),
        ({"fail_on": "hihg"}, "fail_on: 'hihg' is not one of info, low, medium, high, critical"),
        ({"waivers": [{"path": "a", "sha256": "xyz", "reason": "r"}]}, "waivers[0].sha256: 'xyz' is not a SHA-256"),
        ({"signing": {"kee": "k.pem"}}, "signing.kee: unknown key"),
        ({"polcy": 1}, "polcy: unknown key"),
        ({"version": 2}, "version: 1 was expected"),
        ({"scan": {"limits": {"max_depth": 0}}}, "scan.limits.max_depth: 0 is less than or equal to the minimum of 0"),
    ],
)
def test_typos_and_bad_values_are_named_with_their_path(policy: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_raw(policy, source="p.yaml")
    assert expected in info.value.message


def test_every_problem_is_listed_at_once() -> None:
    raw = {"scan": {"strikt": True, "strict": "maybe"}, "trust": {"min_downloads": -5, "x": 1}, "checks": {"outliers": {"warp": 1}}}
    with pytest.raises(ConfigError, match=r"p\.yaml: 5 problem\(s\)"):
        Policy.from_raw(raw, source="p.yaml")


def test_valid_policies_load() -> None:
    pol = Policy.from_raw({"fail_on": "Medium", "checks": {"gx.sample": {"enabled": False}, "outliers": {"threshold": 8}},
                           "trust": {"min_downloads": None, "severity": {"trust.card.missing": "off"}},
                           "scan": {"strict": True, "limits": {"max_seconds_per_file": 30}}})
    assert pol.scan["strict"] is True


@pytest.mark.parametrize("command", ["scan", "check"])
def test_scan_and_check_reject_the_same_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    (tmp_path / "train.csv").write_text("text,label\na,1\nb,0\n")
    pol = tmp_path / "policy.yaml"
    pol.write_text("checks:\n  outliers: {warp: 3}\nscan: {strikt: true}\n")
    code = main([command, str(tmp_path / "train.csv"), "--policy", str(pol)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "checks.outliers.warp: unknown key" in err and "scan.strikt: unknown key" in err


def test_load_policy_names_the_file(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text("trust: {min_downloads: -5}\n")
    with pytest.raises(ConfigError, match=str(pol)):
        load_policy(pol)
