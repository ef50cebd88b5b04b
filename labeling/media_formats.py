"""Export formats of media projects: COCO and YOLO for image boxes and polygons, KITTI
(LiDAR frame) plus ``boxes3d.json`` for point clouds. Each export is self-contained: the
made-safe images (or clouds) are copied in beside the labels."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labeling import pointcloud, quality
from labeling.formats import Records, Writer, register


def media_path(url: str, root: Path) -> Path:
    """The file behind a ``/data/local-files/?d=…`` task URL, inside the media root."""
    rel = parse_qs(urlsplit(url).query).get("d", [""])[0]
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"{url} points outside the media zone")
    return path


@cache
def _manifest(path: Path) -> dict[str, dict[str, Any]]:
    import pyarrow.parquet as pq

    return {r["view"]: r for r in pq.read_table(path).to_pylist()}


def item(url: str, root: Path) -> tuple[Path, dict[str, Any]]:
    """The view file and its manifest row."""
    view = media_path(url, root)
    version = view.parent.parent
    row = _manifest(version / "manifest.parquet")[view.relative_to(version).as_posix()]
    return view, row


def _corners(v: dict[str, Any], w: int, h: int) -> list[tuple[float, float]]:
    """A rectangle's or polygon's corners in pixels."""
    geom = quality.shapes([{"value": v}])
    if not geom:
        return []
    _, g = geom[0]
    xs, ys = g.exterior.coords.xy
    return [(x / 100 * w, y / 100 * h) for x, y in list(zip(xs, ys, strict=True))[:-1]]


def _coco(records: Records, ctx: dict[str, Any], out: Path) -> None:
    root = Path(ctx["media_root"])
    (out / "images").mkdir(parents=True, exist_ok=True)
    cats = {label: i + 1 for i, label in enumerate(ctx["labels"])}
    doc: dict[str, Any] = {
        "info": {"description": f"trustlab labeling project {ctx['project']}"},
        "images": [], "annotations": [],
        "categories": [{"id": i, "name": n, "supercategory": "object"} for n, i in cats.items()],
    }  # fmt: skip
    ann_id = 0
    for n, r in enumerate(records, 1):
        view, row = item(r["data"]["image"], root)
        name = f"{r['key']}{view.suffix}"
        shutil.copyfile(view, out / "images" / name)
        w, h = int(row["width"]), int(row["height"])
        doc["images"].append({"id": n, "file_name": f"images/{name}", "width": w, "height": h})
        for res in r["label"]:
            v = res.get("value") or {}
            labels = v.get("rectanglelabels") or v.get("polygonlabels")
            pts = _corners(v, w, h)
            if not labels or labels[0] not in cats or len(pts) < 3:
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            ann_id += 1
            from shapely.geometry import Polygon

            doc["annotations"].append({
                "id": ann_id, "image_id": n, "category_id": cats[labels[0]],
                "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                "area": float(Polygon(pts).area), "iscrowd": 0,
                "segmentation": [[c for p in pts for c in p]],
            })  # fmt: skip
    (out / "annotations.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _yolo(records: Records, ctx: dict[str, Any], out: Path) -> None:
    root = Path(ctx["media_root"])
    for sub in ("images", "labels"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cls = {label: i for i, label in enumerate(ctx["labels"])}
    for r in records:
        view, row = item(r["data"]["image"], root)
        shutil.copyfile(view, out / "images" / f"{r['key']}{view.suffix}")
        w, h = int(row["width"]), int(row["height"])
        lines = []
        for res in r["label"]:
            v = res.get("value") or {}
            labels = v.get("rectanglelabels")
            pts = _corners(v, w, h)
            if not labels or labels[0] not in cls or not pts:
                continue
            xs = [min(max(p[0], 0), w) for p in pts]
            ys = [min(max(p[1], 0), h) for p in pts]
            cx, cy = (min(xs) + max(xs)) / 2 / w, (min(ys) + max(ys)) / 2 / h
            bw, bh = (max(xs) - min(xs)) / w, (max(ys) - min(ys)) / h
            lines.append(f"{cls[labels[0]]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
        (out / "labels" / f"{r['key']}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    names = "".join(f"  {i}: {json.dumps(n, ensure_ascii=False)}\n" for n, i in cls.items())
    (out / "data.yaml").write_text(f"path: .\ntrain: images\nval: images\nnames:\n{names}",
                                   encoding="utf-8")  # fmt: skip


def _kitti(records: Records, ctx: dict[str, Any], out: Path) -> None:
    import numpy as np

    root = Path(ctx["media_root"])
    for sub in ("velodyne", "label_2", "bev"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    doc = []
    for r in records:
        view, row = item(r["data"]["image"], root)
        actions = json.loads(row["actions"])
        grid = pointcloud.Grid(**actions["grid"])
        points = np.load(view.parent / actions["cloud"], allow_pickle=False)
        quad = np.zeros((len(points), 4), dtype=np.float32)
        quad[:, :3] = points
        quad.tofile(out / "velodyne" / f"{r['key']}.bin")
        shutil.copyfile(view, out / "bev" / f"{r['key']}.png")
        found = pointcloud.boxes(r["label"], grid, points)
        (out / "label_2" / f"{r['key']}.txt").write_text(
            "".join(pointcloud.kitti_line(b) + "\n" for b in found)
        )
        listed = [{"label": b.label, "center": [b.x, b.y, b.z], "yaw": b.yaw,
                   "size": {"length": b.length, "width": b.width, "height": b.height}}
                  for b in found]  # fmt: skip
        doc.append(
            {"key": r["key"], "frame": "lidar: x forward, y left, z up (metres)", "boxes": listed}
        )
    (out / "boxes3d.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1),
                                      encoding="utf-8")  # fmt: skip


register("coco", Writer(_coco, ("image-boxes", "image-polygons")))
register("yolo", Writer(_yolo, ("image-boxes",)))
register("kitti", Writer(_kitti, ("pointcloud-boxes",)))
