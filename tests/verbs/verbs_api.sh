#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# verbs_api: test_verbs_api (a cmocka program linked against libibverbs
# only) under facet-run, on two devices of one model process.
#
#   verbs_api.sh FACET_REFNIC FACET_RUN PLUGIN_DIR TEST_VERBS_API
set -euo pipefail

# shellcheck disable=SC2034 # verbs_lib.sh uses it
VT_TEST=verbs_api
# shellcheck source=tests/verbs/verbs_lib.sh
. "$(dirname "$0")/verbs_lib.sh"
vt_setup "$1" "$2" "$3"
vt_model m --socket "$VT_DIR/a.sock" --socket "$VT_DIR/b.sock" --mac 02:fa:ce:00:00:00
timeout -k 2 120 "$VT_RUN" --dev "vfio-user:$VT_DIR/a.sock" --dev "vfio-user:$VT_DIR/b.sock" \
	-- "$4"
vt_stop_models
