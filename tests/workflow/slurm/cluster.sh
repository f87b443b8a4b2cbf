#!/usr/bin/env bash
# A single-node Slurm cluster for tests: `cluster.sh start DIR` / `cluster.sh stop DIR`.
# Needs root and Debian's slurm-wlm and munge (installed here when missing).
# No systemd, no cgroups, no accounting; one node with 2 CPUs, a `debug`
# partition and a fake GPU (gres backed by /dev/null) so GPU jobs can be scheduled.
set -euo pipefail
action=${1:?usage: cluster.sh start|stop DIR}
S=$(realpath -m "${2:?usage: cluster.sh start|stop DIR}")
PIDFILES="$S/run/slurmd.pid $S/run/slurmctld.pid $S/munge/munged.pid"

install_packages() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null && return
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
}

start_munge() {
  mkdir -p "$S/munge" && chmod 700 "$S/munge"
  [ -f "$S/munge/munge.key" ] || mungekey -c -k "$S/munge/munge.key"
  chmod 600 "$S/munge/munge.key"
  munged -f --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket.2" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed"
  for _ in $(seq 50); do [ -S "$S/munge/munge.socket.2" ] && return; sleep 0.1; done
  echo "munged did not create its socket; see $S/munge/munged.log" >&2; return 1
}

write_config() {
  local cpus mem
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc obeys OpenMP's settings
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$S/etc/slurm.conf" <<CONF
ClusterName=aenet-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket.2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  # A gres needs a device file; /dev/null stands in for the GPU.
  echo "NodeName=localhost Name=gpu Type=fake File=/dev/null" > "$S/etc/gres.conf"
  # srun inside a job step drops SLURM_CONF, so the default path must point here too;
  # a real configuration there is never replaced, only a link a test cluster left.
  if [ -e /etc/slurm/slurm.conf ] && [ ! -L /etc/slurm/slurm.conf ]; then
    echo "/etc/slurm/slurm.conf exists and is not a test cluster's link; not replacing it" >&2
    return 1
  fi
  mkdir -p /etc/slurm && ln -sfn "$S/etc/slurm.conf" /etc/slurm/slurm.conf
}

start() {
  install_packages
  mkdir -p "$S/etc" "$S/state" "$S/spool" "$S/log" "$S/run"
  start_munge
  write_config
  export SLURM_CONF="$S/etc/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i
  slurmd -f "$SLURM_CONF" -N localhost
  for _ in $(seq 150); do
    sinfo -h -o %t 2>/dev/null | grep -qx idle && { echo "slurm up: SLURM_CONF=$SLURM_CONF"; return; }
    sleep 0.2
  done
  echo "slurm node did not become idle; see $S/log" >&2; return 1
}

stop() {
  # By PID file only: never kill daemons this script did not start.
  for f in $PIDFILES; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in $PIDFILES; do
    for _ in $(seq 50); do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.2; done
  done
  # The link to this cluster's configuration goes with it.
  [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$S/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
  return 0
}

case $action in
  start) start ;;
  stop) stop ;;
  *) echo "unknown action $action; expected start or stop" >&2; exit 2 ;;
esac
