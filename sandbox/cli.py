"""CLI commands and start-up steps the sandbox package contributes to the hub (entry points)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hub.catalog import Catalog, Registration
from hub.cli import Context, pass_ctx, print_catalog, progress_bar
from hub.errors import NotFound
from hub.platform import Platform

DEMO_NAME = "people"
DEMO_OWNER = "civil-affairs"
# Ground truth of the demo columns: the demo plays the provider, so it corrects any
# proposal that differs before confirming (and says so), instead of confirming a mistake.
DEMO_TRUTH = {
    "name": ("name", 3),
    "id_number": ("id_card", 4),
    "birth_date": ("birth_date", 3),
    "mobile": ("mobile", 3),
    "email": ("email", 3),
    "bank_card": ("bank_card", 4),
    "address": ("address", 3),
    "plate": ("plate", 3),
    "remark": ("free_text", 4),
}


def ensure_demo(platform: Platform, rows: int, seed: int, echo: Any = click.echo) -> dict[str, Any]:
    """Generate the demo population and register it as ``people`` with a confirmed classification.

    Idempotent: with the same rows and seed nothing is regenerated or re-registered.
    """
    from sandbox.demo import generate_people

    catalog = Catalog(platform)
    raw = Path(platform.settings.zone("raw")) / DEMO_NAME
    raw.mkdir(parents=True, exist_ok=True)
    data, params = raw / "people.csv", raw / "people.params.json"
    wanted = {"rows": rows, "seed": seed}
    try:
        existing: dict[str, Any] | None = catalog.show(DEMO_NAME)
    except NotFound:
        existing = None
    fresh = data.exists() and params.exists() and json.loads(params.read_text()) == wanted
    if not fresh:
        with progress_bar(f"generating {rows:,} demo residents", "rows") as update:
            generate_people(data, rows=rows, seed=seed, progress=lambda n: update(n, rows))
        params.write_text(json.dumps(wanted))
        echo(f"generated {rows:,} synthetic residents (seed {seed}) in {data}")
    if existing is None:
        with progress_bar("hashing people", "bytes") as update:
            catalog.register(Registration(str(data)), DEMO_NAME, DEMO_OWNER, progress=update)
        echo(f"registered {DEMO_NAME} (owner {DEMO_OWNER})")
    elif not fresh:
        catalog.refresh(DEMO_NAME)
    info = catalog.show(DEMO_NAME)
    if info["classification_status"] != "confirmed":
        for col in info["columns"]:
            pii, level = DEMO_TRUTH.get(col["name"], (col["pii"], int(col["level"][1:])))
            if (col["pii"], col["level"]) != (pii, f"L{level}"):
                echo(f"correcting proposal for {col['name']}: {col['pii']} -> {pii} L{level}")
                catalog.classify(DEMO_NAME, col["name"], pii, level)
        info = catalog.confirm(DEMO_NAME)
        echo(f"classification of {DEMO_NAME} confirmed")
    return info


@click.command("demo")
@click.option("--rows", type=click.IntRange(min=1), help="Rows to generate (default 100,000).")
@click.option("--seed", type=int, help="Random seed (default 7).")
@pass_ctx
def demo(ctx: Context, rows: int | None, seed: int | None) -> None:
    """Generate a synthetic population and register it as `people` (owner civil-affairs)."""
    s = ctx.platform.settings
    ensure_demo(ctx.platform, rows or s.demo_rows, s.demo_seed if seed is None else seed)
    print_catalog(ctx.catalog.list())


def up_demo(platform: Platform) -> None:
    """``trustlab up`` step: make sure the demo dataset is registered and confirmed."""
    ensure_demo(platform, platform.settings.demo_rows, platform.settings.demo_seed)
