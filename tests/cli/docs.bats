#!/usr/bin/env bats
# Every option a tool's --help lists, and every subcommand (hac-smi device list ...) with the
# options its own --help lists, is in the tool's man page and in its bash, zsh and fish
# completions; the man pages build with scdoc and have the sections a reader looks for.

bats_require_minimum_version 1.5.0
load ../lib/common

# The tools to check. A tool listed here that is in the build must have man/TOOL.N.scd and
# completions/{bash/TOOL,zsh/_TOOL,fish/TOOL.fish}, or the test fails; one missing from the build
# makes the test a skip naming it (after the others are checked), never a pass. Add a tool here
# when its man page lands.
TOOLS=(hac-smi hac-run hac-usage hac-resize hac-update hac-agent hac-allocator hac-release hac-node-report)

teardown() { stop_all; }

# Prints the path of tool $1 in the build (tools/TOOL/, agent/, allocator/ or node-report/), or
# nothing: a copy installed on the machine does not count.
built_tool() {
	local path
	for path in "$BUILD/tools/$1/$1" "$BUILD/agent/$1" "$BUILD/allocator/$1" "$BUILD/node-report/$1"; do
		[[ -x $path ]] && { echo "$path"; return; }
	done
}

# Prints the man page source of tool $1 (section 1 or 8), or nothing.
man_source() {
	local page
	for page in "$REPO/man/$1.1.scd" "$REPO/man/$1.8.scd"; do
		[[ -f $page ]] && { echo "$page"; return; }
	done
}

# The options in the "Options:" part of the --help of command "$@" (a tool, or a tool and its
# subcommand's words): "-i,--idx N" gives -i and --idx.
help_options() {
	"$@" --help | awk '
		/^[A-Za-z].*:$/ { section = $0; next }
		section == "Options:" && /^  +-/ {
			sub(/^ +/, ""); split($0, column, /  +/); split(column[1], names, /[ ,]/)
			for (i in names) if (names[i] ~ /^--?[A-Za-z0-9]/) print names[i]
		}' | sort -u
}

# The subcommands in the "Subcommands:" part of the --help of command "$@", one name a line.
help_subcommands() {
	"$@" --help | awk '
		/^[A-Za-z].*:$/ { section = $0; next }
		section == "Subcommands:" && /^  +[A-Za-z]/ { print $1 }'
}

# Every subcommand path below command "$@", depth first, as words after the tool: "device",
# "device list", ...
subcommand_paths() {
	local sub subs
	mapfile -t subs < <(help_subcommands "$@")
	for sub in "${subs[@]}"; do
		echo "${*:2} $sub" | sed 's/^ //'
		subcommand_paths "$@" "$sub"
	done
}

# Each check prints what is missing, one line per miss.
missing_in_man() { # page option
	grep -qF -- "*$2*" "$1" || echo "$(basename "$1") lacks *$2* (options are written in bold: *$2*)"
}

# A subcommand path is written in bold, alone or as the start of a longer bold phrase:
# *device*, *device list* or *device list* [_SIZE_].
missing_command_in_man() { # page path
	grep -qE -- "\*$2( |\*)" "$1" || echo "$(basename "$1") lacks *$2* (commands are written in bold: *$2*)"
}

# An option as a word of its own: not a prefix of a longer option, not part of a longer name.
has_word() { # file word
	grep -qE -- "(^|[^A-Za-z0-9_-])$(sed 's/[.]/\\./g' <<<"$2")([^A-Za-z0-9_-]|$)" "$1"
}

missing_in_fish() { # file option
	local spec
	case $2 in
	--*) spec="-l ${2#--}" ;;
	-*) spec="-s ${2#-}" ;;
	esac
	has_word "$1" "$spec" || echo "$(basename "$1") lacks '$spec' (for $2)"
}

@test "docs: every tool's --help options and subcommands are in its man page and its bash, zsh and fish completions" {
	local checked=() skipped=() misses=() tool binary page option f n path paths options sub
	for tool in "${TOOLS[@]}"; do
		binary=$(built_tool "$tool")
		if [[ -z $binary ]]; then
			skipped+=("$tool")
			continue
		fi
		checked+=("$tool")
		mapfile -t options < <(help_options "$binary")
		((${#options[@]} > 0)) || { misses+=("$tool --help lists no options: did its format change?"); continue; }
		# Each subcommand's options join the tool's; its name must be there too.
		mapfile -t paths < <(subcommand_paths "$binary")
		for path in "${paths[@]}"; do
			read -ra sub <<<"$path"
			mapfile -t -O "${#options[@]}" options < <(help_options "$binary" "${sub[@]}")
		done
		mapfile -t options < <(printf '%s\n' "${options[@]}" | sort -u)
		page=$(man_source "$tool")
		[[ -n $page ]] || misses+=("$tool has no man page: write man/$tool.1.scd (or .8.scd) and add it to man/meson.build")
		for f in "bash/$tool" "zsh/_$tool" "fish/$tool.fish"; do
			[[ -f $REPO/completions/$f ]] ||
				misses+=("$tool has no completions/$f: write it and add $tool to completions/meson.build")
		done
		for option in "${options[@]}"; do
			[[ -z $page ]] || mapfile -t -O "${#misses[@]}" misses < <(missing_in_man "$page" "$option")
			for f in "bash/$tool" "zsh/_$tool"; do
				[[ ! -f $REPO/completions/$f ]] || has_word "$REPO/completions/$f" "$option" ||
					misses+=("completions/$f lacks $option")
			done
			f=$REPO/completions/fish/$tool.fish
			[[ ! -f $f ]] || mapfile -t -O "${#misses[@]}" misses < <(missing_in_fish "$f" "$option")
		done
		for path in "${paths[@]}"; do
			[[ -z $page ]] || mapfile -t -O "${#misses[@]}" misses < <(missing_command_in_man "$page" "$path")
			for f in "bash/$tool" "zsh/_$tool" "fish/$tool.fish"; do
				[[ ! -f $REPO/completions/$f ]] || has_word "$REPO/completions/$f" "${path##* }" ||
					misses+=("completions/$f lacks the subcommand ${path##* } (of $tool $path)")
			done
		done
	done
	echo "# checked: ${checked[*]:-none}${skipped:+; not in the build: ${skipped[*]}}" >&3
	((${#checked[@]} > 0))
	n=${#misses[@]}
	((n == 0)) || { printf '%s\n' "${misses[@]}"; false; }
	((${#skipped[@]} == 0)) || skip "not in the build, so not checked: ${skipped[*]}"
}

@test "docs: the check itself notices an option missing from a man page and a completion" {
	printf '*--json*\n' >"$BATS_TEST_TMPDIR/page.scd"
	[ -z "$(missing_in_man "$BATS_TEST_TMPDIR/page.scd" --json)" ]
	[ -n "$(missing_in_man "$BATS_TEST_TMPDIR/page.scd" --count)" ]
	printf 'opts="--query-gpu --jsonl"\n' >"$BATS_TEST_TMPDIR/bash"
	run ! has_word "$BATS_TEST_TMPDIR/bash" --query
	run ! has_word "$BATS_TEST_TMPDIR/bash" --json
	has_word "$BATS_TEST_TMPDIR/bash" --query-gpu
	printf "complete -c t -s i -l idx\n" >"$BATS_TEST_TMPDIR/t.fish"
	[ -z "$(missing_in_fish "$BATS_TEST_TMPDIR/t.fish" -i)$(missing_in_fish "$BATS_TEST_TMPDIR/t.fish" --idx)" ]
	[ -n "$(missing_in_fish "$BATS_TEST_TMPDIR/t.fish" -l)" ]
	run help_options hac-smi
	[[ $output == *--query-gpu* ]]
	[[ $output == *--help-query* ]]
	[[ $output == *-i* ]]
	run help_options hac-smi device rm
	[[ $output == *--yes* ]]
	run subcommand_paths hac-smi
	[[ $output == *"device rm"* ]]
	[[ $(head -n 1 <<<"$output") == device ]]
	printf '*device list* [*--json*]\n' >"$BATS_TEST_TMPDIR/page.scd"
	[ -z "$(missing_command_in_man "$BATS_TEST_TMPDIR/page.scd" device)$(missing_command_in_man "$BATS_TEST_TMPDIR/page.scd" "device list")" ]
	[ -n "$(missing_command_in_man "$BATS_TEST_TMPDIR/page.scd" "device rm")" ]
}

@test "docs: every man page builds with scdoc and has NAME, SYNOPSIS, DESCRIPTION, OPTIONS (or KEYS), EXIT STATUS (not in section 5), EXAMPLES, SEE ALSO" {
	command -v scdoc >/dev/null || skip "scdoc is missing (Debian package scdoc)"
	local page misses=()
	for page in "$REPO"/man/*.scd; do
		scdoc <"$page" >"$BATS_TEST_TMPDIR/page" 2>"$BATS_TEST_TMPDIR/err" ||
			misses+=("$(basename "$page"): $(cat "$BATS_TEST_TMPDIR/err")")
		for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
			grep -qx "# $section" "$page" || misses+=("$(basename "$page") has no '# $section'")
		done
		grep -qxE '# (OPTIONS|KEYS)' "$page" || misses+=("$(basename "$page") has no '# OPTIONS'")
		grep -qxE '# EXAMPLES?' "$page" || misses+=("$(basename "$page") has no '# EXAMPLES'")
		[[ $page == *.5.scd ]] || grep -qx '# EXIT STATUS' "$page" || misses+=("$(basename "$page") has no '# EXIT STATUS'")
	done
	((${#misses[@]} == 0)) || { printf '%s\n' "${misses[@]}"; false; }
}

@test "docs: the completion files parse with bash, zsh and fish" {
	local f missing=()
	for f in "$REPO"/completions/bash/*; do bash -n "$f"; done
	if command -v zsh >/dev/null; then
		for f in "$REPO"/completions/zsh/_*; do zsh -n "$f"; done
	else
		missing+=(zsh)
	fi
	if command -v fish >/dev/null; then
		for f in "$REPO"/completions/fish/*.fish; do fish --no-execute "$f"; done
	else
		missing+=(fish)
	fi
	((${#missing[@]} == 0)) || skip "bash parsed them; ${missing[*]} not installed (scripts/deps test installs zsh and fish)"
}

@test "docs: bash completion offers hac-smi's options, its --query fields and the agent's devices" {
	start_all
	source "$REPO/completions/bash/hac-smi"
	COMP_WORDS=(hac-smi --js)
	COMP_CWORD=1
	_hac_smi
	[ "${COMPREPLY[*]}" = --json ]
	COMP_WORDS=(hac-smi --query index,memory.u)
	COMP_CWORD=2
	_hac_smi
	[ "${COMPREPLY[*]}" = index,memory.used ]
	COMP_WORDS=(hac-smi -i '')
	_hac_smi
	[ "${COMPREPLY[*]}" = 0 ]
}

@test "docs: bash completion offers hac-smi's device commands, and sizes from the agent in any case to hac-resize and hac-smi device add" {
	start_all
	source "$REPO/completions/bash/hac-smi"
	source "$REPO/completions/bash/hac-resize"
	COMP_WORDS=(hac-smi device '')
	COMP_CWORD=2
	_hac_smi
	[ "${COMPREPLY[*]}" = "list add rm switch -h --help" ]
	COMP_WORDS=(hac-smi device add 2x)
	COMP_CWORD=3
	_hac_smi
	[ "${COMPREPLY[*]}" = 2xLarge.192GB ]
	COMP_WORDS=(hac-smi device rm '')
	_hac_smi
	[ "${COMPREPLY[*]}" = 0 ]
	COMP_WORDS=(hac-smi device rm 0 -)
	COMP_CWORD=4
	_hac_smi
	[ "${COMPREPLY[*]}" = "-h --help --json -y --yes" ]
	COMP_WORDS=(hac-resize LARGE)
	COMP_CWORD=1
	_hac_resize
	[ "${COMPREPLY[*]}" = "Large.48GB Large.64GB" ]
	# A word after a bare --wait is its SECONDS, not a size. (Bash empties COMPREPLY before
	# each call; so does the test.)
	COMP_WORDS=(hac-resize --wait '')
	COMP_CWORD=2
	COMPREPLY=()
	_hac_resize
	[ "${#COMPREPLY[@]}" -eq 0 ]
}

@test "docs: fish completion offers hac-smi's device commands and the agent's sizes, and only until the argument is given" {
	command -v fish >/dev/null || skip "fish is missing (Debian package fish)"
	start_all
	complete_fish() { fish -c "source $REPO/completions/fish/hac-smi.fish; complete -C '$1'" | cut -f1 | tr '\n' ' '; }
	[ "$(complete_fish 'hac-smi device ')" = "add list rm switch " ]
	[ "$(complete_fish 'hac-smi device add 2x')" = "2xLarge.192GB " ]
	[ "$(complete_fish 'hac-smi device switch ')" = "0 " ]
	[ -z "$(complete_fish 'hac-smi device switch 0 ')" ]
}
