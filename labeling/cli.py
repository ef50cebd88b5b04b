"""``trustlab label …``: labeling projects on Label Studio through the platform API, and the
embedded Label Studio server (host commands)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx
from hub.errors import TrustlabError

FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


@click.group("label")
def label() -> None:
    """Labeling on Label Studio: projects, quality, review, exports (docs/labeling.md)."""


# --- the embedded server (host) ---------------------------------------------------------


@label.group("server")
def server() -> None:
    """The embedded Label Studio server on 127.0.0.1:8400 (host commands)."""


@server.command("start")
@pass_ctx
def server_start(ctx: Context) -> None:
    """Start Label Studio (idempotent; the first start migrates its database)."""
    from labeling.server import LabelStudioServer

    LabelStudioServer(ctx.platform.settings).start(log=lambda m: out.print(m))


@server.command("stop")
@pass_ctx
def server_stop(ctx: Context) -> None:
    """Stop the embedded Label Studio."""
    from labeling.server import LabelStudioServer

    stopped = LabelStudioServer(ctx.platform.settings).stop()
    out.print("Label Studio stopped" if stopped else "Label Studio was not running")


@server.command("status")
@FMT
@pass_ctx
def server_status(ctx: Context, fmt: str) -> None:
    """Whether Label Studio answers; exit 1 if not."""
    from labeling.server import LabelStudioServer

    info = LabelStudioServer(ctx.platform.settings).status()
    if fmt == "json":
        emit_json(info)
    else:
        out.print(f"Label Studio at {info['url']}: {'healthy' if info['healthy'] else 'down'}"
                  f" (pid {info['pid'] or '-'}, database {info['database']})")  # fmt: skip
    sys.exit(0 if info["healthy"] else 1)


# --- people -----------------------------------------------------------------------------


@label.command("login")
@pass_ctx
def login(ctx: Context) -> None:
    """Your Label Studio address and login (annotators)."""
    info = ctx.api.get("/labeling/me")
    out.print(f"Label Studio: {info['url']}\n  email:    {info['email']}\n"
              f"  password: {info['password']}")  # fmt: skip


@label.command("templates")
@FMT
@pass_ctx
def templates_cmd(ctx: Context, fmt: str) -> None:
    """The labeling templates, what they label and their export formats."""
    rows = ctx.api.get("/labeling/templates")
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("template", "media", "fields", "formats", "what")
    for r in rows:
        table.add_row(r["name"], r["media"], ", ".join(r["fields"]), ", ".join(r["formats"]),
                      r["description"])  # fmt: skip
    out.print(table)


# --- projects ---------------------------------------------------------------------------


@label.group("project")
def project() -> None:
    """Labeling projects."""


def _gold(path: str | None) -> list[dict[str, Any]]:
    if not path:
        return []
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError:
            raise TrustlabError(f"{path}:{n} is not JSON; one {{key, result}} per line") from None
    return items


@project.command("create")
@click.argument("name")
@click.option("--project", "tproject", required=True, help="The trustlab project (contract).")
@click.option("--dataset", required=True, help="A source (its masked sample), product or media.")
@click.option("--template", required=True, help="See `trustlab label templates`.")
@click.option("--labels", required=True, help="Comma-separated labels, e.g. PER,LOC,ORG.")
@click.option("--field", "fields", multiple=True, help="TEMPLATE_FIELD=COLUMN, e.g. text=remark.")
@click.option("--key", help="Column naming each task (default: its row position).")
@click.option("--annotator", "annotators", multiple=True, required=True)
@click.option("--overlap", type=int, default=1, show_default=True, help="Annotators per task.")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False),
              help="JSON Lines of gold tasks: {\"key\": ..., \"result\": [...]}.")  # fmt: skip
@click.option("--gold-share", type=float, default=0.0, show_default=True)
@click.option("--threshold", type=float, default=0.8, show_default=True,
              help="Agreement below this sends a task to review.")  # fmt: skip
@click.option("--reviewer", help="Who reviews disagreements (not an annotator).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False),
              help="Labeling guidelines (Markdown) shown in Label Studio.")  # fmt: skip
@FMT
@pass_ctx
def project_create(ctx: Context, name: str, tproject: str, dataset: str, template: str,
                   labels: str, fields: tuple[str, ...], key: str | None,
                   annotators: tuple[str, ...], overlap: int, gold: str | None,
                   gold_share: float, threshold: float, reviewer: str | None,
                   guidelines: str | None, fmt: str) -> None:  # fmt: skip
    """Create a labeling project from a safe dataset under a contract allowing labeling."""
    pairs = {}
    for f in fields:
        k, sep, v = f.partition("=")
        if not sep or not k or not v:
            raise TrustlabError(f"--field {f!r}: give TEMPLATE_FIELD=COLUMN, e.g. text=remark")
        pairs[k] = v
    body = {"name": name, "project": tproject, "dataset": dataset, "template": template,
            "labels": [x for x in labels.split(",")], "fields": pairs, "key": key,
            "annotators": list(annotators), "overlap": overlap, "gold": _gold(gold),
            "gold_share": gold_share, "threshold": threshold, "reviewer": reviewer,
            "guidelines": Path(guidelines).read_text(encoding="utf-8") if guidelines
            else ""}  # fmt: skip
    with out.status(f"creating {name} on Label Studio …"):
        info = ctx.api.post("/labeling/projects", body)
    if fmt == "json":
        emit_json(info)
        return
    out.print(f"labeling project {info['name']}: {info['tasks']:,} tasks ({info['gold']} gold) "
              f"from {info['source']}, template {info['template']}, spec v"
              f"{info['spec']['version']} {info['spec']['hash'][:12]}")  # fmt: skip
    for person, url in info["label_studio"].items():
        out.print(f"  {person}: {url}")


@project.command("list")
@FMT
@pass_ctx
def project_list(ctx: Context, fmt: str) -> None:
    """Labeling projects you may see."""
    rows = ctx.api.get("/labeling/projects")
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("name", "project", "source", "template", "tasks", "annotators")
    for r in rows:
        table.add_row(r["name"], r["project"], r["source"], r["template"], f"{r['tasks']:,}",
                      ", ".join(r["annotators"]))  # fmt: skip
    out.print(table)


@project.command("show")
@click.argument("name")
@pass_ctx
def project_show(ctx: Context, name: str) -> None:
    """One labeling project (JSON)."""
    emit_json(ctx.api.get(f"/labeling/projects/{name}"))


@label.command("sync")
@click.argument("name")
@pass_ctx
def sync(ctx: Context, name: str) -> None:
    """Pull answers from Label Studio; decide tasks; send disagreements to review."""
    with out.status(f"reading {name}'s answers from Label Studio …"):
        r = ctx.api.post(f"/labeling/projects/{name}/sync")
    out.print(f"{name}: {r['labeled']} new answers, {r['agreed']} agreed, {r['review']} to "
              f"review, {r['reviewed']} reviewed, {r['gold']} gold scored")  # fmt: skip


@label.group("spec")
def spec() -> None:
    """Labeling specification versions: the labels and the written guidelines."""


@spec.command("set")
@click.argument("name")
@click.option("--labels", help="The whole new label list, comma-separated.")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False),
              help="The new guidelines (Markdown).")  # fmt: skip
@pass_ctx
def spec_set(ctx: Context, name: str, labels: str | None, guidelines: str | None) -> None:
    """Make the next specification version and apply it in Label Studio."""
    body = {"labels": labels.split(",") if labels is not None else None,
            "guidelines": Path(guidelines).read_text(encoding="utf-8") if guidelines
            else None}  # fmt: skip
    if body["labels"] is None and body["guidelines"] is None:
        raise TrustlabError("give new --labels, new --guidelines, or both")
    r = ctx.api.post(f"/labeling/projects/{name}/specs", body)
    if not r["changed"]:
        out.print(f"{name}: specification v{r['version']} already says this; nothing changed")
        return
    out.print(f"{name}: specification v{r['version']} {r['hash'][:12]} applied in Label Studio")


@spec.command("history")
@click.argument("name")
@FMT
@pass_ctx
def spec_history(ctx: Context, name: str, fmt: str) -> None:
    """Every specification version of a labeling project."""
    rows = ctx.api.get(f"/labeling/projects/{name}/specs")
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("version", "hash", "labels", "by", "at")
    for r in rows:
        table.add_row(str(r["version"]), r["hash"][:12], ", ".join(r["labels"]),
                      r["created_by"], r["created_at"][:19])  # fmt: skip
    out.print(table)


@label.command("predict")
@click.argument("name")
@click.option("--model", required=True, help="The model version shown with the suggestions.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="JSON Lines of {\"key\": ..., \"result\": [...]}.")  # fmt: skip
@click.option("--product", help="Or: a product with columns key and result (JSON).")
@pass_ctx
def predict(ctx: Context, name: str, model: str, path: str | None, product: str | None) -> None:
    """Pre-annotate: predictions become suggestions in every annotator's project."""
    if bool(path) == bool(product):
        raise TrustlabError("give one of --file or --product")
    body = {"model": model, "items": _gold(path), "product": product}
    r = ctx.api.post(f"/labeling/projects/{name}/predictions", body)
    out.print(f"{name}: {r['tasks']:,} tasks pre-annotated by {r['model']} "
              f"({r['suggestions']:,} suggestions)")  # fmt: skip


@label.command("suggest")
@click.argument("name")
@pass_ctx
def suggest(ctx: Context, name: str) -> None:
    """Connect trustlab's ML backend: suggestions on demand as annotators open tasks."""
    r = ctx.api.post(f"/labeling/projects/{name}/suggestions")
    out.print(f"{name}: suggestions from {r['backend']} in {r['projects']} annotator projects "
              f"({r['connected']} newly connected)")  # fmt: skip


@label.command("status")
@click.argument("name")
@FMT
@pass_ctx
def status(ctx: Context, name: str, fmt: str) -> None:
    """Progress, agreement, gold accuracy and per-annotator quality."""
    s = ctx.api.get(f"/labeling/projects/{name}/status")
    if fmt == "json":
        emit_json(s)
        return
    a = s["agreement"]
    out.print(f"{s['name']} ({s['template']}, overlap {s['overlap']}): {s['final']:,} of "
              f"{s['tasks']:,} tasks final ({s['progress']:.0%}); review {s['review']['queued']}"
              f" queued, {s['review']['done']} done")  # fmt: skip
    extra = "".join(f", {k} {v}" for k, v in a.items()
                    if k in ("krippendorff_alpha",) and v is not None)  # fmt: skip
    out.print(f"agreement: mean {a['mean_agreement']} over {a['tasks_compared']} tasks{extra}")
    table = Table("annotator", "done", "gold accuracy", "agreement with peers", "seconds")
    for person, q in s["annotators"].items():
        table.add_row(person, f"{q['done']}/{q['assigned']}",
                      "-" if q["gold_accuracy"] is None else f"{q['gold_accuracy']:.2f}",
                      "-" if q["agreement_with_peers"] is None
                      else f"{q['agreement_with_peers']:.2f}", f"{q['seconds']:.0f}")  # fmt: skip
    out.print(table)


@label.command("export")
@click.argument("name")
@click.option("--format", "fmt", required=True,
              type=click.Choice(["jsonl", "csv", "conll", "coco", "yolo", "kitti"]))  # fmt: skip
@pass_ctx
def export(ctx: Context, name: str, fmt: str) -> None:
    """Export final labels as a new version of the dataset NAME-labels."""
    with out.status(f"exporting {name} as {fmt} …"):
        r = ctx.api.post(f"/labeling/projects/{name}/export", {"format": fmt})
    out.print(f"{r['dataset']} v{r['version']} ({r['rows']:,} tasks, {fmt}, "
              f"{r['content_hash'][:12]}): {r['files']}")  # fmt: skip


@label.group("media")
def media() -> None:
    """Media datasets: folders of images, audio, video or point clouds, made safe."""


@media.command("register")
@click.argument("name")
@click.option("--folder", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--type", "kind", required=True,
              type=click.Choice(["image", "audio", "video", "pointcloud"]))  # fmt: skip
@click.option("--owner", required=True, help="The owning organisation.")
@pass_ctx
def media_register(ctx: Context, name: str, folder: str, kind: str, owner: str) -> None:
    """Make a folder of media safe and register it as dataset NAME (a new version)."""
    body = {"name": name, "folder": str(Path(folder).resolve()), "type": kind, "owner": owner}
    with out.status(f"making {folder} safe (faces and plates blurred, metadata stripped) …"):
        r = ctx.api.post("/labeling/media", body)
    blurred = r.get("blurred")
    extra = f", blurred {blurred['face']} faces and {blurred['plate']} plates" if blurred else ""
    out.print(f"{r['dataset']} v{r['version']}: {r['items']:,} {kind} items"
              f"{extra}, metadata removed from {r['metadata_removed_from']}")  # fmt: skip
