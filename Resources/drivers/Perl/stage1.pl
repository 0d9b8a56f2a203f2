### Perl bond driver, stage 1 (the loader).
###
### The default command `perl -ne eval` evaluates each input line. The host
### sends this file as ONE line: the manifest's "sub" removes these comment
### lines and every newline, so each statement ends with ";" and nothing
### relies on a line break. It announces stage 2, reads the line
### {"code": <stage 2>, "start": [<protocol>, <trans_except>]}, evaluates the
### code at the top level and calls its start function, which never returns.
### Failures are printed on STDERR so that the host can show them.
eval {
  $| = 1;
  require JSON::PP;
  print "STAGE2\n";
  $__BOND::STAGE = JSON::PP->new->utf8->decode(scalar(<STDIN>));
  $_ = undef;
  eval($__BOND::STAGE->{code});
  die($@) if $@;
  __BOND::start(@{$__BOND::STAGE->{start}});
};
print STDERR "bond: cannot start the Perl driver: $@" if $@;
