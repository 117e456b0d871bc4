"""``datagate init``: write a commented starter policy, and with ``--dvc`` an intake stage."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import typer

from datagate.cli.app import app, options
from datagate.cli.helptext import INIT_EPILOG, INIT_HELP

__all__ = ["add_intake_stage", "init_command"]


def add_intake_stage(
    dvc_yaml: Path, *, source: str, name: str, policy_path: str, stage: str = "intake"
) -> dict[str, Any]:
    """Add a datagate intake stage (vets into ``data/staging/NAME``) and its publish stage
    (``STAGE-publish``: copies a passing result to ``data/vetted/NAME``) to ``dvc_yaml`` (created
    when missing), keeping everything else. A failing gate stops before publish, so the last
    vetted data stays; both stages are run-cacheable.

    Returns the stage definition. Raises LineageError when the file is not YAML or has no
    ``stages`` mapping, and UsageError when a stage of that name exists already.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    from datagate.errors import LineageError, UsageError
    from datagate.lineage.record import validate_dataset_name
    from datagate.lineage.store import atomic_write

    validate_dataset_name(name)
    y = YAML(typ="rt")
    y.indent(mapping=2, sequence=4, offset=2)
    if dvc_yaml.exists():
        try:
            doc = y.load(dvc_yaml.read_text(encoding="utf-8"))
        except (YAMLError, OSError, UnicodeDecodeError) as exc:
            raise LineageError(f"{dvc_yaml}: not a readable YAML file") from exc
        if doc is None:
            doc = CommentedMap()
    else:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise LineageError(f"{dvc_yaml}: not a dvc.yaml (top level is not a mapping)")
    stages = doc.setdefault("stages", CommentedMap())
    if not isinstance(stages, dict):
        raise LineageError(f"{dvc_yaml}: 'stages' is not a mapping")
    if stage in stages:
        raise UsageError(f"{dvc_yaml}: stage {stage!r} exists already", hint="edit it by hand or pass --stage NAME")
    staging = f"data/staging/{name}"
    dest = f"data/vetted/{name}"
    record = f"lineage/{name}.json"
    metrics = f"metrics/{name}-intake.json"
    definition = CommentedMap()
    definition["cmd"] = (
        f"datagate ingest {source} --name {name} --dest {staging} --policy {policy_path} "
        f"--record-out {record} --metrics-out {metrics}"
    )
    definition["deps"] = CommentedSeq([source, policy_path])
    # every out cached (metrics aside): DVC keeps no run-cache entry for a stage with an
    # uncached out, and the run-cache is what restores an input that was vetted before
    definition["outs"] = CommentedSeq([staging, record])
    definition["metrics"] = CommentedSeq([CommentedMap([(metrics, CommentedMap([("cache", False)]))])])
    stages[stage] = definition
    # publish runs only after a passing gate: a failing one leaves the last vetted data in place
    publish_cmd = f"python -m datagate.lineage.publish {staging} {dest}"
    publish = CommentedMap()
    publish["cmd"] = publish_cmd
    publish["deps"] = CommentedSeq([staging])
    publish["outs"] = CommentedSeq([dest])
    publish_name = f"{stage}-publish"
    if publish_name in stages:
        raise UsageError(f"{dvc_yaml}: stage {publish_name!r} exists already", hint="edit it by hand or pass --stage NAME")
    stages[publish_name] = publish
    buf = io.StringIO()
    y.dump(doc, buf)
    atomic_write(dvc_yaml, buf.getvalue().encode("utf-8"))
    return {
        "cmd": definition["cmd"], "deps": [source, policy_path], "outs": [staging, record], "metrics": [metrics],
        "publish": {"stage": publish_name, "cmd": publish_cmd, "deps": [staging], "outs": [dest]},
    }


def _starter_policy() -> str:
    from datagate.config import STARTER_POLICY

    return STARTER_POLICY


@app.command("init", help=INIT_HELP, epilog=INIT_EPILOG)
def init_command(
    dvc: Annotated[bool, typer.Option("--dvc", help="Also add an intake stage to dvc.yaml.")] = False,
    policy_path: Annotated[Path, typer.Option("--policy-path", help="Where to write the policy.")] = Path("datagate.yaml"),
    source: Annotated[str, typer.Option("--source", help="With --dvc: the raw data the stage vets.")] = "data/raw",
    name: Annotated[str | None, typer.Option("--name", help="With --dvc: dataset name (default: from --source).")] = None,
    stage: Annotated[str, typer.Option("--stage", help="With --dvc: the stage name.")] = "intake",
    dvc_yaml: Annotated[Path, typer.Option("--dvc-yaml", help="With --dvc: the pipeline file.")] = Path("dvc.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing policy file.")] = False,
) -> None:
    from datagate.acquire.local import LocalSource
    from datagate.pipeline import default_name
    from datagate.report import write_output

    if policy_path.exists() and not force:
        if not options.quiet:
            typer.echo(f"{policy_path}: exists, left unchanged (--force to overwrite)", err=True)
    else:
        write_output(_starter_policy(), policy_path)
        if not options.quiet:
            typer.echo(f"wrote {policy_path}", err=True)
    if dvc:
        ds = name or default_name(LocalSource(source).describe())
        added = add_intake_stage(dvc_yaml, source=source, name=ds, policy_path=policy_path.as_posix(), stage=stage)
        if not options.quiet:
            typer.echo(f"added stage {stage!r} to {dvc_yaml}: {added['cmd']}", err=True)
