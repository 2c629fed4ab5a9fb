# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Helpers of the tests/verbs scripts (sourced, not run). The tests run the
# stock verbs tools (ibverbs-utils, perftest) unmodified under facet-run, on
# devices of facet-refnic model processes. Every process gets a time limit,
# and the EXIT trap kills whatever is left.
#
# The sourcing script sets VT_TEST (its name) and calls vt_setup with
# FACET_REFNIC FACET_RUN PLUGIN_DIR.

VT_PIDS=()
VT_MODELS=()
VT_DIR=""

vt_fail() {
	echo "$VT_TEST: FAIL: $*" >&2
	exit 1
}

vt_log() {
	echo "$VT_TEST: $*"
}

vt_cleanup() {
	local st=$?
	set +e
	for p in "${VT_PIDS[@]}"; do kill -s KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[[ -n $VT_DIR ]] && rm -rf "$VT_DIR"
	exit "$st"
}

# vt_setup FACET_REFNIC FACET_RUN PLUGIN_DIR [TOOLS...]: skip (77) when a tool is missing.
vt_setup() {
	VT_MODEL=$1 VT_RUN=$2
	export FACET_PLUGIN_PATH=$3
	shift 3
	for t in "$@"; do
		command -v "$t" >/dev/null || {
			echo "$VT_TEST: SKIP: $t not installed (scripts/install-deps.sh installs it)"
			exit 77
		}
	done
	VT_DIR=$(mktemp -d /tmp/facet-verbs.XXXXXX)
	trap vt_cleanup EXIT
	trap 'exit 143' TERM INT HUP
}

# vt_model NAME ARGS...: start a model process (its sockets under $VT_DIR),
# wait until every socket it serves listens. Sets VT_MODEL_PID.
vt_model() {
	local name=$1 n i log
	shift
	log=$VT_DIR/model-$name.log
	"$VT_MODEL" "$@" >"$log" 2>&1 &
	VT_MODEL_PID=$!
	VT_PIDS+=("$VT_MODEL_PID")
	VT_MODELS+=("$name:$VT_MODEL_PID")
	n=$(grep -o -- "--socket" <<<"$*" | wc -l)
	for ((i = 0; i < 200; i++)); do
		[[ $(grep -c "serving on" "$log") -ge $n ]] && return 0
		kill -0 "$VT_MODEL_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$log" >&2
	vt_fail "model $name did not start"
}

# Stop every model with SIGTERM: each must exit 0 (its devices closed cleanly).
vt_stop_models() {
	local m name pid st i
	for m in "${VT_MODELS[@]}"; do
		name=${m%%:*} pid=${m##*:} st=0
		kill -s TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		wait "$pid" || st=$?
		[[ $st -eq 0 ]] || { cat "$VT_DIR/model-$name.log" >&2; vt_fail "model $name exited $st"; }
	done
	VT_MODELS=()
}

# vt_free_port t|u: a TCP (t) or UDP (u) port of 127.0.0.1 nobody has bound.
vt_free_port() {
	local p proto=$1
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if [[ -z $(ss -H"$proto"ln "sport = :$p" 2>/dev/null) ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# vt_run SECONDS LOG DEVICE COMMAND...: run COMMAND under facet-run on DEVICE
# in the foreground with a time limit; its output goes to LOG; returns its status.
vt_run() {
	local secs=$1 log=$2 dev=$3
	shift 3
	timeout -k 2 "$secs" "$VT_RUN" --dev "$dev" -- "$@" >"$log" 2>&1
}

# vt_pair NAME SECONDS DEV_SERVER DEV_CLIENT SERVER_CMD... -- CLIENT_CMD...:
# start the server, give it a moment to listen, run the client; both must
# exit 0 within SECONDS. Their output is in $VT_DIR/NAME-{server,client}.log.
vt_pair() {
	local name=$1 secs=$2 dsrv=$3 dcli=$4 srv=() cli=() spid sst=0 cst=0 i
	shift 4
	while [[ $# -gt 0 && $1 != "--" ]]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	timeout -k 2 "$secs" "$VT_RUN" --dev "$dsrv" -- "${srv[@]}" >"$VT_DIR/$name-server.log" 2>&1 &
	spid=$!
	VT_PIDS+=("$spid")
	# The server listens once its device is open; the client retries its
	# connect only briefly, so wait for the port.
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ss -Htln "sport = :$VT_PORT" 2>/dev/null) ]] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	vt_run "$secs" "$VT_DIR/$name-client.log" "$dcli" "${cli[@]}" || cst=$?
	wait "$spid" || sst=$?
	if [[ $sst -ne 0 || $cst -ne 0 ]]; then
		echo "--- $name server (exit $sst): ${srv[*]}" >&2
		cat "$VT_DIR/$name-server.log" >&2
		echo "--- $name client (exit $cst): ${cli[*]}" >&2
		cat "$VT_DIR/$name-client.log" >&2
		return 1
	fi
	return 0
}
