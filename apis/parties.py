"""Application contracts: what ``hub.contracts`` asks the API builder before an import.

Registered under ``trustlab.parties`` as ``application``. The application must exist;
each API the contract names must exist, and its terms must fit the API's latest version:
the fields are fields it returns, the masking rules exist with valid parameters, the
row-scope fields are columns it can filter. The provider of every registered API it is
or calls is among the document's providers (and so approves it). Every served product an
API reads must be an object of the contract with the ``api`` mode, and the fields
returned in any form other than hidden must be columns the object allows — the provider
approves exactly that.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apis import spec
from apis.builder import columns_read, serving_schema
from apis.kindchecks import third_parties
from apis.models import Api, Application
from hub.contract_doc import ContractDocument, InvalidContract, MaskRule
from hub.errors import NotFound


def check(session: Session, doc: ContractDocument) -> set[str]:
    """Refuse terms the APIs contradict; the third-party providers (of registered APIs)
    the document may list besides its objects' owners."""
    name = doc.parties.user.name
    app = session.scalar(select(Application).where(Application.name == name))
    if app is None:
        raise InvalidContract(
            f"contract field parties.user.name: no application {name!r}; "
            "an operator creates it with `trustlab app create`"
        )
    objects = {o.dataset: o for o in doc.objects if "api" in o.modes}
    third: set[str] = set()
    for i, terms in enumerate(doc.apis):
        where = f"contract field apis.{i}"
        api = session.scalar(select(Api).where(Api.name == terms.api))
        if api is None or not api.versions:
            raise InvalidContract(f"{where}.api: no API {terms.api!r}; see `trustlab api list`")
        d = spec.parse(json.loads(api.versions[-1].definition))
        returned = _returned(session, d)
        unknown = sorted(set(terms.fields) - set(returned))
        if unknown:
            raise InvalidContract(
                f"{where}.fields: API {terms.api} returns no {', '.join(unknown)}"
            )
        services = third_parties(session, d)
        missing = sorted(services - set(doc.parties.providers))
        if missing:
            raise InvalidContract(
                f"contract field parties.providers: API {terms.api} calls the services of "
                f"{', '.join(missing)}; list them among the providers (they approve too)"
            )
        third |= services
        for field, how in terms.fields.items():
            if isinstance(how, MaskRule):
                _check_rule(f"{where}.fields.{field}", how)
        scope_cols = _scope_columns(session, d)
        for j, s in enumerate(terms.row_scope):
            if s.field not in scope_cols:
                raise InvalidContract(
                    f"{where}.row_scope.{j}.field: API {terms.api} cannot be scoped by {s.field!r}"
                )
        try:
            reads = columns_read(session, d)
        except NotFound as exc:
            raise InvalidContract(f"{where}.api: {exc}") from None
        shown = {f for f, how in terms.fields.items() if how != "hidden"}
        for source, cols in reads.items():
            obj = objects.get(source)
            if obj is None:
                raise InvalidContract(
                    f"{where}.api: API {terms.api} reads {source}; list it "
                    "in objects with the api mode"
                )
            if obj.columns != "*":
                outside = sorted(
                    (cols & shown if isinstance(d, spec.Wizard) else cols) - set(obj.columns)
                )
                if outside:
                    raise InvalidContract(
                        f"{where}.fields: {', '.join(outside)} of {source} "
                        "are not among the object's columns"
                    )
    return third


def _returned(session: Session, d: spec.AnyDefinition) -> list[str]:
    return list(d.fields)


def _scope_columns(session: Session, d: spec.AnyDefinition) -> set[str]:
    """A wizard API may be scoped by any column of its table; the others by their output."""
    if isinstance(d, spec.Wizard):
        try:
            return set(serving_schema(session, d.source.serving))
        except NotFound:
            return set(d.fields)
    return set(d.fields)


def _check_rule(where: str, how: MaskRule) -> None:
    from sandbox.masking import MaskingContext, PolicyError, make_rule

    try:
        make_rule(how.rule, dict(how.params), MaskingContext(secret=b"x" * 32))
    except PolicyError as exc:
        raise InvalidContract(f"{where}: {exc}") from None


def api_terms(doc: dict[str, Any], api: str) -> dict[str, Any] | None:
    return next((a for a in doc.get("apis", []) if a["api"] == api), None)
