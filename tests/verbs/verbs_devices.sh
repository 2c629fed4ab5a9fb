#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# verbs_devices: the stock ibv_devices and ibv_devinfo see Facet devices.
#
# One model process serves two devices. Under facet-run with both:
# ibv_devices lists facet_refnic0 and facet_refnic1 with the EUI-64 of their
# MACs as node GUIDs (on this machine libibverbs itself finds no device);
# ibv_devinfo shows port 1 ACTIVE on Ethernet with GID 0 the link-local
# address of the MAC, and -v the device limits. Preloaded without devices,
# the provider changes nothing; a device that is not there gives a clear
# message.
#
#   verbs_devices.sh FACET_REFNIC FACET_RUN PLUGIN_DIR PROVIDER
set -euo pipefail

# shellcheck disable=SC2034 # verbs_lib.sh uses it
VT_TEST=verbs_devices
# shellcheck source=tests/verbs/verbs_lib.sh
. "$(dirname "$0")/verbs_lib.sh"
provider=$4
vt_setup "$1" "$2" "$3" ibv_devices ibv_devinfo

vt_model m --socket "$VT_DIR/a.sock" --socket "$VT_DIR/b.sock" --mac 02:fa:ce:00:00:00
a=vfio-user:$VT_DIR/a.sock b=vfio-user:$VT_DIR/b.sock

timeout 30 "$VT_RUN" --dev "$a" --dev "$b" ibv_devices >"$VT_DIR/devices.log" 2>&1 ||
	{ cat "$VT_DIR/devices.log"; vt_fail "ibv_devices failed"; }
cat "$VT_DIR/devices.log"
grep -Eq '^\s+facet_refnic0\s+00facefffe000000$' "$VT_DIR/devices.log" ||
	vt_fail "ibv_devices does not list facet_refnic0 with GUID 00facefffe000000"
grep -Eq '^\s+facet_refnic1\s+00facefffe000100$' "$VT_DIR/devices.log" ||
	vt_fail "ibv_devices does not list facet_refnic1 with GUID 00facefffe000100"

timeout 30 "$VT_RUN" --dev "$a" ibv_devinfo -d facet_refnic0 >"$VT_DIR/devinfo.log" 2>&1 ||
	{ cat "$VT_DIR/devinfo.log"; vt_fail "ibv_devinfo failed"; }
cat "$VT_DIR/devinfo.log"
for want in 'hca_id:\s+facet_refnic0' 'transport:\s+InfiniBand \(0\)' \
	'node_guid:\s+00fa:ceff:fe00:0000' 'vendor_id:\s+0x1fac' 'phys_port_cnt:\s+1' \
	'state:\s+PORT_ACTIVE \(4\)' 'active_mtu:\s+(1024|2048|4096)' 'link_layer:\s+Ethernet'; do
	grep -Eq "$want" "$VT_DIR/devinfo.log" || vt_fail "ibv_devinfo: no /$want/"
done

timeout 30 "$VT_RUN" --dev "$a" ibv_devinfo -v >"$VT_DIR/devinfo-v.log" 2>&1 ||
	{ cat "$VT_DIR/devinfo-v.log"; vt_fail "ibv_devinfo -v failed"; }
for want in 'max_qp:\s+[1-9]' 'max_cqe:\s+[1-9]' 'max_mr_size:\s+0x[1-9a-f]' \
	'max_qp_rd_atom:\s+[1-9]' 'max_pkeys:\s+1' 'max_msg_sz:\s+0x[1-9a-f]' \
	'gid_tbl_len:\s+[1-9]' 'pkey_tbl_len:\s+1' 'GID\[  0\]:\s+fe80::fa:ceff:fe00:0, RoCE v2'; do
	grep -Eq "$want" "$VT_DIR/devinfo-v.log" || { cat "$VT_DIR/devinfo-v.log";
		vt_fail "ibv_devinfo -v: no /$want/"; }
done

# The provider preloaded with no devices named: libibverbs' answer unchanged.
plain_st=0 pre_st=0
timeout 30 ibv_devices >"$VT_DIR/plain.log" 2>&1 || plain_st=$?
# A sanitizer build's provider needs its runtimes first, as facet-run does it.
runtimes=$(ldd "$provider" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { print $3 }' | paste -sd:)
LD_PRELOAD=${runtimes:+$runtimes:}$provider timeout 30 ibv_devices >"$VT_DIR/pre.log" 2>&1 ||
	pre_st=$?
if [[ $plain_st -ne $pre_st ]] || ! diff -u "$VT_DIR/plain.log" "$VT_DIR/pre.log"; then
	vt_fail "preloading without FACET_RDMA_DEVICES changed ibv_devices ($plain_st -> $pre_st)"
fi

# A device nobody serves: named in the log, and no Facet device listed.
timeout 30 "$VT_RUN" --dev "vfio-user:$VT_DIR/none.sock" ibv_devices >"$VT_DIR/none.log" 2>&1 ||
	true
cat "$VT_DIR/none.log"
grep -q "cannot open vfio-user:$VT_DIR/none.sock" "$VT_DIR/none.log" ||
	vt_fail "no message naming the device that is not there"
! grep -q facet_refnic "$VT_DIR/none.log" || vt_fail "a device is listed that is not there"

vt_stop_models
vt_log "OK: ibv_devices and ibv_devinfo see facet_refnic0 and facet_refnic1"
