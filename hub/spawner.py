"""The sandbox spawner: DockerSpawner, locked down, mounting only what contracts allow.

Profiles:

- ``dev`` (default): the latest published *sample* of each dataset a contract in force of
  the chosen project allows for sandbox use, read-only under ``/data/samples/<dataset>``;
- ``prod``: the latest version of each such *product*, under ``/data/products/<dataset>``.

Only the contracted columns are mounted (a column view when a contract allows fewer than
all: ``hub.mounts``). Never a source's location: mounts come only from catalog versions of
kind sample/product, and each is checked to lie inside its zone. Every
container runs as uid 1000 with all capabilities dropped, ``no-new-privileges``, a
read-only root filesystem (tmpfs ``/tmp``), memory/CPU/pids limits, on the internal
sandbox network. Spawn and stop are ledgered with the image id and mounted hashes.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Dict, Unicode, default

from hub.errors import TrustlabError
from hub.identity import Directory
from hub.models import SandboxSession
from hub.mounts import sandbox_mounts
from hub.platform import Platform

CONTAINER_HOME = "/home/sandbox"
MANIFEST = "/etc/trustlab/samples.json"
_platform: Platform | None = None


def platform() -> Platform:
    """One Platform per hub process (settings from the hub's TRUSTLAB_* environment)."""
    global _platform
    if _platform is None:
        _platform = Platform()
        _platform.init()
    return _platform


def resolve_request(directory: Directory, user: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate spawn options (profile, project) and compute the mounts, or refuse."""
    profile = str(options.get("profile") or "dev")
    project = options.get("project")
    if not project:
        mine = [p["name"] for p in directory.list_projects(user)]
        if not mine:
            raise TrustlabError(f"{user!r} is not a member of any project; ask an admin")
        if len(mine) > 1:
            raise TrustlabError(f"choose a project to open: one of {', '.join(mine)}")
        project = mine[0]
    mounts = sandbox_mounts(directory.platform, user, str(project), profile)
    zone = Path(platform().settings.zone("samples" if profile == "dev" else "products")).resolve()
    for m in mounts:
        location = Path(m["location"]).resolve()
        if not location.is_relative_to(zone):
            raise TrustlabError(
                f"refusing to mount {m['catalog_name']}: {location} is outside the {zone} zone"
            )
        m["location"] = str(location)
    return {"profile": profile, "project": str(project), "mounts": mounts}


class SandboxSpawner(DockerSpawner):
    """DockerSpawner with trustlab's profiles, contracts, hardening and evidence."""

    work_volume_template = Unicode(
        "{network}-work-{username}-{project}",
        config=True,
        help="Named volume for a user's persistent workspace in a project.",
    )
    state_dir = Unicode(config=True, help="Host folder for per-server manifests.")

    # Defaults from trustlab's settings; `c.SandboxSpawner.image = …` etc. still override
    # them. The hardening (user, capabilities, read-only root, tmpfs, pids, network) is
    # not configuration: start() always applies it.
    @default("image")
    def _default_image(self) -> str:
        return platform().settings.sandbox_image

    @default("mem_limit")
    def _default_mem_limit(self) -> str:
        return platform().settings.sandbox_mem_limit

    @default("cpu_limit")
    def _default_cpu_limit(self) -> float:
        return platform().settings.sandbox_cpu_limit

    def _options_form(self) -> str:
        from hub.enforce import notice

        said = notice(platform(), self.user.name)
        banner = (f'<div class="alert alert-warning" id="trustlab-notice">{html.escape(said)}'
                  "<br>您的沙箱因合约失效已被停止。</div>" if said else "")  # fmt: skip
        projects = Directory(platform()).list_projects(self.user.name)
        if not projects:
            return banner + (
                "<p>You are not a member of any project yet; ask an admin. "
                "您尚未加入任何项目，请联系管理员。</p>"
            )
        opts = "".join(
            f'<option value="{html.escape(p["name"])}">{html.escape(p["name"])}'
            f"{' — ' + html.escape(p['description']) if p['description'] else ''}</option>"
            for p in projects
        )
        return (
            banner
            + f"""
<label for="project">Project 项目</label>
<select class="form-control" name="project" id="project">{opts}</select>
<label for="profile">Environment 环境</label>
<select class="form-control" name="profile" id="profile">
  <option value="dev" selected>dev — desensitized samples 开发（脱敏样例）</option>
  <option value="prod">prod — approved products 生产（已审批产品）</option>
</select>"""
        )

    @default("options_form")
    def _default_options_form(self):  # type: ignore[override]
        async def form(spawner: SandboxSpawner) -> str:  # DB work off the event loop
            return await asyncio.to_thread(spawner._options_form)

        return form

    @default("options_from_form")
    def _default_options_from_form(self):  # type: ignore[override]
        def parse(formdata: dict[str, list[str]]) -> dict[str, str]:
            return {
                "project": (formdata.get("project") or [""])[0],
                "profile": (formdata.get("profile") or ["dev"])[0],
            }

        return parse

    @default("apply_user_options")
    def _default_apply_user_options(self):  # type: ignore[no-untyped-def]
        # project/profile are validated against contracts in start() (a refusal is a 403 there)
        return lambda spawner, options: None

    trustlab_env = Dict(help="This spawn's project, profile, manifest and API address.")

    def get_env(self) -> dict[str, str]:
        """The configured environment, then this spawn's trustlab values on top."""
        return {**super().get_env(), **self.trustlab_env}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if getattr(self, "session_id", None):
            state["trustlab_session"] = self.session_id
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.session_id = state.get("trustlab_session")

    def clear_state(self) -> None:
        super().clear_state()
        self.session_id = None

    async def start(self):  # type: ignore[override]
        p = platform()
        s = p.settings
        options = {
            k: v for k, v in (self.user_options or {}).items() if k in ("project", "profile")
        }
        self.user_options = options  # never let a client pick the image or anything else
        try:
            request = await asyncio.to_thread(resolve_request, Directory(p), self.user.name,
                                              options)  # fmt: skip
        except TrustlabError as exc:
            await asyncio.to_thread(self._record_refusal, options, str(exc))
            raise web.HTTPError(403, str(exc)) from None
        self.plan = request
        project, profile, mounts = request["project"], request["profile"], request["mounts"]
        zone_dir = "samples" if profile == "dev" else "products"

        manifest_dir = Path(self.state_dir) / f"{self.user.name}-{self.name or 'default'}"
        manifest_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "profile": profile,
            "project": project,
            "datasets": {
                m["dataset"]: {
                    "path": f"/data/{zone_dir}/{m['dataset']}",
                    "hash": m["hash"],
                    "version": m["version"],
                    "catalog_name": m["catalog_name"],
                    "columns": m["columns"],
                    "contracts": m["contracts"],
                }
                for m in mounts
            },
        }
        (manifest_dir / "samples.json").write_text(json.dumps(manifest, indent=2))
        ro = {str(manifest_dir): "/etc/trustlab"}
        ro.update({m["location"]: f"/data/{zone_dir}/{m['dataset']}" for m in mounts})
        self.read_only_volumes = ro
        volume = self.work_volume_template.format(
            network=self.network_name, username=self.escaped_name, project=project
        )
        self.volumes = {volume: CONTAINER_HOME}

        self.extra_create_kwargs = {"user": "1000:1000", "working_dir": CONTAINER_HOME}
        self.extra_host_config = {
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "read_only": True,
            # exec: Spark loads its compression codecs (zstd, snappy) as JNI libraries from /tmp
            "tmpfs": {"/tmp": f"rw,exec,nosuid,nodev,size={s.sandbox_tmp_size}"},
            "pids_limit": s.sandbox_pids_limit,
            "network_mode": self.network_name,
        }
        self.trustlab_env = {
            "TRUSTLAB_SAMPLES_MANIFEST": MANIFEST,
            "TRUSTLAB_PROJECT": project,
            "TRUSTLAB_PROFILE": profile,
            "TRUSTLAB_AUDIT_URL": os.environ.get("TRUSTLAB_AUDIT_URL", ""),
            # the platform API, reached with this server's own hub token (hub.client)
            "TRUSTLAB_API_URL": os.environ.get("TRUSTLAB_SANDBOX_API_URL", ""),
            "TRUSTLAB_AUDIT_SPOOL": f"{CONTAINER_HOME}/.trustlab/audit-spool",
            "TRUSTLAB_DOWNLOADS": "1" if s.sandbox_downloads else "0",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": "/opt/trustlab/bin/python",
        }
        ip_port = await super().start()
        await self._wait_until_answering(*ip_port)

        image_id = (await self.docker("inspect_image", self.image))["Id"]
        keys = ("dataset", "catalog_name", "version", "hash", "columns", "contracts")
        record = [{k: m[k] for k in keys} for m in mounts]
        await asyncio.to_thread(self._record_spawn, project, profile, image_id, record)
        return ip_port

    def _record_refusal(self, options: dict[str, Any], reason: str) -> None:
        p = platform()
        with p.db.session() as session:
            p.ledger.append(session, self.user.name, "sandbox.refused",
                            f"user:{self.user.name}", {"server": self.name or "",
                            "options": options, "reason": reason})  # fmt: skip

    def _record_spawn(self, project: str, profile: str, image_id: str, record: list) -> None:
        p = platform()
        with p.db.session() as session:
            row = SandboxSession(
                user=self.user.name,
                server_name=self.name or "",
                project=project,
                profile=profile,
                image=self.image,
                image_id=image_id,
                container_id=self.container_id,
                mounts=json.dumps(record),
            )
            session.add(row)
            session.flush()
            self.session_id = row.id
            p.ledger.append(
                session,
                self.user.name,
                "sandbox.spawn",
                f"project:{project}",
                {
                    "session": row.id,
                    "server": self.name or "",
                    "profile": profile,
                    "image": self.image,
                    "image_id": image_id,
                    "container": self.container_id,
                    "mounts": record,
                },
            )

    async def _wait_until_answering(self, ip: str, port: int) -> None:
        """Poll the new server every 50 ms until it answers HTTP.

        JupyterHub's own readiness check backs off exponentially (0.2 s, 0.6 s, 1.4 s, …),
        which adds up to ~2.5 s to a ~2.7 s container start; a tight poll here means its
        first check succeeds. Gives up quietly at ``http_timeout`` (the hub then decides).
        """
        import asyncio
        import time

        from tornado.httpclient import AsyncHTTPClient, HTTPClientError

        url = f"http://{ip}:{port}{self.server.base_url if self.server else '/'}api"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        while time.monotonic() < deadline:
            try:
                await client.fetch(url, request_timeout=2, connect_timeout=1)
                return
            except HTTPClientError:
                return  # it answered (with an HTTP error status): it is up
            except (TimeoutError, OSError):
                pass
            await asyncio.sleep(0.05)

    async def stop(self, now: bool = False) -> None:  # type: ignore[override]
        session_id = getattr(self, "session_id", None)  # DockerSpawner.stop clears state
        await super().stop(now=now)
        if not session_id:
            return
        await asyncio.to_thread(self._record_stop, session_id)
        self.session_id = None

    def _record_stop(self, session_id: int) -> None:
        p = platform()
        with p.db.session() as session:
            row = session.get(SandboxSession, session_id)
            if row is not None and row.stopped_at is None:
                row.stopped_at = datetime.now(UTC)
                p.ledger.append(
                    session,
                    self.user.name,
                    "sandbox.stop",
                    f"project:{row.project}",
                    {"session": row.id, "server": row.server_name, "container": row.container_id},
                )
