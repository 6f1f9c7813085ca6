"""DuckDB over an export vs `report summary` and `report endpoints` (JSON) of the same RUN.json.

Usage: `python3 tests/export_duckdb_compare.py AUDITSCOPE RUN.json EXPORT_DIR` (after
`AUDITSCOPE export RUN.json --out EXPORT_DIR`). Prints each comparison; exits 1 when the request
count, the attribution counts or the per-operation hits differ. Used for BENCHMARKS.md at 902k
requests (too big for a test)."""
import json, subprocess, sys, time
import duckdb
bin_, run, wh = sys.argv[1], sys.argv[2], sys.argv[3]
summary = json.loads(subprocess.run([bin_, "report", "summary", run, "--format", "json"], capture_output=True, check=True).stdout)
endpoints = json.loads(subprocess.run([bin_, "report", "endpoints", run, "--format", "json"], capture_output=True, check=True).stdout)
con = duckdb.connect()
req = f"read_parquet('{wh}/requests/**/*.parquet', hive_partitioning = true)"
t = time.time()
n = con.sql(f"SELECT count(*) FROM {req}").fetchall()[0][0]
attr = dict(con.sql(f"SELECT attribution, count(*) FROM {req} GROUP BY attribution").fetchall())
hits = {r[0]: r[1:] for r in con.sql(f"""SELECT operation_id, count(*), count(DISTINCT spec),
  count(*) FILTER (WHERE attribution='ua'), count(*) FILTER (WHERE attribution='window'),
  count(*) FILTER (WHERE attribution='ambiguous'), count(*) FILTER (WHERE attribution='none')
  FROM {req} WHERE operation_id IS NOT NULL GROUP BY operation_id""").fetchall()}
ftype = con.sql(f"SELECT typeof(frames) FROM {req} LIMIT 1").fetchall()[0][0]
elapsed = time.time() - t
dups = 0
run_doc = json.load(open(run))
from collections import Counter
dups = sum(1 for v in Counter(sp["name"] for sp in run_doc["specs"]).values() if v > 1)
want_attr = {k: v for k, v in summary["attribution"].items() if v}
want_hits = {e["endpoint"]: (e["hits"], e["specs"], e["by_attribution"]["ua"], e["by_attribution"]["window"],
             e["by_attribution"]["ambiguous"], e["by_attribution"]["none"]) for e in endpoints["endpoints"]}
print(f"duckdb {duckdb.__version__}, queries {elapsed:.2f} s")
print(f"requests: duckdb {n}, report summary {summary['requests']}: {'same' if n == summary['requests'] else 'DIFFERENT'}")
print(f"attribution: duckdb {attr}, report summary {want_attr}: {'same' if attr == want_attr else 'DIFFERENT'}")
strip = lambda d: {k: (v[0],) + tuple(v[2:]) for k, v in d.items()}
same = strip(hits) == strip(want_hits)
spec_diff = sorted(k for k in hits if k in want_hits and hits[k][1] != want_hits[k][1])
print("largest spec-count difference:", max([want_hits[k][1] - hits[k][1] for k in spec_diff], default=0))
print(f"distinct specs per operation differ for {len(spec_diff)} operations (the export names a spec by its text; report endpoints counts spec entries, and this run has {dups} names given to two entries)")
print(f"per-operation (hits, ua, window, ambiguous, none): {len(hits)} operations in duckdb, {len(want_hits)} in report endpoints: {'same' if same else 'DIFFERENT'}")
if not same:
    for k in sorted(set(hits) | set(want_hits)):
        if strip(hits).get(k) != strip(want_hits).get(k):
            print("  ", k, hits.get(k), want_hits.get(k)); break
print(f"frames column type: {ftype}")
sys.exit(0 if (same and n == summary['requests'] and attr == want_attr) else 1)
