"""Check one round-5 writer file: python3 /work/round5/check.py /work/round5/w5X.jsonl"""
import collections, datetime, json, sys
CODES = ["education", "health", "technology", "engineering", "covid19", "administration", "other"]
path = sys.argv[1]
prefix = path.rsplit("/", 1)[-1].split(".")[0]
rows, errors = [], []
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    if not line.strip():
        continue
    try:
        r = json.loads(line)
    except json.JSONDecodeError as e:
        errors.append(f"line {n}: invalid JSON: {e}"); continue
    rows.append(r)
    for k in ("id", "title", "description", "unit", "author", "submitted_at", "fields", "primary_field", "rewrite_of", "near_miss_of"):
        if k not in r: errors.append(f"line {n}: missing key {k}")
    if not str(r.get("title", "")).strip(): errors.append(f"line {n}: empty title")
    f = r.get("fields") or []
    if not f or any(x not in CODES for x in f) or len(set(f)) != len(f): errors.append(f"line {n}: bad fields {f}")
    if f and r.get("primary_field") != f[0]: errors.append(f"line {n}: primary_field must equal fields[0]")
    if not str(r.get("id", "")).startswith(prefix + "-"): errors.append(f"line {n}: id must start with {prefix}-")
    try:
        d = datetime.date.fromisoformat(r.get("submitted_at", ""))
        if not datetime.date(2022, 1, 8) <= d <= datetime.date(2023, 8, 31): errors.append(f"line {n}: date outside 2022-01-08..2023-08-31")
    except Exception:
        errors.append(f"line {n}: submitted_at must be YYYY-MM-DD")
ids = [r.get("id") for r in rows]
dup = [i for i, c in collections.Counter(ids).items() if c > 1]
if dup: errors.append(f"duplicate ids {dup}")
byid = {r.get("id"): r for r in rows}
for r in rows:
    for k in ("rewrite_of", "near_miss_of"):
        if r.get(k) and r[k] not in byid: errors.append(f"{r['id']}: {k} points to unknown id {r[k]} (link only to records of this file)")
    if r.get("rewrite_of") in byid:
        s = byid[r["rewrite_of"]]
        if s["fields"] != r["fields"] or s["author"] != r["author"] or s["unit"] != r["unit"]:
            errors.append(f"{r['id']}: a rewrite keeps its source's fields, author and unit")
prim = collections.Counter((r.get("fields") or ["?"])[0] for r in rows)
print(f"{len(rows)} records; primary: {dict(prim)}; two fields: {sum(len(r.get('fields') or [])>1 for r in rows)}; "
      f"title-only: {sum(not r.get('description') for r in rows)}; rewrites: {sum(bool(r.get('rewrite_of')) for r in rows)}; "
      f"near misses: {sum(bool(r.get('near_miss_of')) for r in rows)}")
print("\n".join(errors) if errors else "no errors")
sys.exit(1 if errors else 0)
