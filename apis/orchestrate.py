"""Running an orchestrated API: its steps as a graph, in parallel where independent.

Each step calls another published API through the gateway's internal path (never over
HTTP) with the platform's authority: every field in the clear, no row scope. That is
sound because a step's answer is never returned as it is: only the output step's answer
leaves, mapped to the orchestrated API's declared fields, and then scoped and masked by
the caller's contract for the orchestrated API (whose review needed every provider the
steps need). A step past its ``timeout_s`` ends the call (504); a step whose ``when`` does
not hold is skipped, and so is every step that needs a skipped one.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Awaitable, Callable
from typing import Any

from apis import jsonpaths
from apis.spec_orchestrated import Condition, Orchestrated, Step
from apis.spec_registered import as_text
from hub.errors import TrustlabError

StepCall = Callable[[Step, dict[str, list[str]]], Awaitable[Any]]
COMPARE = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge,
           "lt": operator.lt, "lte": operator.le}  # fmt: skip


class StepTimeout(TrustlabError):
    """A step did not finish within its ``timeout_s`` (504)."""


class StepFailed(TrustlabError):
    """A step could not be run (502); the reason is logged, never returned."""


def holds(cond: Condition, context: dict[str, Any]) -> bool:
    found = jsonpaths.values(cond.path, context)
    if cond.op == "exists":
        return bool(found)
    if not found:
        return False
    if cond.op == "truthy":
        return bool(found[0])
    try:
        return bool(COMPARE[cond.op](found[0], cond.value))
    except TypeError:
        return False


def step_args(step: Step, context: dict[str, Any]) -> dict[str, list[str]]:
    """The step API's query parameters: each path's values (none: the parameter is left out)."""
    args: dict[str, list[str]] = {}
    for name, path in step.params.items():
        out: list[str] = []
        for v in jsonpaths.values(path, context):
            items = v if isinstance(v, list) else [v]
            out += [as_text(i) for i in items if i is not None and not isinstance(i, dict | list)]
        if out:
            args[name] = out
    return args


async def run(d: Orchestrated, params: dict[str, Any], call: StepCall) -> Any:
    """The output step's answer (None when it was skipped)."""
    context: dict[str, Any] = {"params": params, "steps": {}}
    skipped: set[str] = set()
    tasks: dict[str, asyncio.Task] = {}

    async def one(step: Step) -> None:
        for need in step.needs():
            await tasks[need]
        cond = step.condition()
        if step.needs() & skipped or (cond is not None and not holds(cond, context)):
            skipped.add(step.id)
            return
        try:
            answer = await asyncio.wait_for(call(step, step_args(step, context)), step.timeout_s)
        except TimeoutError:
            raise StepTimeout(f"step {step.id} did not finish in {step.timeout_s} s") from None
        context["steps"][step.id] = answer

    for step in d.steps:
        tasks[step.id] = asyncio.ensure_future(one(step))
    try:
        await asyncio.gather(*tasks.values())
    finally:
        for t in tasks.values():
            t.cancel()
    return context["steps"].get(d.output.step)
