# bond Python driver, stage 2 (Python 2.7 and 3.x).
# Written from the bond protocol description: one frame per line, "VERB" or "VERB <json>".
# Every name defined here starts with _BOND_ or _BOND_, so user code keeps its globals.
import os as _BOND_os
import sys as _BOND_sys
import json as _BOND_json

try:
    _BOND_text = unicode  # Python 2
except NameError:
    _BOND_text = str

_BOND_GLOBALS = globals()
_BOND_DECODER = _BOND_json.JSONDecoder()
_BOND_ENCODER = _BOND_json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                                       default=lambda value: _BOND_block(value))
_BOND_COMPILED = {}  # callable expressions of CALL, compiled once
_BOND_TRANS_EXCEPT = False
_BOND_PICKLE = [False]  # python-bond's PICKLE protocol, for a Python host that asks for it
_BOND_BYTES = [False]  # [ext] BYTES: the host reads byte strings as raw blocks
_BOND_BLOCKS = []  # the blocks of the payload being encoded
_BOND_IN = None
_BOND_OUT = None
_BOND_RUNNING = [False]  # whether user code runs now: only then does an interrupt raise
_BOND_PID = _BOND_os.getpid()
_BOND_FORKED = [False]  # set in a child forked by user code (os.fork, multiprocessing)
_BOND_AT_FORK = hasattr(_BOND_os, "register_at_fork")  # Python 3.7+; else the pid is compared


def _BOND_in_child():
    """Whether this is a child forked by user code, which must never speak the protocol."""
    return _BOND_FORKED[0] or (not _BOND_AT_FORK and _BOND_os.getpid() != _BOND_PID)


def _BOND_on_interrupt(signum, frame):
    if _BOND_RUNNING[0]:
        raise KeyboardInterrupt


class _BOND_SerializationException(TypeError):
    """A value cannot cross the bond."""


class _BOND_RemoteException(Exception):
    """The host answered a call of an exported function with an error; .data holds its payload."""

    def __init__(self, data):
        Exception.__init__(self, data if isinstance(data, _BOND_text) else _BOND_json.dumps(data))
        self.data = data


class _BOND_Framed(bytes):
    """An encoded payload whose byte strings go before it as raw blocks ([ext] BYTES)."""


def _BOND_block(value):
    """The encoder's hook for what JSON has no form for: a byte string becomes a block."""
    if _BOND_BYTES[0] and isinstance(value, (bytes, bytearray, memoryview)):
        _BOND_BLOCKS.append(value)
        return {"__BOND_bytes": len(_BOND_BLOCKS) - 1}
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _BOND_encode(value):
    if _BOND_PICKLE[0]:
        return _BOND_pickle_encode(value)
    try:
        text = _BOND_ENCODER.encode(value)
        if isinstance(text, _BOND_text):
            text = text.encode("utf-8")
        if _BOND_OBJECTS_ON and isinstance(value, (dict, list, tuple)) and b'"$bond"' in text:
            text = _BOND_escaping(value, text)
        if _BOND_BLOCKS:
            text = _BOND_Framed(text)
            text.blocks = _BOND_BLOCKS[:]
            del _BOND_BLOCKS[:]
        return text
    except (TypeError, ValueError, UnicodeError, RecursionError if _BOND_sys.version_info >= (3, 5) else RuntimeError) as error:
        del _BOND_BLOCKS[:]
        raise _BOND_SerializationException(_BOND_describe(error))


def _BOND_pickle_encode(value):
    """python-bond's PICKLE payload: the Python literal of pickle.dumps((value,), 0)."""
    import pickle
    try:
        return repr(pickle.dumps((value,), 0)).encode("utf-8")
    except Exception as error:
        raise _BOND_SerializationException(_BOND_describe(error))


def _BOND_pickle_decode(text):
    """A PICKLE payload read back: the bytes literal evaluated, unpickled, its element 0."""
    import ast, pickle
    data = ast.literal_eval(text)
    if not isinstance(data, bytes):
        data = data.encode("latin-1")
    return pickle.loads(data)[0]


def _BOND_describe(error):
    try:
        message = _BOND_text(error)
    except Exception:
        message = repr(error)
    name = type(error).__name__
    return name + ": " + message if message else name


def _BOND_exception_value(error):
    if not _BOND_TRANS_EXCEPT:
        return _BOND_describe(error)
    if isinstance(error, _BOND_RemoteException):
        return error.data
    if _BOND_PICKLE[0]:  # the exception object itself, when it pickles
        try:
            _BOND_pickle_encode(error)
            return error
        except _BOND_SerializationException:
            return _BOND_describe(error)
    value = {"type": type(error).__name__, "message": _BOND_describe(error)}
    try:
        _BOND_encode(list(error.args))
        value["args"] = list(error.args)
    except Exception:
        pass
    return value


def _BOND_spare_cpu():
    """Whether this process may run on more than one processor (its affinity mask)."""
    try:
        return len(_BOND_os.sched_getaffinity(0)) > 1
    except Exception:  # Python 2, or no such call here: ask /proc
        pass
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Cpus_allowed_list:"):
                    count = 0
                    for part in line.split(":", 1)[1].strip().split(","):
                        ends = part.split("-")
                        count += int(ends[-1]) - int(ends[0]) + 1
                    return count > 1
    except (IOError, OSError, ValueError):
        pass
    return True


class _BOND_LineReader(object):
    """Reads protocol lines from a non-blocking descriptor. When nothing is there yet it tries
    again for up to 50 microseconds before it sleeps in select(): the host usually sends the
    next request within that time, and a sleep and wake-up costs more than the request."""

    def __init__(self, fd):
        import errno, select, time
        # A second, non-blocking open of the same pipe: its flag must not touch the shared
        # description (over ssh, standard input and output can be one socket, which cannot be
        # opened again; then reads simply block). With a single processor to run on, reads
        # block at once: looking again would only keep the host from answering.
        self.fd = fd
        if _BOND_spare_cpu():
            try:
                self.fd = _BOND_os.open("/proc/self/fd/%d" % fd, _BOND_os.O_RDONLY | _BOND_os.O_NONBLOCK)
            except OSError:
                pass
        self.buffer = bytearray()
        self.scanned = 0
        # (Blocks: a blocking reader of the same pipe that reads exactly what is asked, straight
        # into the bytes it returns: with a buffer of one byte it never reads ahead.)
        import io
        self.blocks = io.BufferedReader(io.FileIO(fd, "rb", closefd=False), buffer_size=1)
        self.select = select.select
        self.clock = getattr(time, "perf_counter", time.time)
        self.again = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)

    def read_block(self, count):
        """[ext] BYTES: the next `count` bytes, raw (a block), and the end of line after them.
        What the line reads brought of it is taken first; the rest is read through a blocking
        reader of the pipe straight into one bytes object (the block is copied at most once)."""
        have = min(count, len(self.buffer))
        block = bytes(self.buffer[:have])
        del self.buffer[:have]
        self.scanned = 0
        if have < count:
            rest = self.blocks.read(count - have)
            if rest is None or len(rest) < count - have:
                raise EOFError("the input ended in a block")
            block = block + rest if block else rest
        if self.buffer:
            del self.buffer[:1]
        elif not self.blocks.read(1):
            raise EOFError("the input ended in a block")
        return block

    def readline(self):
        buffer = self.buffer
        spin_until = None
        while True:
            end = buffer.find(b"\n", self.scanned)
            if end >= 0:
                line = bytes(buffer[:end + 1])
                del buffer[:end + 1]
                self.scanned = 0
                return line
            self.scanned = len(buffer)
            try:
                chunk = _BOND_os.read(self.fd, 1 << 20)
            except OSError as error:
                if error.errno not in self.again:
                    raise
                now = self.clock()
                if spin_until is None:
                    spin_until = now + 0.00005
                if now >= spin_until:
                    try:
                        self.select([self.fd], [], [])
                    except Exception:  # EINTR (Python 2 raises select.error); read tells the rest
                        pass
                continue
            if not chunk:
                rest = bytes(buffer)
                del buffer[:]
                return rest
            buffer += chunk


class _BOND_Channel(object):
    """sys.stdout / sys.stderr of user code: text goes to the host as OUTPUT frames,
    streamed at each end of line and whenever it is flushed."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name, fd):
        self.name = name
        self.fd = fd
        self.pending = []

    def write(self, text):
        if isinstance(text, bytes) and not isinstance(text, _BOND_text):
            text = text.decode("utf-8", "replace")
        if not text:
            return 0
        self.pending.append(text)
        if "\n" in text:
            self.flush()
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self.pending:
            text = "".join(self.pending)
            self.pending = []
            if _BOND_in_child():  # plain text on the interpreter's stderr
                _BOND_os.write(2, text.encode("utf-8", "replace"))
                return
            _BOND_write_frame("OUTPUT", _BOND_encode([self.name, text]))

    def isatty(self):
        return False

    def fileno(self):
        return self.fd

    def writable(self):
        return True

    def readable(self):
        return False


def _BOND_write_frame(verb, payload=None):
    if _BOND_in_child():
        return
    if _BOND_RELEASED:
        _BOND_OUT.write(_BOND_release_line())
    # Written in pieces: a big payload goes straight from its own buffer to the pipe.
    if payload is None:
        _BOND_OUT.write(verb.encode("ascii") + b"\n")
    else:
        if type(payload) is _BOND_Framed:  # [ext] BYTES: raw blocks, before the frame
            for block in payload.blocks:
                _BOND_OUT.write(("BYTES %d\n" % len(block)).encode("ascii"))
                _BOND_OUT.write(block)
                _BOND_OUT.write(b"\n")
        _BOND_OUT.write(verb.encode("ascii") + b" ")
        _BOND_OUT.write(payload)
        _BOND_OUT.write(b"\n")
    _BOND_OUT.flush()


def _BOND_send(verb, payload=None):
    _BOND_sys.stdout.flush()
    _BOND_sys.stderr.flush()
    _BOND_write_frame(verb, payload)


def _BOND_reply(state, value):
    try:
        if type(value) is _BOND_Encoded:
            state, payload = value.state, value.payload
        else:
            payload = _BOND_encode(value)
    except _BOND_SerializationException as error:
        state, payload = "ERROR", _BOND_encode(_BOND_text(error))
    _BOND_send(state, payload)


def _BOND_read():
    """The next frame as (verb, data); (None, None) at end of input."""
    line = _BOND_IN.readline()
    blocks = None
    while _BOND_BYTES[0] and line.startswith(b"BYTES "):  # [ext] raw blocks before the frame
        try:
            block = _BOND_IN.read_block(int(line[6:]))
        except EOFError:
            return None, None
        blocks = blocks or []
        blocks.append(block)
        line = _BOND_IN.readline()
    if not line:
        return None, None
    if blocks is not None:
        return _BOND_read_with_blocks(line, blocks)
    space = line.find(b" ", 0, 16)
    if space < 0:
        return line.rstrip(b"\r\n").decode("ascii", "replace"), None
    # One decoding of the whole line, then JSON read in place from after the verb (no slices).
    text = line.decode("utf-8")
    if _BOND_PICKLE[0]:
        return text[:space], _BOND_pickle_decode(text[space + 1:].strip())
    data, end = _BOND_DECODER.raw_decode(text, space + 1)
    if text[end:].strip():
        raise ValueError("extra data after the JSON payload")
    return text[:space], data


def _BOND_read_with_blocks(line, blocks):
    """[ext] BYTES: a frame whose payload refers to raw blocks."""
    def block(members):
        if len(members) == 1 and type(members.get("__BOND_bytes")) is int and 0 <= members["__BOND_bytes"] < len(blocks):
            return blocks[members["__BOND_bytes"]]
        return _BOND_unmark(members) if _BOND_OBJECTS_ON else members
    space = line.find(b" ")
    if space < 0:
        return line.rstrip(b"\r\n").decode("ascii", "replace"), None
    return line[:space].decode("ascii"), _BOND_json.loads(line[space + 1:].decode("utf-8"), object_hook=block)


def _BOND_callable(name):
    code = _BOND_COMPILED.get(name)
    if code is None:
        code = compile(name, "<bond>", "eval")
        if len(_BOND_COMPILED) > 1000:
            _BOND_COMPILED.clear()
        _BOND_COMPILED[name] = code
    return eval(code, _BOND_GLOBALS)


def _BOND_export(name, keywords=False):
    if keywords:  # [ext] KEYWORDS: the host's function takes keyword arguments too
        def exported(*args, **kwargs):
            return _BOND_call(name, list(args), kwargs)
    else:
        def exported(*args):
            return _BOND_call(name, list(args))
    exported.__name__ = str(name)
    _BOND_GLOBALS[name] = exported


def _BOND_call(name, args, kwargs=None):
    """Calls the host's exported function `name`; serves nested requests meanwhile."""
    if _BOND_in_child():  # it would read the driver's requests
        raise RuntimeError(name + " cannot be called from a child process: it is exported by the host")
    try:
        payload = _BOND_encode([name, args, kwargs] if kwargs else [name, args])
    except _BOND_SerializationException as error:
        raise _BOND_SerializationException("cannot serialize the arguments of %s: %s" % (name, error))
    return _BOND_ask_host("CALL", payload)


def _BOND_ask_host(verb, payload):
    """Sends a request to the host (a CALL, or a proxy's request) and serves nested requests
    until its answer: the value, or the host's error raised."""
    running = _BOND_RUNNING[0]
    # No interrupt may cut the conversation while the host answers: off before the request is
    # sent (the host may interrupt as soon as it reads it; raised here, it would leave the
    # host's answer to reach the top level, which ends the driver).
    _BOND_RUNNING[0] = False
    try:
        _BOND_send(verb, payload)
        answer, data = _BOND_serve(True)
    finally:
        _BOND_RUNNING[0] = running
    if answer == "RETURN":
        return data
    if answer == "EXCEPT":
        if isinstance(data, BaseException):  # PICKLE with transparent exceptions: the object itself
            raise data
        raise _BOND_RemoteException(data)
    raise _BOND_SerializationException(data)


class _BOND_Encoded(object):
    """A reply payload already encoded (RUN encodes its own, to describe what cannot be)."""

    def __init__(self, payload, state="RETURN"):
        self.payload = payload
        self.state = state


try:
    _BOND_INTEGERS = (int, long)  # Python 2
except NameError:
    _BOND_INTEGERS = (int,)


def _BOND_check_integers(value, depth=0):
    """Raises when `value` holds an integer that our host cannot read (beyond 64 bits)."""
    if isinstance(value, _BOND_INTEGERS) and not isinstance(value, bool):
        if not -(1 << 63) <= value < (1 << 63):
            raise _BOND_SerializationException("cannot serialize an integer beyond 64 bits")
    elif depth < 10000 and isinstance(value, (list, tuple)):
        for item in value:
            _BOND_check_integers(item, depth + 1)
    elif depth < 10000 and isinstance(value, dict):
        for item in value.values():
            _BOND_check_integers(item, depth + 1)


def _BOND_run(data):
    """[ext] RUN: REPL input (statements, then the value of a final expression) or one
    expression; a value that cannot be serialized is described when asked."""
    code = data["code"]
    if data.get("mode") == "expression":
        value = eval(compile(code, "<input>", "eval"), _BOND_GLOBALS)
    else:
        import ast
        tree = compile(code, "<input>", "exec", ast.PyCF_ONLY_AST)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if tree.body:
            exec(compile(tree, "<input>", "exec"), _BOND_GLOBALS)
        if last is None:
            return _BOND_Encoded(b"{}")
        value = eval(compile(ast.Expression(last.value), "<input>", "eval"), _BOND_GLOBALS)
        if value is None:
            return _BOND_Encoded(b"{}")
    try:
        if data.get("unserializable") == "handle":
            return _BOND_Encoded(_BOND_encode_handles({"value": value}))
        _BOND_check_integers(value)
        return _BOND_Encoded(_BOND_encode({"value": value}))
    except (_BOND_SerializationException, RuntimeError) as error:
        if data.get("unserializable") != "describe":
            return _BOND_Encoded(_BOND_encode(_BOND_text(error)), "ERROR")
    return _BOND_Encoded(_BOND_encode({"description": repr(value), "type": type(value).__name__}))


def _BOND_execute(verb, data):
    if verb == "EVAL":
        return eval(data, _BOND_GLOBALS)
    if verb == "EVAL_BLOCK":
        exec(data, _BOND_GLOBALS)
        return None
    if verb == "CALL":
        if len(data) > 2:  # [ext] KEYWORDS
            return _BOND_callable(data[0])(*data[1], **data[2])
        return _BOND_callable(data[0])(*data[1])
    if verb == "XCALL":
        args = [eval(code, _BOND_GLOBALS) if is_ref else code for is_ref, code in data[1]]
        return _BOND_callable(data[0])(*args, **(data[2] if len(data) > 2 else {}))
    if verb == "EXPORT":
        keywords = isinstance(data, dict) and data.get("keywords") is True  # [ext] KEYWORDS
        if keywords:
            data = data.get("name")
        if not isinstance(data, _BOND_text) or not data or not (data[0].isalpha() or data[0] == "_") \
                or not data.replace("_", "a").isalnum():
            raise NameError("invalid name for an exported function: " + repr(data))
        _BOND_export(data, keywords)
        return None
    if verb == "RUN":
        return _BOND_run(data)
    if verb in _BOND_OBJECT_REQUESTS and _BOND_OBJECTS_ON:
        return _BOND_object_request(verb, data)
    raise ValueError("unknown request " + repr(verb))


def _BOND_bye():
    """Leaves: the host closed our input (or is gone), or sent a reply to no call; says
    goodbye if the host can still hear it."""
    try:
        _BOND_send("BYE")
    except Exception:
        pass
    _BOND_sys.exit(0)


def _BOND_serve(nested):
    """Serves requests; returns the first reply (RETURN/EXCEPT/ERROR) when nested."""
    while True:
        try:
            verb, data = _BOND_read()
        except ValueError as error:
            _BOND_reply("ERROR", "cannot read the request: " + _BOND_describe(error))
            continue
        if verb is None:
            _BOND_bye()
        if verb in ("RETURN", "EXCEPT", "ERROR"):
            if nested:
                return verb, data
            _BOND_bye()  # a reply with no call pending ends the top level loop (as python-bond's drivers do)
        if verb == "RELEASE" and _BOND_OBJECTS_ON:
            _BOND_release(data)
            continue
        outer = _BOND_RUNNING[0]
        try:
            _BOND_RUNNING[0] = True
            value = _BOND_execute(verb, data)
            state = "RETURN"
        except SystemExit:
            _BOND_sys.stdout.flush()
            _BOND_sys.stderr.flush()
            raise
        except _BOND_SerializationException as error:  # a value that cannot cross: ERROR, as python-bond answers
            state, value = "ERROR", _BOND_text(error)
        except BaseException as error:
            state, value = "EXCEPT", _BOND_exception_value(error)
        finally:
            _BOND_RUNNING[0] = outer
        if _BOND_in_child():  # a child forked by the request came back here: it ends
            _BOND_sys.stdout.flush()
            _BOND_sys.stderr.flush()
            _BOND_os._exit(0)
        _BOND_reply(state, value)


# [ext] OBJECTS: live remote objects (docs/protocol.md, "The OBJECTS extension"). Off
# unless the host switched it on at start-up: then a JSON object with a "$bond" member is a
# marker, both ways, and a user dict with such a member is sent escaped.

_BOND_OBJECTS_ON = False
_BOND_TABLE = {}  # handle id -> the object the host holds
_BOND_LAST_ID = [0]
_BOND_RELEASED = []  # ids of proxies collected here, for the host with our next frame
_BOND_HANDLES = [False, {}]  # whether the value being encoded makes handles; its markers by id()
_BOND_OBJECT_REQUESTS = ("OBJECT", "OCALL", "OGET", "ODESCRIBE")


class _BOND_Marker(dict):
    """A marker written by the driver (a plain dict with "$bond" is user data, and escaped)."""
    __slots__ = ()


def _BOND_keep(value):
    """A new handle: the value goes into the table; its marker."""
    _BOND_LAST_ID[0] += 1
    _BOND_TABLE[_BOND_LAST_ID[0]] = value
    return _BOND_Marker({"$bond": "handle", "id": _BOND_LAST_ID[0], "type": type(value).__name__})


def _BOND_object(handle_id):
    try:
        return _BOND_TABLE[handle_id]
    except (KeyError, TypeError):
        raise ValueError("no object %r here (released, or never made)" % (handle_id,))


def _BOND_default(value):
    """The encoder's hook for what JSON cannot carry: proxies go back as themselves; other
    values become handles where the request asked for them."""
    if type(value) is _BOND_Proxy:
        return _BOND_Marker({"$bond": "proxy", "id": object.__getattribute__(value, "_BOND_id")})
    if _BOND_BYTES[0] and isinstance(value, (bytes, bytearray, memoryview)):
        return _BOND_block(value)  # [ext] BYTES: data, not a handle
    if _BOND_HANDLES[0]:
        marker = _BOND_HANDLES[1].get(id(value))
        if marker is None:
            marker = _BOND_HANDLES[1][id(value)] = _BOND_keep(value)
        return marker
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _BOND_encode_handles(value):
    """Encodes `value`, making handles of what is not data (at any depth), numbers among them:
    integers beyond 64 bits (JSON writes those, but our host cannot read them), NaN and
    infinities."""
    _BOND_HANDLES[0] = True
    _BOND_HANDLES[1] = {}
    try:
        if _BOND_unreadable_number(value):
            value = _BOND_numbers_kept(value)
        return _BOND_encode(value)
    finally:
        _BOND_HANDLES[0] = False
        _BOND_HANDLES[1] = {}


_BOND_INFINITIES = (float("inf"), float("-inf"))


def _BOND_is_unreadable_number(value):
    """An integer beyond 64 bits, NaN or an infinity: no data for our host."""
    if isinstance(value, float):
        return value != value or value in _BOND_INFINITIES
    return isinstance(value, _BOND_INTEGERS) and not isinstance(value, bool) and not -(1 << 63) <= value < (1 << 63)


def _BOND_unreadable_number(value, depth=0):
    """Whether `value` holds a number that is no data for our host (a walk as
    `_BOND_check_integers` makes: as fast)."""
    if isinstance(value, float):
        return value != value or value in _BOND_INFINITIES
    if isinstance(value, _BOND_INTEGERS):
        return not isinstance(value, bool) and not -(1 << 63) <= value < (1 << 63)
    if depth < 10000 and isinstance(value, (list, tuple)):
        for item in value:
            if _BOND_unreadable_number(item, depth + 1):
                return True
    elif depth < 10000 and isinstance(value, dict):
        for item in value.values():
            if _BOND_unreadable_number(item, depth + 1):
                return True
    return False


def _BOND_numbers_kept(value, depth=0):
    """`value` with each number that is no data for our host made a handle (lists and dicts
    copied; only called when `_BOND_unreadable_number` found one)."""
    if _BOND_is_unreadable_number(value):
        return _BOND_default(value)
    if depth < 10000 and isinstance(value, (list, tuple)):
        return [_BOND_numbers_kept(item, depth + 1) for item in value]
    if depth < 10000 and isinstance(value, dict) and type(value) is not _BOND_Marker:
        return dict((k, _BOND_numbers_kept(v, depth + 1)) for k, v in value.items())
    return value


def _BOND_escaped(value, depth=0):
    """`value` with each user dict that has a "$bond" member escaped as {"$bond": "map", ...}."""
    if depth > 10000:
        return value
    if isinstance(value, dict) and type(value) is not _BOND_Marker:
        if "$bond" in value:
            return _BOND_Marker({"$bond": "map", "items": [[k, _BOND_escaped(v, depth + 1)] for k, v in value.items()]})
        return dict((k, _BOND_escaped(v, depth + 1)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_BOND_escaped(v, depth + 1) for v in value]
    return value


def _BOND_escaping(value, text):
    """The encoding of `value` when "$bond" is in its text: as it is when that came from the
    driver's own markers, else again with the user's dicts escaped (the same handles reused)."""
    if not _BOND_user_marker_key(value):
        return text
    del _BOND_BLOCKS[:]  # ([ext] BYTES: encoded again, so are they)
    text = _BOND_ENCODER.encode(_BOND_escaped(value))
    return text.encode("utf-8") if isinstance(text, _BOND_text) else text


def _BOND_user_marker_key(value, depth=0):
    """Whether a user dict in `value` has a "$bond" member."""
    if depth > 10000:
        return False
    if isinstance(value, dict) and type(value) is not _BOND_Marker:
        return "$bond" in value or any(_BOND_user_marker_key(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_BOND_user_marker_key(v, depth + 1) for v in value)
    return False


def _BOND_unmark(members):
    """The decoder's hook: markers from the host become objects, proxies and maps again."""
    kind = members.get("$bond")
    if kind is None:
        return members
    if kind == "handle":
        return _BOND_object(members.get("id"))
    if kind == "proxy":
        return _BOND_Proxy(members["id"], members.get("type", "object"))
    if kind == "map":
        return dict((k, v) for k, v in members["items"])
    raise ValueError("unknown marker " + repr(kind))


class _BOND_Proxy(object):
    """A handle of another bond, passed here by the host: reading an attribute (a method
    included) and calling it run in the bond that owns the object, through the host."""

    __slots__ = ("_BOND_id", "_BOND_type", "__weakref__")

    def __init__(self, proxy_id, type_name):
        object.__setattr__(self, "_BOND_id", proxy_id)
        object.__setattr__(self, "_BOND_type", type_name)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _BOND_ask("OGET", [object.__getattribute__(self, "_BOND_id"), name, "handle"])

    def __call__(self, *args, **kwargs):
        payload = [object.__getattribute__(self, "_BOND_id"), None, list(args), "handle"]
        if kwargs:  # [ext] KEYWORDS: for the owning bond, as a fifth element
            payload.append(kwargs)
        return _BOND_ask("OCALL", payload)

    def __repr__(self):
        try:
            return _BOND_ask("ODESCRIBE", object.__getattribute__(self, "_BOND_id"))["description"]
        except Exception:
            return "<proxy of a %s>" % object.__getattribute__(self, "_BOND_type")

    def __del__(self):
        try:
            _BOND_RELEASED.append(object.__getattribute__(self, "_BOND_id"))
        except Exception:  # interpreter shutting down
            pass


def _BOND_ask(verb, payload):
    """Sends a proxy's request to the host (what is not data goes as handles of ours) and
    serves nested requests until its answer."""
    if _BOND_in_child():
        raise RuntimeError("a proxy cannot be used from a child process")
    return _BOND_ask_host(verb, _BOND_encode_handles(payload))


def _BOND_release(ids):
    """RELEASE from the host: its handles went."""
    for handle_id in ids if isinstance(ids, list) else ():
        _BOND_TABLE.pop(handle_id, None)


def _BOND_release_line():
    """The RELEASE notice for the proxies collected since the last frame (taken once)."""
    ids = _BOND_RELEASED[:]
    del _BOND_RELEASED[:len(ids)]
    return b"RELEASE " + _BOND_ENCODER.encode(ids).encode("ascii") + b"\n"


def _BOND_object_request(verb, data):
    """OBJECT, OCALL, OGET, ODESCRIBE from the host."""
    if verb == "OBJECT":
        return _BOND_Encoded(_BOND_encode(_BOND_keep(eval(data, _BOND_GLOBALS))))
    if verb == "ODESCRIBE":
        target = _BOND_object(data)
        return {"type": type(target).__name__, "description": repr(target)}
    target = _BOND_object(data[0])
    if verb == "OCALL":
        method = target if data[1] is None else getattr(target, data[1])
        value = method(*data[2], **data[4]) if len(data) > 4 and data[4] else method(*data[2])  # [ext] KEYWORDS
        mode = data[3] if len(data) > 3 else "error"
    else:
        value = getattr(target, data[1])
        mode = data[2] if len(data) > 2 else "error"
    if mode != "handle":
        return value
    try:
        return _BOND_Encoded(_BOND_encode_handles(value))
    except _BOND_SerializationException as error:
        return _BOND_Encoded(_BOND_encode(_BOND_text(error)), "ERROR")


def _BOND_objects_on():
    # Requests are decoded with a hook on every JSON object (none is called for a payload
    # without objects: a big string costs nothing more); a reply's text is searched for
    # "$bond" only when its value is a container (only a dict can need escaping).
    global _BOND_ENCODER, _BOND_DECODER, _BOND_OBJECTS_ON
    _BOND_OBJECTS_ON = True
    _BOND_ENCODER = _BOND_json.JSONEncoder(
        ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_BOND_default)
    _BOND_DECODER = _BOND_json.JSONDecoder(object_hook=_BOND_unmark)


def __BOND_start(proto, trans_except, extensions=()):
    global _BOND_IN, _BOND_OUT, _BOND_TRANS_EXCEPT
    if proto not in ("JSON", "PICKLE"):
        raise ValueError("unknown protocol " + repr(proto))
    _BOND_PICKLE[0] = proto == "PICKLE"
    _BOND_BYTES[0] = "BYTES" in extensions and not _BOND_PICKLE[0]  # [ext] only a host that reads them
    _BOND_TRANS_EXCEPT = bool(trans_except)
    if "OBJECTS" in extensions:
        _BOND_objects_on()
    if _BOND_AT_FORK:
        _BOND_os.register_at_fork(after_in_child=lambda: _BOND_FORKED.__setitem__(0, True))
    try:
        import signal
        signal.signal(signal.SIGINT, _BOND_on_interrupt)
    except (ImportError, ValueError):
        pass
    _BOND_sys.stdout.flush()
    _BOND_sys.stderr.flush()
    # [ext] Keep the protocol on private descriptors; point fd 1 at fd 2 and fd 0 at
    # /dev/null, so programs started by user code can neither corrupt nor eat frames.
    out_fd = _BOND_os.dup(1)
    in_fd = _BOND_os.dup(0)
    _BOND_os.dup2(2, 1)
    null_fd = _BOND_os.open(_BOND_os.devnull, _BOND_os.O_RDONLY)
    _BOND_os.dup2(null_fd, 0)
    _BOND_os.close(null_fd)
    try:
        import fcntl
        for fd in (out_fd, in_fd):
            fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
    except ImportError:
        pass
    _BOND_IN = _BOND_LineReader(in_fd)
    _BOND_OUT = _BOND_os.fdopen(out_fd, "wb")
    _BOND_sys.stdout = _BOND_Channel("STDOUT", 1)
    _BOND_sys.stderr = _BOND_Channel("STDERR", 2)
    _BOND_sys.ps1 = _BOND_sys.ps2 = ""
    _BOND_write_frame("READY")
    _BOND_serve(False)
