#!/usr/bin/env bash
# Installs what bond for Swift needs that this machine is missing (Debian/Ubuntu, as root or
# with sudo): the PHP, Ruby and R interpreters, ncurses headers, and for the tests tmux,
# openssh-server and iproute2.
set -euo pipefail
need=()
command -v php >/dev/null || need+=(php-cli)
command -v perl >/dev/null || need+=(perl)
command -v node >/dev/null || need+=(nodejs)
command -v python3 >/dev/null || need+=(python3)
command -v ruby >/dev/null || need+=(ruby)
command -v R >/dev/null || need+=(r-base-core)
command -v tmux >/dev/null || need+=(tmux)
command -v ps >/dev/null || need+=(procps)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)  # the test hosts (scripts/test-hosts.sh)
[ -e /usr/include/ncursesw/curses.h ] || need+=(libncurses-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}"
fi
