"""Runs statements and queries on a current ClickHouse engine (chdb, in
process) and prints each query's TSV result as JSON.

stdin: {"statements": [sql, ...], "queries": {name: sql, ...}}
stdout: {name: tsv, ...}; exits non-zero with the failing SQL on error.
"""
import json
import sys
import tempfile

from chdb import session

job = json.load(sys.stdin)
s = session.Session(tempfile.mkdtemp())
s.query("CREATE DATABASE IF NOT EXISTS cc ENGINE = Atomic")
s.query("USE cc")
for stmt in job["statements"]:
    try:
        s.query(stmt)
    except Exception as e:  # report which statement failed, then fail
        sys.exit(f"statement failed on {s.query('SELECT version()', 'TSV')}: {e}\n{stmt}")
out = {}
for name, sql in job["queries"].items():
    try:
        out[name] = str(s.query(sql, "TSV"))
    except Exception as e:
        sys.exit(f"query {name} failed: {e}\n{sql}")
json.dump(out, sys.stdout)
