/*
 * NAME
 *	runtime - the live configuration and resolver, swapped on reload
 * SUMMARY
 *	A reference-counted, immutable triple (config, local list
 *	snapshots, DNS resolver). Each
 *	session acquires the current one at connect and releases it at
 *	close; a reload builds a new one aside and swaps one pointer.
 * DESCRIPTION
 *	runtime_reload() loads and validates the new config whole; on any
 *	error the old runtime stays live and the error comes back. The
 *	resolver (and its cache) is kept when the DNS options did not
 *	change. Options that only a restart can change (listen, user,
 *	pidfile, control_socket) keep their old values, with a warning.
 * THREADS
 *	runtime_acquire/release from any thread; the current pointer is
 *	guarded by one mutex, counts are atomic. runtime_reload runs in the
 *	signal thread or the control thread, serialized by a second mutex
 *	(lock order: reload_lock, then current_lock).
 * OWNERSHIP
 *	A runtime acquired must be released exactly once.
 */
#ifndef SAKIMORI_MILTER_RUNTIME_H
#define SAKIMORI_MILTER_RUNTIME_H

#include <stddef.h>

#include "milter/dns.h"
#include "milter/listreg.h"
#include "policy/config.h"

struct runtime {
	const struct config *cfg;    /* immutable config */
	struct runtime_cfg *cfg_ref; /* reference count of cfg */
	struct listset *lists;	     /* snapshots of cfg's lists, own */
	struct dns_resolver *dns;    /* shared resolver */
	struct runtime_dns *dns_ref; /* reference count of dns */
	unsigned long generation;    /* 1 at start, +1 per reload */
	int refs;		     /* atomic reference count */
};

/*
 * runtime_init - make the first runtime from a loaded config
 *	cfg: takes ownership
 *	path: config file for later reloads, or NULL (embedded defaults)
 *	overrides: -o options to apply again at each reload (copied)
 *	error_r: why it failed (caller frees)
 * Returns 0, or -1 (cfg freed).
 */
int runtime_init(struct config *cfg, const char *path, char *const *overrides,
    size_t override_count, char **error_r) __attribute__((warn_unused_result));

/* runtime_acquire - the current runtime, one more reference */
struct runtime *runtime_acquire(void);

/* runtime_release - drop a reference (NULL is fine); *rt set to NULL */
void runtime_release(struct runtime **rt);

/*
 * runtime_reload - load the config again and swap it in
 *	error_r: on failure why, "file:line: option: why" (caller frees)
 * Returns 0 swapped, -1 refused (the old config stays live).
 */
int runtime_reload(char **error_r) __attribute__((warn_unused_result));

/*
 * runtime_refresh_lists - a new runtime with the same config and
 * resolver and the registry's current list snapshots (after a push)
 *	error_r: on -1, why (caller frees)
 * Returns 0 swapped, -1 (out of memory; the old runtime stays live).
 */
int runtime_refresh_lists(char **error_r) __attribute__((warn_unused_result));

/* runtime_shutdown - drop the current runtime (at exit) */
void runtime_shutdown(void);

#endif
