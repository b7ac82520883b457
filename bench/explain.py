"""EXPLAIN ANALYZE of what each invoice search really runs: the request goes through the app
in this process, its SQL is captured, then explained with the same parameters."""

from sqlalchemy import event
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.db.engine import Database
from customer_credit.settings import Settings

_SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT 1", "SHOW ")


def explain_searches(url: str, headers: dict[str, str], searches: dict[str, str]) -> list[str]:
    """Markdown: for each named request path, every statement it ran and its plan."""
    settings = Settings(database_url=url, secret_key="explain-" + "x" * 40, log_level="WARNING")
    database = Database(settings)
    captured: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        captured.append((statement, parameters))

    event.listen(database.read_engine, "before_cursor_execute", record)
    lines: list[str] = []
    try:
        with TestClient(create_app(settings, database)) as client:
            for name, path in searches.items():
                client.get(path, headers=headers).raise_for_status()  # warm: caches, key
                captured.clear()
                answer = client.get(path, headers=headers)
                answer.raise_for_status()
                statements = [
                    (sql, params)
                    for sql, params in captured
                    if not sql.lstrip().upper().startswith(_SKIP) and "api_keys" not in sql
                ]
                lines += [
                    f"### {name}",
                    "",
                    f"`GET {path}` → {answer.json()['summary']['count']:,} matches, "
                    f"{len(statements)} statement(s)",
                    "",
                ]
                for sql, params in statements:
                    with database.read_engine.connect() as connection:
                        plan = (
                            connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                            .scalars()
                            .all()
                        )
                    lines += ["```", " ".join(sql.split()), "", *plan, "```", ""]
    finally:
        database.dispose()
    return lines
