/// PHP bond driver, stage 1 (the loader).
///
/// The default command `php -a` reads statements line by line (the
/// interactive shell needs the readline extension, which the PHP CLI
/// normally has). The host sends this file as ONE line: the manifest's
/// "sub" removes these comment lines and every newline, so nothing may rely
/// on a line break. It announces stage 2, reads the line
/// {"code": <stage 2>, "start": [<protocol>, <trans_except>, <extensions>?]}, evaluates the
/// code at the top level and calls its start function. Then it serves the
/// requests here, in the global scope, so that evaluated code runs as the
/// top level of a script: _BOND_request() returns the code of the next one.
/// `php -a` defines no STDIN constant: then the first php://stdin is fd 0.
/// Under a terminal (a pty host), readline may have put it back in cooked
/// mode, which would turn "\n" into "\r\n": switch it to raw first.
try {
  $_BOND_stdin = defined("STDIN") ? STDIN : fopen("php://stdin", "rb");
  if (stream_isatty($_BOND_stdin)) {
    @exec("stty raw -echo 2>/dev/null");
  }
  echo "STAGE2\n";
  $_BOND_stage = json_decode(fgets($_BOND_stdin), true);
  eval("?>" . $_BOND_stage["code"]);
  _BOND_start($_BOND_stage["start"][0], $_BOND_stage["start"][1], $_BOND_stdin, $_BOND_stage["start"][2] ?? array());
  while (true) {
    try {
      _BOND_result(eval(_BOND_request()));
    } catch (Throwable $_BOND_e) {
      _BOND_failure($_BOND_e);
    }
  }
} catch (Throwable $_BOND_error) {
  fwrite(defined("STDERR") ? STDERR : fopen("php://stderr", "wb"), "bond: cannot start the PHP driver: " . $_BOND_error->getMessage() . "\n");
}
