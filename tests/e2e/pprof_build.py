"""Profiles written by hand, byte by byte (uncompressed profile.proto),
for checking the decoder against Go's parser where real profiles never go:
LABEL_CASES take each of Go's rules for a sample's labels, and
STRUCTURE_CASES each of the checks Go makes of the tables (ids, string
indices, references, fields given twice) on both sides of the line.

Field numbers are profile.proto's: Profile 1 sample_type, 2 sample,
3 mapping, 4 location, 5 function, 6 string_table, 7 drop_frames,
8 keep_frames, 9 time_nanos, 10 duration_nanos, 11 period_type,
12 period, 13 comment, 14 default_sample_type; Sample 1 location_id,
2 value, 3 label; Label 1 key, 2 str, 3 num, 4 num_unit; Location 1 id,
2 mapping_id, 3 address, 4 line, 5 is_folded; Line 1 function_id,
2 line; Function 1 id, 2 name, 3 system_name, 4 filename, 5 start_line;
Mapping 1 id, 2 memory_start, 3 memory_limit, 5 filename, 6 build_id.

gzip_cases wraps a profile in gzip members (RFC 1952) written the same
way: every header field, several members, and damage around them.
"""

import struct
import zlib


def varint(v):
    """v as a protobuf varint; a negative v as int64 is written."""
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def long_varint(v, extra):
    """v as a varint written extra bytes longer than it needs (at most
    10 bytes in all, as many as Go reads)."""
    out = bytearray(varint(v))
    extra = min(extra, 10 - len(out))
    if extra > 0:
        out[-1] |= 0x80
        out += b"\x80" * (extra - 1) + b"\x00"
    return bytes(out)


def ten_bytes(v, last):
    """v's low 63 bits as a 10-byte varint whose last byte is last: Go
    keeps bit 63 from it (last & 1) and drops the rest."""
    return bytes((v >> (7 * i)) & 0x7F | 0x80 for i in range(9)) + bytes([last])


def read_varint(buf, i):
    """The varint at buf[i]: (its value, where the next field starts)."""
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def field_len(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_int(num, v):
    return varint(num << 3) + varint(v)


def packed(values):
    return b"".join(varint(v) for v in values)


# The string table of every profile here; [0] must be "".
STRINGS = ["", "samples", "count", "main.f", "main.go", "main.g", "bin",
           "build-id", "k", "v", "u"]
K, V, U = 8, 9, 10  # a label's key, str and unit


def string_table(strings=STRINGS):
    return b"".join(field_len(6, s.encode()) for s in strings)


def sample_type(typ=1, unit=2):
    return field_len(1, field_int(1, typ) + field_int(2, unit))


def sample(locs, values=(1,), labels=()):
    """labels: each a list of (Label field, value)."""
    out = field_len(1, packed(locs)) + field_len(2, packed(values))
    for label in labels:
        out += field_len(3, b"".join(field_int(f, v) for f, v in label))
    return field_len(2, out)


def function(fid, name=3, filename=4, system_name=0, start_line=0):
    out = field_int(1, fid) + field_int(2, name)
    if system_name:
        out += field_int(3, system_name)
    out += field_int(4, filename)
    if start_line:
        out += field_int(5, start_line)
    return field_len(5, out)


def location(lid, lines=((1, 10),), mapping=0, address=0):
    """lines: (function id, line number), leaf first."""
    out = field_int(1, lid)
    if mapping:
        out += field_int(2, mapping)
    if address:
        out += field_int(3, address)
    for fid, line in lines:
        out += field_len(4, field_int(1, fid) + field_int(2, line))
    return field_len(4, out)


def mapping(mid, filename=6, build_id=7):
    return field_len(3, field_int(1, mid) + field_int(2, 0x1000) +
                     field_int(3, 0x2000) + field_int(5, filename) +
                     field_int(6, build_id))


# Functions 1 (main.f) and 2 (main.g), locations 1 and 2, one line each.
TABLES = function(1) + function(2, 5) + location(1) + location(2, ((2, 20),))


def profile(*parts, strings=STRINGS):
    """One sample type, the given parts, TABLES and the string table."""
    return sample_type() + b"".join(parts) + TABLES + string_table(strings)


# The label profiles' strings: STRINGS, then the texts of K, V and U
# again, and "" twice more, as a writer that repeats strings has them.
K2, V2, U2, E1, E2 = range(len(STRINGS), len(STRINGS) + 5)
LABEL_STRINGS = STRINGS + ["k", "v", "u", "", ""]


def label_profile(samples):
    """A profile whose samples, each on location 1 with value i + 1, carry
    the given labels (each sample a list of labels)."""
    return profile(*[sample([1], (i + 1,), labels)
                     for i, labels in enumerate(samples)],
                   strings=LABEL_STRINGS)


# Go's rules for a sample's labels (profile/encode.go, postDecode), one
# profile each.
LABEL_CASES = {
    "key only: dropped": [[[(1, K)]], []],
    "str and num: the str": [[[(1, K), (2, V), (3, 7)]]],
    "str and unit: the str": [[[(1, K), (2, V), (4, U)]]],
    "str with other nums and units: one stack": [
        [[(1, K), (2, V), (3, 7)]], [[(1, K), (2, V), (3, 8)]],
        [[(1, K), (2, V), (4, U)]], [[(1, K), (2, V)]]],
    "str with a unit out of range: not read": [[[(1, K), (2, V), (4, 99)]]],
    "num 0 with a unit: kept": [[[(1, K), (3, 0), (4, U)]]],
    "negative num": [[[(1, K), (3, -7)]]],
    "one key, a unit on the first num only": [
        [[(1, K), (3, 1), (4, U)], [(1, K), (3, 2)]]],
    "one key, a unit on the second num only": [
        [[(1, K), (3, 1)], [(1, K), (3, 2), (4, U)]]],
    "the same label twice": [[[(1, K), (2, V)], [(1, K), (2, V)]]],
    "no key": [[[(2, V)]], [[(3, 5)]]],
    "str set, then set to 0 again": [[[(1, K), (2, V), (2, 0)]]],
    "str 0, then set": [[[(1, K), (2, 0), (2, V)]]],
    "label order differs, same set": [
        [[(1, K), (2, V)], [(1, U), (3, 3)]],
        [[(1, U), (3, 3)], [(1, K), (2, V)]]],
    "key out of range": [[[(1, 99), (2, V)]]],
    "key-only label, key out of range": [[[(1, 99)]]],
    "str out of range": [[[(1, K), (2, 99)]]],
    "unit out of range": [[[(1, K), (3, 1), (4, 99)]]],
    "unit out of range, num 0": [[[(1, K), (4, 99)]]],
    # A string repeated in the table is the same text, so the same label.
    "key twice in the table: one set": [[[(1, K), (2, V)]], [[(1, K2), (2, V)]]],
    "str twice in the table: one set": [[[(1, K), (2, V)]], [[(1, K), (2, V2)]]],
    "unit twice in the table: one set": [[[(1, K), (3, 1), (4, U)]],
                                         [[(1, K), (3, 1), (4, U2)]]],
    "str \"\" at two indices: one set": [[[(1, K), (2, E1)]], [[(1, K), (2, E2)]]],
    "unit \"\": no unit": [[[(1, K), (3, 4), (4, E1)]], [[(1, K), (3, 4)]]],
    "unit \"\", num 0: kept": [[[(1, K), (4, E1)]]],
    "key \"\" at two indices": [[[(1, E1), (2, V)]], [[(2, V)]]],
}

HUGE = 2 ** 63 + 5
S = sample
# Each of Go's checks, and what passes them (profile.go's CheckValid,
# encode.go's postDecode and field decoders).
STRUCTURE_CASES = {
    "valid": profile(S([1, 2])),
    "function id 0, unused": profile(S([1]), function(0)),
    "location id 0, unused": profile(S([1]), location(0)),
    "mapping id 0, unused": profile(S([1]), mapping(0)),
    "two functions with one id": profile(S([1]), function(1, 5)),
    "two locations with one id": profile(S([1]), location(1, ((2, 3),))),
    "two mappings with one id": profile(S([1]), mapping(1), mapping(1)),
    "two unused functions with one id": profile(S([1]), function(7), function(7)),
    "two unused locations with one id": profile(S([1]), location(9), location(9)),
    "line with function 0": profile(S([3]), location(3, ((0, 5),))),
    "line with no such function": profile(S([3]), location(3, ((9, 5),))),
    "unused location, line with function 0": profile(S([1]), location(3, ((0, 5),))),
    "unused location, no such function": profile(S([1]), location(3, ((9, 5),))),
    "location with no such mapping": profile(S([3]), location(3, mapping=5)),
    "location with its mapping": profile(S([3]), location(3, mapping=1), mapping(1)),
    "sample with location 0": profile(S([0])),
    "sample with no such location": profile(S([5])),
    "sample with no locations": profile(field_len(2, field_len(2, packed([4])))),
    "2 values, 1 sample type": profile(S([1], (1, 2))),
    "no values": profile(field_len(2, field_len(1, packed([1])))),
    "empty sample": profile(field_len(2, b"")),
    "string_table[0] not empty": profile(S([1]), strings=["x"] + STRINGS[1:]),
    "no string table": sample_type() + S([1]) + TABLES,
    "strings first": string_table() + sample_type() + S([1]) + TABLES,
    "sample type out of range": sample_type(99) + S([1]) + TABLES + string_table(),
    "sample type negative": sample_type(-1) + S([1]) + TABLES + string_table(),
    "two sample types of one name": sample_type() + sample_type() + S([1], (1, 2)) + TABLES + string_table(),
    "default sample type out of range": profile(S([1]), field_int(14, 99)),
    "default sample type no type has": profile(S([1]), field_int(14, K)),
    "unused function, name out of range": profile(S([1]), function(7, 99)),
    "system_name out of range": profile(S([1]), function(7, 3, 4, 99)),
    "negative start_line": sample_type() + S([1]) + function(1, start_line=-3) + location(1) + string_table(),
    "mapping file out of range": profile(S([1]), mapping(1, 99)),
    "mapping build_id out of range": profile(S([1]), mapping(1, 6, 99)),
    "mapping id past 2^40": profile(S([3]), location(3, mapping=2 ** 40), mapping(2 ** 40)),
    "drop_frames out of range": profile(S([1]), field_int(7, 99)),
    "keep_frames out of range": profile(S([1]), field_int(8, 99)),
    "comment out of range": profile(S([1]), field_int(13, 99)),
    "comment": profile(S([1]), field_int(13, 3)),
    "comments packed": profile(S([1]), field_len(13, packed([3, 4, 5]))),
    "packed comment out of range": profile(S([1]), field_len(13, packed([3, 99]))),
    "packed comments, a varint cut": profile(S([1]), field_len(13, b"\x03\x80")),
    "comments packed and not": profile(S([1]), field_int(13, 5), field_len(13, packed([3, 4]))),
    "time_nanos 0, then set": profile(S([1]), field_int(9, 0), field_int(9, 5)),
    "time_nanos twice": profile(S([1]), field_int(9, 4), field_int(9, 5)),
    "time_nanos, then 0": profile(S([1]), field_int(9, 4), field_int(9, 0)),
    "duration_nanos twice": profile(S([1]), field_int(10, 4), field_int(10, 5)),
    "period twice": profile(S([1]), field_int(12, 4), field_int(12, 5)),
    "period_type twice": profile(S([1]), field_len(11, field_int(1, 1)), field_len(11, field_int(2, 2))),
    "empty period_type": profile(S([1]), field_len(11, b"")),
    "negative line": profile(S([3]), location(3, ((1, -5),))),
    "negative value": profile(S([1], (-5,))),
    "location id past 2^63": profile(S([HUGE]), location(HUGE)),
    "function id past 2^63": profile(S([3]), function(HUGE), location(3, ((HUGE, 4),))),
    "address only": profile(S([3]), location(3, (), address=0x77)),
    "address and mapping only": profile(S([3]), location(3, (), mapping=1, address=0x77), mapping(1)),
    "location with nothing": profile(S([3]), location(3, ())),
    "location before its function": sample_type() + S([1]) + location(1) + function(1) + string_table(),
    "values packed and not": sample_type() + sample_type(3, 4) + field_len(2, field_len(1, packed([1])) + field_int(2, 5) + field_len(2, packed([6]))) + TABLES + string_table(),
    "location ids not packed": profile(field_len(2, field_int(1, 1) + field_int(1, 2) + field_len(2, packed([3])))),
    "line fields in reverse": profile(S([3]), field_len(4, field_int(1, 3) + field_len(4, field_int(2, 7) + field_int(1, 1)))),
    "is_folded": profile(S([3]), field_len(4, field_int(1, 3) + field_len(4, field_int(1, 1) + field_int(2, 10)) + field_int(5, 1))),
    "function name twice": sample_type() + S([1]) + field_len(5, field_int(1, 1) + field_int(2, 3) + field_int(2, 5) + field_int(4, 4)) + location(1) + string_table(),
    "location id twice": sample_type() + S([2]) + function(1) + field_len(4, field_int(1, 1) + field_int(1, 2) + field_len(4, field_int(1, 1) + field_int(2, 10))) + string_table(),
}


# Folded output's own rules, against Go's folded stacks: each case is a
# profile and the sample types whose folded sums overflow int64 (there Go
# wraps and the decoder refuses). Names that print alike once ';' and
# control bytes are replaced sum into one line; a default sample type
# whose text is "" names none, whatever its index (Go takes the last
# type); an overflow spoils its own column only.
ALIKE = ["a;b", "a:b", "x\ty", "x\ny", "x?y"]
FOLDED_CASES = {
    "names alike once printed": (
        sample_type() +
        b"".join(sample([i + 1], (1 << i,)) for i in range(len(ALIKE))) +
        b"".join(function(i + 1, 3 + i, 3 + len(ALIKE)) for i in range(len(ALIKE))) +
        b"".join(location(i + 1, ((i + 1, 10),)) for i in range(len(ALIKE))) +
        string_table(["", "samples", "count"] + ALIKE + ["main.go"]), ()),
    "default sample type a second \"\"": (
        sample_type(0, 2) + sample_type(11, 2) + S([1], (5, 7)) + S([2], (1, 2)) +
        field_int(14, 12) + TABLES + string_table(STRINGS + ["x", ""]), ()),
    "a sum overflows in one column": (
        sample_type() + sample_type(11, 12) +
        S([1], (1, 1 << 62)) + S([3], (2, 1 << 62)) + TABLES +
        location(3, ((1, 20),)) + string_table(STRINGS + ["space", "bytes"]),
        ("space",)),
}


def long_field_len(num, payload, tag_extra=0, len_extra=0):
    return (long_varint(num << 3 | 2, tag_extra) +
            long_varint(len(payload), len_extra) + payload)


def long_sample(locs, values=(1,), tag_extra=0, len_extra=0, loc_extra=0,
                value_extra=0):
    """A sample with its tag, length, location ids or values written
    longer than they need."""
    ids = b"".join(long_varint(v, loc_extra) for v in locs)
    vals = b"".join(long_varint(v, value_extra) for v in values)
    return long_field_len(2, field_len(1, ids) + field_len(2, vals),
                          tag_extra, len_extra)


L = long_sample
# Varints written longer than they need, in the places the decoder reads
# them its own way (a sample's tag and length between samples that follow
# each other, location ids 8 bytes at a time, values): Go reads up to 10
# bytes and keeps 64 bits. test_oracle.test_lengthened writes whole real
# profiles so; these take the edges.
VARINT_CASES = {
    "sample tags 2 bytes": profile(S([1]), L([2], tag_extra=1), L([1, 2], (3,), tag_extra=1)),
    "sample tags 10 bytes": profile(S([1]), L([2], tag_extra=9), L([1, 2], (3,), tag_extra=9)),
    "sample lengths long": profile(S([1]), L([2], len_extra=1), L([1, 2], (3,), len_extra=8)),
    "only the last sample's tag long": profile(S([1]), S([2]), L([1, 2], tag_extra=2)),
    "location ids 2 to 10 bytes": profile(*[L([1, 2, 1], (k,), loc_extra=k) for k in range(1, 10)]),
    "location id 11 bytes": profile(field_len(2, field_len(1, packed([1]) + b"\x81" + b"\x80" * 9 + b"\x00") + field_len(2, packed([1])))),
    "sample tag 11 bytes": profile(S([1]), b"\x92" + b"\x80" * 9 + b"\x00" + varint(6) + field_len(1, packed([1])) + field_len(2, packed([1]))),
    "location id cut in its last byte": profile(field_len(2, field_len(1, packed([1]) + b"\x81\x80") + field_len(2, packed([1])))),
    "values 10 bytes": profile(L([1], (5,), value_extra=9), L([2], (2 ** 62,), value_extra=9)),
    "value's 10th byte past bit 63": profile(field_len(2, field_len(1, packed([1])) + field_len(2, ten_bytes(5, 0x7E)))),
    "value's 10th byte with bit 63": profile(field_len(2, field_len(1, packed([1])) + field_len(2, ten_bytes(5, 0x7F)))),
    "location id's 10th byte past bit 63": profile(field_len(2, field_len(1, ten_bytes(1, 0x02)) + field_len(2, packed([1])))),
    "sample tag's 10th byte past bit 63": profile(S([1]), ten_bytes(2 << 3 | 2, 0x02) + varint(6) + field_len(1, packed([1])) + field_len(2, packed([1]))),
    "string tags long": sample_type() + S([1]) + TABLES + b"".join(long_field_len(6, t.encode(), tag_extra=2) for t in STRINGS),
}

def many_locations(n, stacks):
    """A profile of n locations, ids 1..n in order as Go writes them, each
    one line of main.f or main.g (by the id's parity) at line id, and one
    sample per stack of ids given: ids of 4 bytes are only valid past 2^21
    locations, so only such a profile takes the decoder's reading of them
    in its loop over dense ids."""
    locs = bytearray()
    for lid in range(1, n + 1):
        locs += location(lid, ((1 + lid % 2, lid),))
    return (sample_type() + b"".join(sample(st) for st in stacks) +
            function(1) + function(2, 5) + bytes(locs) + string_table())


def gzip_member(data, flags=0, extra=b"", name=b"", comment=b"",
                header_crc_delta=0, crc=None, isize=None):
    """One gzip member of data (RFC 1952), with the given header flags
    and fields; the header CRC (FHCRC) off by header_crc_delta, the
    trailer's CRC and ISIZE replaced where given."""
    head = bytearray(b"\x1f\x8b\x08") + bytes([flags]) + b"\0\0\0\0\0\xff"
    if flags & 0x04:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 0x08:
        head += name + b"\0"
    if flags & 0x10:
        head += comment + b"\0"
    if flags & 0x02:
        head += struct.pack("<H", (zlib.crc32(bytes(head)) +
                                   header_crc_delta) & 0xFFFF)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = z.compress(data) + z.flush()
    return bytes(head) + body + struct.pack(
        "<II", zlib.crc32(data) if crc is None else crc,
        len(data) & 0xFFFFFFFF if isize is None else isize)


def gzip_cases(raw):
    """gzip bodies of the uncompressed profile raw: every header field,
    several members, and the ways a body can be damaged around them.
    Two are refused or accepted here against Go's verdict, by design
    (README): reserved flags (refused, as RFC 1952 asks) and zero bytes
    after the last member (taken as padding, as gzip(1) takes them)."""
    half = len(raw) // 2
    one = gzip_member(raw)
    return {
        "one member": one,
        "FNAME": gzip_member(raw, 0x08, name=b"heap.pb"),
        "FEXTRA": gzip_member(raw, 0x04, extra=b"ab\x02\x00xy"),
        "FCOMMENT": gzip_member(raw, 0x10, comment=b"a comment"),
        "FHCRC": gzip_member(raw, 0x02),
        "FHCRC wrong": gzip_member(raw, 0x02, header_crc_delta=1),
        "every flag": gzip_member(raw, 0x1E, extra=b"ab\0\0", name=b"n",
                                  comment=b"c"),
        "every flag, FHCRC wrong": gzip_member(
            raw, 0x1E, extra=b"ab\0\0", name=b"n", comment=b"c",
            header_crc_delta=9),
        "two members": gzip_member(raw[:half]) + gzip_member(raw[half:]),
        "second member's FHCRC wrong": gzip_member(raw[:half]) +
        gzip_member(raw[half:], 0x02, header_crc_delta=1),
        "an empty member first": gzip_member(b"") + one,
        "an empty member last": one + gzip_member(b""),
        "wrong CRC": gzip_member(raw, crc=1),
        "wrong ISIZE": gzip_member(raw, isize=5),
        "second member's CRC wrong": gzip_member(raw[:half]) +
        gzip_member(raw[half:], crc=7),
        "not deflate": one[:2] + b"\x07" + one[3:],
        "trailer cut": one[:-3],
        "header only": one[:10],
        "junk after": one + b"junk",
        "a magic number after": one + b"\x1f\x8b",
        "reserved flags": gzip_member(raw, 0x20),
        "zero bytes after": one + b"\0" * 10,
    }


def _any_wire_type(num, wt):
    """Field num with wire type wt (varint, fixed64, bytes, fixed32; a
    group's start or end, or 6 or 7, which no protobuf has: the tag
    alone)."""
    if wt in (3, 4, 6, 7):
        return varint(num << 3 | wt)
    if wt == 0:
        return field_int(num, 1)
    if wt == 1:
        return varint(num << 3 | 1) + b"\x01" + bytes(7)
    if wt == 2:
        return field_len(num, b"\x01")
    return varint(num << 3 | 5) + b"\x01" + bytes(3)


def _in_label(x):
    body = field_len(1, packed([1])) + field_len(2, packed([1]))
    return profile(field_len(2, body + field_len(
        3, field_int(1, K) + field_int(2, V) + x)))


# Where a field goes, for each message, and the numbers tried there: its
# own, and one past them.
_WIRE_PLACES = {
    "Profile": (lambda x: profile(S([1]), x), range(1, 16)),
    "Sample": (lambda x: profile(field_len(2, field_len(1, packed([1])) +
                                           field_len(2, packed([1])) + x)),
               range(1, 5)),
    "Label": (_in_label, range(1, 6)),
    "Mapping": (lambda x: profile(S([3]), location(3, mapping=1),
                                  field_len(3, field_int(1, 1) + x)),
                range(1, 12)),
    "Location": (lambda x: profile(S([3]), field_len(4, field_int(1, 3) + field_len(
        4, field_int(1, 1) + field_int(2, 5)) + x)), range(1, 7)),
    "Line": (lambda x: profile(S([3]), field_len(4, field_int(1, 3) + field_len(
        4, field_int(1, 1) + field_int(2, 5) + x))), range(1, 4)),
    "Function": (lambda x: profile(S([3]), location(3, ((7, 1),)), field_len(
        5, field_int(1, 7) + field_int(2, 3) + x)), range(1, 7)),
    "sample_type": (lambda x: field_len(1, field_int(1, 1) + field_int(2, 2) + x) +
                    S([1]) + TABLES + string_table(), range(1, 4)),
    "period_type": (lambda x: profile(S([1]), field_len(11, field_int(1, 1) + x)),
                    range(1, 4)),
}


def wire_type_cases():
    """{name: profile} with every field of every message, and one past
    them, given with each wire type: the right one, the others (which Go
    refuses for a known field, and skips for an unknown one), bytes for a
    repeated number (packed), and the groups and numbers Go refuses
    anywhere (3, 4, 6, 7)."""
    return {"%s field %d, wire type %d" % (msg, num, wt): build(_any_wire_type(num, wt))
            for msg, (build, nums) in _WIRE_PLACES.items()
            for num in nums for wt in range(8)}
