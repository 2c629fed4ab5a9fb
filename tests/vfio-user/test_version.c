/* SPDX-License-Identifier: MIT */
/* VERSION payloads: encoding, and defensive decoding of what a peer sends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "facet_vfu.h"

static int decode_json(const char *json, size_t jlen, struct facet_vfu_caps *caps)
{
	char buf[4096];
	struct facet_vfu_version v = { 0, 1 };
	uint16_t major, minor;

	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), json, jlen);
	return facet_vfu_version_decode(buf, sizeof(v) + jlen, &major, &minor, caps);
}

#define DECODE(s, caps) decode_json(s, sizeof(s), caps) /* with the NUL */

static void test_roundtrip(void **state)
{
	struct facet_vfu_caps in = { 7, 65536, 100, 4096 | (2u << 20) }, out;
	uint16_t major, minor;
	void *buf;
	size_t len;

	assert_int_equal(facet_vfu_version_encode(0, 1, &in, true, &buf, &len), 0);
	assert_int_equal(facet_vfu_version_decode(buf, len, &major, &minor, &out), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 1);
	assert_int_equal(out.max_msg_fds, in.max_msg_fds);
	assert_int_equal(out.max_data_xfer_size, in.max_data_xfer_size);
	assert_int_equal(out.max_dma_maps, in.max_dma_maps);
	assert_int_equal(out.pgsizes, in.pgsizes);
	free(buf);
	/* without DMA capabilities: defaults for those */
	assert_int_equal(facet_vfu_version_encode(0, 1, &in, false, &buf, &len), 0);
	assert_int_equal(facet_vfu_version_decode(buf, len, &major, &minor, &out), 0);
	assert_int_equal(out.max_msg_fds, 7);
	assert_int_equal(out.max_dma_maps, FACET_VFU_DEFAULT_MAX_DMA_MAPS);
	assert_int_equal(out.pgsizes, FACET_VFU_DEFAULT_PGSIZES);
	free(buf);
}

static void test_defaults(void **state)
{
	struct facet_vfu_version v = { 0, 0 };
	struct facet_vfu_caps caps;
	uint16_t major, minor;

	assert_int_equal(facet_vfu_version_decode(&v, sizeof(v), &major, &minor, &caps), 0);
	assert_int_equal(caps.max_msg_fds, 1);
	assert_int_equal(caps.max_data_xfer_size, 1u << 20);
	assert_int_equal(DECODE("{}", &caps), 0);
	assert_int_equal(DECODE("{\"capabilities\":{}}", &caps), 0);
	assert_int_equal(DECODE("", &caps), 0);
	/* unknown capabilities are ignored */
	assert_int_equal(DECODE("{\"capabilities\":{\"twin_socket\":{\"supported\":true},"
				"\"migration\":{},\"max_msg_fds\":16}}",
				&caps),
			 0);
	assert_int_equal(caps.max_msg_fds, 16);
}

static void test_malformed(void **state)
{
	struct facet_vfu_caps caps;
	uint16_t major, minor;
	char deep[200];

	assert_int_equal(facet_vfu_version_decode("\0", 1, &major, &minor, &caps), -EINVAL);
	assert_int_equal(decode_json("{}", 2, &caps), -EINVAL); /* no NUL */
	assert_int_equal(decode_json("{}\0\0", 4, &caps), -EINVAL);
	assert_int_equal(DECODE("{", &caps), -EINVAL);
	assert_int_equal(DECODE("{} {}", &caps), -EINVAL);
	assert_int_equal(DECODE("null", &caps), -EINVAL);
	assert_int_equal(DECODE("[]", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":[]}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_msg_fds\":\"8\"}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_msg_fds\":1.5}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_msg_fds\":-1}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_msg_fds\":100000}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_data_xfer_size\":0}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_data_xfer_size\":4294967296}}", &caps),
			 -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"pgsizes\":0}}", &caps), -EINVAL);
	assert_int_equal(DECODE("{\"capabilities\":{\"max_dma_maps\":true}}", &caps), -EINVAL);
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	assert_int_equal(decode_json(deep, sizeof(deep), &caps), -EINVAL);
	assert_int_equal(DECODE("\xff\xfe", &caps), -EINVAL);
}

static void test_names(void **state)
{
	assert_string_equal(facet_vfu_cmd_name(FACET_VFU_CMD_DMA_MAP), "DMA_MAP");
	assert_string_equal(facet_vfu_cmd_name(14), "unknown");
	assert_string_equal(facet_vfu_cmd_name(60000), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
