"""The gateway's documents and pages: each published API's OpenAPI document and Swagger UI,
each consumer's own document, generated Python client and snippets (``apis.sdk``)."""

from __future__ import annotations

import html
import json
import logging
import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from apis import openapi, sdk
from apis.problems import NOT_FOUND, Problem

if TYPE_CHECKING:
    from apis.gateway import Gateway

log = logging.getLogger("trustlab.gateway")


def version(raw: str) -> int | None:
    return int(raw[1:]) if raw[:1] == "v" and raw[1:].isdigit() else None


def add_routes(app: FastAPI, holder: dict[str, Any]) -> None:
    async def api_doc(request: Request) -> Response:
        gw, p = holder["gw"], request.path_params
        n = version(p["version"])
        ep = gw.fresh_state().endpoints.get((p["api"], n)) if n else None
        if ep is None or ep.state != "published":
            return NOT_FOUND.response(request.url.path)
        doc = openapi.api_document(ep, gw.public_url)
        return Response(json.dumps(doc, ensure_ascii=False), media_type="application/json")

    async def consumer_doc(request: Request) -> Response:
        gw = holder["gw"]
        try:
            state = gw.fresh_state()
            name = gw.authenticate(request, state)
        except Problem as problem:
            return problem.response(request.url.path)
        doc = openapi.consumer_document(state, name, gw.public_url, datetime.now(UTC))
        return Response(json.dumps(doc, ensure_ascii=False), media_type="application/json")

    async def docs(request: Request) -> Response:
        p = request.path_params
        spec_url = f"/apis/{p['api']}/{p['version']}/openapi.json"
        return Response(
            swagger_page(f"{p['api']} {p['version']}", spec_url),
            media_type="text/html",
            headers=CSP,
        )

    async def consumer_docs(_request: Request) -> Response:
        return Response(
            swagger_page("your APIs", "/consumer/openapi.json"), media_type="text/html", headers=CSP
        )

    app.router.add_route("/consumer/openapi.json", consumer_doc, methods=["GET"])
    app.router.add_route("/consumer/docs", consumer_docs, methods=["GET"])
    app.router.add_route("/consumer/client.zip", partial(consumer_client, holder), methods=["GET"])
    app.router.add_route("/consumer/snippets", partial(consumer_snippets, holder), methods=["GET"])
    app.router.add_route(
        "/apis/{api}/{version}/snippets", partial(api_snippets, holder), methods=["GET"]
    )
    app.router.add_route("/apis/{api}/{version}/openapi.json", api_doc, methods=["GET"])
    app.router.add_route("/apis/{api}/{version}/docs", docs, methods=["GET"])
    assets = swagger_assets()
    if assets is not None:
        app.mount("/static/swagger", StaticFiles(directory=assets), name="swagger")
    app.mount("/static/trustlab", StaticFiles(directory=STATIC), name="trustlab")


# --- what a consumer calls with: its generated client, snippets (``apis.sdk``) -------------


def _consumer(gw: Gateway, request: Request) -> tuple[str, dict[str, Any]]:
    """The key's application and its OpenAPI document; Problem (401, 400) otherwise."""
    state = gw.fresh_state()
    name = gw.authenticate(request, state)
    return name, openapi.consumer_document(state, name, gw.public_url, datetime.now(UTC))


async def consumer_client(holder: dict[str, Gateway], request: Request) -> Response:
    """``GET /consumer/client.zip``: the key's application's Python client, generated from
    its document (cached per document under ``HOME/cache/api-clients``)."""
    gw = holder["gw"]
    try:
        name, doc = _consumer(gw, request)
    except Problem as problem:
        return problem.response(request.url.path)
    cache = gw.settings.home / "cache" / "api-clients"
    try:
        filename, data = await to_thread.run_sync(lambda: sdk.client_zip(doc, name, cache))
    except sdk.ClientGenerationFailed:
        log.exception("client generation for %s failed", name)
        return Problem(
            500, "internal", "Internal error", "the client could not be generated; it was logged"
        ).response(request.url.path)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def consumer_snippets(holder: dict[str, Gateway], request: Request) -> Response:
    """``GET /consumer/snippets``: curl, httpx and generated-client snippets per operation
    the key's application may call (the key itself as ``$TRUSTLAB_API_KEY``)."""
    gw = holder["gw"]
    try:
        name, doc = _consumer(gw, request)
    except Problem as problem:
        return problem.response(request.url.path)
    body = {
        "application": name,
        "package": sdk.package_name(name),
        "operations": sdk.snippets(doc, gw.public_url, sdk.package_name(name)),
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


async def api_snippets(holder: dict[str, Gateway], request: Request) -> Response:
    """``GET /apis/{api}/v{N}/snippets``: curl and httpx snippets for the API's page."""
    gw, p = holder["gw"], request.path_params
    n = version(p["version"])
    ep = gw.fresh_state().endpoints.get((p["api"], n)) if n else None
    if ep is None or ep.state != "published":
        return NOT_FOUND.response(request.url.path)
    ops = sdk.snippets(openapi.api_document(ep, gw.public_url), gw.public_url)
    body = {"api": ep.api, "version": ep.number, "operations": ops}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


STATIC = Path(__file__).parent / "static"
CSP = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
}


def swagger_assets() -> Path | None:
    """swagger-ui-dist, installed by the bootstrap under the cache (npm)."""
    cache = Path(os.environ.get("TRUSTLAB_CACHE", Path.home() / ".cache" / "trustlab"))
    folder = cache / "node" / "lib" / "node_modules" / "swagger-ui-dist"
    return folder if (folder / "swagger-ui-bundle.js").exists() else None


def swagger_page(title: str, spec_url: str) -> str:
    t, u = html.escape(title), html.escape(spec_url)
    if swagger_assets() is None:
        return (
            f"<!doctype html><title>{t}</title><p>Swagger UI is not installed: run "
            f"<code>make bootstrap</code>. The document: <a href='{u}'>{u}</a></p>"
        )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{t} — trustlab"
        "</title><link rel='stylesheet' href='/static/swagger/swagger-ui.css'></head><body>"
        f"<div id='swagger-ui' data-spec='{u}'></div>"
        "<script src='/static/swagger/swagger-ui-bundle.js'></script>"
        "<script src='/static/trustlab/swagger-init.js'></script></body></html>"
    )
