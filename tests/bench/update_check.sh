#!/usr/bin/env bash
# Benchmark of hac-update --check on a healthy venv against the floor the issue sets: one Python
# start that reads torch's version (python -c 'import importlib.metadata as m; print(m.version("torch"))').
# Both run 20 times in this same run, on this machine; the medians and their ratio are printed
# (the aim: within 2x). Also hac-update --force end to end on the test wheel, cold (empty cache)
# and warm (median of 5). Real processes: hac-allocator serving a signed release, hac-agent
# pointing at it, a venv. Exit 77 when it cannot run.
#
# Usage: HAC_BUILD=build tests/bench/update_check.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export HAC_BUILD=${HAC_BUILD:-$REPO/build}
[[ $HAC_BUILD == /* ]] || HAC_BUILD=$PWD/$HAC_BUILD
[[ -x $HAC_BUILD/tools/hac-update/hac-update ]] || { echo "skip: $HAC_BUILD has no hac-update; build it first" >&2; exit 77; }
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
[[ -n $PY ]] && "$PY" -c 'import venv, ensurepip' 2>/dev/null || { echo "skip: python3-venv is not installed" >&2; exit 77; }

BATS_TEST_TMPDIR=$(mktemp -d)
export BATS_TEST_TMPDIR
# shellcheck source=tests/lib/common.bash
source "$REPO/tests/lib/common.bash"
cleanup() {
	stop_agent
	stop_allocator
	rm -rf "$BATS_TEST_TMPDIR"
}
trap cleanup EXIT

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

# now_us: microseconds from bash's clock; time_us CMD...: prints how long CMD took.
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
time_us() {
	local start end
	start=$(now_us)
	"$@" >/dev/null 2>&1 || true
	end=$(now_us)
	echo $((end - start))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }

cold=$(time_us hac-update --prefix "$VENV" --force)
hac-update --prefix "$VENV" --check >/dev/null || { echo "error: the venv is not healthy after --force" >&2; exit 1; }
warm=$(for _ in 1 2 3 4 5; do time_us hac-update --prefix "$VENV" --force; done | median)

check=$(for _ in $(seq 20); do time_us hac-update --prefix "$VENV" --check; done | median)
python=$(for _ in $(seq 20); do time_us "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))'; done | median)

echo "hac-update --check (healthy venv, via hac-agent and hac-allocator), median of 20: $(ms "$check")"
echo "python -c 'importlib.metadata ... version(\"torch\")', median of 20:            $(ms "$python")"
awk -v a="$check" -v b="$python" 'BEGIN { printf "ratio --check / python: %.2f (aim: within 2x)\n", a / b }'
echo "hac-update --force end to end, test wheel of $(stat -c %s "$T"/wheels/*.whl) bytes: cold $(ms "$cold"), warm (cached) median of 5 $(ms "$warm")"
