"""Trust signals and trust-policy rules (datagate.acquire.trust), no network."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from datagate.acquire.trust import (
    DEFAULT_SEVERITIES,
    WELL_KNOWN_OWNERS,
    TrustPolicy,
    TrustSignals,
    card_licenses,
    edit_distance,
    evaluate,
    evaluate_security,
    lookalike_of,
)
from datagate.errors import ConfigError
from datagate.models import Severity

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def signals(repo_id: str = "acme/reviews", **kw: object) -> TrustSignals:
    owner, name = repo_id.split("/")
    base: dict[str, object] = {
        "author": owner,
        "account_created_at": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        "repo_created_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        "downloads": 5000,
        "likes": 20,
        "licenses": ("mit",),
        "card_present": True,
    }
    base.update(kw)
    return TrustSignals(repo_id=repo_id, owner=owner, name=name, **base)  # type: ignore[arg-type]  # test helper


def rules(found: tuple[object, ...]) -> dict[str, Severity]:
    return {f.rule: f.severity for f in found}  # type: ignore[attr-defined]  # Findings


def test_a_well_established_repo_has_no_findings() -> None:
    assert evaluate(signals(), TrustPolicy(), now=NOW) == ()


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("kitten", "sitting", 3),
        ("openai", "openai", 0),
        ("openai", "opneai", 1),  # neighbours swapped count once
        ("", "abc", 3),
        ("google", "gooogle", 1),
    ],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


@pytest.mark.parametrize(
    ("owner", "target"),
    [
        ("facebok", "facebook"),  # one letter dropped
        ("gooogle", "google"),  # one letter added
        ("microsfot", "microsoft"),  # neighbours swapped
        ("meta-llarna", "meta-llama"),  # rn looks like m
        ("0penai", "openai"),  # zero for o
        ("a11enai", "allenai"),  # ones for ls
        ("EIeutherAI", "EleutherAI"),  # capital I for l
        ("mistral-ai", "mistralai"),
    ],
)
def test_lookalike_owners_are_caught(owner: str, target: str) -> None:
    assert lookalike_of(owner, WELL_KNOWN_OWNERS) == target
    found = evaluate(signals(f"{owner}/data"), TrustPolicy(), now=NOW)
    assert rules(found) == {"trust.lookalike.owner": Severity.HIGH}
    assert found[0].evidence["imitates"] == target
    assert found[0].category == "trust" and target in found[0].message


@pytest.mark.parametrize(
    "owner", ["openai", "OpenAI", "allenai", "acme", "stanford-crfm", "my-team"]
)
def test_genuine_or_unrelated_owners_are_not_lookalikes(owner: str) -> None:
    assert lookalike_of(owner, WELL_KNOWN_OWNERS) is None


def test_lookalike_dataset_id_under_another_owner() -> None:
    found = evaluate(signals("tatsu-labs/alpaca"), TrustPolicy(), now=NOW)
    assert rules(found) == {
        "trust.lookalike.owner": Severity.HIGH
    }  # the owner already imitates tatsu-lab
    found = evaluate(
        signals("rajpurkr/squad"),
        TrustPolicy(well_known_owners=(), well_known_datasets=("rajpurkar/squad",)),
        now=NOW,
    )
    assert rules(found) == {"trust.lookalike.name": Severity.HIGH}
    assert evaluate(signals("rajpurkar/squad"), TrustPolicy(), now=NOW) == ()


def test_allowed_owner_is_never_a_lookalike_and_others_are_not_allowed() -> None:
    pol = TrustPolicy.from_mapping({"allowed_owners": ["facebok", "acme"]})
    assert evaluate(signals("facebok/data"), pol, now=NOW) == ()
    assert rules(evaluate(signals("other/data"), pol, now=NOW)) == {
        "trust.owner.not_allowed": Severity.HIGH
    }


def test_blocked_owner_is_critical() -> None:
    pol = TrustPolicy.from_mapping({"blocked_owners": ["ACME"]})
    assert rules(evaluate(signals(), pol, now=NOW)) == {"trust.owner.blocked": Severity.CRITICAL}


def test_license_rules() -> None:
    pol = TrustPolicy.from_mapping({"allowed_licenses": ["Apache-2.0", "cc-by-4.0"]})
    assert rules(evaluate(signals(licenses=("mit",)), pol, now=NOW)) == {
        "trust.license.not_allowed": Severity.HIGH
    }
    assert evaluate(signals(licenses=("apache-2.0",)), pol, now=NOW) == ()
    assert rules(evaluate(signals(licenses=()), pol, now=NOW)) == {
        "trust.license.missing": Severity.LOW
    }
    # no allow-list: any declared license is fine, none is a low finding
    assert rules(evaluate(signals(licenses=()), TrustPolicy(), now=NOW)) == {
        "trust.license.missing": Severity.LOW
    }


def test_downloads_likes_and_ages() -> None:
    pol = TrustPolicy.from_mapping(
        {
            "min_downloads": 10_000,
            "min_likes": 50,
            "min_account_age_days": 90,
            "min_repo_age_days": 30,
        }
    )
    young = signals(
        account_created_at=NOW - dt.timedelta(days=3),
        repo_created_at=NOW - dt.timedelta(days=1),
        downloads=12,
        likes=0,
    )
    found = evaluate(young, pol, now=NOW)
    assert rules(found) == {
        "trust.account.new": Severity.MEDIUM,
        "trust.downloads.low": Severity.MEDIUM,
        "trust.likes.low": Severity.LOW,
        "trust.repo.new": Severity.LOW,
    }
    # unknown downloads fail closed when a minimum is set; unknown account age is not guessed
    unknown = evaluate(signals(downloads=None, account_created_at=None), pol, now=NOW)
    assert "trust.downloads.low" in rules(unknown) and "trust.account.new" not in rules(unknown)
    # the default policy asks for a 30-day-old account
    assert rules(evaluate(young, TrustPolicy(), now=NOW)) == {"trust.account.new": Severity.MEDIUM}


def test_card_missing_and_disabled() -> None:
    assert rules(evaluate(signals(card_present=False), TrustPolicy(), now=NOW)) == {
        "trust.card.missing": Severity.LOW
    }
    pol = TrustPolicy.from_mapping({"require_card": False})
    assert evaluate(signals(card_present=False), pol, now=NOW) == ()
    assert rules(evaluate(signals(disabled=True), TrustPolicy(), now=NOW)) == {
        "trust.repo.disabled": Severity.HIGH
    }


def test_policy_can_raise_lower_and_turn_off_each_rule() -> None:
    base = signals("facebok/data", licenses=(), card_present=False)
    pol = TrustPolicy.from_mapping(
        {
            "severity": {
                "trust.lookalike.owner": "low",
                "trust.license.missing": "critical",
                "trust.card.missing": "off",
            }
        }
    )
    assert rules(evaluate(base, pol, now=NOW)) == {
        "trust.license.missing": Severity.CRITICAL,
        "trust.lookalike.owner": Severity.LOW,
    }


def test_well_known_lists_can_be_replaced_or_extended() -> None:
    pol = TrustPolicy.from_mapping({"extra_well_known_owners": ["datagate-org"]})
    assert rules(evaluate(signals("datagate-orq/x"), pol, now=NOW)) == {
        "trust.lookalike.owner": Severity.HIGH
    }
    pol = TrustPolicy.from_mapping({"well_known_owners": ["datagate-org"]})
    assert evaluate(signals("facebok/x"), pol, now=NOW) == ()
    pol = TrustPolicy.from_mapping({"lookalike_distance": 3})
    assert lookalike_of("faceboooks", pol.well_known_owners, pol.lookalike_distance) == "facebook"


def test_invalid_policy_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        TrustPolicy.from_mapping(
            {
                "allowed_licenses": "mit",
                "min_downloads": -1,
                "require_card": "yes",
                "severity": {"trust.nope": "high", "trust.card.missing": "severe"},
                "well_known_datasets": ["no-slash"],
                "typo_key": 1,
            }
        )
    msg = err.value.message
    for part in (
        "trust.allowed_licenses",
        "trust.min_downloads",
        "trust.require_card",
        "trust.severity.trust.nope",
        "trust.severity.trust.card.missing",
        "trust.well_known_datasets",
        "trust.typo_key",
    ):
        assert part in msg


def test_every_rule_has_a_default_severity_that_can_be_overridden() -> None:
    for rule in DEFAULT_SEVERITIES:
        pol = TrustPolicy.from_mapping({"severity": {rule: "info"}})
        assert pol.severity(rule) is Severity.INFO
        assert TrustPolicy.from_mapping({"severity": {rule: "off"}}).severity(rule) is None


def test_security_statuses() -> None:
    found = evaluate_security(
        "acme/x", {"a.pkl": "unsafe", "b.csv": "safe", "c.bin": "caution", "d.txt": None}
    )
    assert [(f.path, f.rule, f.severity) for f in found] == [
        ("a.pkl", "trust.hub_scan.unsafe", Severity.HIGH),
        ("c.bin", "trust.hub_scan.caution", Severity.MEDIUM),
    ]
    off = TrustPolicy.from_mapping({"severity": {"trust.hub_scan.caution": "off"}})
    assert [f.path for f in evaluate_security("acme/x", {"c.bin": "caution"}, off)] == []


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ({"license": "MIT"}, ("mit",)),
        ({"license": ["apache-2.0", "cc-by-4.0", "apache-2.0"]}, ("apache-2.0", "cc-by-4.0")),
        ({"license": None}, ()),
        ({}, ()),
        (None, ()),
        ({"license": 3}, ()),
    ],
)
def test_card_licenses(card: object, expected: tuple[str, ...]) -> None:
    assert card_licenses(card) == expected


def test_signals_serialise_to_json_with_iso_dates() -> None:
    data = signals(gated="manual", tags=("b", "a")).to_dict()
    text = json.dumps(data, sort_keys=True)
    assert data["account_created_at"] == "2020-01-01T00:00:00Z"
    assert data["licenses"] == ["mit"] and data["gated"] == "manual"
    assert json.loads(text) == data
    assert set(data) == {f.name for f in dataclasses.fields(TrustSignals)}
