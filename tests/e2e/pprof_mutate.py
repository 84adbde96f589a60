"""Real profiles changed by their structure rather than their bytes, for
checking the decoder against Go's parser (test_oracle.test_mutated): a
profile is read into its messages (profile.proto's nesting, see
pprof_build.py for the field numbers), one to three changes are made to
them, and it is written back, every length right. So the changes reach
past the first broken length, where a flipped byte stops both parsers:

- a field given twice, or removed, or moved to another message of its
  kind (a line to another location, a label to another sample), or two
  fields of a message swapped;
- an integer set to a bound: 0, 1, the string table's size and either
  side of it, 2^31, 2^32, 2^63 and 2^64 - 1 and their neighbours;
- an integer written in more bytes than it needs (Go reads up to 10),
  and so a field's tag, a length, or a value in a packed list;
- a packed list written unpacked, or one of its values set to a bound;
- a message emptied, or its bytes changed inside a right length;
- a field of the message's own given (again), often a string index
  in range; a field, known or not, of any wire type, put anywhere;
- a string replaced with a few bytes, UTF-8 or not.

mutants(raw, seed, n) gives the same n profiles for the same arguments.
lengthened(raw, extra) writes a whole profile with every varint in it
(tags, lengths, values, packed or not) extra bytes longer than it needs,
up to Go's 10.
"""

import random

from pprof_build import long_varint, read_varint, varint

# The fields that hold messages, by message: P profile, VT value type,
# S sample, LB label, M mapping, L location, LN line, F function.
_SUB = {"P": {1: "VT", 2: "S", 3: "M", 4: "L", 5: "F", 11: "VT"},
        "S": {3: "LB"}, "L": {4: "LN"}}
# How many fields each message has in the profile.proto Go's parser
# reads (numbered from 1 up).
_FIELDS = {"P": 14, "VT": 2, "S": 3, "LB": 4, "M": 10, "L": 5, "LN": 2,
           "F": 5}
# The packed lists of integers.
_PACKED = {("S", 1), ("S", 2), ("P", 7), ("P", 8), ("P", 13)}
_BOUNDS = [0, 1, 2, 0x7F, 0x80, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
           2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1]
# Bytes a replaced string is made of: ASCII, the pieces of two- three-
# and four-byte UTF-8 sequences, bytes UTF-8 never has, and bytes the
# outputs escape.
_STRING_BYTES = b"A.; \n\"\\\x80\xa9\xbf\xc3\xe2\xf0\x9f\xff"


class Field:
    """One field: its number, its wire type, and its value: an int (a
    varint, or bytes when written longer than it needs), bytes, or a
    Message."""

    def __init__(self, num, wt, value):
        self.num, self.wt, self.value = num, wt, value
        # Written longer than it needs: the tag and the length, by
        # these many bytes.
        self.tag_extra, self.len_extra = 0, 0

    def copy(self):
        v = self.value
        out = Field(self.num, self.wt,
                    v.copy() if isinstance(v, Message) else v)
        out.tag_extra, out.len_extra = self.tag_extra, self.len_extra
        return out


class Message:
    def __init__(self, kind, fields):
        self.kind, self.fields = kind, fields

    def copy(self):
        return Message(self.kind, [f.copy() for f in self.fields])

    def all(self):
        """This message and every one inside it."""
        out = [self]
        for f in self.fields:
            if isinstance(f.value, Message):
                out += f.value.all()
        return out


def parse(buf, kind="P"):
    """buf, a valid profile (or message of kind), as a Message."""
    fields, i = [], 0
    while i < len(buf):
        tag, i = read_varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
            sub = _SUB.get(kind, {}).get(num)
            if sub is not None:
                v = parse(v, sub)
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d at %d" % (wt, i))
        fields.append(Field(num, wt, v))
    return Message(kind, fields)


def encode(msg, extra=0):
    """msg's bytes; with extra, every varint lengthened (lengthened())."""
    out = bytearray()
    for f in msg.fields:
        out += long_varint(f.num << 3 | f.wt, f.tag_extra + extra)
        v = f.value
        if f.wt == 0:
            out += v if isinstance(v, bytes) else long_varint(v, extra)
        elif f.wt == 2:
            if isinstance(v, Message):
                data = encode(v, extra)
            elif extra and (msg.kind, f.num) in _PACKED:
                data = b"".join(long_varint(x, extra)
                                for x in _packed_values(v))
            else:
                data = v
            out += long_varint(len(data), f.len_extra + extra) + data
        else:
            out += v
    return bytes(out)


def lengthened(raw, extra):
    """The profile raw with every varint extra bytes longer."""
    return encode(parse(raw), extra)


def _packed_values(data):
    out, i = [], 0
    while i < len(data):
        v, i = read_varint(data, i)
        out.append(v)
    return out


def _change(top, rng):
    """One change somewhere in top: its name, or None where the change
    drawn does not apply to the field drawn."""
    msgs = top.all()
    # a kind first, so that the few of a kind (value types, labels) are
    # changed as often as the many
    kind = rng.choice(sorted({m.kind for m in msgs}))
    msg = rng.choice([m for m in msgs if m.kind == kind])
    fl = msg.fields
    nstr = sum(1 for y in top.fields if y.num == 6)
    op = rng.randrange(17)
    if op == 13:
        num = rng.randrange(1, _FIELDS[kind] + 1)
        if _SUB.get(kind, {}).get(num) or (kind, num) in _PACKED:
            return None
        v = rng.randrange(nstr) if rng.random() < 0.5 else rng.choice(_BOUNDS)
        fl.append(Field(num, 0, v))
        return "given %s.%d = %d" % (kind, num, v)
    if op == 11:
        wt = rng.choice((0, 1, 2, 5))
        num = rng.choice((rng.randrange(1, _FIELDS[kind] + 1),
                          rng.randrange(1, 16)))
        v = {0: rng.randrange(nstr) if rng.random() < 0.5
                else rng.choice(_BOUNDS),
             1: b"\x01" * 8, 2: b"\x08\x01", 5: b"\x01" * 4}[wt]
        fl.insert(rng.randrange(len(fl) + 1), Field(num, wt, v))
        return "added %s.%d, wire type %d" % (kind, num, wt)
    if op == 12:
        strings = [x for x in top.fields if x.num == 6 and x.wt == 2]
        if not strings:
            return None
        rng.choice(strings).value = bytes(
            rng.choice(_STRING_BYTES) for _ in range(rng.randrange(6)))
        return "a string replaced"
    if not fl:
        return None
    k = rng.randrange(len(fl))
    f = fl[k]
    where = "%s.%d" % (kind, f.num)
    packed = (kind, f.num) in _PACKED and isinstance(f.value, bytes)
    if op == 0:
        fl.insert(rng.randrange(len(fl) + 1), f.copy())
        return "twice " + where
    if op == 1:
        del fl[k]
        return "removed " + where
    if op == 2:
        j = rng.randrange(len(fl))
        fl[k], fl[j] = fl[j], fl[k]
        return "swapped %s and %s.%d" % (where, kind, fl[k].num)
    if op == 3:
        others = [m for m in msgs if m.kind == kind and m is not msg]
        if not others:
            return None
        rng.choice(others).fields.append(fl.pop(k))
        return "moved " + where
    if op in (4, 5) and f.wt == 0 and isinstance(f.value, int):
        f.value = rng.choice(_BOUNDS + [nstr - 1, nstr, nstr + 1,
                                        rng.randrange(nstr), f.value + 1,
                                        max(f.value - 1, 0)])
        return "%s = %d" % (where, f.value)
    if op == 6 and f.wt == 0 and isinstance(f.value, int):
        long = bytearray(varint(f.value))
        long[-1] |= 0x80
        long += b"\x80" * rng.randrange(4) + b"\x00"
        f.value = bytes(long[:10])
        return "long varint " + where
    if op == 14:
        f.tag_extra = rng.randrange(1, 10)
        return "long tag " + where
    if op == 15 and f.wt == 2:
        f.len_extra = rng.randrange(1, 10)
        return "long length " + where
    if op == 16 and packed and f.value:
        vals = _packed_values(f.value)
        j = rng.randrange(len(vals))
        f.value = b"".join(long_varint(v, rng.randrange(1, 10) if i == j else 0)
                           for i, v in enumerate(vals))
        return "long packed value " + where
    if op == 7 and packed:
        fl[k:k + 1] = [Field(f.num, 0, v) for v in _packed_values(f.value)]
        return "unpacked " + where
    if op == 8 and packed and f.value:
        vals = _packed_values(f.value)
        vals[rng.randrange(len(vals))] = rng.choice(_BOUNDS)
        f.value = b"".join(varint(v) for v in vals)
        return "packed value " + where
    if op == 9 and f.wt == 2:
        f.value = Message(f.value.kind, []) if isinstance(
            f.value, Message) else b""
        return "emptied " + where
    if op == 10 and f.wt == 2:
        data = bytearray(encode(f.value) if isinstance(f.value, Message)
                         else f.value)
        if not data:
            return None
        data[rng.randrange(len(data))] = rng.randrange(256)
        f.value = bytes(data)
        return "byte changed in " + where
    return None


def _some_change(top, rng):
    while True:
        what = _change(top, rng)
        if what is not None:
            return what


def mutants(raw, seed, n):
    """n (what was changed, profile bytes) made from the profile raw."""
    rng = random.Random(seed)
    base = parse(raw)
    out = []
    for _ in range(n):
        top = base.copy()
        what = [_some_change(top, rng)
                for _ in range(rng.randrange(1, 4))]
        out.append(("; ".join(what), encode(top)))
    return out
