"""Errors the gateway answers with: RFC 9457 ``application/problem+json``, never SQL or a
stack trace. ``NOT_FOUND`` is also the answer for what exists but is not the caller's."""

from __future__ import annotations

import json

from starlette.responses import Response

PROBLEM = "https://trustlab.invalid/problems/"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}

    def response(self, instance: str) -> Response:
        body = {
            "type": PROBLEM + self.slug,
            "title": self.title,
            "status": self.status,
            "instance": instance,
        }
        if self.detail:
            body["detail"] = self.detail
        return Response(
            json.dumps(body, ensure_ascii=False),
            self.status,
            headers=self.headers,
            media_type="application/problem+json",
        )


NOT_FOUND = Problem(404, "not-found", "Not found", "no such API, version or row for this key")
