"""OpenAPI 3.1 documents: one per published API version, and one per consumer.

The API's document describes everything the version offers; a consumer's describes
exactly what its contracts allow: only the fields it may see, typed as they leave the
gateway after masking, only the filters and sorts on fields it sees in the clear, page
sizes up to its row cap. Both carry the problem+json error shape and the bearer scheme.
"""

from __future__ import annotations

from typing import Any

from apis import spec
from apis.access import Access
from apis.gwstate import Endpoint, State

JSON_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}
TOKEN = {"type": "string", "pattern": "^tk_[a-p]{32}$"}
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
ERRORS = {
    "400": "Bad request: a parameter cannot be used",
    "401": "No valid key",
    "404": "No such API, version or row for this key",
    "410": "This version is offline",
    "429": "Rate limit or daily quota reached (see Retry-After)",
    "502": "A service this API relies on failed (registered and orchestrated APIs)",
    "504": "The query, or a step, took too long",
}


def _query_schema(kind: str, in_list: bool = False) -> dict[str, Any]:
    """What the gateway accepts for a query or path value of ``kind`` (``queries.convert``):
    64-bit integers, finite numbers, strings of at most 1000 characters without NUL (and, as
    an item of an ``__in`` list given as one value, without a comma: that value is split)."""
    schema = dict(JSON_TYPES[kind])
    if kind == "integer":
        schema.update(minimum=-(2**63), maximum=2**63 - 1)
    elif kind == "number":
        schema.update(minimum=-FLOAT_MAX, maximum=FLOAT_MAX)
    elif schema == {"type": "string"}:
        schema.update(maxLength=1000, pattern="^[^,\\x00]*$" if in_list else "^[^\\x00]*$")
    return schema


FLOAT_MAX = 1.7976931348623157e308


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    out["type"] = [schema["type"], "null"] if isinstance(schema["type"], str) else schema["type"]
    return out


def _field_schema(kind: str, treatment: Any) -> dict[str, Any]:
    if treatment == "clear":
        return _nullable(JSON_TYPES[kind])
    if treatment == "pseudonym":
        return _nullable(TOKEN)
    # a masking rule may turn the value into text ("138****5678") or keep its type
    base = JSON_TYPES[kind]["type"]
    return {"type": sorted({base, "string", "null"})}


def _item(ep: Endpoint, fields: dict[str, Any]) -> dict[str, Any]:
    props = {f: _field_schema(ep.types.get(f, "string"), t) for f, t in fields.items()}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _param(name: str, schema: dict[str, Any], required: bool = False, **extra: Any) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, **extra}


def _list_params(ep: Endpoint, clear: set[str], max_rows: int) -> list[dict[str, Any]]:
    d = ep.definition
    assert isinstance(d, spec.Wizard)
    top = min(d.max_page_size, max_rows)
    params = [
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": top, "default": min(d.page_size, top)},
        ),
        _param("offset", {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0}),
    ]
    sortable = [s for s in d.sort if s in clear]
    if sortable:
        values = sortable + [f"-{s}" for s in sortable]
        params.append(
            _param(
                "sort",
                {"type": "string", "enum": values},
                description="A field to sort by; a leading - sorts descending.",
            )
        )
    for f in d.filters:
        if f.field not in clear:
            continue
        kind = ep.types.get(f.field, "string")
        s = _query_schema(kind)
        if "eq" in f.ops:
            params.append(_param(f.field, s))
        if "in" in f.ops:
            params.append(
                _param(
                    f"{f.field}__in",
                    {
                        "type": "array",
                        "items": _query_schema(kind, in_list=True),
                        "minItems": 1,
                        "maxItems": 100,
                    },
                    style="form",
                    explode=True,
                )
            )
        if "range" in f.ops:
            params += [_param(f"{f.field}__{b}", s) for b in ("gte", "gt", "lte", "lt")]
        if "prefix" in f.ops and kind == "string":  # the gateway refuses a date's prefix
            params.append(_param(f"{f.field}__prefix", {**s, "minLength": 1}))
    return params


def _responses(ok: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok}}}
    }
    for code, text in ERRORS.items():
        out[code] = {
            "description": text,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    # A request the HTTP server itself cannot parse (a URL of tens of kilobytes, say) is
    # refused before it reaches the gateway, in plain text.
    out["400"]["description"] += "; or, in plain text, an HTTP request that cannot be parsed"
    out["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    return out


def paths_for(ep: Endpoint, fields: dict[str, Any], max_rows: int) -> dict[str, Any]:
    d = ep.definition
    base = f"/apis/{ep.api}/v{ep.number}"
    item = _item(ep, fields)
    clear = {f for f, t in fields.items() if t == "clear"}
    security = [{"apiKey": []}]
    tag = f"{ep.api} v{ep.number}"
    paths: dict[str, Any] = {}
    if not isinstance(d, spec.Wizard):  # script, registered, orchestrated: typed parameters
        params = [
            _param(n, _query_schema(p.type), p.required, description=p.description)
            for n, p in d.parameters.items()
        ]
        ok = {
            "type": "object",
            "required": ["data", "truncated"],
            "properties": {
                "data": {"type": "array", "items": item},
                "truncated": {"type": "boolean"},
            },
        }
        paths[base] = {
            "get": {
                "operationId": _op(ep, "run"),
                "summary": d.title,
                "description": d.description,
                "tags": [tag],
                "parameters": params,
                "security": security,
                "responses": _responses(ok),
            }
        }
        return paths
    page = {
        "type": "object",
        "required": ["limit", "offset", "next_offset"],
        "properties": {
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next_offset": {"type": ["integer", "null"]},
        },
    }
    ok = {
        "type": "object",
        "required": ["data", "page"],
        "properties": {
            "data": {"type": "array", "items": item, "maxItems": max_rows},
            "page": page,
        },
    }
    paths[base] = {
        "get": {
            "operationId": _op(ep, "list"),
            "summary": d.title,
            "description": d.description,
            "tags": [tag],
            "parameters": _list_params(ep, clear, max_rows),
            "security": security,
            "responses": _responses(ok),
        }
    }
    if d.key and d.key in clear:
        key_schema = _query_schema(ep.types.get(d.key, "string"))
        if key_schema["type"] == "string":  # one non-empty path segment
            key_schema.update(minLength=1, pattern="^[^/\\x00]*$")
        paths[base]["get"]["responses"]["200"]["links"] = {
            "row": {
                "operationId": _op(ep, "get"),
                "parameters": {"key": f"$response.body#/data/0/{d.key}"},
                "description": f"One row of the page, by its {d.key}.",
            }
        }
        paths[f"{base}/{{key}}"] = {
            "get": {
                "operationId": _op(ep, "get"),
                "summary": f"{d.title}: one row by {d.key}",
                "tags": [tag],
                "security": security,
                "parameters": [
                    {
                        "name": "key",
                        "in": "path",
                        "required": True,
                        "schema": key_schema,
                        "description": f"The row's {d.key}.",
                    }
                ],
                "responses": _responses(item),
            }
        }
    return paths


def _op(ep: Endpoint, verb: str) -> str:
    return f"{verb}_{ep.api.replace('-', '_')}_v{ep.number}"


def document(title: str, description: str, paths: dict[str, Any], server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Your application's key (tlk_…).",
                }
            },
        },
    }


def api_document(ep: Endpoint, server: str) -> dict[str, Any]:
    """Everything the version offers (every field in the clear, the page size maximum)."""
    d = ep.definition
    fields = {f: "clear" for f in d.fields}
    cap = d.max_page_size if isinstance(d, spec.Wizard) else d.max_rows  # the others: max_rows
    return document(f"{d.title} (v{ep.number})", d.description, paths_for(ep, fields, cap), server)


def consumer_document(state: State, application: str, server: str, at: Any) -> dict[str, Any]:
    """What ``application`` may call now, exactly as its contracts allow."""
    paths: dict[str, Any] = {}
    for ep in sorted(state.endpoints.values(), key=lambda e: (e.api, e.number)):
        if ep.state != "published":
            continue
        access: Access | None = state.access(application, ep, at)
        if access is None:
            continue
        cap = access.max_rows
        if isinstance(ep.definition, spec.Wizard):
            cap = min(cap, ep.definition.max_page_size)
        paths.update(paths_for(ep, access.fields, cap))
    return document(
        f"trustlab APIs for {application}",
        "The APIs your contracts allow, with the fields and filters they allow.",
        paths,
        server,
    )
