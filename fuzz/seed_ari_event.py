#!/usr/bin/env python3
"""Writes corpus/ari_event/: one recorded WebSocket message per event type from the ARI fixtures."""
import glob
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "ari_event")
os.makedirs(out, exist_ok=True)
seen = set()
for path in sorted(glob.glob(os.path.join(here, "..", "testdata", "asterisk-22", "ari", "*.jsonl"))):
    for line in open(path):
        entry = json.loads(line)
        if entry["kind"] != "ws":
            continue
        kind = entry["message"]["type"]
        if kind in seen:
            continue
        seen.add(kind)
        with open(os.path.join(out, kind + ".json"), "w") as f:
            json.dump(entry["message"], f)
print(f"{len(seen)} seeds in {out}")
