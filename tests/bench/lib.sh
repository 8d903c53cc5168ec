# Shared by the benchmark scripts: a temporary directory with a real hac-allocator and hac-agent,
# started by the same helpers the bats tests use. Source it; it cleans up on exit.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BATS_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/hac-bench.XXXXXX")
BATS_TEST_COMPLETED=1  # stop_all prints the logs only for a failed bats test
skip() { echo "skipped: $*" >&2; exit 77; }
# shellcheck source=../lib/common.bash
source "$BENCH_DIR/../lib/common.bash"

bench_cleanup() {
	stop_all
	rm -rf "$BATS_TEST_TMPDIR"
}
trap bench_cleanup EXIT
