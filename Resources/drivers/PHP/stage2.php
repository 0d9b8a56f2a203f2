<?php
// PHP bond driver, stage 2 (the driver itself).
//
// Sent by the host as data and evaluated by stage 1 at the top level, then
// started with _BOND_start($protocol, $trans_except, $stdin); stage 1 then
// serves the requests (see _BOND_request). Written from the wire protocol in
// docs/protocol.md. PHP 7.4 and 8.x; pcntl and FFI are used when present
// (interrupts; stray output with `php -r`), never required.

final class _BOND
{
    public static $in;              // private duplicate of fd 0 (requests)
    public static $out;             // private duplicate of fd 1 (frames)
    public static $trans = false;   // transparent exceptions
    public static $gone = false;    // BYE was sent
    public static $pid;             // a child forked by evaluated code must not speak the protocol
    public static $known = 0;       // when this process was last known to be the driver's (hrtime)
    public static $err;             // the interpreter's stderr, for such a child
    public static $buf = array('STDOUT' => '', 'STDERR' => '');
    public static $held = false;    // $buf may hold text (a flag is cheaper to test than both)
    public static $keep = array();  // streams that must stay open
    public static $imports = array();
    public static $args = array();  // argument values of the CALLs running
    public static $job = null;      // the top level request being evaluated
    public static $exports = array();
    public static $armed = false;   // SIGINT interrupts: a request's code is running
    public static $writing = false; // a frame is being written: an interrupt waits
    public static $pending = false; // an interrupt came while a frame was written
    public static $bytes = false;   // [ext] BYTES: the host reads byte strings as raw blocks
    public static $blocksIn = array();   // the blocks read before the frame being decoded
    public static $blocksOut = array();  // the blocks of the payload encoded last
    public static $super = array('GLOBALS' => 1, '_SERVER' => 1, '_GET' => 1, '_POST' => 1, '_COOKIE' => 1,
                                 '_FILES' => 1, '_ENV' => 1, '_REQUEST' => 1, '_SESSION' => 1, 'this' => 1);
    public static $verbs = array('CALL' => 1, 'XCALL' => 1, 'EVAL' => 1, 'EVAL_BLOCK' => 1, 'EXPORT' => 1, 'RUN' => 1,
                                 'RETURN' => 1, 'EXCEPT' => 1, 'ERROR' => 1);   // well-formed for sure
    const JSON = 1344;  // JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
}

class _BOND_SerializationException extends Exception
{
}

// [ext] BYTES: a string marked as bytes (_BOND_bytes()): it crosses as a byte string, a raw
// block before the frame, even when it is valid UTF-8 text.
final class _BOND_Bytes implements JsonSerializable
{
    public $bytes;

    public function __construct($bytes)
    {
        $this->bytes = $bytes;
    }

    #[\ReturnTypeWillChange]
    public function jsonSerialize()
    {
        if (!_BOND::$bytes) {
            throw new _BOND_SerializationException('cannot serialize bytes: the host does not read them (the BYTES extension)');
        }
        _BOND::$blocksOut[] = $this->bytes;
        return array('__BOND_bytes' => count(_BOND::$blocksOut) - 1);
    }
}

// [ext] BYTES: marks a string as bytes: return _BOND_bytes($data).
function _BOND_bytes($string)
{
    return new _BOND_Bytes((string)$string);
}

// [ext] BYTES: $v with each string that is not valid UTF-8 marked as bytes (in arrays and
// plain objects), for a second json_encode when the first met one.
function _BOND_mark_bytes($v, $depth = 0)
{
    if (is_string($v)) {
        return preg_match('//u', $v) === 1 ? $v : new _BOND_Bytes($v);
    }
    if ($depth < 512 && (is_array($v) || $v instanceof stdClass)) {
        $out = is_array($v) ? array() : new stdClass();
        foreach ($v as $key => $item) {
            if (is_array($out)) {
                $out[$key] = _BOND_mark_bytes($item, $depth + 1);
            } else {
                $out->$key = _BOND_mark_bytes($item, $depth + 1);
            }
        }
        return $out;
    }
    return $v;
}

// [ext] BYTES: json_encode($v), and when $v holds a string that is not UTF-8, the same with
// such strings as blocks (_BOND::$blocksOut).
function _BOND_json($v, $flags = _BOND::JSON)
{
    _BOND::$blocksOut = array();
    $json = json_encode($v, $flags);
    if ($json === false && _BOND::$bytes && json_last_error() === JSON_ERROR_UTF8) {
        _BOND::$blocksOut = array();
        $json = json_encode(_BOND_mark_bytes($v), $flags);
    }
    return $json;
}

// [ext] BYTES: the raw blocks of the payload encoded last, written before its frame
// ("BYTES <length>\n", the bytes, "\n" each), taken.
// [ext] BYTES: writes the raw blocks of the payload encoded last, each "BYTES <length>\n", its
// bytes, "\n", before the frame that refers to them; releases ([ext] OBJECTS) before them.
// [speed] Each block is written from its own string: joined into the frame's line, a 64 MiB
// block was copied twice more (0.06 s).
function _BOND_write_blocks()
{
    if (_BOND_Objects::$released) {
        _BOND_put(_BOND_release_line());
    }
    foreach (_BOND::$blocksOut as $block) {
        _BOND_put('BYTES ' . strlen($block) . "\n");
        _BOND_put($block);
        _BOND_put("\n");
    }
    _BOND::$blocksOut = array();
}

// The blocks of the payload encoded last as text, for a frame written later (a proxy's request).
function _BOND_blocks_text()
{
    $text = '';
    foreach (_BOND::$blocksOut as $block) {
        $text .= 'BYTES ' . strlen($block) . "\n" . $block . "\n";
    }
    _BOND::$blocksOut = array();
    return $text;
}

// [ext] BYTES: reads the raw blocks announced by $line ("BYTES <length>") and any after it
// into _BOND::$blocksIn; returns the frame line that follows them.
function _BOND_read_blocks($line)
{
    _BOND::$blocksIn = array();
    while (strncmp($line, 'BYTES ', 6) === 0) {
        _BOND::$blocksIn[] = _BOND_read_block((int)substr($line, 6));
        $line = _BOND_read_line();
    }
    return $line;
}

// The raw block of $count bytes that a BYTES line announced (and its end of line).
// [speed] Read in pieces of at most 1 MiB, joined once: PHP's fread allocates the size asked
// for, and a string grown by .= is copied as it grows (a 64 MiB block took 0.5 s, now 0.05).
function _BOND_read_block($count)
{
    $want = $count + 1;   // (with its "\n")
    $pieces = array();
    $have = 0;
    $buffer = _BOND_Input::$buffer;
    if ($buffer !== '') {
        $pieces[] = $piece = (string)substr($buffer, _BOND_Input::$start, $want);
        $have = strlen($piece);
        _BOND_Input::$buffer = (string)substr($buffer, _BOND_Input::$start + $have);
        _BOND_Input::$start = 0;
    }
    if ($want - $have > 1048576) {
        // [speed] The rest of a big block in one read into one string: blocking meanwhile,
        // PHP reads to its end straight into the string it returns.
        $blocked = stream_get_meta_data(_BOND::$in)['blocked'];
        stream_set_blocking(_BOND::$in, true);
        $piece = stream_get_contents(_BOND::$in, $want - $have);
        stream_set_blocking(_BOND::$in, $blocked);
        if ($piece === false || $piece === '') {
            _BOND_bye();
        }
        $pieces[] = $piece;
        $have += strlen($piece);
    }
    while ($have < $want) {
        $piece = fread(_BOND::$in, min($want - $have, 1048576));
        if ($piece === false) {
            _BOND_bye();
        }
        if ($piece === '') {
            _BOND_wait_for_input(0);
            continue;
        }
        $pieces[] = $piece;
        $have += strlen($piece);
    }
    $last = count($pieces) - 1;
    $pieces[$last] = substr($pieces[$last], 0, -1);   // (the "\n" after the block)
    return $last === 0 ? $pieces[0] : implode('', $pieces);
}

// [ext] BYTES: a decoded payload with each {"__BOND_bytes": i} replaced by the i-th block read
// before its frame (which are then let go).
function _BOND_with_blocks($v)
{
    $blocks = _BOND::$blocksIn;
    _BOND::$blocksIn = array();
    return _BOND_put_blocks($v, $blocks);
}

function _BOND_put_blocks($v, $blocks, $depth = 0)
{
    if (!is_array($v) || $depth > 10000) {
        return $v;
    }
    if (count($v) === 1 && is_int($v['__BOND_bytes'] ?? null) && isset($blocks[$v['__BOND_bytes']])) {
        return $blocks[$v['__BOND_bytes']];
    }
    foreach ($v as $key => $item) {
        if (is_array($item)) {
            $v[$key] = _BOND_put_blocks($item, $blocks, $depth + 1);
        }
    }
    return $v;
}

class _BOND_RemoteException extends Exception
{
    public $data;
}

// Raised by an interrupt (SIGINT) while a request runs. Like an engine Error
// it is not an Exception, so "catch (Exception $e)" does not swallow it.
class _BOND_Interrupt extends Error
{
}

// ---------------------------------------------------------------------------
// Nested requests (made while an exported function waits for the host) run
// here, in a function whose local scope mirrors the global one: globals are imported by reference before, and variables created,
// rebound or unset by the code are written back after. The code is
// func_get_arg(0); CALL arguments are in _BOND::$args: no driver variable is
// visible to the evaluated code.
function _BOND_scope()
{
    $__BOND_names = array();
    foreach (array_keys($GLOBALS) as $__BOND_name) {
        if (!isset(_BOND::$super[$__BOND_name]) && strncmp($__BOND_name, '__BOND_', 7) !== 0) {
            $$__BOND_name = &$GLOBALS[$__BOND_name];
            $__BOND_names[] = $__BOND_name;
        }
    }
    _BOND::$imports[] = $__BOND_names;
    unset($__BOND_name, $__BOND_names);
    try {
        return eval(func_get_arg(0));
    } finally {
        $__BOND_vars = get_defined_vars();
        foreach (array_pop(_BOND::$imports) as $__BOND_name) {
            if (!array_key_exists($__BOND_name, $__BOND_vars)) {
                unset($GLOBALS[$__BOND_name]);             // unset by the code
            } elseif (array_key_exists($__BOND_name, $GLOBALS)) {
                $GLOBALS[$__BOND_name] = &$$__BOND_name;   // keeps rebinding
            }
            unset($__BOND_vars[$__BOND_name]);
        }
        foreach ($__BOND_vars as $__BOND_name => $__BOND_value) {
            if (!isset(_BOND::$super[$__BOND_name]) && strncmp($__BOND_name, '__BOND_', 7) !== 0) {
                $GLOBALS[$__BOND_name] = &$$__BOND_name;   // created by the code
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Frames

// Writes one frame while interrupts may come. A child forked by user code must not speak the
// protocol, and never writes a frame: the frames user code makes (OUTPUT, CALL) are checked
// by their makers (_BOND_send_output, _BOND_call_host), and every other frame is written by
// the request loop, which a child never reaches (it ends in _BOND_answer_call, _BOND_answer
// or _BOND_finish).
// ($blocks: [ext] BYTES, the raw blocks of the payload, written just before its frame.)
function _BOND_write($verb, $json = null, $blocks = '')
{
    if (_BOND::$gone) {
        return;
    }
    // an interrupt must never cut a frame in half: it waits for the end of the frame
    _BOND::$writing = true;
    _BOND_put((_BOND_Objects::$released ? _BOND_release_line() : '') . $blocks . ($json === null ? "$verb\n" : "$verb $json\n"));
    _BOND::$writing = false;
    if (_BOND::$pending) {
        _BOND::$pending = false;
        _BOND_sigint();
    }
}

// Writes one whole line to the host; leaves when the host is gone. The frames written with
// interrupts off (replies, and a callback's CALL) come here, or to fwrite and then
// _BOND_put_rest, directly.
function _BOND_put($line)
{
    $done = @fwrite(_BOND::$out, $line);
    if ($done !== strlen($line)) {
        _BOND_put_rest($line, $done);
    }
}

// Writes what is left of $line after a write of $done bytes (false: none) fell short.
function _BOND_put_rest($line, $done)
{
    while ($done !== false && $done !== 0) {
        $line = substr($line, $done);
        $done = @fwrite(_BOND::$out, $line);
        if ($done === strlen($line)) {
            return;
        }
    }
    _BOND::$gone = true;   // the host is gone
    exit(1);
}

function _BOND_bye()
{
    _BOND_flush();
    _BOND_write('BYE');
    _BOND::$gone = true;
    exit(0);
}

// Finds a value json_encode would silently turn into "{}".
function _BOND_unencodable($v, $depth = 0)
{
    if ($depth > 512) {
        return null;
    }
    if (is_object($v)) {
        if ($v instanceof Closure || $v instanceof Generator) {
            return get_class($v);
        }
        if ($v instanceof JsonSerializable) {
            return null;
        }
        $v = get_object_vars($v);
    }
    if (is_array($v)) {
        foreach ($v as $item) {
            if (is_array($item) || is_object($item)) {
                $bad = _BOND_unencodable($item, $depth + 1);
                if ($bad !== null) {
                    return $bad;
                }
            }
        }
    }
    return null;
}

// Why $json, what json_encode made of $v, does not stand for $v; null when it does. Called
// only when $json is false or holds "{}" (which may be an object it could not see into).
function _BOND_encoding_problem($v, $json)
{
    if ($json === false) {
        return json_last_error_msg();
    }
    $bad = _BOND_unencodable($v);
    return $bad === null ? null : "a $bad cannot be serialized";
}

// Returns the JSON text of $v, or throws _BOND_SerializationException.
function _BOND_encode($v)
{
    $json = _BOND_json($v);
    if (($json === false || strpos($json, '{}') !== false) && ($problem = _BOND_encoding_problem($v, $json)) !== null) {
        throw new _BOND_SerializationException($problem);
    }
    return $json;
}

function _BOND_send_value($verb, $value)
{
    if (_BOND::$held) {
        _BOND_flush();
    }
    $json = _BOND_json($value);
    if (_BOND_Objects::$on && $json !== false && strpos($json, '"$bond"') !== false) {
        $json = _BOND_json(_BOND_marked($value, false));   // user maps with "$bond" escaped
    }
    if (($json === false || ((is_array($value) || is_object($value)) && strpos($json, '{}') !== false))
        && ($problem = _BOND_encoding_problem($value, $json)) !== null) {
        $what = $verb === 'EXCEPT' ? 'exception' : 'result';
        _BOND_write('ERROR', json_encode("cannot serialize the $what: $problem", _BOND::JSON | JSON_INVALID_UTF8_SUBSTITUTE));
        return;
    }
    // (Releases of proxies ride here and on _BOND_write's frames, not on the quick path's
    // replies: a frame of another kind takes them soon enough; before the raw blocks, which
    // go just before the frame that refers to them.)
    if (_BOND::$blocksOut) {
        _BOND_write_blocks();
    }
    $release = _BOND_Objects::$released ? _BOND_release_line() : '';
    _BOND_put($release . "$verb $json\n");   // a reply
}

function _BOND_send_error($message)
{
    _BOND_flush();
    _BOND_write('ERROR', json_encode($message, _BOND::JSON | JSON_INVALID_UTF8_SUBSTITUTE));
}

function _BOND_send_exception($e)
{
    if ($e instanceof _BOND_SerializationException) {
        _BOND_send_error($e->getMessage());   // stays a serialization error
    } elseif (_BOND::$trans && $e instanceof JsonSerializable) {
        _BOND_send_value('EXCEPT', $e);
    } elseif (_BOND::$trans && $e instanceof _BOND_RemoteException) {
        _BOND_send_value('EXCEPT', $e->data);
    } else {
        _BOND_send_value('EXCEPT', $e->getMessage());
    }
}

// ---------------------------------------------------------------------------
// Output capture: echo/print (an output buffer), the STDOUT and STDERR
// streams (write filters), php://stdout and php://stderr (a wrapper) and
// errors (a handler) all end up here, and are sent as OUTPUT frames at each
// line end, and before any other frame.

function _BOND_output($channel, $data)
{
    if ($data === '' || _BOND::$gone) {
        return;
    }
    $other = $channel === 'STDOUT' ? 'STDERR' : 'STDOUT';
    if (_BOND::$buf[$other] !== '') {
        _BOND_send_output($other, _BOND::$buf[$other]);   // keeps the order
        _BOND::$buf[$other] = '';
    }
    _BOND::$buf[$channel] .= $data;
    _BOND::$held = true;
    if (strpos($data, "\n") !== false) {
        $buf = _BOND::$buf[$channel];
        $nl = strrpos($buf, "\n");
        _BOND::$buf[$channel] = (string)substr($buf, $nl + 1);
        _BOND_send_output($channel, substr($buf, 0, $nl + 1));
    } elseif (strlen(_BOND::$buf[$channel]) >= 65536) {
        // a long line without end: send it, keeping an incomplete UTF-8 tail
        $buf = _BOND::$buf[$channel];
        $cut = strlen($buf);
        for ($i = 1; $i <= 3 && $i <= $cut; $i++) {
            $c = ord($buf[$cut - $i]);
            if ($c < 0x80) {
                break;
            }
            if ($c >= 0xC0) {
                $need = $c >= 0xF0 ? 4 : ($c >= 0xE0 ? 3 : 2);
                if ($need > $i) {
                    $cut -= $i;
                }
                break;
            }
        }
        _BOND::$buf[$channel] = (string)substr($buf, $cut);
        _BOND_send_output($channel, substr($buf, 0, $cut));
    }
}

function _BOND_send_output($channel, $text)
{
    if (!_BOND_own_process()) {   // in a forked child: plain text on stderr
        fwrite(_BOND::$err, $text);
        return;
    }
    $json = json_encode(array($channel, $text), _BOND::JSON | JSON_INVALID_UTF8_SUBSTITUTE);
    _BOND_write('OUTPUT', $json);
}

function _BOND_flush()
{
    if (!_BOND::$held) {
        return;
    }
    _BOND::$held = false;
    foreach (array('STDOUT', 'STDERR') as $channel) {
        if (_BOND::$buf[$channel] !== '') {
            $text = _BOND::$buf[$channel];
            _BOND::$buf[$channel] = '';
            _BOND_send_output($channel, $text);
        }
    }
}

function _BOND_ob($buffer, $phase)
{
    _BOND_output('STDOUT', $buffer);
    if ($phase & (PHP_OUTPUT_HANDLER_FLUSH | PHP_OUTPUT_HANDLER_FINAL)) {
        _BOND_flush();
    }
    return '';
}

class _BOND_Capture extends php_user_filter
{
    public function filter($in, $out, &$consumed, $closing): int
    {
        while ($bucket = stream_bucket_make_writeable($in)) {
            $consumed += $bucket->datalen;
            _BOND_output($this->params, $bucket->data);
        }
        return PSFS_PASS_ON;
    }
}

// php://stdout and php://stderr write to the OUTPUT channels; any other php://
// stream is opened by the original wrapper and used through this one.
class _BOND_PhpStream
{
    public $context;
    private $channel = null;
    private $h = null;

    private static function native($fn)
    {
        stream_wrapper_restore('php');
        try {
            return $fn();
        } finally {
            stream_wrapper_unregister('php');
            stream_wrapper_register('php', '_BOND_PhpStream');
        }
    }

    public function stream_open($path, $mode, $options, &$opened)
    {
        $what = strtolower(substr($path, 6));
        if ($what === 'stdout' || $what === 'stderr') {
            $this->channel = strtoupper($what);
            return true;
        }
        $context = $this->context;
        $this->h = self::native(function () use ($path, $mode, $options, $context) {
            $use = ($options & STREAM_USE_PATH) !== 0;
            return $context ? fopen($path, $mode, $use, $context) : fopen($path, $mode, $use);
        });
        return $this->h !== false;
    }

    public function stream_write($data)
    {
        if ($this->channel !== null) {
            _BOND_output($this->channel, $data);
            return strlen($data);
        }
        return fwrite($this->h, $data);
    }

    public function stream_read($count)
    {
        return $this->channel !== null ? '' : fread($this->h, $count);
    }

    public function stream_eof()
    {
        return $this->channel !== null ? true : feof($this->h);
    }

    public function stream_flush()
    {
        return $this->channel !== null ? true : fflush($this->h);
    }

    public function stream_close()
    {
        if ($this->h) {
            fclose($this->h);
        }
    }

    public function stream_tell()
    {
        return $this->channel !== null ? 0 : ftell($this->h);
    }

    public function stream_seek($offset, $whence)
    {
        return $this->channel !== null ? false : fseek($this->h, $offset, $whence) === 0;
    }

    public function stream_stat()
    {
        return $this->channel !== null ? array() : fstat($this->h);
    }

    public function stream_truncate($size)
    {
        return $this->channel !== null ? false : ftruncate($this->h, $size);
    }

    public function stream_lock($operation)
    {
        return $this->channel !== null ? false : flock($this->h, $operation);
    }

    public function stream_set_option($option, $arg1, $arg2)
    {
        if ($this->channel !== null) {
            return false;
        }
        switch ($option) {
            case STREAM_OPTION_BLOCKING:
                return stream_set_blocking($this->h, (bool)$arg1);
            case STREAM_OPTION_READ_TIMEOUT:
                return stream_set_timeout($this->h, $arg1, $arg2);
            case STREAM_OPTION_WRITE_BUFFER:
                return stream_set_write_buffer($this->h, $arg2) === 0;
        }
        return false;
    }

    public function stream_cast($as)
    {
        return $this->channel !== null ? false : $this->h;
    }

    public function url_stat($path, $flags)
    {
        return false;   // as the native php:// wrapper, which cannot stat
    }
}

// ---------------------------------------------------------------------------
// Errors and warnings: "PHP[E_WARNING]: message" on STDERR when the error
// level (error_reporting(), or _BOND_error_reporting()) and display_errors
// allow it.

function _BOND_error_reporting($level = null)
{
    return $level === null ? error_reporting() : error_reporting($level);
}

function _BOND_error($errno, $errstr, $errfile = '', $errline = 0)
{
    if (!(error_reporting() & $errno)) {
        return false;   // masked, or silenced with "@"
    }
    $display = strtolower(trim((string)ini_get('display_errors')));
    if (!in_array($display, array('', '0', 'off', 'no', 'false', 'none'), true)) {
        static $names = array(
            E_ERROR => 'E_ERROR', E_WARNING => 'E_WARNING', E_PARSE => 'E_PARSE',
            E_NOTICE => 'E_NOTICE', E_CORE_ERROR => 'E_CORE_ERROR',
            E_CORE_WARNING => 'E_CORE_WARNING', E_COMPILE_ERROR => 'E_COMPILE_ERROR',
            E_COMPILE_WARNING => 'E_COMPILE_WARNING', E_USER_ERROR => 'E_USER_ERROR',
            E_USER_WARNING => 'E_USER_WARNING', E_USER_NOTICE => 'E_USER_NOTICE',
            2048 => 'E_STRICT', E_RECOVERABLE_ERROR => 'E_RECOVERABLE_ERROR',
            E_DEPRECATED => 'E_DEPRECATED', E_USER_DEPRECATED => 'E_USER_DEPRECATED');
        $name = isset($names[$errno]) ? $names[$errno] : "E_$errno";
        _BOND_output('STDERR', "PHP[$name]: $errstr\n");
    }
    if ($errno & (E_USER_ERROR | E_RECOVERABLE_ERROR)) {
        throw new ErrorException($errstr, 0, $errno, $errfile, $errline);
    }
    return true;
}

// ---------------------------------------------------------------------------
// Interrupts (pcntl): SIGINT raises _BOND_Interrupt while a request runs and
// is ignored otherwise. The handler stays installed; a flag says whether a
// request's code runs (no system call per request).

function _BOND_sigint()
{
    if (!_BOND::$armed) {
        return;
    }
    if (_BOND::$writing) {
        _BOND::$pending = true;
        return;
    }
    throw new _BOND_Interrupt('interrupted by SIGINT');
}

function _BOND_signals($on)
{
    _BOND::$armed = $on;
    if (!$on) {
        _BOND::$pending = false;
    }
}

// Whether this is the driver's own process, not a child forked by evaluated code (which must
// never speak the protocol). getmypid() is a system call; but within 10 microseconds of the
// last time this was known, no fork can have completed (a fork copies the process: hundreds of
// microseconds for PHP; a child inherits that time, so it sees a longer wait), and the answer
// is known without it. _BOND::$known is set here and wherever only the driver's own process
// can be: reading requests (when the wait for one begins, and after a sleep in it), and
// before evaluated code runs.
function _BOND_own_process()
{
    $now = hrtime(true);
    if ($now - _BOND::$known < 10000 || getmypid() === _BOND::$pid) {
        _BOND::$known = $now;
        return true;
    }
    return false;
}

// Runs $fn(...$args) with interrupts on, then replies: RETURN with its value (null unless
// $want), or EXCEPT.
function _BOND_answer($fn, $args, $want, $run = null)
{
    try {
        _BOND::$armed = true;   // _BOND_signals(true), without a call per request
        _BOND::$known = hrtime(true);   // requests are read by the driver's own process only
        try {
            $value = $fn(...$args);
        } finally {
            _BOND::$armed = _BOND::$pending = false;
            if (!_BOND_own_process()) {   // a child forked by the call came back here: it ends
                _BOND_flush();
                exit(0);
            }
        }
    } catch (Throwable $e) {
        _BOND_send_exception($e);
        return;
    }
    if ($run !== null) {
        _BOND_send_run($value, $want, $run);
        return;
    }
    _BOND_send_value('RETURN', $want ? $value : null);
}

// ---------------------------------------------------------------------------
// Exported functions: forward the call to the host, then serve its requests
// until it answers.

// $head: the start of the frame, 'CALL ["name",' (see _BOND_export).
// $tail: [ext] KEYWORDS, ',{"key":value,...}' after the arguments, or ''.
function _BOND_call_host($name, $args, $head, $tail = '')
{
    // [speed] The common case is written inline, as a PHP function call costs some 250
    // instructions: own process (see _BOND_own_process; _BOND_read_line marks the time while it
    // waits for a request), arguments that encode, no held output.
    if (hrtime(true) - _BOND::$known >= 10000 && !_BOND_own_process()) {
        // a forked child would read the driver's requests
        throw new Exception("$name cannot be called from a child process: it is exported by the host");
    }
    $json = json_encode($args, _BOND::JSON);
    if ($json === false || strpos($json, '{}') !== false || _BOND::$blocksOut) {
        try {
            $json = _BOND_encode($args);
        } catch (_BOND_SerializationException $e) {
            throw new _BOND_SerializationException("cannot serialize the arguments of $name: " . $e->getMessage());
        }
    }
    $armed = _BOND::$armed;
    _BOND::$armed = _BOND::$pending = false;   // _BOND_signals(false), inline: no interrupt while the
    try {                                       // frame is written and the host serves it
        if (_BOND::$held) {
            _BOND_flush();
        }
        if (_BOND::$blocksOut && !_BOND::$gone) {
            _BOND_write_blocks();
        }
        if (!_BOND::$gone && ($done = @fwrite(_BOND::$out, $line = $head . $json . $tail . "]\n")) !== strlen($line)) {
            _BOND_put_rest($line, $done);
        }
        $verb = _BOND_next($value, $error);
        if ($verb !== 'RETURN' && $verb !== 'EXCEPT' && $verb !== 'ERROR') {
            $verb = _BOND_serve($verb, $value, $error);
        }
    } catch (Throwable $e) {   // (as a finally block, which costs three more steps on every call)
        _BOND::$armed = $armed;
        _BOND::$pending = false;
        throw $e;
    }
    _BOND::$armed = $armed;
    _BOND::$pending = false;
    if ($verb === 'RETURN' && $error === null) {
        return $value;
    }
    if ($error !== null) {
        throw new _BOND_SerializationException($error);
    }
    if ($verb === 'EXCEPT') {
        $e = new _BOND_RemoteException(is_string($value) ? $value : (string)json_encode($value, _BOND::JSON));
        $e->data = $value;
        throw $e;
    }
    throw new _BOND_SerializationException(is_string($value) ? $value : 'serialization error');
}

// [ext] KEYWORDS: the positional arguments (integer keys) and the named ones (string keys: PHP 8
// collects them so in a variadic parameter and in __call's arguments) of $args.
function _BOND_split_named($args)
{
    $positional = array();
    $named = array();
    foreach ($args as $key => $arg) {
        if (is_int($key)) {
            $positional[] = $arg;
        } else {
            $named[$key] = $arg;
        }
    }
    return array($positional, $named);
}

// [ext] KEYWORDS: a call of a function exported with keywords, sent as a keyword CALL when $args
// holds named arguments.
function _BOND_call_host_named($name, $args, $head)
{
    list($positional, $named) = _BOND_split_named($args);
    if (!$named) {
        return _BOND_call_host($name, $positional, $head);
    }
    try {
        $json = _BOND_encode((object)$named);
    } catch (_BOND_SerializationException $e) {
        throw new _BOND_SerializationException("cannot serialize the arguments of $name: " . $e->getMessage());
    }
    return _BOND_call_host($name, $positional, $head, ',' . $json);
}

function _BOND_export($name, $keywords = false)
{
    $parts = explode('\\', ltrim($name, '\\'));
    $short = array_pop($parts);
    $full = strtolower(ltrim($name, '\\'));
    if (function_exists($full)) {
        if (isset(_BOND::$exports[$full])) {
            return;   // exported before: still forwards to the host
        }
        throw new Exception("cannot export $name: a function with this name exists");
    }
    $head = 'CALL [' . json_encode($name, _BOND::JSON) . ',';
    $code = $keywords   // [ext] KEYWORDS: named arguments go to the host as keywords
        ? 'function ' . $short . '(...$a) { return _BOND_call_host_named(' . var_export($name, true) . ', $a, '
            . var_export($head, true) . '); }'
        : 'function ' . $short . '() { return _BOND_call_host(' . var_export($name, true) . ', func_get_args(), '
            . var_export($head, true) . '); }';
    if ($parts) {
        $code = 'namespace ' . implode('\\', $parts) . '; ' . $code;
    }
    eval($code);
    _BOND::$exports[$full] = true;
}

// ---------------------------------------------------------------------------
// Requests. At the top level, stage 1 runs the loop
//     while (true) { try { _BOND_result(eval(_BOND_request())); }
//                    catch (Throwable $_BOND_e) { _BOND_failure($_BOND_e); } }
// in the global scope, so evaluated code runs exactly as a script's top level.
// Nested requests (inside an exported function) run in _BOND_scope().

const _BOND_NAME = '/^\\\\?[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*(\\\\[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)*$/';

// Answers a request that needs no user code (returns null), or returns the
// code to evaluate: array($code, $wants_value, $argument_slot).
function _BOND_prepare($verb, $value)
{
    switch ($verb) {
        case 'EVAL':
        case 'EVAL_BLOCK':
            if (!is_string($value)) {
                _BOND_send_error("malformed $verb request: expected a code string");
                return null;
            }
            return $verb === 'EVAL' ? array("return $value\n;", true, null) : array("$value\n;", false, null);

        case 'CALL':
        case 'XCALL':
            if (!_BOND_is_call($value)) {
                _BOND_send_error("malformed $verb request: expected [name, [args...]]");
                return null;
            }
            list($name, $args) = $value;
            $args = array_values($args);
            $named = _BOND_keywords($value);
            $list = array();
            $values = array();
            $slot = count(_BOND::$args);
            foreach ($args as $i => $arg) {
                if ($verb === 'XCALL') {
                    if (!is_array($arg) || count($arg) !== 2 || ($arg[0] && !is_string($arg[1]))) {
                        _BOND_send_error('malformed XCALL argument: expected [is_ref, value]');
                        return null;
                    }
                    $values[] = $arg[0] ? null : $arg[1];
                    $list[] = $arg[0] ? '(' . $arg[1] . ')' : "_BOND::\$args[$slot][$i]";
                } else {
                    $values[] = $arg;
                    $list[] = "_BOND::\$args[$slot][$i]";
                }
            }
            if ($named) {   // [ext] KEYWORDS
                $values['named'] = $named;
                $list[] = "..._BOND::\$args[$slot]['named']";
            }
            _BOND::$args[$slot] = $values;
            return array('return ' . $name . '(' . implode(', ', $list) . ");", true, $slot);

        case 'RUN':
            if (!is_array($value) || !is_string($value['code'] ?? null)) {
                _BOND_send_error('malformed RUN request: expected {"code": ..., "mode": ..., "unserializable": ...}');
                return null;
            }
            $input = ($value['mode'] ?? 'input') !== 'expression';
            $code = $input ? _BOND_input_code($value['code']) : array('return ' . $value['code'] . "\n;", true);
            $run = array('input' => $input, 'describe' => ($value['unserializable'] ?? '') === 'describe');
            if (_BOND_Objects::$on && ($value['unserializable'] ?? '') === 'handle') {
                $run['objects'] = 'handle';
            }
            return array($code[0], $code[1], null, $run);

        case 'EXPORT':
            $keywords = is_array($value) && ($value['keywords'] ?? null) === true;   // [ext] KEYWORDS
            if ($keywords) {
                $value = $value['name'] ?? null;
            }
            if (!is_string($value)) {
                _BOND_send_error('malformed EXPORT request: expected a name');
            } elseif (!preg_match(_BOND_NAME, $value)) {
                _BOND_send_value('EXCEPT', "invalid name for an exported function: $value");
            } else {
                _BOND_answer('_BOND_export', array($value, $keywords), false);
            }
            return null;
    }
    if (_BOND_Objects::$on && isset(_BOND_Objects::$verbs[$verb])) {
        return _BOND_object_request($verb, $value);
    }
    _BOND_send_error("unknown request: $verb");
    return null;
}

// [ext] RUN: the code to evaluate for REPL input, and whether it gives a value:
// array($code, $want). When the input's last statement is an expression, it becomes a
// `return` (the input is parsed first, so that nothing runs twice: a candidate that does not
// parse is not run); otherwise the input runs as a block, and its own parse error, if any,
// is the one reported.
function _BOND_input_code($code)
{
    $block = array("$code\n;", false);
    if (!function_exists('token_get_all')) {
        return _BOND_parses("return $code\n;") ? array("return $code\n;", true) : $block;
    }
    try {
        $tokens = token_get_all("<?php $code");
    } catch (Throwable $e) {
        return $block;
    }
    // Where top level statements may end: after a ';' or a '}' outside any brackets.
    $offset = -6;
    $depth = 0;
    $ends = array(0);
    $last = array();  // the first meaningful token after each end
    foreach ($tokens as $token) {
        $text = is_array($token) ? $token[1] : $token;
        $kind = is_array($token) ? $token[0] : $token;
        $offset += strlen($text);
        if ($offset <= 0 || $kind === T_WHITESPACE || $kind === T_COMMENT || $kind === T_DOC_COMMENT || $kind === ';') {
            if ($kind === ';' && $depth === 0 && $offset > 0) {
                $ends[] = $offset;
            }
            continue;
        }
        $end = end($ends);
        if (!isset($last[$end])) {
            $last[$end] = $kind;
        }
        if ($kind === '(' || $kind === '[' || $kind === '{' || $kind === T_CURLY_OPEN || $kind === T_DOLLAR_OPEN_CURLY_BRACES) {
            $depth++;
        } elseif ($kind === ')' || $kind === ']' || $kind === '}') {
            $depth--;
            if ($depth === 0 && $kind === '}') {
                $ends[] = $offset;
            }
        }
    }
    // The last statement is what follows the last end that something meaningful follows.
    for ($i = count($ends) - 1; $i >= 0; $i--) {
        $end = $ends[$i];
        if (!isset($last[$end])) {
            continue;
        }
        $first = $last[$end];
        if (in_array($first, array(T_ECHO, T_PRINT, T_INCLUDE, T_INCLUDE_ONCE, T_REQUIRE, T_REQUIRE_ONCE, T_INLINE_HTML), true)) {
            return $block;
        }
        $tail = rtrim(substr($code, $end), " \t\r\n;");
        $candidate = substr($code, 0, $end) . "\nreturn " . $tail . "\n;";
        return _BOND_parses($candidate) ? array($candidate, true) : $block;
    }
    return $block;
}

// Whether PHP code parses (it is not run).
function _BOND_parses($code)
{
    try {
        if (function_exists('token_get_all')) {
            token_get_all("<?php $code", TOKEN_PARSE);
        } else {
            eval("if (0) {\n$code\n}");
        }
        return true;
    } catch (ParseError $e) {
        return false;
    }
}

// Why $v cannot be shown as data (a class instance, a resource, NAN or INF, a closure...),
// or null when it can.
function _BOND_not_data($v, $depth = 0)
{
    if (is_float($v)) {
        return is_finite($v) ? null : 'float';
    }
    if (is_resource($v) || (is_object($v) && !($v instanceof stdClass) && !($v instanceof JsonSerializable))) {
        return 'object';
    }
    if ($depth < 512 && (is_array($v) || is_object($v))) {
        foreach ($v as $item) {
            if (!is_scalar($item) && $item !== null || is_float($item)) {
                if (($bad = _BOND_not_data($item, $depth + 1)) !== null) {
                    return $bad;
                }
            }
        }
    }
    return null;
}

// The RETURN of a RUN request: {"value": V}, {} (no value), or a description.
function _BOND_send_run($value, $want, $run)
{
    if (isset($run['objects'])) {
        _BOND_send_objects($value, $want, $run);
        return;
    }
    if (_BOND::$held) {
        _BOND_flush();
    }
    if (!$want || ($value === null && $run['input'])) {
        _BOND_put("RETURN {}\n");
        return;
    }
    if (!$run['describe']) {
        _BOND_send_value('RETURN', array('value' => $value));
        return;
    }
    $json = _BOND_not_data($value) === null ? _BOND_json(array('value' => $value)) : false;
    if ($json === false || (strpos($json, '{}') !== false && _BOND_encoding_problem($value, $json) !== null)) {
        $text = is_scalar($value) || is_array($value) && _BOND_not_data($value) === 'float' ? @var_export($value, true) : @print_r($value, true);
        $type = function_exists('get_debug_type') ? get_debug_type($value) : (is_object($value) ? get_class($value) : gettype($value));
        $json = json_encode(array('description' => $text, 'type' => $type), _BOND::JSON | JSON_INVALID_UTF8_SUBSTITUTE);
        _BOND::$blocksOut = array();   // (of the attempt as data)
    }
    if (_BOND::$blocksOut) {
        _BOND_write_blocks();   // [ext] BYTES: blocks first
    }
    _BOND_put("RETURN $json\n");
}

// Whether a CALL or XCALL payload has the form [name, [args...]].
function _BOND_is_call($value)
{
    return is_array($value) && (count($value) === 2 || (count($value) === 3 && is_array($value[2] ?? null)))
        && is_string($value[0] ?? null) && is_array($value[1] ?? null);
}

// [ext] KEYWORDS: a CALL's keyword arguments, named arguments in PHP (after the positional
// ones, `...$named` spreads them by name); an empty array for an ordinary call.
function _BOND_keywords($value)
{
    return count($value) === 3 ? $value[2] : array();
}

// ---------------------------------------------------------------------------
// The request loop. _BOND_next reads request lines and answers at once those that call a
// function by its name (the most common request, which needs no code compiled); it returns
// every other frame to its caller: _BOND_request at the top level, _BOND_call_host and
// _BOND_serve when nested.
//
// Speed tricks are marked [speed], with the figure they move: machine instructions per
// request, counted by `scripts/driver-cost.py PHP --instructions --one-at-a-time`
// (docs/performance.md, "The PHP driver's request loop"). A PHP function call costs about
// 250 of them, so the common path is four calls: _BOND_read_line, _BOND_quick_call,
// _BOND_answer_call and _BOND_put.

// Reads requests and answers the calls of functions by name; returns the verb of the first
// other frame, with its decoded payload in $value (null without one) and in $error why the
// frame is malformed (null if it is not). Leaves on EOF.
function _BOND_next(&$value, &$error)
{
    while (true) {
        $line = _BOND_read_line();
        if ($line[0] === 'B' && _BOND::$bytes && strncmp($line, 'BYTES ', 6) === 0) {
            $line = _BOND_read_blocks($line);   // [ext] BYTES: raw blocks before the frame
        }
        // [speed] The common reply (to a callback), told first by its first byte: a failed
        // strncmp would cost every call 90 instructions (a callback pays 147 for the test; the
        // call is the figure nearer its limit).
        if ($line[0] === 'R' && strncmp($line, 'RETURN ', 7) === 0) {
            $value = _BOND_decode_payload(substr($line, 7), 'RETURN', $error);
            return 'RETURN';
        }
        if (($args = _BOND_quick_call($line)) !== null) {
            $fn = _BOND_Calls::$lastFn;
        } elseif ($line[0] === 'O' && ($args = _BOND_quick_method_call($line, $fn)) !== null) {
            // (a handle's method, its result data)
        } else {
            $verb = _BOND_parse_frame($line, $value, $error);
            if ($error !== null || ($fn = _BOND_named_call($verb, $value, $args)) === null) {
                return $verb;
            }
            $value = null;   // (its arguments are in $args)
        }
        $line = null;   // a big request's memory is not held through the call
        _BOND_answer_call($fn, $args);
        $args = null;   // nor a big argument's until the next request comes
    }
}

// Calls $fn(...$args), interrupts on, and replies RETURN with its value, or EXCEPT.
function _BOND_answer_call($fn, $args)
{
    try {
        _BOND::$armed = true;   // _BOND_signals(true), inline
        $result = $fn(...$args);
    } catch (Throwable $thrown) {
        _BOND_failed($thrown);
        return;
    }
    _BOND::$armed = _BOND::$pending = false;
    if (hrtime(true) - _BOND::$known >= 10000 && !_BOND_own_process()) {
        _BOND_flush();   // a child forked by the call came back here: it ends
        exit(0);
    }
    if (_BOND::$held) {
        _BOND_flush();
    }
    $json = json_encode($result, _BOND::JSON);
    if ($json === false || !is_scalar($result) && (strpos($json, '{}') !== false || _BOND::$blocksOut
        || _BOND_Objects::$on && strpos($json, '"$bond"') !== false)) {
        _BOND_send_value('RETURN', $result);   // says why it cannot, or sends it (bytes, markers: see there)
        return;
    }
    _BOND_put("RETURN $json\n");
}

// The call answered by _BOND_answer_call threw $thrown: the same ending, with an EXCEPT reply.
function _BOND_failed($thrown)
{
    _BOND::$armed = _BOND::$pending = false;
    if (!_BOND_own_process()) {
        _BOND_flush();   // a child forked by the call came back here: it ends
        exit(0);
    }
    _BOND_send_exception($thrown);
}

// A frame's verb, its payload decoded into $value (null without one), and in $error why the
// line is not a well-formed frame (null when it is).
function _BOND_parse_frame($line, &$value, &$error)
{
    $value = $error = null;
    $length = strlen($line) - 1;   // without the "\n" (nor a "\r" before it, from a terminal)
    if ($length > 0 && $line[$length - 1] === "\r") {
        $length--;
    }
    $verbLength = strcspn($line, ' ', 0, $length);
    $verb = (string)substr($line, 0, $verbLength);
    if (!isset(_BOND::$verbs[$verb]) && ($verb === '' || strspn($verb, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_') !== $verbLength)) {
        $error = 'malformed frame: not a verb';
    } elseif ($verbLength < $length) {   // (a big payload is copied once, as it must be for json_decode)
        $value = _BOND_decode_payload((string)substr($line, $verbLength + 1, $length - $verbLength - 1), $verb, $error);
    }
    return $verb;
}

// The value of a frame's JSON payload; in $error why it cannot be decoded (null when it can).
function _BOND_decode_payload($json, $verb, &$error)
{
    $value = json_decode($json, true, 10000);
    $error = $value === null ? _BOND_decode_error($verb) : null;
    if (_BOND::$blocksIn) {
        $value = _BOND_with_blocks($value);
    }
    if (_BOND_Objects::$on && is_array($value) && strpos($json, '"$bond"') !== false) {
        $value = _BOND_unmarked($value, $error);
    }
    return $value;
}

// Why the last json_decode, which returned null, failed; null when null was the payload.
function _BOND_decode_error($verb)
{
    return json_last_error() === JSON_ERROR_NONE ? null : "cannot decode the $verb payload: " . json_last_error_msg();
}

// Functions called by name, and the last one called, for _BOND_quick_call.
final class _BOND_Calls
{
    public static $known = array();   // function name => what to call (see _BOND_named_call)
    public static $lastHead = "\0";   // the start of the last quick CALL's line: 'CALL ["name",['
    public static $lastFn = null;     // what it called
}

// [speed] The arguments of a CALL of a known function (see _BOND_named_call), which is then
// _BOND_Calls::$lastFn; null for any other line. The common request, taken apart without
// decoding the whole payload: such a name is made of identifier characters, so its JSON text
// is the name itself, and only the arguments (a JSON list, which the line's last "]" closes)
// are decoded. 8 300 instructions a call, against 12 600 through _BOND_parse_frame.
function _BOND_quick_call($line)
{
    // [speed] A call of the same function as the last one is told by one comparison with the
    // start of that call's line: 2 100 instructions a call fewer than _BOND_known_call.
    $head = _BOND_Calls::$lastHead;
    if (strncmp($line, $head, strlen($head)) !== 0 && ($head = _BOND_known_call($line)) === null) {
        return null;
    }
    $open = strlen($head) - 1;    // the arguments' "["
    $close = strlen($line) - 2;   // the payload's "]", before the "\n" (not so with "\r\n")
    if ($line[$close] !== ']') {
        return null;
    }
    $json = substr($line, $open, $close - $open);
    if (!is_array($args = json_decode($json, true, 9999))) {
        return null;
    }
    // [ext] OBJECTS: markers are decoded by _BOND_decode_payload. [speed] Only a JSON object
    // can be one, and it decodes to an array: the line is searched only then (a search of
    // every line cost a call 300 to 400 instructions).
    foreach (_BOND_Objects::$on ? $args : array() as $arg) {
        if (is_array($arg)) {
            if (strpos($line, '"$bond"') !== false) {
                return null;
            }
            break;
        }
    }
    return _BOND::$blocksIn ? _BOND_with_blocks($args) : $args;
}

// The known function a line 'CALL ["name",[...' calls, or null; the line's start, up to the
// arguments' "[", in $head (remembered as the last call's).
function _BOND_known_call($line)
{
    if (strncmp($line, 'CALL ["', 7) !== 0 || substr_compare($line, '",[', $quote = 7 + strcspn($line, '"\\', 7), 3) !== 0
        || !isset(_BOND_Calls::$known[$name = substr($line, 7, $quote - 7)])) {
        return null;
    }
    _BOND_Calls::$lastFn = _BOND_Calls::$known[$name];
    return _BOND_Calls::$lastHead = 'CALL ["' . $name . '",[';
}

// The list of arguments and what to call for a CALL [name, [args...]] of a plain function name
// (surrounding blanks aside), or null when $verb is not such a CALL: the name is then an
// expression, for _BOND_prepare.
function _BOND_named_call($verb, $value, &$args)
{
    if ($verb === 'OCALL') {
        return _BOND_Objects::$on ? _BOND_method_call($value, $args) : null;
    }
    if ($verb !== 'CALL' || !_BOND_is_call($value)) {
        return null;
    }
    $args = array_values($value[1]);   // (a JSON object's members, in order)
    if (count($value) === 3) {   // [ext] KEYWORDS: by name, after the positional ones
        $args += $value[2];
    }
    return _BOND_Calls::$known[$value[0]] ?? _BOND_plain_name($value[0]);
}

// [ext] OBJECTS. [speed] The arguments of an OCALL of a handle's method by its name, whose
// result is data, and in $fn what to call; null for any other line. Taken apart as
// _BOND_quick_call takes a CALL: one regular expression for the id and the name, and only the
// arguments decoded (17 100 instructions a method call through _BOND_parse_frame, 12 500 here; 20 900 before either).
function _BOND_quick_method_call($line, &$fn)
{
    if (!_BOND_Objects::$on || preg_match('/\AOCALL \[([0-9]{1,18}),"([A-Za-z_][A-Za-z0-9_]*)",(\[.*\]),"error"\]\r?\n\z/s', $line, $m) !== 1
        || !is_object($target = _BOND_Objects::$table[(int)$m[1]] ?? null) || strpos($m[3], '"$bond"') !== false
        || !is_array($args = json_decode($m[3], true, 9999))) {
        return null;
    }
    $fn = array($target, $m[2]);
    return _BOND::$blocksIn ? _BOND_with_blocks($args) : $args;
}

// [ext] OBJECTS. [speed] The list of arguments and what to call for an OCALL whose result is
// data (a method call of a handle, or a call of a handle itself), answered as a call of a
// function by name is; null for any other OCALL (it goes through _BOND_object_request, which
// also says what is wrong with it). A handle's method call cost 1.55x a call through there.
function _BOND_method_call($value, &$args)
{
    if (!is_array($value) || !is_array($value[2] ?? null) || ($value[3] ?? 'error') !== 'error'
        || !is_int($id = $value[0] ?? null) || !isset(_BOND_Objects::$table[$id]) || !is_object($target = _BOND_Objects::$table[$id])) {
        return null;
    }
    $args = array_values($value[2]);
    if (is_array($value[4] ?? null)) {   // [ext] KEYWORDS: named, after the positional ones
        $args += $value[4];
    }
    return $value[1] === null ? $target : array($target, (string)$value[1]);
}

// What to call for the function name $name (surrounding blanks aside): a Closure once the
// function exists (the cheapest to call; kept in _BOND_Calls::$known for _BOND_quick_call),
// else the name; null when $name is an expression.
function _BOND_plain_name($name)
{
    $trimmed = trim($name);
    if (preg_match(_BOND_NAME, $trimmed) !== 1) {
        return null;
    }
    if (!function_exists($trimmed)) {
        return $trimmed;   // not known yet: the call will say so, or it is defined later
    }
    if (count(_BOND_Calls::$known) >= 1024) {
        _BOND_Calls::$known = array();
        _BOND_Calls::$lastHead = "\0";
        _BOND_Calls::$lastFn = null;
    }
    return _BOND_Calls::$known[$name] = Closure::fromCallable($trimmed);
}

// What was read from the pipe after the last line returned by _BOND_read_line.
final class _BOND_Input
{
    public static $buffer = '';
    public static $start = 0;   // where the next line starts in $buffer
}

// The next request line, with its "\n". Leaves on EOF (an unterminated last line is dropped).
function _BOND_read_line()
{
    $buffer = _BOND_Input::$buffer;
    if ($buffer !== '') {   // read with the last line
        $start = _BOND_Input::$start;
        if (($end = strpos($buffer, "\n", $start)) !== false && isset($buffer[$end + 1])) {
            _BOND_Input::$start = $end + 1;
            return substr($buffer, $start, $end + 1 - $start);
        }
        _BOND_Input::$buffer = '';   // (an append to a shared string would copy it)
        _BOND_Input::$start = 0;
        if ($start !== 0) {
            $buffer = (string)substr($buffer, $start);
        }
        if ($end !== false) {
            return $buffer;
        }
    }
    // Requests are read by the driver's own process only (see _BOND_own_process): now is a
    // time when this process was the driver's, for the fork check after a call. Set while the
    // host works, not once a request has come.
    $until = (_BOND::$known = hrtime(true)) + 50000;
    do {
        $scanned = strlen($buffer);   // no line end before this
        // (a read allocates the size asked for: small while no line is begun, as most requests
        // are small; big for the rest of a long line)
        while (($chunk = fread(_BOND::$in, $buffer === '' ? 2000 : 1048576)) === '') {
            _BOND_wait_for_input($until);
        }
        if ($chunk === false) {
            _BOND_bye();
        }
        $buffer .= $chunk;
    } while (($end = strpos($buffer, "\n", $scanned)) === false);
    if (isset($buffer[$end + 1])) {   // more follows: kept for the next time
        _BOND_Input::$buffer = $buffer;
        _BOND_Input::$start = $end + 1;
        return substr($buffer, 0, $end + 1);
    }
    return $buffer;   // (the whole buffer: no copy)
}

// [speed] The pipe does not block (see _BOND_start), and was empty: until $until (hrtime)
// this returns at once, for the caller to look again, then it sleeps in stream_select() until
// there is something to read. The host usually sends the next request within that time, and
// a sleep and wake-up costs more than the request. Leaves on EOF.
function _BOND_wait_for_input($until)
{
    if (feof(_BOND::$in)) {
        _BOND_bye();   // EOF
    }
    if (hrtime(true) >= $until) {
        $read = array(_BOND::$in);
        $none = null;
        @stream_select($read, $none, $none, null);
        _BOND::$known = hrtime(true);
    }
}

// Nested: serves requests, starting with $verb (read by _BOND_next), until the host answers
// the pending CALL; returns the verb of the answer (RETURN, EXCEPT or ERROR), and its value
// and any error in $value and $error.
function _BOND_serve($verb, &$value, &$error)
{
    while ($verb !== 'RETURN' && $verb !== 'EXCEPT' && $verb !== 'ERROR') {
        if ($error !== null) {
            _BOND_send_error($error);
        } elseif (($job = _BOND_prepare($verb, $value)) !== null) {
            list($code, $want, $slot) = $job;
            _BOND_answer('_BOND_scope', array($code), $want, $job[3] ?? null);
            if ($slot !== null) {
                unset(_BOND::$args[$slot]);
            }
        }
        $verb = _BOND_next($value, $error);
    }
    return $verb;
}

// Top level: returns the code of the next request to evaluate globally.
function _BOND_request()
{
    while (true) {
        $verb = _BOND_next($value, $error);
        if ($verb === 'RETURN' || $verb === 'EXCEPT' || $verb === 'ERROR') {
            _BOND_bye();   // a reply with no call pending ends the top level loop
        }
        if ($error !== null) {
            _BOND_send_error($error);
            continue;
        }
        $job = _BOND_prepare($verb, $value);
        if ($job !== null) {
            _BOND::$job = $job;
            _BOND_signals(true);
            return $job[0];
        }
    }
}

function _BOND_finish()
{
    _BOND_signals(false);
    $job = _BOND::$job;
    _BOND::$job = null;
    if ($job !== null && $job[2] !== null) {
        unset(_BOND::$args[$job[2]]);
    }
    if (!_BOND_own_process()) {   // a forked child came back here: it ends
        _BOND_flush();
        exit(0);
    }
    return $job;
}

function _BOND_result($value)
{
    $job = _BOND_finish();
    if ($job !== null) {
        if (isset($job[3])) {
            _BOND_send_run($value, $job[1], $job[3]);
        } else {
            _BOND_send_value('RETURN', $job[1] ? $value : null);
        }
    }
}

function _BOND_failure($e)
{
    unset($GLOBALS['_BOND_e']);
    $job = _BOND_finish();
    if ($job !== null) {
        _BOND_send_exception($e);
    }
}

// ---------------------------------------------------------------------------
// [ext] OBJECTS: live remote objects (docs/protocol.md, "The OBJECTS extension"). Off unless
// the host switched it on at start-up: then a JSON object with a "$bond" member is a marker,
// both ways, and a user map with such a member is sent escaped.

final class _BOND_Objects
{
    public static $on = false;
    public static $table = array();     // handle id => the value the host holds
    public static $last = 0;
    public static $released = array();  // ids of proxies gone here, for the host with our next frame
    public static $verbs = array('OBJECT' => 1, 'OCALL' => 1, 'OGET' => 1, 'ODESCRIBE' => 1, 'RELEASE' => 1);
}

// A handle of another bond, passed here: its methods (__call), properties (__get) and itself
// (__invoke) run in the bond that owns the object, through the host.
final class _BOND_Proxy implements JsonSerializable
{
    private $_BOND_id;
    private $_BOND_type;

    public function __construct($id, $type)
    {
        $this->_BOND_id = $id;
        $this->_BOND_type = $type;
    }

    public function __call($name, $args)
    {
        return _BOND_ask('OCALL', _BOND_proxy_call($this->_BOND_id, $name, $args));
    }

    public function __get($name)
    {
        return _BOND_ask('OGET', array($this->_BOND_id, $name, 'handle'));
    }

    public function __invoke(...$args)
    {
        return _BOND_ask('OCALL', _BOND_proxy_call($this->_BOND_id, null, $args));
    }

    public function __destruct()
    {
        _BOND_Objects::$released[] = $this->_BOND_id;
    }

    #[\ReturnTypeWillChange]
    public function jsonSerialize()
    {
        return array('$bond' => 'proxy', 'id' => $this->_BOND_id);
    }
}

// The OCALL payload of a proxy's call of $method (null: the object itself) with $args; [ext]
// KEYWORDS named arguments go to the owning bond as a fifth element.
function _BOND_proxy_call($id, $method, $args)
{
    list($positional, $named) = _BOND_split_named($args);
    $payload = array($id, $method, $positional, 'handle');
    if ($named) {
        $payload[] = (object)$named;
    }
    return $payload;
}

function _BOND_type_name($v)
{
    return function_exists('get_debug_type') ? get_debug_type($v) : (is_object($v) ? get_class($v) : gettype($v));
}

// A new handle: the value goes into the table; its marker.
function _BOND_keep($v)
{
    _BOND_Objects::$table[++_BOND_Objects::$last] = $v;
    return array('$bond' => 'handle', 'id' => _BOND_Objects::$last, 'type' => _BOND_type_name($v));
}

function _BOND_table_entry($id)
{
    if (!is_int($id) || !array_key_exists($id, _BOND_Objects::$table)) {
        throw new Exception('no object ' . json_encode($id) . ' here (released, or never made)');
    }
    return _BOND_Objects::$table[$id];
}

// How many values the host holds here (for tests and benchmarks).
function _BOND_object_count()
{
    return count(_BOND_Objects::$table);
}

// $v made ready for json_encode: proxies as their markers, user maps with a "$bond" member
// escaped, and with $handles, what is not data (objects other than stdClass and
// JsonSerializable, closures, resources) kept as handles.
function _BOND_marked($v, $handles, $depth = 0)
{
    if ($depth > 10000) {
        return $v;
    }
    if ($v instanceof _BOND_Proxy) {
        return $v->jsonSerialize();
    }
    if (is_resource($v) || (is_object($v) && !($v instanceof stdClass) && !($v instanceof JsonSerializable))) {
        return $handles ? _BOND_keep($v) : $v;
    }
    if (is_float($v) && !is_finite($v)) {
        return $handles ? _BOND_keep($v) : $v;   // NAN and INF: no data for JSON either
    }
    if ($v instanceof JsonSerializable) {
        return _BOND_marked($v->jsonSerialize(), $handles, $depth + 1);
    }
    if ($v instanceof stdClass) {
        if (property_exists($v, '$bond')) {
            return _BOND_marked((array)$v, $handles, $depth + 1);
        }
        $o = new stdClass();
        foreach ($v as $k => $item) {
            $o->$k = _BOND_marked($item, $handles, $depth + 1);
        }
        return $o;
    }
    if (!is_array($v)) {
        return $v;
    }
    if (array_key_exists('$bond', $v)) {
        $items = array();
        foreach ($v as $k => $item) {
            $items[] = array((string)$k, _BOND_marked($item, $handles, $depth + 1));
        }
        return array('$bond' => 'map', 'items' => $items);
    }
    foreach ($v as $k => $item) {
        if (is_array($item) || is_object($item) || is_resource($item) || (is_float($item) && !is_finite($item))) {
            $v[$k] = _BOND_marked($item, $handles, $depth + 1);
        }
    }
    return $v;
}

// A decoded payload whose text holds "$bond": its markers made objects, proxies and maps again;
// in $error why a marker cannot be read.
function _BOND_unmarked($v, &$error, $depth = 0)
{
    if (!is_array($v) || $depth > 10000) {
        return $v;
    }
    if (isset($v['$bond']) && is_string($v['$bond'])) {
        switch ($v['$bond']) {
            case 'handle':
                if (is_int($v['id'] ?? null) && array_key_exists($v['id'], _BOND_Objects::$table)) {
                    return _BOND_Objects::$table[$v['id']];
                }
                $error = 'no object ' . json_encode($v['id'] ?? null) . ' here (released, or never made)';
                return null;
            case 'proxy':
                return new _BOND_Proxy($v['id'] ?? 0, $v['type'] ?? 'object');
            case 'map':
                $map = array();
                foreach ((array)($v['items'] ?? array()) as $pair) {
                    $map[$pair[0]] = _BOND_unmarked($pair[1], $error, $depth + 1);
                }
                return $map;
        }
    }
    foreach ($v as $k => $item) {
        if (is_array($item)) {
            $v[$k] = _BOND_unmarked($item, $error, $depth + 1);
        }
    }
    return $v;
}

// The RELEASE notice for the proxies gone since the last frame (taken once).
function _BOND_release_line()
{
    $ids = _BOND_Objects::$released;
    _BOND_Objects::$released = array();
    return 'RELEASE ' . json_encode(array_values($ids)) . "\n";
}

// A proxy's request to the host (what is not data goes as handles of ours); nested requests
// are served until its answer.
function _BOND_ask($verb, $payload)
{
    if (!_BOND_own_process()) {
        throw new Exception('a proxy cannot be used from a child process');
    }
    $json = _BOND_json(_BOND_marked($payload, true));
    if ($json === false) {
        throw new _BOND_SerializationException('cannot serialize the arguments: ' . json_last_error_msg());
    }
    $blocks = _BOND::$blocksOut ? _BOND_blocks_text() : '';   // [ext] BYTES
    $armed = _BOND::$armed;
    _BOND::$armed = _BOND::$pending = false;
    try {
        _BOND_flush();
        _BOND_write($verb, $json, $blocks);
        $verb = _BOND_next($value, $error);
        if ($verb !== 'RETURN' && $verb !== 'EXCEPT' && $verb !== 'ERROR') {
            $verb = _BOND_serve($verb, $value, $error);
        }
    } finally {
        _BOND::$armed = $armed;
        _BOND::$pending = false;
    }
    if ($error !== null) {
        throw new _BOND_SerializationException($error);
    }
    if ($verb === 'RETURN') {
        return $value;
    }
    if ($verb === 'EXCEPT') {
        $e = new _BOND_RemoteException(is_string($value) ? $value : (string)json_encode($value, _BOND::JSON));
        $e->data = $value;
        throw $e;
    }
    throw new _BOND_SerializationException(is_string($value) ? $value : 'serialization error');
}

// OBJECT, OCALL, OGET, ODESCRIBE and RELEASE from the host (see _BOND_prepare): the code
// of OBJECT is evaluated as EVAL's; the others are answered here.
function _BOND_object_request($verb, $value)
{
    switch ($verb) {
        case 'OBJECT':
            if (!is_string($value)) {
                _BOND_send_error('malformed OBJECT request: expected a code string');
                return null;
            }
            return array("return $value\n;", true, null, array('objects' => 'keep'));
        case 'RELEASE':
            foreach ((array)$value as $id) {
                unset(_BOND_Objects::$table[$id]);
            }
            return null;
        case 'ODESCRIBE':
            _BOND_answer('_BOND_describe_object', array($value), true);
            return null;
    }
    if (!is_array($value) || count($value) < 3) {
        _BOND_send_error("malformed $verb request: expected [id, name, ...]");
        return null;
    }
    $mode = ($verb === 'OCALL' ? $value[3] : $value[2]) ?? 'error';
    _BOND_answer($verb === 'OCALL' ? '_BOND_object_call' : '_BOND_object_get', array($value), true, array('objects' => $mode));
    return null;
}

function _BOND_describe_object($id)
{
    $target = _BOND_table_entry($id);
    $text = is_scalar($target) ? var_export($target, true) : print_r($target, true);
    return array('type' => _BOND_type_name($target), 'description' => rtrim($text, "\n"));
}

function _BOND_object_call($request)
{
    $target = _BOND_table_entry($request[0]);
    $args = array_values((array)$request[2]);
    if (is_array($request[4] ?? null)) {   // [ext] KEYWORDS: named, after the positional ones
        $args += $request[4];
    }
    return $request[1] === null ? $target(...$args) : $target->{$request[1]}(...$args);
}

function _BOND_object_get($request)
{
    $target = _BOND_table_entry($request[0]);
    $name = (string)$request[1];
    if (is_object($target) && !isset($target->$name) && !property_exists($target, $name) && method_exists($target, $name)) {
        return Closure::fromCallable(array($target, $name));   // a method: bound to its object
    }
    if (is_array($target)) {
        return $target[$name];
    }
    return $target->$name;
}

// The reply of OBJECT ('keep': the value becomes a handle), of OCALL and OGET ('handle': what
// is not data becomes handles; 'error': data), and of RUN with "handle".
function _BOND_send_objects($value, $want, $run)
{
    _BOND_flush();
    if (isset($run['input'])) {
        if (!$want || ($value === null && $run['input'])) {
            _BOND_put("RETURN {}\n");
            return;
        }
        $value = array('value' => $value);
    }
    if ($run['objects'] === 'error') {
        _BOND_send_value('RETURN', $value);
        return;
    }
    $json = _BOND_json($run['objects'] === 'keep' ? _BOND_keep($value) : _BOND_marked($value, true));
    if ($json === false) {
        _BOND_write('ERROR', json_encode('cannot serialize the result: ' . json_last_error_msg(), _BOND::JSON));
        return;
    }
    if (_BOND::$blocksOut) {
        _BOND_write_blocks();
    }
    _BOND_put((_BOND_Objects::$released ? _BOND_release_line() : '') . "RETURN $json\n");
}

// ---------------------------------------------------------------------------

// Whether this process may run on more than one processor (its affinity mask, from /proc):
// with a single one, reads block at once, since looking again would only keep the host from
// answering.
function _BOND_spare_cpu()
{
    $status = @file_get_contents('/proc/self/status');
    if ($status === false || !preg_match('/^Cpus_allowed_list:\s*(\S+)/m', $status, $m)) {
        return true;
    }
    $count = 0;
    foreach (explode(',', $m[1]) as $part) {
        $ends = explode('-', $part);
        $count += count($ends) > 1 ? (int)$ends[1] - (int)$ends[0] + 1 : 1;
    }
    return $count > 1;
}

// The interactive shell (`php -a`) keeps each line it reads in the user's ~/.php_history, and
// reads that whole file at each start: the probe and stage 1 would pile up there, one pair per
// bond ever started, and every start would be slower than the one before. Take them (and any
// left by earlier starts) out of the history and write it back as the user left it.
function _BOND_forget_startup_lines()
{
    if (!function_exists('readline_list_history') || !function_exists('readline_write_history')) {
        return;
    }
    $lines = readline_list_history();
    $kept = array();
    foreach ($lines as $line) {
        if (strpos($line, '$_BOND_') === false && strpos($line, 'strtoupper("stage1') === false) {
            $kept[] = $line;
        }
    }
    if (count($kept) === count($lines)) {
        return;
    }
    $account = function_exists('posix_getpwuid') ? posix_getpwuid(posix_getuid()) : false;
    $home = $account ? $account['dir'] : getenv('HOME');   // where the shell found the history
    if (!is_string($home) || $home === '') {
        return;
    }
    readline_clear_history();
    foreach ($kept as $line) {
        readline_add_history($line);
    }
    @readline_write_history($home . '/.php_history');
}

function _BOND_start($protocol, $trans, $stdin, $extensions = array())
{
    // [ext] the host's third start value names the extensions it switches on (one list)
    _BOND::$bytes = is_array($extensions) && in_array('BYTES', $extensions, true);
    _BOND_Objects::$on = is_array($extensions) && in_array('OBJECTS', $extensions, true);
    foreach (array('_BOND_stdin', '_BOND_stage', '_BOND_error', '_BOND_l', '_BOND_e') as $name) {
        unset($GLOBALS[$name]);
    }
    if ($protocol !== 'JSON') {
        throw new Exception("unsupported protocol $protocol");
    }
    _BOND::$trans = (bool)$trans;

    // The protocol stays on private duplicates of fd 0 and fd 1. Children of
    // the evaluated code get /dev/null and the interpreter's stderr, so they
    // can neither eat requests nor forge frames.
    _BOND::$pid = getmypid();
    _BOND::$known = hrtime(true);
    _BOND::$out = fopen('php://fd/1', 'wb');
    _BOND::$in = fopen('php://fd/0', 'rb');
    _BOND::$err = fopen('php://fd/2', 'wb');
    if (!_BOND::$out || !_BOND::$in) {
        throw new Exception('cannot duplicate the standard descriptors');
    }
    // Requests are read without blocking (see _BOND_read). PHP cannot open the pipe a
    // second time (it resolves /proc/self/fd/0 to "pipe:[...]"), so the flag goes on the
    // pipe's own description, which only this process reads: only when standard input is a
    // pipe, and not the same file as standard output (a socket over ssh, say); otherwise
    // reads simply block.
    $in = @fstat(_BOND::$in);
    $out = @fstat(_BOND::$out);
    if ($in && ($in['mode'] & 0170000) === 0010000
        && !($out && $out['ino'] === $in['ino'] && $out['dev'] === $in['dev']) && _BOND_spare_cpu()) {
        stream_set_blocking(_BOND::$in, false);
    }
    stream_set_read_buffer(_BOND::$in, 0);
    stream_set_chunk_size(_BOND::$in, 1048576);
    if (!defined('STDOUT')) {
        _BOND_forget_startup_lines();
        // `php -a` defines no STDIN/STDOUT/STDERR: the first php://stdout
        // and php://stdin own fd 1 and fd 0; closing them frees the numbers
        // for the next opens.
        fclose(fopen('php://stdout', 'wb'));
        _BOND::$keep[] = fopen('php://fd/2', 'wb');
        fclose($stdin);
        _BOND::$keep[] = fopen('/dev/null', 'rb');
        define('STDIN', fopen('/dev/null', 'rb'));
        define('STDOUT', fopen('php://memory', 'wb'));
        define('STDERR', fopen('php://memory', 'wb'));
    } else {
        // `php -r`/script: the constants own fd 0 and 1; without dup2 (FFI)
        // only stdin can move, and a child that inherits fd 1 can write
        // into the protocol stream.
        $ffi = null;
        if (class_exists('FFI', false)) {
            try {
                $ffi = FFI::cdef('int dup2(int oldfd, int newfd); int open(const char *path, int flags); int close(int fd);');
            } catch (Throwable $e) {
                $ffi = null;
            }
        }
        if ($ffi) {
            $fd = $ffi->open('/dev/null', 0);
            if ($fd >= 0) {
                $ffi->dup2($fd, 0);
                $ffi->close($fd);
            }
            $ffi->dup2(2, 1);
        } else {
            fclose(STDIN);
            _BOND::$keep[] = fopen('/dev/null', 'rb');
        }
    }
    stream_filter_register('_BOND.capture', '_BOND_Capture');
    stream_filter_append(STDOUT, '_BOND.capture', STREAM_FILTER_WRITE, 'STDOUT');
    stream_filter_append(STDERR, '_BOND.capture', STREAM_FILTER_WRITE, 'STDERR');
    if (in_array('php', stream_get_wrappers(), true) && @stream_wrapper_unregister('php')) {
        stream_wrapper_register('php', '_BOND_PhpStream');
    }
    ob_start('_BOND_ob', 1, PHP_OUTPUT_HANDLER_CLEANABLE | PHP_OUTPUT_HANDLER_FLUSHABLE);
    set_error_handler('_BOND_error');

    if (function_exists('pcntl_async_signals') && function_exists('pcntl_signal')) {
        pcntl_async_signals(true);
        pcntl_signal(SIGINT, '_BOND_sigint');
    }

    _BOND_write('READY');
}
