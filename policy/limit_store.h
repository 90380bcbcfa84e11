/*
 * NAME
 *	limit_store - where rate-limit counts and overrides live
 * SUMMARY
 *	One interface, two stores: LMDB in a state directory (embedded,
 *	persistent, the default) and Redis (one count shared by a fleet).
 *	Reserve (check and charge, atomically), refund, get, overrides,
 *	reset, CSV import, top N, expiry, close.
 * DESCRIPTION
 *	An account's effective class is its override (a class of the
 *	policy, or explicit caps) or else the policy's default class. The
 *	counting itself is policy/ratelimit.h; the stores keep one state
 *	per account that is not idle, and delete it once idle, so an idle
 *	account costs only its override record, if it has one.
 *
 *	Override text (limit_override_parse, also the CSV's second
 *	field): "-" or "" removes the override; a class name ("premium")
 *	names a class of the policy; anything with '/' or '=', or "none",
 *	is explicit caps (ratelimit.h: "2000/day 200/hour per_message=50").
 *	Explicit caps are a whole class of their own, named "explicit":
 *	what they do not say is off. A stored override naming a class the
 *	policy no longer has applies the default class (limit_info says so).
 *
 *	CSV import: UTF-8 text, one "ACCOUNT,CLASS" or "ACCOUNT,CAPS" a
 *	line (CAPS items separated by blanks or further commas, so
 *	"bob,1000/day,100/hour" works), "ACCOUNT,-" removes an override.
 *	Fields may be double-quoted ("" inside for a quote), blanks around
 *	them are dropped, CRLF is fine, blank lines and lines starting
 *	with '#' are skipped, and a first line "account,class" or
 *	"account,caps" is a header. The whole file is checked first (bad
 *	account, unknown class, bad caps, an account twice); on any error
 *	nothing changes and the error names the line ("line 12: bad cap
 *	\"abc/day\": maximum \"abc\" is not a number", up to
 *	LIMIT_MAX_ERRORS of them). Then one transaction applies it: LMDB
 *	one write transaction, Redis one MULTI/EXEC. With
 *	LIMIT_IMPORT_REPLACE every override not in the file is removed.
 *
 *	Top N: the accounts with the highest count in their widest
 *	recipients window now (ratelimit_top_metric); a full scan of the
 *	accounts that have counts (not of the idle ones).
 *
 *	LMDB (limit_lmdb_open): an environment in a directory (made 0700
 *	if missing), two databases, "counts" (account -> encoded state)
 *	and "overrides" (account -> override text). Every reserve and
 *	refund is one write transaction: read override and state, decide,
 *	write or delete the state, commit. Commits skip fsync (MDB_NOSYNC)
 *	unless sync is set: every count survives a restart or crash of
 *	sakimori (the pages are in the OS), and an OS crash or power loss
 *	may undo the last commits (LMDB keeps the file consistent where
 *	the filesystem preserves write order). limit_store_sync flushes;
 *	call it every few seconds. An idle account with an override costs
 *	its LMDB leaf node (8 bytes + account + override text) and its
 *	share of page space: 41 bytes for "user00000001@example.com" ->
 *	"premium" after an import with LIMIT_IMPORT_REPLACE (10,000,000
 *	accounts: 413 MB, tests/tools/limitbench). An environment may be
 *	open once per process (LMDB's rule): reload with
 *	limit_store_set_policy, not by opening again.
 *
 *	Redis (limit_redis_open): keys PREFIX "c:" ACCOUNT (state, a Lua
 *	string, with a TTL that ends ttl seconds after the account turns
 *	idle), PREFIX "ov" (a hash: account -> override text), PREFIX
 *	"class:" NAME (each class's caps text, written on every connect
 *	and after limit_store_set_policy: filters sharing a Redis should
 *	share classes). Each reserve or refund is one EVALSHA of a Lua
 *	script doing the same algorithm as ratelimit.c, atomically in
 *	Redis, so any number of filters together never pass a cap: one
 *	round trip. Scripts are loaded with SCRIPT LOAD on connect, and a
 *	NOSCRIPT reply (a restarted or flushed Redis) is answered with
 *	EVAL. Not for Redis Cluster: scripts read class keys they are not
 *	given. A reservation whose reply is lost (timeout) may have been
 *	charged: the count only errs on the safe side. Each filter passes
 *	its own clock; a state moves at the latest time any filter gave
 *	it, so a filter whose clock is behind frees nothing early, and
 *	one ahead makes the others' charges last longer (keep clocks in
 *	step, NTP).
 * THREADS
 *	A store is thread-safe: any number of milter threads may call any
 *	function at once, except limit_store_close. LMDB serialises writers
 *	on its own lock (no lock of ours is held across it but the policy
 *	read lock, taken briefly). Redis keeps a pool of connections, each
 *	used by one thread at a time; a thread waits for a free one. No
 *	lock is held across a Redis round trip.
 * OWNERSHIP
 *	Open returns a store the caller ends with limit_store_close. The
 *	policy is copied. Error texts are the caller's to free().
 * ERRORS
 *	0 success; -1 error: bad input (account, caps, CSV) or a store
 *	failure, the reason in error_r; LIMIT_UNREACHABLE (-2): Redis did
 *	not answer (refused, timed out, loading, read-only): the caller
 *	applies its fail mode. After a failure the store does not try to
 *	connect again before retry_ms has passed, returning
 *	LIMIT_UNREACHABLE at once meanwhile.
 */
#ifndef SAKIMORI_POLICY_LIMIT_STORE_H
#define SAKIMORI_POLICY_LIMIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/ratelimit.h"

#define LIMIT_UNREACHABLE (-2)	 /* Redis did not answer */
#define LIMIT_MAX_ERRORS 10	 /* CSV errors reported */
#define LIMIT_MAX_TOP 10000	 /* entries in a top N */
#define LIMIT_IMPORT_REPLACE 0x1 /* import: drop overrides not listed */
#define LIMIT_REDIS_PREFIX "sakimori:rl:" /* default key prefix */

enum limit_override_kind {
	LIMIT_OVERRIDE_NONE = 0, /* no override: the default class */
	LIMIT_OVERRIDE_CLASS,	 /* a class of the policy, by name */
	LIMIT_OVERRIDE_CAPS	 /* explicit caps */
};

struct limit_override {
	enum limit_override_kind kind;	     /* which */
	char class_name[RATELIMIT_NAME_MAX]; /* CLASS: the class name */
	struct ratelimit_class caps;	     /* CAPS: the caps */
};

/* What "limit get" shows. */
struct limit_info {
	struct limit_override override; /* the account's override */
	bool class_unknown;		/* it names a class the policy lacks:
					   the default class applies */
	struct ratelimit_class cls;	/* the effective class */
	struct ratelimit_usage usage;	/* its counts now */
};

/* One of the heaviest senders. */
struct limit_top {
	char account[RATELIMIT_ACCOUNT_MAX + 1]; /* the account */
	uint32_t used;				 /* its count */
	struct ratelimit_cap cap; /* what and window counted; max: the
				     account's cap on them, 0 if none */
};

struct limit_store;

struct limit_lmdb_options {
	const char *dir; /* state directory */
	size_t map_size; /* largest database, bytes; 0: 4 GiB */
	bool sync;	 /* fsync every commit (slow; see DESCRIPTION) */
};

struct limit_redis_options {
	const char *address;	     /* "HOST:PORT", "[V6]:PORT", "HOST"
					(port 6379), "/path" or
					"unix:/path" */
	const char *prefix;	     /* key prefix; NULL: LIMIT_REDIS_PREFIX */
	unsigned connect_timeout_ms; /* connect; 0: 500 */
	unsigned command_timeout_ms; /* each round trip; 0: 500 */
	unsigned pool;		     /* connections; 0: 4 */
	unsigned ttl;		     /* seconds a state key outlives its
					last count; 0: 60 */
	unsigned retry_ms;	     /* no reconnect sooner after a
					failure; 0: 1000 */
};

/*
 * limit_lmdb_open - open (or create) the LMDB store in a directory
 *	opts: where and how
 *	policy: the classes (copied)
 *	store_r: the store (close with limit_store_close)
 *	error_r: on -1, why (caller frees)
 * Returns 0, or -1.
 */
int limit_lmdb_open(const struct limit_lmdb_options *opts,
    const struct ratelimit_policy *policy, struct limit_store **store_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * limit_redis_open - a Redis store; connects on first use, so a Redis
 *	that is down at start-up makes operations return
 *	LIMIT_UNREACHABLE, not this
 *	opts, policy, store_r, error_r: as limit_lmdb_open
 * Returns 0, or -1 for bad options.
 */
int limit_redis_open(const struct limit_redis_options *opts,
    const struct ratelimit_policy *policy, struct limit_store **store_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * limit_store_reserve - check and charge one request, atomically
 *	account: the account (ratelimit_account_check), NUL-ended
 *	req: what is asked (ratelimit.h)
 *	now: the time, seconds since the epoch
 *	d: the decision (d->allowed: charged, let the recipient pass)
 *	tok: what was charged, for limit_store_refund
 *	error_r: on -1 or LIMIT_UNREACHABLE, why (caller frees)
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_reserve(struct limit_store *store, const char *account,
    const struct ratelimit_request *req, int64_t now,
    struct ratelimit_decision *d, struct ratelimit_token *tok, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_refund - give back a reservation (the recipient was
 *	refused for another reason, the message aborted or rejected)
 *	account, tok: the account and the token its reservation gave
 *	now: the time
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_refund(struct limit_store *store, const char *account,
    const struct ratelimit_token *tok, int64_t now, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_get - an account's override, effective class and counts
 *	info: filled in
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_get(struct limit_store *store, const char *account, int64_t now,
    struct limit_info *info, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_set_override - set or remove an account's override
 *	ov: kind NONE removes it; a CLASS must be in the policy
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_set_override(struct limit_store *store, const char *account,
    const struct limit_override *ov, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_reset - forget an account's counts and block (not its
 *	override)
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_reset(struct limit_store *store, const char *account,
    char **error_r) __attribute__((warn_unused_result));

/*
 * limit_store_import - apply a CSV file of overrides, all or nothing
 *	text, len: the file (need not be NUL-ended)
 *	flags: 0 or LIMIT_IMPORT_REPLACE
 *	count_r: lines applied (may be NULL)
 *	error_r: on -1, "line N: why" lines (caller frees)
 * Returns 0, -1 (nothing changed), or LIMIT_UNREACHABLE.
 */
int limit_store_import(struct limit_store *store, const char *text, size_t len,
    unsigned flags, size_t *count_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_top - the heaviest senders now
 *	n: how many (at most LIMIT_MAX_TOP)
 *	top: room for n entries, filled heaviest first
 *	count_r: entries filled
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_top(struct limit_store *store, size_t n, int64_t now,
    struct limit_top *top, size_t *count_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_expire - delete the states of idle accounts (LMDB; Redis
 *	expires them by itself)
 *	removed_r: states deleted (may be NULL)
 * Returns 0, -1, or LIMIT_UNREACHABLE.
 */
int limit_store_expire(struct limit_store *store, int64_t now,
    size_t *removed_r, char **error_r) __attribute__((warn_unused_result));

/*
 * limit_store_set_policy - new classes (a reload); overrides naming
 *	classes that are gone get the default class. Redis: each
 *	connection publishes the new classes before its next command.
 * Returns 0, or -1 for a policy without classes or with bad ones.
 */
int limit_store_set_policy(struct limit_store *store,
    const struct ratelimit_policy *policy, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_store_sync - flush to disk (LMDB without sync); nothing for
 *	Redis
 * Returns 0, or -1.
 */
int limit_store_sync(struct limit_store *store, char **error_r)
    __attribute__((warn_unused_result));

/* limit_store_close - close a store; NULL is fine; sets *store NULL */
void limit_store_close(struct limit_store **store);

/* limit_store_kind - "lmdb" or "redis" */
const char *limit_store_kind(const struct limit_store *store);

/*
 * limit_override_parse - override text to an override
 *	policy: classes a name must be one of, or NULL to take any name
 *	text: "-", "", a class name, or caps text
 *	ov: the override
 *	why, size: on -1, the reason
 * Returns 0, or -1.
 */
int limit_override_parse(const struct ratelimit_policy *policy,
    const char *text, struct limit_override *ov, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * limit_override_format - the stored text of an override: "" for
 *	none, the class name, or canonical caps text
 * Returns 0, or -1 if it did not fit.
 */
int limit_override_format(
    const struct limit_override *ov, char *buf, size_t size);

/*
 * limit_info_text - "limit get" as text: "class premium (override)",
 *	then ratelimit_usage_text's lines
 *	buf, size: where to write
 * Returns 0, or -1 if it did not fit.
 */
int limit_info_text(const struct limit_info *info, enum ratelimit_tz tz,
    char *buf, size_t size);

#endif
