#!/usr/bin/env bash
# End-to-end tests of bond-workbench against real interpreters, driven through tmux.
#
#   scripts/workbench-e2e.sh [path/to/bond-workbench]
#
# Builds the program (swift build --scratch-path .build-wb) unless a binary is given. Runs in
# a private tmux server (its own socket), so no other tmux session is touched. Every wait is a
# bounded poll of capture-pane. Prints "N passed, N failed" and exits non-zero on failure.
# Set CAPTURE_DIR to keep screen captures (used for docs/workbench.md). Set ONLY to a list of
# sections to run some of them: main signals flood languages inspector nesting wiring session
# config mouse completion replay keys repl objects ssh hosts.
set -u
cd "$(dirname "$0")/.."

BIN=${1:-}
if [[ -z "$BIN" ]]; then
    swift build --scratch-path .build-wb --product bond-workbench >/dev/null || { echo "build failed"; exit 2; }
    BIN="$(swift build --scratch-path .build-wb --show-bin-path)/bond-workbench"
fi
command -v tmux >/dev/null || { echo "tmux is needed"; exit 2; }

SOCKET="bond-wb-e2e-$$"
T=(tmux -L "$SOCKET")
STATE=$(mktemp -d)
CAPTURES=${CAPTURE_DIR:-}
PASSED=0
FAILED=0
SESSION=wb

cleanup() {
    "${T[@]}" kill-server 2>/dev/null
    rm -rf "$STATE"
}
trap cleanup EXIT

screen() { "${T[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
keys() { "${T[@]}" send-keys -t "$SESSION" "$@"; }
typed() { "${T[@]}" send-keys -t "$SESSION" -l "$1"; }
# A command at the command prompt (Alt-x): cmd 'focus python'
cmd() { keys M-x; typed "$1"; keys Enter; }

# poll_screen shown|gone -F|-E PATTERN [SECONDS]: polls the screen (every 0.1 s, 8 s at most
# by default) until PATTERN shows, or is gone.
poll_screen() {
    local want=$1 mode=$2 pattern=$3 limit=${4:-8} i
    for ((i = 0; i < limit * 10; i++)); do
        if screen | grep -q "$mode" -- "$pattern"; then [[ $want == shown ]] && return 0
        else [[ $want == gone ]] && return 0; fi
        sleep 0.1
    done
    return 1
}
# wait_for TEXT [SECONDS] (a fixed string), wait_re REGEX [SECONDS], wait_gone TEXT [SECONDS]
wait_for() { poll_screen shown -F "$@"; }
wait_re() { poll_screen shown -E "$@"; }
wait_gone() { poll_screen gone -F "$@"; }

# click X Y / wheel up|down X Y: a mouse event (xterm X10 encoding, 0-based cells) as the
# terminal would send it.
mouse_event() {
    "${T[@]}" send-keys -t "$SESSION" -H 1b 5b 4d "$(printf '%x' $((32 + $1)))" \
        "$(printf '%x' $((33 + $2)))" "$(printf '%x' $((33 + $3)))"
}
click() { mouse_event 0 "$1" "$2"; mouse_event 3 "$1" "$2"; }
wheel() { if [[ $1 == up ]]; then mouse_event 64 "$2" "$3"; else mouse_event 65 "$2" "$3"; fi; }
# first_line_has REGEX: the first screen line, with its attributes, matches.
first_line_has() { "${T[@]}" capture-pane -e -p -t "$SESSION" | head -1 | grep -qE -- "$1"; }
colours() { "${T[@]}" capture-pane -e -p -t "$SESSION" | grep -cE $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5;[0-9]+)(;[0-9;]*)?m'; }

absent() { ! screen | grep -qF -- "$1"; }
# shown_in_all TEXT: TEXT in each of the three columns of a 160-column screen; once TEXT: exactly once.
shown_in_all() {
    local i
    for ((i = 0; i < 80; i++)); do
        [[ $(screen | awk -v t="$1" '{ n = split($0, c, "│"); for (k = 1; k <= n; k++) if (index(c[k], t)) seen[k] = 1 } END { print length(seen) }') -ge 3 ]] && return 0
        sleep 0.1
    done
    return 1
}
once() { local i; for ((i = 0; i < 50; i++)); do [[ $(screen | grep -oF -- "$1" | wc -l) -eq 1 ]] && return 0; sleep 0.1; done; return 1; }

want() { [[ -z "${ONLY:-}" || " $ONLY " == *" $1 "* ]]; }


check() {
    local name=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name"
        screen | sed 's/^/     | /' | head -60
    fi
}

capture() {
    [[ -n "$CAPTURES" ]] || return 0
    mkdir -p "$CAPTURES"
    screen | sed -e 's/[[:space:]]*$//' > "$CAPTURES/$1.txt"
}

start() {
    local width=$1 height=$2
    shift 2
    # A fresh server each time (this script's own socket): a new session made while the last
    # one's server is shutting down could fail.
    "${T[@]}" kill-server 2>/dev/null
    local i
    for ((i = 0; i < 40; i++)); do "${T[@]}" list-sessions >/dev/null 2>&1 || break; sleep 0.05; done
    "${T[@]}" new-session -d -s "$SESSION" -x "$width" -y "$height" \
        "XDG_STATE_HOME='$STATE' XDG_CONFIG_HOME='$STATE/config' ${START_ENV:-} '$BIN' $*; echo EXIT=\$?; sleep 600"
}

# The pid shown in a pane's title: pane_pid NAME
pane_pid() {
    screen | grep -oE "$1 · [A-Za-z]+ · local · [a-z ]+[0-9]* · pid [0-9]+" | head -1 | grep -oE '[0-9]+$'
}

alive() { kill -0 "$1" 2>/dev/null; }

# --------------------------------------------------------------------------------------------
if want main; then
echo "== two panes, Python and JavaScript, 160x48"
start 160 48 python js
check "both panes start" wait_for "javascript · JavaScript · local · idle" 30
check "python pane idle" wait_for "▶ python · Python · local · idle" 30
PY=$(pane_pid python)
JS=$(pane_pid javascript)
check "interpreter pids shown" test -n "$PY" -a -n "$JS"

typed '6*7'; keys Enter
check "eval shows the value" wait_for "= 42"

typed 'print("out"); import sys; sys.stderr.write("warn\n")'; keys F3
check "block: stdout" wait_for "  out"
check "block: stderr told apart" wait_for "! warn"

typed 'x = {"a": [1, 2], "b": "日本語 e'"$(printf '\u0301')"'"}'; keys F3
typed 'x'; keys Enter
check "a short value on one line" wait_for '= {"a": [1, 2], "b": "日本語'
check "wide and combining text" wait_for "\"日本語 e$(printf '\u0301')\""

typed 'max 3 9 4'; keys F4
check "call with JSON arguments" wait_for "= 9"

typed '[10, 20, 30]'; keys F7
check "ref asks a name" wait_for "ref name for [10, 20, 30]:"
keys C-u; typed 'nums'; keys Enter
check "ref made" wait_for "· ref @nums = [10, 20, 30]"
check "refs listed" wait_for "refs: @nums"
typed 'sum @nums'; keys F4
check "call with a ref argument" wait_for "= 60"

typed 'open'; keys F7; keys C-u; typed 'op'; keys Enter
keys F8
check "inspect asks the ref" wait_for "inspect ref (or expression; Tab: refs): op"
keys Enter
check "inspect an unserializable ref: type" wait_for "· inspect @op: builtin_function_or_method"
check "inspect: description" wait_for "<built-in function open>"

typed 'print("\x1b]52;c;SGVsbG8=\x07\x1b[6n\x1bc\u202e\x9b2J")'; keys Enter
check "control characters shown escaped" wait_for '^[]52;c;SGVsbG8=^G^[[6n^[c<U+202E>\x9b2J'

# Proxy: python's add becomes callable in javascript; a nested call through it.
typed 'def add(a, b):'; keys M-Enter; typed '    print("adding", a, b)'; keys M-Enter; typed '    return a + b'
keys F3
check "multi-line block" wait_for "      return a + b"
typed 'add'; keys F9
check "proxy asks the function" wait_for "proxy function of python: add"
keys Enter
check "proxy asks the target pane" wait_for "proxy add to pane (Tab cycles): javascript"
keys Enter
check "proxy asks the name" wait_for "name of add in javascript: add"
keys Enter
check "wiring listed" wait_for "proxies: add→javascript.add"
keys F6
check "Tab focuses javascript" wait_for "▶ javascript"
typed 'add(2, 40) + 1'; keys Enter
check "call through the proxy" wait_for "= 43"
check "nested call shown in the caller" wait_for "↳ add(2, 40) → python.add"
check "nested call shown in the callee" wait_for "↳ add(2, 40) ← called from javascript"
check "nested output in the callee" wait_for "  adding 2 40"
check "log shows the CALL" wait_re 'python     >1 +[0-9]+B +[0-9.]+m?s +CALL \["add",\[2,40\]\]'
capture proxy

keys F6; keys F6
check "Tab cycles back to python" wait_for "▶ python"

# Interrupt a running loop; the other pane keeps working meanwhile.
typed 'while True: pass'; keys F3
check "busy with depth" wait_for "python · Python · local · busy depth 1"
keys F6
typed '"still " + "working"'; keys Enter
check "other pane answers while one is busy" wait_for '= "still working"'
keys BTab
keys C-c
check "interrupt" wait_for "Python exception: KeyboardInterrupt"
check "idle after interrupt" wait_for "▶ python · Python · local · idle"

keys Up
check "history: Up recalls the last input" wait_for "› while True: pass"
keys C-c
check "Ctrl-C clears the input when idle" wait_gone "› while True: pass" 3

# Command prompt.
cmd 'eval 2**10'
check "command prompt: eval" wait_for "= 1024"
cmd "log save $STATE/traffic.log"
check "command prompt: log save" wait_for "saved to $STATE/traffic.log"
check "log file has mode 0600" test "$(stat -c %a "$STATE/traffic.log" 2>/dev/null)" = 600
check "log file holds the frames" grep -qF '"verb":"EVAL","bytes":12,"pair":' "$STATE/traffic.log"

# Kill the interpreter: the pane shows it dead; F5 restarts it.
kill -9 "$PY"
check "dead with exit status" wait_for "python · Python · local · dead (killed by signal 9 (SIGKILL))"
check "death reported in the transcript" wait_for "✗ Python interpreter terminated (killed by signal 9 (SIGKILL))"
capture dead
keys F5
check "F5 restarts" wait_for "▶ python · Python · local · idle" 30
PY2=$(pane_pid python)
check "new interpreter" test -n "$PY2" -a "$PY2" != "$PY"
check "proxy re-exported into javascript is kept" wait_for "proxies: add→javascript.add"
typed '1+1'; keys Enter
check "eval after restart" wait_for "= 2"

# New pane whose interpreter cannot start; the others keep working.
keys M-n; typed 'bad:Python=nonexistent-interpreter-xyz'; keys Enter
check "failing pane shows the reason" wait_for "exec: nonexistent-interpreter-xyz: not" 10
check "failing pane state" wait_for "bad · Python · local · failed to start"
keys M-k
check "removing a pane asks first" wait_for "remove the pane bad? (undo brings it back) y/N"
keys y
check "Alt-k then y removes a failed pane" wait_gone "bad · Python" 3
cmd 'focus python'
check "focus command" wait_for "▶ python"

# Help overlay.
keys F1
check "help overlay" wait_re "bond-workbench keys · 1-[0-9]+ of [0-9]+"
check "help lists the keys" wait_for "run the input as a block (statements)"
capture help
keys Escape
check "help closes" wait_gone "bond-workbench keys" 3

# Resize down to 80x24 and back.
"${T[@]}" resize-window -t "$SESSION" -x 80 -y 24
check "80x24 after resize" wait_for "▶ python · Python · local · idle  "
capture small
"${T[@]}" resize-window -t "$SESSION" -x 160 -y 48
check "160x48 after resize" wait_for "▶ python · Python · local · idle · pid"
capture main

# Quit: every interpreter ends, the terminal comes back.
PY2=$(pane_pid python)
JS=$(pane_pid javascript)
keys C-q
check "Ctrl-Q exits with status 0" wait_for "EXIT=0" 15
check "terminal restored (no pane titles left)" wait_gone "▶ python" 2
check "no python left" bash -c "! kill -0 $PY2 2>/dev/null"
check "no node left" bash -c "! kill -0 $JS 2>/dev/null"
fi

# --------------------------------------------------------------------------------------------
if want signals; then
for signal in TERM:143 HUP:129; do
    name=${signal%%:*}
    status=${signal##*:}
    echo "== SIG$name closes every bond and restores the terminal"
    start 120 40 py
    check "started" wait_for "▶ python · Python · local · idle" 30
    PY=$(pane_pid python)
    SH=$("${T[@]}" list-panes -t "$SESSION" -F '#{pane_pid}')
    WB=$(pgrep -P "$SH" -x bond-workbench)
    kill -"$name" "$WB"
    check "exit status $status" wait_for "EXIT=$status" 15
    check "interpreter gone after SIG$name" bash -c "! kill -0 $PY 2>/dev/null"
done
fi

# --------------------------------------------------------------------------------------------
if want flood; then
echo "== flood of output and a storm of resizes"
start 160 48 py js
check "started" wait_for "javascript · JavaScript · local · idle" 30
SH=$("${T[@]}" list-panes -t "$SESSION" -F '#{pane_pid}')
WB=$(pgrep -P "$SH" -x bond-workbench)
typed 'for i in range(300000): print("flood", i, "日本語 e\u0301 🙂\x1b[2J" * (i % 3))'; keys F3
check "flooding" wait_for "python · Python · local · busy depth 1"
RSS1=$(ps -o rss= -p "$WB")
for ((i = 0; i < 100; i++)); do
    "${T[@]}" resize-window -t "$SESSION" -x $((80 + i % 7 * 11)) -y $((24 + i % 5 * 5))
    sleep 0.01
done
"${T[@]}" resize-window -t "$SESSION" -x 160 -y 48
keys F6; typed '"keys still answered"'; keys Enter
check "keys answered during the flood" wait_for '= "keys still answered"' 10
check "layout right after the last resize" wait_for "▶ javascript · JavaScript · local · idle · pid" 5
check "escapes in flooded text stay escaped" wait_for "^[[2J"
keys BTab; keys C-c
check "flood interrupted" wait_for "KeyboardInterrupt" 15
RSS2=$(ps -o rss= -p "$WB")
echo "     rss before ${RSS1} KiB, after ${RSS2} KiB"
check "memory stays bounded (< 300 MiB)" test "$RSS2" -lt 307200
keys C-q
check "quit after the flood" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want languages; then
echo "== every language found, 160x48"
start 160 48
check "panes open without arguments" wait_for "python · Python · local · idle" 20
for lang in perl:Perl php:PHP ruby:Ruby r:R; do
    name=${lang%%:*}
    title=${lang##*:}
    if screen | grep -qF "$name · $title"; then
        check "$title pane starts" wait_for "$name · $title · local · idle" 20
        cmd "focus $name"
        case $name in
            perl) typed 'my @a = (1, 2, 3); print "from perl\n"; [map { $_ * 2 } @a]'; keys Enter ;;
            php) typed 'array_map(function ($x) { echo "from php\n"; return $x * 3; }, [1, 2])'; keys Enter ;;
            ruby) typed '[1, 2].map { |v| puts "from ruby"; v * 4 }'; keys Enter ;;
            r) typed 'sapply(1:2, function(v) { cat("from r\n"); v * 5 })'; keys Enter ;;
        esac
        check "$title output" wait_re "  from $name( +│|$)"
    fi
done
check "every pane answered" wait_gone " · busy depth" 20
capture all
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want inspector; then
echo "== traffic inspector"
start 160 48 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
typed 'def add(a, b):'; keys M-Enter; typed '    print("adding", a, b)'; keys M-Enter; typed '    return a + b'; keys F3
cmd 'proxy python.add to javascript'
check "proxied" wait_for "proxies: add→javascript.add"
cmd 'focus javascript'
typed 'add(2, 40) + add(1, 1)'; keys M-e  # evaluated as one expression: an EVAL frame
check "nested calls ran" wait_for "= 44"
cmd 'focus log'
check "nested CALL indented under the interpreter's CALL" wait_re 'python     >1 +19B +[0-9.]+m?s     CALL \["add",\[2,40\]\]'
capture inspector
cmd 'log filter pane:javascript'
check "request row: size and time" wait_re 'javascript >1 +[0-9]+B +[0-9.]+m?s EVAL "add\(2, 40\) \+ add\(1, 1\)"'
check "interpreter's CALL in the caller" wait_re 'javascript <1 +[0-9]+B +[0-9.]+m?s   CALL \["add",\[2,40\]\]'
cmd 'log filter'
check "reply paired with its time" wait_re 'python     <1 +9B +[0-9.]+m?s     RETURN 42'
check "output inside the nested call" wait_re 'python     <1 +[0-9]+B +      OUTPUT \["STDOUT","adding 1 1\\n"\]'
keys f; typed 'verb:CALL pane:python'; keys Enter
check "filter by verb and pane" wait_for "filter verb:CALL pane:python · 2 shown"
check "filter hides the rest" wait_gone 'EVAL "add(2, 40)' 3
keys c
check "filter cleared" wait_gone "filter verb:CALL" 3
keys /; typed 'RETURN 4'
check "incremental search" wait_for "search log: RETURN 4"
keys Enter
check "search remembered" wait_for "/RETURN 4"
keys Enter
check "detail view of the found frame" wait_re 'frame #[0-9]+ · javascript \(JavaScript\) · received from the interpreter \(<\) · depth 1'
check "detail: paired with its request" wait_re 'RETURN · reply to #[0-9]+ EVAL after [0-9.]+m?s'
check "detail: payload as JSON" wait_for "payload as JSON (r: exact bytes)"
capture inspector-detail
keys r
check "raw view: hex of the exact bytes" wait_for "000000  52 45 54 55 52 4e 20 34 34 0a"
check "raw view: the line" wait_for "line: RETURN 44"
capture inspector-raw
keys Left
check "detail: previous frame" wait_re 'frame #[0-9]+ · (javascript|python)'
keys Escape
check "detail closes" wait_gone "frame detail" 3
keys p
check "pause" wait_re "paused · 0 new"
keys F6; typed '"after pause"'; keys M-e
check "paused: new frames counted" wait_re "paused · [1-9][0-9]* new"
check "paused: new frames not shown" absent 'EVAL "\"after pause'
cmd 'log follow'
check "follow shows them" wait_for 'EVAL "\"after pause\""'
cmd 'log filter verb:CALL,RETURN'
cmd "log save --shown $STATE/shown.jsonl"
check "saved what the filter shows" wait_for "saved to $STATE/shown.jsonl"
cmd "log save $STATE/all.jsonl"
check "saved everything" wait_for "saved to $STATE/all.jsonl"
check "JSON lines, each frame paired and timed" python3 - "$STATE/shown.jsonl" "$STATE/all.jsonl" <<'PY'
import json, sys
shown = [json.loads(l) for l in open(sys.argv[1])]
every = [json.loads(l) for l in open(sys.argv[2])]
assert shown and all(f["verb"] in ("CALL", "RETURN") for f in shown), shown
assert len(every) > len(shown)
calls = [f for f in every if f["verb"] == "CALL" and f["pane"] == "python"]
assert len(calls) == 2 and all("pair" in f and "ms" in f for f in calls), calls
for f in calls:
    reply = next(g for g in every if g["seq"] == f["pair"])
    assert reply["verb"] == "RETURN" and reply["pair"] == f["seq"] and reply["bytes"] == len(reply["line"].encode())
assert set(every[0]) >= {"seq", "time", "pane", "language", "dir", "depth", "verb", "bytes", "line"}
PY
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want nesting; then
echo "== nesting across bonds: Python calls jsback (JavaScript), which calls pyf (Python)"
start 160 48 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
typed 'def pyf(x): return x + 1'; keys F3
cmd 'proxy python.pyf to javascript'
check "pyf wired" wait_for "proxies: pyf→javascript.pyf"
cmd 'focus javascript'
typed 'function jsback(x) { return pyf(x) * 10; }'; keys F3
cmd 'proxy javascript.jsback to python'
check "jsback wired" wait_for "jsback←javascript.jsback"
cmd 'focus python'
typed 'jsback(1)'; keys Enter
check "the chain ran" wait_for "= 20"
cmd 'focus log'
# Indented two columns a level: JavaScript's CALL of pyf is in 3 requests, Python's second
# level in 4 (its EVAL, its CALL of jsback, JavaScript's CALL, JavaScript's CALL of pyf).
check "JavaScript's CALL of pyf at nest 3" wait_re 'javascript <1 +[0-9]+B +[0-9.]+m?s {7}CALL \["pyf",\[1\]\]'
check "Python's re-entrant CALL deeper, at nest 4" wait_re 'python     >2 +[0-9]+B +[0-9.]+m?s {9}CALL \["pyf",\[1\]\]'
check "its reply at the same nest" wait_re 'python     <2 +[0-9]+B +[0-9.]+m?s {9}RETURN 2'
check "the outer reply back at the top" wait_re 'python     <1 +[0-9]+B +[0-9.]+m?s RETURN \{"value":20\}'
capture nesting
cmd "log save $STATE/nest.jsonl"
check "saved" wait_for "saved to $STATE/nest.jsonl"
check "saved JSON: the true nest of each frame" python3 - "$STATE/nest.jsonl" <<'PY'
import json, sys
frames = [json.loads(l) for l in open(sys.argv[1])]
calls = [(f["pane"], f["dir"], f["nest"]) for f in frames if f["verb"] == "CALL"]
assert calls == [("python", "received", 1), ("javascript", "sent", 2), ("javascript", "received", 3), ("python", "sent", 4)], calls
nested = next(f for f in frames if f["pane"] == "python" and f["depth"] == 2 and f["verb"] == "CALL")
assert nested["nest"] == 4, nested
reply = next(f for f in frames if f["seq"] == nested["pair"])
assert reply["verb"] == "RETURN" and reply["nest"] == 4, reply
js = next(f for f in frames if f["pane"] == "javascript" and f["dir"] == "received" and '"pyf"' in f["line"])
assert js["nest"] == 3, js
PY
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want wiring; then
echo "== wiring view: counts, unwire, restarts of either bond"
start 160 48 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
typed 'def add(a, b): return a + b'; keys F3
typed 'def twice(s): return s * 2'; keys F3
cmd 'proxy python.add to javascript'
check "add wired" wait_for "proxies: add→javascript.add"
cmd 'proxy python.twice to javascript as dbl'
check "twice wired as dbl" wait_for "dbl←python.twice"
cmd 'focus javascript'
typed '[1, 2, 3].map(n => add(n, 10))'; keys Enter
check "calls through add" wait_for "= [11, 12, 13]"
keys F2
check "wiring view" wait_for "wiring · 2 proxies"
check "wire row with its count" wait_re '1  python +add +→ javascript  add +3'
check "second wire" wait_re '2  python +twice +→ javascript  dbl +0'
capture wiring
keys Escape
check "view closes" wait_gone "wiring · 2 proxies" 3
# Restart the source: the wire keeps working (the source bond is looked up at each call).
PY=$(pane_pid python)
kill -9 "$PY"
check "source dead" wait_for "python · Python · local · dead" 10
cmd 'restart python'
check "source restarted" wait_re "python · Python · local · idle · pid" 30
cmd 'focus python'
cmd 'block def add(a, b): return a * b'
cmd 'block def twice(s): return s * 2'
cmd 'focus javascript'
typed 'add(6, 7)'; keys Enter
check "wire survives a restart of the source" wait_for "= 42"
# Restart the target: the wires are exported again (F5 asks first; F5 again says yes).
keys F5
check "restart asks first" wait_for "restart javascript? its interpreter's state is lost y/N (F5 again: yes)"
keys F5
check "target restarted" wait_re "javascript · JavaScript · local · idle · pid" 30
check "wires re-applied" wait_for "proxy: python.twice is callable here as dbl"
typed 'dbl("ab")'; keys Enter
check "wire survives a restart of the target" wait_for '= "abab"'
keys F2
check "counts kept" wait_re '1  python +add +→ javascript  add +4'
check "count of the other wire" wait_re '2  python +twice +→ javascript  dbl +1'
keys d
check "unwired from the view" wait_gone "→ javascript  add" 3
keys Escape
check "unwire noted" wait_for "unwire add (was python.add)"
typed 'add(1, 2)'; keys Enter
check "an unwired name throws" wait_for "unwired: add was unwired in the workbench"
keys F5; keys y
check "target restarted again" wait_re "javascript · JavaScript · local · idle · pid" 30
typed 'typeof add + " " + typeof dbl'; keys Enter
check "unwired wire not re-applied, the other is" wait_for '= "undefined function"'
cmd 'unwire javascript.dbl'
check "unwire command" wait_for "unwire dbl (was python.twice)"
keys F2
check "no wires left" wait_for "wiring · 0 proxies"
keys Escape
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want session; then
echo "== sessions: --session FILE, session save"
cat > "$STATE/session.json" <<'JSON'
{
  "version": 1,
  "panes": [
    {"name": "calc", "language": "Python",
     "startup": "import math\ndef hyp(a, b):\n    print('hyp', a, b)\n    return math.hypot(a, b)",
     "refs": [{"name": "sides", "code": "[3, 4]"}]},
    {"name": "ui", "language": "JavaScript", "startup": "function shout(s) { return s.toUpperCase() + '!' }"}
  ],
  "wires": [
    {"source": "calc", "function": "hyp", "target": "ui", "name": "hypot"},
    {"source": "ui", "function": "shout", "target": "calc", "name": "shout"}
  ]
}
JSON
start 160 48 --session "$STATE/session.json"
check "session panes start" wait_for "ui · JavaScript · local · idle" 30
check "start-up blocks run" wait_for "· start-up block ran"
check "wiring re-created" wait_for "proxies: hyp→ui.hypot shout←ui.shout"
check "refs restored" wait_for "refs: @sides"
cmd 'focus ui'
typed 'hypot(3, 4)'; keys Enter
check "call through a session wire" wait_for "↳ hyp returned 5.0"
check "its value in the caller" wait_re '│= 5 *$'
cmd 'focus calc'
typed 'shout("hi")'; keys Enter
check "and the other way" wait_for '= "HI!"'
typed 'def area(w, h): return w * h'; keys F3
cmd 'proxy calc.area to ui'
check "new wire" wait_for "area←calc.area"
capture session
cmd "session save $STATE/saved.json"
check "session saved" wait_for "saved to $STATE/saved.json"
check "saved session holds panes, start-up, refs, wires" python3 - "$STATE/saved.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert [p["name"] for p in s["panes"]] == ["calc", "ui"], s
entries = s["panes"][0]["entries"]
assert any("def hyp(a, b)" in e for e in entries) and "def area(w, h): return w * h" in entries, entries
assert s["panes"][0]["refs"] == [{"name": "sides", "code": "[3, 4]"}]
assert {"source": "calc", "function": "area", "target": "ui", "name": "area"} in s["wires"], s["wires"]
assert len(s["wires"]) == 3
PY
keys C-q
check "quit" wait_for "EXIT=0" 15
start 160 48 --session "$STATE/saved.json"
check "saved session starts" wait_for "ui · JavaScript · local · idle" 30
check "its wiring" wait_for "proxies: hyp→ui.hypot area→ui.area shout←ui.shout"
cmd 'focus ui'
typed 'area(6, 7)'; keys Enter
check "wire made in the last session works" wait_for "= 42"
keys C-q
check "quit" wait_for "EXIT=0" 15
# A call through a wire made while its source pane still starts waits for the start-up block.
cat > "$STATE/slow.json" <<'JSON'
{"panes": [{"name": "slow", "language": "Python", "command": "sh -c 'sleep 1.5; exec python3 \"$@\"' sh",
            "startup": "def area(w, h):\n    return w * h"},
           {"name": "fast", "language": "JavaScript"}],
 "wires": [{"source": "slow", "function": "area", "target": "fast", "name": "area"}]}
JSON
start 160 48 --session "$STATE/slow.json"
check "a pane starts while the other waits" wait_for "fast · JavaScript · local · idle" 30
cmd 'focus fast'
typed 'area(6, 7)'; keys Enter
check "a wired call waits for its source's start-up block" wait_for "= 42" 30
keys C-q
check "quit" wait_for "EXIT=0" 15
# Issue 16 item 5: definitions kept once (the latest), loops and prints not kept, across
# restarts and redefinitions; restoring runs without an error in all four languages.
start 160 48 python js perl php
check "four panes" wait_for "php · PHP · local · idle" 30
check "perl too" wait_for "perl · Perl · local · idle" 30
cmd 'focus python'
cmd 'block def tri(n): return n * (n + 1) // 2'
cmd 'block for i in range(5000): print("loop", i)'
check "python loop ran" wait_for "  loop 4999" 20
cmd 'restart python'; keys y
check "python restarted" wait_re "python · Python · local · idle · pid" 30
cmd 'block def tri(n): return n * (n + 1) // 2 + 100'
typed 'tri(4)'; keys Enter
check "python: the redefinition ran" wait_for "= 110" 30
cmd 'focus javascript'
cmd 'block function sq(x) { return x * x }'
cmd 'block const o = {a: 1}'
cmd 'block console.log("print", 1)'
cmd 'focus perl'
typed 'sub greet { return "hi $_[0]" }'; keys F3
cmd 'block print "perl print\n"'
cmd 'focus php'
cmd 'block function tri($n) { return $n * ($n + 1) / 2; }'
cmd 'restart php'; keys y
check "php restarted" wait_re "php · PHP · local · idle · pid" 30
cmd 'block function tri($n) { return $n * ($n + 1) / 2; }'
cmd 'block echo "php print\n";'
check "php printed" wait_for "  php print"
cmd "session save $STATE/four.json"
check "four-language session saved" wait_for "saved to $STATE/four.json"
check "each definition once, no loop, no print" python3 - "$STATE/four.json" <<'PY'
import json, sys
s = {p["name"]: p.get("entries", []) for p in json.load(open(sys.argv[1]))["panes"]}
assert s["python"] == ["def tri(n): return n * (n + 1) // 2 + 100"], s["python"]
assert s["javascript"] == ["function sq(x) { return x * x }", "const o = {a: 1}"], s["javascript"]
assert s["perl"] == ['sub greet { return "hi $_[0]" }'], s["perl"]
assert s["php"] == ["function tri($n) { return $n * ($n + 1) / 2; }"], s["php"]
PY
keys C-q
check "quit" wait_for "EXIT=0" 15
start 160 48 --session "$STATE/four.json"
check "restored panes start" wait_for "php · PHP · local · idle" 30
for name in python javascript perl php; do
    check "$name: its start-up ran without an error" wait_re "· start-up (block ran|: [0-9]+ entries ran, all without error)"
done
check "no start-up entry failed" absent "start-up entry"
check "nothing printed again" absent "  loop 4999"
cmd 'focus php'
typed 'tri(4)'; keys Enter
check "a restored PHP function" wait_for "= 10"
cmd 'focus python'
typed 'tri(4)'; keys Enter
check "the latest Python definition" wait_for "= 110"
keys C-q
check "quit" wait_for "EXIT=0" 15
echo '{"panes": [{"name": "a", "language": "py"}], "wires": [{"source": "a", "function": "f", "target": "b", "name": "f"}]}' > "$STATE/bad.json"
start 160 48 --session "$STATE/bad.json"
check "a bad session file is explained" wait_for 'wire to b.f: no pane "b"' 10
fi

# --------------------------------------------------------------------------------------------
if want config; then
echo "== configuration file, NO_COLOR"
start 120 40 python
check "started" wait_for "▶ python · Python · local · idle" 30
check "colours by default" test "$(colours)" -gt 0
keys C-q
check "quit" wait_for "EXIT=0" 15
START_ENV="NO_COLOR=1" start 120 40 python
check "started with NO_COLOR" wait_for "▶ python · Python · local · idle" 30
check "NO_COLOR: no colour at all" test "$(colours)" -eq 0
check "NO_COLOR: the focused title is reversed" first_line_has $'\e\\[([0-9]+;)*7[;m]'
capture monochrome
keys C-q
check "quit" wait_for "EXIT=0" 15
mkdir -p "$STATE/config/bond-workbench"
cat > "$STATE/config/bond-workbench/config.json" <<'JSON'
{
  "keys": {"block": "Ctrl-O", "wiring": "F12", "complete": "F11"},
  "colors": {"panes": ["magenta"], "value": "yellow"},
  "panes": ["conf:py"],
  "history": false
}
JSON
start 120 40
check "default panes from the configuration" wait_for "▶ conf · Python · local · idle" 30
check "rebound keys in the status line" wait_for "^O block"
check "F11 completes" wait_for "F11 complete"
typed 'print("from ctrl-o")'; keys C-o
check "Ctrl-O runs a block" wait_for "  from ctrl-o"
capture config
keys F12
check "F12 opens the wiring view" wait_for "wiring · 0 proxies"
keys Escape
check "pane colour from the configuration" first_line_has $'\e\\[([0-9]+;)*45[;m]'
keys C-q
check "quit" wait_for "EXIT=0" 15
check "no history written (history: false)" test ! -e "$STATE/bond-workbench/history-conf"
echo '{"colour": "red"}' > "$STATE/config/bond-workbench/config.json"
start 120 40
check "a bad option is explained" wait_for 'unknown option "colour"' 10
rm -f "$STATE/config/bond-workbench/config.json"
fi

# --------------------------------------------------------------------------------------------
if want mouse; then
echo "== mouse: click to focus, wheel to scroll"
start 120 40 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
click 80 5
check "click focuses the pane under the pointer" wait_for "▶ javascript"
click 10 5
check "click focuses the other pane" wait_for "▶ python"
typed 'for i in range(60): print("row", i)'; keys F3
check "output" wait_for "  row 59"
wheel up 10 5
check "wheel scrolls the transcript" wait_for "scrolled ↑3"
wheel down 10 5
check "wheel back down" wait_gone "scrolled ↑3" 3
click 10 33
check "click in the log focuses it" wait_for "▶ log"
check "and selects a row" wait_for "not following (End)"
capture mouse
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want completion; then
echo "== completion: Tab (and Ctrl-Space)"
start 160 48 python js perl php
check "started" wait_for "javascript · JavaScript · local · idle" 30
typed 'def hypotenuse(a, b): return (a * a + b * b) ** 0.5'; keys F3
check "defined" wait_for "· ok"
typed 'hypo'; keys C-Space
check "a global function of the interpreter" wait_for "› hypotenuse"
keys C-u
typed 'import os'; keys F3
typed 'os.getc'; keys C-Space
check "attributes of an object" wait_for "› os.getcwd"
keys C-u
typed 'print("hist-one")'; keys Enter
check "ran" wait_for "  hist-one"
typed 'ma'; keys C-Space
check "several: a menu" wait_for "  max"
check "menu lists map too" wait_for "  map"
capture completion
keys Down; keys Enter
check "Down and Enter take a choice" wait_re '› (max|map) +│'
keys C-u
typed 'print("h'; keys C-Space
check "history entries in the menu" wait_for '↑ print("hist-one")'
keys Up; keys Enter
check "a history entry replaces the input" wait_for '› print("hist-one")'
keys C-u
cmd 'focus javascript'
typed 'Math.flo'; keys C-Space
check "JavaScript: properties" wait_for "› Math.floor"
keys C-u
typed 'function greetEveryone() {}'; keys F3
typed 'greetE'; keys C-Space
check "JavaScript: a global function" wait_for "› greetEveryone"
keys C-u
if screen | grep -qF "perl · Perl"; then
    cmd 'focus perl'
    check "perl idle" wait_for "▶ perl · Perl · local · idle" 20
    typed 'sub greet_perl { 1 }'; keys F3
    typed 'greet_p'; keys C-Space
    check "Perl: a sub" wait_for "› greet_perl"
fi
if screen | grep -qF "php · PHP"; then
    cmd 'focus php'
    check "php idle" wait_for "▶ php · PHP · local · idle" 20
    typed 'array_key_fi'; keys C-Space
    check "PHP: a builtin function" wait_for "› array_key_first"
fi
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want replay; then
echo "== transcripts and replay"
start 160 48 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
typed '6*7'; keys Enter
check "eval" wait_for "= 42"
typed 'import os'; keys M-Enter; typed 'print("hello from", "python")'; keys F3
check "block with output" wait_for "  hello from python"
typed 'max 3 9 4'; keys F4
check "call" wait_for "= 9"
typed 'os.getpid() > 0 and os.getpid()'; keys Enter
check "a value that changes from run to run" wait_re "= [0-9]+"
typed 'undefined_name'; keys Enter
check "an error" wait_for "NameError"
cmd "transcript save $STATE/py.jsonl"
check "transcript saved" wait_for "saved to $STATE/py.jsonl"
check "transcript file: one JSON line per step" python3 - "$STATE/py.jsonl" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
assert [s["kind"] for s in steps] == ["run", "block", "call", "run", "run"], steps
assert steps[0]["value"] == 42 and steps[1]["ok"] is True and steps[1]["output"] == "hello from python\n"
assert steps[2]["function"] == "max" and steps[2]["arguments"] == [{"value": 3}, {"value": 9}, {"value": 4}]
assert "NameError" in steps[4]["error"]
PY
cmd "replay $STATE/py.jsonl --report $STATE/report.jsonl"
check "replay opens a fresh pane" wait_for "python-replay · Python · local" 30
check "same steps reported" wait_for "· step 1: same (= 42)" 20
check "a step that differs is shown" wait_for "step 4 differs (result):" 20
check "with what was expected and what came" wait_re "got += [0-9]+"
check "summary" wait_for "5 steps, 4 same, 1 differ" 20
capture replay
check "report file" python3 - "$STATE/report.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l.get("same") for l in lines[:5]] == [True, True, True, False, True], lines
assert lines[5]["same"] == 4 and lines[5]["differ"] == 1
PY
# A log: its top-level requests are replayed and their reply frames compared.
cmd 'focus python'
typed 'def add(a, b): return a + b'; keys F3
cmd 'proxy python.add to javascript'
check "wired" wait_for "proxies: add→javascript.add"
cmd 'focus javascript'
typed 'add(1, 2) * 10'; keys Enter
check "through the wire" wait_for "= 30"
typed '"plain " + 1'; keys Enter
check "plain eval" wait_for '= "plain 1"'
cmd 'log filter pane:javascript'
cmd "log save --shown $STATE/js.jsonl"
check "log saved" wait_for "saved to $STATE/js.jsonl"
cmd 'log filter'
cmd "replay $STATE/js.jsonl"
check "log replay pane" wait_for "javascript-replay · JavaScript · local" 30
check "a request that needed a wire differs" wait_for "step 1 differs (reply):" 20
check "its reply in the fresh bond" wait_re 'got +EXCEPT .*add is not defined'
check "a plain request is the same" wait_for '· step 2: same (RETURN {"value":"plain 1"})' 20
check "log replay summary" wait_for "2 steps, 1 same, 1 differ" 20
capture replay-log
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want keys; then
echo "== issue 16: readline keys, safe actions, prompts, status line and help, checked input"
printf '#!/bin/sh\nprintf '"'"'print("from the editor")\\n'"'"' > "$1"\n' > "$STATE/editor.sh"
chmod +x "$STATE/editor.sh"
START_ENV="EDITOR='$STATE/editor.sh' HOME='$STATE'" start 160 48 python js
check "started" wait_for "javascript · JavaScript · local · idle" 30
# 1. The input edits as readline does.
typed 'x = 1 + 2'; keys C-w
check "Ctrl-W deletes a word" wait_re '^› x = 1 \+ +│'
check "Ctrl-W leaves the bond alone" wait_for "▶ python · Python · local · idle"
keys C-u; typed 'print(1)'; keys C-a; keys C-k
check "Ctrl-A Ctrl-K kill the line" wait_re '^› +│'
check "and run nothing" absent "call print(1)"
keys C-y
check "Ctrl-Y yanks it back" wait_re '^› print\(1\) +│'
keys C-u; typed 'foo bar'; "${T[@]}" send-keys -t "$SESSION" -H 1b 7f
check "Alt-Backspace (ESC DEL) deletes a word" wait_re '^› foo +│'
keys C-u; typed 'aa bb cc'; keys C-Left; typed 'X'; keys M-b; keys M-b; typed 'Y'
check "Ctrl-Left and Alt-B move by word" wait_re '^› aa Ybb Xcc +│'
keys End; typed '!'; keys Home; typed '>'
check "Home and End move on the line" wait_re '^› >aa Ybb Xcc! +│'
keys C-a; keys C-k; typed 'sum([1, 2, 3])'; keys Enter
check "eval" wait_for "= 6"
typed '6*7'; keys Enter
check "another eval" wait_for "= 42"
keys C-r; typed 'su'
check "Ctrl-R searches the history" wait_for "(reverse-i-search)\`su': sum([1, 2, 3])"
keys Enter
shown_twice() { local i; for ((i = 0; i < 50; i++)); do [[ $(screen | grep -c -- "$1") -ge 2 ]] && return 0; sleep 0.1; done; return 1; }
check "Enter runs the match" shown_twice '^= 6 '
typed 'foo'; keys C-x; keys C-e
check "Ctrl-X Ctrl-E edits the input in \$EDITOR" wait_re '^› print\("from the editor"\) +│'
keys Enter
check "the edited input runs" wait_for "  from the editor"
# 2. Prompts: the default is selected, typing replaces it; prompts have history and complete.
typed '[10, 20]'; keys F7
check "ref prompt with its default" wait_for "ref name for [10, 20]: r1"
typed 'nums'; keys Enter
check "typing replaced the default" wait_for "· ref @nums = [10, 20]"
typed 'def f(): return 1'; keys F3
check "defined" wait_for "· ok"
typed 'f'; keys F9; keys Enter
check "proxy target prompt" wait_for "proxy f to pane (Tab cycles): javascript"
typed 'javascript'
check "typing replaces the target" wait_for "proxy f to pane (Tab cycles): javascript"
check "not added to it" absent "javascriptjavascript"
keys Enter; keys Enter
check "wired" wait_for "proxies: f→javascript.f"
cmd 'eval 40 + 2'
keys M-x; keys Up
check "the command prompt has a history" wait_for "command (Tab completes): eval 40 + 2"
keys C-u; typed 'foc'; keys Tab
check "the command prompt completes commands" wait_for "command (Tab completes): focus"
typed ' j'; keys Tab
check "and pane names" wait_for "command (Tab completes): focus javascript"
keys Escape
# 7. Input is checked when entered; nothing is created.
cmd 'proxy python.doesnotexist to javascript'
check "a function the source does not have is refused" wait_for "proxy not made: python has no function doesnotexist"
check "no wire made" absent "doesnotexist←"
cmd 'new python:js'
check "a NAME that is taken is refused" wait_for "a pane named python is open"
cmd 'new cobol'
check "an unknown language is refused" wait_for 'unknown language "cobol"'
check "no pane was made" absent "python2 ·"
check "no failed pane either" absent "cobol ·"
cmd 'log filter depth:x'
check "a bad filter is refused" wait_for 'filter not set: depth:N wants a number'
cmd 'log save ~/x.jsonl'
check "~ is the home directory" wait_for "saved to $STATE/x.jsonl"
cmd 'log save ~/x.jsonl'
check "an existing file is not written over without a yes" wait_for "$STATE/x.jsonl exists: write over it? y/N"
keys y
check "written over after y" wait_for "saved to $STATE/x.jsonl"
cmd 'log save /nonexistent-dir/x.jsonl'
check "a failed save names the path" wait_for "cannot write /nonexistent-dir/x.jsonl: No such file or directory"
cmd 'focus log'
keys Enter
check "detail view" wait_for "frame detail"
keys Escape
check "the log follows again after the detail view" wait_re '▶ log · [0-9]+ frames *$'
keys /; typed 'EVAL'; keys Enter
keys /
check "a second search shows the last term" wait_for "search log: EVAL"
typed 'RETURN'
check "typing replaces the last term" wait_for "search log: RETURN"
keys Escape
keys M-z
first_line_shows() { local i; for ((i = 0; i < 50; i++)); do first_line_has "$1" && return 0; sleep 0.1; done; return 1; }
check "the log zooms to the whole screen" first_line_shows 'log · [0-9]+ frames'
keys M-z
check "and back" wait_for "python · Python · local · idle"
log_row() { screen | grep -n 'log · ' | head -1 | cut -d: -f1; }
ROW0=$(log_row)
keys M-Up; keys M-Up
log_at() { local i; for ((i = 0; i < 50; i++)); do [[ $(log_row) -eq $1 ]] && return 0; sleep 0.1; done; return 1; }
check "Alt-Up makes the log pane taller" log_at $((ROW0 - 4))
cmd 'focus python'
# 2. Safe actions: closing, removing, restarting, quitting with a busy bond ask first.
keys M-k
check "closing asks first" wait_for "close python? its interpreter and state end y/N (Alt-k again: yes)"
keys n
check "n cancels" wait_for "cancelled"
check "still idle" wait_for "▶ python · Python · local · idle"
keys M-k; keys M-k
check "Alt-k again closes" wait_for "python · Python · local · closed" 15
keys M-k
check "removing asks first" wait_for "remove the pane python and its 1 wire? (undo brings it back) y/N"
keys y
check "removed" wait_gone "python · Python" 5
cmd 'undo'
check "undo brings the pane back" wait_for "python · Python · local · idle" 30
check "with its wire" wait_for "proxies: f→javascript.f"
cmd 'block def f(): return 1'
cmd 'focus javascript'
typed 'f() + 1'; keys Enter
check "the wire works again" wait_for "= 2"
cmd 'focus python'
typed 'while True: pass'; keys F3
check "busy" wait_for "python · Python · local · busy depth 1"
keys C-q
check "quitting with a busy bond asks first" wait_for "quit while python is busy? y/N (Ctrl-Q again: yes)"
keys n
keys C-c
check "interrupted" wait_for "KeyboardInterrupt"
# 3. Ctrl-C follows the chain: javascript waits on python's spin() through a wire.
typed 'def spin():'; keys M-Enter; typed '    while True: pass'; keys F3
check "spin defined" wait_for "  def spin():"
cmd 'proxy python.spin to javascript'
check "spin wired" wait_for "spin←python.spin"
cmd 'focus javascript'
typed 'spin()'; keys Enter
check "python spins for javascript" wait_for "python · Python · local · busy depth 1"
keys C-c
check "Ctrl-C in javascript interrupts python, which runs the call" wait_for "interrupt: python runs the call this pane waits on; interrupting it"
check "python raised its own interrupt" wait_for "KeyboardInterrupt"
check "javascript shows the error that came back" wait_re '✗ JavaScript exception: .*KeyboardInterrupt'
check "javascript is idle again" wait_for "▶ javascript · JavaScript · local · idle"
check "python is idle again" wait_for "python · Python · local · idle"
cmd 'focus python'
# 6. The status line leads with help and quit at 80 and 160 columns; the help scrolls at 80x24.
check "status line at 160 columns" wait_re '^F1 help  \^Q quit  '
"${T[@]}" resize-window -t "$SESSION" -x 80 -y 24
check "status line at 80 columns" wait_re '^F1 help  \^Q quit  Enter run'
keys F1
check "help at 80x24 says it scrolls" wait_re 'bond-workbench keys · 1-22 of [0-9]+'
keys PageDown
check "and scrolls" wait_re 'bond-workbench keys · 23-44 of [0-9]+'
capture help-small
keys Escape
"${T[@]}" resize-window -t "$SESSION" -x 160 -y 48
keys C-q
check "quit" wait_for "EXIT=0" 15
# 4. An interpreter that dies: its fatal message once, its open request closed in the log.
if command -v php >/dev/null; then
    start 160 48 php
    check "php starts" wait_for "php · PHP · local · idle" 30
    typed "ini_set('memory_limit', '8M'); \$a = str_repeat('x', 20000000);"; keys F3
    check "php dies" wait_for "php · PHP · local · dead (exit status 255)" 15
    check "the end is a record of the log that closes the request" wait_re '✗ interpreter ended: PHP interpreter terminated \(exit status 255\) · no reply to EVAL_BLOCK #[0-9]+'
    check "the request is no longer open" bash -c "! \"\$0\" -L \"\$1\" capture-pane -p -t \"\$2\" | grep -E 'EVAL_BLOCK .*str_repeat' | grep -qE '  … '" tmux "$SOCKET" "$SESSION"
    check "the fatal message is not repeated" test "$(screen | grep -c 'Allowed memory size of 8388608')" -le 2
    check "the pane says its last output is above" wait_for "✗ PHP interpreter terminated (exit status 255) (its last output is above)"
    keys C-q
    check "quit" wait_for "EXIT=0" 15
fi
fi

# --------------------------------------------------------------------------------------------
if want repl; then
echo "== issue 15: Enter runs whatever was typed, any value is shown, big values previewed"
start 160 48 python js perl php
check "started" wait_for "php · PHP · local · idle" 30
check "perl started" wait_for "perl · Perl · local · idle" 30
cmd 'focus python'
typed 'x = 5'; keys Enter
typed 'import os'; keys Enter
typed 'def g():'; keys M-Enter; typed '    return x * 2'; keys Enter
typed 'g()'; keys Enter
check "Python: statements, an import and a def run; then g() is 10" wait_for "= 10"
check "Python: no SyntaxError" absent "SyntaxError"
typed 'print("x")'; keys Enter
check "print shows its output" wait_re '^  x +│'
typed '2**64'; keys Enter
check "a big integer is shown as its description, with its type (a handle: the value stays in Python)" wait_for "≈ 18446744073709551616   ‹int · handle›"
typed 'float("inf")'; keys Enter
check "infinity too" wait_for "≈ inf   ‹float · handle›"
typed 'object()'; keys Enter
check "an object: its repr" wait_re '≈ <object object at 0x[0-9a-f]+>   ‹object · handle›'
typed '[i for i in range(30)]'; keys Enter
check "a long list is previewed" wait_re '· … [0-9 ]+ more characters, [0-9]+ more lines \(Alt-v shows it whole\)'
typed '[1, 2, 3]'; keys Enter
check "a short list on one line" wait_for "= [1, 2, 3]"
typed '"y" * 2000000'; keys Enter
check "a 2 MB string is previewed" wait_re '· … 1 99[0-9] [0-9]{3} more characters, 0 more lines'
keys M-v
check "Alt-v opens the whole value" wait_re 'the last value, whole · lines 1-[0-9]+ of [0-9]+'
keys Escape
check "no = null after statements" absent "= null"
cmd 'focus javascript'
typed 'let a = 5'; keys Enter
typed 'const o = {}'; keys Enter
typed 'function sq(x){return x*x}'; keys Enter
typed 'sq(a) + Object.keys(o).length'; keys Enter
check "JavaScript: let, const and a function persist" wait_for "= 25"
typed 'console.log("hi"); 5'; keys Enter
check "JavaScript: statements then a value" wait_for "= 5"
check "JavaScript: its output" wait_re '│  hi *$'
typed 'Symbol()'; keys Enter
check "a symbol as its description" wait_for "≈ Symbol()   ‹Symbol · handle›"
typed 'Promise.resolve(5)'; keys Enter
check "a promise is awaited" wait_for "= 5" 
typed 'await Promise.resolve(6)'; keys Enter
check "top-level await" wait_for "= 6"
check "JavaScript: no SyntaxError" absent "SyntaxError"
cmd 'focus php'
typed 'function tri($n){ return $n * ($n + 1) / 2; }'; keys Enter
typed 'tri(4)'; keys Enter
check "PHP: a function declaration, then a call" wait_for "= 10"
typed 'echo "hi\n"; 5'; keys Enter
check "PHP: echo then a value" wait_re '│  hi *$|^  hi '
check "PHP: no syntax error" absent "syntax error"
cmd 'focus perl'
typed 'sub dbl { return 2 * $_[0] }'; keys Enter
typed 'dbl(21)'; keys Enter
check "Perl: a sub, then a call" wait_for "= 42"
typed 'my $v = 3'; keys Enter
typed '$v'; keys Enter
check "Perl: a hint about my" wait_for "hint: a Perl my variable ends with its input; write our \$v"
capture repl
keys C-q
check "quit" wait_for "EXIT=0" 15

echo "== Ruby and R: Enter runs as their REPLs do; completion, inspect"
start 160 48 rb r
check "Ruby (rb) started" wait_for "ruby · Ruby · local · idle" 30
check "R started" wait_for "r · R · local · idle" 30
cmd 'focus ruby'
typed 'def tri(n)'; keys M-Enter; typed '  n * (n + 1) / 2'; keys M-Enter; typed 'end'; keys Enter
typed 'tri(4)'; keys Enter
check "Ruby: a def, then a call" wait_re '^= 10 +│'
typed 'puts "rb-" + "out"'; keys Enter
check "Ruby: a statement's output" wait_re '^  rb-out +│'
check "Ruby: no = nil after it" absent "= nil"
typed '[1, 2, 3].map { |v| v * 2 }'; keys Enter
check "Ruby: an expression" wait_for "= [2, 4, 6]"
typed 'x = [1, 2'; keys Enter
check "Ruby: a syntax error" wait_for "✗ Ruby exception: SyntaxError"
typed 'Object.new'; keys Enter
check "Ruby: an object as its description" wait_re '≈ #<Object:0x[0-9a-f]+>   ‹Object · description›'
keys F8; keys C-u; typed 'Object.new'; keys Enter
check "Ruby: inspect an object the driver describes" wait_for "· inspect Object.new: Object"
typed 'tr'; keys C-Space
check "Ruby: completion lists a method defined here" wait_re '^    tri +│'
keys Escape; keys C-u
cmd 'focus r'
typed 'tri <- function(n) {'; keys M-Enter; typed '  n * (n + 1) / 2'; keys M-Enter; typed '}'; keys Enter
typed 'tri(4)'; keys Enter
check "R: a function, then a call" wait_for "│= 10.0"
typed 'cat("r-out\n")'; keys Enter
check "R: a statement's output" wait_for "│  r-out"
typed 'invisible(3)'; keys Enter
typed 'sum(1:4)'; keys Enter
check "R: an expression" wait_re '│= 10$'
check "R: nothing for an invisible value" absent "= 3"
typed 'x <- c(1,'; keys Enter
check "R: a syntax error" wait_for "✗ R exception: Error: <text>:2:0: unexpected end of input"
typed 'environment()'; keys Enter
check "R: an environment as its description" wait_for "≈ <environment: R_GlobalEnv>   ‹environment · description›"
keys F8; keys C-u; typed 'globalenv()'; keys Enter
check "R: inspect a value the driver describes" wait_for "· inspect globalenv(): environment"
typed 'tri_number <- tri'; keys Enter
typed 'tri_n'; keys C-Space
check "R: completion of a name defined here" wait_re '│    tri_number$'
keys Escape; keys C-u
capture repl-ruby-r
keys C-q
check "quit" wait_for "EXIT=0" 15
fi

# --------------------------------------------------------------------------------------------
if want objects; then
echo "== live objects: handle refs named, shown, called, completed, proxied and dropped"
start 160 48 python js perl php
check "started" wait_for "php · PHP · local · idle" 30
check "perl started" wait_for "perl · Perl · local · idle" 30
cmd 'focus python'
typed 'class Account:'; keys M-Enter
typed '    def __init__(self, owner): self.owner, self.balance = owner, 0'; keys M-Enter
typed '    def deposit(self, n): self.balance += n; return self.balance'; keys F3
check "Python: the class is defined" wait_for "· ok"
typed "Account('ada')"; keys Enter
check "Python: an object stays in the interpreter: a handle, shown with its type" \
    wait_re '≈ <__main__\.Account object at 0x[0-9a-f]+>   ‹Account · handle›'
check "the first handle of a pane says how to name it" wait_for "a live object: F7 (the input empty) names it"
keys F7
check "F7 with the input empty asks a name for the handle" wait_for "ref name for the Account handle"
typed 'acct'; keys Enter
check "named" wait_re '· ref @acct = Account <__main__\.Account object at 0x'
check "the refs line shows the handle ref with its type and description" wait_re 'refs: @acct \(Account <__main__\.Account object at 0x'
typed '@acct.dep'; keys C-Space
check "Ctrl-Space after @acct. completes its methods" wait_re '› @acct\.deposit +│'
typed ' 5'; keys F4
check "F4 @acct.deposit 5 calls the method in Python" wait_re '^= 5 +│'
cmd 'inspect @acct'
check "inspect: its type and the pane that holds it" wait_for "· inspect @acct: Account · live object of python"
typed 'len(_BOND_TABLE)'; keys Enter
check "Python's table holds the one object" wait_re '^= 1 +│'
cmd 'unref acct'
check "unref drops the ref and says so" wait_for "· ref @acct dropped: its Account is released"
check "the refs line no longer shows it" absent "refs: @acct ("
typed 'len(_BOND_TABLE)'; keys Enter
check "Python's table is empty: the object was released" wait_re '^= 0 +│'
# next_line_has LINE TEXT: the screen line after LINE (a fixed string) holds TEXT.
next_line_has() { local i; for ((i = 0; i < 80; i++)); do screen | grep -A1 -F -- "$1" | tail -1 | grep -qF -- "$2" && return 0; sleep 0.1; done; return 1; }
typed "Account('bob')"; keys Enter
check "another" next_line_has "› Account('bob')" "‹Account · handle›"
keys F7; keys C-u; typed 'bob'; keys Enter
check "named bob" wait_for "· ref @bob = Account"
cmd 'focus javascript'
check "JavaScript's refs line shows python's handle ref" wait_for "refs: @bob←python"
typed 'globalThis.give = (a, n) => a.deposit(n)'; keys F3
check "JavaScript: a function defined" wait_re '│· ok'
typed 'give @bob 10'; keys F4
check "@bob as an argument in JavaScript is a proxy: the method runs in Python" wait_re '│= 10 *$'
typed 'new Map([[1, "one"]])'; keys Enter
check "JavaScript: a Map is a handle" wait_re '│≈ Map\(1\) \{ 1 => .one. \}   ‹Map · handle›'
keys F7; keys C-u; typed 'm'; keys Enter
typed '@m.ge'; keys C-Space
check "JavaScript: a Map's methods complete" wait_re '│› @m\.get *$'
typed ' 1'; keys F4
check "JavaScript: @m.get 1" wait_re '│= "one" *$'
cmd 'focus python'
typed 'def first(m): return m.get(1)'; keys F3
typed 'first @m'; keys F4
check "Python calls JavaScript's Map through a proxy" wait_re '^= "one" +│'
capture objects
cmd 'focus perl'
typed 'package Counter; sub new { bless {n => $_[1]}, $_[0] } sub add { $_[0]{n} += $_[1]; $_[0]{n} } package main;'; keys F3
typed 'Counter->new(2)'; keys Enter
check "Perl: a blessed reference is a handle" wait_re "‹Counter · handle›"
keys F7; keys C-u; typed 'pc'; keys Enter
typed '@pc.ad'; keys C-Space
check "Perl: its methods complete" wait_re '› @pc\.add +│'
typed ' 4'; keys F4
check "Perl: @pc.add 4" wait_re '^= 6 +│'
cmd 'unref pc'
typed '__BOND::object_count() + 100'; keys Enter
check "Perl: released (its table holds none: 0 + 100)" wait_re '^= 100 +│'
cmd 'focus php'
typed 'class Counter { public $n; function __construct($n) { $this->n = $n; } function add($k) { $this->n += $k; return $this->n; } }'; keys F3
typed 'new Counter(3)'; keys Enter
check "PHP: an object is a handle" wait_re '│  \)   ‹Counter · handle›' 
keys F7; keys C-u; typed 'hc'; keys Enter
typed '@hc.ad'; keys C-Space
check "PHP: its methods complete" wait_re '│› @hc\.add *$'
typed ' 4'; keys F4
check "PHP: @hc.add 4" wait_re '│= 7 *$'
cmd 'unref hc'
typed '_BOND_object_count() + 200'; keys Enter
check "PHP: released (its table holds none: 0 + 200)" wait_re '│= 200 *$'
keys C-q
check "quit" wait_for "EXIT=0" 15
fi
# --------------------------------------------------------------------------------------------
if want ssh; then
if [[ -n "${BOND_TEST_SSH:-}" ]]; then
echo "== a pane over ssh (through the test sshd)"
host=${BOND_TEST_SSH##* }
start 160 48 Python "'far:JavaScript=$BOND_TEST_SSH node'"
check "the ssh pane starts" wait_for "far · JavaScript · $host · idle" 30
check "it says where it runs" wait_for "JavaScript started (pid "
check "over ssh to its host" wait_for "over ssh to $host)"
cmd 'focus far'
typed 'console.log("from far")'; keys Enter
check "output over ssh" wait_for "  from far"
typed '6 * 7'; keys Enter
check "eval over ssh" wait_for "= 42"
typed '"remote pid " + process.pid'; keys Enter
check "the remote pid is known" wait_re '= "remote pid [0-9]+"'
remote_pid=$(screen | grep -oE '"remote pid [0-9]+"' | grep -oE '[0-9]+' | tail -1)
check "the title shows the remote pid" wait_for "far · JavaScript · $host · idle · pid $remote_pid"
cmd 'focus python'
typed 'def sq(x): return x * x'; keys F3
cmd 'proxy python.sq to far'
check "a wire into the ssh pane" wait_for "proxy: sq is callable in far as sq"
cmd 'focus far'
typed 'sq(7) + 1'; keys Enter
check "a call from over ssh into local Python" wait_for "= 50"
check "nested in the local pane" wait_for "sq(7) ← called from far"
typed 'function twice(x) { return 2 * x; }'; keys F3
cmd 'proxy far.twice to python'
check "a wire out of the ssh pane" wait_for "proxy: twice is callable in python as twice"
cmd 'focus python'
typed 'twice(21) + 1000'; keys Enter
check "a call from local Python into the remote interpreter" wait_for "= 1042"
cmd 'focus far'
typed 'for (;;) {}'; keys F3
check "busy over ssh" wait_for "far · JavaScript · $host · busy depth 1"
keys C-c
check "interrupt over ssh" wait_for "interrupted by \`SIGINT\`" 15
check "idle after the interrupt" wait_for "▶ far · JavaScript · $host · idle"
typed '"still " + "there"'; keys Enter
check "the remote bond goes on" wait_for '= "still there"'
capture ssh
typed 'new Map([["k", 5]])'; keys Enter
check "over ssh: a Map stays in the remote interpreter, as a handle" wait_for "‹Map · handle›"
keys F7; keys C-u; typed 'rm'; keys Enter
check "named over ssh" wait_for "· ref @rm = Map(1)"
typed '@rm.get "k"'; keys F4
check "a method of the remote Map" wait_re '│= 5 *$'
cmd 'focus python'
typed 'def peek(m): return m.get("k") * 10'; keys F3
typed 'peek @rm'; keys F4
check "local Python calls the remote Map through a proxy" wait_re '^= 50 +│'
keys C-q
check "quit" wait_for "EXIT=0" 15
gone() { local i; for ((i = 0; i < 100; i++)); do alive "$1" || return 0; sleep 0.1; done; return 1; }
check "the remote interpreter is gone after quit" gone "$remote_pid"
else
echo "== a pane over ssh: skipped (BOND_TEST_SSH is not set; scripts/test.sh sets it)"
fi
fi

# --------------------------------------------------------------------------------------------
if want hosts; then
if [[ -n "${BOND_TEST_HOSTS:-}" ]]; then
echo "== a host group over the test hosts (--hosts h1,h2,h3): broadcast, a partitioned host, restart"
# q closes the group view (Esc followed at once by typing would read as an Alt- key).
close_view() { keys q; check "q closes the group view" wait_gone "Enter focus the host"; }
start 160 40 --hosts h1,h2,h3 --ssh "'$BOND_TEST_HOSTS'" Python
for h in h1 h2 h3; do
    check "$h's pane starts over ssh" wait_for "$h · Python · $h · idle" 30
done
check "the group's key is on the status line" wait_for "M-g broadcast"
keys M-g
check "broadcast on, in every title of the group" wait_re 'h3 · Python · h3 · idle · broadcast'
check "it says where input goes" wait_for "broadcast on: input goes to h1, h2, h3"
typed 'import socket; socket.gethostname()'; keys Enter
for h in h1 h2 h3; do
    check "broadcast input answered by $h" wait_for "= \"$h\""
done
keys M-h
check "the group view (Alt-h): each host's answer side by side" wait_re '^│= "h1" +│= "h2" +│= "h3" +│'
check "the group view's title counts the answers" wait_for "group h1,h2,h3 · Python · broadcast on · 3 of 3 answered"
keys Escape
check "Esc closes the group view" wait_gone "3 of 3 answered"
typed 'print("printed on", socket.gethostname()); 2 ** 5'; keys Enter
keys M-h
check "the group view shows what each host printed" wait_re '^│printed on h1 +│printed on h2 +│printed on h3 +│'
check "then its value" wait_re '^│= 32 +│= 32 +│= 32 +│'
capture group-view
close_view
typed '1/0'; keys Enter
check "a failure is marked in each pane" shown_in_all "✗ Python exception: ZeroDivisionError"
cmd 'group'
check "the group command opens the view: failures marked per host" wait_re '✗ h1 · idle +│✗ h2 · idle +│✗ h3 · idle'
check "the view counts the failures" wait_for "3 of 3 answered, 3 failed"
close_view
typed 'import time; time.sleep(3); socket.gethostname()'
t0=$(date +%s%N)
keys Enter
keys M-h
check "the view says which hosts are still busy" wait_re '… running +│… running +│… running' 3
check "then each host's answer" wait_re '^│= "h1" +│= "h2" +│= "h3" +│' 15
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "     (three hosts each sleeping 3 s: all answered $ms ms after Enter)"
check "broadcast reaches the hosts in parallel (3 x 3 s in under 5 s)" test "$ms" -lt 5000
close_view
typed 'time.sleep(60)'; keys Enter
check "a long broadcast input keeps every host busy" wait_re 'h3 · Python · h3 · busy'
keys C-c
check "Ctrl-C with broadcast on interrupts every busy host" shown_in_all "KeyboardInterrupt"
check "it says how many" wait_for "interrupted 3 of 3 hosts of the group"
typed 'def who(): import socket; return socket.gethostname()'; keys Enter
keys M-h
check "a definition broadcast is kept as the group's start-up" wait_re "start-up of every host: (.* · )?def who\(\): import socket"
close_view
keys M-g
check "broadcast off" wait_for "broadcast off: input goes to this pane only"
typed '6 * 7'; keys Enter
check "then input goes to the focused pane only" once "= 42"
"$(dirname "$0")/test-hosts.sh" partition h3 >/dev/null
check "a partitioned host shows dead within seconds (ssh keep-alives)" wait_re 'h3 · Python · h3 · dead' 25
keys M-g
typed '2 + 2'; keys Enter
keys M-h
check "the group view marks the dead host" wait_re '✓ h1 · idle +│✓ h2 · idle +│✗ h3 · dead'
check "and says the input did not reach it" wait_re '= 4 +│= 4 +│✗ not sent: the pane was dead'
capture group-dead
close_view
"$(dirname "$0")/test-hosts.sh" heal h3 >/dev/null
cmd 'focus h3'
keys F5
check "the restart key brings it back once the host is reachable" wait_re '▶ h3 · Python · h3 · idle' 30
check "with the group's start-up entries" wait_re "start-up block ran|start-up: [0-9]+ entries ran, all without error" 15
typed 'who()'; keys Enter
keys M-h
check "a restarted host runs the group's definitions" wait_re '^│= "h1" +│= "h2" +│= "h3" +│'
close_view
check "the restarted host's answer in its pane" wait_re '^ +│ +│= "h3"'
capture hosts
cmd "session save $STATE/group.json"
check "session save writes the group" wait_for "saved to $STATE/group.json"
keys C-q
check "quit" wait_for "EXIT=0" 15
check "the session file has the group, its ssh command and broadcast" grep -q '"broadcast" : true' "$STATE/group.json"
start 160 40 --session "$STATE/group.json"
for h in h1 h2 h3; do
    check "the session brings $h back over ssh, broadcast on" wait_for "$h · Python · $h · idle · broadcast" 30
done
typed 'who()'; keys Enter
keys M-h
check "the group's definitions ran on every host; broadcast reaches them all" wait_re '^│= "h1" +│= "h2" +│= "h3" +│' 15
close_view
keys C-q
check "quit" wait_for "EXIT=0" 15

echo "== a host that asks for a password: the workbench's own prompt, masked; cancelled"
hosts_dir=$(dirname "${BOND_TEST_HOSTS##*-F }")
password=$(cat "$hosts_dir/password")
start 160 40 "'ask:Python=$BOND_TEST_HOSTS ask-h1 python3'"
check "ssh's question is the workbench's prompt for the pane" wait_re "ask: ssh asks: .*password:.*\(hidden; Esc cancels\)" 30
typed "$password"
check "the answer is masked" wait_for "$(printf '•%.0s' $(seq 1 ${#password}))"
check "the password is not shown" absent "$password"
keys Enter
check "the pane starts with the answer" wait_for "ask · Python · ask-h1 · idle" 30
typed 'import getpass; getpass.getuser()'; keys Enter
check "logged in as the password user" wait_for '= "bondask"'
cmd 'new again:Python='"$BOND_TEST_HOSTS"' ask-h2 python3'
check "the second host asks too" wait_re "again: ssh asks: .*password:" 30
keys Escape
check "Esc cancels the question: the start fails at once, saying why" wait_re "again · Python · ask-h2 · failed to start" 5
keys C-q
wait_for "EXIT=0" 15
else
echo "== a host group: skipped (test hosts not up: BOND_TEST_HOSTS=\"\$(scripts/test-hosts.sh up)\" as root)"
fi
fi

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
