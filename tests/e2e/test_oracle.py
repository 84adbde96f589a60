"""The decoder against Go's own parser (tests/oracle/pprof-folded.go, built
on github.com/google/pprof/profile): the same folded stacks and the same
`--format json` on every corpus profile, and the same verdict, and where
both accept the same stacks, on damaged ones, on ones changed field by
field (pprof_mutate.py), and on hand-made ones that take each of Go's
rules for labels and for the tables (pprof_build.py).

The damaged profiles are made here, the same ones every run: real profiles
cut short, with bytes changed, and with fields Go's parser reads in its own
way (a second period_type, field numbers no message uses). Go is the
reference for what is valid: where it accepts a profile the decoder must
too, and print the same stacks; where it refuses one, so must the decoder.
Two differences are by design, and only they are let through here (the
README lists the others: the legacy text formats and zstd, which do not
arise from damaging an uncompressed profile, two about gzip, which
test_gzip checks, and sums past int64, which test_sum_overflow checks):

- a profile without sample types is refused ("no sample types"): it has
  no value to aggregate. Go accepts one as long as it has no samples.
- the pipeline's strings are C strings, so a name with a NUL byte in it is
  cut there; Go keeps the rest. Profiles whose string table has a NUL are
  checked for the verdict only.
"""

import gzip
import json
import os
import random
import re
import subprocess
import tempfile
import unittest

from harness import BIN, BUILD, CORPUS, ROOT
from pprof_build import (FOLDED_CASES, LABEL_CASES, STRUCTURE_CASES, VARINT_CASES, S,
                         field_len, function, gzip_cases, label_profile,
                         location, many_locations, profile, read_varint,
                         sample, sample_type, varint, wire_type_cases)
from pprof_mutate import lengthened, mutants

ORACLE = os.path.join(BUILD, "pprof-folded")
DECODER = os.path.join(BIN, "profpipe-decoder")

# Small real profiles of every kind Go writes.
SOURCES = ["goapp-allocs", "goapp-block", "goapp-cpu", "goapp-goroutine",
           "goapp-heap", "goapp-mutex_delta", "goapp-threadcreate",
           "biggo-goroutine"]
FLIPS = 120  # byte changes per source profile
CUTS = 40    # truncations per source profile
MUTANTS = 400  # structural changes per source profile (test_mutated)


def top_strings(buf):
    """The top-level string table entries, or None if the top level does
    not read as protobuf (then the verdicts alone are compared)."""
    out, i = [], 0
    try:
        while i < len(buf):
            tag, i = read_varint(buf, i)
            wt = tag & 7
            if wt == 0:
                _, i = read_varint(buf, i)
            elif wt == 1:
                i += 8
            elif wt == 5:
                i += 4
            elif wt == 2:
                n, i = read_varint(buf, i)
                if tag >> 3 == 6:
                    out.append(buf[i:i + n])
                i += n
            else:
                return None
        return out if i == len(buf) else None
    except IndexError:
        return None


def expected_paths():
    """The path of every profile EXPECTED.tsv lists that the corpus has."""
    with open(os.path.join(CORPUS, "EXPECTED.tsv")) as f:
        names = [l.split("\t")[0] for l in f.read().splitlines()[1:] if l]
    return [os.path.join(CORPUS, d, n) for n in names
            for d in ("real", "synth")
            if os.path.exists(os.path.join(CORPUS, d, n))]


def real_profile(name):
    """The corpus's real profile name, unpacked."""
    with open(os.path.join(CORPUS, "real", name + ".pb.gz"), "rb") as f:
        return gzip.decompress(f.read())


def damaged():
    """(name, bytes) of every damaged profile, the same each run."""
    out = []
    for src in SOURCES:
        raw = real_profile(src)
        rng = random.Random(src)
        for _ in range(CUTS):
            n = rng.randrange(1, len(raw))
            out.append(("%s-cut%d" % (src, n), raw[:n]))
        for _ in range(FLIPS):
            b = bytearray(raw)
            pos = rng.randrange(len(b))
            b[pos] = rng.randrange(256)
            out.append(("%s-flip%d-%d" % (src, pos, b[pos]), bytes(b)))
        # Fields Go's parser reads in its own way, at the top level
        # (where any field may go): a second, empty period_type replaces
        # the first; fields numbered 0 and 2^30 are unknown, skipped.
        out.append((src + "-period-type-again", raw + b"\x5a\x00"))
        out.append((src + "-field0", b"\x00\x07" + raw))
        out.append((src + "-field2^30",
                    varint((1 << 30) << 3 | 2) + b"\x01x" + raw))
    return out


def run(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def verdicts(path):
    """Go's and the decoder's runs on the profile at path (the sample
    type names, and the folded stacks), and a line saying what each
    said."""
    go = run([ORACLE, "-types", path])
    ours = run([DECODER, "--format", "folded", path])
    why = "%s: Go %s, decoder %s" % (
        os.path.basename(path),
        go.stderr.decode(errors="replace").strip() or "accepts",
        ours.stderr.decode(errors="replace").strip() or "accepts")
    return go, ours, why


def label_key(label):
    return json.dumps(label, sort_keys=True)


def json_view(doc):
    """A `--format json` document, or the oracle's -json one, as what
    both must agree on: the header, and the values summed by (frames,
    labels). The decoder collapses samples with the same frames and label
    set, and sorts a set's labels; Go keeps every sample, and its labels
    in maps, which the oracle prints sorted by their JSON text. So both
    sides are grouped here by the frames (name, file, line) and the
    labels' JSON texts, sorted, and summed. Where Go names no default
    sample type (""), or one the profile does not have, the decoder
    prints the last one, as Go's pprof tool takes it. Strings are
    compared as they are: both sides write one U+FFFD per byte that is
    not UTF-8."""
    types = [t["type"] for t in doc["sample_types"]]
    dflt = doc["default_sample_type"]
    if (dflt == "" or dflt not in types) and types:
        dflt = types[-1]  # "" is Go's "none named", even beside a type ""
    stacks = {}
    for st in doc["stacks"]:
        key = (tuple((f["name"], f["file"], f["line"]) for f in st["frames"]),
               tuple(sorted(label_key(l) for l in st["labels"])))
        have = stacks.get(key)
        stacks[key] = (list(st["values"]) if have is None
                       else [a + b for a, b in zip(have, st["values"])])
    return {"sample_types": doc["sample_types"], "default_sample_type": dflt,
            "period_type": doc["period_type"], "period": doc["period"],
            "duration_ns": doc["duration_ns"], "time_ns": doc["time_ns"],
            "stacks": stacks}


def json_runs(path):
    """Go's and the decoder's JSON runs on the profile at path."""
    return (run([ORACLE, "-json", path]),
            run([DECODER, "--format", "json", path]))


def json_views(path):
    """(Go's view, the decoder's view, the decoder's count of stacks) of
    the profile at path."""
    go, ours = json_runs(path)
    if go.returncode != 0 or ours.returncode != 0:
        raise AssertionError("%s: oracle %d (%s), decoder %d (%s)" % (
            path, go.returncode, go.stderr.decode(errors="replace").strip(),
            ours.returncode, ours.stderr.decode(errors="replace").strip()))
    doc = json.loads(ours.stdout)
    return json_view(json.loads(go.stdout)), json_view(doc), len(doc["stacks"])


class OracleTest(unittest.TestCase):
    def assertSameJSON(self, path, name):
        """The decoder's JSON view is Go's; Go's, returned."""
        return self.assertSameViews(*json_views(path), name)

    def assertSameViews(self, want, got, n, name):
        """got, the decoder's view with its n stacks, is Go's view want;
        want, returned."""
        self.assertEqual(
            {k: v for k, v in got.items() if k != "stacks"},
            {k: v for k, v in want.items() if k != "stacks"}, name)
        only_go = [k for k in want["stacks"] if k not in got["stacks"]]
        only_ours = [k for k in got["stacks"] if k not in want["stacks"]]
        self.assertEqual((only_go[:3], only_ours[:3]), ([], []), name)
        self.assertEqual(got["stacks"], want["stacks"], name)
        # Collapsed: no two of the decoder's stacks are alike to Go.
        self.assertEqual(n, len(got["stacks"]), name + ": stacks alike")
        return want

    def test_json_corpus(self):
        """Every protobuf profile EXPECTED.tsv lists: the decoder's JSON
        holds Go's header and, frame by frame and label by label, Go's
        samples."""
        paths = [p for p in expected_paths() if not p.endswith(".txt")]
        self.assertGreater(len(paths), 15)
        labelled = 0
        for path in paths:
            want = self.assertSameJSON(path, os.path.basename(path))
            labelled += any(k[1] for k in want["stacks"])
        # Go's heap and allocs profiles label their samples.
        self.assertGreater(labelled, 3)

    def assertGoVerdict(self, path, name):
        """The decoder refuses what Go refuses, and accepts what Go
        accepts with Go's JSON. True if both accept."""
        go, ours, why = verdicts(path)
        why = name + ": " + why
        self.assertIn(go.returncode, (0, 1), why)
        self.assertEqual(ours.returncode, go.returncode, why)
        if go.returncode == 0:
            self.assertSameJSON(path, name)
        return go.returncode == 0

    def assertCasesAsGo(self, cases, build):
        accepted = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "case")
            for name, case in cases.items():
                with open(path, "wb") as f:
                    f.write(build(case))
                accepted += self.assertGoVerdict(path, name)
        # The cases lie on both sides of Go's line.
        self.assertGreater(accepted, 5)
        self.assertGreater(len(cases) - accepted, 2)

    def test_json_labels(self):
        """Labels the way Go's parser keeps them, case by case."""
        self.assertCasesAsGo(LABEL_CASES, label_profile)
        # The cases do reach Go's rules: the oracle drops the key-only
        # label and keeps a str over a num.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "labels.pb")
            with open(path, "wb") as f:
                f.write(label_profile(LABEL_CASES["key only: dropped"]))
            self.assertEqual([k[1] for k in json_views(path)[0]["stacks"]], [()])
            with open(path, "wb") as f:
                f.write(label_profile(LABEL_CASES["str and num: the str"]))
            self.assertEqual([k[1] for k in json_views(path)[0]["stacks"]],
                             [(label_key({"key": "k", "str": "v"}),)])

    def test_names_not_utf8(self):
        """Names and label values that are not UTF-8, or only just are:
        the decoder's JSON gives the strings Go's does, one U+FFFD per
        byte that starts no sequence (a sequence cut short, a surrogate,
        an overlong form, a code point past U+10FFFF, a lone continuation
        byte), with control bytes, quotes and what Go escapes for HTML."""
        tricky = [b"\xe2\x82", b"\xe2\x82z", b"\xf0\x9f\x98", b"\xe2",
                  b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xc0\xaf",
                  b"\xe0\x80\xaf", b"\xe0\xa0\x80", b"\xf0\x80\x80\xaf",
                  b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
                  b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xff\xfe", b"\x80\xbf",
                  b"\xc3\xa9\xc3", b"\xe2\x80\xa8<&>", b"\x01\x1f\x7f",
                  b'"\\'
                  ]
        rng = random.Random(7)
        alphabet = [0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed,
                    0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x41, 0x0a]
        tricky += [bytes(rng.choice(alphabet)
                         for _ in range(rng.randint(1, 8)))
                   for _ in range(300)]
        # A unique ASCII prefix each, so that no two print alike.
        names = [b"n%d:" % i + t for i, t in enumerate(tricky)]
        strings = [b"", b"samples", b"count", b"main.go", b"k"] + names
        first = 5
        data = (sample_type(1, 2) +
                b"".join(sample([i + 1], (i + 1,), [[(1, 4), (2, first + i)]])
                         for i in range(len(names))) +
                b"".join(function(i + 1, first + i, 3)
                         for i in range(len(names))) +
                b"".join(location(i + 1, ((i + 1, 10),))
                         for i in range(len(names))) +
                b"".join(field_len(6, t) for t in strings))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "names.pb")
            with open(path, "wb") as f:
                f.write(data)
            want = self.assertSameJSON(path, "names not UTF-8")
        self.assertEqual(len(want["stacks"]), len(names))
        frames = [k[0][0][0] for k in want["stacks"]]
        # The cases reach the rule: Go prints two U+FFFD for the first.
        self.assertIn("n0:\ufffd\ufffd", frames)
        self.assertIn("n3:\ufffd", frames)

    def test_structures(self):
        """Go's checks of the tables (ids, references, string indices,
        fields given twice), case by case: the same verdict, and where
        both accept, the same JSON."""
        self.assertCasesAsGo(STRUCTURE_CASES, lambda data: data)

    def test_folded_cases(self):
        """Folded output where printing and summing have rules of their
        own (pprof_build.FOLDED_CASES): Go's stacks for every sample type
        and for the default one, except a column whose sum overflows,
        which the decoder refuses, naming it."""
        compared = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "case.pb")
            for name, (data, overflow) in FOLDED_CASES.items():
                with open(path, "wb") as f:
                    f.write(data)
                types = run([ORACLE, "-types", path]).stdout.decode().split("\n")[:-1]
                self.assertGreater(len(types), 0, name)
                dflt = json.loads(run([ORACLE, "-json", path]).stdout)["default_sample_type"]
                if dflt not in types or dflt == "":
                    dflt = types[-1]
                for t in types + [None]:
                    col = dflt if t is None else t
                    sel = [] if t is None else ["--sample-type", t]
                    want = run([ORACLE, "-default", path] if t is None else [ORACLE, path, t])
                    got = run([DECODER, "--format", "folded"] + sel + [path])
                    what = "%s, sample type %s" % (name, "(default)" if t is None else t)
                    self.assertEqual(want.returncode, 0, what)
                    if col in overflow:
                        self.assertEqual(got.returncode, 1, what)
                        self.assertIn(b"a folded sum of %s overflows int64" % col.encode(),
                                      got.stderr, what)
                        continue
                    self.assertEqual(sorted(got.stdout.splitlines()),
                                     sorted(want.stdout.splitlines()), what)
                    self.assertNotEqual(want.stdout, b"", what)
                    compared += 1
        self.assertEqual(compared, 6)

    def test_wire_types(self):
        """Every field of every message with every wire type: Go's
        verdict, and Go's JSON where both accept."""
        self.assertCasesAsGo(wire_type_cases(), lambda data: data)

    def test_varints(self):
        """Varints longer than they need, at the edges: up to Go's 10
        bytes, bits past 64 dropped, 11 bytes refused."""
        self.assertCasesAsGo(VARINT_CASES, lambda data: data)

    def test_lengthened(self):
        """Real profiles of every kind with every varint in them (tags,
        lengths, values, packed location ids) written 1, 3 and 9 bytes
        longer than it needs: Go's JSON, and Go's folded stacks for
        every sample type."""
        compared = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "long.pb")
            for src in SOURCES:
                for extra in (1, 3, 9):
                    name = "%s, varints %d bytes longer" % (src, extra)
                    with open(path, "wb") as f:
                        f.write(lengthened(real_profile(src), extra))
                    go, ours, why = verdicts(path)
                    self.assertEqual((go.returncode, ours.returncode), (0, 0),
                                     name + ": " + why)
                    for t in go.stdout.split(b"\n")[:-1]:
                        want = run([ORACLE, path, t])
                        got = run([DECODER, "--format", "folded",
                                   "--sample-type", t, path])
                        self.assertEqual(
                            sorted(got.stdout.splitlines()),
                            sorted(want.stdout.splitlines()),
                            "%s, sample type %s" % (name, t.decode()))
                        self.assertNotEqual(want.stdout, b"", name)
                        compared += 1
                    self.assertSameJSON(path, name)
        self.assertGreaterEqual(compared, 3 * len(SOURCES))

    def test_portable(self):
        """--portable (no BMI2 pext, the way other CPUs read) gives the
        same JSON, verdict and message as the default way, on the corpus,
        the hand-made cases and the lengthened profiles. Where this CPU
        has no fast pext both ways are the portable one, and the
        unit test test_decode_portable says it skipped."""
        inputs = [(n, d) for n, d in STRUCTURE_CASES.items()]
        inputs += [(n, d) for n, d in VARINT_CASES.items()]
        inputs += [("%s +%d" % (src, extra), lengthened(real_profile(src), extra))
                   for src in SOURCES for extra in (1, 3, 9)]
        for path in expected_paths():
            with open(path, "rb") as f:
                inputs.append((os.path.basename(path), f.read()))
        refused = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "case")
            for name, data in inputs:
                with open(path, "wb") as f:
                    f.write(data)
                want = run([DECODER, "--format", "json", path])
                got = run([DECODER, "--portable", "--format", "json", path])
                self.assertEqual((got.returncode, got.stdout, got.stderr),
                                 (want.returncode, want.stdout, want.stderr), name)
                refused += want.returncode != 0
        self.assertGreater(len(inputs), 100)
        self.assertGreater(refused, 10)
        self.assertGreater(len(inputs) - refused, 50)

    def test_many_locations(self):
        """Location ids of 1 to 4 bytes, each edge of each length, read in
        the decoder's loop over dense ids (the 3-byte squeeze of the way
        without pext, and the 4-byte ids only a profile of more than 2^21
        locations has), both ways, against Go's JSON."""
        n = (1 << 21) + 64
        edges = [1, 2, 127, 128, 16383, 16384, (1 << 21) - 1, 1 << 21,
                 (1 << 21) + 1, n]
        stacks = [edges, edges[::-1], edges[3:] + edges[:3],
                  [16384] * 9, [n, 1] * 5]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "many-locations.pb")
            with open(path, "wb") as f:
                f.write(many_locations(n, stacks))
            want = self.assertSameJSON(path, "many locations")
            got = run([DECODER, "--portable", "--format", "json", path])
            self.assertEqual(got.returncode, 0, got.stderr)
            doc = json.loads(got.stdout)
            self.assertSameViews(want, json_view(doc), len(doc["stacks"]),
                                 "many locations, --portable")
        lines = {tuple(f[2] for f in k[0]) for k in want["stacks"]}
        self.assertEqual(lines, {tuple(st) for st in stacks})

    def test_sum_overflow(self):
        """Deliberate: samples of one stack whose values sum past int64
        are refused (the decoder sums them exactly; Go keeps samples
        apart); of two stacks, taken."""
        one = profile(S([1], (2 ** 62,)), S([1], (2 ** 62,)))
        two = profile(S([1], (2 ** 62,)), S([2], (2 ** 62,)))
        low = profile(S([1], (-2 ** 63,)), S([1], (-1,)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sum.pb")
            for name, data, want in (("one stack", one, 1),
                                     ("two stacks", two, 0),
                                     ("one stack, below", low, 1)):
                with open(path, "wb") as f:
                    f.write(data)
                go, ours, why = verdicts(path)
                self.assertEqual((go.returncode, ours.returncode), (0, want),
                                 name + ": " + why)
                if want:
                    self.assertIn(b"sample 1: a value overflows int64 when summed",
                                  ours.stderr)

    def test_gzip(self):
        """gzip headers and members: Go's verdict, but for the two
        deliberate differences, each the way the README says."""
        raw = real_profile("goapp-heap")
        differ = {"reserved flags": (0, 1), "zero bytes after": (1, 0)}
        cases = gzip_cases(raw)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "body.gz")
            for name, want in differ.items():
                with open(path, "wb") as f:
                    f.write(cases.pop(name))
                go, ours, why = verdicts(path)
                self.assertEqual((go.returncode, ours.returncode), want,
                                 name + ": " + why)
        self.assertCasesAsGo(cases, lambda data: data)

    def test_corpus(self):
        """Every profile EXPECTED.tsv lists: the decoder's folded stacks
        are Go's, for every sample type."""
        present = expected_paths()  # no name is in both directories
        r = run([os.path.join(ROOT, "tests", "oracle", "compare-folded"),
                 DECODER, ORACLE])
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        m = re.search(r"^oracle: (\d+) agree, (\d+) differ$", out, re.M)
        self.assertIsNotNone(m, out)
        self.assertEqual((int(m.group(1)), int(m.group(2))), (len(present), 0))

    def test_damaged(self):
        """Damaged profiles: Go's verdict, and where both accept, Go's
        period type and period, and its stacks for every sample type with
        a plain, unique name."""
        counts = {"both refuse": 0, "both accept": 0,
                  "stacks compared": 0, "JSON compared": 0,
                  "no sample types": 0, "NUL in a string": 0}
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in damaged():
                path = os.path.join(tmp, name + ".pb")
                with open(path, "wb") as f:
                    f.write(data)
                go, ours, why = verdicts(path)
                self.assertIn(go.returncode, (0, 1), why)
                self.assertIn(ours.returncode, (0, 1), why)
                if go.returncode == 1:
                    self.assertEqual(ours.returncode, 1, why)
                    counts["both refuse"] += 1
                    continue
                if ours.returncode == 1 and go.stdout == b"":
                    self.assertTrue(ours.stderr.rstrip().endswith(b": no sample types"), why)
                    counts["no sample types"] += 1
                    continue
                self.assertEqual(ours.returncode, 0, why)
                counts["both accept"] += 1
                strings = top_strings(data)
                if strings is None or any(b"\0" in s for s in strings):
                    counts["NUL in a string"] += strings is not None
                    continue
                types = go.stdout.split(b"\n")[:-1]
                for t in types:
                    if types.count(t) != 1 or not re.fullmatch(rb"[\x21-\x7e]+", t):
                        continue
                    want = run([ORACLE, path, t])
                    got = run([DECODER, "--format", "folded", "--sample-type", t, path])
                    self.assertEqual((want.returncode, got.returncode), (0, 0), why)
                    self.assertEqual(sorted(got.stdout.splitlines()),
                                     sorted(want.stdout.splitlines()),
                                     "%s, sample type %s" % (name, t.decode()))
                    counts["stacks compared"] += 1
                self.assertSameJSON(path, name)
                counts["JSON compared"] += 1
        print("\n    damaged profiles: %s" % ", ".join(
            "%s %d" % kv for kv in counts.items()))
        # The damage must leave both kinds of verdict to compare.
        self.assertGreater(counts["both refuse"], 50)
        self.assertGreater(counts["stacks compared"], 50)
        self.assertGreater(counts["JSON compared"], 50)

    def test_mutated(self):
        """Profiles changed by their structure (pprof_mutate.py), every
        length right: Go's verdict, and where both accept, Go's JSON; but
        for the differences the README lists, each counted."""
        counts = {"both refuse": 0, "JSON compared": 0, "no sample types": 0,
                  "sum past int64": 0, "NUL in a string": 0}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "mutant.pb")
            for src in SOURCES:
                for what, data in mutants(real_profile(src), src, MUTANTS):
                    with open(path, "wb") as f:
                        f.write(data)
                    go, ours = json_runs(path)
                    why = "%s (%s): Go %s, decoder %s" % (
                        src, what,
                        go.stderr.decode(errors="replace").strip() or "accepts",
                        ours.stderr.decode(errors="replace").strip() or "accepts")
                    self.assertIn(go.returncode, (0, 1), why)
                    if go.returncode == 1:
                        self.assertEqual(ours.returncode, 1, why)
                        counts["both refuse"] += 1
                        continue
                    err = ours.stderr.rstrip()
                    if ours.returncode == 1 and err.endswith(b": no sample types"):
                        self.assertEqual(json.loads(go.stdout)["sample_types"], [], why)
                        counts["no sample types"] += 1
                        continue
                    if ours.returncode == 1 and err.endswith(b"overflows int64 when summed"):
                        counts["sum past int64"] += 1
                        continue
                    self.assertEqual(ours.returncode, 0, why)
                    strings = top_strings(data)
                    if strings is None or any(b"\0" in s for s in strings):
                        counts["NUL in a string"] += 1
                        continue
                    doc = json.loads(ours.stdout)
                    self.assertSameViews(json_view(json.loads(go.stdout)),
                                         json_view(doc), len(doc["stacks"]), why)
                    counts["JSON compared"] += 1
        print("\n    mutated profiles: %s" % ", ".join(
            "%s %d" % kv for kv in counts.items()))
        self.assertGreater(counts["both refuse"], 100)
        self.assertGreater(counts["JSON compared"], 500)


if __name__ == "__main__":
    unittest.main()
