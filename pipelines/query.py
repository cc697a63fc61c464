"""`make query`: a read-only SQL shell on the analysts' published copy of the warehouse.

DuckDB's Python package ships no CLI, so this is a small one: statements end with `;`, `.tables` lists
the tables, `.quit` (or Ctrl-D) leaves. `-c SQL` runs one command and exits. The published copy is
replaced whole after each successful run; reconnect (start the shell again) to see the newest one.
`--live` opens the warehouse that runs write instead, which makes runs wait while the shell is open.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import duckdb

from pipelines.publish import AnalystCopy, publish_root
from pipelines.settings import resolve_paths

PROMPT, CONTINUE = "crm> ", " ..> "
MAX_ROWS = 100


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run one or more statements and print the result of the last one, if it has rows."""
    relation = con.sql(sql)
    if relation is not None:
        relation.show(max_rows=MAX_ROWS)


def _dot_command(con: duckdb.DuckDBPyConnection, line: str) -> bool:
    """Handle `.tables`; return False for `.quit`/`.exit`."""
    command = line.strip().split()[0]
    if command in (".quit", ".exit"):
        return False
    if command == ".tables":
        run_sql(con, "select schema, name from (show all tables) order by 1, 2")
    else:
        print("commands: .tables, .quit", file=sys.stderr)
    return True


def repl(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history where available)
    print(f"{path} (read-only). End statements with ';'. .tables lists tables, .quit leaves.")
    buffer: list[str] = []
    while True:
        try:
            line = input(CONTINUE if buffer else PROMPT)
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print()
            buffer.clear()
            continue
        if not buffer and line.strip().startswith("."):
            if not _dot_command(con, line):
                return
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            try:
                run_sql(con, "\n".join(buffer))
            except duckdb.Error as error:
                print(f"error: {error}", file=sys.stderr)
            buffer.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make query", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--command", help="run this SQL, print the result and exit")
    parser.add_argument("--path", type=Path, help="a DuckDB file to open (default: the published copy)")
    parser.add_argument("--live", action="store_true", help="open the warehouse runs write (blocks runs)")
    args = parser.parse_args(argv)
    paths = resolve_paths()
    published = AnalystCopy(root=str(publish_root(paths.warehouse_path))).warehouse_path
    path = args.path or (paths.warehouse_path if args.live else published)
    if not path.exists():
        print(f"{path} does not exist yet: `make run` builds and publishes the warehouse", file=sys.stderr)
        return 2
    with duckdb.connect(str(path), read_only=True) as con:
        if args.command:
            try:
                run_sql(con, args.command)
            except duckdb.Error as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
            return 0
        repl(con, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
