#!/usr/bin/env bash
# A single-node SLURM on this machine, from Debian packages: for trying the SLURM profile and for
# the `slurm` tests (tests/test_slurm.py). Needs root (or sudo) and apt.
#
#   bash workflow/scripts/local-slurm.sh start    # install if needed, start, wait until idle
#   bash workflow/scripts/local-slurm.sh status   # exit 0 when the node is up and idle/allocated
#   bash workflow/scripts/local-slurm.sh stop     # stop the daemons this script started
#
# Idempotent: `start` on a running cluster only checks it. It writes /etc/slurm/slurm.conf (marked
# as ours) and refuses to touch one it did not write. Everything else lives under $LOCAL_SLURM_DIR.
#
# Settings (environment):
#   LOCAL_SLURM_DIR        state, spool, logs and pid files (default /var/tmp/local-slurm)
#   LOCAL_SLURM_PARTITION  name of the one partition (default: local)
#   LOCAL_SLURM_TIMEOUT    seconds to wait for the node to become idle (default: 60)
set -euo pipefail

DIR=${LOCAL_SLURM_DIR:-/var/tmp/local-slurm}
PARTITION=${LOCAL_SLURM_PARTITION:-local}
TIMEOUT=${LOCAL_SLURM_TIMEOUT:-60}
CONF=/etc/slurm/slurm.conf
MARKER="# written by separations workflow/scripts/local-slurm.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)

die() {
  echo "local-slurm: error: $*" >&2
  exit 1
}
say() { echo "local-slurm: $*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null \
    || die "must run as root (or with passwordless sudo): it installs packages and starts daemons"
  SUDO="sudo -n"
fi

node_name() { hostname -s; }

# Is the pid in the file alive (and is it the named program)?
alive() {
  local pidfile=$1 name=$2 pid
  [ -r "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]
}

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sinfo >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "SLURM is not installed and apt-get is not available"
  say "installing ${PACKAGES[*]} (apt-get)"
  $SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >/dev/null || die "apt-get install ${PACKAGES[*]} failed"
  for tool in slurmctld slurmd sinfo munged; do
    command -v "$tool" >/dev/null || die "$tool missing after installing ${PACKAGES[*]}"
  done
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  getent passwd munge >/dev/null || die "user munge missing (the munge package creates it)"
  $SUDO install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
  $SUDO install -d -o munge -g munge -m 0755 /run/munge
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ] || [ "$($SUDO stat -c %s "$key")" -lt 1024 ]; then
    say "creating the munge key"
    $SUDO dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  fi
  $SUDO chown munge:munge "$key"
  $SUDO chmod 0400 "$key"
  if ! alive /run/munge/munged.pid munged; then
    $SUDO su -s /bin/sh munge -c /usr/sbin/munged || die "munged did not start (see /var/log/munge)"
  fi
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "munge does not work: 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
}

write_conf() {
  local node cpus mem_kb real_mb
  node=$(node_name)
  cpus=$(nproc)
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  # Leave the OS a tenth of the memory (at least 512 MB): slurmd rejects a RealMemory above the
  # machine's.
  real_mb=$((mem_kb / 1024 - (mem_kb / 10240 > 512 ? mem_kb / 10240 : 512)))
  [ "$real_mb" -gt 256 ] || die "too little memory for a SLURM node (${mem_kb} kB)"
  if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching a real SLURM setup"
  fi
  $SUDO install -d -m 0755 /etc/slurm "$DIR" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
$MARKER
# A single-node cluster for development and tests; see docs/cluster.md.
ClusterName=local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# The SLURM profile reads job states with squeue: finished jobs must stay visible long enough.
MinJobAge=600
# Requeued jobs wait this long (seconds) before they may start again.
AuthInfo=cred_expire=10
KillWait=10
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  if ! $SUDO cmp -s "$tmp" "$CONF" 2>/dev/null; then
    $SUDO install -m 0644 "$tmp" "$CONF"
    CONF_CHANGED=1
  fi
  rm -f "$tmp"
}

node_state() { sinfo -h -n "$(node_name)" -o %t 2>/dev/null | head -n1; }

wait_idle() {
  local state="" i
  for i in $(seq $((TIMEOUT * 2))); do
    state=$(node_state)
    case "$state" in
      idle* | mix* | alloc*) return 0 ;;
      down* | drain* | drng* | fail*)
        # A node left down by an earlier run (or an unclean stop): bring it back.
        if [ $((i % 10)) -eq 1 ]; then
          $SUDO scontrol update nodename="$(node_name)" state=resume >/dev/null 2>&1 || true
        fi
        ;;
    esac
    sleep 0.5
  done
  die "node $(node_name) is not idle after ${TIMEOUT}s (state: ${state:-unknown});" \
    "see $DIR/log/slurmctld.log and $DIR/log/slurmd.log"
}

start() {
  install_packages
  start_munge
  CONF_CHANGED=0
  write_conf
  if [ "$CONF_CHANGED" = 1 ] && { alive "$DIR/run/slurmctld.pid" slurmctld \
    || alive "$DIR/run/slurmd.pid" slurmd; }; then
    say "slurm.conf changed: restarting the daemons"
    stop_daemons
  fi
  if ! alive "$DIR/run/slurmctld.pid" slurmctld; then
    $SUDO slurmctld || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  fi
  # slurmd registers with slurmctld: wait until the controller answers.
  local i
  for i in $(seq 100); do
    scontrol ping 2>/dev/null | grep -q "UP" && break
    [ "$i" = 100 ] && die "slurmctld does not answer 'scontrol ping' (see $DIR/log/slurmctld.log)"
    sleep 0.2
  done
  if ! alive "$DIR/run/slurmd.pid" slurmd; then
    $SUDO slurmd || die "slurmd did not start (see $DIR/log/slurmd.log)"
  fi
  wait_idle
  say "up: partition $PARTITION, node $(node_name) with $(nproc) CPUs ($(sinfo -h -o '%t %m' -n "$(node_name)") MB)"
}

stop_daemons() {
  local name pidfile pid
  for name in slurmd slurmctld; do
    pidfile=$DIR/run/$name.pid
    if alive "$pidfile" "$name"; then
      pid=$(cat "$pidfile")
      $SUDO kill -TERM "$pid"
      for _ in $(seq 100); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
      done
      [ -d "/proc/$pid" ] && die "$name (pid $pid) did not stop"
    fi
  done
  return 0
}

stop() {
  [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF" && die "$CONF was not written by this script"
  stop_daemons
  say "stopped slurmctld and slurmd (munged left running)"
}

status() {
  local ok=0
  alive "$DIR/run/slurmctld.pid" slurmctld && say "slurmctld running" || {
    say "slurmctld not running"
    ok=1
  }
  alive "$DIR/run/slurmd.pid" slurmd && say "slurmd running" || {
    say "slurmd not running"
    ok=1
  }
  if [ "$ok" = 0 ]; then
    sinfo
    case "$(node_state)" in
      idle* | mix* | alloc*) ;;
      *) ok=1 ;;
    esac
  fi
  return $ok
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
