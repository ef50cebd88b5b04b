"""Console pages: users, roles and projects (用户与项目) — admins add users and roles and
reset passwords; operators and admins create projects and add members. A generated
password is shown once, on the page that made it, and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import TrustlabError
from hub.identity import ROLES

READERS = ("admin", "operator", "auditor")
MESSAGES = {
    "en": {
        "people": "Users and projects", "users": "Users", "user_name": "User",
        "user_roles": "Roles", "projects": "Projects", "project": "Project",
        "members": "Members", "description": "Description", "can_login": "Password login",
        "add_user": "Add a user", "add_role": "Add a role", "org": "Organisation (for "
        "provider)", "create_project": "Create a project", "add_member": "Add a member",
        "add": "Add", "create": "Create", "reset_password": "New password",
        "password_once": "The password of {user} (shown once; hand it over safely): ",
        "yes": "yes", "no": "no", "orgs": "Organisations", "create_org": "Add an "
        "organisation (a data provider, a consumer)",
    },
    "zh-CN": {
        "people": "用户与项目", "users": "用户", "user_name": "用户名", "user_roles": "角色",
        "projects": "项目", "project": "项目", "members": "成员", "description": "说明",
        "can_login": "密码登录", "add_user": "添加用户", "add_role": "添加角色",
        "org": "所属机构（数据提供方）", "create_project": "创建项目", "add_member": "添加成员",
        "add": "添加", "create": "创建", "reset_password": "重置密码",
        "password_once": "{user} 的密码（仅显示一次，请安全转交）：", "yes": "是", "no": "否",
        "orgs": "机构", "create_org": "添加机构（数据提供方、使用方）",
    },
}  # fmt: skip


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("people", "people", roles=READERS, order=90)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    def show(request: Request, password: tuple[str, str] | None = None) -> HTMLResponse:
        api = console.api(request)
        users, projects = api.get("/users"), api.get("/projects")
        orgs = [o["name"] for o in api.get("/organisations")]
        return console.render(
            request, "people.html", t(request, "people"), roles_all=ROLES,
            users=console.table(request, users, "name", "u"),
            projects=console.table(request, projects, "name", "p"),
            admin=console.holds(request, "admin"),
            manager=console.holds(request, "admin", "operator"), password=password,
            all_users=[u["name"] for u in users], all_projects=[x["name"] for x in projects],
            orgs=orgs,
        )  # fmt: skip

    @console.router.get("/people")
    def people(request: Request) -> HTMLResponse:
        return show(request)

    @console.router.post("/people/{action}")
    async def act(request: Request, action: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        user = form.get("user", "").strip()
        org = form.get("org", "").strip() or None

        def run() -> Response:
            try:
                if action == "add-user":
                    made = api.post("/users", {"name": user, "roles": [form.get("role", "")],
                                               "org": org})  # fmt: skip
                    return show(request, (user, made.get("password") or ""))
                if action == "add-role":
                    api.post(f"/users/{quote(user, safe='')}/roles",
                             {"role": form.get("role", ""), "org": org})  # fmt: skip
                elif action == "password":
                    made = api.post(f"/users/{quote(user, safe='')}/password", {})
                    return show(request, (user, made.get("password") or ""))
                elif action == "create-org":
                    api.post("/organisations", {"name": form.get("org_name", "").strip()})
                elif action == "create-project":
                    api.post(
                        "/projects",
                        {
                            "name": form.get("project", "").strip(),
                            "description": form.get("description", ""),
                        },
                    )
                elif action == "add-member":
                    project = form.get("project", "")
                    api.post(f"/projects/{quote(project, safe='')}/members", {"user": user})
                else:
                    return console.error(request, 404, t(request, "not_found"))
            except TrustlabError as exc:
                return RedirectResponse(f"../people?error={quote(str(exc))}", 303)
            return RedirectResponse("../people?done=1", 303)

        return await run_in_threadpool(run)
