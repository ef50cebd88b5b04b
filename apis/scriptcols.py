"""Which columns of which served tables a script reads (for review and re-serving).

sqlglot qualifies every column against the served schemas, so an unqualified column in a
join is attributed to the table that has it; ``SELECT *`` is refused by ``apis.sqlsafe``.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from apis.spec import InvalidDefinition


def referenced_columns(sql: str, schemas: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """Per served table, the columns ``sql`` reads (``schemas``: table → column → type)."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
        sg_schema = {t: {c: "TEXT" for c in cols} for t, cols in schemas.items()}
        tree = qualify(
            tree, schema=sg_schema, validate_qualify_columns=True, quote_identifiers=False
        )
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0][:200]
        raise InvalidDefinition(f"API definition field sql: {first}") from None
    aliases: dict[str, str] = {}
    for table in tree.find_all(exp.Table):
        if table.name in schemas:
            aliases[table.alias_or_name] = table.name
    used: dict[str, set[str]] = {t: set() for t in schemas}
    for col in tree.find_all(exp.Column):
        table = aliases.get(col.table)
        if table is not None and col.name in schemas[table]:
            used[table].add(col.name)
    return {t: cols for t, cols in used.items() if cols}
