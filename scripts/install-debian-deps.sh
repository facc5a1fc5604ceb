#!/usr/bin/env bash
# Installs the Debian packages listed in deps/*.txt, idempotently, and leaves every
# daemon it installed disabled and stopped: govnet starts its own instances (on
# loopback or inside lab namespaces) and must never leave a service enabled at boot
# listening on all addresses. policy-rc.d keeps the packages from starting during the
# install; afterwards the systemd units (.service, .socket) of the packages this script
# installed — dependencies included — are disabled (`systemctl disable` works offline on
# the symlinks, so also when systemd is not PID 1, and syncs SysV rc links through
# update-rc.d) and, when systemd runs, stopped (`systemctl stop` ends only the unit's
# own processes, never govnet's). Without systemctl, SysV scripts get `update-rc.d
# NAME disable`; no init script's `stop` is run (e.g. frr's stops every FRR daemon).
#
#   scripts/install-debian-deps.sh              install what is missing, then disable
#   scripts/install-debian-deps.sh --adopt PKG… record packages an earlier `make deps`
#                                               installed, and disable their units
#
# State file ($GOVNET_DEPS_STATE, default /var/lib/govnet/debian-deps.state), one line each:
#   installed PKG   this script installed PKG (written before apt-get, from its plan)
#   disabled UNIT   it disabled UNIT (the unit was enabled)
#   done PKG        PKG's units are handled: a rerun leaves them as they are (an admin
#                   who enables one later keeps it enabled)
# A package the machine already had is never recorded, so its units are never touched.
# GOVNET_DEPS_ROOT (tests): act on a directory tree with `systemctl --root` and
# `dpkg-query --admindir`; only --adopt is allowed there, nothing is installed or stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${GOVNET_DEPS_ROOT:-/}
state=${GOVNET_DEPS_STATE:-/var/lib/govnet/debian-deps.state}
# One run at a time on a machine (two checkouts running `make deps` at once would race on
# apt's lock, policy-rc.d and the state file): later runs wait here.
if [ "$root" = / ] && [ "$(id -u)" -eq 0 ]; then
  exec 9>/run/govnet-deps.lock
  flock 9
fi

dpkgq() {
  if [ "$root" = / ]; then dpkg-query "$@"; else dpkg-query --admindir="$root/var/lib/dpkg" "$@"; fi
}
unitctl() {
  if [ "$root" = / ]; then systemctl "$@"; else systemctl --root="$root" "$@"; fi
}
is_installed() { dpkgq -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
installed_set() {
  dpkgq -W -f='${Package}\t${Status}\n' 2>/dev/null |
    awk -F'\t' '$2 == "install ok installed" {print $1}' | sort -u
}
recorded() { [ -f "$state" ] && grep -qxF "$1" "$state"; }
record() {
  mkdir -p "$(dirname "$state")"
  recorded "$1" || printf '%s\n' "$1" >>"$state"
}
systemd_running() { [ "$root" = / ] && [ -d /run/systemd/system ]; }

# The package's systemd units worth disabling: services and sockets, not templates.
units_of() {
  dpkgq -L "$1" 2>/dev/null |
    grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket)$' |
    sed 's#.*/##' | sort -u || true
}
sysv_scripts_of() {
  dpkgq -L "$1" 2>/dev/null | grep -E '^/etc/init\.d/[^/]+$' | sed 's#.*/##' | sort -u || true
}

disable_package() {
  local pkg=$1 unit status script
  if command -v systemctl >/dev/null 2>&1; then
    for unit in $(units_of "$pkg"); do
      status=$(unitctl is-enabled "$unit" 2>/dev/null || true)
      if [ "$status" = enabled ]; then
        unitctl disable --quiet "$unit"
        record "disabled $unit"
        echo "debian deps: disabled $unit (package $pkg)"
      fi
      if systemd_running && systemctl is-active --quiet "$unit"; then
        systemctl stop "$unit"
        echo "debian deps: stopped $unit (package $pkg)"
      fi
    done
  elif [ "$root" = / ]; then
    for script in $(sysv_scripts_of "$pkg"); do
      update-rc.d "$script" disable >/dev/null
      record "disabled $script (sysv)"
      echo "debian deps: disabled SysV script $script (package $pkg)"
    done
  fi
  record "done $pkg"
}

# Every package recorded as installed whose units are not handled yet (a first run, or
# a run that stopped midway); packages not (yet) installed wait for the next run.
finish_pending() {
  [ -f "$state" ] || return 0
  local pkg
  for pkg in $(awk '$1 == "installed" {print $2}' "$state"); do
    recorded "done $pkg" && continue
    is_installed "$pkg" || continue
    disable_package "$pkg"
  done
}

need_root() {
  if [ "$root" = / ] && [ "$(id -u)" -ne 0 ]; then
    echo "error: $1; run as root" >&2
    exit 1
  fi
}

if [ "${1:-}" = --adopt ]; then
  shift
  need_root "--adopt changes the system's units"
  for pkg in "$@"; do
    if ! is_installed "$pkg"; then
      echo "error: --adopt $pkg: package $pkg is not installed" >&2
      exit 1
    fi
    record "installed $pkg"
  done
  finish_pending
  exit 0
fi
if [ "$root" != / ]; then
  echo "error: GOVNET_DEPS_ROOT=$root: only --adopt acts on another root; nothing installed" >&2
  exit 2
fi

mapfile -t pkgs < <(cat "$here"/deps/apt*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  is_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then finish_pending; fi
  echo "debian deps: all ${#pkgs[@]} packages present"
  exit 0
fi
need_root "missing Debian packages (${missing[*]})"
echo "debian deps: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Record what apt will newly install (dependencies too) before installing it, so a run
# that stops midway still disables those units on the next run.
before=$(installed_set)
while read -r pkg; do
  grep -qxF "$pkg" <<<"$before" || record "installed $pkg"
done < <(apt-get install -s --no-install-recommends "${missing[@]}" |
  awk '$1 == "Inst" {sub(/:.*/, "", $2); print $2}')
apt-get install -y -qq --no-install-recommends "${missing[@]}"
finish_pending
