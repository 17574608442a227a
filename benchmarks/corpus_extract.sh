#!/usr/bin/env bash
# Extract each corpus app's listed convex dirs (plus config files on their paths) at the recorded commit.
set -euo pipefail
python3 - <<'PY'
import json, subprocess, os, pathlib
root = pathlib.Path("/work/corpus")
for app in json.load(open("/work/shared/corpus.json")):
    name = app["repo"].replace("/", "+")
    git = f"/work/.mirror/{name}/repo"
    dest = root / name
    if dest.exists():
        continue
    dest.mkdir(parents=True)
    dirs = app["convex_dirs"]
    if app["repo"] == "get-convex/convex-evals":
        dirs = ["evals", "evalScores/convex"]
    # config files at the repo root and on the path to each dir (convex.json, package.json, tsconfig)
    tree = subprocess.run(["git", "-C", git, "ls-tree", "-r", "--name-only", app["commit"]], capture_output=True, text=True, check=True).stdout.split("\n")
    extra = []
    for d in dirs:
        parts = d.split("/")
        for i in range(len(parts)):
            base = "/".join(parts[:i])
            for f in ("convex.json", "package.json", "tsconfig.json"):
                p = f"{base}/{f}" if base else f
                if p in tree:
                    extra.append(p)
    paths = sorted(set(dirs + extra))
    ar = subprocess.run(["git", "-C", git, "archive", app["commit"], *paths], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=ar, check=True)
    print(name, paths)
PY
