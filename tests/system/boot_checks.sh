#!/bin/bash
# Runs inside the booted chroot of tests/system/systemd_boot.bats, as the oneshot unit
# hac-boot-checks.service under a real systemd (PID 1 of its own pid namespace), with hac and
# hac-allocator installed from their .deb. Each check writes /hac-boot/results/NAME ("ok", or
# "failed" and its exit status) and NAME.log (what it ran and said); the bats file asserts them.
# The unit powers the system off when this script ends, whatever it wrote.
set -u
results=/hac-boot/results
port=$(cat /hac-boot/port)
mkdir -p "$results"

# check NAME FUNCTION: runs FUNCTION with `set -e` (in a background subshell, so that no
# caller's condition switches it off), its commands traced into NAME.log.
check() {
	local name=$1 rc=0
	(
		set -ex
		"$2"
	) >"$results/$name.log" 2>&1 &
	wait $! || rc=$?
	if ((rc == 0)); then echo ok; else echo "failed (exit $rc)"; fi >"$results/$name"
}

# Waits up to $2 seconds for command $1 to succeed.
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		eval "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $1"
	return 1
}

agent_log() { journalctl -u hac-agent.service -o cat --no-pager; }
# Waits up to 10 s for the agent's journal to show a line matching $1 (the journal lags a little).
wait_log() { wait_for "agent_log | grep -q -- '$1'" 10; }
main_pid() { systemctl show -p MainPID --value hac-agent.service; }
property() { systemctl show -p "$1" --value hac-agent.service; }

# Type=notify: `systemctl start` returns once the agent said READY=1 (its STATUS= is shown), on
# the socket systemd made: mode 0660, group hac. The allocator is not up yet.
start() {
	[[ $(systemctl is-active hac-agent.socket) == active ]]
	systemctl start hac-agent.service
	[[ $(systemctl is-active hac-agent.service) == active ]]
	[[ $(property Type) == notify ]]
	[[ $(property StatusText) == serving ]]
	[[ $(stat -c '%a %U %G' /run/hac/agent.sock) == '660 root hac' ]]
	wait_log 'serving the local API on the socket passed by systemd'
	hac-smi
}

# Started before its allocator (whose first contact failed): a job started right after the
# allocator came up waits for the agent's first registration instead of failing.
first_job() {
	wait_log 'allocator unreachable'
	systemd-run --unit=hac-allocator --property=Type=exec \
		hac-allocator --config /etc/hac/allocator.toml --listen "127.0.0.1:$port"
	wait_for "(: <'/dev/tcp/127.0.0.1/$port')" 20
	hac-run -- touch /hac-boot/first-job-ran
	[[ -e /hac-boot/first-job-ran ]]
	hac-smi
}

# WatchdogSec=30s as packaged; with 2 s the agent's pings keep it alive for well over two
# intervals: no restart, and the last ping's time moves on.
watchdog() {
	[[ $(property WatchdogUSec) == 30s ]]
	mkdir -p /run/systemd/system/hac-agent.service.d
	printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/hac-agent.service.d/watchdog.conf
	systemctl daemon-reload
	systemctl restart hac-agent.service
	[[ $(property WatchdogUSec) == 2s ]]
	local pid first
	pid=$(main_pid)
	first=$(property WatchdogTimestampMonotonic)
	sleep 6
	[[ $(property WatchdogTimestampMonotonic) -gt $first ]]
	[[ $(main_pid) == "$pid" ]]
	[[ $(property NRestarts) == 0 ]]
	[[ $(systemctl is-active hac-agent.service) == active ]]
	rm /run/systemd/system/hac-agent.service.d/watchdog.conf
	systemctl daemon-reload
	systemctl restart hac-agent.service
	[[ $(property WatchdogUSec) == 30s ]]
}

# After `systemctl stop hac-agent` the socket unit still listens, and the first tool that
# connects starts the agent again.
socket_activation() {
	systemctl stop hac-agent.service
	[[ $(systemctl is-active hac-agent.service) == inactive ]]
	[[ $(systemctl is-active hac-agent.socket) == active ]]
	[[ -S /run/hac/agent.sock ]]
	hac-smi
	[[ $(systemctl is-active hac-agent.service) == active ]]
}

# `systemctl reload` on a system without /bin/kill: the new log level applies in the same
# process; a config that does not load fails the reload, saying why, and the agent runs on.
reload() {
	[[ ! -e /bin/kill && ! -e /usr/bin/kill ]]
	local pid
	pid=$(main_pid)
	sed -i '1i log_level = "debug"' /etc/hac/agent.toml
	systemctl reload hac-agent.service
	wait_log 'config reloaded from /etc/hac/agent.toml: log_level debug'
	hac-smi
	wait_log 'debug: GET /v1/status from pid'
	sed -i '1s/.*/log_level = "loud"/' /etc/hac/agent.toml
	local rc=0
	systemctl reload hac-agent.service || rc=$?
	[[ $rc -ne 0 ]]
	wait_log 'config reload refused: .*log_level'
	[[ $(systemctl is-active hac-agent.service) == active ]]
	[[ $(main_pid) == "$pid" ]]
	sed -i '1d' /etc/hac/agent.toml
	systemctl reload hac-agent.service
	[[ $(main_pid) == "$pid" ]]
}

# The socket is group hac's: a member may use the tools and run jobs; anyone else gets exit 5
# and is told which group to ask for; neither can read the token or the job log.
permissions() {
	id member >/dev/null 2>&1 || useradd --no-create-home --groups hac member
	id outsider >/dev/null 2>&1 || useradd --no-create-home outsider
	runuser -u member -- hac-smi
	runuser -u member -- hac-run -- true
	local rc=0 out
	out=$(runuser -u outsider -- hac-smi 2>&1) || rc=$?
	echo "$out"
	[[ $rc -eq 5 ]]
	[[ $out == *"add you to group 'hac'"* ]]
	rc=0
	runuser -u member -- cat /etc/hac/token || rc=$?
	[[ $rc -ne 0 ]]
	rc=0
	runuser -u member -- ls /var/lib/hac || rc=$?
	[[ $rc -ne 0 ]]
}

# `systemctl stop` ends the agent cleanly (exit 0 on SIGTERM, no timeout, no kill); the socket
# stays with systemd.
stop() {
	systemctl stop hac-agent.service
	[[ $(systemctl is-active hac-agent.service) == inactive ]]
	[[ $(property Result) == success ]]
	[[ $(property ExecMainStatus) == 0 ]]
	[[ $(systemctl is-active hac-agent.socket) == active ]]
}

check start start
check first_job first_job
check watchdog watchdog
check socket_activation socket_activation
check reload reload
check permissions permissions
check stop stop
journalctl -b --no-pager >"$results/journal.log" 2>&1
echo done >"$results/done"
