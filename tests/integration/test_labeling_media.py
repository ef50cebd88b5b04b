"""Media labeling on a real Label Studio server: images made safe (faces blurred, EXIF and
GPS gone), served through local-files storage, boxes by two annotators with a review,
COCO loaded by pycocotools and YOLO; point clouds on a bird's-eye view with boxes that
come back as the 3D boxes they were drawn from, exported as KITTI."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from hub.catalog import Catalog
from hub.identity import Directory
from hub.models import Dataset
from hub.platform import Platform
from hub.settings import Settings
from labeling.exports import Exports
from labeling.media import Media, MediaError
from labeling.progress import Progress
from labeling.projects import ProjectRequest, Projects
from labeling.server import LabelStudioServer
from labeling.studio import Accounts
from tests.labeling_world import as_person, contract, label_studio, people, use_server

__all__ = ["label_studio"]

SKIMAGE = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
SKLEARN = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0])
PHOTOS = [SKIMAGE / "astronaut.png", SKLEARN / "datasets/images/china.jpg",
          SKLEARN / "datasets/images/flower.jpg"]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          label_studio: LabelStudioServer) -> Iterator[Platform]:  # fmt: skip
    home = tmp_path_factory.mktemp("media-home")
    p = Platform(use_server(Settings(home=home), label_studio))
    p.init()
    people(p)
    Directory(p).create_project("vision", "media labeling tests", ["dev"], "admin")
    yield p
    p.close()


def _lineage(p: Platform, name: str) -> dict:
    from hub.models import DatasetVersion

    with p.db.session() as s:
        text = s.scalar(select(DatasetVersion.lineage).join(Dataset).where(Dataset.name == name)
                        .order_by(DatasetVersion.number.desc()).limit(1))  # fmt: skip
    return json.loads(text)


def with_gps(src: Path, dst: Path) -> None:
    """A JPEG of ``src`` carrying camera EXIF and a GPS position, as phones write them."""
    im = Image.open(src).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:11:30 08:00:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 5.0)})
    im.save(dst, "JPEG", exif=exif.tobytes(), quality=95)


def test_images_are_made_safe_and_bad_files_refused(world: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, photo in enumerate(PHOTOS):
        with_gps(photo, folder / f"cam_{i}.jpg")
    assert Image.open(folder / "cam_0.jpg").getexif().get_ifd(0x8825)  # GPS is there

    info = Media(world).register("street-photos", folder, "image", "civil-affairs", "op")
    assert info["items"] == 3 and info["blurred"]["face"] >= 1
    version = Path(info["location"])
    import pyarrow.parquet as pq

    rows = pq.read_table(version / "manifest.parquet").to_pylist()
    for row in rows:
        safe = Image.open(version / row["view"])
        assert not safe.getexif() and "exif" not in safe.info
        assert "exif" in json.loads(row["actions"])["metadata_removed"]
    # The astronaut's face is blurred: the face region changed, the rest stays close.
    original = np.asarray(Image.open(folder / "cam_0.jpg").convert("L"), dtype=float)
    safe = np.asarray(Image.open(version / rows[0]["view"]).convert("L"), dtype=float)
    face, rest = (slice(60, 200), slice(150, 300)), (slice(350, 500), slice(0, 150))
    assert (
        np.abs(original[face] - safe[face]).mean() > 4 * np.abs(original[rest] - safe[rest]).mean()
    )

    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with world.db.session() as s:
        before = s.scalar(select(func.count()).select_from(Dataset))
    with pytest.raises(MediaError, match=r"broken\.jpg"):
        Media(world).register("broken-photos", folder, "image", "civil-affairs", "op")
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == before
    assert not (world.settings.media / "broken-photos").exists() or not any(
        (world.settings.media / "broken-photos").iterdir()
    )


def rect(x: float, y: float, w: float, h: float, label: str, rid: str = "b1") -> dict:
    return {"id": rid, "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 100, "original_height": 100,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                      "rectanglelabels": [label]}}  # fmt: skip


def test_image_boxes_with_review_export_to_coco_and_yolo(world: Platform, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, photo in enumerate(PHOTOS):
        Image.open(photo).convert("RGB").save(folder / f"f{i}.png")
    Media(world).register("frames", folder, "image", "civil-affairs", "op")
    contract(world, "vision", "frames", ["labeling"])
    req = ProjectRequest(name="boxes", project="vision", dataset="frames",
                         template="image-boxes", labels=["person", "vehicle"],
                         annotators=["ann-a", "ann-b"], overlap=2, reviewer="rev",
                         threshold=0.7)  # fmt: skip
    info = Projects(world).create(req, "dev")
    assert info["tasks"] == 3

    # Label Studio serves the made-safe file to the annotator, through local-files storage.
    studio_a = as_person(world, "ann-a")
    pid_a = int(info["label_studio"]["ann-a"].rstrip("/").rsplit("/", 1)[1])
    tasks = {t.meta["trustlab_key"]: t for t in studio_a.ls.tasks.list(project=pid_a, fields="all")}
    first = tasks["000000"].data["image"]
    token = Accounts(world.settings.home).get("ann-a")["token"]  # the annotator's own
    got = httpx.get(
        f"{world.settings.labelstudio_url}{first}", headers={"Authorization": f"Token {token}"}
    )
    version = next((world.settings.media / "frames").iterdir())
    assert got.status_code == 200 and got.content == (version / "files" / "000000.png").read_bytes()

    boxes = {"000000": (30, 10, 40, 35, "person"), "000001": (10, 40, 30, 30, "vehicle"),
             "000002": (20, 20, 50, 50, "vehicle")}  # fmt: skip
    for person, shift in (("ann-a", 0.0), ("ann-b", 1.0)):
        studio = as_person(world, person)
        pid = int(info["label_studio"][person].rstrip("/").rsplit("/", 1)[1])
        for t in studio.ls.tasks.list(project=pid, fields="all"):
            x, y, w, h, label = boxes[t.meta["trustlab_key"]]
            if person == "ann-b" and t.meta["trustlab_key"] == "000002":
                label = "person"  # a disagreement: the reviewer decides
            studio.annotate(t.id, [rect(x + shift, y, w, h, label)], lead_time=3)
    progress = Progress(world)
    first_sync = progress.sync("boxes", "dev")
    assert (first_sync["agreed"], first_sync["review"]) == (2, 1)
    reviewer = as_person(world, "rev")
    review_pid = int(info["label_studio"]["rev"].rstrip("/").rsplit("/", 1)[1])
    (task,) = list(reviewer.ls.tasks.list(project=review_pid, fields="all"))
    reviewer.annotate(task.id, [rect(20, 20, 50, 50, "vehicle")], lead_time=4)
    assert progress.sync("boxes", "dev")["reviewed"] == 1

    coco_out = Exports(world).export("boxes", "coco", "dev")
    shown = Catalog(world).show("boxes-labels")
    assert shown["kind"] == "product" and shown["owner"] == "civil-affairs"
    lineage = _lineage(world, "boxes-labels")
    assert lineage["source"]["dataset"] == "frames" and lineage["format"] == "coco"
    assert lineage["annotators"] == ["ann-a", "ann-b"] and lineage["states"]["reviewed"] == 1
    coco = COCO(str(Path(coco_out["files"]) / "annotations.json"))
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["person", "vehicle"]
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == 3
    for img in coco.loadImgs(coco.getImgIds()):
        key = Path(img["file_name"]).stem
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
        x, y, w, h, label = boxes[key]
        assert coco.loadCats(ann["category_id"])[0]["name"] == label
        bx, _by, bw, bh = ann["bbox"]
        assert bx == pytest.approx(x / 100 * img["width"], abs=0.02 * img["width"])
        assert bw == pytest.approx(w / 100 * img["width"], rel=0.01)
        assert bh == pytest.approx(h / 100 * img["height"], rel=0.01)
        assert (Path(coco_out["files"]) / img["file_name"]).exists()
        assert coco.annToMask(ann).sum() == pytest.approx(bw * bh, rel=0.05)

    yolo_out = Path(Exports(world).export("boxes", "yolo", "dev")["files"])
    line = (yolo_out / "labels" / "000001.txt").read_text().split()
    assert line[0] == "1"  # vehicle
    cx, cy, bw, bh = map(float, line[1:])
    assert (cx, cy, bw, bh) == pytest.approx((0.25 + 0.005, 0.55, 0.30, 0.30), abs=0.006)
    assert "names:" in (yolo_out / "data.yaml").read_text()


# --- point clouds -----------------------------------------------------------------------

KNOWN = [("car", 15.0, 3.0, -0.95, 4.2, 1.8, 1.5, 0.5),
         ("pedestrian", 8.0, -6.0, -1.0, 0.8, 0.7, 1.7, -1.2),
         ("truck", 30.0, 10.0, -0.2, 8.0, 2.5, 3.0, 2.8)]  # fmt: skip


def synthetic_cloud(seed: int) -> np.ndarray:
    """A ground plane at z = −1.7 and points filling each known box (label, x, y, z
    centre, length, width, height, yaw)."""
    rng = np.random.default_rng(seed)
    ground = np.column_stack([rng.uniform(0, 51.2, 20000), rng.uniform(-25.6, 25.6, 20000),
                              np.full(20000, -1.7) + rng.normal(0, 0.02, 20000)])  # fmt: skip
    parts = [ground]
    for _, x, y, z, length, width, height, yaw in KNOWN:
        local = rng.uniform(-0.5, 0.5, (3000, 3)) * [length, width, height]
        c, s = math.cos(yaw), math.sin(yaw)
        parts.append(np.column_stack([x + local[:, 0] * c - local[:, 1] * s,
                                      y + local[:, 0] * s + local[:, 1] * c, z + local[:, 2]]))  # fmt: skip
    return np.vstack(parts).astype(np.float32)


def drawn(x: float, y: float, length: float, width: float, yaw: float, label: str, n: int) -> dict:
    """The rectangle an annotator draws on the 512×512 view (0.1 m grid, x 0…51.2 forward,
    y −25.6…25.6 left) for that footprint: worked out from the corners' pixels."""
    res, cols, rows = 0.1, 512, 512

    def px(mx: float, my: float) -> tuple[float, float]:
        return (25.6 - my) / res, (51.2 - mx) / res

    c, s = math.cos(yaw), math.sin(yaw)
    # The rectangle's width runs along the heading; its height axis, a clockwise quarter
    # turn on screen, points to the object's right: its top-left corner is the back-left.
    back_left = px(x - c * length / 2 - s * width / 2, y - s * length / 2 + c * width / 2)
    front_left = px(x + c * length / 2 - s * width / 2, y + s * length / 2 + c * width / 2)
    rotation = math.degrees(math.atan2(front_left[1] - back_left[1],
                                       front_left[0] - back_left[0]))  # fmt: skip
    return {"id": f"r{n}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "value": {"x": back_left[0] / cols * 100, "y": back_left[1] / rows * 100,
                      "width": length / res / cols * 100, "height": width / res / rows * 100,
                      "rotation": rotation % 360, "rectanglelabels": [label]}}  # fmt: skip


def test_point_cloud_boxes_round_trip_to_kitti(world: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "lidar"
    folder.mkdir()
    clouds = {}
    for i in range(2):
        cloud = synthetic_cloud(i)
        quad = np.column_stack([cloud, np.zeros(len(cloud), np.float32)]).astype(np.float32)
        quad.tofile(folder / f"{i:06d}.bin")
        clouds[f"{i:06d}"] = cloud
    Media(world).register("lidar-scans", folder, "pointcloud", "civil-affairs", "op")
    contract(world, "vision", "lidar-scans", ["labeling"])
    req = ProjectRequest(name="lidar", project="vision", dataset="lidar-scans",
                         template="pointcloud-boxes", labels=["car", "pedestrian", "truck"],
                         annotators=["ann-a"])  # fmt: skip
    info = Projects(world).create(req, "dev")
    studio = as_person(world, "ann-a")
    pid = int(info["label_studio"]["ann-a"].rstrip("/").rsplit("/", 1)[1])
    for t in studio.ls.tasks.list(project=pid, fields="all"):
        result = [drawn(x, y, ln, wd, yaw, label, n)
                  for n, (label, x, y, _z, ln, wd, _h, yaw) in enumerate(KNOWN)]  # fmt: skip
        studio.annotate(t.id, result, lead_time=10)
    assert Progress(world).sync("lidar", "dev")["agreed"] == 2

    out = Path(Exports(world).export("lidar", "kitti", "dev")["files"])
    for key, cloud in clouds.items():
        assert np.array_equal(np.fromfile(out / "velodyne" / f"{key}.bin", np.float32)
                              .reshape(-1, 4)[:, :3], cloud)  # fmt: skip
        lines = (out / "label_2" / f"{key}.txt").read_text().splitlines()
        assert len(lines) == len(KNOWN)
        for line, (label, x, y, z, length, width, height, yaw) in zip(lines, KNOWN, strict=True):
            f = line.split()
            assert f[0] == label
            h, w, ln, bx, by, bz, ry = map(float, f[8:15])
            assert (bx, by) == pytest.approx((x, y), abs=0.05)
            assert (ln, w) == pytest.approx((length, width), abs=0.02)
            assert h == pytest.approx(height, abs=0.05)
            assert bz == pytest.approx(z - height / 2, abs=0.05)  # the bottom centre
            assert math.cos(ry - yaw) == pytest.approx(1.0, abs=1e-4)
    lineage = _lineage(world, "lidar-labels")
    assert lineage["source"]["dataset"] == "lidar-scans" and lineage["format"] == "kitti"
    doc = json.loads((out / "boxes3d.json").read_text())
    assert {b["label"] for b in doc[0]["boxes"]} == {"car", "pedestrian", "truck"}


def wav_with_tags(path: Path) -> None:
    """A one-second WAV carrying a LIST/INFO chunk that names the speaker and the place."""
    import struct
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack("<8000h", *[int(3000 * math.sin(i / 5)) for i in range(8000)]))
    info = b"INFO" + b"IART" + struct.pack("<I", 8) + b"ZhangSan" + b"ICMT" + \
        struct.pack("<I", 14) + b"Beijing 39.9N\x00"  # fmt: skip
    data = path.read_bytes() + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])


def test_audio_video_and_series_are_rewritten(world: Platform, tmp_path: Path) -> None:
    import cv2

    audio = tmp_path / "audio"
    audio.mkdir()
    wav_with_tags(audio / "call.wav")
    assert b"ZhangSan" in (audio / "call.wav").read_bytes()
    a = Media(world).register("calls", audio, "audio", "civil-affairs", "op")
    out = next(Path(a["location"]).glob("files/*.wav")).read_bytes()
    assert b"ZhangSan" not in out and b"Beijing" not in out and b"LIST" not in out
    import wave

    with wave.open(str(next(Path(a["location"]).glob("files/*.wav")))) as w:
        assert w.getnframes() == 8000 and w.getframerate() == 8000

    video = tmp_path / "video"
    video.mkdir()
    face = cv2.imread(str(PHOTOS[0]))
    writer = cv2.VideoWriter(str(video / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5,
                             (face.shape[1], face.shape[0]))  # fmt: skip
    for _ in range(6):
        writer.write(face)
    writer.release()
    v = Media(world).register("clips", video, "video", "civil-affairs", "op")
    safe = next(Path(v["location"]).glob("files/*.webm"))
    cap = cv2.VideoCapture(str(safe))
    frames = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames += 1
        region = (slice(60, 200), slice(150, 300))
        assert np.abs(frame[region].astype(float) - face[region]).mean() > 8  # blurred
    cap.release()
    assert frames == 6 and v["blurred"]["face"] >= 6

    series = tmp_path / "series"
    series.mkdir()
    (series / "meter.csv").write_text("time,value,household\n0,1.5,张三家\n1,2.0,张三家\n")
    s = Media(world).register("meters", series, "timeseries", "civil-affairs", "op")
    text = next(Path(s["location"]).glob("files/*.csv")).read_text()
    assert text.splitlines() == ["time,value", "0.0,1.5", "1.0,2.0"] and "张三" not in text
    (series / "bad.csv").write_text("t,v\nx,y\n")
    with pytest.raises(MediaError, match=r"bad\.csv"):
        Media(world).register("meters", series, "timeseries", "civil-affairs", "op")
