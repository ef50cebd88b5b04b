"""trustlab's side of Label Studio: ``label-studio-sdk`` 2.x calls, with every failure
turned into one clear ``LabelStudioError``.

Accounts: a hub user who annotates gets a Label Studio account of their own, made by
signing up through the organisation's invite link (over HTTP, so this works for an
external server too); the link's token is rotated right after, so it never lets anyone
else in. The account's password and API token are kept in ``HOME/keys/labelstudio-
accounts.json`` (mode 0600) and given only to that user (``trustlab label login``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from labeling.server import LabelStudioError, LabelStudioServer

ACCOUNT_DOMAIN = "labelstudio.local"
NO_RETRY = {"max_retries": 0, "timeout_in_seconds": 300}


@contextmanager
def translated(what: str, url: str) -> Iterator[None]:
    """Label Studio's failures as one line that says what to do."""
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except ApiError as exc:
        code = exc.status_code
        if code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {url} refused trustlab's token while trying to {what} "
                f"({code}); check HOME/labelstudio/admin-token"
            ) from None
        if code == 404:
            raise LabelStudioError(
                f"Label Studio at {url} does not have what trustlab needs to {what} (404): "
                "was the project deleted on the Label Studio side? Recreate it with "
                "`trustlab label project create`"
            ) from None
        body = exc.body if isinstance(exc.body, str | dict) else ""
        raise LabelStudioError(f"Label Studio refused to {what} ({code}): {body}"[:500]) from None
    except (httpx.TransportError, OSError) as exc:
        raise LabelStudioError(
            f"Label Studio is not reachable at {url} ({type(exc).__name__}); start it with "
            "`trustlab label server start` (make up does this)"
        ) from None


class Studio:
    """The admin's connection to the server (or an annotator's, with their token)."""

    def __init__(self, server: LabelStudioServer, token: str | None = None) -> None:
        from label_studio_sdk import LabelStudio

        self.server = server
        self.url = server.url
        self.ls = LabelStudio(base_url=self.url, api_key=token or server.admin_token(),
                              timeout=120)  # fmt: skip

    # --- projects ------------------------------------------------------------------------

    def create_project(self, title: str, config: str, description: str,
                       guidelines: str = "") -> int:  # fmt: skip
        with translated("create a project", self.url):
            p = self.ls.projects.create(
                title=title[:50], label_config=config, description=description,
                expert_instruction=guidelines, show_instruction=bool(guidelines),
                show_skip_button=False, enable_empty_annotation=True,
                maximum_annotations=1,
            )  # fmt: skip
        return int(p.id)

    def delete_project(self, project_id: int) -> None:
        from label_studio_sdk.core.api_error import ApiError

        try:
            self.ls.projects.delete(id=project_id)
        except ApiError as exc:
            if exc.status_code != 404:
                raise
        except (httpx.TransportError, OSError):
            pass  # nothing more can be done from here; the caller reports the first error

    def allow_local_files(self, project_id: int, folder: Path) -> None:
        """Let the project's tasks show files under ``folder`` (a media zone folder)."""
        with translated("connect the media storage", self.url):
            self.ls.import_storage.local.create(
                project=project_id, path=str(folder), use_blob_urls=False,
                title="trustlab media", regex_filter="^$",
            )  # fmt: skip

    def import_tasks(
        self, project_id: int, tasks: list[dict[str, Any]], batch: int, progress: Any = None
    ) -> list[int]:
        """Import ``tasks`` in batches of ``batch``; their Label Studio ids, in order. All or
        nothing: if a batch fails, the batches already imported are deleted again."""
        ids: list[int] = []
        try:
            for start in range(0, len(tasks), batch):
                chunk = tasks[start : start + batch]
                with translated("import tasks", self.url):
                    resp = self.ls.projects.import_tasks(
                        id=project_id, request=chunk, return_task_ids=True,
                        request_options=NO_RETRY,
                    )  # fmt: skip
                got = [int(i) for i in getattr(resp, "task_ids", None) or []]
                ids.extend(got)
                if len(got) != len(chunk):
                    raise LabelStudioError(
                        f"Label Studio imported {len(got)} of {len(chunk)} tasks into project "
                        f"{project_id}; nothing is registered"
                    )
                if progress:
                    progress(len(ids))
        except BaseException:
            chosen = {"all": False, "included": ids}
            if ids:
                with contextlib.suppress(Exception):  # the first error is the one reported
                    self.ls.actions.create(id="delete_tasks", project=project_id,
                                           selected_items=chosen)  # fmt: skip
            raise
        return ids

    def snapshot(self, project_id: int, timeout: float = 600) -> list[dict[str, Any]]:
        """Every annotated task of the project, through an export snapshot."""
        with translated("export annotations", self.url):
            ex = self.ls.projects.exports.create(
                id=project_id, title="trustlab",
                task_filter_options={"only_with_annotations": True},
            )  # fmt: skip
            deadline = time.monotonic() + timeout
            while ex.status not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise LabelStudioError(f"Label Studio's export of {project_id} timed out")
                time.sleep(0.3)
                ex = self.ls.projects.exports.get(id=project_id, export_pk=ex.id)
            if ex.status == "failed":
                raise LabelStudioError(f"Label Studio's export of project {project_id} failed")
            raw = b"".join(self.ls.projects.exports.download(
                id=project_id, export_pk=ex.id, export_type="JSON",
                request_options=NO_RETRY))  # fmt: skip
            self.ls.projects.exports.delete(id=project_id, export_pk=ex.id)
        return json.loads(raw)

    def annotate(self, task_id: int, result: list[dict[str, Any]], lead_time: float) -> int:
        with translated("save an annotation", self.url):
            a = self.ls.annotations.create(id=task_id, result=result, lead_time=lead_time)
        return int(a.id)

    # --- accounts ------------------------------------------------------------------------

    def account(self, person: str) -> dict[str, Any]:
        """The Label Studio account of hub user ``person`` (made on first use)."""
        store = Accounts(self.server.settings.home)
        known = store.get(person)
        if known:
            return known
        email = f"{person}.{self.server.install_id()}@{ACCOUNT_DOMAIN}"
        password = secrets.token_urlsafe(15)
        user_id, api_token = self._signup(email, password, self._admin("get", "/api/invite"))
        self._admin("post", "/api/invite/reset-token")
        account = {"id": user_id, "email": email, "password": password, "token": api_token}
        store.put(person, account)
        return account

    def _admin(self, method: str, path: str) -> str:
        """The organisation's invite token, read or rotated with the admin's token."""
        with translated("manage the invite link", self.url):
            auth = {"Authorization": f"Token {self.server.admin_token()}"}
            resp = httpx.request(method, f"{self.url}{path}", timeout=30, headers=auth)
        if resp.status_code not in (200, 201):
            raise LabelStudioError(
                f"Label Studio refused to {method.upper()} {path} ({resp.status_code}); check "
                "trustlab's admin token in HOME/labelstudio/admin-token"
            )
        return str(resp.json()["token"])

    def _signup(self, email: str, password: str, invite: str) -> tuple[int, str]:
        with translated("sign up an annotator", self.url), httpx.Client(
            base_url=self.url, timeout=30
        ) as web:  # fmt: skip
            web.get("/user/signup/", params={"token": invite})
            resp = web.post(
                "/user/signup/", params={"token": invite},
                data={"email": email, "password": password,
                      "csrfmiddlewaretoken": web.cookies.get("csrftoken", "")},
                headers={"Referer": f"{self.url}/user/signup/"},
            )  # fmt: skip
            if resp.status_code != 302:
                raise LabelStudioError(
                    f"Label Studio did not accept the account {email} ({resp.status_code}); "
                    "does it exist already on the Label Studio side?"
                )
            me = web.get("/api/current-user/whoami")
            tok = web.get("/api/current-user/token")
            if me.status_code != 200 or tok.status_code != 200:
                raise LabelStudioError(f"Label Studio did not sign in the new account {email}")
        return int(me.json()["id"]), str(tok.json()["token"])


class Accounts:
    """Hub user → Label Studio account (id, email, password, API token), mode 0600."""

    def __init__(self, home: Path) -> None:
        self.path = home / "keys" / "labelstudio-accounts.json"

    def _read(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return {}

    def get(self, person: str) -> dict[str, Any] | None:
        return self._read().get(person)

    def put(self, person: str, account: dict[str, Any]) -> None:
        values = self._read()
        values[person] = account
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(values, fh)
        tmp.replace(self.path)
