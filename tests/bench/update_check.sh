#!/usr/bin/env bash
# Benchmark of hac-update --check on a healthy venv against the floor the issue sets: one Python
# start that reads torch's version (python -c 'import importlib.metadata as m; print(m.version("torch"))').
# Both run 20 times (2 quick) in this same run, on this machine, alternating (the aim: within 2x).
# Also hac-update --force end to end on the test wheel, cold (empty cache) and warm (5 runs, 1
# quick). Real processes: hac-allocator serving a signed release, hac-agent pointing at it, a venv.
# Exit 77 when it cannot run.
#   usage: tests/bench/update_check.sh   (HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x $BUILD/tools/hac-update/hac-update ]] || skip "$BUILD has no hac-update; build it first"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
[[ -n $PY ]] && "$PY" -c 'import venv, ensurepip' 2>/dev/null || skip "python3-venv is not installed"

T=$BATS_TEST_TMPDIR
export HOME=$T/home HAC_KEYS_DIR=$T/keys PYTHONDONTWRITEBYTECODE=1
unset XDG_CACHE_HOME XDG_STATE_HOME CONDA_PREFIX VIRTUAL_ENV
mkdir -p "$HOME" "$HAC_KEYS_DIR" "$T/releases"
"$PY" "$REPO/tests/lib/make_wheel.py" "$T/wheels" torch 2.1.0+hac24.5.0 --pad 300000 >/dev/null
openssl genpkey -algorithm ed25519 -out "$T/release.key" 2>/dev/null
openssl pkey -in "$T/release.key" -pubout -out "$HAC_KEYS_DIR/release.pem"
hac-release --key "$T/release.key" --framework 24.5.0 --wheels "$T/wheels" --releases "$T/releases" >/dev/null
write_allocator_config
printf '\n[releases]\ndir = "%s"\n' "$T/releases" >>"$T/allocator.toml"
start_allocator
start_agent
"$PY" -m venv "$T/venv" >/dev/null
VENV=$T/venv

# time_ms CMD...: prints how long CMD took, in ms; CMD must succeed.
time_ms() {
	local start=${EPOCHREALTIME/[.,]/} rc=0
	"$@" >/dev/null 2>&1 || rc=$?
	((rc == 0)) || { echo "update_check.sh: '$*' exited with status $rc" >&2; return 1; }
	awk -v us="$((${EPOCHREALTIME/[.,]/} - start))" 'BEGIN { printf "%.2f\n", us / 1000 }'
}
wheel="test wheel of $(stat -c %s "$T"/wheels/*.whl) bytes"

cold=$(time_ms hac-update --prefix "$VENV" --force)
hac-update --prefix "$VENV" --check >/dev/null || { echo "error: the venv is not healthy after --force" >&2; exit 1; }
warm=()
for ((i = 0; i < $(bench_size 5 1); i++)); do warm+=("$(time_ms hac-update --prefix "$VENV" --force)"); done

check=() python=()
for ((i = 0; i < $(bench_size 20 2); i++)); do
	check+=("$(time_ms hac-update --prefix "$VENV" --check)")
	python+=("$(time_ms "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))')")
done

bench_row "hac-update --check, healthy venv" ms "python -c: importlib.metadata.version(\"torch\")" false \
	'{"target_ratio": 2}' "${check[@]}" -- "${python[@]}"
bench_row "hac-update --force, cold (empty cache)" ms "" false "{\"wheel\": \"$wheel\"}" "$cold"
bench_row "hac-update --force, warm (cached)" ms "" false "{\"wheel\": \"$wheel\"}" "${warm[@]}"
