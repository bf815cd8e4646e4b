"""The program that runs inside the sandbox child, and the value encoding both sides share.

This file is imported by the parent (for ``encode``/``decode``) and executed as
``python -I -S -c <this source> <config>`` (without root, once per answer) or
``... --serve FD`` (the fork server, as root: ``_serve`` forks a monitor and the child
per job); it imports only the standard library. The child:

1. while still root (trusted, before any candidate code): sets resource limits,
   enters fresh network and mount namespaces when the OS allows, hides the world
   writable directories behind private tmpfs mounts, makes the Python installation
   readable, and drops to the unprivileged sandbox uid (see ``engine/evaluation/sandbox.py``);
2. reads the job (candidate code, entry point, encoded test inputs) from its job
   pipe, then compiles and runs the candidate code;
3. calls the entry point once per test on a fresh copy of the inputs and writes each
   ENCODED OUTPUT (never a verdict) to its result pipe.

The child never sees expected outputs: the parent decodes the outputs and compares.
Encoding uses only references captured before candidate code runs and exact type
checks (``type(x) is int``), so monkeypatching builtins, ``json`` or this module,
or returning objects with hostile ``__eq__``/``__repr__``, cannot change what the
parent compares: anything that is not an exact builtin type becomes an opaque marker.

Wire format of a value (JSON text holding only arrays and strings): ``["n"]`` None,
``["b","0"|"1"]``, ``["i", hex]``, ``["f", float.hex]``, ``["c", re, im]``,
``["s", text]``, ``["y", bytes hex]``, ``["l"|"t"|"S"|"F", [items]]`` list, tuple,
set, frozenset, ``["d", [[k, v], ...]]`` dict (and ``Counter``, ``OrderedDict``,
``defaultdict``, sent as the dict of their items), ``["o", type name, note]`` opaque.
Inside a list or tuple, ``["*f", hex]`` stands for a run of floats (none NaN), packed
as little-endian IEEE doubles: long runs of floats cross at C speed both ways.
Result messages, one per line: ``["ready", isolation-json]``, ``["prepared"]`` (job
read and inputs decoded), ``["loaded"]``,
``["load_error", type, message]``, ``["ok", index, value, seconds]``,
``["raise", index, type, message, seconds]``, ``["done"]``.
"""

from __future__ import annotations

import array
import collections
import itertools
import json
import math
import operator
import os
import pickle
import struct
import sys
import time

PROTOCOL = "gradebench-harness-2"
MAX_DEPTH = 200
MAX_NODES = 2_000_000
MAX_MATERIALIZE = 100_000
FLAT_MIN_ITEMS = 16
"""Lists and tuples this long or longer try the C-speed encoding of flat scalars; runs
of this many floats or more are packed (``["*f", hex]``)."""
_BIG_ENDIAN = sys.byteorder == "big"
MESSAGE_CHARS = 2000

_WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
_SYSTEM_DIRS = frozenset(
    [
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "usr",
        "etc",
        "dev",
        "proc",
        "sys",
        "tmp",
        "var",
        "run",
    ]
)
_PRELOAD = [
    "abc",
    "array",
    "bisect",
    "builtins",
    "calendar",
    "cmath",
    "collections",
    "collections.abc",
    "copy",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "keyword",
    "math",
    "numbers",
    "operator",
    "random",
    "re",
    "statistics",
    "string",
    "struct",
    "textwrap",
    "typing",
    "unicodedata",
]


class _TooLarge(Exception):
    pass


_PLAIN_ASCII = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')
"""The characters ``json.encoder.encode_basestring_ascii`` writes as they are: a str made
only of these is encoded as ``'"' + text + '"'``."""
PLAIN_STR_MIN_CHARS = 128
"""Strings this long or longer first try the check for plain ASCII (nothing to escape),
which copies them once instead of escaping them character by character."""


def make_encoder():
    """An ``encode(value) -> str`` built only from references captured now."""
    _type = type
    _list, _tuple, _set, _frozenset, _dict = list, tuple, set, frozenset, dict
    _int, _float, _complex, _str, _bytes, _bool = int, float, complex, str, bytes, bool
    _none_type = type(None)
    _hex, _fhex, _bhex = hex, float.hex, bytes.hex
    _bytearray, _find, _translate = bytearray, bytearray.find, bytes.translate
    _isascii, _str_encode = str.isascii, str.encode
    _items = dict.items
    # dict subclasses of the standard library that compare equal to a dict with the
    # same items (EvalPlus compares with ``==``: a Counter answer passes against a dict)
    _counter, _ordered, _defaulted = (
        collections.Counter,
        collections.OrderedDict,
        collections.defaultdict,
    )
    _join = str.join
    _esc = json.encoder.encode_basestring_ascii
    _name_of = type.__dict__["__name__"].__get__
    _len, _map, _sum = len, map, sum
    _is, _repeat = operator.is_, itertools.repeat
    _isnan, _pack, _struct_error = math.isnan, struct.pack, struct.error
    _memoryview, _mv_hex, _islice = memoryview, memoryview.hex, itertools.islice
    _recursion_error, _overflow_error = RecursionError, OverflowError
    _plain = _PLAIN_ASCII
    max_depth, max_nodes = MAX_DEPTH, MAX_NODES
    flat_min, plain_str_min = FLAT_MIN_ITEMS, PLAIN_STR_MIN_CHARS

    def is_plain_ascii(text):
        """True when ``_esc(text)`` is ``'"' + text + '"'``: all ASCII (an O(1) flag)
        and nothing to escape (one C-speed pass deleting the plain bytes)."""
        return _isascii(text) and not _translate(_str_encode(text, "ascii"), None, _plain)

    def all_of(items, cls):
        """1 where the item's type IS ``cls``, else 0 (identity: no item code runs)."""
        return _bytearray(_map(_is, _map(_type, items), _repeat(cls)))

    def add_ints(items, parts):
        parts.append('["i","' + '"],["i","'.join(_map(_hex, items)) + '"]')

    def add_floats(items, parts):
        parts.append('["f","' + '"],["f","'.join(_map(_fhex, items)) + '"]')

    def add_packed(hex_text, parts):
        parts.append('["*f","')
        parts.append(hex_text)
        parts.append('"]')

    def has_nan(items):
        return _sum(_map(_isnan, items)) > 0

    def flat(v, tag):
        """A list or tuple of only ints, only floats, ints and floats, or only strings,
        as text pieces written at C speed (joined, the same text the item-by-item walk
        writes); None when the items are anything else. Types are compared by identity
        (``operator.is_``), so no item's class (or metaclass) code runs.

        Runs of ``flat_min`` or more floats without NaN are packed (NaN must stay
        visible as text: it never equals itself). Every item is a checked exact int or
        float before ``sum`` or ``struct.pack`` sees it; both then work at C speed on
        the whole list (ints become doubles whose bytes are not used). The float sum is
        NaN when an item is NaN; it may also be NaN from inf + -inf, so then each run
        is checked item by item."""
        n = _len(v)
        first, last = _type(v[0]), _type(v[-1])
        if first is _str:
            # strings are checked and joined from one copy (C speed, no code runs): an
            # item swapped in by another thread in between would reach the text unescaped
            v = _tuple(v)
            if _find(all_of(v, _str), 0) >= 0:
                return None
            if is_plain_ascii(_join("", v)):
                return ['["', tag, '",[["s","', '"],["s","'.join(v), '"]]]']
            return ['["', tag, '",[["s",', '],["s",'.join(_map(_esc, v)), "]]]"]
        # the type of the last (else the first) item is checked for every item; the
        # items that do not have it must all have the other numeric type
        if last is _float or last is _int:
            major = last
        elif first is _float or first is _int:
            major = first
        else:
            return None
        minor = _int if major is _float else _float
        flags = all_of(v, major)
        if major is _int and _find(flags, 0) < 0:  # ints only: nothing to pack
            return ['["', tag, '",[["i","', '"],["i","'.join(_map(_hex, v)), '"]]]']
        runs = []  # (item type, start, end) of each maximal run of one type, in order
        start = 0
        while start < n:
            if flags[start]:
                kind, end = major, _find(flags, 0, start)
            else:
                kind, end = minor, _find(flags, 1, start)
            if end < 0:
                end = n
            if kind is minor:
                if end - start == 1:
                    if _type(v[start]) is not minor:
                        return None
                elif _find(all_of(_islice(v, start, end), minor), 0) >= 0:
                    return None
            runs.append((kind, start, end))
            start = end
        packed = None  # all items as little-endian doubles, when a float run is long
        for kind, start, end in runs:
            if kind is _float and end - start >= flat_min:
                try:
                    nan_free = not _isnan(_sum(v, 0.0))
                    packed = _memoryview(_pack(f"<{n}d", *v))
                except (_overflow_error, _struct_error):  # an int too large for a double
                    packed = None
                break
        parts = ['["', tag, '",[']
        for kind, start, end in runs:
            if end - start == 1:
                item = v[start]
                if kind is _int:
                    parts.append('["i","' + _hex(item) + '"]')
                else:
                    parts.append('["f","' + _fhex(item) + '"]')
            elif kind is _int:
                add_ints(_islice(v, start, end), parts)
            elif end - start < flat_min:
                add_floats(_islice(v, start, end), parts)
            elif packed is not None:
                if nan_free or not has_nan(_islice(v, start, end)):
                    add_packed(_mv_hex(packed[8 * start : 8 * end]), parts)
                else:
                    add_floats(_islice(v, start, end), parts)
            else:
                run = v[start:end]
                if not _isnan(_sum(run, 0.0)) or not has_nan(run):
                    add_packed(_bhex(_pack(f"<{end - start}d", *run)), parts)
                else:
                    add_floats(run, parts)
            parts.append(",")
        parts[-1] = "]]"  # in place of the last run's separator
        return parts

    def encode(value):
        nodes = [0]
        out = []
        append = out.append

        def walk(v, depth):
            nodes[0] += 1
            if nodes[0] > max_nodes or depth > max_depth:
                raise _TooLarge
            t = _type(v)
            if t is _none_type:
                append('["n"]')
            elif t is _bool:
                append('["b","1"]' if v else '["b","0"]')
            elif t is _int:
                append('["i",' + _esc(_hex(v)) + "]")
            elif t is _float:
                append('["f",' + _esc(_fhex(v)) + "]")
            elif t is _complex:
                append('["c",' + _esc(_fhex(v.real)) + "," + _esc(_fhex(v.imag)) + "]")
            elif t is _str:
                if _len(v) >= plain_str_min and is_plain_ascii(v):
                    append('["s","')
                    append(v)
                    append('"]')
                else:
                    append('["s",' + _esc(v) + "]")
            elif t is _bytes:
                append('["y",' + _esc(_bhex(v)) + "]")
            elif t is _list or t is _tuple or t is _set or t is _frozenset:
                tag = "l" if t is _list else "t" if t is _tuple else "S" if t is _set else "F"
                if (t is _list or t is _tuple) and _len(v) >= flat_min:
                    parts = flat(v, tag)
                    if parts is not None:
                        nodes[0] += _len(v)
                        if nodes[0] > max_nodes or depth + 1 > max_depth:
                            raise _TooLarge
                        out.extend(parts)
                        return
                append('["' + tag + '",[')
                first = True
                for item in v:
                    if not first:
                        append(",")
                    first = False
                    walk(item, depth + 1)
                append("]]")
            elif t is _dict or t is _counter or t is _ordered or t is _defaulted:
                append('["d",[')
                first = True
                for key, item in _items(v):
                    if not first:
                        append(",")
                    first = False
                    append("[")
                    walk(key, depth + 1)
                    append(",")
                    walk(item, depth + 1)
                    append("]")
                append("]]")
            else:
                append('["o",' + _esc(_name_of(t)) + ',""]')

        try:
            walk(value, 0)
        except _TooLarge:
            return f'["o","too large","nested deeper than {max_depth} or more than {max_nodes} values"]'
        except _recursion_error:
            return '["o","too large","nested too deeply"]'
        return _join("", out)

    return encode


encode = make_encoder()


def make_decoder():
    """A ``decode_node(node, opaque=None)`` built only from references captured now."""
    _type, _list, _str, _len = type, list, str, len
    _int, _tuple, _set, _frozenset, _complex = int, tuple, set, frozenset, complex
    _fromhex, _bfromhex = float.fromhex, bytes.fromhex
    _array = array.array
    _value_error = ValueError
    _malformed = (IndexError, TypeError, OverflowError, ValueError)

    def decode_node(node, opaque=None):
        """Tagged JSON data (already ``json.loads``-ed) back to a Python value.

        ``opaque(type_name, note)`` builds the value for an opaque marker; the
        parent passes ``gradebench.engine.evaluation.compare.Opaque``. Raises ``ValueError`` on
        malformed input.
        """

        def walk(n):
            if _type(n) is not _list or not n or _type(n[0]) is not _str:
                raise _value_error("malformed value")
            tag = n[0]
            if tag == "n":
                return None
            if tag == "b":
                return n[1] == "1"
            if tag == "i":
                return _int(n[1], 16)
            if tag == "f":
                return _fromhex(n[1])
            if tag == "c":
                return _complex(_fromhex(n[1]), _fromhex(n[2]))
            if tag == "s":
                if _type(n[1]) is not _str:
                    raise _value_error("malformed string")
                return n[1]
            if tag == "y":
                return _bfromhex(n[1])
            if tag in ("l", "t", "S", "F"):
                if _type(n[1]) is not _list:
                    raise _value_error("malformed sequence")
                items = []
                for x in n[1]:
                    if _type(x) is _list and x and x[0] == "*f":  # a packed run of floats
                        if _len(x) != 2 or _type(x[1]) is not _str:
                            raise _value_error("malformed float run")
                        run = _array("d", _bfromhex(x[1]))
                        if _BIG_ENDIAN:
                            run.byteswap()
                        items.extend(run.tolist())
                    else:
                        items.append(walk(x))
                if tag == "l":
                    return items
                if tag == "t":
                    return _tuple(items)
                return _set(items) if tag == "S" else _frozenset(items)
            if tag == "d":
                if _type(n[1]) is not _list:
                    raise _value_error("malformed dict")
                return {walk(pair[0]): walk(pair[1]) for pair in n[1]}
            if tag == "o":
                name, note = _str(n[1]), _str(n[2]) if _len(n) > 2 else ""
                return opaque(name, note) if opaque is not None else ("<opaque>", name, note)
            raise _value_error("unknown tag " + _str(tag)[:20])

        try:
            return walk(node)
        except _malformed as exc:
            raise _value_error(f"malformed value: {exc}") from None

    return decode_node


decode_node = make_decoder()


def decode(text, opaque=None):
    return decode_node(json.loads(text), opaque)


# ---------------------------------------------------------------- child side


_LIBC = []


def _libc():
    """(ctypes, the C library), loaded once per process (the fork server loads them
    before it forks, so no sandbox child pays for the import)."""
    if not _LIBC:
        import ctypes

        _LIBC.extend((ctypes, ctypes.CDLL(None, use_errno=True)))
    return _LIBC[0], _LIBC[1]


def _isolate(config):
    """Limits, namespaces, mounts and uid drop; returns what was enforced."""
    import resource

    done = {}
    limits = config["limits"]
    if limits.get("niceness"):
        try:
            done["niceness"] = os.nice(limits["niceness"])
        except OSError as exc:
            done["niceness"] = f"not set: {exc}"
        try:  # with autogroup scheduling, nice only counts within a session's group
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(limits["niceness"]))
            done["autogroup_niceness"] = limits["niceness"]
        except OSError as exc:
            done["autogroup_niceness"] = f"not set: {exc}"
    for name, value in (
        ("RLIMIT_AS", limits["memory_bytes"]),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_FSIZE", limits["file_bytes"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", limits["processes"]),
    ):
        if name == "RLIMIT_NPROC" and config["uid"] is None:
            continue  # per user: without our own uid it would count the user's other processes
        try:
            hard = value + 1 if name == "RLIMIT_CPU" else value
            resource.setrlimit(getattr(resource, name), (value, hard))
            done[name] = value
        except (ValueError, OSError) as exc:
            done[name] = f"not set: {exc}"
    ctypes, libc = _libc()
    clone_newns, clone_newnet, clone_newuser = 0x00020000, 0x40000000, 0x10000000
    done["network"] = "shared (no namespace)"
    done["mounts"] = "shared (no namespace)"
    if config["uid"] is not None:
        if libc.unshare(clone_newnet | clone_newns) == 0:
            done["network"] = "new network namespace (no interfaces up)"
            done["mounts"] = _private_mounts(ctypes, libc, config)
        elif libc.unshare(clone_newnet) == 0:
            done["network"] = "new network namespace (no interfaces up)"
    elif libc.unshare(clone_newuser | clone_newnet) == 0:
        done["network"] = "new user+network namespace (no interfaces up)"
    mounts = str(done["mounts"])
    if not mounts.startswith("private") or "could not" in mounts:
        # Without the mount trick the installation may be unreadable after the uid
        # drop: import the modules answers commonly use while we still can.
        for module in _PRELOAD:
            try:
                __import__(module)
            except ImportError:
                pass
    if config["uid"] is not None:
        uid = config["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        done["uid"] = uid
    else:
        done["uid"] = f"{os.getuid()} (not root: uid not changed)"
    pr_set_pdeathsig, pr_set_no_new_privs = 1, 38
    libc.prctl(pr_set_pdeathsig, 9, 0, 0, 0)
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0:
        done["no_new_privs"] = True
    return done


def _mount(ctypes, libc, source, target, fstype, flags, data):
    enc = os.fsencode
    result = libc.mount(
        enc(source) if source else None,
        enc(target),
        enc(fstype) if fstype else None,
        ctypes.c_ulong(flags),
        enc(data) if data else None,
    )
    return result == 0


def _private_mounts(ctypes, libc, config):
    ms_rdonly, ms_nosuid, ms_nodev, ms_remount, ms_bind, ms_rec, ms_private = (
        1,
        2,
        4,
        32,
        4096,
        16384,
        1 << 18,
    )
    if not _mount(ctypes, libc, "none", "/", None, ms_rec | ms_private, None):
        return "shared (could not make mounts private)"
    hidden = []
    # The work dir becomes a size-limited tmpfs (so many files cannot fill the disk);
    # chdir again so the cwd is the new mount, before /tmp is covered below.
    workdir = os.getcwd()
    uid, size = config["uid"], config["limits"]["work_dir_bytes"]
    options = f"size={size},mode=0700,uid={uid},gid={uid}"
    if _mount(ctypes, libc, "tmpfs", workdir, "tmpfs", ms_nosuid | ms_nodev, options):
        os.chdir(workdir)
        hidden.append(f"{workdir} ({size} bytes)")
    # Only system directories stay visible: every other top-level folder (/root, /home,
    # /work, /opt, /srv, /mnt...) is covered by an empty tmpfs, so the answer cannot read
    # the repository, problem files with their references, or the database. The Python
    # installation is bound back read-only at its own path when it lives under one of
    # them, or under a folder the sandbox uid could not traverse.
    prefix = os.path.realpath(sys.base_prefix)
    prefix_fd = os.open(prefix, os.O_RDONLY | os.O_DIRECTORY)
    rebind_under = None
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name in _SYSTEM_DIRS or os.path.islink(path) or not os.path.isdir(path):
            continue
        if _mount(ctypes, libc, "tmpfs", path, "tmpfs", ms_nosuid | ms_nodev, "size=1m,mode=0755"):
            hidden.append(path)
            if prefix.startswith(path + "/"):
                rebind_under = path
    if rebind_under is None:
        parts = prefix.strip("/").split("/")
        for depth in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:depth])
            if os.stat(ancestor).st_mode & 0o001:
                continue
            if _mount(ctypes, libc, "tmpfs", ancestor, "tmpfs", ms_nosuid | ms_nodev, "mode=0755"):
                hidden.append(ancestor)
                rebind_under = ancestor
            break
    if rebind_under is not None:
        os.makedirs(prefix, exist_ok=True)
        if _mount(ctypes, libc, f"/proc/self/fd/{prefix_fd}", prefix, None, ms_bind | ms_rec, None):
            _mount(ctypes, libc, None, prefix, None, ms_remount | ms_bind | ms_rdonly, None)
        else:
            libc.umount2(os.fsencode(rebind_under), 2)  # MNT_DETACH: show the real one again
            hidden.remove(rebind_under)
            hidden.append("(the Python installation could not be re-bound)")
    os.close(prefix_fd)
    for directory in _WORLD_WRITABLE:
        if os.path.isdir(directory) and _mount(
            ctypes, libc, "tmpfs", directory, "tmpfs", ms_nosuid | ms_nodev, "size=16m,mode=1777"
        ):
            hidden.append(directory)
    return "private namespace; empty tmpfs over " + ", ".join(hidden)


def _send(fd, text, _write=os.write, _encode=str.encode):
    data = _encode(text + "\n", "utf-8", "surrogatepass")
    while data:
        written = _write(fd, data)
        data = data[written:]


def _describe(
    exc, _type=type, _str=str, _name_of=type.__dict__["__name__"].__get__, _base=BaseException
):
    """(exception type name, message) without trusting the exception's class."""
    name = _name_of(_type(exc))
    try:
        text = _str(exc)
        if _type(text) is not _str:
            text = ""
    except _base:
        text = "<unprintable>"
    return name[:200], text[:MESSAGE_CHARS]


_PLAIN_TYPES = (list, tuple, dict, set, frozenset, str, bytes, int, float, complex, bool)


def _is_iterator(
    value,
    _type=type,
    _mro=type.__dict__["__mro__"].__get__,
    _dict_of=type.__dict__["__dict__"].__get__,
):
    for klass in _mro(_type(value)):  # noqa: SIM110 (``any`` could be monkeypatched)
        if "__next__" in _dict_of(klass):
            return True
    return False


def _normalize(
    value, take, _type=type, _next=next, _len=len, _plain=_PLAIN_TYPES, _stop=StopIteration
):
    """Iterators become lists: the first ``take`` items, or all up to a cap."""
    if value is None or _type(value) in _plain or not _is_iterator(value):
        return value
    limit = take if take is not None else MAX_MATERIALIZE + 1
    items = []
    while _len(items) < limit:
        try:
            items.append(_next(value))
        except _stop:
            break
    if take is None and _len(items) > MAX_MATERIALIZE:
        return _TooLong()
    return items


class _TooLong:
    """Stands for an iterator longer than the cap: encodes as opaque."""


def _run(config):
    in_fd, out_fd = config["job_fd"], config["result_fd"]
    isolation = _isolate(config)
    encode_value = make_encoder()
    esc = json.encoder.encode_basestring_ascii
    perf = time.perf_counter
    loads = json.loads
    send = _send
    describe = _describe
    normalize = _normalize
    decode_value = make_decoder()
    send(out_fd, '["ready",' + esc(json.dumps(isolation)) + "]")

    chunks = []
    while True:
        chunk = os.read(in_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(in_fd)
    # The job is a pickle from the parent, loaded before any answer code exists here.
    job = pickle.loads(b"".join(chunks))
    del chunks
    entry, kind, take = job["entry_point"], job["kind"], job["take"]
    code = job["code"]
    # Each call gets a fresh copy of its inputs by loading the parent's pickle of
    # them again (C speed). Inputs pickle would rebuild through a global lookup (such
    # as complex numbers, which the answer could replace in builtins) come in the
    # tagged form and are decoded with the captured decoder instead.
    pickle_loads = pickle.loads
    tests = []
    for index, form, data in job["tests"]:
        if form == "pickle":
            tests.append((index, True, data))
        else:
            tests.append((index, False, loads(data)))
    del job
    send(out_fd, '["prepared"]')

    getattr_, base_exception = getattr, BaseException
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(compile(code, "<answer>", "exec"), namespace)
    except base_exception as exc:
        name, text = describe(exc)
        send(out_fd, '["load_error",' + esc(name) + "," + esc(text) + "]")
        return
    target = namespace.get(entry)
    if target is None:
        send(out_fd, '["load_error","NameError",' + esc(f"{entry} is not defined") + "]")
        return
    send(out_fd, '["loaded"]')

    for index, pickled, args_data in tests:
        started = perf()
        try:
            args = pickle_loads(args_data) if pickled else decode_value(args_data)
            if kind == "class":
                init_args, calls = args
                instance = target(*init_args)
                value = [normalize(getattr_(instance, m)(*a), take) for m, a in calls]
            else:
                value = normalize(target(*args), take)
            text = encode_value(value)
            seconds = perf() - started
            send(out_fd, f'["ok","{index:d}",{text},"{seconds!r}"]')
        except base_exception as exc:
            seconds = perf() - started
            name, message = describe(exc)
            send(
                out_fd,
                f'["raise","{index:d}",{esc(name)},{esc(message)},"{seconds!r}"]',
            )
        finally:
            value = args = None
    send(out_fd, '["done"]')


def _serve(sock_fd):
    """The fork server: one pre-started interpreter that forks a monitor per job.

    Each request on the control socket (a SOCK_SEQPACKET from the parent) carries a
    JSON job description and five descriptors: job pipe, result pipe, stdout, stderr
    and a status pipe. The monitor forks the sandbox child, writes ``pid N`` to the
    status pipe, waits for the child, checks as the sandbox uid whether any process
    of that uid is left, and writes ``exit CODE LEFT``. Only the parent can reach the
    control socket and the status pipe: both are closed in the child before any
    isolation or candidate code runs. The server ends when the parent closes the
    socket (its end of the pair is never inherited by anyone else).
    """
    import signal
    import socket

    if os.fork() > 0:  # detach: the server is nobody's child, its monitors are its own
        os._exit(0)
    # Modules every monitor and child needs, imported once here instead of per job;
    # and ``typing``, which most answers and prompts import (``from typing import
    # List``): 4 ms per child otherwise. A child that changes it changes its own copy.
    import fcntl  # noqa: F401
    import resource  # noqa: F401
    import typing  # noqa: F401

    _libc()
    sock = socket.socket(fileno=sock_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 8)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:
            try:
                sock.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _monitor(json.loads(data), fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)


def _monitor(request, fds):
    job_r, result_w, out_w, err_w, status_w = fds
    for uid in request["uids"]:
        if not _uid_has_processes(uid, stay=False):
            break
    else:
        os.write(status_w, b"busy\n")
        os._exit(0)
    request["config"]["uid"] = uid
    os.chown(request["workdir"], uid, uid)
    pid = os.fork()
    if pid == 0:
        try:
            _child(request, job_r, result_w, out_w, err_w)
        finally:
            os._exit(70)
    for fd in (job_r, result_w, out_w, err_w):
        os.close(fd)
    os.write(status_w, f"pid {pid} {uid}\n".encode())
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 0
            break
    code = os.waitstatus_to_exitcode(status)
    # Root again before reporting: once the parent reads the line, no process of the
    # uid is left, not even this monitor on its way out.
    left = _uid_has_processes(uid, stay=False)
    os.write(status_w, f"exit {code} {left}\n".encode())
    os._exit(0)


def _uid_has_processes(uid, stay):
    """1 when a process of ``uid`` (other than this one) may be alive; else 0.

    This process becomes ``uid`` (real and effective; root stays the saved uid unless
    ``stay``) and lowers its soft ``RLIMIT_NPROC`` to 2: the kernel then lets it fork only
    when it is the sole task counted for that uid (zombies and processes being forked
    count too, so a 0 is proof). Without ``stay`` it turns back into root, limit
    restored. The probe forks once, with no extra prober process. While it is that
    uid, a process of the uid could signal it; the parent treats a monitor that died
    as one whose uid is busy (full sweep)."""
    import resource

    saved = resource.getrlimit(resource.RLIMIT_NPROC)
    groups = os.getgroups()
    try:
        os.setgroups([])
        os.setresgid(uid, uid, 0)
        os.setresuid(uid, uid, 0)
        # the soft limit only: this root may lack CAP_SYS_RESOURCE to raise it back
        resource.setrlimit(resource.RLIMIT_NPROC, (2, saved[1]))
        try:
            pid = os.fork()
        except OSError:
            return 1
        if pid == 0:
            os._exit(0)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        return 0
    except OSError:
        return 1
    finally:
        if not stay:
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
            os.setgroups(groups)
            resource.setrlimit(resource.RLIMIT_NPROC, saved)


def _child(request, job_r, result_w, out_w, err_w):
    """In the forked sandbox child: own session, standard descriptors, nothing else open."""
    import fcntl

    os.setsid()
    devnull = os.open("/dev/null", os.O_RDONLY)
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (devnull, out_w, err_w, job_r, result_w)]
    for target, fd in enumerate(moved):
        os.dup2(fd, target)
    os.closerange(5, 1 << 16)
    os.chdir(request["workdir"])
    os.environ.clear()
    os.environ.update(request["env"])
    config = dict(request["config"], job_fd=3, result_fd=4)
    _main_with(config)


def main(argv):
    if argv[1] == "--serve":
        _serve(int(argv[2]))
        os._exit(0)
    _main_with(json.loads(argv[1]))


def _main_with(config):
    try:
        _run(config)
    except BaseException as exc:  # the harness itself failed: tell stderr, exit non-zero
        try:
            sys.stderr.write(f"harness: {type(exc).__name__}: {exc}\n")
        except BaseException:
            pass
        os._exit(70)
    os._exit(0)


if __name__ == "__main__":
    if math.isfinite(1.0):  # keeps ``math`` imported for candidate code under -S
        main(sys.argv)
