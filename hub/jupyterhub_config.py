"""JupyterHub configuration for trustlab; every value comes from trustlab's settings.

Started by ``trustlab hub start`` (and ``make up``): ``jupyterhub -f hub/jupyterhub_config.py``.
"""

import os
import sys
from pathlib import Path

from hub.network import SandboxNetwork
from hub.plugins import plugins
from hub.settings import get_settings

c = get_config()  # noqa: F821


def _active_users() -> list[str]:
    from hub.identity import Directory
    from hub.platform import Platform

    p = Platform(get_settings())
    try:
        return [u["name"] for u in Directory(p).list_users() if u["active"]]
    finally:
        p.close()


s = get_settings()
net = SandboxNetwork.from_settings(s)
state = s.home / "hub"
state.mkdir(parents=True, exist_ok=True)
cache = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab")

# --- the hub and its proxy -------------------------------------------------------------------
c.JupyterHub.bind_url = f"http://{s.hub_ip}:{s.hub_port}"
# The hub API listens on the sandbox network's gateway: the one address sandboxes reach.
c.JupyterHub.hub_bind_url = f"http://{net.gateway}:{s.hub_api_port}"
c.JupyterHub.db_url = s.hub_db_url or f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
chp = cache / "node" / "bin" / "configurable-http-proxy"
if chp.exists():
    c.ConfigurableHTTPProxy.command = [str(chp)]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.template_vars = {"announcement_login": "trustlab — 可信数据空间 trusted data space"}

# --- who: trustlab users, roles mirrored into groups -----------------------------------------
c.JupyterHub.authenticator_class = "hub.auth.TrustlabAuthenticator"
c.Authenticator.allow_all = True  # the authenticator admits only active trustlab users
c.Authenticator.manage_groups = True
c.Authenticator.auth_refresh_age = 60
c.Authenticator.refresh_pre_spawn = True
c.JupyterHub.load_roles = [
    {
        "name": "trustlab-operator",
        "description": "Platform operator: sees users and servers, may stop servers.",
        "scopes": ["list:users", "read:users", "read:servers", "delete:servers", "read:groups"],
        "groups": ["operators"],
    },
    {
        "name": "trustlab-auditor",
        "description": "Auditor: read-only view of users and servers.",
        "scopes": ["list:users", "read:users", "read:servers", "read:groups"],
        "groups": ["auditors"],
    },
    {
        "name": "trustlab-provider",
        "description": "Provider reviewer: sees who works on which server.",
        "scopes": ["list:users", "read:users:name", "read:groups"],
        "groups": ["providers"],
    },
    {
        "name": "trustlab-audit",
        "scopes": ["read:users:name"],
        "services": ["trustlab-audit"],
    },
    {
        "name": "trustlab-console-users",
        "description": "Log in to the console (pages check trustlab roles themselves).",
        "scopes": ["access:services!service=trustlab-console"],
        "groups": ["developers", "providers", "operators", "auditors", "admins", "annotators"],
    },
    {
        # Every hub user may call the platform API (it checks trustlab's roles itself), from
        # the first token on: groups are only synced at a browser login.
        "name": "user",
        "scopes": ["self", "access:services!service=trustlab-api"],
    },
    {
        "name": "trustlab-api",
        "description": "The platform API registers new trustlab users with the hub.",
        "scopes": ["admin:users"],
        "services": ["trustlab-api"],
    },
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "trustlab-monitor",
        "description": "The contract monitor stops sandboxes whose contracts lapsed.",
        "scopes": ["list:users", "read:servers", "delete:servers"],
        "services": ["trustlab-monitor"],
    },
]
# --- services -------------------------------------------------------------------------------
c.JupyterHub.services = [
    {
        "name": "trustlab-audit",
        "url": f"http://{net.gateway}:{s.audit_port}",
        "command": [sys.executable, "-m", "hub.audit_service"],
        "environment": {k: v for k, v in os.environ.items() if k.startswith("TRUSTLAB_")},
        "display": False,
    },
    {
        "name": "trustlab-api",
        "url": f"http://127.0.0.1:{s.api_port}",
        "command": [sys.executable, "-m", "hub.api"],
        "environment": {
            **{k: v for k, v in os.environ.items() if k.startswith("TRUSTLAB_")},
            "TRUSTLAB_API_GATEWAY": net.gateway,  # sandboxes' notebook clients come this way
        },
        "display": False,
    },
    {
        "name": "trustlab-console",
        "url": f"http://127.0.0.1:{s.console_port}",
        "command": [sys.executable, "-m", "hub.console"],
        "environment": {k: v for k, v in os.environ.items() if k.startswith("TRUSTLAB_")},
        "oauth_no_confirm": True,
        # a console login's token may also call the platform API, as that person
        "oauth_client_allowed_scopes": ["access:services!service=trustlab-api"],
        "display": True,
    },
    {
        # contracts on what already runs, and the risk rules (hub.monitor)
        "name": "trustlab-monitor",
        "command": [sys.executable, "-m", "hub.monitor"],
        "environment": {k: v for k, v in os.environ.items() if k.startswith("TRUSTLAB_")},
    },
    {
        "name": "idle-culler",
        "command": [  # wrapped, so it ends with the hub even when the hub is killed
            sys.executable,
            "-m",
            "hub.orphan",
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={s.sandbox_idle_timeout}",
            "--cull-every=60",
        ],
    },
]

# Feature packages' own services (e.g. the API gateway): trustlab.services entry points,
# each a function of the settings returning a JupyterHub service definition.
for _name, _ep in sorted(plugins("trustlab.services").items()):
    c.JupyterHub.services.append(
        {"environment": {k: v for k, v in os.environ.items() if k.startswith("TRUSTLAB_")},
         **_ep.load()(s)}
    )  # fmt: skip

# --- the sandbox spawner --------------------------------------------------------------------
c.JupyterHub.spawner_class = "hub.spawner.SandboxSpawner"
c.SandboxSpawner.state_dir = str(state / "sandboxes")
c.SandboxSpawner.pull_policy = "never"
c.SandboxSpawner.network_name = net.name
c.SandboxSpawner.use_internal_ip = True
c.SandboxSpawner.remove = True
c.SandboxSpawner.cmd = ["jupyterhub-singleuser"]
c.SandboxSpawner.default_url = "/lab"
c.SandboxSpawner.http_timeout = 120
c.SandboxSpawner.start_timeout = 180
c.SandboxSpawner.args = ["--ServerApp.terminals_enabled=False"]
os.environ["TRUSTLAB_AUDIT_URL"] = f"http://{net.gateway}:{s.audit_port}/services/trustlab-audit/"
os.environ["TRUSTLAB_SANDBOX_API_URL"] = f"http://{net.gateway}:{s.api_port}/services/trustlab-api"
# A sandbox's own token reaches the platform API (to submit pipelines) and nothing more.
c.SandboxSpawner.server_token_scopes = [
    "access:servers!server",
    "users:activity!user",
    "access:services!service=trustlab-api",
]
# Every active trustlab user exists in the hub from the start, so `trustlab login` works
# before a first login in the browser (the platform API registers users added later).
c.Authenticator.allowed_users = set(_active_users())

# The platform's own automation token (CLI, tests, benchmarks): a service, not a person.
_token_file = state / "admin-api-token"
if _token_file.exists():
    c.JupyterHub.services.append(
        {"name": "trustlab-admin", "api_token": _token_file.read_text().strip()}
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "trustlab-admin",
            "scopes": [
                "admin:users",
                "admin:servers",
                "access:servers",
                "list:users",
                "read:users",
                "read:servers",
                "admin:groups",
                "list:services",
                "read:services",
            ],
            "services": ["trustlab-admin"],
        }
    )
