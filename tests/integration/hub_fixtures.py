"""pytest fixtures for Hub tests: a running :class:`FakeHub` and an isolated client environment.

Import the fixtures into a test module with ``from tests.integration.hub_fixtures import *``-style
explicit imports (``fake_hub``, ``hub_env``). The client is pointed at the server through the
``endpoint=`` argument (HubSource passes it to ``HfApi`` and ``hf_hub_download``) and through
``HF_ENDPOINT``, which datagate reads at call time; ``HF_HOME`` is a temporary folder so no real
token, cache or config is used, and ``HF_TOKEN`` is removed.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.hub_server import FakeHub

__all__ = ["OWNER_CREATED", "SAMPLE_REPO", "TOKEN", "fake_hub", "hub_env", "sample_files"]

SAMPLE_REPO = "acme/reviews"
"""The repo every test can rely on (one commit on main, tag v1.0, a parquet export)."""

TOKEN = "hf_TESTtokenDoNotLeak0123456789abcdef"
"""The token the server accepts for gated and private repos; tests grep outputs for it."""

OWNER_CREATED = "2020-05-01T00:00:00.000Z"

_CARD = b"""---
license: mit
task_categories:
- text-classification
pretty_name: Acme reviews
---
# Acme reviews

A tiny sentiment dataset used by datagate's Hub tests.
"""


def _parquet(rows: list[tuple[str, int]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": [r[0] for r in rows], "label": [r[1] for r in rows]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _rows(split: str, n: int) -> list[tuple[str, int]]:
    """Return ``n`` distinct, dissimilar (text, label) rows; deterministic per split, balanced labels."""
    rng = random.Random(f"datagate-hub-{split}")
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    vocab = sorted({"".join(rng.sample(syllables, 3)) for _ in range(400)})
    return [(" ".join(rng.sample(vocab, 12)), i % 2) for i in range(n)]


def _csv(rows: list[tuple[str, int]]) -> bytes:
    return ("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows)).encode()


def sample_files() -> dict[str, bytes]:
    """Return the files of the sample repo: a card, CSV train/test splits and an LFS parquet split."""
    return {
        "README.md": _CARD,
        "data/train.csv": _csv(_rows("train", 40)),
        "data/test.csv": _csv(_rows("test", 12)),
        "data/validation.parquet": _parquet(_rows("validation", 12)),
    }


def parquet_export_files() -> dict[str, bytes]:
    """Return the files of the sample repo's ``refs/convert/parquet`` conversion."""
    return {
        "default/train/0000.parquet": _parquet(_rows("train", 40)),
        "default/test/0000.parquet": _parquet(_rows("test", 12)),
        "default/validation/0000.parquet": _parquet(_rows("validation", 12)),
    }


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate the Hub client: temporary HF_HOME, no token, telemetry and Xet off; return HF_HOME."""
    home = tmp_path / "hf-home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("DATAGATE_HUB_DIR", str(tmp_path / "hub-default-dest"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def fake_hub(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Start a FakeHub holding ``acme/reviews`` (tag v1.0, parquet export) and set HF_ENDPOINT to it."""
    hub = FakeHub(page_size=2)  # tiny pages so every listing exercises the Link pagination
    hub.add_repo(
        SAMPLE_REPO,
        sample_files(),
        author="acme",
        createdAt="2024-02-01T00:00:00.000Z",
        downloads=1234,
        likes=56,
        cardData={"license": "mit", "task_categories": ["text-classification"]},
        tags=["license:mit", "task_categories:text-classification"],
    )
    hub.tag(SAMPLE_REPO, "v1.0", hub.repos[SAMPLE_REPO].branches["main"])
    hub.commit(
        SAMPLE_REPO,
        parquet_export_files(),
        branch="refs/convert/parquet",
        message="Update parquet files",
    )
    hub.users["acme"] = {
        "user": "acme",
        "fullname": "Acme",
        "type": "user",
        "createdAt": OWNER_CREATED,
    }
    hub.tokens.add(TOKEN)
    with hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub
