# Perl bond driver, stage 2 (the driver itself).
#
# Sent by the host as data and evaluated by stage 1 at the top level, then
# started with __BOND::start($protocol, $trans_except). Written from the wire
# protocol in docs/protocol.md. Core modules only (JSON::PP for booleans, B,
# Scalar::Util, POSIX), so a bare Perl >= 5.14 on a remote host is enough.

# User code is compiled here, first, in package main, with no pragma in effect
# and before any of the driver's lexicals exist: evaluated code sees neither
# the driver's variables nor its "use strict". The first argument is the code,
# the rest stays in @_ (CALL builds "sub { NAME($_[0], ...) }" through it).
sub __BOND_eval { eval(shift) }

# [ext] BYTES: marks a string as bytes (it crosses the bond as a byte string even when it is
# valid UTF-8 text): return _BOND_bytes($data).
sub _BOND_bytes { my $b = $_[0]; return bless \$b, '_BOND_Bytes' }

package __BOND;

use strict;
use warnings;
no warnings qw(recursion once surrogate nonchar non_unicode utf8);
use B ();
use POSIX ();
use Scalar::Util ();
require JSON::PP;
require Fcntl;
require Time::HiRes;

my $IN;                 # private duplicate of the original stdin (requests)
my $OUT;                # private duplicate of the original stdout (frames)
my $TRANS = 0;          # transparent exceptions
my $MAX_DEPTH = 10000;  # nesting limit of encoded/decoded data
my $IS_BOOL = defined(&builtin::is_bool) ? \&builtin::is_bool : undef;  # Perl >= 5.36 booleans
my $AS_NUMBER = defined(&builtin::created_as_number) ? \&builtin::created_as_number : undef;  # 5.36
my $GONE = 0;           # BYE was sent
my $PID = $$;           # a child forked by evaluated code must not speak the protocol
my $BYTES = 0;          # [ext] BYTES: the host reads byte strings as raw blocks
my @BLOCKS;             # the blocks of the payload being encoded
our @DEC_BLOCKS;        # the blocks read before the payload being decoded
our $OBJECTS = 0;       # [ext] OBJECTS switched on by the host (see "Remote objects" below)
our @RELEASED;          # ids of proxies gone here, for the host with our next frame
our %TIED;              # channel name => tied handle object
# SIGINT: the handler stays installed (no system call per request); it interrupts only
# while user code runs ($ARMED), and waits for the end of a frame being written.
our $ARMED = 0;
our $WRITING = 0;
my $PENDING = 0;   # an interrupt came while a frame was written
my $INT_HANDLER = sub {
  return unless $ARMED;
  if ($WRITING) {
    $PENDING = 1;
    return;
  }
  die "interrupted by SIGINT\n";
};

# ---------------------------------------------------------------------------
# JSON encoding (Perl data -> JSON text as characters)

my %ESC = (map({ chr($_) => sprintf('\u%04x', $_) } 0 .. 0x1f),
           '"' => '\"', '\\' => '\\\\', "\n" => '\n', "\r" => '\r',
           "\t" => '\t', "\f" => '\f', "\b" => '\b');

sub enc_str {
  my $s = $_[0];
  if (!utf8::is_utf8($s) && $s =~ /[\x80-\xff]/) {
    # A byte string: UTF-8 text when it decodes as such, Latin-1 otherwise.
    my $c = $s;
    $s = $c if utf8::decode($c);
  }
  $s =~ s/([\x00-\x1f"\\])/$ESC{$1}/g;
  if (utf8::is_utf8($s) && $s =~ /([^\x{0}-\x{D7FF}\x{E000}-\x{10FFFF}])/) {
    # not Unicode text: a UTF-16 surrogate or a code point above U+10FFFF
    die sprintf("cannot serialize a string with the code point U+%04X (not a Unicode scalar value)\n", ord($1));
  }
  return '"' . $s . '"';
}

sub enc_num {
  my ($v, $flags) = @_;
  if ($flags & B::SVf_IOK) {
    return "$v";
  }
  if ($v != $v || $v == 9**9**9 || $v == -9**9**9) {
    return keep($v) if $__BOND::HANDLES;   # [ext] OBJECTS: no data, so a handle where asked
    die($v != $v ? "cannot serialize NaN\n" : "cannot serialize Infinity\n");
  }
  my $s = sprintf('%.15g', $v);
  $s = sprintf('%.17g', $v) if $s + 0 != $v;
  return $s;
}

# [ext] BYTES: a byte string (no UTF-8 flag) that is not valid UTF-8 goes as a raw block; so
# does one marked with _BOND_bytes(). Other strings are text.
sub enc_text_or_bytes {
  my $s = $_[0];
  if ($BYTES && !utf8::is_utf8($s) && $s =~ /[\x80-\xff]/) {
    my $c = $s;
    return enc_block($s) unless utf8::decode($c);
  }
  return enc_str($s);
}

sub enc_block {
  die "cannot serialize bytes: the host does not read them (the BYTES extension)\n" unless $BYTES;
  push @BLOCKS, $_[0];
  return '{"__BOND_bytes":' . $#BLOCKS . '}';
}

# The blocks of the payload encoded last (an array reference, or undef), taken.
sub take_blocks {
  return undef unless @BLOCKS;
  my @taken = @BLOCKS;
  @BLOCKS = ();
  return \@taken;
}

sub is_bool {
  no warnings;   # builtin::is_bool is "experimental" in 5.36
  return $IS_BOOL->($_[0]);
}

sub enc {
  my ($v, $depth, $path) = @_;
  return 'null' unless defined $v;
  my $ref = ref($v);
  if ($ref eq '') {
    return $v ? 'true' : 'false' if $IS_BOOL && is_bool($v);
    if ($AS_NUMBER) {   # what the flags below tell, without B
      no warnings;
      return enc_text_or_bytes($v) unless $AS_NUMBER->($v);
      return "$v" if $v == int($v) && abs($v) < 1e15;   # whole: its digits, exactly
      return enc_num($v, B::svref_2object(\$v)->FLAGS);
    }
    my $obj = B::svref_2object(\$v);
    if (ref($obj) ne 'B::SPECIAL') {
      my $flags = $obj->FLAGS;
      return enc_num($v, $flags)
        if ($flags & (B::SVf_IOK | B::SVf_NOK)) && !($flags & B::SVf_POK);
    }
    return enc_text_or_bytes($v);
  }
  die "cannot serialize data nested deeper than $MAX_DEPTH levels\n" if $depth >= $MAX_DEPTH;
  if ($OBJECTS) {
    my $marker = marker_for($v, $depth, $path);
    return $marker if defined $marker;
  }
  my $addr = Scalar::Util::refaddr($v);
  die "cannot serialize a cyclic structure\n" if $path->{$addr};
  local $path->{$addr} = 1;
  if (defined(my $class = Scalar::Util::blessed($v))) {
    return $$v ? 'true' : 'false' if $v->isa('JSON::PP::Boolean');
    if ($class eq '_BOND_Bytes') {   # [ext] marked with _BOND_bytes()
      my $b = $$v;
      utf8::downgrade($b, 1) or die "cannot serialize as bytes a string with characters above 0xFF\n";
      return enc_block($b);
    }
    if (my $to_json = $v->can('TO_JSON')) {
      return enc($v->$to_json(), $depth + 1, $path);
    }
    die "cannot serialize an object of class $class (it has no TO_JSON method)\n";
  }
  if ($ref eq 'ARRAY') {
    return '[' . join(',', map { enc($_, $depth + 1, $path) } @$v) . ']';
  }
  if ($ref eq 'HASH') {
    # sorted keys: the same hash always gives the same text
    return '{' . join(',', map { enc_str($_) . ':' . enc($v->{$_}, $depth + 1, $path) } sort keys %$v) . '}';
  }
  if ($ref eq 'SCALAR' && defined $$v && !ref $$v) {
    return 'true' if $$v eq '1';
    return 'false' if $$v eq '0';
  }
  die "cannot serialize a $ref reference\n";
}

sub encode {
  @BLOCKS = ();
  return enc($_[0], 0, {});
}

# ---------------------------------------------------------------------------
# JSON decoding (JSON text as characters -> Perl data). Regular expressions
# anchored with \G walk the text in place, so big strings cost linear time.

our $J;   # aliased to the text being decoded

my %UNESC = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b", f => "\f",
             n => "\n", r => "\r", t => "\t");

sub dec_fail {
  my ($what) = @_;
  my $at = pos($J) // 0;
  die "invalid JSON ($what) at offset $at\n";
}

sub dec_str {
  # the opening quote is consumed
  return $1 if $J =~ /\G([^"\\]*)"/gc;
  my $start = pos($J);
  # Find the closing quote in bounded steps: one regex over the whole string
  # would exceed Perl's limit on repeated groups (65534).
  1 while $J =~ /\G(?:[^"\\]++|\\.){1,30000}+/gcs;
  $J =~ /\G"/gc or dec_fail('unterminated string');
  my $end = pos($J) - 1;
  my $s = substr($J, $start, $end - $start);
  if (index($s, '\\u') < 0 && $s !~ /\\(?:[^"\\\/bfnrt]|\z)/) {
    $s =~ s{\\(["\\/bfnrt])}{$UNESC{$1}}g;   # no \u escape: no /e, faster
  } else {
    $s =~ s{\\(?:(["\\/bfnrt])|u([0-9a-fA-F]{4})|(.|\z))}{
      defined $1 ? $UNESC{$1} : defined $2 ? chr(hex($2)) : dec_fail('bad escape')
    }gse;
  }
  if ($s =~ /[\x{D800}-\x{DBFF}][\x{DC00}-\x{DFFF}]/) {
    $s =~ s/([\x{D800}-\x{DBFF}])([\x{DC00}-\x{DFFF}])/
      chr(0x10000 + ((ord($1) - 0xD800) << 10) + (ord($2) - 0xDC00))/ge;
  }
  return $s;
}

# One regular expression per value: blanks, then the value's first token.
sub dec_val {
  my ($depth) = @_;
  $J =~ /\G[ \t\r\n]*(?:(")|(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)|([\[\{])|(true|false|null))/gc
    or dec_fail('unexpected character');
  return dec_str() if defined $1;
  return defined($3) || defined($4) ? 0.0 + $2 : 0 + $2 if defined $2;
  if (defined $6) {
    my $word = $6;
    return $word eq 'true' ? $JSON::PP::true : $word eq 'false' ? $JSON::PP::false : undef;
  }
  dec_fail('nested too deep') if $depth >= $MAX_DEPTH;
  if ($5 eq '[') {
    my @a;
    return \@a if $J =~ /\G[ \t\r\n]*\]/gc;
    while (1) {
      push @a, dec_val($depth + 1);
      $J =~ /\G[ \t\r\n]*([,\]])/gc or dec_fail('expected "," or "]"');
      return \@a if $1 eq ']';
    }
  }
  my %h;
  return \%h if $J =~ /\G[ \t\r\n]*\}/gc;
  while (1) {
    $J =~ /\G[ \t\r\n]*"/gc or dec_fail('expected a string key');
    my $k = dec_str();
    $J =~ /\G[ \t\r\n]*:/gc or dec_fail('expected ":"');
    $h{$k} = dec_val($depth + 1);
    $J =~ /\G[ \t\r\n]*([,\}])/gc or dec_fail('expected "," or "}"');
    if ($1 eq '}') {
      # [ext] BYTES: {"__BOND_bytes": i} is the i-th block read before the frame
      return $DEC_BLOCKS[$h{__BOND_bytes}] if @DEC_BLOCKS && keys(%h) == 1 && defined $h{__BOND_bytes}
        && $h{__BOND_bytes} =~ /\A[0-9]+\z/ && defined $DEC_BLOCKS[$h{__BOND_bytes}];
      return $OBJECTS && exists $h{'$bond'} ? unmark(\%h) : \%h;
    }
  }
}

sub decode {
  local *J = \$_[0];
  pos($J) = 0;
  my $v = dec_val(0);
  $J =~ /\G[ \t\r\n]*/gc;
  dec_fail('trailing characters') if pos($J) != length($J);
  return $v;
}

# ---------------------------------------------------------------------------
# Frames

# Writes all of $_[0] (by reference to it: no copy); leaves when the host is gone.
sub write_all {
  my $len = length($_[0]);
  my $off = 0;
  while ($off < $len) {
    my $n = syswrite($OUT, $_[0], $len - $off, $off);
    if (!defined $n) {
      next if $!{EINTR} || $!{EAGAIN};
      POSIX::_exit(1);   # the host is gone
    }
    $off += $n;
  }
}

sub write_frame {
  my ($verb, $json, $blocks) = @_;
  return if $GONE || $$ != $PID;
  my $line = defined($json) ? "$verb $json\n" : "$verb\n";
  utf8::encode($line);
  # [ext] BYTES: the raw blocks first, each "BYTES <length>\n", its bytes, "\n" (each written
  # from its own string: a big one is not copied into the line); [ext] OBJECTS: releases
  # before them (the blocks go just before the frame that refers to them)
  if ($blocks) {
    local $WRITING = 1;
    write_all(release_line()) if @RELEASED;
    write_all('BYTES ' . length($_) . "\n"), write_all($_), write_all("\n") for @$blocks;
  }
  $line = release_line() . $line if @RELEASED;
  # An interrupt must never cut a frame in half: it waits for the end of the frame.
  {
    local $WRITING = 1;
    my ($off, $len) = (0, length($line));
    while ($off < $len) {
      my $n = syswrite($OUT, $line, $len - $off, $off);
      if (!defined $n) {
        next if $!{EINTR} || $!{EAGAIN};
        POSIX::_exit(1);   # the host is gone
      }
      $off += $n;
    }
  }
  if ($PENDING) {
    $PENDING = 0;
    $INT_HANDLER->();
  }
}

sub bye {
  flush_output();
  write_frame('BYE');
  $GONE = 1;
  exit(0);
}

# Buffered reads with sysread: linear in the line size, and independent of
# $/, PerlIO layers and the "<FH> line N" note that readline adds to errors.
my $RBUF = '';
my $RSCAN = 0;

# The request descriptor is non-blocking: when nothing is there yet, look again for up to
# 50 microseconds before sleeping in select(), since the host usually sends the next
# request within that time and a sleep and wake-up costs more than the request.
sub read_line {
  my $spin_until;
  while (1) {
    my $i = index($RBUF, "\n", $RSCAN);
    if ($i >= 0) {
      $RSCAN = 0;
      return substr($RBUF, 0, $i + 1, '');
    }
    $RSCAN = length($RBUF);
    my $n = sysread($IN, $RBUF, 1 << 20, length($RBUF));
    if (!defined $n) {
      next if $!{EINTR};
      if ($!{EAGAIN} || $!{EWOULDBLOCK}) {
        my $now = Time::HiRes::time();
        $spin_until = $now + 0.00005 unless defined $spin_until;
        if ($now >= $spin_until) {
          my $rin = '';
          vec($rin, fileno($IN), 1) = 1;
          select($rin, undef, undef, undef);
        }
        next;
      }
      return undef;
    }
    return undef if $n == 0;   # EOF; an unterminated last line is dropped
  }
}

# Reads one request; returns ($verb, $value, $error), or leaves on EOF.
# [ext] BYTES: the next $count bytes, raw (a block), and the end of line after them.
sub read_block {
  my ($count) = @_;
  my $want = $count + 1;
  # (into a string of its own: $RBUF had lines cut from its front, and growing such a string
  # moves its content back first, at every read: quadratic for a big block)
  my $block = $RBUF;
  $RBUF = '';
  $RSCAN = 0;
  while (length($block) < $want) {
    my $n = sysread($IN, $block, $want - length($block), length($block));
    if (!defined $n) {
      next if $!{EINTR};
      if ($!{EAGAIN} || $!{EWOULDBLOCK}) {
        my $rin = '';
        vec($rin, fileno($IN), 1) = 1;
        select($rin, undef, undef, undef);
        next;
      }
      bye();
    }
    bye() if $n == 0;
  }
  $RBUF = substr($block, $want, length($block) - $want, '') if length($block) > $want;
  chop($block);
  return $block;
}

sub read_frame {
  local $SIG{__DIE__};
  my $line = read_line();
  bye() unless defined $line;
  my @blocks;
  while ($BYTES && $line =~ /\ABYTES ([0-9]+)\r?\n\z/) {   # [ext] raw blocks before the frame
    push @blocks, read_block($1);
    $line = read_line();
    bye() unless defined $line;
  }
  local *DEC_BLOCKS = \@blocks;
  chop($line);
  chop($line) if substr($line, -1) eq "\r";
  my $sp = index($line, ' ');
  my $verb = $sp < 0 ? $line : substr($line, 0, $sp);
  return ($verb, undef, "malformed frame: not a verb") if $verb !~ /\A[A-Z_]+\z/;
  return ($verb, undef, undef) if $sp < 0;
  my $payload = substr($line, $sp + 1);
  undef $line;
  return ($verb, undef, "cannot decode the $verb payload: invalid UTF-8")
    unless utf8::decode($payload);
  my $value = eval { decode($payload) };
  return ($verb, undef, "cannot decode the $verb payload: $@") unless defined($value) || $@ eq '';
  return ($verb, $value, undef);
}

sub chomped {
  my $s = "$_[0]";
  $s =~ s/\n\z//;
  return $s;
}

sub send_value {
  my ($verb, $value) = @_;
  flush_output();
  local $SIG{__DIE__};
  my $json = eval { encode($value) };
  my $blocks = take_blocks();
  if (!defined $json) {
    my $what = $verb eq 'EXCEPT' ? 'exception' : 'result';
    write_frame('ERROR', enc_str("cannot serialize the $what: " . chomped($@)));
    return;
  }
  write_frame($verb, $json, $blocks);
}

sub send_error {
  my ($message) = @_;
  flush_output();
  write_frame('ERROR', enc_str(chomped($message)));
}

sub send_exception {
  my ($error) = @_;
  # an uncaught serialization failure stays one: ERROR, not EXCEPT
  if (Scalar::Util::blessed($error) && $error->isa('_BOND_SerializationException')) {
    return send_error($error->message);
  }
  if ($TRANS) {
    send_value('EXCEPT', ref($error) ? $error : chomped($error));
  } else {
    send_value('EXCEPT', chomped($error));
  }
}

# ---------------------------------------------------------------------------
# Output capture: STDOUT and STDERR are tied; text is sent as OUTPUT frames
# at each line end, and before any other frame.

sub bytes_to_text {
  my ($b) = @_;
  my $t = $b;
  if (!utf8::decode($t)) {
    # invalid UTF-8: keep the valid runs (in bounded steps), show other
    # bytes as Latin-1
    $t = $b;
    $t =~ s/((?:[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}){1,30000})|([\x00-\xff])/
      defined($1) ? do { my $v = $1; utf8::decode($v); $v } : $2/ge;
  }
  $t =~ tr/\x{D800}-\x{DFFF}/\x{FFFD}/ if utf8::is_utf8($t);
  return $t;
}

sub send_output {
  my ($channel, $bytes) = @_;
  return if $GONE || $bytes eq '';
  if ($$ != $PID) {   # in a forked child: plain text on the interpreter's stderr
    POSIX::write(2, $bytes, length($bytes));
    return;
  }
  write_frame('OUTPUT', '[' . enc_str($channel) . ',' . enc_str(bytes_to_text($bytes)) . ']');
}

sub flush_output {
  for my $handle (@TIED{qw(STDOUT STDERR)}) {
    $handle->flush() if defined($handle) && $handle->{buf} ne '';
  }
}

package __BOND::Handle;

sub TIEHANDLE {
  my ($class, $channel) = @_;
  return bless { channel => $channel, buf => '', utf8 => 0 }, $class;
}

sub flush {
  my ($self) = @_;
  return if $self->{buf} eq '';
  my $b = $self->{buf};
  $self->{buf} = '';
  __BOND::send_output($self->{channel}, $b);
}

sub add {
  my ($self, $s) = @_;
  return if !defined($s) || $s eq '';
  if ($self->{utf8} || (utf8::is_utf8($s) && $s =~ /[^\x00-\x7f]/)) {
    utf8::encode($s);   # text: send it as UTF-8
  }
  # keep the order of both channels: flush the other one's partial line
  my $other = $__BOND::TIED{$self->{channel} eq 'STDOUT' ? 'STDERR' : 'STDOUT'};
  $other->flush() if $other && $other->{buf} ne '';
  $self->{buf} .= $s;
  my $nl = rindex($self->{buf}, "\n");
  if ($nl >= 0) {
    my $line = substr($self->{buf}, 0, $nl + 1, '');
    __BOND::send_output($self->{channel}, $line);
  }
  return if $self->{buf} eq '';
  if ($self->{channel} eq 'STDERR' || length($self->{buf}) >= 65536 || $self->autoflush()) {
    # STDERR is unbuffered, STDOUT with $| set too; a long line goes anyway.
    # An incomplete UTF-8 sequence at the end waits for the next write.
    my $tail = $self->{buf} =~ /([\xc0-\xff][\x80-\xbf]{0,2})\z/ ? length($1) : 0;
    my $part = substr($self->{buf}, 0, length($self->{buf}) - $tail, '');
    __BOND::send_output($self->{channel}, $part);
  }
}

sub autoflush {
  my $old = select(STDOUT);
  my $on = $|;
  select($old);
  return $on;
}

sub PRINT {
  my $self = shift;
  my $s = join(defined($,) ? $, : '', map { defined($_) ? $_ : '' } @_);
  $s .= $\ if defined $\;
  $self->add($s);
  return 1;
}

sub PRINTF {
  my $self = shift;
  my $format = shift;
  $self->add(sprintf($format, @_));
  return 1;
}

sub WRITE {
  my ($self, $buf, $len, $off) = @_;
  $off = 0 unless defined $off;
  $off += length($buf) if $off < 0;
  $len = length($buf) - $off unless defined $len;
  my $s = substr($buf, $off, $len);
  $self->add($s);
  return length($s);
}

sub BINMODE {
  my ($self, $layer) = @_;
  $self->{utf8} = (defined($layer) && $layer =~ /utf-?8/i) ? 1 : 0;
  return 1;
}

sub FILENO { return $_[0]->{channel} eq 'STDOUT' ? 1 : 2 }
sub CLOSE { $_[0]->flush(); return 1 }
sub EOF { return 1 }
sub READ { return 0 }
sub READLINE { return wantarray ? () : undef }
sub GETC { return undef }
sub SEEK { return 0 }
sub TELL { return -1 }
# open(STDOUT, ...) by evaluated code: the handle stops being captured and
# becomes what the code opened (a later print goes there, not to the host).
sub OPEN {
  my $self = shift;
  $self->flush();
  my $glob = $self->{channel} eq 'STDOUT' ? \*STDOUT : \*STDERR;
  delete $__BOND::TIED{$self->{channel}};
  { no warnings; untie *$glob; }
  return @_ > 1 ? open($glob, shift, @_) : open($glob, $_[0]);
}
sub UNTIE { }
sub DESTROY { }

package _BOND_SerializationException;

use overload '""' => sub { $_[0]->{message} }, fallback => 1;

sub new {
  my ($class, $message) = @_;
  $message = '' unless defined $message;
  $message .= "\n" unless $message =~ /\n\z/;
  return bless { message => $message }, $class;
}

sub message { return $_[0]->{message} }
sub TO_JSON { my $m = $_[0]->{message}; $m =~ s/\n\z//; return $m }

package __BOND;

# ---------------------------------------------------------------------------
# Running user code

# Runs $code->(@args) (user code, or a closure around main::__BOND_eval) with
# interrupts enabled. Returns (1, @values) or (0, $error).
sub run_user {
  my ($code, @args) = @_;
  my (@r, $done);
  # evaluated code may have installed a handler of its own: ours comes back for each request
  $SIG{INT} = $INT_HANDLER unless ref($SIG{INT}) && $SIG{INT} == $INT_HANDLER;
  my $ok = eval {
    local $ARMED = 1;
    # the bare block catches a stray "last"/"next" in the evaluated code
    { @r = $code->(@args); $done = 1; }
    die "Can't \"last\" or \"next\" outside a loop block\n" unless $done;
    1;
  };
  if ($$ != $PID) {   # a forked child came back here: it ends
    flush_output();
    POSIX::_exit(0);
  }
  return (1, @r) if $ok;
  my $err = $@;
  $err = "unknown error\n" if !ref($err) && (!defined($err) || $err eq '');
  return (0, $err);
}

sub evaluate {
  my ($code, $want) = @_;
  return run_user(sub {
    if ($want) {
      my @v = main::__BOND_eval($code);
      die $@ if ref($@) || $@ ne '';
      return @v;
    }
    main::__BOND_eval($code);
    die $@ if ref($@) || $@ ne '';
    return;
  });
}

# CALL and XCALL compile "sub { NAME(ARG, ...) }" and apply it to the values,
# so that prototypes, builtins and blocks ("map { ... }") work as written.
# Compiled calls of plain names ("ident/2" => sub { ident($_[0], $_[1]) }),
# reused until the next EVAL, EVAL_BLOCK or EXPORT (which may change a
# prototype): compiling costs more than the call itself.
my %CALLS;

sub call {
  my ($name, $args, $refs) = @_;
  if (!@$refs) {   # CALL of a name called before: no compiling, no closure
    my $sub = $CALLS{"$name/" . @$args};
    return run_user($sub, @$args) if $sub;
  }
  my @list = map { $refs->[$_] ? "($args->[$_])" : "\$_[$_]" } 0 .. $#$args;
  my @values = map { $refs->[$_] ? undef : $args->[$_] } 0 .. $#$args;
  my $list = join(', ', @list);
  my $key = (!grep { $_ } @$refs) && $name =~ /\A[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*\z/
    ? "$name/" . scalar(@$args) : undef;
  return run_user(sub {
    my $sub = defined($key) ? $CALLS{$key} : undef;
    if (!$sub) {
      ($sub) = main::__BOND_eval("sub { $name($list) }");
      if (!$sub) {
        my $err = $@;
        die $err if ref($err) || $err !~ /syntax error/;
        # "sub { ... }", "$code_ref", "$h->{f}": call the value itself
        ($sub) = main::__BOND_eval("sub { ($name)->($list) }");
        die $err unless $sub;
      }
      if (defined $key) {
        %CALLS = () if keys(%CALLS) >= 1000;
        $CALLS{$key} = $sub;
      }
    }
    return $sub->(@values);
  });
}

sub list_value {
  my @r = @_;
  return @r == 1 ? $r[0] : @r == 0 ? undef : \@r;
}

sub export {
  my ($name) = @_;
  no strict 'refs';
  no warnings 'redefine';
  my $full = $name =~ /::/ ? $name : "main::$name";
  *{$full} = sub { return call_host($name, @_) };
}

# An exported function: forward the call to the host, then serve its
# requests until it answers.
sub call_host {
  my ($name, @args) = @_;
  # a forked child would read the driver's requests
  die "$name cannot be called from a child process: it is exported by the host\n" if $$ != $PID;
  my $json = eval { encode([$name, \@args]) };
  my $blocks = take_blocks();
  die _BOND_SerializationException->new("cannot serialize the arguments of $name: " . chomped($@))
    unless defined $json;
  local $ARMED = 0;
  $PENDING = 0;
  flush_output();
  write_frame('CALL', $json, $blocks);
  my ($verb, $value, $error) = serve(1);
  die _BOND_SerializationException->new($error) if defined $error;
  return $value if $verb eq 'RETURN';
  if ($verb eq 'EXCEPT') {
    die $value if ref($value);
    $value = 'remote exception' unless defined $value;
    die($value =~ /\n\z/ ? $value : "$value\n");
  }
  die _BOND_SerializationException->new(defined($value) && !ref($value) ? $value : 'serialization error');
}

# ---------------------------------------------------------------------------
# The request loop: at depth 0 it serves forever; nested (inside an exported
# function) it returns the host's reply ($verb, $value, $error).

sub serve {
  my ($nested) = @_;
  while (1) {
    my ($verb, $value, $error) = read_frame();
    if ($verb eq 'RETURN' || $verb eq 'EXCEPT' || $verb eq 'ERROR') {
      return ($verb, $value, $error) if $nested;
      bye();   # a reply with no call pending ends the top level loop
    }
    if (defined $error) {
      send_error($error);
      next;
    }
    handle($verb, $value);
  }
}

sub is_code { defined($_[0]) && !ref($_[0]) }

sub handle {
  my ($verb, $value) = @_;
  if ($verb eq 'EVAL' || $verb eq 'EVAL_BLOCK') {
    return send_error("malformed $verb request: expected a code string") unless is_code($value);
    %CALLS = ();
    my $want = $verb eq 'EVAL';
    my ($ok, @r) = evaluate($value, $want);
    return send_exception($r[0]) unless $ok;
    return send_value('RETURN', $want ? list_value(@r) : undef);
  }
  if ($verb eq 'CALL' || $verb eq 'XCALL') {
    return send_error("malformed $verb request: expected [name, [args...]]")
      unless ref($value) eq 'ARRAY' && is_code($value->[0]) && ref($value->[1]) eq 'ARRAY';
    my ($name, $args) = @$value;
    my (@values, @refs);
    if ($verb eq 'XCALL') {
      for my $a (@$args) {
        return send_error("malformed XCALL argument: expected [is_ref, value]")
          unless ref($a) eq 'ARRAY' && @$a == 2;
        my $is_ref = $a->[0] ? 1 : 0;
        return send_error("malformed XCALL argument: a reference must be a code string")
          if $is_ref && !is_code($a->[1]);
        push @refs, $is_ref;
        push @values, $a->[1];
      }
    } else {
      @values = @$args;
    }
    my ($ok, @r) = call($name, \@values, \@refs);
    return send_exception($r[0]) unless $ok;
    return send_value('RETURN', list_value(@r));
  }
  if ($verb eq 'RUN') {
    return send_error('malformed RUN request: expected {"code": ..., "mode": ..., "unserializable": ...}')
      unless ref($value) eq 'HASH' && is_code($value->{code});
    %CALLS = ();
    my $input = ($value->{mode} // 'input') ne 'expression';
    my ($ok, @r) = evaluate($value->{code}, 1);
    return send_exception($r[0]) unless $ok;
    my $result = list_value(@r);
    return send_value('RETURN', {}) if $input && (!defined($result) || !ends_with_expression($value->{code}));
    return send_value('RETURN', {value => handles_of($result)}) if $OBJECTS && ($value->{unserializable} // '') eq 'handle';
    return send_run($result, ($value->{unserializable} // '') eq 'describe');
  }
  if ($verb eq 'EXPORT') {
    return send_error("malformed EXPORT request: expected a name") unless is_code($value);
    return send_value('EXCEPT', "invalid name for an exported function: $value")
      unless $value =~ /\A[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*\z/;
    export($value);
    %CALLS = ();
    return send_value('RETURN', undef);
  }
  return object_request($verb, $value) if $OBJECTS && $verb =~ /\A(?:OBJECT|OCALL|OGET|ODESCRIBE)\z/;
  return release_handles($value) if $OBJECTS && $verb eq 'RELEASE';
  return send_error("unknown request: $verb");
}

# ---------------------------------------------------------------------------
# [ext] RUN: REPL input is evaluated as a block (eval gives the value of its last statement);
# that value is the result when the last statement is an expression.

# The statements that give no value to show: definitions, declarations, compound
# statements, prints.
my $NO_VALUE = qr/\A(?:sub\s+[A-Za-z_:]|(?:package|use|no|require|BEGIN|END|INIT|CHECK|UNITCHECK|if|unless|while|until|for|foreach|print|printf|say|my|our|local|state)\b)/;

# Whether the last statement of $code is an expression (a reading that skips strings,
# comments and brackets: the last statement is what follows the last ';' or '}' outside
# brackets that something follows).
sub ends_with_expression {
  my ($code) = @_;
  my ($depth, $start, $last) = (0, 0, undef);
  my $meaningful = 0;
  while ($code =~ /\G(?:(\#[^\n]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|([\(\[\{])|([\)\]\}])|(;)|(\s+)|([^\#'"\(\)\[\]\{\};\s]+|.))/gcs) {
    if (defined $1 || defined $6) {
      next;
    }
    if (defined $5) {
      if ($depth == 0) {
        $last = $start if $meaningful;
        ($start, $meaningful) = (pos($code), 0);
      }
      next;
    }
    $meaningful = 1;
    if (defined $3) {
      $depth++;
    } elsif (defined $4) {
      $depth-- if $depth > 0;
      if ($depth == 0 && $4 eq '}') {
        $last = $start;
        ($start, $meaningful) = (pos($code), 0);
        $last = -1 - $last;   # (a statement that ends with a block)
      }
    }
  }
  $last = $start if $meaningful;
  return 0 unless defined $last;
  my $block = $last < 0;
  $last = -1 - $last if $block;
  my $statement = substr($code, $last);
  $statement =~ s/\A\s+//;
  return 0 if $statement =~ $NO_VALUE;
  # a block that ends a statement: a value only when the statement starts as an expression does
  return !$block || $statement =~ /\A(?:[\$\@\%\&\(\[\\]|do\b|sub\s*\{|eval\b|map\b|grep\b|sort\b|[A-Za-z_][\w:]*\s*\()/;
}

# Whether $v holds an unsigned integer beyond 64-bit signed range (which the host cannot read).
sub has_big_integer {
  my ($v, $depth) = @_;
  return 0 if $depth > 1000 || !defined $v;
  my $ref = ref($v);
  if ($ref eq '') {
    my $obj = B::svref_2object(\$v);
    return ref($obj) ne 'B::SPECIAL' && ($obj->FLAGS & B::SVf_IVisUV) && $v > 9223372036854775807 ? 1 : 0;
  }
  return 0 if Scalar::Util::blessed($v);
  if ($ref eq 'ARRAY') {
    for (@$v) { return 1 if has_big_integer($_, $depth + 1) }
  } elsif ($ref eq 'HASH') {
    for (values %$v) { return 1 if has_big_integer($_, $depth + 1) }
  }
  return 0;
}

# The RETURN of a RUN: {"value": V}, or, when asked, the value's description when it cannot
# be serialized (Data::Dumper; the type is ref's name, or SCALAR).
sub send_run {
  my ($value, $describe) = @_;
  return send_value('RETURN', {value => $value}) unless $describe;
  flush_output();
  local $SIG{__DIE__};
  my $json = has_big_integer($value, 0) ? undef : eval { encode({value => $value}) };
  if (!defined $json) {
    require Data::Dumper;
    local $Data::Dumper::Terse = 1;
    local $Data::Dumper::Indent = 1;
    local $Data::Dumper::Sortkeys = 1;
    local $Data::Dumper::Useqq = 1;
    my $text = eval { Data::Dumper::Dumper($value) } // "$value";
    $text =~ s/\n\z//;
    my $type = ref($value) || 'SCALAR';
    $json = encode({description => $text, type => $type});
  }
  write_frame('RETURN', $json, take_blocks());
}

# ---------------------------------------------------------------------------
# [ext] OBJECTS: live remote objects (docs/protocol.md, "The OBJECTS extension"). Off unless
# the host switched it on at start-up: then a hash with a "$bond" member is a marker, both
# ways, and a user hash with such a member is sent escaped.

my %TABLE;          # handle id -> the value the host holds
my $LAST_ID = 0;
our $HANDLES;       # while a value is encoded with handles: its markers by address

sub keep {
  my ($value) = @_;
  $TABLE{++$LAST_ID} = $value;
  my $type = Scalar::Util::blessed($value) // (ref($value) || 'SCALAR');
  return '{"$bond":"handle","id":' . $LAST_ID . ',"type":' . enc_str($type) . '}';
}

sub table_entry {
  my ($id) = @_;
  die "no object " . ($id // 'null') . " here (released, or never made)\n" unless defined($id) && exists $TABLE{$id};
  return $TABLE{$id};
}

# The encoding of a reference that is a marker, or undef: a proxy goes back as itself, a
# value that is not data becomes a handle where asked, a user hash with "$bond" is escaped.
sub marker_for {
  my ($v, $depth, $path) = @_;
  my $class = Scalar::Util::blessed($v);
  return $$v if defined $class && $class eq '__BOND::Encoded';
  if (defined $class && $class eq '__BOND::Proxy') {
    return '{"$bond":"proxy","id":' . (tied(%$v)->[0]) . '}';
  }
  my $ref = ref($v);
  if ($HANDLES) {
    my $data = defined $class ? $v->isa('JSON::PP::Boolean') || $v->can('TO_JSON') : $ref eq 'ARRAY' || $ref eq 'HASH';
    if (!$data) {
      my $addr = Scalar::Util::refaddr($v);
      return $HANDLES->{$addr} //= keep($v);
    }
  }
  if (!defined $class && $ref eq 'HASH' && exists $v->{'$bond'}) {
    return '{"$bond":"map","items":[' . join(',', map { '[' . enc_str($_) . ',' . enc($v->{$_}, $depth + 1, $path) . ']' } sort keys %$v) . ']}';
  }
  return undef;
}

# $value, encoded later with handles for what is not data (see handles_of).
sub encode_handles {
  local $HANDLES = {};
  return encode($_[0]);
}

# A value to send whose encoding makes handles: wrapped so that send_value encodes it so.
sub handles_of { return __BOND::WithHandles->new($_[0]) }

# A hash read from the host that has a "$bond" member: the object, a proxy or a plain hash.
sub unmark {
  my ($h) = @_;
  my $kind = $h->{'$bond'} // '';
  return table_entry($h->{id}) if $kind eq 'handle';
  return __BOND::Proxy::make($h->{id}, $h->{type}) if $kind eq 'proxy';
  return { map { ($_->[0] => $_->[1]) } @{$h->{items}} } if $kind eq 'map' && ref($h->{items}) eq 'ARRAY';
  dec_fail("unknown marker $kind");
}

# How many values the host holds here (for tests and benchmarks).
sub object_count { return scalar(keys %TABLE) }

sub release_handles {
  my ($ids) = @_;
  delete @TABLE{@$ids} if ref($ids) eq 'ARRAY';
  return;
}

# The RELEASE notice for the proxies gone since the last frame (taken once).
sub release_line {
  my @ids = splice(@RELEASED);
  return 'RELEASE [' . join(',', map { 0 + $_ } @ids) . "]\n";
}

# A proxy's request to the host (what is not data goes as handles of ours); nested requests
# are served until its answer.
sub ask {
  my ($verb, $payload) = @_;
  die "a proxy cannot be used from a child process\n" if $$ != $PID;
  my $json = eval { encode_handles($payload) };
  my $blocks = take_blocks();
  die _BOND_SerializationException->new("cannot serialize the arguments: " . chomped($@)) unless defined $json;
  local $ARMED = 0;
  $PENDING = 0;
  flush_output();
  write_frame($verb, $json, $blocks);
  my ($answer, $value, $error) = serve(1);
  die _BOND_SerializationException->new($error) if defined $error;
  return $value if $answer eq 'RETURN';
  if ($answer eq 'EXCEPT') {
    die $value if ref($value);
    $value = 'remote exception' unless defined $value;
    die($value =~ /\n\z/ ? $value : "$value\n");
  }
  die _BOND_SerializationException->new(defined($value) && !ref($value) ? $value : 'serialization error');
}

# OBJECT, OCALL, OGET, ODESCRIBE from the host.
sub object_request {
  my ($verb, $value) = @_;
  if ($verb eq 'OBJECT') {
    return send_error("malformed OBJECT request: expected a code string") unless is_code($value);
    %CALLS = ();
    my ($ok, @r) = evaluate($value, 1);
    return send_exception($r[0]) unless $ok;
    flush_output();
    return write_frame('RETURN', keep(list_value(@r)));
  }
  my ($ok, @r) = run_user(sub {
    if ($verb eq 'ODESCRIBE') {
      my $target = table_entry($value);
      require Data::Dumper;
      local $Data::Dumper::Terse = 1;
      local $Data::Dumper::Indent = 1;
      local $Data::Dumper::Sortkeys = 1;
      my $text = Data::Dumper::Dumper($target);
      $text =~ s/\n\z//;
      return {type => Scalar::Util::blessed($target) // (ref($target) || 'SCALAR'), description => $text};
    }
    die "malformed $verb request\n" unless ref($value) eq 'ARRAY';
    my ($id, $name, $args, $mode) = @$value;
    my $target = table_entry($id);
    if ($verb eq 'OGET') {
      $mode = $args;
      return $target->{$name} if Scalar::Util::reftype($target) eq 'HASH' && exists $target->{$name};
      return sub { $target->$name(@_) } if Scalar::Util::blessed($target) && $target->can($name);
      die "no field or method $name in this " . (ref($target) || 'value') . "\n";
    }
    return list_value($target->(@$args)) unless defined $name;
    return list_value($target->$name(@$args));
  });
  return send_exception($r[0]) unless $ok;
  return send_value('RETURN', $r[0]) if $verb eq 'ODESCRIBE';
  my $mode = $value->[$verb eq 'OGET' ? 2 : 3] // '';
  return send_value('RETURN', $mode eq 'handle' ? handles_of($r[0]) : $r[0]);
}

package __BOND::WithHandles;

# A result whose encoding makes handles of what is not data (OCALL, OGET, RUN with "handle").
sub new { my ($class, $value) = @_; return bless [$value], $class }
sub TO_JSON { my $json = __BOND::encode_handles($_[0][0]); return __BOND::Encoded->new($json) }

package __BOND::Encoded;

# JSON text already encoded, written as it is.
sub new { my ($class, $json) = @_; return bless \$json, $class }

package __BOND::ProxyFields;

# The fields of a proxy: $proxy->{name} reads the attribute in the bond that owns the object.
sub TIEHASH { my ($class, $id) = @_; return bless [$id], $class }
sub FETCH { my ($self, $name) = @_; return __BOND::ask('OGET', [$self->[0], $name, 'handle']) }
sub EXISTS { return 1 }
sub STORE { die "a proxy's fields cannot be set from here\n" }
sub DELETE { die "a proxy's fields cannot be deleted from here\n" }
sub CLEAR { die "a proxy's fields cannot be cleared from here\n" }
sub FIRSTKEY { return undef }
sub NEXTKEY { return undef }

package __BOND::Proxy;

# A handle of another bond, passed here: $proxy->method(@args) and $proxy->(@args) run in the
# bond that owns the object, through the host; $proxy->{name} reads an attribute there.
use overload '&{}' => sub { my $id = tied(%{$_[0]})->[0]; return sub { __BOND::ask('OCALL', [$id, undef, [@_], 'handle']) } },
  '""' => sub { "__BOND::Proxy(" . tied(%{$_[0]})->[0] . ")" }, fallback => 1;

sub make {
  my ($id, $type) = @_;
  my %fields;
  tie %fields, '__BOND::ProxyFields', $id;
  return bless \%fields, '__BOND::Proxy';
}

our $AUTOLOAD;
sub AUTOLOAD {
  my $self = shift;
  (my $name = $AUTOLOAD) =~ s/.*:://;
  return __BOND::ask('OCALL', [tied(%$self)->[0], $name, [@_], 'handle']);
}

sub can { my ($self, $name) = @_; return ref($self) ? sub { my $p = shift; $p->$name(@_) } : undef }

sub DESTROY {
  my $fields = tied(%{$_[0]});
  push @__BOND::RELEASED, $fields->[0] if $fields;
}

package __BOND;

# ---------------------------------------------------------------------------

# Whether this process may run on more than one processor (its affinity mask, from /proc).
sub spare_cpu {
  open(my $status, '<', '/proc/self/status') or return 1;
  while (my $line = <$status>) {
    next unless $line =~ /^Cpus_allowed_list:\s*(\S+)/;
    my $count = 0;
    for my $part (split /,/, $1) {
      my ($first, $last) = split /-/, $part;
      $count += defined $last ? $last - $first + 1 : 1;
    }
    return $count > 1;
  }
  return 1;
}

sub start {
  my ($protocol, $trans, $extensions) = @_;
  $BYTES = ref($extensions) eq 'ARRAY' && grep({ $_ eq 'BYTES' } @$extensions) ? 1 : 0;
  $OBJECTS = ref($extensions) eq 'ARRAY' && grep({ $_ eq 'OBJECTS' } @$extensions) ? 1 : 0;
  die "unsupported protocol " . ($protocol // 'undef') . "\n" if ($protocol // '') ne 'JSON';
  $TRANS = $trans ? 1 : 0;
  $SIG{INT} = $INT_HANDLER;

  # Keep the protocol on private duplicates of fd 0 and 1 (close-on-exec);
  # children of the evaluated code get /dev/null and the stderr of the
  # interpreter, so they can neither eat requests nor forge frames.
  open($IN, '<&', \*STDIN) or die "cannot duplicate stdin: $!\n";
  open($OUT, '>&', \*STDOUT) or die "cannot duplicate stdout: $!\n";
  binmode($IN);
  binmode($OUT);
  # Read requests through a second, non-blocking open of the same pipe, so that the flag does
  # not touch the shared description (over ssh, standard input and output can be one socket,
  # which cannot be opened again: then reads simply block). With a single processor to run
  # on, reads block at once: looking again would only keep the host from answering.
  if (spare_cpu() && open(my $again, '<', '/proc/self/fd/' . fileno($IN))) {
    my $flags = fcntl($again, Fcntl::F_GETFL(), 0);
    if (defined $flags && fcntl($again, Fcntl::F_SETFL(), $flags | Fcntl::O_NONBLOCK())) {
      binmode($again);
      $IN = $again;
    }
  }
  close(STDIN);   # also resets "$.", which error messages would quote
  open(STDIN, '<', '/dev/null') or die "cannot redirect stdin: $!\n";
  open(STDOUT, '>&', \*STDERR) or die "cannot redirect stdout: $!\n";
  $| = 1;

  $TIED{STDOUT} = tie(*STDOUT, '__BOND::Handle', 'STDOUT');
  $TIED{STDERR} = tie(*STDERR, '__BOND::Handle', 'STDERR');
  select(STDOUT);
  $| = 0;   # line buffered, like a terminal; "$| = 1" sends every print at once

  write_frame('READY');
  serve(0);
}

END { flush_output() unless $GONE }

1;
