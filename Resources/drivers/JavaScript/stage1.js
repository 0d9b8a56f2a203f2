/// bond JavaScript driver, stage 1: typed into the Node.js prompt as one line.
/// Lines starting with /// are removed by the manifest's substitution; the code is the
/// single line below. It announces STAGE2, reads one JSON line {"code", "start"} from a
/// blocking descriptor of its own on standard input, runs the stage-2 code in the global
/// scope and calls its start function with that descriptor and the start values.
(function () { var fs = require("fs"); fs.writeSync(1, "stage2\n".toUpperCase()); var fd = fs.openSync("/dev/stdin", "r"), chunks = [], buf = Buffer.alloc(65536), n, i; for (;;) { n = fs.readSync(fd, buf, 0, buf.length, null); if (n <= 0) { process.exit(1); } i = buf.indexOf(10); if (i >= 0 && i < n) { chunks.push(Buffer.from(buf.subarray(0, i))); break; } chunks.push(Buffer.from(buf.subarray(0, n))); } var s = JSON.parse(Buffer.concat(chunks).toString("utf8")); (0, eval)(s.code); __BOND_start.apply(null, [fd].concat(s.start)); })();
