"""Point clouds on a bird's-eye view: Label Studio has no 3D viewer, so each cloud is
rendered to an image on a fixed metric grid, annotators draw rotated boxes on it, and the
boxes come back as 3D boxes in metres.

Frame: x forward, y left, z up (the LiDAR convention, as in KITTI's velodyne files).
Grid: x in [x_min, x_max), y in [y_min, y_max), ``resolution`` metres per pixel; image
row 0 is the far edge (x_max), column 0 the left edge (y_max). A pixel's brightness is
the highest point in its cell (ground dark, objects bright).

A Label Studio rectangle is (x, y, width, height) in percent of the image, rotated by
``rotation`` degrees clockwise about its top-left corner. Its 3D box: the centre and
footprint from the rectangle, the yaw from its width axis, and z from the points inside
the footprint (bottom = their 0.5th percentile of z; height = the annotator's number when
given, else up to the 99.5th percentile: robust to ground noise and stray points).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Grid:
    x_min: float = 0.0
    x_max: float = 51.2
    y_min: float = -25.6
    y_max: float = 25.6
    resolution: float = 0.1
    z_min: float = -3.0
    z_max: float = 3.0

    @property
    def rows(self) -> int:
        return round((self.x_max - self.x_min) / self.resolution)

    @property
    def cols(self) -> int:
        return round((self.y_max - self.y_min) / self.resolution)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def to_pixel(self, x: Any, y: Any) -> tuple[Any, Any]:
        """(column, row) of metric (x, y), as continuous pixel coordinates."""
        return (self.y_max - np.asarray(y)) / self.resolution, (
            self.x_max - np.asarray(x)
        ) / self.resolution

    def to_metric(self, col: Any, row: Any) -> tuple[Any, Any]:
        return self.x_max - np.asarray(row) * self.resolution, self.y_max - np.asarray(
            col
        ) * self.resolution


def load(path: Path) -> np.ndarray:
    """N×3 float32 x, y, z from a KITTI .bin (x y z intensity), .npy, ASCII .pcd or .xyz."""
    suffix = path.suffix.lower()
    if suffix == ".bin":
        raw = np.fromfile(path, dtype=np.float32)
        if raw.size == 0 or raw.size % 4:
            raise ValueError("a KITTI .bin holds float32 x y z intensity quadruples")
        pts = raw.reshape(-1, 4)[:, :3]
    elif suffix == ".npy":
        pts = np.load(path, allow_pickle=False)
    elif suffix == ".pcd":
        pts = _pcd(path)
    else:
        pts = np.loadtxt(path, dtype=np.float32, ndmin=2)
    pts = np.asarray(pts, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] < 3 or len(pts) == 0:
        raise ValueError("expected N points of at least x, y, z")
    pts = pts[:, :3]
    if not np.isfinite(pts).all():
        raise ValueError("the cloud holds NaN or infinite coordinates")
    return pts


def _pcd(path: Path) -> np.ndarray:
    lines = path.read_text(encoding="ascii", errors="strict").splitlines()
    fields: list[str] = []
    for i, line in enumerate(lines):
        head = line.split()
        if head and head[0] == "FIELDS":
            fields = head[1:]
        if head and head[0] == "DATA":
            if head[1:] != ["ascii"]:
                raise ValueError("only ASCII .pcd files are read; convert binary ones")
            data = np.loadtxt(lines[i + 1 :], dtype=np.float32, ndmin=2)
            idx = [fields.index(c) for c in ("x", "y", "z")]
            return data[:, idx]
    raise ValueError("no DATA line in the .pcd header")


def save(points: np.ndarray, path: Path) -> None:
    np.save(path, points.astype(np.float32), allow_pickle=False)


def render(points: np.ndarray, grid: Grid, path: Path) -> None:
    """The bird's-eye view PNG: per cell the highest point, scaled over [z_min, z_max]."""
    import cv2

    col, row = grid.to_pixel(points[:, 0], points[:, 1])
    col, row = np.floor(col).astype(int), np.floor(row).astype(int)
    inside = (col >= 0) & (col < grid.cols) & (row >= 0) & (row < grid.rows)
    height = np.full((grid.rows, grid.cols), -np.inf, dtype=np.float32)
    np.maximum.at(height, (row[inside], col[inside]), points[inside, 2])
    img = np.zeros((grid.rows, grid.cols), dtype=np.uint8)
    seen = np.isfinite(height)
    scaled = (np.clip(height[seen], grid.z_min, grid.z_max) - grid.z_min) / (
        grid.z_max - grid.z_min
    )
    img[seen] = (40 + 215 * scaled).astype(np.uint8)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")


@dataclass(frozen=True)
class Box3D:
    label: str
    x: float
    y: float
    z: float  # centre
    length: float  # along the heading
    width: float
    height: float
    yaw: float  # radians, counter-clockwise from +x about +z

    def footprint(self) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        half = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * [self.length / 2, self.width / 2]
        rot = np.array([[c, -s], [s, c]])
        return half @ rot.T + [self.x, self.y]


def from_rectangle(value: dict[str, Any], grid: Grid, points: np.ndarray | None,
                   height: float | None = None) -> Box3D:  # fmt: skip
    """The 3D box of a Label Studio rectangle drawn on ``grid``'s view."""
    w_px = float(value["width"]) / 100 * grid.cols
    h_px = float(value["height"]) / 100 * grid.rows
    x0 = float(value["x"]) / 100 * grid.cols
    y0 = float(value["y"]) / 100 * grid.rows
    t = math.radians(float(value.get("rotation") or 0))
    # Image coordinates (col right, row down); a clockwise turn on screen by t.
    ux, uy = math.cos(t), math.sin(t)  # the rectangle's width axis
    vx, vy = -math.sin(t), math.cos(t)  # its height axis
    cc = x0 + ux * w_px / 2 + vx * h_px / 2
    cr = y0 + uy * w_px / 2 + vy * h_px / 2
    x, y = (float(v) for v in grid.to_metric(cc, cr))
    # The width axis in metres: a column step is −y, a row step is −x.
    yaw = math.atan2(-ux, -uy)
    box = Box3D(
        label=str((value.get("rectanglelabels") or ["object"])[0]),
        x=x, y=y, z=0.0, length=w_px * grid.resolution, width=h_px * grid.resolution,
        height=height or 0.0, yaw=_wrap(yaw),
    )  # fmt: skip
    return _with_z(box, points, height)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _with_z(box: Box3D, points: np.ndarray | None, height: float | None) -> Box3D:
    bottom, top = 0.0, height or 0.0
    if points is not None and len(points):
        c, s = math.cos(-box.yaw), math.sin(-box.yaw)
        dx, dy = points[:, 0] - box.x, points[:, 1] - box.y
        lx, ly = dx * c - dy * s, dx * s + dy * c
        inside = (np.abs(lx) <= box.length / 2) & (np.abs(ly) <= box.width / 2)
        if inside.any():
            # Percentiles, not extremes: stray points and ground noise under the box.
            bottom, top = (float(v) for v in np.percentile(points[inside, 2], [0.5, 99.5]))
    h = height if height else max(top - bottom, 0.0)
    return Box3D(box.label, box.x, box.y, bottom + h / 2, box.length, box.width, h, box.yaw)


def boxes(result: list[dict[str, Any]], grid: Grid, points: np.ndarray | None) -> list[Box3D]:
    """Every rectangle of a result as a 3D box (heights joined by region id)."""
    heights = {r.get("id"): float(r["value"]["number"]) for r in result
               if r.get("type") == "number" and "number" in (r.get("value") or {})}  # fmt: skip
    return [from_rectangle(r["value"], grid, points, heights.get(r.get("id")))
            for r in result if r.get("type") == "rectanglelabels"]  # fmt: skip


def kitti_line(b: Box3D) -> str:
    """A KITTI label line in the LiDAR frame (no camera calibration): type, truncation 0,
    occlusion 0, alpha −10 (unknown), 2D bbox 0 0 0 0, then h w l, the box's bottom
    centre x y z in metres, and the yaw about z."""
    bottom = b.z - b.height / 2
    return (f"{b.label.replace(' ', '_')} 0.00 0 -10 0 0 0 0 {b.height:.3f} {b.width:.3f} "
            f"{b.length:.3f} {b.x:.3f} {b.y:.3f} {bottom:.3f} {b.yaw:.4f}")  # fmt: skip
