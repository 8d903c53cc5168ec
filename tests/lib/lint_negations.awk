# Prints FILE:LINE for each negated command (`! cmd`) in a bats test or function that is not its
# last line: bash's set -e ignores a command negated with !, so such a line never fails a test.
# Use `run ! cmd` or a [[ ]] check instead (tests/README.md). Usage: awk -f lint_negations.awk FILE...
function report() {
	if (pending) print FILENAME ":" pending ": a negated command that is not the test's last line never fails it; use 'run ! ...'"
	pending = 0
}

FNR == 1 { pending = 0; body = 0; heredoc = ""; continued = 0 }

# Inside a here-document: skip to its delimiter.
heredoc != "" {
	line = $0
	sub(/^\t*/, "", line)
	if (line == heredoc) heredoc = ""
	next
}

# A test or a function whose body spans lines starts at column 0 and ends with a lone }.
/^(@test |[A-Za-z_][A-Za-z0-9_]*\(\) *\{ *$|function )/ && /\{ *$/ { body = 1; pending = 0; continued = 0; next }
body && /^\}/ { body = 0; pending = 0; continued = 0; next }
!body { next }

/^[ \t]*(#.*)?$/ { next }

{
	starts = !continued
	continued = /\\$/
	if (match($0, /(^|[^<])<<-?[ \t]*['"]?[A-Za-z_]+['"]?/)) {
		heredoc = substr($0, RSTART, RLENGTH)
		sub(/^[^<]?<<-?[ \t]*['"]?/, "", heredoc)
		sub(/['"]$/, "", heredoc)
	}
	if (!starts) next
	report()
	if ($0 ~ /^[ \t]*![ \t]/) pending = FNR
}

