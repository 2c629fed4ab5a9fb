/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "tplug_common.h"

#define TPLUG_KEYS    128
#define TPLUG_KEY_MAX 64

static struct {
	char key[TPLUG_KEY_MAX];
	int n;
} counters[TPLUG_KEYS];
static unsigned int n_counters;
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;

void tplug_note(const char *key)
{
	unsigned int i;

	pthread_mutex_lock(&counters_lock);
	for (i = 0; i < n_counters; i++) {
		if (strcmp(counters[i].key, key) == 0)
			break;
	}
	if (i == n_counters && n_counters < TPLUG_KEYS) {
		strncpy(counters[i].key, key, TPLUG_KEY_MAX - 1);
		n_counters++;
	}
	if (i < TPLUG_KEYS)
		counters[i].n++;
	pthread_mutex_unlock(&counters_lock);
}

int tplug_count(const char *key)
{
	int n = 0;

	pthread_mutex_lock(&counters_lock);
	for (unsigned int i = 0; i < n_counters; i++) {
		if (strcmp(counters[i].key, key) == 0)
			n = counters[i].n;
	}
	pthread_mutex_unlock(&counters_lock);
	return n;
}

void tplug_reset(void)
{
	pthread_mutex_lock(&counters_lock);
	memset(counters, 0, sizeof(counters));
	n_counters = 0;
	pthread_mutex_unlock(&counters_lock);
}
