"""The profiles make bench, make soak and their tests feed the decoders:
the large synthetic ones and the real biggo service's, pprof only. One list,
so that a soak and a bench run measure the same mix."""

import glob
import os


def bench_files(corpus):
    """The bench files under corpus, sorted: synth/*-large*, then
    real/biggo-*, leaving out the text dumps beside them."""
    files = sorted(glob.glob(os.path.join(corpus, "synth", "*-large*")))
    files += sorted(glob.glob(os.path.join(corpus, "real", "biggo-*")))
    return [f for f in files if f.endswith(".pb.gz")]
