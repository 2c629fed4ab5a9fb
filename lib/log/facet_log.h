/* SPDX-License-Identifier: MIT */
/*
 * facet_log: one small logging facility for every Facet component.
 *
 * Each message has a level and a component tag ("bus", "core", "refnic"...).
 * The threshold comes from the FACET_LOG environment variable, read once:
 *
 *   FACET_LOG=debug                 every component at debug
 *   FACET_LOG=warn,bus=debug        warnings everywhere, debug for "bus"
 *   FACET_LOG=none                  nothing at all
 *
 * The default is "warn": errors and warnings only. Logging is for the
 * control path; never call it per packet or per work request.
 */
#ifndef FACET_LOG_H
#define FACET_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Message levels, most severe first. */
enum facet_log_level {
	FACET_LOG_NONE = 0, /**< threshold only: log nothing */
	FACET_LOG_ERR,
	FACET_LOG_WARN,
	FACET_LOG_INFO,
	FACET_LOG_DEBUG,
};

/**
 * Sink for formatted messages; the default writes "facet[tag] level: msg" to
 * stderr. An application (e.g. a DPDK PMD routing to rte_log) may install its
 * own. @msg has no trailing newline.
 */
typedef void (*facet_log_sink_fn)(enum facet_log_level level, const char *tag, const char *msg);

/** Install @sink (NULL restores the default). Not thread-safe against logging. */
void facet_log_set_sink(facet_log_sink_fn sink);

/**
 * Set the threshold from a spec in the FACET_LOG syntax, replacing the
 * current one. Returns 0 or -EINVAL (the previous threshold stays).
 */
int facet_log_configure(const char *spec);

/** True if a message of @level for @tag would be emitted. */
bool facet_log_enabled(enum facet_log_level level, const char *tag);

/** Emit a message (printf format). Cheap when the level is filtered out. */
void facet_log(enum facet_log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** va_list variant of facet_log(). */
void facet_vlog(enum facet_log_level level, const char *tag, const char *fmt, va_list ap);

/** Name of @level ("error", "warn", "info", "debug"). */
const char *facet_log_level_name(enum facet_log_level level);

#define FACET_ERR(tag, ...)   facet_log(FACET_LOG_ERR, tag, __VA_ARGS__)
#define FACET_WARN(tag, ...)  facet_log(FACET_LOG_WARN, tag, __VA_ARGS__)
#define FACET_INFO(tag, ...)  facet_log(FACET_LOG_INFO, tag, __VA_ARGS__)
#define FACET_DEBUG(tag, ...) facet_log(FACET_LOG_DEBUG, tag, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* FACET_LOG_H */
