#!/usr/bin/env bats
# hac-update against real releases: tiny pure-Python wheels built here, signed with a key pair made
# here, served by hac-allocator (found through hac-agent), installed by pip into a real venv.

load ../lib/common

# Debian's Python when there is one: the venvs must not depend on a user's pyenv or conda.
python3_for_tests() {
	if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3; else command -v python3; fi
}

setup_file() {
	local py wheels=$BATS_FILE_TMPDIR/wheels
	py=$(python3_for_tests)
	[[ -n $py ]] && "$py" -c 'import venv, ensurepip' 2>/dev/null || return 0
	"$py" "$REPO/tests/lib/make_wheel.py" "$wheels/24.5.0" torch 2.1.0+hac24.5.0 --pad 300000 >/dev/null
	"$py" "$REPO/tests/lib/make_wheel.py" "$wheels/24.6.0" torch 2.2.0+hac24.6.0 >/dev/null
	"$py" "$REPO/tests/lib/make_wheel.py" "$wheels/24.7.0" torch 2.3.0+hac24.7.0 --escape >/dev/null
	"$py" "$REPO/tests/lib/make_wheel.py" "$wheels/24.7.0" torch_extras 1.0+hac24.7.0 >/dev/null
	"$py" "$REPO/tests/lib/make_wheel.py" "$wheels/plain" torch 2.1.0 >/dev/null
	mkdir -p "$BATS_FILE_TMPDIR/keys"
	openssl genpkey -algorithm ed25519 -out "$BATS_FILE_TMPDIR/release.key" 2>/dev/null
	openssl pkey -in "$BATS_FILE_TMPDIR/release.key" -pubout -out "$BATS_FILE_TMPDIR/keys/release.pem"
	openssl genpkey -algorithm ed25519 -out "$BATS_FILE_TMPDIR/stranger.key" 2>/dev/null
	# One venv with pip, copied for each test: making one takes seconds.
	"$py" -m venv "$BATS_FILE_TMPDIR/venv" >/dev/null
}

setup() {
	[[ -x $BATS_FILE_TMPDIR/venv/bin/python ]] || skip "python3 with venv and ensurepip (python3-venv) is not installed"
	export HOME=$BATS_TEST_TMPDIR/home PYTHONDONTWRITEBYTECODE=1
	unset XDG_CACHE_HOME XDG_STATE_HOME CONDA_PREFIX CONDA_EXE VIRTUAL_ENV HAC_KEYS_DIR
	mkdir -p "$HOME"
	export HAC_KEYS_DIR=$BATS_FILE_TMPDIR/keys
	WHEELS=$BATS_FILE_TMPDIR/wheels
	RELEASES=$BATS_TEST_TMPDIR/releases
	mkdir -p "$RELEASES"
	add_release 24.5.0
	write_allocator_config
	printf '\n[releases]\ndir = "%s"\n' "$RELEASES" >>"$BATS_TEST_TMPDIR/allocator.toml"
	start_all
	VENV=$BATS_TEST_TMPDIR/venv
	cp -a "$BATS_FILE_TMPDIR/venv" "$VENV"
	SITE=$(echo "$VENV"/lib/python3*/site-packages)
}

teardown() { stop_all; }

# add_release VERSION [hac-release options]: signs the wheels of $WHEELS/VERSION into $RELEASES.
add_release() {
	local version=$1
	shift
	hac-release --key "$BATS_FILE_TMPDIR/release.key" --framework "$version" --wheels "$WHEELS/$version" \
		--releases "$RELEASES" "$@" >/dev/null
}

# The torch version in the venv as Python itself reads it, independent of hac-update.
torch_version() {
	"$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || echo none
}

pip_install() {
	"$VENV/bin/python" -m pip install -q --no-index --no-deps --force-reinstall "$@"
}

# Marks now; env_untouched then fails if anything in the venv changed since.
stamp() {
	touch "$BATS_TEST_TMPDIR/stamp"
	sleep 0.01
}
env_untouched() {
	local changed
	changed=$(find "$VENV" -newer "$BATS_TEST_TMPDIR/stamp" -print -quit)
	[[ -z $changed ]] || { echo "changed in the venv: $changed"; return 1; }
}

wheel_file() {
	echo "$RELEASES/$1/$(basename "$WHEELS/$1/"torch-*.whl)"
}

@test "--check: missing torch exits 10 and says so" {
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 10 ]
	[[ $output == "missing: torch is not installed in $VENV;"* ]]
	[[ $output == *"expects framework 24.5.0 (torch 2.1.0+hac24.5.0)"*"hac-update --force"* ]]
}

@test "pip replaces the build with a plain torch: --check exits 10, --force restores it, --check exits 0" {
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	[[ $output == *"Installed framework 24.5.0 into $VENV: torch 2.1.0+hac24.5.0"* ]]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 0 ]
	[[ $output == "ok: $VENV holds framework 24.5.0"* ]]

	pip_install "$WHEELS/plain/torch-2.1.0-py3-none-any.whl"
	[ "$(torch_version)" = 2.1.0 ]
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 10 ]
	[[ $output == "plain: torch 2.1.0 in $VENV is a plain build, not the framework build 2.1.0+hac24.5.0"* ]]

	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	[[ $output == *"in the cache, sha256 verified"* ]]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	"$VENV/bin/python" -c 'import torch; assert torch.HAC_BUILD'
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 0 ]
}

@test "--check: another framework's build exits 10 and names both" {
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	add_release 24.6.0
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 10 ]
	[[ $output == "different: torch 2.1.0+hac24.5.0 in $VENV is framework 24.5.0, not 2.2.0+hac24.6.0;"* ]]
	run hac-update --prefix "$VENV" --check --target 24.5.0
	[ "$status" -eq 0 ]
}

@test "--check --json: the environment, the expected release, what is installed, the status" {
	run hac-update --prefix "$VENV" --check --json
	[ "$status" -eq 10 ]
	echo "$output" | jq -e '
		.schema_version == 1 and .status == "missing" and (.message | test("not installed")) and
		.env.path == "'"$VENV"'" and .env.kind == "venv" and .env.chosen_by == "--prefix" and
		.allocator == "'"$ALLOCATOR_URL"'" and
		.expected.framework == "24.5.0" and (.expected.key_id | length == 16) and
		.expected.packages[0].name == "torch" and .expected.packages[0].version == "2.1.0+hac24.5.0" and
		(.expected.packages[0].sha256 | length == 64) and .expected.packages[0].size > 300000 and
		.installed.framework == null and .installed.packages[0].version == null and
		.installed.packages[0].health == "missing"'
}

@test "the environment comes from \$VIRTUAL_ENV, \$CONDA_PREFIX or --env NAME; none is exit 2" {
	run hac-update --check
	[ "$status" -eq 2 ]
	[[ $output == *"no Python environment is chosen"*"--prefix PATH or --env NAME"* ]]
	VIRTUAL_ENV=$VENV run hac-update --check --json
	[ "$status" -eq 10 ]
	[ "$(echo "$output" | jq -r .env.chosen_by)" = '$VIRTUAL_ENV' ]
	CONDA_PREFIX=$VENV VIRTUAL_ENV=/nonexistent run hac-update --check --json
	[ "$(echo "$output" | jq -r .env.chosen_by)" = '$CONDA_PREFIX' ]
	# A conda env by name, found through ~/.conda/environments.txt as conda lists it.
	mkdir -p "$HOME/.conda" "$VENV/conda-meta"
	echo "$VENV" >"$HOME/.conda/environments.txt"
	run hac-update --env "$(basename "$VENV")" --check --json
	[ "$status" -eq 10 ]
	[ "$(echo "$output" | jq -r '.env.kind + " " + .env.chosen_by')" = "conda --env venv" ]
	run hac-update --env nosuchenv --check
	[ "$status" -eq 7 ]
	[[ $output == *"no conda environment named 'nosuchenv'"* ]]
	run hac-update --prefix "$BATS_TEST_TMPDIR/nothing" --check
	[ "$status" -eq 7 ]
}

@test "upgrade: shows both versions, asks only on a terminal, installs with --yes" {
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	add_release 24.6.0
	stamp
	# stdin is not a terminal here: no one can answer, so nothing is installed (exit 2, use --yes).
	run hac-update --prefix "$VENV" </dev/null
	[ "$status" -eq 2 ]
	[[ $output == *"Currently installed: 24.5.0 (torch 2.1.0+hac24.5.0)"* ]]
	[[ $output == *"Possible upgrading version: 24.6.0 (torch 2.2.0+hac24.6.0)"* ]]
	[[ $output == *"stdin is not a terminal"*"--yes"* ]]
	env_untouched
	run hac-update --prefix "$VENV" --yes
	[ "$status" -eq 0 ]
	[ "$(torch_version)" = 2.2.0+hac24.6.0 ]
	run hac-update --prefix "$VENV"
	[ "$status" -eq 0 ]
	[[ $output == *"This is the latest release"* ]]
}

@test "upgrade on a terminal: the answer defaults to no" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	add_release 24.6.0
	stamp
	run script -qec "hac-update --prefix '$VENV'; echo exit=\$?" /dev/null <<<""
	[[ $output == *"Do you want to upgrade? (y/n, default: n)"* ]]
	[[ $output == *"Not upgraded; nothing was changed."* ]]
	[[ $output == *"exit=0"* ]]
	env_untouched
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
}

@test "a manifest altered after signing: exit 8, the environment untouched" {
	pip_install "$WHEELS/plain/torch-2.1.0-py3-none-any.whl"
	sed -i 's/"min_agent_version": "[^"]*"/"min_agent_version": "0.0.1"/' "$RELEASES/24.5.0/manifest.json"
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"the signature of release 24.5.0's manifest does not match its bytes"* ]]
	env_untouched
	[ ! -e "$HOME/.cache/hac/releases" ]
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 8 ]
}

@test "a manifest signed by a key that is not trusted: exit 8, the environment untouched" {
	hac-release --key "$BATS_FILE_TMPDIR/stranger.key" --framework 24.5.0 --wheels "$WHEELS/24.5.0" \
		--releases "$RELEASES" --replace >/dev/null
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"is signed by key"*"which is not trusted here ($HAC_KEYS_DIR holds keys"* ]]
	env_untouched
	# No trusted key at all is refused before anything is fetched.
	run hac-update --prefix "$VENV" --force --keys "$BATS_TEST_TMPDIR"
	[ "$status" -eq 8 ]
	[[ $output == *"no release signing key is trusted"* ]]
}

@test "an expired manifest (signed with the openssl command): exit 8, the environment untouched" {
	local dir=$RELEASES/24.5.0 id
	jq '.created_at = "2025-01-01T00:00:00.000Z" | .expires_at = "2025-02-01T00:00:00.000Z"' \
		"$dir/manifest.json" >"$dir/manifest.new"
	mv "$dir/manifest.new" "$dir/manifest.json"
	openssl pkeyutl -sign -inkey "$BATS_FILE_TMPDIR/release.key" -rawin -in "$dir/manifest.json" \
		-out "$BATS_TEST_TMPDIR/sig.bin"
	id=$(openssl pkey -pubin -in "$HAC_KEYS_DIR/release.pem" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
	jq -n --arg id "$id" --arg sig "$(base64 -w0 "$BATS_TEST_TMPDIR/sig.bin")" \
		'{schema_version: 1, algorithm: "ed25519", key_id: $id, signature: $sig}' >"$dir/manifest.sig"
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"release 24.5.0's manifest expired at 2025-02-01T00:00:00.000Z"* ]]
	env_untouched
	run hac-update --prefix "$VENV" --list --json
	[ "$(echo "$output" | jq -r '.releases[0].error')" = expired ]
}

@test "a wheel whose sha256 differs from the manifest: exit 8, the environment untouched, nothing cached" {
	local wheel
	wheel=$(wheel_file 24.5.0)
	# Same size, one byte different.
	printf 'X' | dd of="$wheel" bs=1 seek=1000 conv=notrunc 2>/dev/null
	pip_install "$WHEELS/plain/torch-2.1.0-py3-none-any.whl"
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"the sha256 of torch-2.1.0+hac24.5.0-py3-none-any.whl is"*"the file was altered; nothing was installed"* ]]
	env_untouched
	[ "$(torch_version)" = 2.1.0 ]
	[ -z "$(ls -A "$HOME/.cache/hac/releases/24.5.0")" ]
}

@test "a wheel longer than declared is cut at the declared size: exit 8" {
	head -c 5000 /dev/urandom >>"$(wheel_file 24.5.0)"
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"with more than the"*"bytes its signed manifest declares: refused"* ]]
	env_untouched
	[ -z "$(ls -A "$HOME/.cache/hac/releases/24.5.0")" ]
}

@test "a wheel shorter than declared (truncated): exit 8" {
	local wheel
	wheel=$(wheel_file 24.5.0)
	truncate -s 1000 "$wheel"
	stamp
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 8 ]
	[[ $output == *"the allocator sent 1000 bytes of torch-2.1.0+hac24.5.0-py3-none-any.whl"*"(truncated)"* ]]
	env_untouched
}

@test "a download cut off by the network: exit 4, the part kept; the next run resumes it" {
	local size part=$HOME/.cache/hac/releases/24.5.0/torch-2.1.0+hac24.5.0-py3-none-any.whl.part
	size=$(stat -c %s "$(wheel_file 24.5.0)")
	"$(python3_for_tests)" "$REPO/tests/lib/cut_proxy.py" "$ALLOCATOR_URL" 100000 "$BATS_TEST_TMPDIR/proxy.port" &
	local proxy=$!
	wait_for "[[ -s '$BATS_TEST_TMPDIR/proxy.port' ]]" 5
	stamp
	run hac-update --prefix "$VENV" --force --allocator "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/proxy.port")"
	kill "$proxy"
	[ "$status" -eq 4 ]
	[[ $output == *"stopped at 100000 of $size bytes"*"Run hac-update again to resume it"* ]]
	[ "$(stat -c %s "$part")" -eq 100000 ]
	env_untouched

	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	[[ $output == *"downloaded, resumed at byte 100000, sha256 verified"* ]]
	grep -q "files/torch-2.1.0+hac24.5.0-py3-none-any.whl -> 206" "$BATS_TEST_TMPDIR/allocator.log"
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	[ ! -e "$part" ]
}

@test "rollback: an older release than one installed before is refused; --allow-older --target permits it" {
	add_release 24.6.0
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	[ "$(torch_version)" = 2.2.0+hac24.6.0 ]
	[ "$(jq -r .newest_installed "$HOME/.local/state/hac/trusted.json")" = 24.6.0 ]
	stamp
	run hac-update --prefix "$VENV" --target 24.5.0
	[ "$status" -eq 8 ]
	[[ $output == *"release 24.5.0 is older than 24.6.0, which was installed before (rollback protection"* ]]
	[[ $output == *"hac-update --target 24.5.0 --allow-older"* ]]
	env_untouched
	run hac-update --prefix "$VENV" --allow-older
	[ "$status" -eq 2 ]
	run hac-update --prefix "$VENV" --target 24.5.0 --allow-older
	[ "$status" -eq 0 ]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	# Going back on purpose does not lower what was trusted.
	[ "$(jq -r .newest_installed "$HOME/.local/state/hac/trusted.json")" = 24.6.0 ]
}

@test "pip fails halfway: what was there is put back, and the message says the state" {
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	add_release 24.7.0
	run hac-update --prefix "$VENV" --target 24.7.0
	[ "$status" -eq 1 ]
	[[ $output == *"pip failed (exit 1) installing framework 24.7.0; the previous packages were put back"* ]]
	[[ $output == *"$VENV is as it was before: torch 2.1.0+hac24.5.0, torch_extras (not installed)"* ]]
	[[ $output == *"trying to install outside the target directory"* ]]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	run "$VENV/bin/python" -c 'import torch_extras'
	[ "$status" -ne 0 ]
	[ ! -e "$SITE"/torch-2.3.0+hac24.7.0.dist-info ]
	run hac-update --prefix "$VENV" --check --target 24.5.0
	[ "$status" -eq 0 ]
	# The copy it put back from is in the cache.
	ls "$HOME"/.cache/hac/previous/*/torch-2.1.0+hac24.5.0-py3-none-any.whl
}

@test "an install cut short (hac-update killed during pip): --check says so, --force finishes it" {
	command -v setsid >/dev/null || skip "setsid (util-linux) is not installed"
	pip_install "$WHEELS/plain/torch-2.1.0-py3-none-any.whl"
	# Holds pip at its start while HAC_TEST_HOLD_PIP is set, so that it can be killed there.
	echo 'import os, sys, time; os.environ.get("HAC_TEST_HOLD_PIP") and "pip" in sys.orig_argv and time.sleep(60)' \
		>"$SITE/hac_test_hold.pth"
	HAC_TEST_HOLD_PIP=1 setsid hac-update --prefix "$VENV" --force >"$BATS_TEST_TMPDIR/cut.log" 2>&1 &
	local pid=$!
	wait_for "ls '$HOME'/.local/state/hac/pending/*.json" 10
	wait_for "grep -q 'Installing with pip' '$BATS_TEST_TMPDIR/cut.log'" 10
	kill -KILL -- "-$pid"
	wait "$pid" || true
	rm "$SITE/hac_test_hold.pth"

	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 10 ]
	[[ $output == "interrupted: an install of framework 24.5.0 into $VENV was cut short"*"hac-update --force"* ]]
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	[[ $output == *"Finishing the install of framework 24.5.0 that was cut short."* ]]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 0 ]
}

@test "the allocator down: exit 4; the agent down: exit 3; --allocator needs no agent" {
	stop_allocator
	stamp
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 4 ]
	[[ $output == *"cannot reach the allocator at $ALLOCATOR_URL"* ]]
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 4 ]
	env_untouched
	start_allocator
	stop_agent
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 3 ]
	run hac-update --prefix "$VENV" --check --allocator "$ALLOCATOR_URL"
	[ "$status" -eq 10 ]
}

@test "--dry-run checks everything and changes nothing" {
	pip_install "$WHEELS/plain/torch-2.1.0-py3-none-any.whl"
	stamp
	run hac-update --prefix "$VENV" --force --dry-run
	[ "$status" -eq 0 ]
	[[ $output == *"Dry run: would download up to"*"nothing was changed."* ]]
	run hac-update --prefix "$VENV" --force --dry-run --json
	[ "$(echo "$output" | jq -r .action)" = dry_run ]
	env_untouched
	[ ! -e "$HOME/.cache/hac/releases" ]
	[ ! -e "$HOME/.local/state/hac" ]
	# Refusals still happen on a dry run.
	sed -i 's/"framework": "24.5.0"/"framework": "24.5.1"/' "$RELEASES/24.5.0/manifest.json"
	run hac-update --prefix "$VENV" --force --dry-run
	[ "$status" -eq 8 ]
}

@test "--json of an install: action, release, downloads, what is installed" {
	run hac-update --prefix "$VENV" --force --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '
		.schema_version == 1 and .action == "installed" and .state == "installed" and
		.env.path == "'"$VENV"'" and .release.framework == "24.5.0" and
		.before.packages[0].health == "missing" and
		.installed.framework == "24.5.0" and .installed.packages[0].version == "2.1.0+hac24.5.0" and
		(.downloads | length == 1) and .downloads[0].cached == false and .downloads[0].resumed_from == 0 and
		(.downloads[0].path | endswith("/.cache/hac/releases/24.5.0/torch-2.1.0+hac24.5.0-py3-none-any.whl"))'
	run hac-update --prefix "$VENV" --target 24.5.0 --json
	[ "$(echo "$output" | jq -r .action)" = up_to_date ]
}

@test "--list: every release verified, the pinned, the latest and the installed one marked" {
	add_release 24.6.0
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	run hac-update --prefix "$VENV" --list
	[ "$status" -eq 0 ]
	[[ $output == *"24.5.0"*"torch 2.1.0+hac24.5.0"*"installed"* ]]
	[[ $output == *"24.6.0"*"torch 2.2.0+hac24.6.0"*"pinned, latest"* ]]
	run hac-update --list --json
	echo "$output" | jq -e '.schema_version == 1 and .pinned == "24.6.0" and .latest == "24.6.0" and .env == null and
		([.releases[].framework] == ["24.5.0", "24.6.0"]) and all(.releases[]; .verified)'
}

@test "--check with the allocator pinned to a release older than one installed: advises --allow-older, which works" {
	add_release 24.6.0
	run hac-update --prefix "$VENV" --force
	[ "$status" -eq 0 ]
	stop_allocator
	printf 'pinned = "24.5.0"\n' >>"$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator
	run hac-update --prefix "$VENV" --check
	[ "$status" -eq 10 ]
	[[ $output == *"Run 'hac-update --target 24.5.0 --allow-older' to install it (it is older than 24.6.0, installed before"* ]]
	[[ $output != *"hac-update --force"* ]]
	run hac-update --prefix "$VENV" --target 24.5.0 --allow-older
	[ "$status" -eq 0 ]
	[ "$(torch_version)" = 2.1.0+hac24.5.0 ]
}

@test "--list and --dry-run agree on what is installed" {
	add_release 24.6.0
	pip_install "$WHEELS/24.5.0/"torch-*.whl
	run hac-update --prefix "$VENV" --list
	[[ $output == *"24.5.0"*"installed"* ]]
	run hac-update --prefix "$VENV" --dry-run
	[ "$status" -eq 0 ]
	[[ $output == *"Currently installed: 24.5.0 (torch 2.1.0+hac24.5.0)"* ]]
}
