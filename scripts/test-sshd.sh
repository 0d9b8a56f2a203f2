#!/usr/bin/env bash
# Starts (or reuses) a throwaway sshd on 127.0.0.1 for the remote-bond tests, with a
# fresh host key and client key of its own, and prints the ssh command that reaches it:
#   ssh -F <dir>/ssh_config bondtest
# Nothing outside <dir> is changed. Needs openssh-server (and root, or a free port).
set -euo pipefail
dir="${BOND_TEST_SSHD_DIR:-${TMPDIR:-/tmp}/bond-test-sshd-$(id -u)}"
port="${BOND_TEST_SSHD_PORT:-2222}"
sshd_bin="$(command -v sshd || echo /usr/sbin/sshd)"
[ -x "$sshd_bin" ] || { echo "test-sshd: sshd not found (install openssh-server)" >&2; exit 1; }
mkdir -p "$dir" && chmod 700 "$dir"
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
[ -f "$dir/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/id"
cp "$dir/id.pub" "$dir/authorized_keys" && chmod 600 "$dir/authorized_keys"
cat > "$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
LogLevel ERROR
MaxStartups 100
MaxSessions 100
CONF
cat > "$dir/ssh_config" <<CONF
Host bondtest
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $dir/id
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
CONF
ssh_cmd="ssh -F $dir/ssh_config bondtest"
if ! $ssh_cmd true 2>/dev/null; then
  if [ -f "$dir/sshd.pid" ]; then kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true; fi
  mkdir -p /run/sshd 2>/dev/null || true
  "$sshd_bin" -f "$dir/sshd_config"
  for _ in $(seq 1 50); do $ssh_cmd true 2>/dev/null && break; sleep 0.1; done
  $ssh_cmd true || { echo "test-sshd: cannot reach the test sshd on port $port" >&2; exit 1; }
fi
echo "$ssh_cmd"
