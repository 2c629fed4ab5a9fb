/* SPDX-License-Identifier: MIT */
/*
 * The threshold is parsed once, lazily, from FACET_LOG. It is a default level
 * plus a short table of per-tag overrides; lookups are a linear scan because
 * the table holds a handful of entries and logging is never on a hot path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "facet_log.h"

#define LOG_TAG_MAX	  32
#define LOG_OVERRIDES_MAX 16
#define LOG_MSG_MAX	  1024

struct log_override {
	char tag[LOG_TAG_MAX];
	enum facet_log_level level;
};

struct log_threshold {
	enum facet_log_level level;
	unsigned int n_overrides;
	struct log_override overrides[LOG_OVERRIDES_MAX];
};

static struct log_threshold threshold = { .level = FACET_LOG_WARN };
static pthread_once_t threshold_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t threshold_lock = PTHREAD_MUTEX_INITIALIZER;
static facet_log_sink_fn log_sink;

static const char *const level_names[] = {
	[FACET_LOG_NONE] = "none", [FACET_LOG_ERR] = "error",	[FACET_LOG_WARN] = "warn",
	[FACET_LOG_INFO] = "info", [FACET_LOG_DEBUG] = "debug",
};

const char *facet_log_level_name(enum facet_log_level level)
{
	if ((unsigned int)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

static int parse_level(const char *s, enum facet_log_level *out)
{
	static const struct {
		const char *name;
		enum facet_log_level level;
	} aliases[] = {
		{ "none", FACET_LOG_NONE }, { "off", FACET_LOG_NONE },
		{ "error", FACET_LOG_ERR }, { "err", FACET_LOG_ERR },
		{ "warn", FACET_LOG_WARN }, { "warning", FACET_LOG_WARN },
		{ "info", FACET_LOG_INFO }, { "debug", FACET_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(s, aliases[i].name) == 0) {
			*out = aliases[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* One comma-separated item: "level" or "tag=level". */
static int parse_item(char *item, struct log_threshold *t)
{
	char *eq = strchr(item, '=');
	struct log_override *o;

	if (!eq)
		return parse_level(item, &t->level);
	*eq = '\0';
	if (eq == item || strlen(item) >= LOG_TAG_MAX || t->n_overrides == LOG_OVERRIDES_MAX)
		return -EINVAL;
	o = &t->overrides[t->n_overrides];
	if (parse_level(eq + 1, &o->level) < 0)
		return -EINVAL;
	strcpy(o->tag, item);
	t->n_overrides++;
	return 0;
}

static int parse_spec(const char *spec, struct log_threshold *t)
{
	char buf[512], *save = NULL;

	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (parse_item(item, t) < 0)
			return -EINVAL;
	}
	return 0;
}

static int apply_spec(const char *spec)
{
	struct log_threshold t = { .level = FACET_LOG_WARN };

	if (!spec || parse_spec(spec, &t) < 0)
		return -EINVAL;
	pthread_mutex_lock(&threshold_lock);
	threshold = t;
	pthread_mutex_unlock(&threshold_lock);
	return 0;
}

static void threshold_from_env(void)
{
	const char *spec = getenv("FACET_LOG");

	if (spec && apply_spec(spec) < 0)
		fprintf(stderr, "facet[log] warn: ignoring malformed FACET_LOG=\"%s\"\n", spec);
}

int facet_log_configure(const char *spec)
{
	/* Read the environment first so that it cannot override us later. */
	pthread_once(&threshold_once, threshold_from_env);
	return apply_spec(spec);
}

bool facet_log_enabled(enum facet_log_level level, const char *tag)
{
	enum facet_log_level limit;

	pthread_once(&threshold_once, threshold_from_env);
	pthread_mutex_lock(&threshold_lock);
	limit = threshold.level;
	for (unsigned int i = 0; i < threshold.n_overrides; i++) {
		if (strcmp(threshold.overrides[i].tag, tag) == 0)
			limit = threshold.overrides[i].level;
	}
	pthread_mutex_unlock(&threshold_lock);
	return level != FACET_LOG_NONE && level <= limit;
}

void facet_log_set_sink(facet_log_sink_fn sink)
{
	log_sink = sink;
}

void facet_vlog(enum facet_log_level level, const char *tag, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];

	if (!facet_log_enabled(level, tag))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_sink) {
		log_sink(level, tag, msg);
		return;
	}
	fprintf(stderr, "facet[%s] %s: %s\n", tag, facet_log_level_name(level), msg);
}

void facet_log(enum facet_log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	facet_vlog(level, tag, fmt, ap);
	va_end(ap);
}
