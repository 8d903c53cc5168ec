#!/usr/bin/env bash
# A real Slurm farm on this machine, for the tests, the demo and the benchmarks: munged,
# slurmctld, N slurmd as fake nodes on 127.0.0.1 and slurmrestd on a Unix socket, all in one
# folder, every process stopped by the pid this script recorded. Debian 12's Slurm 22.05, as root.
#
#   slurm_cluster.sh start DIR [--nodes N] [--gpus G]  start and wait until ready; prints the
#                                                      export lines, also kept in DIR/env
#   slurm_cluster.sh restart DIR PART                  stop PART if it runs, start it, wait until
#                                                      ready (PART: munged, slurmctld, slurmd-f01..,
#                                                      slurmrestd)
#   slurm_cluster.sh stop DIR                          cancel every job, stop every process
#
# Nodes are f01..fNN with G GPUs each as the GRES `hacgpu` (default 4 x 8), backed by empty files
# DIR/dev/fNN/hacgpu0.. so that a job's gres_detail names GPU indexes. Each part's pid is in
# DIR/pids/PART, its log in DIR/log/PART.log. Nothing listens beyond 127.0.0.1.
# Exit status: 0 ready, 1 a part did not start (its log is shown and what started is stopped),
# 2 usage, 77 cannot run here (not root, a package missing).
# Environment: HAC_SLURM_READY_SECONDS, how long each part may take to be ready (default 60).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# Generous: the machine may be shared. A part that dies while we wait fails at once.
READY_SECONDS=${HAC_SLURM_READY_SECONDS:-60}
REST=http://slurm/slurm/v0.0.38

# pid_running PID: true while PID runs and is not a zombie.
pid_running() {
	local stat
	[[ -r /proc/$1/stat ]] || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# fail MESSAGE: shows the logs' tails and exits 1; a failed start also stops what it started.
stop_on_fail=0
fail() {
	echo "slurm_cluster.sh: $*" >&2
	local log
	for log in "$DIR"/log/*.log; do
		[[ -s $log ]] && { echo "--- $log"; tail -n 15 "$log"; } >&2
	done
	((stop_on_fail == 0)) || stop_cluster >&2 || true
	exit 1
}

# wait_ready PART COMMAND...: polls COMMAND until it succeeds, for at most READY_SECONDS.
wait_ready() {
	local part=$1 deadline=$((SECONDS + READY_SECONDS))
	shift
	while ((SECONDS < deadline)); do
		"$@" >/dev/null 2>&1 && return 0
		pid_running "$(cat "$DIR/pids/$part")" || fail "$part exited during start-up"
		sleep 0.05
	done
	fail "$part was not ready after $READY_SECONDS s (waited for: $*)"
}

node_up() {
	[[ $(sinfo -h -n "$1" -o %T) =~ ^(idle|mixed|allocated)$ ]]
}

rest_ping() {
	curl -sf -m 5 --unix-socket "$DIR/slurmrestd.sock" "$REST/ping/" | grep -q '"ping": "UP"'
}

# start_part PART: runs PART in the foreground of a background job, its output in its log, its
# pid in DIR/pids/PART, and waits until it answers.
start_part() {
	local part=$1 cmd
	case $part in
	munged)
		# As root munged needs --force: its own checks want the munge user and /run/munge.
		cmd=(munged -F -f --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket"
			--pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed") ;;
	slurmctld) cmd=(slurmctld -D) ;;
	slurmd-f[0-9][0-9]) cmd=(slurmd -D -N "${part#slurmd-}") ;;
	# Local auth: the caller's uid is the Slurm user; as root Slurm wants that check off.
	slurmrestd) cmd=(env SLURMRESTD_SECURITY=disable_user_check slurmrestd -s openapi/v0.0.38
		-a rest_auth/local "unix:$DIR/slurmrestd.sock") ;;
	*) echo "slurm_cluster.sh: unknown part '$part'" >&2; exit 2 ;;
	esac
	[[ $part == slurmd-* && ! -d $DIR/dev/${part#slurmd-} ]] && { echo "slurm_cluster.sh: no node ${part#slurmd-}" >&2; exit 2; }
	[[ $part == slurmrestd ]] && rm -f "$DIR/slurmrestd.sock"
	"${cmd[@]}" </dev/null >>"$DIR/log/$part.log" 2>&1 3>&- 4>&- &
	echo $! >"$DIR/pids/$part"
	case $part in
	munged) wait_ready "$part" test -S "$DIR/munge/munge.socket" ;;
	slurmctld) wait_ready "$part" scontrol ping ;;
	slurmd-*) wait_ready "$part" node_up "${part#slurmd-}" ;;
	slurmrestd) wait_ready "$part" rest_ping ;;
	esac
}

# Prints a port P such that P..P+COUNT-1 are all unused (slurmd ports are a range). Read from
# /proc/net, without a helper process: starting one is slow on a loaded machine.
free_ports() {
	local count=$1 table line port base try used=' '
	for table in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $table ]] || continue
		while read -r _ line _; do
			port=${line##*:}
			[[ $port =~ ^[0-9A-F]{4}$ ]] && used+="$((16#$port)) "
		done <"$table"
	done
	for ((try = 0; try < 100; try++)); do
		base=$((20000 + RANDOM % 30000))
		for ((port = base; port < base + count; port++)); do
			[[ $used == *" $port "* ]] && continue 2
		done
		echo "$base"
		return 0
	done
	return 1
}

write_configs() {
	local nodes=$1 gpus=$2 port=$3 last i g node
	last=$(printf '%02d' "$nodes")
	mkdir -p "$DIR"/{pids,run,log,spool/ctld,munge,dev}
	chmod 0700 "$DIR/munge"
	# Slurm wants the controller's name to be this host's; the address keeps it on loopback.
	cat >"$DIR/slurm.conf" <<EOT
# A fake farm made by tests/lib/slurm_cluster.sh; every path is inside $DIR.
ClusterName=hac
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmUser=root
# Each daemon binds to its own address (127.0.0.1 here), not to every address.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=hacgpu
# A hold job is placed while its submit is answered, not up to 3 s later (the default
# batch_sched_delay): hac-allocator answers an allocation with where its GPUs are.
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
# Nodes may declare more CPUs than this machine has: each hold job takes one CPU per node.
SlurmdParameters=config_overrides
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d-%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
# Slurm's own record of each finished job, without a database (issue 14's reconcile reads it).
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=f[01-$last] NodeHostname=f[01-$last] NodeAddr=127.0.0.1 Port=[$((port + 1))-$((port + nodes))] CPUs=$gpus RealMemory=1000 Gres=hacgpu:$gpus State=UNKNOWN
PartitionName=farm Nodes=f[01-$last] Default=YES MaxTime=INFINITE State=UP
EOT
	# File= lines make gres_detail name GPU indexes ("hacgpu:2(IDX:0-1)"); on a real farm their
	# order must be the GPUs' index order. Empty files stand for the devices.
	: >"$DIR/gres.conf"
	for ((i = 1; i <= nodes; i++)); do
		node=$(printf 'f%02d' "$i")
		mkdir -p "$DIR/dev/$node"
		for ((g = 0; g < gpus; g++)); do : >"$DIR/dev/$node/hacgpu$g"; done
		echo "NodeName=$node Name=hacgpu File=$DIR/dev/$node/hacgpu[0-$((gpus - 1))]" >>"$DIR/gres.conf"
	done
}

start_cluster() {
	local nodes=$1 gpus=$2 port i cmd
	((EUID == 0)) || { echo "slurm_cluster.sh: needs root (slurmd runs each job as its user)" >&2; exit 77; }
	for cmd in munged mungekey slurmctld slurmd slurmrestd sinfo scontrol scancel squeue curl; do
		command -v "$cmd" >/dev/null || {
			echo "slurm_cluster.sh: $cmd is missing: install munge slurmctld slurmd slurmrestd slurm-client curl (scripts/deps test)" >&2
			exit 77
		}
	done
	[[ ! -e $DIR/slurm.conf ]] || { echo "slurm_cluster.sh: $DIR already holds a cluster: stop it or use another folder" >&2; exit 2; }
	# A Unix socket path is at most 107 bytes; slurmd's step sockets sit deepest.
	((${#DIR} <= 60)) || { echo "slurm_cluster.sh: $DIR is too long for Unix socket paths (60 characters at most)" >&2; exit 2; }
	port=$(free_ports $((nodes + 1))) || { echo "slurm_cluster.sh: no free range of $((nodes + 1)) ports" >&2; exit 1; }
	write_configs "$nodes" "$gpus" "$port"
	mungekey -c -k "$DIR/munge/munge.key" >"$DIR/log/mungekey.log" 2>&1 || fail "mungekey failed"
	start_part munged
	start_part slurmctld
	# The nodes register in parallel; then each is checked.
	for ((i = 1; i <= nodes; i++)); do
		"${BASH_SOURCE[0]}" restart "$DIR" "$(printf 'slurmd-f%02d' "$i")" &
	done
	for ((i = 1; i <= nodes; i++)); do
		wait -n || fail "a node did not start"
	done
	start_part slurmrestd
	cat >"$DIR/env" <<EOT
export SLURM_CONF=$DIR/slurm.conf
export HAC_SLURM_DIR=$DIR
export HAC_SLURMRESTD_SOCKET=$DIR/slurmrestd.sock
export HAC_SLURM_NODES=$nodes
export HAC_SLURM_GPUS_PER_NODE=$gpus
EOT
	cat "$DIR/env"
}

# stop_pid PID SECONDS: SIGTERM, up to SECONDS to exit, then SIGKILL.
stop_pid() {
	local pid=$1 i
	pid_running "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < $2 * 20; i++)); do
		pid_running "$pid" || return 0
		sleep 0.05
	done
	echo "slurm_cluster.sh: pid $pid ignored SIGTERM for $2 s: killed" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

# The pids of this cluster's job steps still running, the jobs' processes first, then their
# slurmstepd. slurmd gives both SLURM_CONF=DIR/slurm.conf; a job's processes also have
# SLURM_JOB_ID, which the shells that merely use this cluster (a test's) do not.
step_pids() {
	local dir comm jobs=() steps=()
	local -a environ
	for dir in /proc/[0-9]*; do
		mapfile -d '' -t environ 2>/dev/null <"$dir/environ" || continue
		[[ " ${environ[*]} " == *" SLURM_CONF=$DIR/slurm.conf "* ]] || continue
		read -r comm 2>/dev/null <"$dir/comm" || continue
		if [[ $comm == slurmstepd ]]; then
			steps+=("${dir#/proc/}")
		elif [[ " ${environ[*]} " == *" SLURM_JOB_ID="* ]]; then
			jobs+=("${dir#/proc/}")
		fi
	done
	printf '%s\n' "${jobs[@]}" "${steps[@]}"
}

stop_cluster() {
	local part pid i
	# Jobs first, while slurmctld and the nodes run, so that their steps end cleanly.
	if [[ -e $DIR/pids/slurmctld ]] && pid_running "$(cat "$DIR/pids/slurmctld")"; then
		scancel --quiet --partition=farm 2>/dev/null || true
		for ((i = 0; i < 200; i++)); do
			[[ -z $(squeue -h -t running,completing -o %i 2>/dev/null) ]] && break
			sleep 0.05
		done
	fi
	for part in slurmrestd slurmd-f* slurmctld munged; do
		for pid in "$DIR"/pids/$part; do
			[[ -e $pid ]] || continue
			stop_pid "$(cat "$pid")" 10
			rm -f "$pid"
		done
	done
	# Steps their slurmd could not end (slurmctld was down, say), stopped here by pid.
	for pid in $(step_pids); do
		[[ -n $pid ]] && stop_pid "$pid" 2
	done
}

[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
(($# >= 2)) || { usage >&2; exit 2; }
verb=$1 DIR=$2
shift 2
case $verb in
start)
	nodes=4 gpus=8
	while (($#)); do
		case $1 in
		--nodes) nodes=${2:-}; shift ;;
		--gpus) gpus=${2:-}; shift ;;
		*) { echo "slurm_cluster.sh: unknown option '$1'"; usage; } >&2; exit 2 ;;
		esac
		shift
	done
	[[ $nodes =~ ^[1-9][0-9]?$ ]] || { echo "slurm_cluster.sh: --nodes must be 1 to 99" >&2; exit 2; }
	[[ $gpus =~ ^[1-9][0-9]?$ ]] || { echo "slurm_cluster.sh: --gpus must be 1 to 99" >&2; exit 2; }
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	export SLURM_CONF=$DIR/slurm.conf
	stop_on_fail=1
	start_cluster "$nodes" "$gpus"
	;;
restart | stop)
	[[ -e $DIR/slurm.conf ]] || { echo "slurm_cluster.sh: $DIR holds no cluster" >&2; exit 2; }
	DIR=$(cd "$DIR" && pwd)
	export SLURM_CONF=$DIR/slurm.conf
	if [[ $verb == stop ]]; then
		(($# == 0)) || { usage >&2; exit 2; }
		stop_cluster
	else
		(($# == 1)) || { usage >&2; exit 2; }
		[[ -e $DIR/pids/$1 ]] && stop_pid "$(cat "$DIR/pids/$1")" 10
		start_part "$1"
	fi
	;;
*) { echo "slurm_cluster.sh: unknown verb '$verb'"; usage; } >&2; exit 2 ;;
esac
