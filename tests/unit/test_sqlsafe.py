"""``apis.sqlsafe.check_script``: what a script API may run, for each serving dialect.

The allowed corpus is checked for what comes out (columns, parameters in order, physical
names, SQLAlchemy text() binds, a re-check of the output). The refused corpus is generated:
every dangerous construct in every place a query can hold it, in all three dialects.
"""

from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from apis.sqlsafe import CheckedQuery, UnsafeSql, check_script

DIALECTS = ["sqlite", "postgresql", "mysql"]
SQLGLOT = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
TABLES = {"people": "srv_people__v3", "orders": "srv_orders__v1"}


def check(sql: str, dialect: str, tables: dict[str, str] = TABLES) -> CheckedQuery:
    return check_script(sql, dialect=dialect, tables=tables)


# (script, output columns, parameters in order, logical tables read)
ALLOWED = [
    ("SELECT id, name FROM people WHERE city = :city", ["id", "name"], ["city"], {"people"}),
    (
        "SELECT p.name AS name, count(o.id) AS orders FROM people p JOIN orders o "
        "ON o.pid = p.id WHERE p.city = :city AND o.amount >= :min_amount "
        "GROUP BY p.name HAVING count(o.id) > :at_least ORDER BY orders DESC "
        "LIMIT :page_size OFFSET :skip",
        ["name", "orders"],
        ["city", "min_amount", "at_least", "page_size", "skip"],
        {"people", "orders"},
    ),
    (
        "SELECT city, avg(age) AS mean_age, min(age) AS youngest, max(age) AS oldest, "
        "sum(age) AS total, count(DISTINCT name) AS names FROM people GROUP BY city",
        ["city", "mean_age", "youngest", "oldest", "total", "names"],
        [],
        {"people"},
    ),
    (
        "SELECT name FROM people WHERE id IN (SELECT pid FROM orders WHERE amount > :a) "
        "AND EXISTS (SELECT 1 FROM orders WHERE orders.pid = people.id)",
        ["name"],
        ["a"],
        {"people", "orders"},
    ),
    (
        "SELECT q.city, q.n FROM (SELECT city, count(*) AS n FROM people GROUP BY city) AS q "
        "WHERE q.n > :k",
        ["city", "n"],
        ["k"],
        {"people"},
    ),
    (
        "WITH big AS (SELECT pid, sum(amount) AS spent FROM orders GROUP BY pid), "
        "named AS (SELECT p.name, b.spent FROM people p JOIN big b ON b.pid = p.id) "
        "SELECT name, spent FROM named WHERE spent > :floor",
        ["name", "spent"],
        ["floor"],
        {"people", "orders"},
    ),
    (
        "SELECT name FROM people WHERE city = :c UNION SELECT name FROM people "
        "WHERE age < :c UNION ALL SELECT CAST(pid AS VARCHAR(20)) AS name FROM orders",
        ["name"],
        ["c"],
        {"people", "orders"},
    ),
    (
        "SELECT CASE WHEN age >= :adult THEN 'adult' WHEN age IS NULL THEN 'unknown' "
        "ELSE 'minor' END AS band, coalesce(nullif(name, ''), '-') AS shown FROM people",
        ["band", "shown"],
        ["adult"],
        {"people"},
    ),
    (
        "SELECT name, row_number() OVER (PARTITION BY city ORDER BY age DESC) AS rnk, "
        "sum(age) OVER (PARTITION BY city) AS city_age, lag(age) OVER (ORDER BY id) AS prev "
        "FROM people",
        ["name", "rnk", "city_age", "prev"],
        [],
        {"people"},
    ),
    (
        "SELECT upper(name) AS u, lower(city) AS l, length(name) AS n, substr(name, 1, 3) AS s, "
        "trim(name) AS t, replace(name, 'a', 'b') AS r, abs(age - :x) AS d, round(age / 3.0, 2) "
        "AS q FROM people WHERE name LIKE :prefix AND age BETWEEN :lo AND :hi "
        "AND city NOT IN ('a', 'b') AND id <> :x",
        ["u", "l", "n", "s", "t", "r", "d", "q"],
        ["x", "prefix", "lo", "hi"],
        {"people"},
    ),
    (
        "SELECT people.name FROM people WHERE people.born >= '2020-01-01' AND note = '12:30' "
        "AND tag = 'a :b' ORDER BY people.name",
        ["name"],
        [],
        {"people"},
    ),
    (
        'SELECT name AS "label:one" FROM people WHERE city = :city',
        ["label:one"],
        ["city"],
        {"people"},
    ),
    (
        "SELECT p.id, (SELECT max(amount) FROM orders) AS top FROM people p LEFT JOIN orders o "
        "ON o.pid = p.id CROSS JOIN orders o2 RIGHT OUTER JOIN people p2 ON p2.id = o2.pid",
        ["id", "top"],
        [],
        {"people", "orders"},
    ),
    (
        "SELECT id FROM people p NATURAL JOIN orders WHERE id = ANY (SELECT pid FROM orders) "
        "INTERSECT SELECT o.pid AS id FROM orders o JOIN people USING (id) "
        "EXCEPT SELECT pid AS id FROM orders ORDER BY id FETCH FIRST 5 ROWS ONLY",
        ["id"],
        [],
        {"people", "orders"},
    ),
    (
        "SELECT sum(age) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        "AS running, greatest(age, :low) AS g, least(age, 9) AS l, stddev(age) OVER () AS sd, "
        "variance(age) OVER () AS v, EXTRACT(YEAR FROM born) AS y, current_date AS today, "
        "ceil(age) AS c, floor(age) AS f, sqrt(age) AS r, power(age, 2) AS p, ln(age) AS n, "
        "concat(name, city) AS nc FROM people",
        ["running", "g", "l", "sd", "v", "y", "today", "c", "f", "r", "p", "n", "nc"],
        ["low"],
        {"people"},
    ),
    (
        "SELECT city FROM people GROUP BY city HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 10",
        ["city"],
        [],
        {"people"},
    ),
]

DIALECT_ALLOWED = {
    "sqlite": [
        ("SELECT group_concat(name, ',') AS names FROM People", ["names"], [], {"people"}),
        ("SELECT iif(age > 1, 'y', 'n') AS a, [name] FROM people", ["a", "name"], [], {"people"}),
    ],
    "postgresql": [
        (
            "SELECT string_agg(name, ',') AS names, age::int AS a FROM people WHERE name ILIKE :q "
            "GROUP BY age",
            ["names", "a"],
            ["q"],
            {"people"},
        ),
        (
            "SELECT date_trunc('month', born) AS m, count(*) FILTER (WHERE age > 1) AS n "
            "FROM people GROUP BY 1",
            ["m", "n"],
            [],
            {"people"},
        ),
    ],
    "mysql": [
        (
            "SELECT `name`, IF(age > 1, 'y', 'n') AS a FROM `people` WHERE city = :c",
            ["name", "a"],
            ["c"],
            {"people"},
        ),
        (
            "SELECT GROUP_CONCAT(name SEPARATOR ',') AS names FROM people",
            ["names"],
            [],
            {"people"},
        ),
    ],
}


def _allowed() -> list:
    cases = []
    for dialect in DIALECTS:
        for n, case in enumerate(ALLOWED + DIALECT_ALLOWED[dialect]):
            cases.append(pytest.param(dialect, *case, id=f"{dialect}-{n}"))
    return cases


def _tables_in(sql: str, dialect: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read=SQLGLOT[dialect])
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table)} - ctes


@pytest.mark.parametrize(("dialect", "sql", "columns", "parameters", "tables"), _allowed())
def test_allowed_scripts(
    dialect: str, sql: str, columns: list[str], parameters: list[str], tables: set[str]
) -> None:
    q = check(sql, dialect)
    assert list(q.columns) == columns
    assert list(q.parameters) == parameters
    assert q.tables == tables
    # What runs reads the physical tables only, and holds no comment or second statement.
    compiled = sa.text(q.sql).compile()  # SQLAlchemy's own reading of the :name binds
    assert sorted(compiled.binds) == sorted(parameters)
    plain = str(compiled)
    assert _tables_in(plain, dialect) == {TABLES[t] for t in tables}
    assert len([s for s in sqlglot.parse(plain, read=SQLGLOT[dialect]) if s]) == 1
    for token in ("--", "/*", ";", "#"):
        assert token not in plain.replace("'a :b'", "")
    # The output is itself a script that passes, over the physical names.
    again = check(plain, dialect, tables={p: p for p in TABLES.values()})
    assert again.columns == q.columns and again.parameters == q.parameters


@pytest.mark.parametrize("dialect", DIALECTS)
def test_literal_colons_survive_text(dialect: str) -> None:
    q = check("SELECT name FROM people WHERE note = '12:30' AND tag = ':x' AND id = :id", dialect)
    compiled = sa.text(q.sql).compile()
    assert list(compiled.binds) == ["id"]
    assert "'12:30'" in str(compiled) and "':x'" in str(compiled)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tables_are_renamed_to_physical_names(dialect: str) -> None:
    q = check("SELECT people.name, p2.id FROM people JOIN people AS p2 ON p2.id = people.id",
              dialect)  # fmt: skip
    assert "srv_people__v3 AS people" in q.sql and "srv_people__v3 AS p2" in q.sql
    assert q.tables == {"people"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_parameters_in_first_appearance_order(dialect: str) -> None:
    q = check(
        "WITH c AS (SELECT id FROM people WHERE age > :first) SELECT id FROM c "
        "WHERE id < :second AND id <> :first ORDER BY id LIMIT :third",
        dialect,
    )
    assert q.parameters == ("first", "second", "third")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("word", ["user", "current_user", "session_user", "current_role"])
def test_keyword_like_columns_are_columns(dialect: str, word: str) -> None:
    """On PostgreSQL a bare ``user`` is the login's name: it is refused or quoted."""
    try:
        q = check(f"SELECT {word} AS who FROM people", dialect)
    except UnsafeSql:
        return
    tree = sqlglot.parse_one(q.sql, read=SQLGLOT[dialect])
    column = tree.expressions[0].this
    assert isinstance(column, exp.Column) and column.this.quoted


@pytest.mark.parametrize("dialect", DIALECTS)
def test_comments_are_dropped(dialect: str) -> None:
    q = check(
        "SELECT /* hello */ id -- a comment\n FROM people /*!50000 UNION SELECT User FROM "
        "mysql.user */ WHERE id = :id",
        dialect,
    )
    assert "/*" not in q.sql and "--" not in q.sql and "mysql" not in q.sql


# --- the refused corpus: constructs × the places that can hold them ----------------------

STATEMENTS = [
    "INSERT INTO people (id) VALUES (1)",
    "INSERT INTO people SELECT id FROM orders",
    "UPDATE people SET name = 'x' WHERE id = 1",
    "DELETE FROM people",
    "MERGE INTO people USING orders ON people.id = orders.pid WHEN MATCHED THEN DELETE",
    "REPLACE INTO people (id) VALUES (1)",
    "CREATE TABLE evil (a INT)",
    "CREATE TABLE evil AS SELECT id FROM people",
    "CREATE TEMPORARY TABLE evil (a INT)",
    "CREATE VIEW evil AS SELECT id FROM people",
    "CREATE FUNCTION evil() RETURNS INT AS 'SELECT 1' LANGUAGE sql",
    "CREATE TRIGGER evil AFTER INSERT ON people BEGIN SELECT 1; END",
    "DROP TABLE people",
    "ALTER TABLE people ADD COLUMN evil INT",
    "TRUNCATE people",
    "GRANT ALL ON people TO PUBLIC",
    "PRAGMA table_info(people)",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "DETACH DATABASE evil",
    "VACUUM INTO '/tmp/evil.db'",
    "SET search_path = evil",
    "SET SESSION TRANSACTION READ WRITE",
    "SET @x = 1",
    "RESET ALL",
    "COPY people TO '/tmp/evil.csv'",
    "COPY people FROM PROGRAM 'id'",
    "CALL evil()",
    "DO $$ BEGIN PERFORM pg_sleep(10); END $$",
    "EXPLAIN SELECT id FROM people",
    "EXPLAIN ANALYZE DELETE FROM people",
    "LOAD DATA INFILE '/etc/passwd' INTO TABLE people",
    "HANDLER people OPEN",
    "LOCK TABLES people WRITE",
    "SHOW TABLES",
    "DESCRIBE people",
    "USE mysql",
    "BEGIN",
    "COMMIT",
    "PREPARE evil AS SELECT 1",
    "EXECUTE evil",
    "VALUES (1)",
    "TABLE people",
    "KILL 1",
]
DML = [s for s in STATEMENTS if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
VALID = "SELECT id FROM people"
STATEMENT_PLACES = [
    "{}",
    VALID + "; {}",
    VALID + ";\n{}",
    VALID + " /* hidden */ ; {}",
    VALID + " -- hidden\n; {}",
    VALID + " --\n;{};",
    "{}; " + VALID,
    "/* " + VALID + " */ {}",
]
CTE_PLACES = ["WITH d AS ({} RETURNING id) SELECT id FROM d",
              "WITH d AS ({}) SELECT id FROM people"]  # fmt: skip

TABLE_REFS = [
    "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_sequence",
    "main.sqlite_master", "temp.sqlite_master", "pg_catalog.pg_user", "pg_catalog.pg_authid",
    "pg_shadow", "pg_user", "pg_stat_activity", "information_schema.tables",
    "information_schema.columns", "mysql.user", "mysql.db", "performance_schema.threads",
    "main.people", "public.people", "serving.people", "db.schema.people", "secret",
    "srv_secret__v1", '"secret"', "secret AS people", "people.people",
    "generate_series(1, 1000000000) AS g(id)", "json_each('[1]')", "pragma_table_info('people')",
    "dblink('host=10.0.0.1', 'SELECT 1') AS t(id INT)", "UNNEST(ARRAY[1]) AS u(id)",
    "LATERAL (SELECT 1 AS id) AS l", "people TABLESAMPLE SYSTEM (10)", "people USE INDEX (i)",
    "people FOR SYSTEM_TIME AS OF '2020-01-01'", "(VALUES (1)) AS v(id)",
]  # fmt: skip
TABLE_PLACES = [
    "SELECT id FROM {}",
    "SELECT p.id FROM people p JOIN {} s ON s.id = p.id",
    "SELECT p.id FROM people p LEFT JOIN {} ON 1 = 1",
    "SELECT id FROM people, {}",
    "SELECT id FROM people WHERE id IN (SELECT id FROM {})",
    "SELECT (SELECT max(id) FROM {}) AS m FROM people",
    "SELECT id FROM people UNION SELECT id FROM {}",
    "WITH c AS (SELECT id FROM {}) SELECT id FROM c",
    "SELECT id FROM people WHERE EXISTS (SELECT 1 FROM {})",
    "SELECT q.id FROM (SELECT id FROM {}) AS q",
    "SELECT id FROM people WHERE id = ANY (SELECT id FROM {})",
]
# A CTE defined in a subquery is not visible outside it: there the name is a real table.
SCOPE_TRICKS = [
    "SELECT s.id FROM (WITH secret AS (SELECT 1 AS id) SELECT id FROM secret) AS q, secret s",
    "SELECT id FROM people WHERE id IN (WITH secret AS (SELECT 1 AS id) SELECT id FROM secret) "
    "AND id IN (SELECT id FROM secret)",
    'WITH "Secret" AS (SELECT 1 AS id) SELECT id FROM Secret',
    "WITH secret AS (SELECT id FROM secret) SELECT id FROM secret",
]

EXPRESSIONS = [
    "load_extension('/tmp/evil')", "readfile('/etc/passwd')", "writefile('/tmp/x', 'y')",
    "fts3_tokenizer('simple')", "sqlite_version()", "randomblob(1000000000)",
    "zeroblob(1000000000)", "printf('%.*c', 1000000000, 'x')", "pg_read_file('/etc/passwd')",
    "pg_read_binary_file('/etc/passwd')", "pg_ls_dir('.')", "pg_sleep(10)",
    "pg_terminate_backend(1)", "lo_import('/etc/passwd')", "lo_export(1, '/tmp/x')",
    "dblink('host=10.0.0.1', 'SELECT 1')", "current_setting('data_directory')",
    "set_config('default_transaction_read_only', 'off', false)",
    "query_to_xml('SELECT 1', true, true, '')", "version()", "current_database()",
    "user()", "database()", "sleep(10)", "benchmark(100000000, md5('x'))",
    "load_file('/etc/passwd')", "repeat('x', 1000000000)", "lpad('x', 1000000000, 'y')",
    "space(1000000000)", "regexp_replace(name, '(a+)+$', 'x')", "name REGEXP '(a+)+$'",
    "my_udf(id)", "evil.func(id)", "txid_current()", "nextval('seq')", "uuid()",
    "@@version", "@x", "?", "$1", "%s", ":1", "?1", "CAST(id AS regclass)",
    "'pg_authid'::regclass", "(SELECT password FROM mysql.user)",
    "(SELECT * FROM people)", "(SELECT max(id) FROM secret)", "json_extract(name, '$.a')",
]  # fmt: skip
EXPRESSION_PLACES = [
    "SELECT {} AS v FROM people",
    "SELECT id FROM people WHERE id = {}",
    "SELECT id FROM people ORDER BY {}",
    "SELECT city, count(id) AS n FROM people GROUP BY city HAVING max(id) > {}",
    "SELECT p.id FROM people p JOIN orders o ON o.pid = {}",
    "SELECT CASE WHEN id > 1 THEN {} ELSE 0 END AS v FROM people",
    "SELECT coalesce({}, 0) AS v FROM people",
    "SELECT id FROM people WHERE id IN (SELECT {} FROM orders)",
    "WITH c AS (SELECT {} AS v FROM people) SELECT v FROM c",
    "SELECT row_number() OVER (ORDER BY {}) AS r FROM people",
    "SELECT id FROM people LIMIT {}",
    "SELECT id FROM people UNION SELECT {} FROM orders",
    "SELECT id FROM people GROUP BY id, {}",
]

OUTPUTS = [
    "SELECT * FROM people", "SELECT people.* FROM people", "SELECT p.* FROM people p",
    "SELECT id, * FROM people", "SELECT count(*) FROM people", "SELECT id, id FROM people",
    "SELECT 1 FROM people", "SELECT id + 1 FROM people", "SELECT id FROM people UNION "
    "SELECT * FROM orders", "SELECT q.* FROM (SELECT id FROM people) AS q",
    "SELECT id FROM people WHERE EXISTS (SELECT * FROM orders)",
]  # fmt: skip
CLAUSES = ["FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR UPDATE NOWAIT",
           "LOCK IN SHARE MODE", "INTO evil", "INTO OUTFILE '/tmp/x'",
           "INTO DUMPFILE '/tmp/x'", "INTO @v"]  # fmt: skip
CLAUSE_PLACES = [
    "SELECT id FROM people {}",
    "SELECT id FROM people WHERE id = 1 {}",
    "SELECT id FROM people WHERE id IN (SELECT pid FROM orders {})",
]
INTO_PLACES = ["SELECT id {} FROM people"]
RECURSION = [
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "WITH r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "WITH RECURSIVE r AS (SELECT 1 AS n) SELECT n FROM r",
    "WITH a AS (SELECT id FROM b), b AS (SELECT id FROM a) SELECT id FROM a",
    "SELECT id FROM people WHERE id IN (WITH r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT n FROM r)",
]
EMPTY = [
    "",
    " ",
    "\n\t",
    ";",
    ";;",
    "-- nothing",
    "/* nothing */",
    "/* a */ ; -- b",
    "SELECT",
    "SELECT FROM people",
    "SELECT -- id FROM people",
]
HUGE = [
    "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " AS x FROM people",
    "SELECT id FROM people WHERE " + " OR ".join(f"id = {i}" for i in range(20000)),
    "SELECT " + " + ".join(["id"] * 30000) + " AS x FROM people",
]


def _refused() -> list:
    groups = {
        "statement": [p.format(s) for p, s in itertools.product(STATEMENT_PLACES, STATEMENTS)],
        "cte": [p.format(s) for p, s in itertools.product(CTE_PLACES, DML)],
        "table": [p.format(t) for p, t in itertools.product(TABLE_PLACES, TABLE_REFS)],
        "scope": SCOPE_TRICKS,
        "expression": [p.format(e) for p, e in itertools.product(EXPRESSION_PLACES, EXPRESSIONS)],
        "output": OUTPUTS,
        "clause": [p.format(c) for p, c in itertools.product(CLAUSE_PLACES, CLAUSES)]
        + [p.format(c) for p, c in itertools.product(INTO_PLACES, CLAUSES[5:])],
        "recursion": RECURSION,
        "empty": EMPTY,
        "huge": HUGE,
    }
    return [
        pytest.param(dialect, sql, id=f"{dialect}-{group}-{n}")
        for dialect in DIALECTS
        for group, scripts in groups.items()
        for n, sql in enumerate(scripts)
    ]


@pytest.mark.parametrize(("dialect", "sql"), _refused())
def test_refused_scripts(dialect: str, sql: str) -> None:
    with pytest.raises(UnsafeSql) as caught:
        check(sql, dialect)
    message = str(caught.value)
    assert message.startswith("script: ") and "\n" not in message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_messages_name_the_construct(dialect: str) -> None:
    cases = {
        "SELECT pg_sleep(1) AS x FROM people": "function pg_sleep is not allowed",
        "SELECT id FROM sqlite_master": "table sqlite_master is not allowed",
        "SELECT id FROM pg_catalog.pg_user": "pg_catalog.pg_user is not allowed",
        "SELECT * FROM people": "SELECT * is not allowed",
        "SELECT id FROM people WHERE id = ?": "placeholder ? is not allowed; use :name",
        "SELECT id FROM people; DROP TABLE people": "more than one statement",
        "DELETE FROM people": "DELETE statements are not allowed",
        "WITH RECURSIVE r AS (SELECT 1 AS n) SELECT n FROM r": "WITH RECURSIVE is not allowed",
        "SELECT id FROM people FOR UPDATE": "FOR UPDATE/SHARE is not allowed",
    }
    for sql, expected in cases.items():
        with pytest.raises(UnsafeSql, match=re.escape(expected)):
            check(sql, dialect)


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_script("SELECT id FROM people", dialect="oracle", tables=TABLES)


@pytest.mark.parametrize(
    ("sql", "order"),
    [
        ("SELECT district AS d, count(*) AS n FROM people GROUP BY district ORDER BY n DESC, d",
         (("n", True), ("d", False))),
        ("SELECT name, age FROM people ORDER BY 2 DESC", (("age", True),)),
        ("SELECT name, age FROM people ORDER BY length(name)", ()),  # not an output column
        ("SELECT name, age FROM people ORDER BY p.age", ()),  # qualified: an input column
        ("SELECT name, age FROM people", ()),
        ("SELECT name FROM people UNION SELECT name FROM people ORDER BY name", (("name", False),)),
    ],
)  # fmt: skip
def test_the_top_level_order_is_known_by_output_column(sql: str, order: tuple) -> None:
    assert check_script(sql, dialect="sqlite", tables=TABLES).order == order
