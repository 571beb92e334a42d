#!/bin/sh
# PID 1 of a launcho sandbox: runs inside fresh PID, mount and network namespaces (see
# src/sandbox/sandbox.ts) and boots a real systemd with a minimal unit set, so nothing of a full boot
# (tmpfiles wiping /tmp, gettys, sysctl) touches the host. The host filesystem stays shared.
set -eu
mount -t proc proc /proc
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up
units=/run/launcho-sandbox/units
empty=/run/launcho-sandbox/empty
mkdir -p "$units" "$empty"
for unit in dbus.socket dbus.service systemd-journald.socket systemd-journald-dev-log.socket \
  systemd-journald.service basic.target shutdown.target umount.target -.slice system.slice \
  sockets.target paths.target timers.target slices.target local-fs.target swap.target; do
  if [ -e "/lib/systemd/system/$unit" ]; then ln -s "/lib/systemd/system/$unit" "$units/$unit"; fi
done
# Some images ship no system.slice unit file; systemd needs one for transient services.
if [ ! -e "$units/system.slice" ]; then
  printf '[Unit]\nDescription=System Slice\nDefaultDependencies=no\nBefore=slices.target\n' >"$units/system.slice"
fi
printf '[Unit]\nDescription=sandbox sysinit (deliberately empty)\n' >"$units/sysinit.target"
printf '[Unit]\nDescription=launcho sandbox\nWants=dbus.socket systemd-journald.socket\nRequires=basic.target\nAfter=basic.target\n' \
  >"$units/launcho-sandbox.target"
# The bus policy that lets a launcho server own dev.launcho.Server (one server per systemd). The
# sandbox's dbus-daemon reads the host's policy dirs, so it gets the policy in its own mount
# namespace only: a copy of the host's /etc/dbus-1/system.d with the file added, bound over it
# before dbus starts. The host's dirs stay as they are.
policy="$(dirname "$0")/dev.launcho.Server.conf"
for policy_dir in /etc/dbus-1/system.d /usr/share/dbus-1/system.d; do
  if [ -d "$policy_dir" ]; then
    copy=/run/launcho-sandbox/dbus-policy
    mkdir -p "$copy"
    cp -pR "$policy_dir"/. "$copy"/
    cp "$policy" "$copy/dev.launcho.Server.conf"
    mount --bind "$copy" "$policy_dir"
    break
  fi
done
# systemd builds each unit's credentials directory (LoadCredential=, SetCredential=) on a ramfs in a
# mount namespace of its own and moves it into place, which reaches the unit only through shared
# mount propagation: on a real host systemd makes / shared at boot, but it does not inside a
# container, and unshare left every mount here private. So make them shared, within this
# namespace only (the host's mounts are no peers of these: they were made private first).
mount --make-rshared /
# systemd writes transient units to /run/systemd/transient; a unit path without it would forget every
# transient unit (launcho's instances) at the next daemon-reload, while its processes run on.
export SYSTEMD_UNIT_PATH="/run/systemd/transient:$units"
export SYSTEMD_GENERATOR_PATH="$empty"
export SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$empty"
# systemd takes the cgroup it starts in as its root: this sandbox's own subtree in every hierarchy
# (named by src/sandbox/sandbox-cgroups.ts, which removes it when the sandbox stops).
if [ -n "${LAUNCHO_SANDBOX_CGROUP:-}" ]; then
  while read -r _ dir type _; do
    case "$type" in cgroup | cgroup2) ;; *) continue ;; esac
    case "$dir" in /sys/fs/cgroup/*) ;; *) continue ;; esac
    own="$dir/$LAUNCHO_SANDBOX_CGROUP"
    mkdir -p "$own"
    # A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
    if [ -f "$own/cpuset.cpus" ]; then
      cat "$dir/cpuset.cpus" >"$own/cpuset.cpus"
      cat "$dir/cpuset.mems" >"$own/cpuset.mems"
    fi
    echo 0 >"$own/cgroup.procs"
  done </proc/self/mounts
fi
exec /lib/systemd/systemd --system --unit=launcho-sandbox.target
