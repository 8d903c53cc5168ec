#!/usr/bin/env bats
# The authorization matrix: the same verbs as root, as a member of the admin group, as a plain
# member of group hac and as a user outside it, with the allow/deny each must get. Test users and
# groups are made per file (root only) and removed after it; the socket is given to the test hac
# group as systemd's tmpfiles/socket unit would give it to group hac.

bats_require_minimum_version 1.5.0
load ../lib/common

# Short names (useradd allows 32 characters) unique to this run: from bats' run folder, the same
# in setup_file and in each test, which bats runs in processes of their own.
SUFFIX=$(basename "$BATS_RUN_TMPDIR" | tr 'A-Z' 'a-z' | tr -dc 'a-z0-9' | tail -c 6)
HAC_GROUP=hact$SUFFIX
ADMIN_GROUP=hacadm$SUFFIX
ADMIN_USER=hacta$SUFFIX
PLAIN_USER=hactu$SUFFIX
OUTSIDER=hacto$SUFFIX

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v useradd >/dev/null && command -v setpriv >/dev/null || return 0
	groupadd "$HAC_GROUP"
	groupadd "$ADMIN_GROUP"
	useradd -M -N -s /usr/sbin/nologin -g "$HAC_GROUP" -G "$ADMIN_GROUP" "$ADMIN_USER"
	useradd -M -N -s /usr/sbin/nologin -g "$HAC_GROUP" "$PLAIN_USER"
	useradd -M -U -s /usr/sbin/nologin "$OUTSIDER"
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	local u g
	for u in "$ADMIN_USER" "$PLAIN_USER" "$OUTSIDER"; do
		id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null || true
	done
	for g in "$HAC_GROUP" "$ADMIN_GROUP" "$OUTSIDER"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null || true
	done
	return 0
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create test users and groups"
	command -v useradd >/dev/null || skip "useradd is missing"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	id "$PLAIN_USER" >/dev/null 2>&1 || skip "the test users could not be created"
	start_allocator
	write_agent_config
	printf 'admin_group = "%s"\nsocket_mode = 0o660\n' "$ADMIN_GROUP" |
		cat - "$BATS_TEST_TMPDIR/agent.toml" >"$BATS_TEST_TMPDIR/agent.toml.new"
	mv "$BATS_TEST_TMPDIR/agent.toml.new" "$BATS_TEST_TMPDIR/agent.toml"
	start_agent
	# What hac-agent.socket / tmpfiles do in production: the socket belongs to group hac, and the
	# folder holding it is reachable.
	chgrp "$HAC_GROUP" "$HAC_SOCKET"
	local d=$BATS_TEST_TMPDIR
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
}

teardown() {
	touch "$BATS_TEST_TMPDIR/go"
	[ -z "${JOB_PID:-}" ] || { kill "$JOB_PID" 2>/dev/null; wait "$JOB_PID" 2>/dev/null; } || true
	stop_all
}

# as USER COMMAND...: runs COMMAND with USER's uid, primary group and supplementary groups.
as() {
	local user=$1
	shift
	setpriv --reuid "$user" --regid "$(id -g "$user")" --init-groups env HOME=/ PATH="$(other_users_bin):$PATH" "$@"
}

# A job of root's on device 0, whose command line others should not see.
start_root_job() {
	hac-run -- sh -c 'sleep 31' secret-argument-$SUFFIX >/dev/null 2>&1 &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
}

@test "socket mode and group: 0660, group hac; the test users are who they claim" {
	[ "$(stat -c '%a %G' "$HAC_SOCKET")" = "660 $HAC_GROUP" ]
	[[ $(as "$ADMIN_USER" id -Gn) == *"$ADMIN_GROUP"* ]]
	[[ $(as "$PLAIN_USER" id -Gn) != *"$ADMIN_GROUP"* ]]
	[[ $(as "$OUTSIDER" id -Gn) != *"$HAC_GROUP"* ]]
}

@test "hac-smi (read): root, admin and plain user may; the outsider gets exit 5 telling it to join group hac" {
	for who in root "$ADMIN_USER" "$PLAIN_USER"; do
		run -0 as "$who" hac-smi --json
		jq -e '.devices | length == 1' <<<"$output"
	done
	run as "$OUTSIDER" hac-smi
	[ "$status" -eq 5 ]
	[[ $output == *"permission denied on $HAC_SOCKET"*"add you to group 'hac'"* ]]
	run as "$OUTSIDER" hac-smi --json
	[ "$status" -eq 5 ]
}

@test "a user sees another user's job but not its command, unless root or admin" {
	start_root_job
	run -0 as "$PLAIN_USER" hac-smi --json
	# The job is there, root's, with its command left out.
	[ "$(jq '.jobs | length' <<<"$output")" = 1 ]
	[ "$(jq -r '.jobs[0].id' <<<"$output")" = "$(hac-smi --json | jq -r '.jobs[0].id')" ]
	[ "$(jq -r '.jobs[0].command // ""' <<<"$output")" = "" ]
	[[ $output != *"secret-argument-$SUFFIX"* ]]
	run -0 as "$PLAIN_USER" hac-smi
	[[ $output != *"secret-argument-$SUFFIX"* ]]
	run -0 as "$PLAIN_USER" curl -sf --unix-socket "$HAC_SOCKET" http://hac/v1/jobs
	[[ $output != *"secret-argument-$SUFFIX"* ]]
	run -0 as "$ADMIN_USER" hac-smi --json
	[[ $(jq -r '.jobs[0].command' <<<"$output") == *"secret-argument-$SUFFIX"* ]]
	run -0 hac-smi --json
	[[ $(jq -r '.jobs[0].command' <<<"$output") == *"secret-argument-$SUFFIX"* ]]
}

@test "hac-smi -r on another user's job: plain user exit 5 and the job runs on; admin releases it" {
	start_root_job
	run as "$PLAIN_USER" hac-smi -r
	[ "$status" -eq 5 ]
	[[ $output == *"Device release failed."*"$ADMIN_GROUP"* ]]
	[ "$(hac-smi --json | jq '.jobs | length')" = 1 ]
	run as "$OUTSIDER" hac-smi -r
	[ "$status" -eq 5 ]
	[ "$(hac-smi --json | jq '.jobs | length')" = 1 ]
	run -0 as "$ADMIN_USER" hac-smi -r
	[ "$output" = "Device release success." ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT end_reason FROM jobs")" = reset ]
}

@test "hac-run: root, admin and plain user may run a job, as themselves; the outsider gets exit 5" {
	for who in root "$ADMIN_USER" "$PLAIN_USER"; do
		run -0 as "$who" hac-run -- true
	done
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT uid FROM jobs ORDER BY started_at" | tr '\n' ' ')" = \
		"0 $(id -u "$ADMIN_USER") $(id -u "$PLAIN_USER") " ]
	run as "$OUTSIDER" hac-run -- true
	[ "$status" -eq 5 ]
	[[ $output == *"group 'hac'"* ]]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT count(*) FROM jobs")" = 3 ]
}

@test "a plain user cannot register a job for a process it does not own (kernel identity, not the body's)" {
	run as "$PLAIN_USER" curl -s --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d '{"pid":1,"uid":0}'
	[[ $output == *'"code":"not_your_process"'* ]]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT count(*) FROM jobs")" = 0 ]
}

@test "hac-resize and hac-smi device add/switch/rm: plain user and outsider exit 5 naming the group; admin may" {
	for who in "$PLAIN_USER" "$OUTSIDER"; do
		for verb in "hac-resize 2xlarge" "hac-smi device add small" "hac-smi device switch 0" "hac-smi device rm -y 0"; do
			# shellcheck disable=SC2086
			run as "$who" $verb
			echo "$who: $verb -> $status: $output"
			[ "$status" -eq 5 ]
			if [ "$who" = "$PLAIN_USER" ]; then
				[[ $output == *"needs root or membership in group $ADMIN_GROUP"* ]]
			else
				[[ $output == *"group 'hac'"* ]]
			fi
		done
	done
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT count(*) FROM device_changes")" = 0 ]
	run -0 as "$ADMIN_USER" hac-resize 2xlarge
	run -0 as "$ADMIN_USER" hac-smi device add small
	run -0 as "$ADMIN_USER" hac-smi device switch 1
	run -0 as "$ADMIN_USER" hac-smi device rm -y 1
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT DISTINCT uid FROM device_changes")" = "$(id -u "$ADMIN_USER")" ]
}

@test "hac-usage: everyone in group hac sees their own; --all-users and --user other need root or admin" {
	hac-run -- true
	as "$PLAIN_USER" hac-run -- true
	run -0 as "$PLAIN_USER" hac-usage --jobs --json
	[ "$(jq '.jobs | length' <<<"$output")" = 1 ]
	run as "$PLAIN_USER" hac-usage --all-users
	[ "$status" -eq 5 ]
	[[ $output == *"$ADMIN_GROUP"* ]]
	run as "$PLAIN_USER" hac-usage --user root
	[ "$status" -eq 5 ]
	run -0 as "$ADMIN_USER" hac-usage --all-users
	run -0 as "$ADMIN_USER" hac-usage --user "$PLAIN_USER"
	run -0 hac-usage --all-users --jobs --json
	[ "$(jq '.jobs | length' <<<"$output")" = 2 ]
	run as "$OUTSIDER" hac-usage
	[ "$status" -eq 5 ]
	[[ $output == *"group 'hac'"* ]]
}

@test "the rest of the matrix: root releases another user's job and changes devices; the outsider's --all-users and --user get exit 5" {
	# A plain user's job, running until the test says go.
	as "$PLAIN_USER" hac-run -- sh -c 'while [ ! -e "$0" ]; do sleep 0.1; done' "$BATS_TEST_TMPDIR/go" >/dev/null 2>&1 &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	run -0 hac-smi -r
	[ "$output" = "Device release success." ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT uid, end_reason FROM jobs")" = "$(id -u "$PLAIN_USER")|reset" ]
	touch "$BATS_TEST_TMPDIR/go"
	wait "$JOB_PID" || true
	JOB_PID=
	run -0 hac-resize 2xlarge
	run -0 hac-smi device add small
	run -0 hac-smi device switch 1
	run -0 hac-smi device rm -y 1
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT count(*) FROM device_changes WHERE uid = 0")" = 4 ]
	run -0 hac-usage
	run -0 hac-usage --user "$PLAIN_USER" --jobs --json
	[ "$(jq '.jobs | length' <<<"$output")" = 1 ]
	run -0 as "$ADMIN_USER" hac-usage
	for args in --all-users "--user root" "--user $PLAIN_USER"; do
		# shellcheck disable=SC2086
		run as "$OUTSIDER" hac-usage $args
		echo "outsider: hac-usage $args -> $status: $output"
		[ "$status" -eq 5 ]
		[[ $output == *"group 'hac'"* ]]
	done
}
