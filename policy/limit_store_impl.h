/*
 * NAME
 *	limit_store_impl - what the rate-limit stores share inside policy/
 * SUMMARY
 *	The operations table behind struct limit_store, the CSV parser
 *	both stores validate imports with, and small helpers. Only
 *	policy/limit_*.c include this; callers use policy/limit_store.h.
 * DESCRIPTION
 *	A store embeds struct limit_store first and points it at its
 *	operations; limit_store.c checks arguments (account names, sizes)
 *	before calling them, so every operation gets a valid account.
 * THREADS
 *	As limit_store.h. The CSV parser is pure.
 * OWNERSHIP
 *	A parsed CSV owns its rows and strings; limit_csv_free frees it.
 */
#ifndef SAKIMORI_POLICY_LIMIT_STORE_IMPL_H
#define SAKIMORI_POLICY_LIMIT_STORE_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/limit_store.h"
#include "policy/ratelimit.h"

struct limit_csv;

struct limit_store_ops {
	const char *kind; /* "lmdb", "redis" */
	int (*reserve)(struct limit_store *, const char *, size_t,
	    const struct ratelimit_request *, int64_t,
	    struct ratelimit_decision *, struct ratelimit_token *, char **);
	int (*refund)(struct limit_store *, const char *, size_t,
	    const struct ratelimit_token *, int64_t, char **);
	int (*get)(struct limit_store *, const char *, size_t, int64_t,
	    struct limit_info *, char **);
	int (*set_override)(struct limit_store *, const char *, size_t,
	    const char *, char **); /* stored text, "" removes */
	int (*reset)(struct limit_store *, const char *, size_t, char **);
	int (*import)(
	    struct limit_store *, const struct limit_csv *, unsigned, char **);
	int (*top)(struct limit_store *, size_t, int64_t, struct limit_top *,
	    size_t *, char **);
	int (*expire)(struct limit_store *, int64_t, size_t *, char **);
	int (*sync)(struct limit_store *, char **);
	void (*close)(struct limit_store *);
};

struct limit_store {
	const struct limit_store_ops *ops; /* the implementation */
	pthread_rwlock_t lock;		   /* guards policy, generation */
	struct ratelimit_policy *policy;   /* the classes (owned) */
	unsigned long generation;	   /* bumped by each set_policy */
};

/*
 * limit_store_base_init - set up the shared part of a store
 *	policy: checked and copied
 * Returns 0, or -1 (error_r).
 */
int limit_store_base_init(struct limit_store *store,
    const struct limit_store_ops *ops, const struct ratelimit_policy *policy,
    char **error_r) __attribute__((warn_unused_result));

/* limit_store_base_fini - free the shared part of a store */
void limit_store_base_fini(struct limit_store *store);

/*
 * limit_store_resolve - limit_resolve under the store's policy lock
 * Returns 0, or -1 (why).
 */
int limit_store_resolve(struct limit_store *store, const char *text, size_t len,
    struct limit_info *info, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * limit_store_policy_copy - a copy of the current policy and its
 *	generation
 * Returns the copy (caller frees), or NULL when out of memory.
 */
struct ratelimit_policy *limit_store_policy_copy(
    struct limit_store *store, unsigned long *generation_r);

/*
 * The pthread calls of the stores: a failure is a broken invariant (a
 * bad or unowned lock), so they abort (STYLE.md 5).
 */

/* limit_lock - lock a mutex */
static inline void
limit_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort();
}

/* limit_unlock - unlock a mutex */
static inline void
limit_unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

/* limit_rdlock - take a read lock */
static inline void
limit_rdlock(pthread_rwlock_t *l)
{
	if (pthread_rwlock_rdlock(l) != 0)
		abort();
}

/* limit_wrlock - take the write lock */
static inline void
limit_wrlock(pthread_rwlock_t *l)
{
	if (pthread_rwlock_wrlock(l) != 0)
		abort();
}

/* limit_rwunlock - release a read or write lock */
static inline void
limit_rwunlock(pthread_rwlock_t *l)
{
	if (pthread_rwlock_unlock(l) != 0)
		abort();
}

/* limit_wait - wait on a condition */
static inline void
limit_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (pthread_cond_wait(c, m) != 0)
		abort();
}

/* limit_store_generation - the policy generation of a store */
static inline unsigned long
limit_store_generation(struct limit_store *store)
{
	unsigned long generation;

	limit_rdlock(&store->lock);
	generation = store->generation;
	limit_rwunlock(&store->lock);
	return generation;
}

/* One line of an import: account and the override text to store. */
struct limit_csv_row {
	const char *account; /* NUL-ended, in the CSV's pool */
	size_t account_len;  /* its bytes */
	const char *value;   /* stored override text, "" removes */
	unsigned long line;  /* its line in the file */
};

struct limit_csv {
	struct limit_csv_row *rows; /* sorted by account (LMDB key order) */
	size_t nrows;		    /* rows */
	char *pool;		    /* strings of the rows */
	size_t pool_len;	    /* bytes used */
	size_t pool_alloc;	    /* bytes allocated */
};

/*
 * limit_csv_parse - check a whole CSV file (limit_store.h)
 *	policy: the classes names must be one of
 *	text, len: the file
 *	csv_r: the rows (limit_csv_free)
 *	error_r: on -1, "line N: why" lines (caller frees)
 * Returns 0, or -1 (nothing returned).
 */
int limit_csv_parse(const struct ratelimit_policy *policy, const char *text,
    size_t len, struct limit_csv **csv_r, char **error_r)
    __attribute__((warn_unused_result));

/* limit_csv_free - free parsed rows; NULL is fine; sets *csv NULL */
void limit_csv_free(struct limit_csv **csv);

/*
 * limit_key_cmp - LMDB's default key order: bytewise, then shorter
 *	first
 */
int limit_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * limit_resolve - the effective class of an account from its stored
 *	override text
 *	policy: the classes
 *	text, len: the stored override, or NULL if none
 *	info: override, class_unknown and cls are filled in
 *	why, size: on -1, the reason (a stored override that does not
 *	    parse)
 * Returns 0, or -1.
 */
int limit_resolve(const struct ratelimit_policy *policy, const char *text,
    size_t len, struct limit_info *info, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * limit_error - set *error_r to a formatted text (if error_r is not
 *	NULL); "out of memory" if that fails
 * Returns rc.
 */
int limit_error(int rc, char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* limit_top_add - keep the n heaviest in a min-heap of *count entries */
void limit_top_add(struct limit_top *heap, size_t n, size_t *count,
    const char *account, size_t len, uint32_t used,
    const struct ratelimit_cap *cap);

/* limit_top_sort - heap to heaviest first (ties by account) */
void limit_top_sort(struct limit_top *heap, size_t count);

#endif
