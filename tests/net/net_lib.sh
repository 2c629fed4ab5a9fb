# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # NET_STATUS is the callers'
#
# Helpers of the tests/net scripts (sourced, not run). Each test starts
# processes in the background with their output in $NET_DIR, waits for the
# line that says they are ready, and checks what they print at the end.
#
# The sourcing script sets NET_TEST (its name, for messages) and NET_DIR
# (a scratch directory it removes in its clean-up).

# Print "NAME: FAIL: message" and exit 1 (the EXIT trap cleans up).
net_fail() {
	echo "$NET_TEST: FAIL: $*" >&2
	exit 1
}

net_log() {
	echo "$NET_TEST: $*"
}

# net_wait_line FILE PATTERN PID SECONDS: until FILE has a line matching
# PATTERN (grep -E). Fails if PID exits first or the time runs out.
net_wait_line() {
	local file=$1 pattern=$2 pid=$3 secs=$4 i
	for ((i = 0; i < secs * 20; i++)); do
		grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || {
			cat "$file" >&2 || true
			net_fail "process $pid exited before printing /$pattern/"
		}
		sleep 0.05
	done
	cat "$file" >&2 || true
	net_fail "no /$pattern/ in $file after ${secs}s"
}

# net_stop PID SIGNAL SECONDS: send SIGNAL and wait up to SECONDS for PID (a
# child of this shell) to exit, then SIGKILL it. Its exit status goes to
# NET_STATUS (137 after SIGKILL). Not for $(...): only the parent can wait.
net_stop() {
	local pid=$1 sig=$2 secs=$3 i
	NET_STATUS=0
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -s KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || NET_STATUS=$?
}

# net_number FILE SED_REGEX: the first number a sed -E capture group finds
# in FILE (e.g. 's/.*: rx ([0-9]+) frames.*/\1/p'); fails if there is none.
net_number() {
	local file=$1 expr=$2 v
	v=$(sed -nE "$expr" "$file" | head -n 1)
	[[ $v =~ ^[0-9]+$ ]] || {
		cat "$file" >&2
		net_fail "no number for '$expr' in $file"
	}
	echo "$v"
}
