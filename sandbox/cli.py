"""CLI commands and start-up steps the sandbox package contributes to the hub (entry points)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.catalog import Catalog, Registration
from hub.commands import Context, emit_json, err, out, pass_ctx, print_catalog, progress_bar
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
    from hub.identity import HOST
    from sandbox.demo import generate_people

    catalog = Catalog(platform, HOST)
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
    _demo_policy(platform)
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


# --- samples ------------------------------------------------------------------------------


@click.group("sample")
def sample() -> None:
    """Build desensitized samples, check paths for leaks, edit masking policies."""


@sample.command("build")
@click.argument("dataset")
@click.option("--rows", type=int, help="Rows in the sample (default: TRUSTLAB_SAMPLE_ROWS).")
@click.option("--all", "all_rows", is_flag=True, help="Mask every row (no sampling).")
@click.option("--strategy", type=click.Choice(["random", "stratified"]), default="random")
@click.option("--by", help="Column to stratify by (with --strategy stratified).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--min-k", type=int, help="k-anonymity to reach (default and floor: TRUSTLAB_SAMPLE_MIN_K)."
)
@click.option(
    "--synthetic", is_flag=True, help="Generate rows with the data's formats and distributions "
    "instead of masking real ones (no real row reaches the sample)."
)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def sample_build(
    ctx: Context,
    dataset: str,
    rows: int | None,
    all_rows: bool,
    strategy: str,
    by: str | None,
    seed: int,
    min_k: int | None,
    synthetic: bool,
    fmt: str,
) -> None:
    """Sample DATASET, mask it by its policy, gate it for leaks, publish it (a provider
    reviewer of its owner, or an operator). With --synthetic, generate it instead."""
    from types import SimpleNamespace

    if rows is not None and all_rows:
        raise click.UsageError("--rows and --all exclude each other")
    if synthetic and (strategy != "random" or by):
        raise click.UsageError("--synthetic generates rows; --strategy and --by do not apply")
    body = {"rows": rows, "all_rows": all_rows, "strategy": strategy, "by": by, "seed": seed,
            "min_k": min_k, "synthetic": synthetic}  # fmt: skip
    what = "generate, leak gate" if synthetic else "sample, mask, leak gate"
    err.print(f"building a sample of {dataset} on the platform ({what}) …")
    data = ctx.api.post(f"/samples/{dataset}/build", body)
    if fmt == "json":
        emit_json(data)
        return
    result = SimpleNamespace(**data)
    if result.policy_created:
        click.echo(f"created masking policy v1 of {dataset} from its classification")
    where = (
        f"{result.sample_dataset} v{result.version}" if result.sample_dataset else result.location
    )
    click.echo(
        f"{result.status} {where}: {result.rows:,} of {result.source_rows:,} rows, "
        f"hash {result.content_hash[:12]}, policy v{result.policy_version}"
    )
    if data.get("mode") == "synthetic":
        click.echo("synthetic rows: same schema, formats and distributions; no real row")
    if result.quasi_identifiers:
        click.echo(
            f"k-anonymity over {', '.join(result.quasi_identifiers)}: k={result.k_anonymity}"
            + (f" ({result.suppressed_rows:,} rows suppressed)" if result.suppressed_rows else "")
        )
    gate = data["gate"]
    verdict = "[green]passed[/]" if gate["passed"] else "[red]FAILED[/]"
    out.print(f"leak gate {verdict}: {gate.get('summary', '')}")


def build_json(result: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(result)
    data["gate"] = result.gate.to_json()
    return data


def print_gate(report: Any) -> None:
    verdict = "[green]passed[/]" if report.passed else "[red]FAILED[/]"
    out.print(f"leak gate {verdict}: {report.summary()}")
    for leak in report.leaks:
        out.print(
            f"  [red]leak[/] {leak.kind} in column {leak.column!r} ({leak.detail}): "
            f"{leak.count} value(s), e.g. {', '.join(leak.examples)}"
        )


@contextmanager
def steps_progress() -> Iterator[Callable[[str], None]]:
    """A spinner naming the current stage of a long job (stderr, TTY only)."""
    from rich.status import Status

    status = Status("starting", console=err)
    if err.is_terminal:
        status.start()
    started = time.monotonic()

    def step(text: str) -> None:
        status.update(f"{text} ({time.monotonic() - started:.0f}s)")

    try:
        yield step
    finally:
        status.stop()


@sample.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dataset", required=True, help="The dataset PATH claims to be a sample of.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def sample_check(ctx: Context, path: Path, dataset: str, fmt: str) -> None:
    """Run the leak gate on any Parquet/CSV PATH against DATASET; exit 1 on a leak."""
    from sandbox.gate import check_path

    with steps_progress() as step:
        report = check_path(ctx.platform, path, dataset, step)
    if fmt == "json":
        emit_json(report.to_json())
    else:
        print_gate(report)
    if not report.passed:
        sys.exit(1)


@sample.group("policy")
def policy() -> None:
    """Show and edit a dataset's masking policy (every change is a new, ledgered version)."""


@policy.command("show")
@click.argument("dataset")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def policy_show(ctx: Context, dataset: str, fmt: str) -> None:
    """Print the current policy (or the one its classification gives, before version 1)."""
    from sandbox.masking import registry

    current = ctx.api.get(f"/samples/{dataset}/policy")
    if fmt == "json":
        emit_json(current)
        return
    from sandbox.floor import level_of

    rules = registry()
    table = Table("column", "level", "rule", "params", "what it does")
    info = ctx.api.get(f"/datasets/{dataset}")
    for col in info["columns"]:
        spec = current["rules"].get(col["name"])
        if spec is None:
            needs = col["pii"] != "none" or level_of(col) >= 2
            spec = {"rule": "(none: set one)" if needs else "keep", "params": {}}
        rule = rules.get(spec["rule"])
        note = rule.note if rule else "a build is refused until the owner decides"
        if spec.get("justification"):
            note = f"kept unmasked: {spec['justification']}"
        table.add_row(
            col["name"],
            str(col["level"]),
            spec["rule"],
            json.dumps(spec.get("params", {}), ensure_ascii=False) if spec.get("params") else "",
            note,
        )
    if current["version"] is None:
        out.print(f"[bold]{dataset}[/] has no masking policy yet; version 1 will be:")
    else:
        out.print(f"[bold]{dataset}[/] masking policy v{current['version']} "
                  f"({current['hash'][:12]})")  # fmt: skip
    out.print(table)
    pending = current.get("pending")
    if pending:
        out.print(
            f"v{pending['version']} waits for an operator (it changes an L4 column): "
            f"`trustlab sample policy approve {dataset}` or `... reject {dataset} --reason ...`"
        )


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


@policy.command("set")
@click.argument("dataset")
@click.option("--column", required=True)
@click.option("--rule", "rule_name", required=True, help="Rule name (`trustlab sample rules`).")
@click.option("--param", "params", multiple=True, help="Rule parameter KEY=VALUE (repeatable).")
@click.option("--justification", help="Why an L2+ column may be kept unmasked (with --rule keep).")
@pass_ctx
def policy_set(
    ctx: Context,
    dataset: str,
    column: str,
    rule_name: str,
    params: tuple[str, ...],
    justification: str | None,
) -> None:
    """Mask COLUMN of DATASET with RULE (writes a new policy version; a provider reviewer of
    the owner). A change to an L4 column waits for an operator's approval."""
    body = {"rule": rule_name, "params": _params(params), "justification": justification}
    version = ctx.api.post(f"/samples/{dataset}/policy/{column}", body)
    waits = " (waits for an operator: `trustlab sample policy approve`)"
    click.echo(
        f"{dataset} masking policy v{version['version']}: {column} -> {rule_name}"
        + (waits if version.get("status") == "pending" else "")
    )


@policy.command("approve")
@click.argument("dataset")
@pass_ctx
def policy_approve(ctx: Context, dataset: str) -> None:
    """Approve the pending policy version of DATASET (an operator, not its author)."""
    version = ctx.api.post(f"/samples/{dataset}/policy-decision/approve", {})
    click.echo(f"{dataset} masking policy v{version['version']} approved; builds use it now")


@policy.command("reject")
@click.argument("dataset")
@click.option("--reason", required=True, help="Why (recorded in the ledger).")
@pass_ctx
def policy_reject(ctx: Context, dataset: str, reason: str) -> None:
    """Reject the pending policy version of DATASET (an operator)."""
    version = ctx.api.post(f"/samples/{dataset}/policy-decision/reject", {"reason": reason})
    click.echo(f"{dataset} masking policy v{version['version']} rejected")


@policy.command("unset")
@click.argument("dataset")
@click.option("--column", required=True)
@pass_ctx
def policy_unset(ctx: Context, dataset: str, column: str) -> None:
    """Remove COLUMN's rule (refused for PII columns: default deny)."""
    version = ctx.api.delete(f"/samples/{dataset}/policy/{column}")
    click.echo(f"{dataset} masking policy v{version['version']}: {column} has no rule")


@sample.command("rules")
def sample_rules() -> None:
    """List the masking rules: name, version, default for, what it implements."""
    from sandbox.masking import DEFAULT_RULES, registry

    defaults: dict[str, list[str]] = {}
    for pii, (name, _) in DEFAULT_RULES.items():
        defaults.setdefault(name, []).append(pii)
    table = Table("rule", "version", "default for", "idempotent", "params", "note")
    for name, rule in sorted(registry().items()):
        table.add_row(
            name,
            str(rule.version),
            ", ".join(defaults.get(name, [])),
            "yes" if rule.idempotent else "no",
            json.dumps(rule.defaults(), ensure_ascii=False) if rule.defaults() else "",
            rule.note,
        )
    out.print(table)


# What the demo's owner decided for its columns of no PII type at L2 and above.
DEMO_POLICY = {"income": ("numeric_bucket", {"width": 10000})}


def _demo_policy(platform: Platform) -> None:
    from hub.identity import HOST
    from sandbox.floor import level_of
    from sandbox.policy import Policies

    policies = Policies(platform, HOST)
    current, _ = policies.ensure(DEMO_NAME)
    levels = {c["name"]: level_of(c) for c in Catalog(platform, HOST).show(DEMO_NAME)["columns"]}
    for column, (rule, params) in DEMO_POLICY.items():
        if column not in current.rules and levels.get(column, 1) >= 2:
            current = policies.set_rule(DEMO_NAME, column, rule, params)


def up_demo_sample(platform: Platform) -> None:
    """``trustlab up`` step: publish a sample of the demo dataset if it has none yet."""
    from sandbox.builder import BuildRequest, SampleBuilder, latest_sample

    try:
        info = latest_sample(platform, DEMO_NAME)
        click.echo(f"sample {info['name']} v{info['versions'][-1]['number']} already published")
        return
    except NotFound:
        pass
    from hub.identity import HOST

    with steps_progress() as step:
        result = SampleBuilder(platform, step, actor=HOST).build(BuildRequest(DEMO_NAME))
    click.echo(
        f"published {result.sample_dataset} v{result.version}: {result.rows:,} masked rows "
        f"({result.suppressed_rows:,} suppressed for k-anonymity, k={result.k_anonymity}), "
        f"leak gate {'passed' if result.gate.passed else 'FAILED'}"
    )


DEMO_ACCOUNTS = {
    "demo-dev": ("developer", None),
    "demo-provider": ("provider", DEMO_OWNER),
    "demo-operator": ("operator", None),
    "demo-auditor": ("auditor", None),
    "demo-admin": ("admin", None),
}
DEMO_PROJECT = "demo"


def up_demo_accounts(platform: Platform) -> None:
    """Demo users (one per role), project ``demo`` with a contract for ``people`` (asked by
    the developer, approved by its owner's reviewer and the operator)."""
    import json
    import secrets

    from hub.contracts import Contracts
    from hub.identity import HOST, Directory, Role

    directory = Directory(platform)
    creds_file = platform.settings.home / "demo-credentials.json"
    creds = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    known = {u["name"] for u in directory.list_users()}
    actor = HOST
    for name, (role, org) in DEMO_ACCOUNTS.items():
        if name in known:
            continue
        creds[name] = creds.get(name) or secrets.token_urlsafe(9)
        directory.add_user(name, [Role(role, org)], creds[name], actor)
    creds_file.write_text(json.dumps(creds, indent=2))
    creds_file.chmod(0o600)
    if DEMO_PROJECT not in {p["name"] for p in directory.list_projects()}:
        directory.create_project(
            DEMO_PROJECT, "Demo: explore the people sample 演示项目", ["demo-dev"], actor
        )
    contracts = Contracts(platform)
    mine = [c for c in contracts.list(DEMO_PROJECT) if c["state"] != "rejected"]
    if not mine:
        mine = [contracts.request(DEMO_PROJECT, DEMO_NAME, "demo-dev", ["sandbox", "pipeline"],
                                  purpose="demo: explore the people sample 演示")]  # fmt: skip
    for reviewer in ("demo-provider", "demo-operator"):
        if any(v["awaiting"] for v in mine[0]["versions"]):
            mine = [contracts.decide(mine[0]["ref"], reviewer, True)]
    click.echo(f"  demo accounts in {creds_file} (project {DEMO_PROJECT!r}, contract "
               f"{mine[0]['ref']}: {mine[0]['state']})")  # fmt: skip
