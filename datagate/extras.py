"""Which install extra provides which third-party module, and the one-line hint when it is missing.

>>> extra_for_module("pyarrow.csv")
'check'
>>> extra_for_module("json") is None
True

The light core (``pip install datagate-intake``) runs ``hash``, ``verify`` and ``scan``; the
other commands need an extra: ``[check]`` (pyarrow, pandas, numpy, Great Expectations), ``[hub]``
(huggingface_hub), ``[dvc]``, ``[ray]``, ``[sign]``, ``[scan]`` (h5py: HDF5 attributes; without it
such files are reported as skipped), or ``[all]``. ``[scan]`` (h5py) lets
``scan`` read HDF5 attributes; without it HDF5 files are reported as skipped with this hint.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "EXTRAS", "extra_for_module", "missing_extra_message"]

DISTRIBUTION = "datagate-intake"
"""The distribution name on the package index (the import name is ``datagate``)."""

EXTRAS: dict[str, str] = {
    "pyarrow": "check",
    "pandas": "check",
    "numpy": "check",
    "great_expectations": "check",
    "sklearn": "check",
    "cleanlab": "check",
    "huggingface_hub": "hub",
    "datasets": "hub",
    "dvc": "dvc",
    "ray": "ray",
    "model_signing": "sign",
    "h5py": "scan",
}
"""Top-level module name -> the extra that installs it."""


def extra_for_module(module: str | None) -> str | None:
    """Return the extra that installs ``module`` (a dotted name), or None for any other module."""
    if not module:
        return None
    return EXTRAS.get(module.split(".", 1)[0])


def missing_extra_message(module: str | None, command: str | None) -> str | None:
    """Return the one-line hint for a missing ``module`` needed by ``command``, or None when
    ``module`` belongs to no extra (a genuinely broken install, reported as it is)."""
    extra = extra_for_module(module)
    if extra is None:
        return None
    who = f"datagate {command}" if command else "this command"
    return (
        f"{who} needs the [{extra}] extra ({module} is not installed): "
        f"pip install '{DISTRIBUTION}[{extra}]'"
    )
