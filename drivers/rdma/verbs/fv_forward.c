/* SPDX-License-Identifier: MIT */
/*
 * Finding the real libibverbs behind this preloaded library.
 *
 * The application's references carry a version (ibv_alloc_pd@IBVERBS_1.1),
 * and libibverbs keeps old compatibility versions of some functions beside
 * the current ones, so the lookup names the version too: dlvsym on
 * RTLD_NEXT finds the next object in the search order that defines it,
 * which is libibverbs itself (loaded by the application, after the
 * preloaded library). Nothing is linked against libibverbs here: a program
 * that does not use it never loads it because of us.
 */
#include <dlfcn.h>
#include <stdatomic.h>

#include "fv_private.h"

void *fv_next(const char *name, const char *version, void **cache)
{
	_Atomic(void *) *slot = (_Atomic(void *) *)cache;
	void *sym = atomic_load_explicit(slot, memory_order_acquire);

	if (sym)
		return sym;
	sym = dlvsym(RTLD_NEXT, name, version);
	if (!sym) {
		/* A program without libibverbs calling verbs on a non-Facet object. */
		FV_ERR("no %s@%s after libfacet-verbs (is libibverbs loaded?)", name, version);
		return NULL;
	}
	atomic_store_explicit(slot, sym, memory_order_release);
	return sym;
}
