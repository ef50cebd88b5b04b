"""The API gateway (127.0.0.1:8200): consumers call published APIs with their keys.

Each call: authenticate the key → authorize by the application's contracts in force →
rate limit and quota (429 with ``Retry-After``) → the query, read-only, with a statement
timeout and the row cap → dynamic masking → the response; then the call is metered.
Errors are RFC 9457 ``application/problem+json`` and never carry SQL or a stack trace. An
API the application has no contract for answers exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from apis import dynmask, gwdocs, gwstate, orchestrate, queries, records, spec
from apis.access import Access
from apis.apps import pepper, secret_hash, split_key
from apis.callout import Callout, UpstreamFailed
from apis.limits import LocalLimits, RedisLimits
from apis.metering import Meter
from apis.problems import NOT_FOUND, Problem
from apis.readonly import QueryTimeout, ReadOnlyDatabase
from hub.platform import Platform

log = logging.getLogger("trustlab.gateway")
URL_KEYS = ("api_key", "apikey", "key", "access_token", "token", "x-api-key")
INLINE_BUDGET = 0.005  # s: an in-process (SQLite) query may hold the event loop this long
SLOW_RETRY = 30.0  # s: then a shape that needed longer goes to a worker thread this long


def consumption(request: Request, key: str | None) -> str | None:
    """What the consumption rules need of a call (``apis.risk_rules``): an integer key
    looked up (for sequential enumeration; other keys only as "a key"), the page asked."""
    detail: dict[str, Any] = {}
    if key is not None:
        detail["key"] = int(key) if key.isdigit() and len(key) < 19 else None
    q = request.query_params
    for name in ("offset", "limit"):
        value = q.get(name, "")
        if value.isdigit() and len(value) < 12:
            detail[name] = int(value)
    return json.dumps(detail, separators=(",", ":")) if detail else None


def failure(exc: Exception, api: str, number: int) -> Problem:
    """What the caller is told about ``exc``: never SQL, a driver's words or a stack."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, queries.BadRequest):
        return Problem(400, "bad-request", "Bad request", str(exc))
    if isinstance(exc, UpstreamFailed | orchestrate.StepFailed):
        log.warning("gateway call %s v%s: %s", api, number, exc)
        return Problem(502, "upstream", "Upstream failure",
                       "a service this API relies on failed; retry later")  # fmt: skip
    if isinstance(exc, orchestrate.StepTimeout):
        log.warning("gateway call %s v%s: %s", api, number, exc)
        return Problem(504, "timeout", "Step timed out",
                       "a step of this API took too long; retry later")  # fmt: skip
    if isinstance(exc, QueryTimeout):
        return Problem(504, "timeout", "Query timed out",
                       "narrow the filters or ask for a smaller page")  # fmt: skip
    log.error("gateway call %s v%s failed", api, number, exc_info=exc)
    return Problem(500, "internal", "Internal error",
                   "the call failed on the platform's side; it was logged")  # fmt: skip


class Gateway:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        s = platform.settings
        self.settings = s
        self.tz = ZoneInfo(s.timezone)
        from apis.serving import Serving

        self.db = ReadOnlyDatabase(s.serving, readonly_url=Serving(platform).readonly_url())
        self.meter = Meter(platform)
        self.pepper = pepper(platform)
        from sandbox.policy import masking_context

        self.base_mask = masking_context(platform)
        self.watch = gwstate.HeadWatch(platform.db.engine)
        self.state = self._load()
        self.limits: Any = (
            RedisLimits(s.gateway_redis_url, self.tz)
            if s.gateway_redis_url
            else LocalLimits(self.tz, self._charged_today())
        )
        self._prepared: dict[tuple, Any] = {}
        self._masks: dict[tuple, Any] = {}
        self._slow: dict[tuple, float] = {}  # shape → when to try it inline again
        self._dummy = secret_hash(self.pepper, "x" * 43)
        from apis.egress import Egress
        from apis.secrets import Secrets

        self.callout = Callout(Egress(allow=s.egress_allow), Secrets(platform))
        self.public_url = f"http://127.0.0.1:{s.gateway_port}"

    # --- state ---------------------------------------------------------------------------

    def _load(self) -> gwstate.State:
        with self.platform.db.session() as session:
            state = gwstate.load(session, self.db.dialect.name)
        self._next = gwstate.next_start(state, datetime.now(UTC))
        self._prepared, self._masks, self._slow = {}, {}, {}
        return state

    def fresh_state(self) -> gwstate.State:
        head = self.watch.head()
        if head != self.state.head or (self._next and datetime.now(UTC) >= self._next):
            self.state = self._load()
        return self.state

    def _charged_today(self) -> dict[str, int]:
        from sqlalchemy import select

        from apis.limits import day_key
        from apis.models import ApiCall

        _, left = day_key(self.tz)
        start = datetime.fromtimestamp(time.time() + left - 86400, UTC)
        used: dict[str, int] = {}
        with self.platform.db.session() as session:
            rows = session.execute(
                select(ApiCall.api, ApiCall.contract).where(
                    ApiCall.at >= start, ApiCall.charged.is_(True)
                )
            )
            for api, refs in rows:
                for ref in (refs or "").split(","):
                    if ref:
                        used[f"q:{ref}:{api}"] = used.get(f"q:{ref}:{api}", 0) + 1
                        used[f"c:{ref}"] = used.get(f"c:{ref}", 0) + 1
        return used

    # --- one call ------------------------------------------------------------------------

    def authenticate(self, request: Request, state: gwstate.State) -> str:
        if any(k in request.query_params for k in URL_KEYS):
            raise Problem(
                400,
                "key-in-url",
                "API key in the URL",
                "keys are never accepted in a URL (they end up in logs); send "
                "Authorization: Bearer <key>, and rotate this key",
            )
        header = request.headers.get("authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            raw = request.headers.get("x-api-key", "")
        parts = split_key(raw.strip())
        key = state.keys.get(parts[0]) if parts else None
        given = secret_hash(self.pepper, parts[1]) if parts else self._dummy
        ok = hmac.compare_digest(given, key.secret_hash if key else self._dummy) and key is not None
        now = datetime.now(UTC)
        if (
            not ok
            or key is None
            or key.revoked
            or (key.expires_at and now >= key.expires_at)
            or state.apps.get(key.application) != "active"
        ):
            raise Problem(
                401,
                "unauthorized",
                "Unauthorized",
                "send a valid, unrevoked key: Authorization: Bearer <key>",
                {"WWW-Authenticate": 'Bearer realm="trustlab"'},
            )
        return key.application

    async def call(self, request: Request, api: str, number: int, key: str | None) -> Response:
        started = time.perf_counter()
        app_name, rows, status, refs, charged, body = "", 0, 500, "", False, b""
        try:
            state = self.fresh_state()
            app_name = self.authenticate(request, state)
            ep = state.endpoints.get((api, number))
            access = state.access(app_name, ep, datetime.now(UTC)) if ep else None
            if ep is None or access is None:
                raise NOT_FOUND
            if ep.state == "offline":
                raise Problem(
                    410,
                    "gone",
                    "Gone",
                    f"{api} v{number} is offline; see the API's page for its current version",
                )
            refs = ",".join(access.contracts)
            verdict = await self.limits.acquire(f"{app_name}:{api}", access.rate, access.quotas)
            if not verdict.ok:
                what = "rate limit" if verdict.reason == "rate" else "daily quota"
                raise Problem(
                    429,
                    "too-many-requests",
                    "Too many requests",
                    f"your contract's {what} is reached; retry after {verdict.retry_after} s",
                    {"Retry-After": str(verdict.retry_after)},
                )
            charged = True
            args: dict[str, list[str]] = {}
            for k, v in request.query_params.multi_items():
                args.setdefault(k, []).append(v)
            payload, rows = await self._answer(args, ep, access, key)
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            status = 200
            return Response(body, 200, media_type="application/json")
        except Exception as exc:  # every failure is a problem answer (RFC 9457)
            problem = failure(exc, api, number)
            status = problem.status
            resp = problem.response(request.url.path)
            body = resp.body
            return resp
        finally:
            if app_name:
                self.meter.record(
                    application=app_name,
                    api=api,
                    version=number,
                    contract=refs or None,
                    status=status,
                    rows=rows,
                    bytes=len(body),
                    charged=charged,
                    latency_ms=round((time.perf_counter() - started) * 1000, 3),
                    detail=consumption(request, key),
                )

    async def _answer(
        self,
        args: dict[str, list[str]],
        ep: gwstate.Endpoint,
        access: Any,
        key: str | None,
        depth: int = 0,
    ) -> tuple[Any, int]:
        d = ep.definition
        if isinstance(d, spec.Registered | spec.Orchestrated):
            if key is not None:
                raise NOT_FOUND
            return await self._composed(d, args, ep, access, depth)
        if isinstance(d, spec.Script):
            if key is not None:
                raise NOT_FOUND
            flat = {k: v[-1] for k, v in args.items()}
            built = queries.script_query(d, ep.sql or "", access, flat, ep.order)
            cap = min(access.max_rows, d.max_rows)
            columns, rows = await self._run(ep, access, built, cap + 1)
            data = dynmask.apply(rows[:cap], columns, self._plan(ep, access))
            return {"data": data, "truncated": len(rows) > cap}, len(data)
        assert ep.view is not None
        if key is not None:
            if d.key is None or not access.clear(d.key):
                raise NOT_FOUND
            built = queries.wizard_key(d, ep.view, ep.types, access, key)
            columns, rows = await self._run(ep, access, built, 2)
            if not rows:
                raise NOT_FOUND
            return dynmask.apply(rows[:1], columns, self._plan(ep, access))[0], 1
        limit = self._int(
            args,
            "limit",
            d.page_size,
            1,
            min(d.max_page_size, access.max_rows, self.settings.gateway_max_page),
        )
        offset = self._int(args, "offset", 0, 0, 10**9)
        sort = [s for v in args.get("sort", []) for s in v.split(",") if s]
        filters = queries.parse_filters(d, access, args, ep.types)
        built = queries.wizard_list(d, ep.view, ep.types, access, filters, sort, limit, offset)
        columns, rows = await self._run(ep, access, built, limit + 1)
        data = dynmask.apply(rows[:limit], columns, self._plan(ep, access))
        more = len(rows) > limit
        return {
            "data": data,
            "page": {
                "limit": limit,
                "offset": offset,
                "next_offset": offset + limit if more else None,
            },
        }, len(data)

    async def _composed(
        self,
        d: spec.Registered | spec.Orchestrated,
        args: dict[str, list[str]],
        ep: gwstate.Endpoint,
        access: Any,
        depth: int,
    ) -> tuple[Any, int]:
        """A registered or orchestrated API: JSON → typed records → row scope → masking."""
        params = queries.parameters(d.parameters, {k: v[-1] for k, v in args.items()})
        if isinstance(d, spec.Registered):
            answer = await to_thread.run_sync(lambda: self.callout.call(d, params))
            columns, rows = records.mapped(answer, d.response.records, d.fields)
        else:
            if depth >= spec.MAX_NESTING:
                raise orchestrate.StepFailed(f"{d.name} nests deeper than {spec.MAX_NESTING}")
            answer = await orchestrate.run(d, params, lambda s, a: self._step(s, a, depth))
            columns, rows = records.mapped(answer, d.output.records, d.fields)
        rows = records.scoped(columns, rows, access.scope, ep.types)
        cap = min(access.max_rows, d.max_rows)
        data = dynmask.apply(rows[:cap], columns, self._plan(ep, access))
        return {"data": data, "truncated": len(rows) > cap}, len(data)

    async def _step(self, step: spec.Step, args: dict[str, list[str]], depth: int) -> Any:
        """One step of an orchestrated API, with the platform's authority (``apis.orchestrate``)."""
        ep = self.state.endpoints.get((step.api, step.version))
        if ep is None or ep.state != "published":
            raise orchestrate.StepFailed(f"step {step.id}: {step.api} v{step.version} is not live")
        authority = Access(
            application="", api=ep.api, contracts=("platform",),
            fields=dict.fromkeys(ep.definition.fields, "clear"), scope=(), quotas=(),
            rate=float("inf"), max_rows=self.settings.gateway_max_page, until=None,
        )  # fmt: skip
        try:
            payload, _ = await self._answer(args, ep, authority, None, depth + 1)
        except (queries.BadRequest, Problem) as exc:  # the message may quote data: not logged
            raise orchestrate.StepFailed(
                f"step {step.id} was refused ({type(exc).__name__})"
            ) from None
        return payload

    @staticmethod
    def _int(args: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
        if name not in args:
            return min(default, high)
        value = queries.convert("integer", args[name][-1], name)
        if not low <= value <= high:
            raise queries.BadRequest(f"{name}: give a number from {low} to {high}")
        return value

    def _plan(self, ep: gwstate.Endpoint, access: Any) -> Any:
        k = (access.application, ep.api, ep.number, access.contracts)
        if k not in self._masks:
            self._masks[k] = dynmask.masks(access, self.base_mask)
        return self._masks[k]

    async def _run(
        self, ep: gwstate.Endpoint, access: Any, built: queries.Built, max_rows: int
    ) -> tuple[list[str], list[tuple]]:
        k = (ep.api, ep.number, tuple(access.fields), built.shape)
        prepared = self._prepared.get(k)
        if prepared is None:
            prepared = self._prepared[k] = self.db.prepare(built.make())
        timeout = self.settings.gateway_statement_timeout
        if self.db.in_process and self._slow.get(k, 0.0) <= time.monotonic():
            # SQLite answers an indexed lookup in microseconds: run it on the event loop,
            # stopped at INLINE_BUDGET; a shape that needed longer (a cold cache, a scan)
            # runs on a worker thread with the full timeout for SLOW_RETRY seconds, as every
            # query on a server database does.
            budget = min(INLINE_BUDGET, timeout)
            try:
                return self.db.run(prepared, built.params, timeout_s=budget, max_rows=max_rows)
            except QueryTimeout:
                if budget >= timeout:
                    raise
                self._slow[k] = time.monotonic() + SLOW_RETRY
        return await to_thread.run_sync(
            lambda: self.db.run(prepared, built.params, timeout_s=timeout, max_rows=max_rows)
        )

    # --- background ----------------------------------------------------------------------

    async def background(self, stop: asyncio.Event) -> None:
        """Flush and digest on a timer until ``stop``; a step in progress always finishes
        (cancelling would leave its thread running beside the final flush in ``close``)."""
        last_digest = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.gateway_meter_flush)
            if stop.is_set():
                return
            try:
                await to_thread.run_sync(self.meter.flush)
                if time.monotonic() - last_digest >= self.settings.gateway_digest_interval:
                    last_digest = time.monotonic()
                    await to_thread.run_sync(self.meter.digest)
            except Exception:
                log.exception("metering flush failed")

    async def close(self) -> None:
        await to_thread.run_sync(self.meter.flush)
        await to_thread.run_sync(self.meter.digest)
        await self.limits.close()
        self.watch.close()
        self.db.close()


def create_app(platform: Platform | None = None) -> FastAPI:
    holder: dict[str, Gateway] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        gw = holder["gw"] = Gateway(platform or Platform())
        stop = asyncio.Event()
        task = asyncio.create_task(gw.background(stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await gw.close()

    app = FastAPI(
        title="trustlab API gateway",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    async def rows(request: Request) -> Response:
        p = request.path_params
        n = gwdocs.version(p["version"])
        if n is None:
            return NOT_FOUND.response(request.url.path)
        return await holder["gw"].call(request, p["api"], n, None)

    async def one(request: Request) -> Response:
        p = request.path_params
        n = gwdocs.version(p["version"])
        if n is None:
            return NOT_FOUND.response(request.url.path)
        return await holder["gw"].call(request, p["api"], n, p["key"])

    async def health(_request: Request) -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    app.router.add_route("/healthz", health, methods=["GET"])
    gwdocs.add_routes(app, holder)
    app.router.add_route("/apis/{api}/{version}", rows, methods=["GET"])
    app.router.add_route("/apis/{api}/{version}/{key}", one, methods=["GET"])
    app.state.holder = holder
    return app


def service(settings: Any) -> dict[str, Any]:
    """The gateway as a hub-managed service: started and stopped with the hub (``make up``).
    Consumers are not hub users: it listens on its own port, outside the hub's proxy."""
    import sys

    return {"name": "trustlab-gateway", "command": [sys.executable, "-m", "apis.gateway"],
            "display": False}  # fmt: skip


def main() -> None:
    import uvicorn

    from hub.orphan import exit_with_parent

    exit_with_parent()
    settings = Platform().settings
    uvicorn.run(create_app(), host="127.0.0.1", port=settings.gateway_port, log_level="warning")


if __name__ == "__main__":
    main()
