"""The Python floor for ``bench/gateway.py``: Starlette + sqlite3, no governance at all.

uvicorn bench.gateway_floor:app   (TRUSTLAB_FLOOR_DB=path, TRUSTLAB_FLOOR_TABLE=name)
"""

from __future__ import annotations

import json
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DB = os.environ.get("TRUSTLAB_FLOOR_DB", "serving.db")
TABLE = os.environ.get("TRUSTLAB_FLOOR_TABLE", "bench")
COLUMNS = "record_id, district, holder_name, holder_phone, members, income"
conn = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, check_same_thread=False)


def _json(data: object) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


def _items(cur: sqlite3.Cursor) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


async def one(request: Request) -> Response:
    cur = conn.execute(
        f'SELECT {COLUMNS} FROM "{TABLE}" WHERE record_id = ?', (int(request.path_params["key"]),)
    )
    items = _items(cur)
    return _json(items[0]) if items else Response(status_code=404)


async def page(request: Request) -> Response:
    q = request.query_params
    cur = conn.execute(
        f'SELECT {COLUMNS} FROM "{TABLE}" WHERE district = ? ORDER BY record_id LIMIT ? OFFSET ?',
        (q["district"], int(q.get("limit", 50)), int(q.get("offset", 0))),
    )
    return _json({"data": _items(cur)})


app = Starlette(routes=[Route("/rows/{key}", one), Route("/rows", page)])
