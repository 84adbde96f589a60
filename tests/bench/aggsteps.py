"""The aggregator's steps, one process, no pipeline: runs bench_aggregate
on the bench files and formats its table for tests/bench/run. What it
shows is where the aggregator's CPU per profile goes, which with the
decoders' decides how far 2 decoders can scale on 2 cores."""

import os
import subprocess


def agg_steps(bench_dir, files, seconds):
    """bench_aggregate's rows: (file, stacks, frames, unpack_us, delta_us,
    window_us), one per file."""
    cmd = [os.path.join(bench_dir, "bench_aggregate"), str(seconds)] + files
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("bench: %s failed (exit %d): %s" % (
            " ".join(cmd[:2]), p.returncode, p.stderr.strip()))
    rows = []
    for line in p.stdout.splitlines():
        path, stacks, frames, _, unpack, delta, window = line.split("\t")
        rows.append((os.path.basename(path), int(stacks), int(frames),
                     float(unpack), float(delta), float(window)))
    return rows


def agg_table(rows, seconds, pipe_ms):
    """The table, and a line on how much of the aggregator's CPU per
    profile in the pipeline (pipe_ms) these steps are."""
    out = ["Aggregator steps, one process with no pipeline (`bench_aggregate`"
           ": each file packed as a decoder sends it, then, for %.1f s, "
           "unpacked and checked, delta'd against the previous one and "
           "merged into one window; CPU µs per profile):\n" % seconds]
    out.append("| file | stacks | frames | unpack + check | deltas | "
               "window | all three |")
    out.append("|---" * 7 + "|")
    for name, stacks, frames, u, d, w in rows:
        out.append("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |" % (
            name, stacks, frames, u, d, w, u + d + w))
    n = max(len(rows), 1)
    mean = [sum(r[k] for r in rows) / n for k in (3, 4, 5)]
    out.append("| mean | | | %.1f | %.1f | %.1f | %.1f |" % (
        mean[0], mean[1], mean[2], sum(mean)))
    out.append("")
    out.append("Of the %.2f ms of aggregator CPU a profile took in the "
               "pipeline with 2 decoders, these three steps are %.2f ms "
               "(the files' mean); the rest is receiving each Decoded, "
               "splicing its Result, the hand-offs and the runtime "
               "metrics.\n" % (pipe_ms, sum(mean) / 1e3))
    return out
