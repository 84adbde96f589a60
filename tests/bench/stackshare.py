#!/usr/bin/env python3
"""stackshare.py [-b BINDIR] FILE...: how much of each profile's stacks a
representation sharing call-path prefixes would leave to compare.

The aggregator merges a profile into its window by comparing every frame
of every stack (tests/bench/HISTORY.md, "The aggregator's steps"). A
representation in which each distinct call path from the root is one node
would compare each node once instead. For each file this prints, from
profpipe-decoder --format json: the stacks, their frames, the distinct
root-first prefixes of those stacks (the nodes such a tree would have),
and frames / nodes, the most such a tree could cut the frames compared.
"""

import argparse
import json
import os
import subprocess
import sys


def share(decoder, path):
    p = subprocess.run([decoder, "--format", "json", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("stackshare: %s: %s" % (path, p.stderr.strip()))
    stacks = json.loads(p.stdout)["stacks"]
    frames = 0
    # Stacks that differ only by labels share their paths.
    nodes = set()
    for s in stacks:
        path_ids = []
        # leaf first in the output: walk from the root
        for f in reversed(s["frames"]):
            path_ids.append((f["name"], f["file"], f["line"]))
            nodes.add(tuple(path_ids))
        frames += len(s["frames"])
    return len(stacks), frames, len(nodes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-b", "--bin", default="bin")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    decoder = os.path.join(a.bin, "profpipe-decoder")
    print("| file | stacks | frames | distinct call paths | frames ÷ paths |")
    print("|---|---|---|---|---|")
    for f in a.files:
        n, frames, nodes = share(decoder, f)
        ratio = frames / nodes if nodes else 0.0
        print("| %s | %d | %d | %d | %.2f |"
              % (os.path.basename(f), n, frames, nodes, ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
