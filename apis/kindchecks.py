"""Create-time checks of registered and orchestrated definitions (``apis.builder``).

A registered API names an organisation that exists, a credential that is stored, and a
URL whose host resolves only to addresses egress may reach (``apis.egress.check_url``,
with the operator's ``egress_allow``); its provider reviews it. An orchestrated API's
steps are published versions; its providers are theirs; it may not include itself
through other orchestrated APIs, nor nest them deeper than ``MAX_NESTING``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apis import spec
from apis.egress import EgressFailed, EgressRefused, Resolver, check_url, system_resolver
from apis.models import Api, ApiVersion
from apis.secrets import Secrets
from apis.spec_orchestrated import MAX_NESTING
from hub.models import Organisation
from hub.platform import Platform

Invalid = spec.InvalidDefinition


def check_registered(
    session: Session, platform: Platform, d: spec.Registered, resolver: Resolver | None
) -> set[str]:
    """Refuse what cannot be called safely; the providers who review it (its own)."""
    if session.scalar(select(Organisation).where(Organisation.name == d.provider)) is None:
        raise Invalid(f"API definition field provider: no organisation {d.provider!r}")
    if d.request.secret and not Secrets(platform).exists(d.request.secret):
        raise Invalid(
            f"API definition field request.secret: no stored credential {d.request.secret!r}; "
            f"an operator sets it first (`trustlab api secret set {d.request.secret}`)"
        )
    try:
        check_url(d.request.origin(), resolver or system_resolver, platform.settings.egress_allow)
    except (EgressRefused, EgressFailed) as exc:
        raise Invalid(f"API definition field request.url: {exc}") from None
    return {d.provider}


def _version(session: Session, name: str, number: int | None) -> ApiVersion | None:
    api = session.scalar(select(Api).where(Api.name == name))
    if api is None or not api.versions:
        return None
    if number is None:
        return api.versions[-1]
    return next((v for v in api.versions if v.number == number), None)


def _steps(session: Session, d: spec.Orchestrated) -> Iterator[tuple[int, spec.Step, ApiVersion]]:
    for i, s in enumerate(d.steps):
        v = _version(session, s.api, s.version)
        if v is None:
            raise Invalid(f"API definition field steps.{i}.api: no API {s.api} v{s.version}")
        yield i, s, v


def check_orchestrated(session: Session, d: spec.Orchestrated) -> set[str]:
    """Refuse unpublished steps and self-inclusion; the union of the steps' providers."""
    providers: set[str] = set()
    for i, s, v in _steps(session, d):
        if v.state != "published":
            raise Invalid(
                f"API definition field steps.{i}.api: {s.api} v{s.version} is {v.state}; "
                "a step calls a published version"
            )
        providers |= set(json.loads(v.providers))
    _nesting(session, d, (d.name,), 1)
    return providers


def _nesting(session: Session, d: spec.Orchestrated, path: tuple[str, ...], depth: int) -> None:
    """Walk each step's pinned version and its API's latest definition."""
    if depth > MAX_NESTING:
        raise Invalid(
            f"API definition field steps: orchestrated APIs nest {depth} deep "
            f"({' → '.join(path)}); at most {MAX_NESTING}"
        )
    for s in d.steps:
        for number in (s.version, None):
            v = _version(session, s.api, number)
            inner = spec.parse(json.loads(v.definition)) if v else None
            if not isinstance(inner, spec.Orchestrated):
                continue
            if inner.name in path:
                raise Invalid(
                    f"API definition field steps: {' → '.join((*path, inner.name))} includes itself"
                )
            _nesting(session, inner, (*path, inner.name), depth + 1)


def reads(session: Session, d: spec.Orchestrated) -> dict[str, set[str]]:
    """Per served product, the columns the steps' pinned versions read."""
    from apis.builder import columns_read

    out: dict[str, set[str]] = {}
    for _, _, v in _steps(session, d):
        for source, cols in columns_read(session, spec.parse(json.loads(v.definition))).items():
            out.setdefault(source, set()).update(cols)
    return out


def third_parties(session: Session, d: Any) -> set[str]:
    """The providers of the registered APIs ``d`` is or calls (for application contracts)."""
    if isinstance(d, spec.Registered):
        return {d.provider}
    if not isinstance(d, spec.Orchestrated):
        return set()
    found: set[str] = set()
    for _, _, v in _steps(session, d):
        found |= third_parties(session, spec.parse(json.loads(v.definition)))
    return found
