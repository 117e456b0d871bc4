from collections.abc import Callable, Sequence
from typing import Any

ABI: int

def list_dir(path: str, prefix: str, /) -> tuple[list[str], list[str]]: ...
def lstat_keys(root: str, paths: Sequence[str], /) -> bytes | None: ...
def hash_files(
    root: str,
    paths: Sequence[str],
    expect: bytes,
    new_sha256: Callable[[bytes], Any],
    new_md5: Callable[[bytes], Any] | None,
    /,
) -> list[tuple[str, str | None, int] | None]: ...
