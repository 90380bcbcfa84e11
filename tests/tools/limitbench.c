/*
 * NAME
 *	limitbench - timings and sizes of the rate-limit stores
 * SUMMARY
 *	limitbench [-a REDIS_ADDRESS] [-i IDLE] [-r RESERVES] [-k] [DIR]
 * DESCRIPTION
 *	Prints figures, asserts nothing (make bench):
 *	- LMDB in DIR (default: a fresh directory under $TMPDIR or /tmp,
 *	  removed afterwards unless -k): microseconds per decision
 *	  (limit_store_reserve of one recipient, the first of a message
 *	  also charging the message) under the class "1000/day 100/hour
 *	  msg:200/day", for one hot account and for accounts drawn from
 *	  10,000, in one thread and in two; a refund; a get;
 *	- the same for Redis at ADDRESS when -a is given (one round trip
 *	  per decision, EVALSHA);
 *	- bytes on disk per idle account: IDLE accounts (default
 *	  10,000,000) given an override by CSV import (replace), then the
 *	  pages of the overrides database and the size of data.mdb over
 *	  IDLE; an idle account has no counts record (states are deleted
 *	  once idle), so its cost is its override record. Below
 *	  10,000,000 the figure is extrapolated linearly and says so;
 *	- bytes per active account: 100,000 accounts with one charge.
 *	Randomness is a fixed xorshift sequence, so runs compare.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "policy/limit_store.h"
#include "policy/ratelimit.h"

#define ACTIVE 10000	      /* accounts the random runs draw from */
#define FLEET_TARGET 10000000 /* idle accounts the target is about */
#define NOW ((int64_t)1700000000)

static uint64_t rng = 88172645463325252ULL; /* xorshift64 state */

/* next - the next pseudo-random number */
static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* seconds - monotonic time in seconds */
static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
	struct limit_store *store; /* shared */
	size_t n;		   /* reserves to do */
	bool hot;		   /* one account, or drawn from ACTIVE */
	uint64_t seed;		   /* per-thread randomness */
	size_t failed;		   /* calls that failed */
};

/* run_thread - n reserves, each refunded half the time */
static void *
run_thread(void *p)
{
	struct run *r = p;
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	char account[64], *error = NULL;
	uint64_t x = r->seed;
	size_t i;

	for (i = 0; i < r->n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		snprintf(account, sizeof(account),
		    "user%05" PRIu64 "@example.com", r->hot ? 0 : x % ACTIVE);
		req.msgs = i % 4 == 0;
		/* Time moves on 1 s every 50 decisions: buckets roll. */
		if (limit_store_reserve(r->store, account, &req,
			NOW + (int64_t)(i / 50), &d, &tok, &error) != 0) {
			r->failed++;
			free(error);
			error = NULL;
		}
	}
	return NULL;
}

/* timed - us per reserve over threads threads */
static double
timed(struct limit_store *store, size_t n, bool hot, int threads)
{
	struct run r[2];
	pthread_t th[2];
	double t;
	int i;

	t = seconds();
	for (i = 0; i < threads; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].store = store;
		r[i].n = n / (size_t)threads;
		r[i].hot = hot;
		r[i].seed = next() | 1;
		pthread_create(&th[i], NULL, run_thread, &r[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (r[i].failed > 0)
			printf("    (%zu calls failed)\n", r[i].failed);
	}
	return (seconds() - t) * 1e6 / (double)n;
}

/* bench_store - decision costs of one store */
static void
bench_store(const char *name, struct limit_store *store, size_t n)
{
	struct ratelimit_request req = { 1, 1, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	struct limit_info info;
	char account[64], *error = NULL;
	size_t i;
	double t;

	printf("%s: one hot account, 1 thread:   %7.2f us/decision\n", name,
	    timed(store, n, true, 1));
	if (limit_store_reset(store, "user00000@example.com", &error) != 0) {
		free(error);
		error = NULL;
	}
	printf("%s: %d accounts, 1 thread:   %7.2f us/decision\n", name, ACTIVE,
	    timed(store, n, false, 1));
	printf("%s: %d accounts, 2 threads:  %7.2f us/decision "
	       "(wall time / decisions)\n",
	    name, ACTIVE, timed(store, n, false, 2));
	t = seconds();
	for (i = 0; i < n / 10; i++) {
		snprintf(account, sizeof(account), "refund%05zu", i % ACTIVE);
		if (limit_store_reserve(
			store, account, &req, NOW, &d, &tok, &error) != 0 ||
		    limit_store_refund(store, account, &tok, NOW, &error) !=
			0) {
			free(error);
			error = NULL;
		}
	}
	printf("%s: reserve + refund:          %7.2f us/pair\n", name,
	    (seconds() - t) * 1e6 / (double)(n / 10));
	t = seconds();
	for (i = 0; i < n / 10; i++) {
		snprintf(account, sizeof(account), "user%05zu@example.com",
		    i % ACTIVE);
		if (limit_store_get(
			store, account, NOW + 3600, &info, &error) != 0) {
			free(error);
			error = NULL;
		}
	}
	printf("%s: get:                       %7.2f us/call\n", name,
	    (seconds() - t) * 1e6 / (double)(n / 10));
}

/* db_bytes - bytes in the pages of one database of an environment */
static int
db_bytes(const char *dir, const char *db, size_t *bytes_r, size_t *entries_r,
    size_t *file_r)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	MDB_envinfo info;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 2);
	mdb_env_set_mapsize(env, (size_t)16 << 30);
	if ((rc = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		mdb_env_close(env);
		return -1;
	}
	if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) == 0 &&
	    (rc = mdb_stat(txn, dbi, &st)) == 0 &&
	    (rc = mdb_env_info(env, &info)) == 0) {
		*bytes_r = (st.ms_branch_pages + st.ms_leaf_pages +
			       st.ms_overflow_pages) *
		    st.ms_psize;
		*entries_r = st.ms_entries;
		*file_r = (info.me_last_pgno + 1) * st.ms_psize;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

/* bench_idle - bytes per idle account with an override */
static void
bench_idle(const char *dir, const struct ratelimit_policy *policy, size_t idle)
{
	struct limit_lmdb_options o = { dir, (size_t)16 << 30, false };
	struct limit_store *store = NULL;
	size_t len = 0, i, count, bytes = 0, entries = 0, file = 0;
	char *csv, *error = NULL;
	double t, per, scale = (double)FLEET_TARGET / (double)idle;

	if ((csv = malloc(idle * 40 + 1)) == NULL) {
		printf("idle accounts: out of memory\n");
		return;
	}
	for (i = 0; i < idle; i++)
		len += (size_t)sprintf(csv + len, "user%08zu@example.com,%s\n",
		    i, i % 4 == 0 ? "premium" : "basic");
	if (limit_lmdb_open(&o, policy, &store, &error) < 0) {
		printf("idle accounts: %s\n", error);
		free(csv);
		return;
	}
	t = seconds();
	if (limit_store_import(
		store, csv, len, LIMIT_IMPORT_REPLACE, &count, &error) < 0) {
		printf("idle accounts: import: %s\n", error);
		count = 0;
	}
	t = seconds() - t;
	free(csv);
	limit_store_close(&store);
	if (count == 0 ||
	    db_bytes(dir, "overrides", &bytes, &entries, &file) < 0) {
		printf("idle accounts: cannot measure\n");
		return;
	}
	per = (double)bytes / (double)entries;
	printf("idle accounts: %zu overrides (\"user%%08d@example.com\" -> "
	       "premium|basic) imported in %.1f s (%.2f us/line)\n",
	    count, t, t * 1e6 / (double)count);
	printf("idle accounts: %.1f bytes/account in the overrides database "
	       "(%zu pages of %zu bytes), data.mdb %.1f bytes/account\n",
	    per, bytes / 4096, (size_t)4096, (double)file / (double)count);
	if (idle == FLEET_TARGET)
		printf("idle accounts: %d accounts measured: %.0f MB on "
		       "disk\n",
		    FLEET_TARGET, (double)file / 1e6);
	else
		printf("idle accounts: %zu measured, extrapolated linearly to "
		       "%d: %.0f MB on disk\n",
		    idle, FLEET_TARGET, (double)file * scale / 1e6);
}

/* bench_active - bytes per account with one charge */
static void
bench_active(const char *dir, const struct ratelimit_policy *policy)
{
	struct limit_lmdb_options o = { dir, (size_t)16 << 30, false };
	struct ratelimit_request req = { 1, 1, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	struct limit_store *store = NULL;
	size_t i, n = 100000, bytes = 0, entries = 0, file = 0;
	char account[64], *error = NULL;

	if (limit_lmdb_open(&o, policy, &store, &error) < 0) {
		printf("active accounts: %s\n", error);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(
		    account, sizeof(account), "active%08zu@example.com", i);
		if (limit_store_reserve(
			store, account, &req, NOW, &d, &tok, &error) != 0) {
			printf("active accounts: %s\n", error);
			free(error);
			break;
		}
	}
	limit_store_close(&store);
	if (db_bytes(dir, "counts", &bytes, &entries, &file) == 0 &&
	    entries > 0)
		printf("active accounts: %zu with one recipient and message "
		       "under \"1000/day 100/hour msg:200/day\": %.1f "
		       "bytes/account in the counts database\n",
		    entries, (double)bytes / (double)entries);
}

/* rm_dir - remove an LMDB directory */
static void
rm_dir(const char *dir)
{
	char path[1100];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	struct ratelimit_policy *policy = calloc(1, sizeof(*policy));
	const char *address = NULL, *tmp = getenv("TMPDIR");
	struct limit_lmdb_options lo;
	struct limit_redis_options ro;
	struct limit_store *store = NULL;
	size_t idle = FLEET_TARGET, reserves = 200000;
	char base[1024], dir[1100], why[256], *error = NULL;
	bool keep = false;
	int ch;

	while ((ch = getopt(argc, argv, "a:i:kr:")) != -1) {
		switch (ch) {
		case 'a':
			address = optarg;
			break;
		case 'i':
			idle = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keep = true;
			break;
		case 'r':
			reserves = (size_t)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
			    "usage: limitbench [-a REDIS_ADDRESS] "
			    "[-i IDLE] [-r RESERVES] [-k] [DIR]\n");
			return 64;
		}
	}
	if (policy == NULL || idle == 0 || reserves < 100)
		return 64;
	if (optind < argc) {
		snprintf(base, sizeof(base), "%s", argv[optind]);
		mkdir(base, 0700);
	} else {
		snprintf(base, sizeof(base), "%s/limitbench.XXXXXX",
		    tmp != NULL ? tmp : "/tmp");
		if (mkdtemp(base) == NULL) {
			perror("limitbench: mkdtemp");
			return 1;
		}
	}
	if (ratelimit_class_parse("basic", "1000/day 100/hour msg:200/day",
		&policy->cls[0], why, sizeof(why)) < 0 ||
	    ratelimit_class_parse("premium", "5000/day 500/hour msg:1000/day",
		&policy->cls[1], why, sizeof(why)) < 0) {
		fprintf(stderr, "limitbench: %s\n", why);
		return 1;
	}
	policy->nclasses = 2;

	snprintf(dir, sizeof(dir), "%s/decisions", base);
	lo.dir = dir;
	lo.map_size = (size_t)4 << 30;
	lo.sync = false;
	if (limit_lmdb_open(&lo, policy, &store, &error) < 0) {
		fprintf(stderr, "limitbench: %s\n", error);
		return 1;
	}
	bench_store("lmdb", store, reserves);
	limit_store_close(&store);
	if (!keep)
		rm_dir(dir);
	if (address != NULL) {
		memset(&ro, 0, sizeof(ro));
		ro.address = address;
		ro.prefix = "limitbench:";
		ro.pool = 2;
		if (limit_redis_open(&ro, policy, &store, &error) < 0) {
			fprintf(stderr, "limitbench: %s\n", error);
			return 1;
		}
		bench_store("redis", store, reserves / 10);
		limit_store_close(&store);
	}
	snprintf(dir, sizeof(dir), "%s/active", base);
	bench_active(dir, policy);
	if (!keep)
		rm_dir(dir);
	snprintf(dir, sizeof(dir), "%s/idle", base);
	bench_idle(dir, policy, idle);
	if (!keep) {
		rm_dir(dir);
		rmdir(base);
	}
	free(policy);
	return 0;
}
