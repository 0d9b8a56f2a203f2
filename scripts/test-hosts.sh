#!/usr/bin/env bash
# Test hosts for the many-machine tests: three "machines" on this one, each a network namespace
# (bond-h1, bond-h2, bond-h3) with its own name, its own address (10.77.0.1 to .3), its own sshd on port 22
# with its own host key, and its own user and home (bondh1 on h1, ...). A veth pair joins each
# namespace to a bridge (bond-br, 10.77.0.254) in the root namespace, so that this machine
# reaches them and they reach each other; there is no route anywhere else, so traffic goes only
# to these addresses (and loopback). A host can be killed, partitioned and healed.
#
#   scripts/test-hosts.sh up              make (or repair) the hosts; prints the ssh command:
#                                         ssh -F <dir>/ssh_config   (then h1, h2 or h3)
#   scripts/test-hosts.sh down            remove everything (namespaces, links, users, files)
#   scripts/test-hosts.sh kill HOST       kill HOST's sshd and every process in it
#   scripts/test-hosts.sh start HOST      start HOST's sshd again (after kill)
#   scripts/test-hosts.sh partition HOST  take HOST's link down (packets are lost, no reset)
#   scripts/test-hosts.sh heal HOST       bring HOST's link up again
#   scripts/test-hosts.sh status          each host: link, sshd, and its processes
#   scripts/test-hosts.sh procs HOST      the processes running in HOST, but its sshd listener
#
# The ssh_config has the entries h1 h2 h3 (key login as bondhN), ask-h1 ask-h2 ask-h3 (the
# user bondask, who logs in with the password in <dir>/password only), and h2-via-h1,
# h3-via-h1 (through h1 as a jump host). Needs root, iproute2 and openssh-server.
set -euo pipefail
dir="${BOND_TEST_HOSTS_DIR:-/tmp/bond-test-hosts}"
hosts=(h1 h2 h3)
bridge=bond-br
net=10.77.0
sshd_bin="$(command -v sshd || echo /usr/sbin/sshd)"

die() { echo "test-hosts: $*" >&2; exit 1; }
number() { case "$1" in h1) echo 1 ;; h2) echo 2 ;; h3) echo 3 ;; *) die "unknown host $1 (h1, h2 or h3)" ;; esac; }
ns() { echo "bond-$1"; }
user() { echo "bond$1"; }
ssh_cmd() { echo "ssh -F $dir/ssh_config"; }
need_root() { [ "$(id -u)" = 0 ] || die "needs root (network namespaces, users, sshd on port 22): sudo $0 $*"; }

# The pid of HOST's listening sshd, if it runs.
sshd_pid() {
  local pidfile="$dir/$1/sshd.pid" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  # (A killed sshd may stay a zombie for a while: only a live member of the namespace counts.)
  [ -n "$pid" ] && ns_pids "$1" | grep -qx "$pid" && echo "$pid"
}

# Every process of HOST's namespace (pids, one a line).
ns_pids() { ip netns pids "$(ns "$1")" 2>/dev/null || true; }

start_sshd() {
  local h="$1"
  sshd_pid "$h" >/dev/null && return 0
  mkdir -p /run/sshd
  # In a UTS namespace of its own too, so that the host has its own name.
  ip netns exec "$(ns "$h")" unshare --uts /bin/sh -c \
    'hostname "$1" && exec "$2" -f "$3" -E "$4"' sh "$h" "$sshd_bin" "$dir/$h/sshd_config" "$dir/$h/sshd.log"
  for _ in $(seq 1 50); do sshd_pid "$h" >/dev/null && return 0; sleep 0.1; done
  die "the sshd of $h did not start (see $dir/$h/sshd.log)"
}

make_host() {
  local h="$1" n u home
  n="$(number "$h")"; u="$(user "$h")"; home="$dir/$h/home"
  mkdir -p "$dir/$h"
  # The namespace, its link to the bridge, its address.
  ip netns list | grep -qw "$(ns "$h")" || ip netns add "$(ns "$h")"
  if ! ip link show "bond$h" >/dev/null 2>&1; then
    ip link add "bond$h" type veth peer name eth0 netns "$(ns "$h")"
  fi
  ip link set "bond$h" master "$bridge"
  ip link set "bond$h" up
  ip -n "$(ns "$h")" link set lo up
  ip -n "$(ns "$h")" addr replace "$net.$n/24" dev eth0
  ip -n "$(ns "$h")" link set eth0 up
  # Its user and home.
  id "$u" >/dev/null 2>&1 || useradd -M -d "$home" -s /bin/sh "$u"
  usermod -p '*' "$u"   # no password, but not locked (sshd refuses locked accounts)
  mkdir -p "$home" && chown "$u:" "$home" && chmod 755 "$home"
  # Its sshd: its own host key; the test key logs in as its user, the password as bondask.
  [ -f "$dir/$h/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$dir/$h/host_key"
  cp "$dir/id.pub" "$dir/$h/authorized_keys" && chmod 644 "$dir/$h/authorized_keys"
  cat > "$dir/$h/sshd_config" <<CONF
Port 22
ListenAddress $net.$n
HostKey $dir/$h/host_key
AuthorizedKeysFile $dir/$h/authorized_keys
PidFile $dir/$h/sshd.pid
AllowUsers $u bondask
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
MaxStartups 200
MaxSessions 200
AllowTcpForwarding yes
ClientAliveInterval 2
ClientAliveCountMax 3
Match User bondask
  PasswordAuthentication yes
CONF
  start_sshd "$h"
}

write_ssh_config() {
  : > "$dir/known_hosts"
  {
    for h in "${hosts[@]}"; do
      local n; n="$(number "$h")"
      echo "$net.$n $(cut -d' ' -f1,2 "$dir/$h/host_key.pub")" >> "$dir/known_hosts"
      cat <<CONF
Host $h ask-$h
  HostName $net.$n
  Port 22
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
Host $h
  User $(user "$h")
  IdentityFile $dir/id
  IdentitiesOnly yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
Host ask-$h
  User bondask
  PubkeyAuthentication no
  PreferredAuthentications password
  NumberOfPasswordPrompts 1
CONF
    done
    for h in h2 h3; do
      cat <<CONF
Host $h-via-h1
  HostName $net.$(number "$h")
  User $(user "$h")
  ProxyJump h1
  IdentityFile $dir/id
  IdentitiesOnly yes
  PasswordAuthentication no
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
CONF
    done
  } > "$dir/ssh_config"
}

up() {
  need_root up
  command -v ip >/dev/null || die "ip not found (install iproute2)"
  [ -x "$sshd_bin" ] || die "sshd not found (install openssh-server)"
  mkdir -p "$dir" && chmod 755 "$dir"
  [ -f "$dir/id" ] || ssh-keygen -q -t ed25519 -N '' -C bond-test-hosts -f "$dir/id"
  chmod 600 "$dir/id"
  if [ ! -f "$dir/password" ]; then
    (umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/password")
  fi
  id bondask >/dev/null 2>&1 || useradd -M -d "$dir/ask-home" -s /bin/sh bondask
  mkdir -p "$dir/ask-home" && chown bondask: "$dir/ask-home"
  echo "bondask:$(cat "$dir/password")" | chpasswd
  if ! ip link show "$bridge" >/dev/null 2>&1; then ip link add "$bridge" type bridge; fi
  ip addr replace "$net.254/24" dev "$bridge"
  ip link set "$bridge" up
  for h in "${hosts[@]}"; do make_host "$h"; done
  write_ssh_config
  for h in "${hosts[@]}"; do
    local ok=""
    for _ in $(seq 1 50); do
      if $(ssh_cmd) -o BatchMode=yes -o ConnectTimeout=2 "$h" true 2>/dev/null; then ok=1; break; fi
      sleep 0.1
    done
    [ -n "$ok" ] || die "cannot log in to $h ($net.$(number "$h"))"
  done
  cat >&2 <<TEXT
test hosts up: h1 h2 h3 ($net.1-3, namespaces bond-h1..3, users bondh1..3)
  $(ssh_cmd) h1 python3            # a shell or interpreter on h1
  $(ssh_cmd) -J h1 h2 hostname     # h2 through h1 (also: h2-via-h1)
  $(ssh_cmd) ask-h1 true           # asks a password: $(cat "$dir/password")
  export BOND_TEST_HOSTS="$(ssh_cmd)"   # for swift test
TEXT
  ssh_cmd
}

kill_host() {
  local h="$1" pids
  number "$h" >/dev/null
  pids="$(ns_pids "$h")"
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  for _ in $(seq 1 50); do [ -z "$(ns_pids "$h")" ] && return 0; sleep 0.1; done
  die "processes of $h did not go"
}

procs() {
  local h="$1" listener pid
  number "$h" >/dev/null
  listener="$(sshd_pid "$h" || true)"
  for pid in $(ns_pids "$h"); do
    [ "$pid" = "$listener" ] && continue
    ps -o pid=,user=,args= -p "$pid" 2>/dev/null || true
  done
}

status() {
  for h in "${hosts[@]}"; do
    local link="absent" sshd="stopped"
    ip link show "bond$h" >/dev/null 2>&1 && link="$(ip -br link show "bond$h" | awk '{print $2}')"
    sshd_pid "$h" >/dev/null && sshd="sshd $(sshd_pid "$h")"
    echo "$h $net.$(number "$h") link $link, $sshd, $(procs "$h" | wc -l) other processes"
  done
}

down() {
  need_root down
  for h in "${hosts[@]}"; do
    if ip netns list | grep -qw "$(ns "$h")"; then
      kill_host "$h"
      ip netns del "$(ns "$h")"
    fi
    ip link del "bond$h" 2>/dev/null || true
    id "$(user "$h")" >/dev/null 2>&1 && userdel "$(user "$h")" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  id bondask >/dev/null 2>&1 && userdel bondask 2>/dev/null || true
  rm -rf "$dir"
  echo "test hosts down" >&2
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) need_root kill; kill_host "${2:?host}" ;;
  start) need_root start; start_sshd "${2:?host}" ;;
  partition) need_root partition; number "${2:?host}" >/dev/null; ip link set "bond$2" down ;;
  heal) need_root heal; number "${2:?host}" >/dev/null; ip link set "bond$2" up ;;
  status) status ;;
  procs) procs "${2:?host}" ;;
  *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
