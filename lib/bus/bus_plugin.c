/* SPDX-License-Identifier: MIT */
/*
 * Plugins: finding, loading and unloading the shared objects that carry
 * drivers.
 *
 * The bus keeps an index of every *.so in the plugin path with the match
 * names its id tables declare, read from the file's FACET_BUS_IDS_SECTION
 * without loading it (bus_plugin_elf.c). When a device finds no driver, the
 * plugins declaring its match name are loaded, as the kernel loads a module
 * by modalias; the index is refreshed on each miss, so a plugin dropped into
 * the directory later is found too. A plugin that fails to load is marked
 * broken and not retried by autoload until its file changes.
 *
 * plugin_lock serializes the index and dlopen/dlclose. It is never held while
 * a device lock is taken or an event is delivered: driver names are copied
 * out and announced after it is released.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus_private.h"

typedef char bus_drv_name[FACET_BUS_DRIVER_NAME_MAX];

/* Driver names collected while loading, announced once plugin_lock is dropped. */
struct loaded_names {
	bus_drv_name *names;
	unsigned int n;
};

const char *bus_plugin_default_path(void)
{
	static const char build_root[] = FACET_BUS_BUILD_ROOT "/";
	char resolved[PATH_MAX];
	Dl_info info;

	/* Running from the build tree: use the plugins built beside us. */
	if (dladdr((void *)facet_bus_create, &info) && info.dli_fname &&
	    realpath(info.dli_fname, resolved) &&
	    strncmp(resolved, build_root, sizeof(build_root) - 1) == 0)
		return FACET_BUS_BUILD_PLUGIN_DIR;
	return FACET_BUS_INSTALL_PLUGIN_DIR;
}

static void plugin_free(struct bus_plugin *p)
{
	free(p->matches);
	free(p->path);
	free(p);
}

static struct bus_plugin *plugin_by_inode(struct facet_bus *bus, const struct stat *st)
{
	struct bus_plugin *p;

	TAILQ_FOREACH(p, &bus->plugins, next)
	{
		if (p->dev == st->st_dev && p->ino == st->st_ino)
			return p;
	}
	return NULL;
}

/* (Re-)read the match names of @p's file. */
static void plugin_read_ids(struct bus_plugin *p, const struct stat *st)
{
	free(p->matches);
	p->matches = NULL;
	p->n_matches = 0;
	p->broken = false;
	p->mtime = st->st_mtim;
	p->size = st->st_size;
	if (bus_elf_read_ids(p->path, &p->matches, &p->n_matches) < 0)
		BUS_DEBUG("plugin %s: no readable id table, never autoloaded", p->path);
}

/* Index one file; an unchanged file costs one stat. */
static struct bus_plugin *plugin_index_file(struct facet_bus *bus, const char *path)
{
	struct bus_plugin *p;
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	p = plugin_by_inode(bus, &st);
	if (p) {
		bool changed = p->size != st.st_size || p->mtime.tv_sec != st.st_mtim.tv_sec ||
			       p->mtime.tv_nsec != st.st_mtim.tv_nsec;

		if (changed && !p->handle)
			plugin_read_ids(p, &st);
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return NULL;
	}
	p->file = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	plugin_read_ids(p, &st);
	TAILQ_INSERT_TAIL(&bus->plugins, p, next);
	return p;
}

static bool is_plugin_file(const char *name)
{
	size_t len = strlen(name);

	return len > 3 && strcmp(name + len - 3, ".so") == 0;
}

static void plugin_index_dir(struct facet_bus *bus, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		BUS_DEBUG("plugin directory %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (!is_plugin_file(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			plugin_index_file(bus, path);
	}
	closedir(d);
}

static void plugin_index_refresh(struct facet_bus *bus)
{
	char *dirs = strdup(bus->plugin_path), *save = NULL;

	if (!dirs)
		return;
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
		plugin_index_dir(bus, dir);
	free(dirs);
}

static bool plugin_declares(const struct bus_plugin *p, const char *match)
{
	for (unsigned int i = 0; i < p->n_matches; i++) {
		if (strcmp(p->matches[i], match) == 0)
			return true;
	}
	return false;
}

/* The exported entry point, checked before anything of the plugin is trusted. */
static const struct facet_bus_plugin *plugin_entry(const struct bus_plugin *p, void *handle)
{
	const struct facet_bus_plugin *entry = dlsym(handle, FACET_BUS_PLUGIN_SYMBOL);

	if (!entry) {
		BUS_ERR("plugin %s: no symbol %s; not a Facet plugin", p->path,
			FACET_BUS_PLUGIN_SYMBOL);
		return NULL;
	}
	if (entry->abi != FACET_BUS_PLUGIN_ABI) {
		BUS_ERR("plugin %s: built for bus ABI %u, this bus has ABI %u; rebuild it", p->path,
			entry->abi, FACET_BUS_PLUGIN_ABI);
		return NULL;
	}
	if (!entry->drivers || !entry->drivers[0]) {
		BUS_ERR("plugin %s: declares no drivers", p->path);
		return NULL;
	}
	return entry;
}

static int names_append(struct loaded_names *out, const struct facet_bus_driver *const *drivers)
{
	unsigned int n = 0;
	bus_drv_name *grown;

	while (drivers[n])
		n++;
	grown = realloc(out->names, (out->n + n) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	out->names = grown;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out->names[out->n + i], sizeof(*grown), "%s", drivers[i]->name);
	out->n += n;
	return 0;
}

/*
 * dlopen the file @path names, not the link: the build tree's plugin
 * directory holds symbolic links, and a plugin finds the libraries it needs
 * through a run path relative to $ORIGIN, which the loader takes from the
 * name it was given.
 */
static void *plugin_dlopen(const char *path)
{
	char *real = realpath(path, NULL);
	void *handle = dlopen(real ? real : path, RTLD_NOW | RTLD_LOCAL);

	free(real);
	return handle;
}

/* dlopen @p and register its drivers; plugin_lock held. */
static int plugin_load_locked(struct facet_bus *bus, struct bus_plugin *p, struct loaded_names *out)
{
	const struct facet_bus_plugin *entry;
	unsigned int announced = out->n;
	int ret = -ELIBBAD;
	void *handle;

	if (bus_elf_check_loadable(p->path) < 0) {
		BUS_ERR("plugin %s: not a complete ELF shared object (truncated?)", p->path);
		p->broken = true;
		return -ELIBBAD;
	}
	handle = plugin_dlopen(p->path);
	if (!handle) {
		BUS_ERR("plugin %s: cannot load: %s", p->path, dlerror());
		p->broken = true;
		return -ELIBBAD;
	}
	entry = plugin_entry(p, handle);
	if (entry)
		ret = names_append(out, entry->drivers);
	if (ret == 0)
		ret = bus_drivers_add(bus, entry->drivers, p);
	if (ret < 0) {
		if (entry && ret == -EEXIST)
			BUS_ERR("plugin %s: a driver it contains is registered already", p->path);
		dlclose(handle);
		p->broken = true;
		out->n = announced; /* a failed load announces nothing */
		return ret;
	}
	p->handle = handle;
	p->broken = false;
	BUS_INFO("plugin %s loaded", p->path);
	return 0;
}

/*
 * Announce new drivers and bind them to the devices waiting for them, as
 * module loading does. From autoload the caller holds a device lock, so busy
 * devices are skipped rather than waited for: their holder binds them itself.
 */
static void announce(struct facet_bus *bus, struct loaded_names *loaded, bool from_autoload)
{
	for (unsigned int i = 0; i < loaded->n; i++) {
		bus_event_emit(bus, FACET_BUS_EVENT_DRIVER_ADD, NULL, loaded->names[i], 0);
		bus_driver_attach_all(bus, loaded->names[i], from_autoload);
	}
	free(loaded->names);
}

void bus_plugin_autoload(struct facet_bus *bus, const char *match)
{
	struct loaded_names loaded = { 0 };
	struct bus_plugin *p;

	pthread_mutex_lock(&bus->plugin_lock);
	plugin_index_refresh(bus);
	TAILQ_FOREACH(p, &bus->plugins, next)
	{
		if (!p->handle && !p->broken && !p->unloading && plugin_declares(p, match))
			plugin_load_locked(bus, p, &loaded);
	}
	pthread_mutex_unlock(&bus->plugin_lock);
	announce(bus, &loaded, true);
}

/* A plugin by path (contains '/') or by file name in the plugin path. */
static struct bus_plugin *plugin_lookup(struct facet_bus *bus, const char *name)
{
	struct bus_plugin *p;

	if (strchr(name, '/'))
		return plugin_index_file(bus, name);
	plugin_index_refresh(bus);
	TAILQ_FOREACH(p, &bus->plugins, next)
	{
		if (strcmp(p->file, name) == 0)
			return p;
	}
	return NULL;
}

int facet_bus_plugin_load(struct facet_bus *bus, const char *name)
{
	struct loaded_names loaded = { 0 };
	struct bus_plugin *p;
	int ret;

	if (!bus || !name)
		return -EINVAL;
	pthread_mutex_lock(&bus->plugin_lock);
	p = plugin_lookup(bus, name);
	if (!p) {
		BUS_ERR("plugin %s: not found (plugin path %s)", name, bus->plugin_path);
		ret = -ENOENT;
	} else if (p->handle || p->unloading) {
		BUS_ERR("plugin %s: %s", name, p->unloading ? "being unloaded" : "loaded already");
		ret = p->unloading ? -EBUSY : -EEXIST;
	} else {
		ret = plugin_load_locked(bus, p, &loaded);
	}
	pthread_mutex_unlock(&bus->plugin_lock);
	if (ret < 0) {
		free(loaded.names);
		return ret;
	}
	announce(bus, &loaded, false);
	return 0;
}

/* One driver of @p still registered, or NULL. */
static const struct facet_bus_driver *plugin_next_driver(struct facet_bus *bus,
							 struct bus_plugin *p)
{
	const struct facet_bus_driver *ops = NULL;
	struct bus_driver *drv;

	pthread_mutex_lock(&bus->lock);
	TAILQ_FOREACH(drv, &bus->drivers, next)
	{
		if (drv->plugin == p && !drv->dying) {
			ops = drv->ops;
			break;
		}
	}
	pthread_mutex_unlock(&bus->lock);
	return ops;
}

int facet_bus_plugin_unload(struct facet_bus *bus, const char *name)
{
	const struct facet_bus_driver *ops;
	struct bus_plugin *p;
	int ret = 0;

	if (!bus || !name)
		return -EINVAL;
	pthread_mutex_lock(&bus->plugin_lock);
	p = plugin_lookup(bus, name);
	if (!p || !p->handle)
		ret = -ENOENT;
	else if (p->unloading)
		ret = -EBUSY;
	else
		p->unloading = true;
	pthread_mutex_unlock(&bus->plugin_lock);
	if (ret < 0) {
		BUS_ERR("plugin %s: %s", name, ret == -ENOENT ? "not loaded" : "being unloaded");
		return ret;
	}
	/* Unbinds every device of each driver; no plugin code runs once this ends. */
	while ((ops = plugin_next_driver(bus, p)))
		bus_driver_remove(bus, ops);
	pthread_mutex_lock(&bus->plugin_lock);
	if (p->pins && !p->zombie)
		p->zombie = p->handle; /* devices still point into it */
	else
		dlclose(p->handle);
	p->handle = NULL;
	p->unloading = false;
	pthread_mutex_unlock(&bus->plugin_lock);
	BUS_INFO("plugin %s unloaded", p->path);
	return 0;
}

void bus_plugin_pin(struct facet_bus_device *dev)
{
	struct facet_bus *bus = dev->bus;
	struct bus_plugin *p = NULL;

	pthread_mutex_lock(&bus->lock);
	if (dev->parent->driver)
		p = dev->parent->driver->plugin;
	pthread_mutex_unlock(&bus->lock);
	if (!p)
		return;
	pthread_mutex_lock(&bus->plugin_lock);
	p->pins++;
	pthread_mutex_unlock(&bus->plugin_lock);
	dev->pinned = p;
}

void bus_plugin_unpin(struct facet_bus_device *dev)
{
	struct facet_bus *bus = dev->bus;
	struct bus_plugin *p = dev->pinned;

	if (!p)
		return;
	pthread_mutex_lock(&bus->plugin_lock);
	if (--p->pins == 0 && p->zombie) {
		dlclose(p->zombie);
		p->zombie = NULL;
	}
	pthread_mutex_unlock(&bus->plugin_lock);
}

struct plugin_entry {
	char *path;
	bool loaded;
	char *matches;
};

static char *join_matches(const struct bus_plugin *p)
{
	size_t len = 1;
	char *s;

	for (unsigned int i = 0; i < p->n_matches; i++)
		len += strlen(p->matches[i]) + 1;
	s = calloc(1, len);
	for (unsigned int i = 0; s && i < p->n_matches; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, p->matches[i]);
	}
	return s;
}

static void free_entries(struct plugin_entry *entries, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(entries[i].path);
		free(entries[i].matches);
	}
	free(entries);
}

/* Copy the index out under plugin_lock, so that @fn may load and unload. */
static int copy_index(struct facet_bus *bus, struct plugin_entry **out, unsigned int *n_out)
{
	struct plugin_entry *entries = NULL, *grown;
	struct bus_plugin *p;
	unsigned int n = 0;
	int ret = 0;

	pthread_mutex_lock(&bus->plugin_lock);
	plugin_index_refresh(bus);
	TAILQ_FOREACH(p, &bus->plugins, next)
	{
		grown = realloc(entries, (n + 1) * sizeof(*entries));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		entries = grown;
		entries[n].path = strdup(p->path);
		entries[n].loaded = p->handle != NULL;
		entries[n].matches = join_matches(p);
		n++;
		if (!entries[n - 1].path || !entries[n - 1].matches) {
			ret = -ENOMEM;
			break;
		}
	}
	pthread_mutex_unlock(&bus->plugin_lock);
	if (ret < 0) {
		free_entries(entries, n);
		return ret;
	}
	*out = entries;
	*n_out = n;
	return 0;
}

int facet_bus_for_each_plugin(struct facet_bus *bus,
			      int (*fn)(const char *path, bool loaded, const char *matches,
					void *arg),
			      void *arg)
{
	struct plugin_entry *entries = NULL;
	unsigned int n = 0;
	int ret;

	if (!bus || !fn)
		return -EINVAL;
	ret = copy_index(bus, &entries, &n);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; ret == 0 && i < n; i++)
		ret = fn(entries[i].path, entries[i].loaded, entries[i].matches, arg);
	free_entries(entries, n);
	return ret;
}

void bus_plugins_unload_all(struct facet_bus *bus)
{
	struct bus_plugin *p;

	pthread_mutex_lock(&bus->plugin_lock);
	TAILQ_FOREACH(p, &bus->plugins, next)
	{
		if (!p->handle)
			continue;
		if (p->pins && !p->zombie)
			p->zombie = p->handle;
		else
			dlclose(p->handle);
		p->handle = NULL;
	}
	pthread_mutex_unlock(&bus->plugin_lock);
}

void bus_plugins_free(struct facet_bus *bus)
{
	struct bus_plugin *p;

	while ((p = TAILQ_FIRST(&bus->plugins))) {
		TAILQ_REMOVE(&bus->plugins, p, next);
		if (p->handle)
			dlclose(p->handle);
		if (p->zombie)
			dlclose(p->zombie);
		plugin_free(p);
	}
}
