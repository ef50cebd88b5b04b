"""Labeling benchmark: trustlab's imports and exports against plain label-studio-sdk calls
on the same Label Studio server, in one run (``make bench-labeling``).

- import 10,000 text tasks: ``trustlab label project create`` (read the dataset version,
  assign, import in batches, register tasks and assignments, ledger) against one
  ``import_tasks`` request per batch of the same size into a bare project;
- import 2,000 image tasks from a made-safe media dataset (local-files storage) likewise;
- export 10,000 annotated tasks: ``trustlab label sync`` + ``export --format jsonl``
  (snapshot, decisions, the catalog version with provenance) against an export snapshot
  created and downloaded with the SDK.

Annotations are written beforehand with the SDK (not timed). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# Setup only: 20,000 annotations through the REST API take an hour on Label Studio's
# SQLite (a few per second), so the benchmark writes them with Django's bulk_create in
# Label Studio's own environment. What is timed afterwards reads them through the API.
ANNOTATE = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")
import django
django.setup()
from tasks.models import Annotation, Task
spec = json.load(sys.stdin)
for pid in spec["projects"]:
    ids = list(Task.objects.filter(project_id=pid).values_list("id", flat=True))
    Annotation.objects.bulk_create([Annotation(task_id=t, project_id=pid, result=spec["result"],
        completed_by_id=spec["user"], lead_time=1.0) for t in ids], batch_size=1000)
    Task.objects.filter(project_id=pid).update(is_labeled=True, total_annotations=1)
"""


def annotate(server, projects: list[int], user: int, result: list) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess

    from labeling.server import env_path

    python = env_path() / "bin" / "python"
    package = next((env_path() / "lib").glob("python3*/site-packages/label_studio"))
    subprocess.run([str(python), "-c", ANNOTATE, str(package)], env=server.env(), check=True,
                   input=json.dumps({"projects": projects, "user": user, "result": result}),
                   text=True, capture_output=True)  # fmt: skip


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=10_000)
    ap.add_argument("--images", type=int, default=2_000)
    args = ap.parse_args()

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from hub.derived import DerivedColumn, DerivedVersion, add_derived_version
    from hub.identity import Directory, Role
    from hub.platform import Platform
    from hub.settings import Settings
    from labeling.exports import Exports
    from labeling.media import Media
    from labeling.progress import Progress
    from labeling.projects import ProjectRequest, Projects
    from labeling.server import LabelStudioServer
    from labeling.studio import NO_RETRY, Accounts, Studio
    from tests.labeling_world import contract, free_port, use_server

    work = Path(tempfile.mkdtemp(prefix="trustlab-bench-labeling-"))
    server = LabelStudioServer(Settings(home=work / "ls", labelstudio_port=free_port()))
    print(f"starting Label Studio in {work} …", flush=True)
    server.start(log=lambda m: None, tied=True)
    rows: list[tuple[str, str, float, float]] = []
    try:
        p = Platform(use_server(Settings(home=work / "home"), server))
        p.init()
        d = Directory(p)
        d.create_org("civil-affairs", "admin")
        for name, role in (("dev", Role("developer")), ("prov", Role("provider", "civil-affairs")),
                           ("op", Role("operator")), ("ann", Role("annotator"))):  # fmt: skip
            d.add_user(name, [role], None, "admin")
        d.create_project("bench", "", ["dev"], "admin")
        rng = np.random.default_rng(1)
        words = list("市民反映道路拥堵公交准点服务态度很好排队时间过长材料齐全已办结待补充")
        texts = ["".join(rng.choice(words, rng.integers(8, 40))) for _ in range(args.texts)]
        folder = work / "home" / "lake" / "products" / "notes" / "v1"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"note": texts}), folder / "part-00000.parquet")
        with p.db.session() as s:
            add_derived_version(s, "notes", "product", "civil-affairs", DerivedVersion(
                content_hash="b" * 64, hash_algorithm="sha256", location=str(folder),
                rows=len(texts), size_bytes=1, columns=[DerivedColumn("note", "string")]),
                "production", "review:bench")  # fmt: skip
        images = work / "images"
        images.mkdir()
        for i in range(args.images):
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
                images / f"{i:05d}.png"
            )
        print(f"making {args.images:,} images safe …", flush=True)
        secs, _ = timed(lambda: Media(p).register("photos", images, "image", "civil-affairs",
                                                  "op"))  # fmt: skip
        rows.append(("media register (blur + strip), 2,000 images", "-", secs, 0))
        contract(p, "bench", "notes", ["labeling"])
        contract(p, "bench", "photos", ["labeling"])
        admin = Studio(Projects(p).server)
        batch = p.settings.labelstudio_batch
        cfg_text = (
            '<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
            '<Choice value="a"/><Choice value="b"/></Choices></View>'
        )

        def plain(tasks: list[dict], cfg: str) -> int:
            pid = admin.create_project("baseline", cfg, "")
            for start in range(0, len(tasks), batch):
                admin.ls.projects.import_tasks(id=pid, request=tasks[start:start + batch],
                                               request_options=NO_RETRY)  # fmt: skip
            return pid

        print(f"importing {args.texts:,} text tasks …", flush=True)
        t_tl, _ = timed(lambda: Projects(p).create(ProjectRequest(
            name="texts", project="bench", dataset="notes", template="text-classification",
            labels=["a", "b"], annotators=["ann"], fields={"text": "note"}), "dev"))  # fmt: skip
        t_sdk, base_pid = timed(lambda: plain([{"data": {"text": t}} for t in texts], cfg_text))
        rows.append((f"import {args.texts:,} text tasks", "", t_tl, t_sdk))

        print(f"importing {args.images:,} image tasks …", flush=True)
        t_tl, _ = timed(lambda: Projects(p).create(ProjectRequest(
            name="imgs", project="bench", dataset="photos", template="image-classification",
            labels=["a", "b"], annotators=["ann"]), "dev"))  # fmt: skip
        version = next((p.settings.media / "photos").iterdir())
        rel = version.relative_to(server.document_root)
        urls = [{"data": {"image": f"/data/local-files/?d={rel}/files/{i:06d}.png"}}
                for i in range(args.images)]  # fmt: skip
        cfg_img = cfg_text.replace('<Text name="text" value="$text"/>',
                                   '<Image name="image" value="$image"/>').replace(
                                       'toName="text"', 'toName="image"')  # fmt: skip
        t_sdk, _ = timed(lambda: plain(urls, cfg_img))
        rows.append((f"import {args.images:,} image tasks", "", t_tl, t_sdk))

        print(f"annotating {args.texts:,} tasks in both projects (not timed) …", flush=True)
        shard = int(Projects(p).show("texts")["label_studio"]["ann"].rstrip("/").rsplit("/", 1)[1])
        result = [{"from_name": "label", "to_name": "text", "type": "choices",
                   "value": {"choices": ["a"]}}]  # fmt: skip
        user = Accounts(p.settings.home).get("ann")["id"]
        annotate(server, [shard, base_pid], user, result)

        print("exporting …", flush=True)
        t_tl, _ = timed(lambda: (Progress(p).sync("texts", "dev"),
                                 Exports(p).export("texts", "jsonl", "dev")))  # fmt: skip
        t_sdk, _ = timed(lambda: admin.snapshot(base_pid))
        rows.append((f"export {args.texts:,} annotated tasks", "", t_tl, t_sdk))
        p.close()
    finally:
        server.stop()
    print("\n| step | trustlab s | plain SDK s | ratio |\n|---|---:|---:|---:|")
    for what, _, a, b in rows:
        ratio = f"{a / b:.2f}×" if b else "-"
        print(f"| {what} | {a:.1f} | {b:.1f} | {ratio} |" if b else f"| {what} | {a:.1f} | - | - |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
