"""Labeling templates: what data each takes, the Label Studio config it generates, and
how its results are compared and reduced to one answer (``labeling.quality``).

A template names the data fields it shows (``fields``: template field → dataset column)
and the kind of result it produces; ``config`` renders the label config XML with every
label and column escaped. Templates of a media type need a media dataset of that type.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from hub.errors import TrustlabError

# Result kinds, compared by labeling.quality.
CHOICE, SPANS, SHAPES, TRANSCRIPT, TRACKS, SERIES = (
    "choice", "spans", "shapes", "transcript", "tracks", "series",
)  # fmt: skip


@dataclass(frozen=True)
class Template:
    name: str
    media: str  # text | image | audio | video | timeseries | pointcloud
    result: str
    fields: tuple[str, ...]  # template fields filled from the data
    body: str  # XML with {labels} and {field} placeholders
    label_tag: str = "Choice"
    description: str = ""


def _t(name: str, media: str, result: str, fields: tuple[str, ...], body: str,
       label_tag: str = "Label", description: str = "") -> Template:  # fmt: skip
    return Template(name, media, result, fields, body, label_tag, description)


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        _t("text-classification", "text", CHOICE, ("text",),
           '<Text name="text" value="$text"/>'
           '<Choices name="label" toName="text" choice="single" showInline="true">'
           "{labels}</Choices>", "Choice", "one class per text"),
        _t("ner", "text", SPANS, ("text",),
           '<Labels name="label" toName="text">{labels}</Labels>'
           '<Text name="text" value="$text" granularity="symbol"/>',
           description="named entities as character spans (Chinese text: one character "
           "per symbol)"),
        _t("image-classification", "image", CHOICE, ("image",),
           '<Image name="image" value="$image"/>'
           '<Choices name="label" toName="image" choice="single">{labels}</Choices>',
           "Choice", "one class per image"),
        _t("image-boxes", "image", SHAPES, ("image",),
           '<Image name="image" value="$image"/>'
           '<RectangleLabels name="label" toName="image">{labels}</RectangleLabels>',
           description="axis-aligned boxes (COCO, YOLO)"),
        _t("image-polygons", "image", SHAPES, ("image",),
           '<Image name="image" value="$image"/>'
           '<PolygonLabels name="label" toName="image">{labels}</PolygonLabels>',
           description="polygons (COCO segmentation)"),
        _t("audio-transcription", "audio", TRANSCRIPT, ("audio",),
           '<Audio name="audio" value="$audio"/>'
           '<Labels name="label" toName="audio">{labels}</Labels>'
           '<TextArea name="transcript" toName="audio" perRegion="true" editable="true"/>',
           description="segments with a label and a transcription each"),
        _t("video-classification", "video", CHOICE, ("video",),
           '<Video name="video" value="$video"/>'
           '<Choices name="label" toName="video" choice="single">{labels}</Choices>',
           "Choice", "one class per video"),
        _t("video-tracking", "video", TRACKS, ("video",),
           '<Video name="video" value="$video" framerate="25"/>'
           '<VideoRectangle name="box" toName="video"/>'
           '<Labels name="label" toName="video">{labels}</Labels>',
           description="objects tracked as boxes over frames"),
        _t("time-series", "timeseries", SERIES, ("csv",),
           '<TimeSeries name="ts" valueType="url" value="$csv" timeColumn="time">'
           '<Channel column="value"/></TimeSeries>'
           '<TimeSeriesLabels name="label" toName="ts">{labels}</TimeSeriesLabels>',
           description="labeled time ranges of a series (columns time, value)"),
        _t("pointcloud-boxes", "pointcloud", SHAPES, ("image",),
           '<Image name="image" value="$image"/>'
           '<RectangleLabels name="label" toName="image" canRotate="true">{labels}'
           "</RectangleLabels>"
           '<Number name="height" toName="image" perRegion="true" min="0" max="10" step="0.1"/>',
           description="3D boxes drawn as rotated boxes on a bird's-eye view (metres; "
           "height per box, or from the points inside it)"),
    )
}  # fmt: skip

MAX_LABELS = 200


def get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TrustlabError(
            f"unknown template {name!r}; choose from {', '.join(sorted(TEMPLATES))}"
        ) from None


def check_labels(labels: list[str]) -> list[str]:
    clean = [str(label).strip() for label in labels]
    if not clean or any(not c for c in clean):
        raise TrustlabError("give the labels as --labels A,B,C (none may be empty)")
    if len(set(clean)) != len(clean):
        raise TrustlabError(f"labels must be distinct: {', '.join(clean)}")
    if len(clean) > MAX_LABELS or any(len(c) > 100 for c in clean):
        raise TrustlabError(f"at most {MAX_LABELS} labels of at most 100 characters each")
    return clean


def config(template: Template, labels: list[str]) -> str:
    """The Label Studio label config: every label escaped as an XML attribute."""
    tags = "".join(f"<{template.label_tag} value={quoteattr(label)}/>" for label in labels)
    return f"<View>{template.body.replace('{labels}', tags)}</View>"
