/* SPDX-License-Identifier: MIT */
/* facet_log: threshold specs, per-tag levels and sinks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "facet_log.h"

static struct {
	int n;
	enum facet_log_level level;
	char tag[32];
	char msg[256];
} seen;

static void sink(enum facet_log_level level, const char *tag, const char *msg)
{
	seen.n++;
	seen.level = level;
	snprintf(seen.tag, sizeof(seen.tag), "%s", tag);
	snprintf(seen.msg, sizeof(seen.msg), "%s", msg);
}

static int reset(void **state)
{
	memset(&seen, 0, sizeof(seen));
	facet_log_set_sink(NULL);
	return 0;
}

/* main() sets FACET_LOG=error,env=debug before anything logs. */
static void test_env_threshold(void **state)
{
	assert_true(facet_log_enabled(FACET_LOG_ERR, "bus"));
	assert_false(facet_log_enabled(FACET_LOG_WARN, "bus"));
	assert_true(facet_log_enabled(FACET_LOG_DEBUG, "env"));
}

static void test_configure_level(void **state)
{
	assert_int_equal(facet_log_configure("debug"), 0);
	assert_true(facet_log_enabled(FACET_LOG_DEBUG, "bus"));
	assert_true(facet_log_enabled(FACET_LOG_ERR, "core"));
	assert_false(facet_log_enabled(FACET_LOG_NONE, "bus"));
	/* The spec replaces the previous one, per-tag entries included. */
	assert_int_equal(facet_log_configure("info"), 0);
	assert_false(facet_log_enabled(FACET_LOG_DEBUG, "env"));
	assert_true(facet_log_enabled(FACET_LOG_INFO, "env"));
	assert_false(facet_log_enabled(FACET_LOG_DEBUG, "bus"));
}

static void test_configure_per_tag(void **state)
{
	assert_int_equal(facet_log_configure("warn,bus=debug"), 0);
	assert_true(facet_log_enabled(FACET_LOG_DEBUG, "bus"));
	assert_true(facet_log_enabled(FACET_LOG_WARN, "core"));
	assert_false(facet_log_enabled(FACET_LOG_INFO, "core"));
	assert_false(facet_log_enabled(FACET_LOG_DEBUG, "bus2"));
	assert_false(facet_log_enabled(FACET_LOG_DEBUG, "bu"));

	assert_int_equal(facet_log_configure("debug,refnic=error"), 0);
	assert_false(facet_log_enabled(FACET_LOG_WARN, "refnic"));
	assert_true(facet_log_enabled(FACET_LOG_ERR, "refnic"));
	assert_true(facet_log_enabled(FACET_LOG_DEBUG, "bus"));

	assert_int_equal(facet_log_configure("bus=none"), 0);
	assert_false(facet_log_enabled(FACET_LOG_ERR, "bus"));
	assert_true(facet_log_enabled(FACET_LOG_WARN, "core")); /* default level is warn */
	assert_false(facet_log_enabled(FACET_LOG_INFO, "core"));
}

static void test_configure_none(void **state)
{
	assert_int_equal(facet_log_configure("none"), 0);
	assert_false(facet_log_enabled(FACET_LOG_ERR, "bus"));
	assert_false(facet_log_enabled(FACET_LOG_ERR, "core"));
	facet_log_set_sink(sink);
	FACET_ERR("bus", "dropped");
	assert_int_equal(seen.n, 0);
}

static void test_configure_malformed(void **state)
{
	static const char *const bad[] = {
		"bogus", "bus=", "=debug", "warn,bus=loud", "debug,bus", "info=bus=debug",
	};

	assert_int_equal(facet_log_configure("error,bus=debug"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("spec \"%s\"\n", bad[i]);
		assert_int_equal(facet_log_configure(bad[i]), -EINVAL);
		/* The previous threshold stays, entirely. */
		assert_true(facet_log_enabled(FACET_LOG_DEBUG, "bus"));
		assert_true(facet_log_enabled(FACET_LOG_ERR, "core"));
		assert_false(facet_log_enabled(FACET_LOG_WARN, "core"));
	}
	assert_int_equal(facet_log_configure(NULL), -EINVAL);
	assert_true(facet_log_enabled(FACET_LOG_DEBUG, "bus"));
}

static void test_custom_sink(void **state)
{
	assert_int_equal(facet_log_configure("warn,bus=info"), 0);
	facet_log_set_sink(sink);
	FACET_WARN("core", "disk %d on fire", 3);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.level, FACET_LOG_WARN);
	assert_string_equal(seen.tag, "core");
	assert_string_equal(seen.msg, "disk 3 on fire"); /* no trailing newline */

	FACET_INFO("core", "filtered");
	FACET_DEBUG("bus", "filtered");
	assert_int_equal(seen.n, 1);
	FACET_INFO("bus", "kept %s", "this");
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.level, FACET_LOG_INFO);
	assert_string_equal(seen.msg, "kept this");

	facet_log_set_sink(NULL);
	FACET_ERR("core", "to stderr, not to the old sink");
	assert_int_equal(seen.n, 2);
}

static void test_level_names(void **state)
{
	assert_string_equal(facet_log_level_name(FACET_LOG_ERR), "error");
	assert_string_equal(facet_log_level_name(FACET_LOG_WARN), "warn");
	assert_string_equal(facet_log_level_name(FACET_LOG_INFO), "info");
	assert_string_equal(facet_log_level_name(FACET_LOG_DEBUG), "debug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env_threshold, reset, reset),
		cmocka_unit_test_setup_teardown(test_configure_level, reset, reset),
		cmocka_unit_test_setup_teardown(test_configure_per_tag, reset, reset),
		cmocka_unit_test_setup_teardown(test_configure_none, reset, reset),
		cmocka_unit_test_setup_teardown(test_configure_malformed, reset, reset),
		cmocka_unit_test_setup_teardown(test_custom_sink, reset, reset),
		cmocka_unit_test_setup_teardown(test_level_names, reset, reset),
	};

	/* Read once, before the first log call; facet_log_configure() replaces it. */
	setenv("FACET_LOG", "error,env=debug", 1);
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
