"""Warning-tier summary of convex-xray JSON runs: per rule, statements with >1 warning, scripts/tests share."""
import collections, glob, json, random, re, sys
prefix = sys.argv[1]
SCRIPT = re.compile(r"/(scripts?|migrations?|seeds?|tests?|__tests__)/|\.(test|spec)\.|seed", re.I)
tot = collections.Counter(); rows = []
for f in sorted(g for g in glob.glob(f"/tmp/cost/{prefix}-*.json") if not g.endswith("-sample.json")):
    app = f.split(f"{prefix}-", 1)[1][:-5]
    d = json.load(open(f))
    w = [x for x in d["diagnostics"] if x["severity"] == "warning"]
    c = collections.Counter(x["rule"] for x in w)
    st = collections.Counter((x["path"], x["line"]) for x in w)
    dup = sum(v - 1 for v in st.values() if v > 1)
    scripts = sum(1 for x in w if SCRIPT.search(x["path"]) or x.get("role", "production") != "production")
    print(f"{app[:28]:28} all={len(d['diagnostics']):4} warn={len(w):4} dup-stmt={dup:3} scripts/tests={scripts:3} {dict(c)}")
    tot["all"] += len(d["diagnostics"]); tot["warn"] += len(w); tot["dup"] += dup; tot["scripts"] += scripts
    for x in w: rows.append((app, x))
print("TOTAL", dict(tot))
if len(sys.argv) > 2:
    n = int(sys.argv[2]); rng = random.Random(13)
    by_app = collections.defaultdict(list)
    for app, x in rows: by_app[app].append(x)
    sample = []
    per = max(1, n // len(by_app))
    for app in sorted(by_app):
        xs = by_app[app]; rng.shuffle(xs); sample += [(app, x) for x in xs[:per]]
    json.dump([{"app": a, **x} for a, x in sample], open(f"/tmp/cost/{prefix}-sample.json", "w"), indent=1)
    print("sampled", len(sample))
