"""Console pages of labeling: the projects I may see, and one project's dashboard —
progress, task states, agreement, gold accuracy and quality per annotator, the review
queue and the Label Studio projects. Clients of the platform API as the logged-in person;
the API decides who may see what."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "labeling": "Labeling", "no_projects": "No labeling projects you may see.",
        "name": "project", "trustlab_project": "trustlab project", "source": "data",
        "template": "template", "tasks": "tasks", "annotators": "annotators",
        "progress": "Progress", "final": "final", "states": "task states",
        "agreement": "Agreement", "mean_agreement": "mean agreement",
        "tasks_compared": "tasks compared", "alpha": "Krippendorff's alpha",
        "kappa": "Cohen's kappa", "annotator": "annotator", "done": "done",
        "gold_accuracy": "gold accuracy", "peer": "agreement with peers",
        "seconds": "seconds", "review": "Review", "queued": "waiting", "reviewed": "reviewed",
        "reviewer": "reviewer", "open_ls": "Label Studio projects", "overlap": "overlap",
        "threshold": "review below", "gold": "gold tasks", "spec": "specification",
    },
    "zh-CN": {
        "labeling": "数据标注", "no_projects": "暂无可查看的标注项目。",
        "name": "标注项目", "trustlab_project": "项目", "source": "数据",
        "template": "模板", "tasks": "任务数", "annotators": "标注员",
        "progress": "进度", "final": "已定稿", "states": "任务状态",
        "agreement": "一致性", "mean_agreement": "平均一致性", "tasks_compared": "参与比较的任务",
        "alpha": "Krippendorff α", "kappa": "Cohen κ", "annotator": "标注员", "done": "已完成",
        "gold_accuracy": "金标准准确率", "peer": "与他人一致性", "seconds": "用时（秒）",
        "review": "审核", "queued": "待审核", "reviewed": "已审核", "reviewer": "审核员",
        "open_ls": "Label Studio 项目", "overlap": "重叠标注", "threshold": "低于此值送审",
        "gold": "金标准任务", "spec": "标注规范",
    },
}  # fmt: skip


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("labeling", "labeling", order=60)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    @console.router.get("/labeling")
    def projects(request: Request) -> HTMLResponse:
        console.user(request)
        rows = console.api(request).get("/labeling/projects")
        return console.render(request, "labeling.html", t(request, "labeling"), rows=rows)

    @console.router.get("/labeling/{name}")
    def project(request: Request, name: str) -> HTMLResponse:
        console.user(request)
        api = console.api(request)
        try:
            info = api.get(f"/labeling/projects/{quote(name)}")
            status = api.get(f"/labeling/projects/{quote(name)}/status")
        except TrustlabError as exc:
            return console.page(request, t(request, "labeling"), str(exc), 404)
        return console.render(request, "label_project.html", f"{t(request, 'labeling')} {name}",
                              info=info, s=status)  # fmt: skip
