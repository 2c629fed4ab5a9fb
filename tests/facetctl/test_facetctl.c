/* SPDX-License-Identifier: MIT */
/*
 * facetctl end to end: run the built binary (argv[1]) on batch scripts fed
 * through stdin, with FACET_PLUGIN_PATH at the build tree's plugins, and
 * check what it prints (the JSON of -j, events of -e, errors, exit codes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

extern char **environ;

static const char *facetctl_path;

struct run {
	int status; /* exit code; 128 + signal if killed */
	char *out;
	char *err;
};

static char *slurp(FILE *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;

	assert_non_null(mem);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(mem);
	return buf;
}

/* Run facetctl with @args (NULL-terminated) and @input on stdin. */
static void run_facetctl(struct run *r, const char *input, const char *const *args)
{
	const char *argv[32] = { facetctl_path };
	FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
	posix_spawn_file_actions_t fa;
	int n = 1, status;
	pid_t pid;

	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(err);
	for (; args && *args; args++) {
		assert_true(n < 31);
		argv[n++] = *args;
	}
	argv[n] = NULL;
	fputs(input ? input : "", in);
	fflush(in);
	rewind(in);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fileno(in), 0);
	posix_spawn_file_actions_adddup2(&fa, fileno(out), 1);
	posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
	assert_int_equal(posix_spawn(&pid, facetctl_path, &fa, NULL, (char *const *)argv, environ),
			 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = slurp(out);
	r->err = slurp(err);
	fclose(in);
	fclose(out);
	fclose(err);
}

/* Check the exit status; on a mismatch show what facetctl said. */
#define assert_status(r, expected)                                                                 \
	do {                                                                                       \
		if ((r)->status != (expected))                                                     \
			fail_msg(                                                                  \
				"facetctl exited %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", \
				(r)->status, (expected), (r)->out, (r)->err);                      \
	} while (0)

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Run a batch script from stdin, with @opt ("-j", "-e"...; may be NULL) first. */
static void run_batch(struct run *r, const char *opt, const char *script)
{
	const char *args[] = { opt ? opt : "-b", opt ? "-b" : "-", opt ? "-" : NULL, NULL };

	run_facetctl(r, script, args);
}

/* Line @n (0-based) of @s that parses as JSON, or NULL. Drop it with json_object_put(). */
static struct json_object *json_doc(const char *s, int n)
{
	char *copy = strdup(s), *save = NULL;
	struct json_object *doc = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *obj = json_tokener_parse(line);

		if (!obj)
			continue;
		if (n-- == 0) {
			doc = obj;
			break;
		}
		json_object_put(obj);
	}
	free(copy);
	return doc;
}

/* The device object named @name in a "show" array, or NULL. */
static struct json_object *find_dev(struct json_object *arr, const char *name)
{
	assert_true(json_object_is_type(arr, json_type_array));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *dev = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(dev, "name", &v) &&
		    strcmp(json_object_get_string(v), name) == 0)
			return dev;
	}
	return NULL;
}

/* String member @key of @obj; NULL if it is JSON null. Fails if absent. */
static const char *field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, key, &v));
	return v ? json_object_get_string(v) : NULL;
}

static const char *dev_field(struct json_object *arr, const char *dev, const char *key)
{
	struct json_object *obj = find_dev(arr, dev);

	if (!obj)
		fail_msg("device %s missing from the show output", dev);
	return field(obj, key);
}

static const char *dev_attr(struct json_object *arr, const char *dev, const char *key)
{
	struct json_object *attrs;

	dev_field(arr, dev, "name");
	assert_true(json_object_object_get_ex(find_dev(arr, dev), "attrs", &attrs));
	return field(attrs, key);
}

#define assert_driver(arr, dev, drv)                                                               \
	do {                                                                                       \
		const char *d_ = dev_field(arr, dev, "driver");                                    \
		if (!(drv))                                                                        \
			assert_null(d_);                                                           \
		else                                                                               \
			assert_string_equal(d_ ? d_ : "(null)", (drv) ? (drv) : "");               \
	} while (0)

/* Index of the first line of @s containing @needle, or -1. */
static int line_index(const char *s, const char *needle)
{
	int i = 0;

	for (const char *line = s; *line; i++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *copy = strndup(line, len);
		bool found = strstr(copy, needle) != NULL;

		free(copy);
		if (found)
			return i;
		if (!nl)
			break;
		line = nl + 1;
	}
	return -1;
}

/* ---- tests -------------------------------------------------------------- */

static void test_add_publishes_and_binds(void **state)
{
	struct json_object *arr, *children;
	struct run r;

	run_batch(&r, "-j", "add exdev.core.0 ports=2\nshow\n");
	assert_status(&r, 0);
	arr = json_doc(r.out, 0);
	assert_non_null(arr);
	assert_driver(arr, "exdev.core.0", "exdev_core");
	assert_int_equal(json_object_array_length(arr), 5);
	assert_null(dev_field(arr, "exdev.core.0", "parent"));
	assert_string_equal(dev_field(arr, "exdev.core.0", "match"), "exdev.core");
	assert_string_equal(dev_attr(arr, "exdev.core.0", "ports"), "2");
	children = json_object_object_get(find_dev(arr, "exdev.core.0"), "children");
	assert_int_equal(json_object_array_length(children), 4);

	for (int i = 0; i < 2; i++) {
		char eth[32], rdma[32];

		snprintf(eth, sizeof(eth), "exdev.eth.%d", i);
		snprintf(rdma, sizeof(rdma), "exdev.rdma.%d", i);
		assert_string_equal(dev_field(arr, eth, "parent"), "exdev.core.0");
		assert_string_equal(dev_field(arr, rdma, "parent"), "exdev.core.0");
		assert_driver(arr, eth, "exdev_eth");
		assert_driver(arr, rdma, "exdev_rdma");
	}
	assert_int_equal(
		json_object_get_int(json_object_object_get(find_dev(arr, "exdev.eth.1"), "id")), 1);
	assert_string_equal(dev_attr(arr, "exdev.eth.1", "mac"), "02:fa:ce:00:00:01");
	json_object_put(arr);
	run_free(&r);
}

static void test_unbind_keeps_sibling_and_bind_rebinds(void **state)
{
	struct json_object *before, *after;
	struct run r;

	run_batch(&r, "-j",
		  "add exdev.core.0\n"
		  "unbind exdev.rdma.0\n"
		  "show\n"
		  "bind exdev.rdma.0\n"
		  "show\n");
	assert_status(&r, 0);
	before = json_doc(r.out, 0);
	after = json_doc(r.out, 1);
	assert_non_null(before);
	assert_non_null(after);

	assert_driver(before, "exdev.rdma.0", NULL);
	assert_driver(before, "exdev.eth.0", "exdev_eth");
	assert_driver(before, "exdev.core.0", "exdev_core");
	assert_driver(after, "exdev.rdma.0", "exdev_rdma");
	assert_driver(after, "exdev.eth.0", "exdev_eth");
	json_object_put(before);
	json_object_put(after);
	run_free(&r);
}

static void test_unload_then_rebind_reloads(void **state)
{
	struct json_object *unloaded, *reloaded, *drivers;
	bool found = false;
	struct run r;

	run_batch(&r, "-j",
		  "add exdev.core.0\n"
		  "unload facet_exdev_rdma.so\n"
		  "show\n"
		  "rebind exdev.rdma.0\n"
		  "show\n"
		  "drivers\n");
	assert_status(&r, 0);
	unloaded = json_doc(r.out, 0);
	reloaded = json_doc(r.out, 1);
	drivers = json_doc(r.out, 2);
	assert_non_null(unloaded);
	assert_non_null(reloaded);
	assert_non_null(drivers);

	assert_driver(unloaded, "exdev.rdma.0", NULL);
	assert_driver(unloaded, "exdev.eth.0", "exdev_eth");
	assert_driver(reloaded, "exdev.rdma.0", "exdev_rdma");
	for (size_t i = 0; i < json_object_array_length(drivers); i++) {
		struct json_object *d = json_object_array_get_idx(drivers, i);

		if (strcmp(field(d, "name"), "exdev_rdma") == 0) {
			assert_string_equal(field(d, "plugin"), "facet_exdev_rdma.so");
			found = true;
		}
	}
	assert_true(found);
	json_object_put(unloaded);
	json_object_put(reloaded);
	json_object_put(drivers);
	run_free(&r);
}

static void test_override(void **state)
{
	struct json_object *forced, *cleared;
	struct run r;

	run_batch(&r, "-j",
		  "add exdev.core.0\n"
		  "override exdev.rdma.0 exdev_eth\n"
		  "rebind exdev.rdma.0\n"
		  "show exdev.rdma.0\n"
		  "override exdev.rdma.0 none\n"
		  "rebind exdev.rdma.0\n"
		  "show exdev.rdma.0\n");
	assert_status(&r, 0);
	forced = json_doc(r.out, 0);
	cleared = json_doc(r.out, 1);
	assert_non_null(forced);
	assert_non_null(cleared);
	assert_int_equal(json_object_array_length(forced), 1);
	assert_driver(forced, "exdev.rdma.0", "exdev_eth");
	assert_driver(cleared, "exdev.rdma.0", "exdev_rdma");
	json_object_put(forced);
	json_object_put(cleared);
	run_free(&r);
}

static void test_override_shown(void **state)
{
	struct json_object *set, *cleared;
	struct run r;

	run_batch(&r, "-j",
		  "add exdev.core.0\n"
		  "override exdev.rdma.0 exdev_eth\n"
		  "show exdev.rdma.0\n"
		  "override exdev.rdma.0 none\n"
		  "show exdev.rdma.0\n");
	assert_status(&r, 0);
	set = json_doc(r.out, 0);
	cleared = json_doc(r.out, 1);
	/* Setting an override does not rebind: still the id-table driver. */
	assert_driver(set, "exdev.rdma.0", "exdev_rdma");
	assert_string_equal(dev_field(set, "exdev.rdma.0", "override"), "exdev_eth");
	assert_null(dev_field(cleared, "exdev.rdma.0", "override"));
	json_object_put(set);
	json_object_put(cleared);
	run_free(&r);
}

/* The plugin element of a "plugins" array whose path ends in @file. */
static struct json_object *find_plugin(struct json_object *arr, const char *file)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *p = json_object_array_get_idx(arr, i);
		const char *path = field(p, "path");
		size_t len = strlen(path), flen = strlen(file);

		if (len >= flen && strcmp(path + len - flen, file) == 0)
			return p;
	}
	return NULL;
}

static bool plugin_loaded(struct json_object *arr, const char *file)
{
	struct json_object *p = find_plugin(arr, file), *v;

	assert_non_null(p);
	assert_true(json_object_object_get_ex(p, "loaded", &v));
	return json_object_get_boolean(v);
}

static void test_plugins_indexed_before_loading(void **state)
{
	struct json_object *before, *after, *matches;
	struct run r;

	run_batch(&r, "-j", "plugins\nadd exdev.core.0\nplugins\n");
	assert_status(&r, 0);
	before = json_doc(r.out, 0);
	after = json_doc(r.out, 1);
	assert_non_null(before);
	assert_non_null(after);
	/* The match names come from the file, before anything is loaded. */
	assert_false(plugin_loaded(before, "facet_exdev_rdma.so"));
	assert_true(json_object_object_get_ex(find_plugin(before, "facet_exdev_rdma.so"), "matches",
					      &matches));
	assert_int_equal(json_object_array_length(matches), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(matches, 0)),
			    "exdev.rdma");
	assert_true(plugin_loaded(after, "facet_exdev_rdma.so"));
	assert_true(plugin_loaded(after, "facet_exdev_core.so"));
	json_object_put(before);
	json_object_put(after);
	run_free(&r);
}

static void test_del_removes_subtree(void **state)
{
	struct json_object *arr;
	struct run r;

	run_batch(&r, "-j", "add exdev.core.0 ports=3\ndel exdev.core.0\nshow\n");
	assert_status(&r, 0);
	arr = json_doc(r.out, 0);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(arr);
	run_free(&r);
}

static void test_show_text_tree(void **state)
{
	struct run r;

	run_batch(&r, NULL, "add exdev.core.0\nunbind exdev.rdma.0\nshow\n");
	assert_status(&r, 0);
	/* LC_ALL=C in the test environment: ASCII tree. */
	assert_non_null(strstr(r.out, "exdev.core.0 [exdev_core]\n"));
	assert_non_null(strstr(r.out, "|-- exdev.eth.0 [exdev_eth] port=0"));
	assert_non_null(strstr(r.out, "`-- exdev.rdma.0 (unbound) port=0"));
	run_free(&r);
}

static void test_batch_comments_and_json_prefix(void **state)
{
	struct json_object *arr;
	struct run r;

	run_batch(&r, NULL,
		  "# set up\n"
		  "\n"
		  "add exdev.core.0 numa_node=1   # one port\n"
		  "-j show exdev.eth.0\n");
	assert_status(&r, 0);
	arr = json_doc(r.out, 0);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(dev_attr(arr, "exdev.eth.0", "numa_node"), "1");
	json_object_put(arr);
	run_free(&r);
}

static void test_unknown_command_exits_2(void **state)
{
	const char *args[] = { "frobnicate", NULL };
	struct run r;

	run_facetctl(&r, NULL, args);
	assert_status(&r, 2);
	assert_non_null(strstr(r.err, "frobnicate"));
	assert_non_null(strstr(r.err, "usage:"));
	run_free(&r);

	run_batch(&r, NULL, "show\nfrobnicate\n");
	assert_status(&r, 2);
	assert_non_null(strstr(r.err, "<stdin>:2"));
	run_free(&r);
}

static void test_wrong_arguments_exit_2(void **state)
{
	const char *no_dev[] = { "bind", NULL };
	const char *no_cmd[] = { "-j", NULL };
	struct run r;

	run_facetctl(&r, NULL, no_dev);
	assert_status(&r, 2);
	assert_non_null(strstr(r.err, "bind DEV [DRV]"));
	run_free(&r);

	run_facetctl(&r, NULL, no_cmd);
	assert_status(&r, 2);
	run_free(&r);
}

static void test_failing_command_names_device(void **state)
{
	const char *args[] = { "bind", "exdev.nope.0", NULL };
	struct run r;

	run_facetctl(&r, NULL, args);
	assert_status(&r, 1);
	assert_non_null(strstr(r.err, "facetctl: bind: exdev.nope.0: no such device"));
	run_free(&r);

	/* In a batch, the run stops there and says which line failed. */
	run_batch(&r, "-j", "add exdev.core.0\nbind exdev.nope.0\nshow\n");
	assert_status(&r, 1);
	assert_non_null(strstr(r.err, "exdev.nope.0"));
	assert_non_null(strstr(r.err, "<stdin>:2"));
	assert_null(json_doc(r.out, 0)); /* show never ran */
	run_free(&r);
}

static void test_events_in_order(void **state)
{
	const char *expect[] = {
		"event: add exdev.core.0",
		"event: add exdev.eth.0",
		"event: bind exdev.eth.0 driver=exdev_eth",
		"event: add exdev.rdma.0",
		"event: bind exdev.rdma.0 driver=exdev_rdma",
		"event: bind exdev.core.0 driver=exdev_core",
		"event: unbind exdev.rdma.0 driver=exdev_rdma",
	};
	struct run r;
	int last = -1;

	run_batch(&r, "-e", "add exdev.core.0\nunbind exdev.rdma.0\n");
	assert_status(&r, 0);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		int at = line_index(r.out, expect[i]);

		if (at <= last)
			fail_msg("\"%s\" at line %d, expected after line %d in:\n%s", expect[i], at,
				 last, r.out);
		last = at;
	}
	run_free(&r);
}

static void test_events_json(void **state)
{
	int add = -1, bind = -1;
	struct json_object *ev;
	struct run r;

	run_facetctl(&r, "add exdev.core.0\n", (const char *[]){ "-j", "-e", "-b", "-", NULL });
	assert_status(&r, 0);
	for (int i = 0; (ev = json_doc(r.out, i)); i++) {
		struct json_object *dev;
		const char *type = field(ev, "event");

		if (json_object_object_get_ex(ev, "device", &dev) &&
		    strcmp(json_object_get_string(dev), "exdev.core.0") == 0) {
			if (strcmp(type, "add") == 0 && add < 0)
				add = i;
			if (strcmp(type, "bind") == 0 && bind < 0) {
				bind = i;
				assert_string_equal(field(ev, "driver"), "exdev_core");
			}
		}
		json_object_put(ev);
	}
	assert_true(add >= 0);
	assert_true(bind > add);
	run_free(&r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_publishes_and_binds),
		cmocka_unit_test(test_unbind_keeps_sibling_and_bind_rebinds),
		cmocka_unit_test(test_unload_then_rebind_reloads),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_override_shown),
		cmocka_unit_test(test_plugins_indexed_before_loading),
		cmocka_unit_test(test_del_removes_subtree),
		cmocka_unit_test(test_show_text_tree),
		cmocka_unit_test(test_batch_comments_and_json_prefix),
		cmocka_unit_test(test_unknown_command_exits_2),
		cmocka_unit_test(test_wrong_arguments_exit_2),
		cmocka_unit_test(test_failing_command_names_device),
		cmocka_unit_test(test_events_in_order),
		cmocka_unit_test(test_events_json),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s FACETCTL\n", argv[0]);
		return 2;
	}
	facetctl_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
