import CBondSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The physical limit: a minimal JSON echo loop written directly in the language, driven
/// over plain pipes by this process (read a line, decode it, encode it back, write a line).
struct PipeLoop {
    let pid: pid_t
    /// The loop's standard input (written here) and output (read here).
    let input: Int32
    let output: Int32
    /// Reads the answers as the engine does (the loop's other side waits like the drivers).
    private var reader: SpinningLineReader
    /// The line being sent, with its end (kept, so that a round trip allocates nothing).
    private var outgoing: [UInt8] = []

    /// The loop in each language. It waits for input the way the drivers do: with a processor
    /// to spare, a read on a non-blocking second open of the pipe for up to 50 µs, then a sleep
    /// (in Node.js through WASI's fd_read, which reports "nothing yet" without throwing); with a
    /// single processor, a blocking read. So the ratio compares the work per request, not two
    /// ways of waiting. The PHP loop reads 2 000 bytes at a time while no line is begun (as the
    /// driver does): PHP allocates a string of the size asked for on every read, and 1 MiB on
    /// every look at an empty pipe would make the limit look slower than it is.
    static func program(for language: String) -> [String]? {
        switch language {
        case "Python":
            return ["python3", "-c", #"""
                import json, os, select, sys, time
                fd = os.open("/proc/self/fd/0", os.O_RDONLY | os.O_NONBLOCK) if len(os.sched_getaffinity(0)) > 1 else 0
                out = sys.stdout.buffer
                pending = []
                while True:
                    until = time.perf_counter() + 0.00005
                    while True:
                        try:
                            chunk = os.read(fd, 1 << 20)
                            break
                        except BlockingIOError:
                            if time.perf_counter() >= until:
                                select.select([fd], [], [])
                    if not chunk:
                        break
                    while chunk:
                        i = chunk.find(b"\n")
                        if i < 0:
                            pending.append(chunk)
                            break
                        pending.append(chunk[:i])
                        line = b"".join(pending)
                        pending = []
                        chunk = chunk[i + 1:]
                        out.write(json.dumps(json.loads(line), ensure_ascii=False).encode("utf-8") + b"\n")
                        out.flush()
                """#]
        case "JavaScript":
            return ["node", "-e", #"""
                const fs = require("fs");
                const input = fs.openSync("/dev/stdin", "r");
                const spinFd = fs.openSync("/proc/self/fd/0", fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
                process.emitWarning = () => {};
                const wasi = new (require("wasi").WASI)({ version: "preview1", stdin: spinFd, returnOnExit: true });
                const module = new WebAssembly.Module(Buffer.from("0061736d010000000503010011070a01066d656d6f72790200", "hex"));
                const instance = new WebAssembly.Instance(module, {});
                wasi.initialize(instance);
                const view = new DataView(instance.exports.memory.buffer);
                view.setUint32(0, 64, true); view.setUint32(4, 1 << 20, true);
                const buf = Buffer.from(instance.exports.memory.buffer, 64, 1 << 20), fdRead = wasi.wasiImport.fd_read;
                const spin = require("os").availableParallelism() > 1;
                function readSome() {
                  if (!spin) return fs.readSync(input, buf, 0, buf.length, null);
                  const until = process.hrtime.bigint() + 50000n;
                  for (;;) {
                    if (fdRead(0, 0, 1, 8) === 0) return view.getUint32(8, true);
                    if (process.hrtime.bigint() >= until) return fs.readSync(input, buf, 0, buf.length, null);
                  }
                }
                let pending = [];
                for (;;) {
                  let last = pending[pending.length - 1], i = last ? last.indexOf(10) : -1;
                  if (i >= 0) {
                    const parts = pending.slice(0, -1); parts.push(last.subarray(0, i)); pending = [last.subarray(i + 1)];
                    const line = Buffer.concat(parts).toString("utf8");
                    fs.writeSync(1, JSON.stringify(JSON.parse(line)) + "\n"); continue;
                  }
                  const n = readSome();
                  if (n <= 0) break; pending.push(Buffer.from(buf.subarray(0, n)));
                }
                """#]
        case "Perl":
            return ["perl", "-e", #"""
                use Fcntl; use JSON::PP; use Time::HiRes;
                open(my $st, "<", "/proc/self/status") or die; my ($cpus) = map { /^Cpus_allowed_list:\s*(\S+)/ ? $1 : () } <$st>;
                my $spare = 0; $spare += /(\d+)-(\d+)/ ? $2 - $1 + 1 : 1 for split /,/, $cpus;
                open(my $in, "<", "/proc/self/fd/0") or die; fcntl($in, F_SETFL, fcntl($in, F_GETFL, 0) | O_NONBLOCK) if $spare > 1;
                my $j = JSON::PP->new->utf8->allow_nonref; my ($buf, $scan) = ('', 0); $| = 1;
                while (1) {
                  my $i = index($buf, "\n", $scan);
                  if ($i >= 0) { my $l = substr($buf, 0, $i + 1, ''); $scan = 0; print $j->encode($j->decode($l)), "\n"; next; }
                  $scan = length($buf);
                  my ($until, $n) = (Time::HiRes::time() + 0.00005);
                  while (!defined($n = sysread($in, $buf, 1 << 20, length($buf)))) {
                    if (Time::HiRes::time() >= $until) { my $r = ''; vec($r, fileno($in), 1) = 1; select($r, undef, undef, undef); }
                  }
                  last if $n == 0;
                }
                """#]
        case "PHP":
            return ["php", "-r", #"""
                preg_match('/^Cpus_allowed_list:\s*(\S+)/m', file_get_contents('/proc/self/status'), $m); $cpus = 0;
                foreach (explode(',', $m[1]) as $p) { $e = explode('-', $p); $cpus += count($e) > 1 ? $e[1] - $e[0] + 1 : 1; }
                $in = fopen("php://fd/0", "rb"); stream_set_blocking($in, $cpus < 2); stream_set_read_buffer($in, 0);
                stream_set_chunk_size($in, 1048576);
                $buf = ''; $scan = 0;
                while (true) {
                  $i = strpos($buf, "\n", $scan);
                  if ($i !== false) {
                    $l = substr($buf, 0, $i); $buf = (string)substr($buf, $i + 1); $scan = 0;
                    fwrite(STDOUT, json_encode(json_decode($l), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n"); continue;
                  }
                  $scan = strlen($buf);
                  $until = hrtime(true) + 50000;
                  while (($c = fread($in, $buf === '' ? 2000 : 1048576)) === '') {
                    if (feof($in)) break 2;
                    if (hrtime(true) >= $until) { $r = array($in); $w = $e = null; stream_select($r, $w, $e, null); }
                  }
                  if ($c === false) break;
                  $buf .= $c;
                }
                """#]
        case "Ruby":
            return ["ruby", "-e", #"""
                require "json"
                cpus = File.read("/proc/self/status")[/^Cpus_allowed_list:\s*(\S+)/, 1].to_s.split(",")
                spin = cpus.sum { |p| a, b = p.split("-").map(&:to_i); b ? b - a + 1 : 1 } > 1
                input = spin ? File.open("/proc/self/fd/0", File::RDONLY | File::NONBLOCK) : $stdin
                input.binmode; $stdout.binmode; $stdout.sync = true
                buffer = String.new(encoding: Encoding::BINARY); chunk = String.new(capacity: 1 << 20, encoding: Encoding::BINARY)
                scan = 0
                loop do
                  if (i = buffer.index("\n", scan))
                    line = buffer.byteslice(0, i); buffer.replace(buffer.byteslice(i + 1, buffer.bytesize - i - 1)); scan = 0
                    $stdout.write(JSON.generate(JSON.parse(line.force_encoding(Encoding::UTF_8), max_nesting: false)), "\n")
                    next
                  end
                  scan = buffer.bytesize
                  until_t = nil
                  r = nil
                  loop do
                    r = spin ? input.read_nonblock(1 << 20, chunk, exception: false) : (input.readpartial(1 << 20, chunk) rescue nil)
                    break unless r == :wait_readable
                    t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
                    until_t ||= t + 0.00005
                    IO.select([input]) if t >= until_t
                  end
                  break if r.nil?
                  buffer << r
                end
                """#]
        case "R":
            // Base R has no JSON: the loop reads and writes it with the driver's own functions
            // (the R driver's stage 2, loaded into an environment), and reads with a blocking
            // read, as the driver does.
            let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Resources/drivers/R/stage2.R").path
            let loop = #"""
                json <- new.env(parent = baseenv()); sys.source("DRIVER", envir = json)
                input <- file("stdin", open = "rb"); output <- file("/proc/self/fd/1", open = "wb", raw = TRUE)
                repeat {
                  line <- readLines(input, n = 1L, warn = FALSE)
                  if (length(line) == 0L) break
                  Encoding(line) <- "bytes"
                  writeLines(c(json$enc(json$decode(line)), "\n"), output, sep = "", useBytes = TRUE)
                  flush(output)
                }
                """#
            return ["R", "--vanilla", "--quiet", "--no-echo", "-e", loop.replacingOccurrences(of: "DRIVER", with: driver)]
        default:
            return nil
        }
    }

    init?(language: String) {
        guard let argv = Self.program(for: language) else { return nil }
        self.init(command: argv)
    }

    /// Starts `command` (found through `PATH`) with its standard input and output on pipes,
    /// its standard error on /dev/null. (With `posix_spawnp` rather than Foundation's
    /// `Process`, which cannot start a program under valgrind.)
    init?(command argv: [String]) {
        var toLoop: [Int32] = [-1, -1], fromLoop: [Int32] = [-1, -1]
        guard cbond_pipe_cloexec(&toLoop) == 0 else { return nil }
        guard cbond_pipe_cloexec(&fromLoop) == 0 else { close(toLoop[0]); close(toLoop[1]); return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toLoop[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromLoop[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, argv[0], &actions, nil, arguments, environ)
        close(toLoop[0])
        close(fromLoop[1])
        guard status == 0 else {
            close(toLoop[1])
            close(fromLoop[0])
            return nil
        }
        self.pid = pid
        input = toLoop[1]
        output = fromLoop[0]
        reader = SpinningLineReader(fd: output)
    }

    /// Sends one line and reads the answer line; returns its length.
    mutating func roundTrip(_ line: [UInt8]) -> Int {
        outgoing.removeAll(keepingCapacity: true)
        outgoing.append(contentsOf: line)
        outgoing.append(0x0A)
        // Write from another thread for big lines, so reading and writing overlap.
        if outgoing.count > 1 << 16 {
            let fd = input
            let payload = outgoing
            outgoing = []
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async { Self.writeAll(payload, to: fd); done.signal() }
            let n = readLine()
            done.wait()
            return n
        }
        Self.writeAll(outgoing, to: input)
        return readLine()
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
    }

    private mutating func readLine() -> Int { reader.nextLine() ?? -1 }

    func stop() {
        close(input)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        close(output)
    }
}
