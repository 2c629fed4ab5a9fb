/* SPDX-License-Identifier: MIT */
/*
 * State shared by the test plugins and the test programs. It lives in its own
 * library (not in a plugin) so that counters survive a plugin being unloaded
 * and loaded again, and so that the plugins need no symbol from the program
 * that loads them.
 */
#ifndef TPLUG_COMMON_H
#define TPLUG_COMMON_H

#define TPLUG_EXPORT __attribute__((visibility("default")))

/** Count one occurrence of @key ("alpha.probe"). Thread-safe. */
TPLUG_EXPORT void tplug_note(const char *key);
/** How many times @key was noted since the last reset. */
TPLUG_EXPORT int tplug_count(const char *key);
/** Forget every counter. */
TPLUG_EXPORT void tplug_reset(void);

/* The API the test core driver ("tdrv_core") hands its slices. */
#define TCORE_API	  "tcore.api"
#define TCORE_API_VERSION 1
#define TCORE_PING	  42

struct tcore_ops {
	int (*ping)(void *ctx);
};

#endif /* TPLUG_COMMON_H */
