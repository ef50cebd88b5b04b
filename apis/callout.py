"""Calling a registered API: the request as defined, the stored credential, ``apis.egress``.

The consumer never sees the upstream's URL, body or headers: every failure — a refusal by
egress policy, a timeout, a non-2xx status, an answer over ``max_bytes`` or not JSON —
becomes ``UpstreamFailed`` with a generic message, and what happened is logged (egress
messages name the host and never the credential).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

from apis.egress import Egress, EgressFailed, EgressRefused
from apis.secrets import Secrets
from apis.spec_registered import Registered, as_text
from hub.errors import NotFound, TrustlabError

log = logging.getLogger("trustlab.gateway")


class UpstreamFailed(TrustlabError):
    """A registered API could not be used for this call (502); the reason is logged."""


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class Callout:
    def __init__(self, egress: Egress, secrets: Secrets) -> None:
        self.egress, self.secrets = egress, secrets

    def request(self, d: Registered, params: dict[str, Any]) -> tuple[str, dict, Any]:
        """(url, headers, JSON body) for ``params``: placeholders go into the URL; the
        other parameters into the query string (GET) or a JSON object (POST)."""
        r = d.request
        headers = dict(r.headers)
        headers.setdefault("Accept", "application/json")
        if r.secret:
            headers[r.secret_header] = r.secret_prefix + self.secrets.value(r.secret)
        url = r.render(params)
        rest = {k: v for k, v in params.items() if k not in r.placeholders() and v is not None}
        body = None
        if r.method == "POST":
            body = {k: _plain(v) for k, v in rest.items()}
        elif rest:
            query = urlencode({k: as_text(v) for k, v in rest.items()}, quote_via=quote)
            url += ("&" if "?" in url else "?") + query
        return url, headers, body

    def call(self, d: Registered, params: dict[str, Any]) -> Any:
        """The upstream's JSON answer (blocking: run it in a thread)."""
        r = d.request
        try:
            url, headers, body = self.request(d, params)
            answer = self.egress.fetch(
                r.method, url, headers=headers, json=body, timeout_s=r.timeout_s,
                max_bytes=r.max_bytes,
            )  # fmt: skip
            answer.raise_for_status()
            return json.loads(answer.body)
        except EgressRefused as exc:
            log.warning("registered API %s: refused by egress policy: %s", d.name, exc)
        except EgressFailed as exc:
            log.warning("registered API %s: %s", d.name, exc)
        except NotFound as exc:
            log.error("registered API %s: %s", d.name, exc)
        except ValueError:
            log.warning("registered API %s: the answer is not JSON", d.name)
        raise UpstreamFailed("the upstream service could not be used for this call")
