/*
 * NAME
 *	limit_lmdb - the rate-limit store in LMDB
 * SUMMARY
 *	Counts and overrides in an LMDB environment in a state directory;
 *	each reserve or refund one write transaction.
 * DESCRIPTION
 *	See limit_store.h. Databases: "counts", account -> encoded state
 *	(ratelimit_state_encode), deleted once idle; "overrides", account
 *	-> override text (limit_override_format). Keys are the account's
 *	bytes. The environment is opened MDB_NOTLS (read transactions are
 *	not tied to threads) and, unless opts->sync, MDB_NOSYNC.
 *	limit_store_expire walks the counts in batches of
 *	LIMIT_LMDB_BATCH keys, one write transaction each, so reserves wait
 *	for at most one batch.
 * THREADS
 *	Any number of threads: LMDB serialises write transactions on its
 *	own mutex; read transactions (get, top) run beside them.
 * OWNERSHIP
 *	The store owns its environment; limit_store_close closes it.
 * ERRORS
 *	LMDB errors come back as "lmdb: WHAT: mdb_strerror"; a full map as
 *	"state directory full (map size N bytes)".
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "policy/limit_store.h"
#include "policy/limit_store_impl.h"
#include "policy/ratelimit.h"

/* Default map: 4 GiB (1 GiB on 32-bit); address space only, the file
 * grows as it fills. 10,000,000 idle overrides take about 413 MB. */
#define LIMIT_LMDB_MAP_SIZE ((size_t)1 << (sizeof(size_t) > 4 ? 32 : 30))
#define LIMIT_LMDB_READERS 1024 /* concurrent readers */
#define LIMIT_LMDB_BATCH 10000	/* expire: keys a txn */

struct limit_lmdb {
	struct limit_store base; /* first: the generic store */
	MDB_env *env;		 /* the environment */
	MDB_dbi counts;		 /* account -> state */
	MDB_dbi overrides;	 /* account -> override text */
	size_t map_size;	 /* for errors */
};

/* limit_lmdb_fail - an LMDB error as text */
static int
limit_lmdb_fail(struct limit_lmdb *l, int rc, const char *what, char **error_r)
{
	if (rc == MDB_MAP_FULL)
		return limit_error(-1, error_r,
		    "state directory full (map size %zu bytes)", l->map_size);
	return limit_error(-1, error_r, "lmdb: %s: %s", what, mdb_strerror(rc));
}

/* limit_lmdb_key - an MDB_val of an account */
static MDB_val
limit_lmdb_key(const char *account, size_t len)
{
	MDB_val key;

	key.mv_size = len;
	key.mv_data = (void *)(uintptr_t)account;
	return key;
}

/* limit_lmdb_class - the effective class of an account, in txn */
static int
limit_lmdb_class(struct limit_lmdb *l, MDB_txn *txn, MDB_val *key,
    struct limit_info *info, char **error_r)
{
	char why[256];
	MDB_val val;
	int rc;

	rc = mdb_get(txn, l->overrides, key, &val);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return limit_lmdb_fail(l, rc, "read override", error_r);
	if (limit_store_resolve(&l->base, rc == 0 ? val.mv_data : NULL,
		rc == 0 ? val.mv_size : 0, info, why, sizeof(why)) < 0)
		return limit_error(-1, error_r, "stored override: %s", why);
	return 0;
}

/* limit_lmdb_state - an account's state in txn (empty if none) */
static int
limit_lmdb_state(struct limit_lmdb *l, MDB_txn *txn, MDB_val *key,
    struct ratelimit_state *st, bool *found_r, char **error_r)
{
	char why[256];
	MDB_val val;
	int rc;

	rc = mdb_get(txn, l->counts, key, &val);
	if (rc == MDB_NOTFOUND) {
		ratelimit_state_init(st);
		*found_r = false;
		return 0;
	}
	if (rc != 0)
		return limit_lmdb_fail(l, rc, "read counts", error_r);
	*found_r = true;
	if (ratelimit_state_decode(
		val.mv_data, val.mv_size, st, why, sizeof(why)) < 0)
		return limit_error(-1, error_r,
		    "stored counts: %s (limit reset clears them)", why);
	return 0;
}

/* limit_lmdb_put_state - write a state, or delete it once idle */
static int
limit_lmdb_put_state(struct limit_lmdb *l, MDB_txn *txn, MDB_val *key,
    const struct ratelimit_state *st, int64_t now, bool found, char **error_r)
{
	uint8_t buf[RATELIMIT_STATE_MAX];
	MDB_val val;
	size_t len;
	int rc;

	if (ratelimit_state_idle(st, now)) {
		if (!found)
			return 0;
		rc = mdb_del(txn, l->counts, key, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return limit_lmdb_fail(l, rc, "delete counts", error_r);
		return 0;
	}
	if (ratelimit_state_encode(st, buf, sizeof(buf), &len) < 0)
		return limit_error(-1, error_r, "cannot encode counts");
	val.mv_size = len;
	val.mv_data = buf;
	if ((rc = mdb_put(txn, l->counts, key, &val, 0)) != 0)
		return limit_lmdb_fail(l, rc, "write counts", error_r);
	return 0;
}

/* limit_lmdb_reserve - check and charge in one write transaction */
static int
limit_lmdb_reserve(struct limit_store *store, const char *account, size_t len,
    const struct ratelimit_request *req, int64_t now,
    struct ratelimit_decision *d, struct ratelimit_token *tok, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	MDB_val key = limit_lmdb_key(account, len);
	struct ratelimit_state st;
	struct limit_info info;
	MDB_txn *txn;
	char why[256];
	bool found;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if (limit_lmdb_class(l, txn, &key, &info, error_r) < 0 ||
	    limit_lmdb_state(l, txn, &key, &st, &found, error_r) < 0)
		goto fail;
	if (ratelimit_reserve(
		&st, &info.cls, req, now, d, tok, why, sizeof(why)) < 0) {
		limit_error(-1, error_r, "%s", why);
		goto fail;
	}
	/* Refused by the caller's own counts: the state is untouched. */
	if (!d->allowed &&
	    (d->cause == RATELIMIT_CAUSE_PER_MESSAGE ||
		d->cause == RATELIMIT_CAUSE_PER_SESSION)) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (limit_lmdb_put_state(l, txn, &key, &st, now, found, error_r) < 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		memset(d, 0, sizeof(*d));
		memset(tok, 0, sizeof(*tok));
		return limit_lmdb_fail(l, rc, "commit", error_r);
	}
	return 0;
fail:
	mdb_txn_abort(txn);
	memset(d, 0, sizeof(*d));
	memset(tok, 0, sizeof(*tok));
	return -1;
}

/* limit_lmdb_refund - give back a reservation */
static int
limit_lmdb_refund(struct limit_store *store, const char *account, size_t len,
    const struct ratelimit_token *tok, int64_t now, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	MDB_val key = limit_lmdb_key(account, len);
	struct ratelimit_state st;
	MDB_txn *txn;
	char why[256];
	bool found;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if (limit_lmdb_state(l, txn, &key, &st, &found, error_r) < 0)
		goto fail;
	if (!found) {
		/* Gone idle (or reset): nothing left to give back. */
		mdb_txn_abort(txn);
		return 0;
	}
	if (ratelimit_refund(&st, tok, now, why, sizeof(why)) < 0) {
		limit_error(-1, error_r, "%s", why);
		goto fail;
	}
	if (limit_lmdb_put_state(l, txn, &key, &st, now, found, error_r) < 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return limit_lmdb_fail(l, rc, "commit", error_r);
	return 0;
fail:
	mdb_txn_abort(txn);
	return -1;
}

/* limit_lmdb_get - override, effective class and counts */
static int
limit_lmdb_get(struct limit_store *store, const char *account, size_t len,
    int64_t now, struct limit_info *info, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	MDB_val key = limit_lmdb_key(account, len);
	struct ratelimit_state st;
	MDB_txn *txn;
	bool found;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if (limit_lmdb_class(l, txn, &key, info, error_r) < 0 ||
	    limit_lmdb_state(l, txn, &key, &st, &found, error_r) < 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	mdb_txn_abort(txn);
	ratelimit_usage(&st, &info->cls, now, &info->usage);
	return 0;
}

/* limit_lmdb_set_override - store or delete override text */
static int
limit_lmdb_set_override(struct limit_store *store, const char *account,
    size_t len, const char *text, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	MDB_val key = limit_lmdb_key(account, len), val;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if (*text == '\0') {
		rc = mdb_del(txn, l->overrides, &key, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	} else {
		val.mv_size = strlen(text);
		val.mv_data = (void *)(uintptr_t)text;
		rc = mdb_put(txn, l->overrides, &key, &val, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "write override", error_r);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return limit_lmdb_fail(l, rc, "commit", error_r);
	return 0;
}

/* limit_lmdb_reset - delete an account's counts */
static int
limit_lmdb_reset(
    struct limit_store *store, const char *account, size_t len, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	MDB_val key = limit_lmdb_key(account, len);
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	rc = mdb_del(txn, l->counts, &key, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "delete counts", error_r);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return limit_lmdb_fail(l, rc, "commit", error_r);
	return 0;
}

/* limit_lmdb_import - apply checked rows in one write transaction */
static int
limit_lmdb_import(struct limit_store *store, const struct limit_csv *csv,
    unsigned flags, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	bool replace = (flags & LIMIT_IMPORT_REPLACE) != 0;
	MDB_txn *txn;
	MDB_val key, val;
	size_t i;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if (replace && (rc = mdb_drop(txn, l->overrides, 0)) != 0)
		goto fail;
	for (i = 0; i < csv->nrows; i++) {
		const struct limit_csv_row *r = &csv->rows[i];

		key = limit_lmdb_key(r->account, r->account_len);
		if (*r->value == '\0') {
			if (replace)
				continue;
			rc = mdb_del(txn, l->overrides, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			val.mv_size = strlen(r->value);
			val.mv_data = (void *)(uintptr_t)r->value;
			/* Rows come sorted in LMDB's key order: into an
			 * emptied database they append, pages filled. */
			rc = mdb_put(txn, l->overrides, &key, &val,
			    replace ? MDB_APPEND : 0);
		}
		if (rc != 0)
			goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return limit_lmdb_fail(l, rc, "commit", error_r);
	return 0;
fail:
	mdb_txn_abort(txn);
	return limit_lmdb_fail(l, rc, "import", error_r);
}

/* limit_lmdb_cap_max - the max of the cap on (what, window) */
static uint32_t
limit_lmdb_cap_max(
    const struct ratelimit_class *cls, const struct ratelimit_cap *cap)
{
	size_t i;

	for (i = 0; i < cls->ncaps; i++) {
		if (cls->cap[i].what == cap->what &&
		    cls->cap[i].window == cap->window)
			return cls->cap[i].max;
	}
	return 0;
}

/* limit_lmdb_top - scan the counts for the heaviest senders */
static int
limit_lmdb_top(struct limit_store *store, size_t n, int64_t now,
    struct limit_top *top, size_t *count_r, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	struct ratelimit_state st;
	struct ratelimit_cap cap;
	struct limit_info info;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_txn *txn;
	size_t count = 0, i;
	uint32_t used;
	int rc, op;

	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if ((rc = mdb_cursor_open(txn, l->counts, &cur)) != 0) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "cursor", error_r);
	}
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &key, &val, op)) == 0;
	     op = MDB_NEXT) {
		/* XXX a state that does not decode is skipped here; reserve
		 * reports it. */
		if (ratelimit_state_decode(
			val.mv_data, val.mv_size, &st, NULL, 0) < 0)
			continue;
		used = ratelimit_top_metric(&st, now, &cap);
		if (used > 0)
			limit_top_add(top, n, &count, key.mv_data, key.mv_size,
			    used, &cap);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "scan counts", error_r);
	}
	for (i = 0; i < count; i++) {
		key = limit_lmdb_key(top[i].account, strlen(top[i].account));
		if (limit_lmdb_class(l, txn, &key, &info, NULL) == 0)
			top[i].cap.max =
			    limit_lmdb_cap_max(&info.cls, &top[i].cap);
	}
	mdb_txn_abort(txn);
	limit_top_sort(top, count);
	*count_r = count;
	return 0;
}

/* limit_lmdb_expire_batch - delete idle states from *from on */
static int
limit_lmdb_expire_batch(struct limit_lmdb *l, int64_t now, char *from,
    size_t *from_len, bool *done_r, size_t *removed, char **error_r)
{
	struct ratelimit_state st;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_txn *txn;
	size_t seen = 0;
	int rc;

	*done_r = false;
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return limit_lmdb_fail(l, rc, "begin", error_r);
	if ((rc = mdb_cursor_open(txn, l->counts, &cur)) != 0) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "cursor", error_r);
	}
	key = limit_lmdb_key(from, *from_len);
	rc = mdb_cursor_get(
	    cur, &key, &val, *from_len > 0 ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && seen < LIMIT_LMDB_BATCH) {
		seen++;
		if (ratelimit_state_decode(
			val.mv_data, val.mv_size, &st, NULL, 0) == 0 &&
		    ratelimit_state_idle(&st, now)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			(*removed)++;
			rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
			if (rc == 0)
				continue;
			if (rc == EINVAL || rc == MDB_NOTFOUND)
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (rc == 0) {
		memcpy(from, key.mv_data, key.mv_size);
		*from_len = key.mv_size;
	} else if (rc == MDB_NOTFOUND) {
		*done_r = true;
		rc = 0;
	}
	mdb_cursor_close(cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return limit_lmdb_fail(l, rc, "expire", error_r);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return limit_lmdb_fail(l, rc, "commit", error_r);
	return 0;
}

/* limit_lmdb_expire - delete the states of idle accounts */
static int
limit_lmdb_expire(
    struct limit_store *store, int64_t now, size_t *removed, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	char from[512];
	size_t from_len = 0;
	bool done = false;

	while (!done) {
		if (limit_lmdb_expire_batch(
			l, now, from, &from_len, &done, removed, error_r) < 0)
			return -1;
	}
	return 0;
}

/* limit_lmdb_sync - flush to disk */
static int
limit_lmdb_sync(struct limit_store *store, char **error_r)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;
	int rc;

	if ((rc = mdb_env_sync(l->env, 1)) != 0)
		return limit_lmdb_fail(l, rc, "sync", error_r);
	return 0;
}

/* limit_lmdb_close - close the environment */
static void
limit_lmdb_close(struct limit_store *store)
{
	struct limit_lmdb *l = (struct limit_lmdb *)store;

	if (l->env != NULL)
		mdb_env_close(l->env);
	limit_store_base_fini(&l->base);
	free(l);
}

static const struct limit_store_ops limit_lmdb_ops = {
	.kind = "lmdb",
	.reserve = limit_lmdb_reserve,
	.refund = limit_lmdb_refund,
	.get = limit_lmdb_get,
	.set_override = limit_lmdb_set_override,
	.reset = limit_lmdb_reset,
	.import = limit_lmdb_import,
	.top = limit_lmdb_top,
	.expire = limit_lmdb_expire,
	.sync = limit_lmdb_sync,
	.close = limit_lmdb_close,
};

/* limit_lmdb_open - open (or create) the LMDB store in a directory */
int
limit_lmdb_open(const struct limit_lmdb_options *opts,
    const struct ratelimit_policy *policy, struct limit_store **store_r,
    char **error_r)
{
	struct limit_lmdb *l;
	unsigned flags = MDB_NOTLS;
	MDB_txn *txn;
	int rc, dead;

	*store_r = NULL;
	if (opts->dir == NULL || *opts->dir == '\0')
		return limit_error(-1, error_r, "no state directory");
	if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST)
		return limit_error(
		    -1, error_r, "%s: %s", opts->dir, strerror(errno));
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return limit_error(-1, error_r, "out of memory");
	if (limit_store_base_init(&l->base, &limit_lmdb_ops, policy, error_r) <
	    0) {
		free(l);
		return -1;
	}
	l->map_size = opts->map_size > 0 ? opts->map_size : LIMIT_LMDB_MAP_SIZE;
	if (!opts->sync)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&l->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(l->env, 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(l->env, l->map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(l->env, LIMIT_LMDB_READERS)) != 0)
		goto fail;
	if ((rc = mdb_env_open(l->env, opts->dir, flags, 0600)) != 0)
		goto fail;
	/* Readers left behind by a process that died. */
	mdb_reader_check(l->env, &dead);
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "counts", MDB_CREATE, &l->counts)) != 0 ||
	    (rc = mdb_dbi_open(txn, "overrides", MDB_CREATE, &l->overrides)) !=
		0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	*store_r = &l->base;
	return 0;
fail:
	limit_error(-1, error_r, "%s: lmdb: %s", opts->dir, mdb_strerror(rc));
	limit_lmdb_close(&l->base);
	return -1;
}
