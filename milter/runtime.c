/*
 * NAME
 *	runtime - live configuration and resolver, swapped on reload
 * DESCRIPTION
 *	See runtime.h.
 * THREADS
 *	Lock order: runtime_reload_lock, then runtime_lock.
 */
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/limits.h"
#include "milter/log.h"
#include "milter/runtime.h"
#include "policy/config_schema.h"

struct runtime_dns {
	struct dns_resolver *dns; /* the resolver */
	atomic_int refs;	  /* runtimes using it */
};

struct runtime_cfg {
	struct config *cfg; /* the configuration */
	atomic_int refs;    /* runtimes using it */
};

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t runtime_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *runtime_current; /* guarded by runtime_lock */
static char *runtime_path;		/* set once at init */
static char **runtime_overrides;	/* set once at init */
static size_t runtime_override_count;	/* entries */

/* lock - pthread_mutex_lock, a failure is a broken invariant */
static void
lock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	if (err != 0) {
		log_msg(LOG_CRIT, "pthread_mutex_lock: %s", strerror(err));
		abort();
	}
}

/* unlock - pthread_mutex_unlock, checked */
static void
unlock(pthread_mutex_t *m)
{
	int err = pthread_mutex_unlock(m);

	if (err != 0) {
		log_msg(LOG_CRIT, "pthread_mutex_unlock: %s", strerror(err));
		abort();
	}
}

/* dns_options_from - the resolver settings of a config */
static void
dns_options_from(const struct config *cfg, struct dns_options *o)
{
	memset(o, 0, sizeof(*o));
	o->servers = (const char *const *)cfg->dns_nameservers;
	o->server_count = cfg->dns_nameserver_count;
	o->timeout_ms = cfg->dns_timeout_ms;
	o->retries = cfg->dns_retries;
	o->cache_size = cfg->dns_cache_size;
	o->cache_max_ttl = cfg->dns_cache_max_ttl;
	o->workers = cfg->dns_workers;
	o->max_answer_records = cfg->dns_max_answer_records;
}

/* runtime_dns_new - a resolver with one reference */
static struct runtime_dns *
runtime_dns_new(const struct config *cfg, char **error_r)
{
	struct runtime_dns *d;
	struct dns_options o;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		*error_r = strdup("out of memory");
		return NULL;
	}
	dns_options_from(cfg, &o);
	if (dns_resolver_create(&o, &d->dns, error_r) != 0) {
		free(d);
		return NULL;
	}
	atomic_init(&d->refs, 1);
	return d;
}

/* runtime_dns_unref - drop a resolver reference, free at zero */
static void
runtime_dns_unref(struct runtime_dns *d)
{
	if (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1) {
		dns_resolver_free(&d->dns);
		free(d);
	}
}

/* runtime_cfg_unref - drop a config reference; the last frees it */
static void
runtime_cfg_unref(struct runtime_cfg *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
		config_free(&c->cfg);
		free(c);
	}
}

/* runtime_free - free a runtime with no references left */
static void
runtime_free(struct runtime *rt)
{
	listset_free(&rt->lists);
	runtime_dns_unref(rt->dns_ref);
	runtime_cfg_unref(rt->cfg_ref);
	free(rt);
}

/*
 * runtime_new - wrap a config reference, a listset and a resolver
 * reference; takes all three over (even on failure)
 */
static struct runtime *
runtime_new(struct runtime_cfg *c, struct listset *set, struct runtime_dns *d,
    unsigned long gen)
{
	struct runtime *rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		listset_free(&set);
		runtime_dns_unref(d);
		runtime_cfg_unref(c);
		return NULL;
	}
	rt->cfg = c->cfg;
	rt->cfg_ref = c;
	rt->lists = set;
	rt->dns = d->dns;
	rt->dns_ref = d;
	rt->generation = gen;
	rt->refs = 1;
	return rt;
}

/*
 * runtime_wrap_cfg - a config reference with the lists bound (the
 * registry takes the snapshots the config built); cfg freed on failure
 */
static struct runtime_cfg *
runtime_wrap_cfg(struct config *cfg, struct listset **set_r, char **error_r)
{
	struct runtime_cfg *c;

	*set_r = NULL;
	if (listreg_bind(cfg, set_r, error_r) != 0) {
		config_free(&cfg);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		listset_free(set_r);
		config_free(&cfg);
		*error_r = strdup("out of memory");
		return NULL;
	}
	c->cfg = cfg;
	atomic_init(&c->refs, 1);
	return c;
}

/* runtime_init - make the first runtime */
int
runtime_init(struct config *cfg, const char *path, char *const *overrides,
    size_t override_count, char **error_r)
{
	struct runtime_dns *d;
	struct runtime_cfg *c;
	struct listset *set;
	size_t i;

	if ((d = runtime_dns_new(cfg, error_r)) == NULL)
		goto fail;
	if ((c = runtime_wrap_cfg(cfg, &set, error_r)) == NULL) {
		runtime_dns_unref(d);
		return -1;
	}
	if ((runtime_current = runtime_new(c, set, d, 1)) == NULL) {
		*error_r = strdup("out of memory");
		return -1;
	}
	runtime_path = path != NULL ? strdup(path) : NULL;
	if (override_count > 0) {
		runtime_overrides = calloc(override_count, sizeof(char *));
		if (runtime_overrides == NULL)
			goto oom;
		for (i = 0; i < override_count; i++) {
			if ((runtime_overrides[i] = strdup(overrides[i])) ==
			    NULL)
				goto oom;
			runtime_override_count = i + 1;
		}
	}
	return 0;
oom:
	*error_r = strdup("out of memory");
	runtime_shutdown();
	return -1;
fail:
	config_free(&cfg);
	return -1;
}

/* runtime_acquire - the current runtime, one more reference */
struct runtime *
runtime_acquire(void)
{
	struct runtime *rt;

	lock(&runtime_lock);
	rt = runtime_current;
	if (rt != NULL)
		__atomic_add_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL);
	unlock(&runtime_lock);
	return rt;
}

/* runtime_release - drop a reference */
void
runtime_release(struct runtime **rtp)
{
	struct runtime *rt = *rtp;

	if (rt == NULL)
		return;
	*rtp = NULL;
	if (__atomic_sub_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL) == 0)
		runtime_free(rt);
}

/* str_differs - two optional strings differ */
static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * keep_restart_options - values only a restart changes stay as they are
 * (the schema's reloadable flag says which)
 */
static int
keep_restart_options(const struct config *old, struct config *cfg)
{
	size_t i;

	for (i = 0; i < config_schema_count; i++) {
		const struct config_option *o = &config_schema[i];
		char *newb = (char *)cfg + o->offset;
		const char *oldb = (const char *)old + o->offset;

		if (o->reloadable || o->offset < 0)
			continue;
		if (o->type == CONFIG_STRING) {
			char **newp = (char **)(void *)newb;
			char *const *oldp = (char *const *)(const void *)oldb;

			if (!str_differs(*oldp, *newp))
				continue;
			free(*newp);
			*newp = NULL;
			if (*oldp != NULL && (*newp = strdup(*oldp)) == NULL)
				return -1;
		} else if (o->type == CONFIG_MODE || o->type == CONFIG_UINT) {
			unsigned *newp = (unsigned *)(void *)newb;
			const unsigned *oldp =
			    (const unsigned *)(const void *)oldb;

			if (*newp == *oldp)
				continue;
			*newp = *oldp;
		} else {
			continue;
		}
		log_msg(LOG_WARNING,
		    "reload: %s changed; it takes effect at restart", o->key);
	}
	return 0;
}

/* runtime_reload - load the config again and swap it in */
int
runtime_reload(char **error_r)
{
	struct config *cfg = NULL;
	struct runtime *old, *rt, *prev;
	struct runtime_dns *d;
	struct runtime_cfg *c;
	struct listset *set;
	int ret = -1;

	*error_r = NULL;
	lock(&runtime_reload_lock);
	if (config_load(runtime_path, runtime_overrides, runtime_override_count,
		&cfg, error_r) != 0)
		goto out;
	if ((old = runtime_acquire()) == NULL) {
		*error_r = strdup("no running configuration");
		goto out;
	}
	if (keep_restart_options(old->cfg, cfg) != 0) {
		*error_r = strdup("out of memory");
		runtime_release(&old);
		goto out;
	}
	if (config_same_dns(old->cfg, cfg)) {
		d = old->dns_ref;
		atomic_fetch_add(&d->refs, 1);
	} else if ((d = runtime_dns_new(cfg, error_r)) == NULL) {
		runtime_release(&old);
		goto out;
	}
	if (log_set_debug(cfg->debug, cfg->debug_count) != 0)
		log_msg(LOG_WARNING, "reload: unknown debug subsystem ignored");
	c = runtime_wrap_cfg(cfg, &set, error_r);
	cfg = NULL;
	if (c == NULL) {
		runtime_dns_unref(d);
		runtime_release(&old);
		goto out;
	}
	if ((rt = runtime_new(c, set, d, old->generation + 1)) == NULL) {
		runtime_release(&old);
		*error_r = strdup("out of memory");
		goto out;
	}
	lock(&runtime_lock);
	prev = runtime_current;
	runtime_current = rt;
	unlock(&runtime_lock);
	/* The reference runtime_current held, and our own acquire. */
	runtime_release(&prev);
	runtime_release(&old);
	limits_reload(rt->cfg);
	log_msg(LOG_INFO, "reload: configuration %lu live from %s",
	    rt->generation, runtime_path != NULL ? runtime_path : "defaults");
	ret = 0;
out:
	config_free(&cfg);
	unlock(&runtime_reload_lock);
	return ret;
}

/* runtime_refresh_lists - same config and resolver, current lists */
int
runtime_refresh_lists(char **error_r)
{
	struct runtime *old, *rt, *prev;
	struct listset *set;
	int ret = -1;

	*error_r = NULL;
	lock(&runtime_reload_lock);
	if ((old = runtime_acquire()) == NULL) {
		*error_r = strdup("no running configuration");
		goto out;
	}
	if (listreg_rebind(old->cfg, &set) != 0) {
		*error_r = strdup("out of memory");
		runtime_release(&old);
		goto out;
	}
	atomic_fetch_add(&old->cfg_ref->refs, 1);
	atomic_fetch_add(&old->dns_ref->refs, 1);
	if ((rt = runtime_new(old->cfg_ref, set, old->dns_ref,
		 old->generation + 1)) == NULL) {
		*error_r = strdup("out of memory");
		runtime_release(&old);
		goto out;
	}
	lock(&runtime_lock);
	prev = runtime_current;
	runtime_current = rt;
	unlock(&runtime_lock);
	runtime_release(&prev);
	runtime_release(&old);
	ret = 0;
out:
	unlock(&runtime_reload_lock);
	return ret;
}

/* runtime_shutdown - drop the current runtime */
void
runtime_shutdown(void)
{
	struct runtime *rt;
	size_t i;

	lock(&runtime_lock);
	rt = runtime_current;
	runtime_current = NULL;
	unlock(&runtime_lock);
	runtime_release(&rt);
	for (i = 0; i < runtime_override_count; i++)
		free(runtime_overrides[i]);
	free(runtime_overrides);
	runtime_overrides = NULL;
	runtime_override_count = 0;
	free(runtime_path);
	runtime_path = NULL;
}
