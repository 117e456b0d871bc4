"""Trust signals of a Hub dataset and the policy rules that turn them into findings.

>>> from datagate.acquire.trust import TrustPolicy, TrustSignals, evaluate
>>> signals = TrustSignals(repo_id="meta-llarna/data", owner="meta-llarna", name="data")
>>> [f.rule for f in evaluate(signals, TrustPolicy())]
['trust.card.missing', 'trust.license.missing', 'trust.lookalike.owner']

:class:`TrustSignals` is what the Hub says about a repo and its publisher (recorded verbatim in
the lineage record, never a secret). :class:`TrustPolicy` is the validated ``trust:`` section of
the policy file; :func:`evaluate` returns one :class:`~datagate.models.Finding` (category
``trust``) per rule that fires, each with a default severity the policy can raise, lower or turn
``off``. No function here touches the network.

Policy keys (all optional) under ``trust:``::

    allowed_licenses: [mit, apache-2.0]   # card license must be one of these (case-insensitive)
    min_downloads: 100                    # Hub downloads (last 30 days) below this -> finding
    min_likes: 0
    min_account_age_days: 30              # publisher account younger than this -> finding
    min_repo_age_days: 0                  # repo younger than this -> finding
    blocked_owners: [evil-org]            # always a finding (critical)
    allowed_owners: [my-org, allenai]     # when set, any other owner is a finding
    well_known_owners: [...]              # replaces the shipped list of look-alike targets
    extra_well_known_owners: [...]        # extends it
    well_known_datasets: [...]            # replaces the shipped list of OWNER/NAME targets
    lookalike_distance: 1                 # max edit distance that counts as a look-alike
    require_card: true                    # a missing dataset card is a finding
    severity: {trust.license.missing: high, trust.card.missing: off}
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from datagate.errors import ConfigError
from datagate.models import Finding, Severity

__all__ = [
    "DEFAULT_SEVERITIES",
    "WELL_KNOWN_DATASETS",
    "WELL_KNOWN_OWNERS",
    "TrustPolicy",
    "TrustSignals",
    "card_licenses",
    "edit_distance",
    "evaluate",
    "evaluate_security",
    "lookalike_of",
]

WELL_KNOWN_OWNERS: tuple[str, ...] = (
    "huggingface",
    "HuggingFaceFW",
    "HuggingFaceH4",
    "HuggingFaceM4",
    "google",
    "google-research-datasets",
    "facebook",
    "meta-llama",
    "openai",
    "microsoft",
    "allenai",
    "nvidia",
    "stanfordnlp",
    "mozilla-foundation",
    "bigscience",
    "bigcode",
    "EleutherAI",
    "tiiuae",
    "mistralai",
    "Qwen",
    "deepmind",
    "google-deepmind",
    "anthropic",
    "ibm",
    "apple",
    "amazon",
    "databricks",
    "cohere",
    "CohereForAI",
    "salesforce",
    "laion",
    "tatsu-lab",
    "rajpurkar",
    "wikimedia",
    "common-pile",
    "mlfoundations",
    "open-r1",
    "nyu-mll",
    "ai2",
    "unsloth",
)
"""Owners whose names attackers imitate; a different owner within the look-alike distance is flagged."""

WELL_KNOWN_DATASETS: tuple[str, ...] = (
    "allenai/c4",
    "allenai/dolma",
    "openai/gsm8k",
    "openai/openai_humaneval",
    "stanfordnlp/imdb",
    "stanfordnlp/sst2",
    "stanfordnlp/snli",
    "rajpurkar/squad",
    "rajpurkar/squad_v2",
    "nyu-mll/glue",
    "tatsu-lab/alpaca",
    "HuggingFaceFW/fineweb",
    "HuggingFaceFW/fineweb-edu",
    "wikimedia/wikipedia",
    "mozilla-foundation/common_voice_11_0",
    "EleutherAI/pile",
    "bigcode/the-stack",
    "databricks/databricks-dolly-15k",
    "Salesforce/wikitext",
    "cais/mmlu",
)
"""Popular ``OWNER/NAME`` ids; another repo id within the look-alike distance is flagged."""

DEFAULT_SEVERITIES: Mapping[str, Severity] = {
    "trust.owner.blocked": Severity.CRITICAL,
    "trust.owner.not_allowed": Severity.HIGH,
    "trust.lookalike.owner": Severity.HIGH,
    "trust.lookalike.name": Severity.HIGH,
    "trust.license.not_allowed": Severity.HIGH,
    "trust.license.missing": Severity.LOW,
    "trust.downloads.low": Severity.MEDIUM,
    "trust.likes.low": Severity.LOW,
    "trust.account.new": Severity.MEDIUM,
    "trust.repo.new": Severity.LOW,
    "trust.repo.disabled": Severity.HIGH,
    "trust.card.missing": Severity.LOW,
    "trust.hub_scan.unsafe": Severity.HIGH,
    "trust.hub_scan.caution": Severity.MEDIUM,
}
"""Every trust rule id and its severity when the policy does not override it."""

_KNOWN_KEYS = frozenset(
    {
        "allowed_licenses",
        "min_downloads",
        "min_likes",
        "min_account_age_days",
        "min_repo_age_days",
        "blocked_owners",
        "allowed_owners",
        "well_known_owners",
        "extra_well_known_owners",
        "well_known_datasets",
        "lookalike_distance",
        "require_card",
        "severity",
        # signatures shipped with the data: evaluated by datagate.acquire.signatures
        "signers",
        "require_signature",
    }
)
_OFF = ("off", "ignore", "none")


def _iso(value: _dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TrustSignals:
    """What the Hub says about a dataset repo and its publisher; every field but the id may be unknown."""

    repo_id: str
    """``OWNER/NAME``."""
    owner: str
    """The namespace part of the repo id (the publisher's account or organisation)."""
    name: str
    """The dataset name part of the repo id."""
    author: str | None = None
    """The author the Hub reports (normally the owner)."""
    author_type: str | None = None
    """``user`` or ``org`` when the overview endpoint said so."""
    account_created_at: _dt.datetime | None = None
    """When the publisher's account was created, when the Hub exposes it."""
    repo_created_at: _dt.datetime | None = None
    """When the repo was created."""
    last_modified: _dt.datetime | None = None
    """Date of the last commit of the resolved revision."""
    downloads: int | None = None
    """Downloads over the last 30 days."""
    downloads_all_time: int | None = None
    """Downloads since creation, when exposed."""
    likes: int | None = None
    """Number of likes."""
    gated: str | bool | None = None
    """``auto``/``manual`` for gated repos, False when open, None when unknown."""
    private: bool | None = None
    """Whether the repo is private."""
    disabled: bool | None = None
    """Whether the Hub disabled the repo."""
    licenses: tuple[str, ...] = ()
    """License ids from the dataset card's metadata (lower-cased), empty when none."""
    card_present: bool = False
    """Whether the repo has a dataset card (``README.md``)."""
    tags: tuple[str, ...] = ()
    """Hub tags."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable mapping (dates as ISO-8601 UTC strings, sorted tuples as lists)."""
        out = asdict(self)
        for key in ("account_created_at", "repo_created_at", "last_modified"):
            out[key] = _iso(getattr(self, key))
        out["licenses"] = list(self.licenses)
        out["tags"] = list(self.tags)
        return out


@dataclass(frozen=True)
class TrustPolicy:
    """The validated ``trust:`` section of a policy. ``TrustPolicy()`` is the default."""

    allowed_licenses: frozenset[str] | None = None
    """Accepted card licenses (lower-case); None accepts any license."""
    min_downloads: int | None = None
    """Minimum downloads; None disables the rule."""
    min_likes: int | None = None
    """Minimum likes; None disables the rule."""
    min_account_age_days: int | None = 30
    """Minimum age of the publisher's account, when the Hub exposes it; None disables the rule."""
    min_repo_age_days: int | None = None
    """Minimum age of the repo; None disables the rule."""
    blocked_owners: frozenset[str] = frozenset()
    """Owners (lower-case) that are never accepted."""
    allowed_owners: frozenset[str] = frozenset()
    """When non-empty, the only owners (lower-case) accepted; also never flagged as look-alikes."""
    well_known_owners: tuple[str, ...] = WELL_KNOWN_OWNERS
    """Look-alike targets for owners."""
    well_known_datasets: tuple[str, ...] = WELL_KNOWN_DATASETS
    """Look-alike targets for full repo ids."""
    lookalike_distance: int | None = None
    """Max edit distance for a look-alike; None picks 1 for names up to 8 characters, else 2."""
    require_card: bool = True
    """Whether a missing dataset card is a finding."""
    severities: Mapping[str, Severity | None] = field(default_factory=dict)
    """Per rule id: the severity to use, or None to turn the rule off."""

    @classmethod
    def from_mapping(cls, raw: TrustPolicy | Mapping[str, Any] | None) -> TrustPolicy:
        """Validate the ``trust:`` mapping of a policy file and return the policy.

        Raises :class:`~datagate.errors.ConfigError` listing every problem at once.
        """
        if raw is None:
            return cls()
        if isinstance(raw, TrustPolicy):
            return raw
        problems: list[str] = []
        if not isinstance(raw, Mapping):
            raise ConfigError("trust: must be a mapping")
        for key in sorted(set(raw) - _KNOWN_KEYS):
            problems.append(f"trust.{key}: unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})")

        def names(key: str) -> list[str] | None:
            value = raw.get(key)
            if value is None:
                return None
            if (
                isinstance(value, str)
                or not isinstance(value, Sequence)
                or not all(isinstance(v, str) and v.strip() for v in value)
            ):
                problems.append(f"trust.{key}: must be a list of non-empty strings")
                return None
            return [v.strip() for v in value]

        def count(key: str, default: int | None) -> int | None:
            if key not in raw:
                return default
            value = raw[key]
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"trust.{key}: must be a non-negative integer or null")
                return default
            return value

        licenses = names("allowed_licenses")
        blocked = names("blocked_owners") or []
        allowed = names("allowed_owners") or []
        owners = names("well_known_owners")
        extra = names("extra_well_known_owners") or []
        datasets = names("well_known_datasets")
        for d in datasets or []:
            if d.count("/") != 1:
                problems.append(f"trust.well_known_datasets: {d!r} is not OWNER/NAME")
        distance = count("lookalike_distance", None)
        require_card = raw.get("require_card", True)
        if not isinstance(require_card, bool):
            problems.append("trust.require_card: must be true or false")
            require_card = True
        severities: dict[str, Severity | None] = {}
        sev_raw = raw.get("severity") or {}
        if not isinstance(sev_raw, Mapping):
            problems.append("trust.severity: must be a mapping of rule id to severity or 'off'")
            sev_raw = {}
        for rule, value in sev_raw.items():
            if rule not in DEFAULT_SEVERITIES:
                problems.append(
                    f"trust.severity.{rule}: unknown trust rule (known: {', '.join(DEFAULT_SEVERITIES)})"
                )
                continue
            if isinstance(value, str) and value.strip().lower() in _OFF:
                severities[rule] = None
                continue
            try:
                severities[rule] = Severity.parse(str(value))
            except ValueError as e:
                problems.append(f"trust.severity.{rule}: {e} or 'off'")
        policy = cls(
            allowed_licenses=frozenset(v.lower() for v in licenses)
            if licenses is not None
            else None,
            min_downloads=count("min_downloads", None),
            min_likes=count("min_likes", None),
            min_account_age_days=count("min_account_age_days", 30),
            min_repo_age_days=count("min_repo_age_days", None),
            blocked_owners=frozenset(v.lower() for v in blocked),
            allowed_owners=frozenset(v.lower() for v in allowed),
            well_known_owners=tuple(owners if owners is not None else WELL_KNOWN_OWNERS)
            + tuple(extra),
            well_known_datasets=tuple(datasets if datasets is not None else WELL_KNOWN_DATASETS),
            lookalike_distance=distance,
            require_card=require_card,
            severities=severities,
        )
        if problems:
            raise ConfigError("invalid trust policy: " + "; ".join(problems))
        return policy

    def severity(self, rule: str) -> Severity | None:
        """Return the severity of ``rule`` under this policy, or None when the policy turned it off."""
        if rule in self.severities:
            return self.severities[rule]
        return DEFAULT_SEVERITIES[rule]


def edit_distance(a: str, b: str) -> int:
    """Return the optimal-string-alignment distance (insert, delete, substitute, swap neighbours)."""
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


_CONFUSABLES = (
    ("rn", "m"),
    ("vv", "w"),
    ("0", "o"),
    ("1", "l"),
    ("i", "l"),
    ("5", "s"),
    ("_", "-"),
    (".", "-"),
)


def _skeleton(name: str) -> str:
    s = name.lower()
    for src, dst in _CONFUSABLES:
        s = s.replace(src, dst)
    return s


def lookalike_of(name: str, targets: Iterable[str], max_distance: int | None = None) -> str | None:
    """Return the target ``name`` imitates, or None.

    A look-alike differs from a target (case-insensitively) but is within the edit distance, or
    has the same skeleton once common confusables are folded (``rn``->``m``, ``0``->``o``,
    ``1``/``i``->``l``, ``_``->``-``). An exact case-insensitive match is the target itself, never a
    look-alike.
    """
    low = name.lower()
    best: tuple[int, str] | None = None
    for target in targets:
        t = target.lower()
        if t == low:
            return None
        limit = max_distance if max_distance is not None else (1 if len(t) <= 8 else 2)
        if _skeleton(t) == _skeleton(low):
            d = 0
        else:
            d = edit_distance(low, t)
            if d > limit or d >= len(t):
                continue
        if best is None or d < best[0]:
            best = (d, target)
    return best[1] if best is not None else None


def _days(later: _dt.datetime, earlier: _dt.datetime) -> float:
    if earlier.tzinfo is None:
        earlier = earlier.replace(tzinfo=_dt.timezone.utc)
    return (later - earlier).total_seconds() / 86400.0


def evaluate(
    signals: TrustSignals,
    policy: TrustPolicy | Mapping[str, Any] | None = None,
    *,
    now: _dt.datetime | None = None,
) -> tuple[Finding, ...]:
    """Return the trust findings for ``signals`` under ``policy`` (default policy when None).

    Findings have category ``trust``, path ``"."`` (they concern the whole dataset) and the severity
    the policy assigns; rules turned ``off`` produce nothing. Sorted by rule id.
    Raises :class:`~datagate.errors.ConfigError` when ``policy`` is an invalid mapping.
    """
    pol = TrustPolicy.from_mapping(policy) if not isinstance(policy, TrustPolicy) else policy
    when = now or _dt.datetime.now(_dt.timezone.utc)
    out: list[Finding] = []
    uri = f"hf://datasets/{signals.repo_id}"

    def hit(rule: str, message: str, **evidence: Any) -> None:
        sev = pol.severity(rule)
        if sev is not None:
            out.append(
                Finding(
                    path=".",
                    rule=rule,
                    category="trust",
                    severity=sev,
                    message=message,
                    evidence=evidence,
                )
            )

    owner = signals.owner.lower()
    if owner in pol.blocked_owners:
        hit(
            "trust.owner.blocked",
            f"{uri}: owner {signals.owner!r} is blocked by the policy",
            owner=signals.owner,
        )
    if pol.allowed_owners and owner not in pol.allowed_owners:
        hit(
            "trust.owner.not_allowed",
            f"{uri}: owner {signals.owner!r} is not in the policy's allowed owners",
            owner=signals.owner,
            allowed=sorted(pol.allowed_owners),
        )
    if owner not in pol.allowed_owners:
        target = lookalike_of(signals.owner, pol.well_known_owners, pol.lookalike_distance)
        if target is not None:
            hit(
                "trust.lookalike.owner",
                f"{uri}: owner {signals.owner!r} looks like the well-known owner {target!r}",
                owner=signals.owner,
                imitates=target,
                distance=edit_distance(owner, target.lower()),
            )
        elif signals.repo_id.lower() not in {d.lower() for d in pol.well_known_datasets}:
            target = lookalike_of(signals.repo_id, pol.well_known_datasets, pol.lookalike_distance)
            if target is not None and target.split("/")[0].lower() != owner:
                hit(
                    "trust.lookalike.name",
                    f"{uri}: repo id looks like the well-known dataset {target!r}",
                    repo_id=signals.repo_id,
                    imitates=target,
                    distance=edit_distance(signals.repo_id.lower(), target.lower()),
                )
    if not signals.licenses:
        hit("trust.license.missing", f"{uri}: the dataset card declares no license")
    elif pol.allowed_licenses is not None:
        bad = [lic for lic in signals.licenses if lic.lower() not in pol.allowed_licenses]
        if bad:
            hit(
                "trust.license.not_allowed",
                f"{uri}: license {', '.join(bad)} is not in the policy's allowed licenses",
                licenses=list(signals.licenses),
                allowed=sorted(pol.allowed_licenses),
            )
    if pol.min_downloads is not None and (
        signals.downloads is None or signals.downloads < pol.min_downloads
    ):
        hit(
            "trust.downloads.low",
            f"{uri}: {signals.downloads if signals.downloads is not None else 'unknown'} downloads,"
            f" below the policy minimum of {pol.min_downloads}",
            downloads=signals.downloads,
            minimum=pol.min_downloads,
        )
    if pol.min_likes is not None and (signals.likes is None or signals.likes < pol.min_likes):
        hit(
            "trust.likes.low",
            f"{uri}: {signals.likes if signals.likes is not None else 'unknown'} likes,"
            f" below the policy minimum of {pol.min_likes}",
            likes=signals.likes,
            minimum=pol.min_likes,
        )
    if pol.min_account_age_days is not None and signals.account_created_at is not None:
        age = _days(when, signals.account_created_at)
        if age < pol.min_account_age_days:
            hit(
                "trust.account.new",
                f"{uri}: the publisher account {signals.owner!r} is {age:.0f} days old,"
                f" younger than the policy minimum of {pol.min_account_age_days}",
                account_created_at=_iso(signals.account_created_at),
                minimum_days=pol.min_account_age_days,
            )
    if pol.min_repo_age_days is not None:
        if signals.repo_created_at is None:
            age_repo: float | None = None
        else:
            age_repo = _days(when, signals.repo_created_at)
        if age_repo is None or age_repo < pol.min_repo_age_days:
            hit(
                "trust.repo.new",
                f"{uri}: the repo is {'of unknown age' if age_repo is None else f'{age_repo:.0f} days old'},"
                f" the policy asks for at least {pol.min_repo_age_days}",
                repo_created_at=_iso(signals.repo_created_at),
                minimum_days=pol.min_repo_age_days,
            )
    if signals.disabled:
        hit("trust.repo.disabled", f"{uri}: the Hub has disabled this repo")
    if pol.require_card and not signals.card_present:
        hit("trust.card.missing", f"{uri}: the repo has no dataset card (README.md)")
    return tuple(sorted(out, key=lambda f: f.rule))


def evaluate_security(
    repo_id: str,
    statuses: Mapping[str, str | None],
    policy: TrustPolicy | Mapping[str, Any] | None = None,
) -> tuple[Finding, ...]:
    """Return findings for files the Hub's own security scan did not call safe.

    ``statuses`` maps relative paths to the Hub's ``securityFileStatus.status`` (None when the API
    gave none). ``unsafe`` gives ``trust.hub_scan.unsafe``; any other status except ``safe`` and
    unknown gives ``trust.hub_scan.caution``. Sorted by path.
    """
    pol = TrustPolicy.from_mapping(policy) if not isinstance(policy, TrustPolicy) else policy
    out: list[Finding] = []
    for path in sorted(statuses):
        status = statuses[path]
        if status is None or status == "safe":
            continue
        rule = "trust.hub_scan.unsafe" if status == "unsafe" else "trust.hub_scan.caution"
        sev = pol.severity(rule)
        if sev is None:
            continue
        out.append(
            Finding(
                path=path,
                rule=rule,
                category="trust",
                severity=sev,
                message=f"hf://datasets/{repo_id}: the Hub's security scan marks {path} as {status!r}",
                evidence={"hub_status": status},
            )
        )
    return tuple(out)


_SPLIT = re.compile(r"[\s,]+")


def card_licenses(card_data: Any) -> tuple[str, ...]:
    """Return the license ids declared in a dataset card's metadata (lower-case, sorted, unique).

    ``card_data`` is the card's YAML mapping (or an object with a ``license`` attribute); a string
    or a list of strings is accepted; anything else yields ``()``.
    """
    if card_data is None:
        return ()
    value = (
        card_data.get("license")
        if isinstance(card_data, Mapping)
        else getattr(card_data, "license", None)
    )
    if isinstance(value, str):
        items = [v for v in _SPLIT.split(value) if v]
    elif isinstance(value, Sequence):
        items = [v for v in value if isinstance(v, str) and v.strip()]
    else:
        items = []
    return tuple(sorted({v.strip().lower() for v in items}))
