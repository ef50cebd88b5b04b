"""Media datasets: a folder of images, audio, video or point clouds made safe, content-
hashed and registered as a catalog dataset of kind ``media``.

Nothing reaches an annotator as it came in. Every file is decoded (one that cannot be is
refused by name, and nothing is registered), then rewritten from its content alone:

- images: faces and licence plates found by OpenCV's bundled Haar cascades are blurred;
  the pixels are re-encoded, so EXIF, GPS, XMP and ICC data are gone;
- audio: WAV is rewritten frame by frame (only the audio chunks survive); other formats
  lose every tag (mutagen);
- video: re-encoded frame by frame to WebM (VP8) with faces and plates blurred on every
  frame; metadata and the audio track are dropped;
- series (CSV): only numeric ``time`` and ``value`` columns are kept;
- point clouds (KITTI ``.bin`` float32 x y z intensity, ``.npy``, ASCII ``.pcd``, ``.xyz``):
  kept as float32 x y z and rendered to a bird's-eye view on a fixed metric grid
  (``labeling.pointcloud``) — the image annotators draw on.

A version is one folder ``HOME/media/<name>/<hash16>/`` (what Label Studio may serve
through its local-files storage): ``files/`` and ``manifest.parquet`` with one row per
item (what annotators see, its hash, and what was done to it).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from hub.derived import DerivedColumn, DerivedVersion, add_derived_version
from hub.errors import TrustlabError
from hub.platform import Platform
from labeling.exports import folder_hash

TYPES = {
    "image": (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"),
    "audio": (".wav", ".mp3", ".flac", ".ogg", ".m4a"),
    "video": (".mp4", ".avi", ".mov", ".mkv", ".webm"),
    "pointcloud": (".bin", ".npy", ".pcd", ".xyz"),
    "timeseries": (".csv",),
}
MAX_FILES = 50_000
COLUMNS = [
    DerivedColumn("item", "string"),
    DerivedColumn("view", "string", evidence="made-safe file annotators see"),
    DerivedColumn("source_name", "string"),
    DerivedColumn("sha256", "string"),
    DerivedColumn("width", "int64"),
    DerivedColumn("height", "int64"),
    DerivedColumn("actions", "string", evidence="what was done to make it safe (JSON)"),
]


class MediaError(TrustlabError):
    """A media file that cannot be decoded or made safe; nothing was registered."""


def _cascades() -> list[tuple[str, Any]]:
    import cv2

    root = Path(cv2.data.haarcascades)
    return [(kind, cv2.CascadeClassifier(str(root / f)))
            for kind, f in (("face", "haarcascade_frontalface_default.xml"),
                            ("plate", "haarcascade_russian_plate_number.xml"))]  # fmt: skip


def blur_regions(bgr: Any, cascades: list[tuple[str, Any]]) -> dict[str, int]:
    """Blur every face and plate found, in place; how many of each."""
    import cv2

    gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    found: dict[str, int] = {}
    for kind, cascade in cascades:
        side = max(24, min(gray.shape[:2]) // 40)
        least = (side, side // 2 if kind == "plate" else side)
        boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=least)
        for x, y, w, h in boxes if len(boxes) else []:
            pad = max(w, h) // 6
            x0, y0 = max(0, x - pad), max(0, y - pad)
            x1, y1 = min(bgr.shape[1], x + w + pad), min(bgr.shape[0], y + h + pad)
            k = max(3, (max(x1 - x0, y1 - y0) // 3) | 1)
            bgr[y0:y1, x0:x1] = cv2.GaussianBlur(bgr[y0:y1, x0:x1], (k, k), 0)
        found[kind] = len(boxes)
    return found


def safe_image(src: Path, dst: Path, cascades: list) -> dict[str, Any]:
    import cv2
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(src) as im:
            had = sorted(k for k in ("exif", "icc_profile", "xmp", "comment") if im.info.get(k))
            if im.getexif():
                had = sorted({*had, "exif"})
            im = ImageOps.exif_transpose(im).convert("RGB")  # keep what the camera meant
            pixels = np.asarray(im)[:, :, ::-1].copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{src.name} is not a readable image ({exc}); remove or fix it") from None
    found = blur_regions(pixels, cascades)
    dst = dst.with_suffix(".png" if src.suffix.lower() in (".png", ".bmp", ".tif", ".tiff")
                          else ".jpg")  # fmt: skip
    ok = cv2.imwrite(str(dst), pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise MediaError(f"could not write the made-safe copy of {src.name}")
    h, w = pixels.shape[:2]
    return {"view": dst, "width": w, "height": h,
            "actions": {"blurred": found, "metadata_removed": had}}  # fmt: skip


def safe_audio(src: Path, dst: Path) -> dict[str, Any]:
    import wave

    if src.suffix.lower() == ".wav":
        try:
            with wave.open(str(src), "rb") as r:
                params, frames = r.getparams(), r.readframes(r.getnframes())
        except (wave.Error, EOFError, OSError) as exc:
            raise MediaError(f"{src.name} is not a readable WAV file ({exc})") from None
        with wave.open(str(dst), "wb") as w:
            w.setparams(params)
            w.writeframes(frames)
        return {"view": dst, "width": None, "height": None,
                "actions": {"rewritten": "wav frames only",
                            "seconds": round(params.nframes / params.framerate, 3)}}  # fmt: skip
    import mutagen

    shutil.copyfile(src, dst)
    try:
        f = mutagen.File(dst)
    except mutagen.MutagenError as exc:
        raise MediaError(f"{src.name} is not a readable audio file ({exc})") from None
    if f is None:
        raise MediaError(f"{src.name} is not a readable audio file")
    tags = sorted(f.tags.keys()) if f.tags else []
    f.delete()
    return {
        "view": dst,
        "width": None,
        "height": None,
        "actions": {"tags_removed": len(tags), "seconds": round(f.info.length, 3)},
    }


def safe_video(src: Path, dst: Path, cascades: list) -> dict[str, Any]:
    import cv2

    cap = cv2.VideoCapture(str(src))
    ok, frame = cap.read()
    if not ok:
        cap.release()
        raise MediaError(f"{src.name} is not a readable video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    h, w = frame.shape[:2]
    dst = dst.with_suffix(".webm")
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"VP80"), fps, (w, h))
    frames, found = 0, {"face": 0, "plate": 0}
    while ok:
        for k, n in blur_regions(frame, cascades).items():
            found[k] += n
        out.write(frame)
        frames += 1
        ok, frame = cap.read()
    cap.release()
    out.release()
    return {"view": dst, "width": w, "height": h,
            "actions": {"frames": frames, "fps": fps, "blurred": found,
                        "metadata_removed": "all (re-encoded, audio dropped)"}}  # fmt: skip


def safe_pointcloud(src: Path, dst: Path) -> dict[str, Any]:
    from labeling import pointcloud

    try:
        points = pointcloud.load(src)
    except (ValueError, OSError) as exc:
        raise MediaError(f"{src.name} is not a readable point cloud ({exc})") from None
    cloud = dst.with_suffix(".npy")
    pointcloud.save(points, cloud)
    view = dst.with_suffix(".bev.png")
    grid = pointcloud.Grid()
    pointcloud.render(points, grid, view)
    return {"view": view, "width": grid.cols, "height": grid.rows,
            "actions": {"points": len(points), "cloud": cloud.name,
                        "grid": grid.as_dict()}}  # fmt: skip


def safe_series(src: Path, dst: Path) -> dict[str, Any]:
    """A series as CSV with exactly the columns ``time`` and ``value``, both numeric,
    rewritten (nothing else of the file survives)."""
    import csv

    try:
        with src.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        points = [(float(r["time"]), float(r["value"])) for r in rows]
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise MediaError(
            f"{src.name} is not a series: a CSV with numeric columns time and value ({exc})"
        ) from None
    if not points:
        raise MediaError(f"{src.name} holds no points")
    with dst.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "value"])
        w.writerows(points)
    extra = sorted(set(rows[0]) - {"time", "value"})
    return {"view": dst, "width": None, "height": None,
            "actions": {"points": len(points), "columns_dropped": extra}}  # fmt: skip


class Media:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @property
    def root(self) -> Path:
        return self.platform.settings.media

    def register(self, name: str, folder: Path, media: str, owner: str, actor: str,
                 progress: Any = None) -> dict[str, Any]:  # fmt: skip
        from hub.catalog import NAME_RE

        if not NAME_RE.fullmatch(name):
            raise TrustlabError(
                f"invalid dataset name {name!r}: start with a letter, then letters, digits, "
                "_ or - (at most 100 characters)"
            )
        if media not in TYPES:
            raise TrustlabError(f"--type is one of {', '.join(TYPES)}, not {media!r}")
        files = sorted(p for p in Path(folder).rglob("*")
                       if p.is_file() and p.suffix.lower() in TYPES[media])  # fmt: skip
        if not files:
            raise TrustlabError(f"{folder} holds no {media} files ({', '.join(TYPES[media])})")
        if len(files) > MAX_FILES:
            raise TrustlabError(f"{folder} holds {len(files):,} files; at most {MAX_FILES:,}")
        stage = self.root / name / f".stage-{uuid.uuid4().hex}"
        (stage / "files").mkdir(parents=True)
        try:
            rows = self._make_safe(files, Path(folder), media, stage, progress)
            _manifest(rows, stage / "manifest.parquet")
            digest, size = folder_hash(self.platform.settings.hash_algorithm, stage)
            final = self.root / name / digest[:16]
            if final.exists():
                shutil.rmtree(stage)
            else:
                stage.rename(final)
            summary = _summary(rows, media)
            with self.platform.db.session() as session:
                number = add_derived_version(session, name, "media", owner, DerivedVersion(
                    content_hash=digest, hash_algorithm=self.platform.settings.hash_algorithm,
                    location=str(final / "manifest.parquet"), rows=len(rows), size_bytes=size,
                    columns=COLUMNS, lineage={"media": {"type": media, **summary}}),
                    actor, actor)  # fmt: skip
                self.platform.ledger.append(session, actor, "media.register", f"dataset:{name}",
                                            {"version": number, "content_hash": digest,
                                             "type": media, **summary})  # fmt: skip
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        return {"dataset": name, "version": number, "type": media, "items": len(rows),
                "content_hash": digest, "location": str(final), **summary}  # fmt: skip

    def _make_safe(self, files: list[Path], folder: Path, media: str, stage: Path,
                   progress: Any) -> list[dict[str, Any]]:  # fmt: skip
        import hashlib

        cascades = _cascades() if media in ("image", "video") else []
        rows = []
        for i, src in enumerate(files):
            item = f"{i:06d}"
            dst = stage / "files" / f"{item}{src.suffix.lower()}"
            if media == "image":
                made = safe_image(src, dst, cascades)
            elif media == "audio":
                made = safe_audio(src, dst)
            elif media == "video":
                made = safe_video(src, dst, cascades)
            elif media == "timeseries":
                made = safe_series(src, dst)
            else:
                made = safe_pointcloud(src, dst)
            view: Path = made["view"]
            rows.append({
                "item": item, "view": view.relative_to(stage).as_posix(),
                "source_name": src.relative_to(folder).as_posix(),
                "sha256": hashlib.sha256(view.read_bytes()).hexdigest(),
                "width": made["width"], "height": made["height"],
                "actions": json.dumps(made["actions"], ensure_ascii=False, sort_keys=True),
            })  # fmt: skip
            if progress:
                progress(i + 1, len(files))
        return rows


def _manifest(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("item", pa.string()), ("view", pa.string()),
                        ("source_name", pa.string()), ("sha256", pa.string()),
                        ("width", pa.int64()), ("height", pa.int64()),
                        ("actions", pa.string())])  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _summary(rows: list[dict[str, Any]], media: str) -> dict[str, Any]:
    blurred = {"face": 0, "plate": 0}
    stripped = 0
    for r in rows:
        a = json.loads(r["actions"])
        for k, n in (a.get("blurred") or {}).items():
            blurred[k] = blurred.get(k, 0) + n
        stripped += bool(
            a.get("metadata_removed")
            or a.get("tags_removed")
            or a.get("rewritten")
            or a.get("columns_dropped")
        )
    out: dict[str, Any] = {"items": len(rows), "metadata_removed_from": stripped}
    if media in ("image", "video"):
        out["blurred"] = blurred
    return out
