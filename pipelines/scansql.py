"""SQL given to ``spark.sql``, parsed with sqlglot's Spark dialect: what in it reads or
writes outside ctx, or runs a command on the executors."""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.scanrules import JVM_SQL_FUNCTIONS


def sql_problems(sql: str, views: Iterable[str] = ()) -> list[str]:
    """What in ``sql`` reads or writes outside ctx (empty when it only queries temp views)."""
    import sqlglot
    from sqlglot import exp

    views = {v.lower() for v in views}
    try:
        statements = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return [f"SQL the scanner cannot parse (so cannot clear): {first[:120]}"]
    problems: list[str] = []
    for stmt in statements:
        if stmt is None:
            continue
        if isinstance(stmt, exp.Insert):
            problems.append("SQL INSERT writes outside ctx (INSERT INTO/OVERWRITE, DIRECTORY)")
        elif isinstance(stmt, exp.Create):
            kind = (stmt.args.get("kind") or "").upper()
            temp = any(isinstance(p, exp.TemporaryProperty) for p in stmt.find_all(exp.Property))
            if not (kind == "VIEW" and temp):
                problems.append(f"SQL CREATE {kind or ''} writes outside ctx".replace("  ", " "))
        elif isinstance(stmt, exp.LoadData):
            problems.append("SQL LOAD DATA reads files outside ctx")
        elif isinstance(stmt, exp.Command):
            word = (stmt.this or "").upper()
            if word in ("ADD", "LOAD", "INSERT", "CACHE", "REFRESH", "MSCK", "SET", "RESET"):
                problems.append(f"SQL {word} … is not allowed in a pipeline")
            else:
                problems.append(f"SQL command {word} the scanner cannot clear")
        elif isinstance(stmt, exp.Drop | exp.Alter | exp.Delete | exp.Update | exp.Merge):
            problems.append(f"SQL {stmt.key.upper()} changes tables outside ctx")
        if any(True for _ in stmt.find_all(exp.QueryTransform)):
            problems.append("SQL TRANSFORM … USING runs a command on every executor")
        for call in stmt.find_all(exp.Anonymous, exp.Func):
            name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
            if name in JVM_SQL_FUNCTIONS:
                problems.append(f"SQL {name}() calls Java methods directly")
        ctes = {c.alias_or_name.lower() for c in stmt.find_all(exp.CTE)}
        created = stmt.this if isinstance(stmt, exp.Create) else None
        targets = {id(t) for t in created.find_all(exp.Table)} if created is not None else set()
        for table in stmt.find_all(exp.Table):
            if id(table) in targets:
                continue
            name = table.name.lower()
            db = (table.db or "").lower()
            if db in ("parquet", "csv", "json", "orc", "text", "delta", "avro", "binaryfile"):
                problems.append(f"SQL reads files by path ({db}.`…`)")
            elif name and name not in views and name not in ctes and not db:
                problems.append(
                    f"SQL reads table {table.name!r}, which is not a temp view of ctx data"
                )
            elif db:
                problems.append(f"SQL reads catalog table {db}.{table.name}")
    return list(dict.fromkeys(problems))
