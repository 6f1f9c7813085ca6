"""Runs the DuckDB queries of docs/export.md on an export and prints their rows as JSON.

Used by tests/export.rs: `python3 tests/export_duckdb.py docs/export.md DIR parquet|ndjson`.
Each query in the doc follows a `<!-- query: NAME -->` line; `DIR` in it is replaced by the
export folder. For NDJSON, `read_parquet('…/*.parquet', …)` becomes `read_json('…/*.ndjson', …)`.
Exits 3, saying why, when the `duckdb` package cannot be imported (.ci/run installs it).
"""

import json
import re
import sys

try:
    import duckdb
except ImportError as e:  # the Rust test skips with this message
    print(f"duckdb is not installed ({e}); `python3 -m pip install duckdb` to run this test")
    sys.exit(3)

doc, folder, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(doc, encoding="utf-8").read()
queries = re.findall(r"<!-- query: (\w+) -->\s*```sql\n(.*?)```", text, re.S)
if not queries:
    print("no queries found in " + doc)
    sys.exit(1)
con = duckdb.connect()
out = {}
for name, sql in queries:
    sql = sql.replace("DIR", folder)
    if fmt == "ndjson":
        sql = re.sub(
            r"read_parquet\('([^']*)\*\.parquet', hive_partitioning = true\)",
            r"read_json('\1*.ndjson', hive_partitioning = true, format = 'newline_delimited')",
            sql,
        )
    rel = con.sql(sql)
    out[name] = {"columns": rel.columns, "rows": rel.fetchall()}
print(json.dumps(out, default=str))
