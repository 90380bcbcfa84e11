/*
 * NAME
 *	test_limit_lmdb - unit tests for policy/limit_lmdb.c and
 *	policy/limit_store.c
 * DESCRIPTION
 *	The LMDB store in a scratch directory: counts survive close and
 *	reopen; overrides by class and by caps, a class gone from the
 *	policy; reset; CSV import (quotes, CRLF, header, removal, replace)
 *	and bad files refused whole with every bad line named and nothing
 *	changed; top N; expiry of idle states across batches; eight
 *	threads reserving for one account pass exactly the cap, and with
 *	refunds mixed in the count is exact; bad account names and times;
 *	a damaged state record; bytes per idle account.
 */
#include "policy/limit_store.h"

#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#define T0 ((int64_t)1699999980)	    /* minute-aligned */
#define HOUR_FREE(t) (((t) / 60 + 61) * 60) /* 1 h window: free(t) */
#define THREADS 8

struct fixture {
	char dir[256];			/* scratch state directory */
	struct ratelimit_policy policy; /* the classes */
	struct limit_store *store;	/* open store, or NULL */
};

/* add_class - a class into the policy */
static void
add_class(struct ratelimit_policy *p, const char *name, const char *spec)
{
	char why[256];

	if (ratelimit_class_parse(
		name, spec, &p->cls[p->nclasses], why, sizeof(why)) < 0)
		fail_msg("class %s: %s", name, why);
	p->nclasses++;
}

/* fixture_policy - default 5/hour, premium 10/hour, big 1000/day,
 * blocky 2/minute with a block of 1 h */
static void
fixture_policy(struct ratelimit_policy *p)
{
	memset(p, 0, sizeof(*p));
	add_class(p, "default", "5/hour");
	add_class(p, "premium", "10/hour");
	add_class(p, "big", "1000/day");
	add_class(p, "blocky", "2/minute block=1h");
	p->default_class = 0;
}

/* open_store - (re)open the store of the fixture */
static void
open_store(struct fixture *f)
{
	struct limit_lmdb_options opts = { f->dir, 0, false };
	char *error = NULL;

	limit_store_close(&f->store);
	if (limit_lmdb_open(&opts, &f->policy, &f->store, &error) < 0)
		fail_msg("open %s: %s", f->dir, error);
	assert_string_equal(limit_store_kind(f->store), "lmdb");
}

/* setup - scratch directory, policy, open store */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_limit_lmdb.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	fixture_policy(&f->policy);
	open_store(f);
	*state = f;
	return 0;
}

/* teardown - close, remove the files and the directory */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[300];

	limit_store_close(&f->store);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* reserve - one recipient (msgs messages) that must not fail */
static struct ratelimit_decision
reserve(struct fixture *f, const char *account, uint32_t rcpts, int64_t now,
    struct ratelimit_token *tok)
{
	struct ratelimit_request req = { rcpts, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token t;
	char *error = NULL;

	if (limit_store_reserve(f->store, account, &req, now, &d,
		tok != NULL ? tok : &t, &error) != 0)
		fail_msg("reserve %s: %s", account, error);
	return d;
}

/* get - the info of an account, which must not fail */
static struct limit_info
get(struct fixture *f, const char *account, int64_t now)
{
	struct limit_info info;
	char *error = NULL;

	if (limit_store_get(f->store, account, now, &info, &error) != 0)
		fail_msg("get %s: %s", account, error);
	return info;
}

/* set - set an override from text, which must work */
static void
set(struct fixture *f, const char *account, const char *text)
{
	struct limit_override ov;
	char why[256], *error = NULL;

	if (limit_override_parse(&f->policy, text, &ov, why, sizeof(why)) < 0)
		fail_msg("override %s: %s", text, why);
	if (limit_store_set_override(f->store, account, &ov, &error) != 0)
		fail_msg("set %s: %s", account, error);
}

/* test_persistence - counts survive close and reopen */
static void
test_persistence(void **state)
{
	struct fixture *f = *state;
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	struct limit_info info;
	char text[1024], *error = NULL;
	int i;

	for (i = 0; i < 3; i++)
		assert_true(
		    reserve(f, "alice@example.com", 1, T0, NULL).allowed);
	open_store(f);
	info = get(f, "alice@example.com", T0 + 10);
	assert_string_equal(info.cls.name, "default");
	assert_int_equal(info.usage.ncaps, 1);
	assert_int_equal(info.usage.cap[0].used, 3);
	assert_int_equal(
	    limit_info_text(&info, RATELIMIT_TZ_UTC, text, sizeof(text)), 0);
	assert_string_equal(text,
	    "class default: 5/hour\n3/5 recipients used "
	    "in the last 1 h, next frees at 2023-11-14 "
	    "23:14 UTC");
	assert_true(reserve(f, "alice@example.com", 1, T0 + 20, &tok).allowed);
	assert_true(reserve(f, "alice@example.com", 1, T0 + 20, NULL).allowed);
	d = reserve(f, "alice@example.com", 1, T0 + 30, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_WINDOW);
	assert_int_equal(d.resume, HOUR_FREE(T0));
	open_store(f);
	assert_int_equal(limit_store_refund(f->store, "alice@example.com", &tok,
			     T0 + 40, &error),
	    0);
	assert_int_equal(
	    get(f, "alice@example.com", T0 + 40).usage.cap[0].used, 4);
	assert_int_equal(limit_store_sync(f->store, &error), 0);
	/* Other accounts are untouched and cost nothing. */
	assert_int_equal(get(f, "bob@example.com", T0).usage.cap[0].used, 0);
}

/* test_overrides - by class, by caps, removed, class gone */
static void
test_overrides(void **state)
{
	struct fixture *f = *state;
	struct ratelimit_policy fewer;
	struct limit_override ov;
	struct limit_info info;
	char why[256], text[1024], *error = NULL;
	int i;

	set(f, "carol", "premium");
	info = get(f, "carol", T0);
	assert_int_equal(info.override.kind, LIMIT_OVERRIDE_CLASS);
	assert_string_equal(info.override.class_name, "premium");
	assert_string_equal(info.cls.name, "premium");
	for (i = 0; i < 10; i++)
		assert_true(reserve(f, "carol", 1, T0, NULL).allowed);
	assert_false(reserve(f, "carol", 1, T0, NULL).allowed);

	set(f, "dave", "2/hour per_message=1");
	info = get(f, "dave", T0);
	assert_int_equal(info.override.kind, LIMIT_OVERRIDE_CAPS);
	assert_string_equal(info.cls.name, RATELIMIT_EXPLICIT);
	assert_int_equal(info.cls.per_message, 1);
	assert_int_equal(
	    limit_info_text(&info, RATELIMIT_TZ_UTC, text, sizeof(text)), 0);
	assert_string_equal(text,
	    "explicit caps (override): 2/hour "
	    "per_message=1\n0/2 recipients used in the "
	    "last 1 h");
	assert_int_equal(
	    limit_override_parse(&f->policy, "gold", &ov, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "no class \"gold\"");
	assert_int_equal(limit_override_parse(
			     &f->policy, "1/day abc", &ov, why, sizeof(why)),
	    -1);
	/* A class the store's policy lacks is refused by the store too. */
	memset(&ov, 0, sizeof(ov));
	ov.kind = LIMIT_OVERRIDE_CLASS;
	snprintf(ov.class_name, sizeof(ov.class_name), "gold");
	assert_int_equal(
	    limit_store_set_override(f->store, "dave", &ov, &error), -1);
	assert_string_equal(error, "no class \"gold\"");
	free(error);
	error = NULL;

	set(f, "dave", "-");
	info = get(f, "dave", T0);
	assert_int_equal(info.override.kind, LIMIT_OVERRIDE_NONE);
	assert_string_equal(info.cls.name, "default");

	/* A reload drops "premium": carol gets the default, and says so. */
	fewer = f->policy;
	fewer.nclasses = 1;
	assert_int_equal(limit_store_set_policy(f->store, &fewer, &error), 0);
	info = get(f, "carol", T0);
	assert_true(info.class_unknown);
	assert_string_equal(info.cls.name, "default");
	assert_int_equal(
	    limit_info_text(&info, RATELIMIT_TZ_UTC, text, sizeof(text)), 0);
	assert_string_equal(text,
	    "class default (override names unknown "
	    "class premium; default applies): 5/hour\n"
	    "10/5 recipients used in the last 1 h, next "
	    "frees at 2023-11-14 23:14 UTC");
	assert_false(reserve(f, "carol", 1, T0, NULL).allowed);
	fewer.nclasses = 0;
	assert_int_equal(limit_store_set_policy(f->store, &fewer, &error), -1);
	free(error);
}

/* test_reset - counts and block go, the override stays */
static void
test_reset(void **state)
{
	struct fixture *f = *state;
	struct ratelimit_decision d;
	char *error = NULL;

	set(f, "erin", "blocky");
	assert_true(reserve(f, "erin", 2, T0, NULL).allowed);
	d = reserve(f, "erin", 1, T0 + 1, NULL);
	assert_false(d.allowed);
	assert_true(d.block_started);
	/* The window is free again, the block holds. */
	assert_int_equal(
	    reserve(f, "erin", 1, T0 + 120, NULL).cause, RATELIMIT_CAUSE_BLOCK);
	assert_int_equal(limit_store_reset(f->store, "erin", &error), 0);
	assert_true(reserve(f, "erin", 1, T0 + 120, NULL).allowed);
	assert_string_equal(get(f, "erin", T0).cls.name, "blocky");
	assert_int_equal(limit_store_reset(f->store, "nobody", &error), 0);
}

static const char import_good[] =
    "account,class\r\n"
    "# provisioning 2023-11-14\r\n"
    "\r\n"
    "alice@example.com,premium\r\n"
    "  bob@example.com , 2/hour,msg:1/hour  \r\n"
    "\"we,ird@example.com\",\"big\"\r\n"
    "\"q\"\"uote@example.com\",1/minute per_message=3\n"
    "dave@example.com,-\n"
    "erin@example.com,none";

static const char import_bad[] = "account,class\n"
				 "ok@example.com,premium\n"
				 "bad@example.com,abc/day\n"
				 "nocomma\n"
				 "x@example.com,gold\n"
				 "a\001b,premium\n"
				 "ok@example.com,big\n"
				 "q@example.com,\"unterminated\n"
				 ",premium\n"
				 "r@example.com,-5\n"
				 "s@example.com,1/day action=drop\n";

/* test_import - a good file applied whole, a bad one not at all */
static void
test_import(void **state)
{
	struct fixture *f = *state;
	struct limit_info info;
	char *error = NULL, *big;
	size_t count = 99, i, off;

	set(f, "dave@example.com", "premium");
	assert_int_equal(limit_store_import(f->store, import_good,
			     strlen(import_good), 0, &count, &error),
	    0);
	assert_int_equal(count, 6);
	assert_string_equal(
	    get(f, "alice@example.com", T0).cls.name, "premium");
	info = get(f, "bob@example.com", T0);
	assert_string_equal(info.cls.name, RATELIMIT_EXPLICIT);
	assert_int_equal(info.cls.ncaps, 2);
	assert_int_equal(info.cls.cap[1].what, RATELIMIT_MESSAGES);
	assert_string_equal(get(f, "we,ird@example.com", T0).cls.name, "big");
	assert_int_equal(get(f, "q\"uote@example.com", T0).cls.per_message, 3);
	assert_int_equal(
	    get(f, "dave@example.com", T0).override.kind, LIMIT_OVERRIDE_NONE);
	info = get(f, "erin@example.com", T0);
	assert_int_equal(info.cls.ncaps, 0);
	assert_true(reserve(f, "erin@example.com", 1000000, T0, NULL).allowed);

	count = 99;
	assert_int_equal(limit_store_import(f->store, import_bad,
			     strlen(import_bad), 0, &count, &error),
	    -1);
	assert_int_equal(count, 0);
	assert_string_equal(error,
	    "line 3: bad cap \"abc/day\": maximum \"abc\" is not a number\n"
	    "line 4: want ACCOUNT,CLASS or ACCOUNT,CAPS\n"
	    "line 5: no class \"gold\"\n"
	    "line 6: account name has a control byte 0x01 at offset 1\n"
	    "line 7: account also on line 2\n"
	    "line 8: unterminated or misplaced quote\n"
	    "line 9: empty account name\n"
	    "line 10: bad cap \"-5\": want MAX/WINDOW, as 1000/day\n"
	    "line 11: action=drop: want tempfail or reject");
	free(error);
	error = NULL;
	/* Nothing changed: ok@ not set, alice still premium. */
	assert_int_equal(
	    get(f, "ok@example.com", T0).override.kind, LIMIT_OVERRIDE_NONE);
	assert_string_equal(
	    get(f, "alice@example.com", T0).cls.name, "premium");

	/* Many bad lines: the first ten, then how many more. */
	big = malloc(8192);
	assert_non_null(big);
	for (i = 0, off = 0; i < 15; i++)
		off += (size_t)sprintf(big + off, "u%zu,nosuch\n", i);
	assert_int_equal(
	    limit_store_import(f->store, big, off, 0, NULL, &error), -1);
	assert_non_null(strstr(error,
	    "line 10: no class \"nosuch\"\n5 more "
	    "errors"));
	free(error);
	error = NULL;
	/* A NUL byte, a line too long. */
	assert_int_equal(
	    limit_store_import(f->store, "a,b\0c\n", 6, 0, NULL, &error), -1);
	assert_string_equal(error, "line 1: NUL byte");
	free(error);
	error = NULL;
	memset(big, 'a', 4100);
	big[4100] = ',';
	assert_int_equal(
	    limit_store_import(f->store, big, 4101, 0, NULL, &error), -1);
	assert_string_equal(error, "line 1: line longer than 4096 bytes");
	free(error);
	error = NULL;
	free(big);

	/* Replace: overrides not in the file go. */
	assert_int_equal(limit_store_import(f->store,
			     "zed,big\nbob@example.com"
			     ",premium\n",
			     32, LIMIT_IMPORT_REPLACE, &count, &error),
	    0);
	assert_int_equal(count, 2);
	assert_int_equal(
	    get(f, "alice@example.com", T0).override.kind, LIMIT_OVERRIDE_NONE);
	assert_string_equal(get(f, "bob@example.com", T0).cls.name, "premium");
	assert_string_equal(get(f, "zed", T0).cls.name, "big");
	assert_int_equal(
	    limit_store_import(f->store, "", 0, 7, NULL, &error), -1);
	free(error);
}

/* test_top - the heaviest senders, heaviest first */
static void
test_top(void **state)
{
	struct fixture *f = *state;
	struct limit_top top[8];
	char account[32], *error = NULL;
	size_t count, i;

	for (i = 0; i < 20; i++) {
		snprintf(account, sizeof(account), "a%02zu", i);
		set(f, account, "big");
		assert_true(
		    reserve(f, account, (uint32_t)i + 1, T0, NULL).allowed);
	}
	set(f, "a00", "-");
	assert_int_equal(
	    limit_store_top(f->store, 5, T0 + 5, top, &count, &error), 0);
	assert_int_equal(count, 5);
	for (i = 0; i < 5; i++) {
		snprintf(account, sizeof(account), "a%02zu", 19 - i);
		assert_string_equal(top[i].account, account);
		assert_int_equal(top[i].used, 20 - i);
		assert_int_equal(top[i].cap.window, 86400);
		assert_int_equal(top[i].cap.max, 1000);
	}
	assert_int_equal(
	    limit_store_top(f->store, 8, T0 + 5, top, &count, &error), 0);
	assert_int_equal(count, 8);
	assert_int_equal(top[7].used, 13);
	/* a00 has the default class now: its day series has no cap. */
	assert_int_equal(
	    limit_store_top(f->store, 0, T0, top, &count, &error), 0);
	assert_int_equal(count, 0);
	assert_int_equal(limit_store_top(f->store, LIMIT_MAX_TOP + 1, T0, top,
			     &count, &error),
	    -1);
	free(error);
	/* Two days on, nobody is heavy. */
	assert_int_equal(
	    limit_store_top(f->store, 8, T0 + 2 * 86400, top, &count, &error),
	    0);
	assert_int_equal(count, 0);
}

/* count_states - records in the counts database */
static size_t
count_states(struct fixture *f)
{
	struct limit_top *top = calloc(LIMIT_MAX_TOP, sizeof(*top));
	char *error = NULL;
	size_t count = 0;

	assert_non_null(top);
	/* Every state holds one count at T0, so top finds all of them. */
	assert_int_equal(
	    limit_store_top(f->store, LIMIT_MAX_TOP, T0, top, &count, &error),
	    0);
	free(top);
	return count;
}

/* test_expire - idle states deleted, busy ones kept, across batches */
static void
test_expire(void **state)
{
	struct fixture *f = *state;
	char account[32], *error = NULL;
	size_t removed = 99, i;

	for (i = 0; i < 25000; i++) {
		snprintf(account, sizeof(account), "u%05zu", i);
		assert_true(reserve(f, account, 1, T0, NULL).allowed);
	}
	for (i = 0; i < 25000; i += 1000) {
		snprintf(account, sizeof(account), "u%05zu", i);
		assert_true(reserve(f, account, 1, T0 + 7200, NULL).allowed);
	}
	assert_int_equal(
	    limit_store_expire(f->store, T0 + 10, &removed, &error), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(
	    limit_store_expire(f->store, T0 + 7200, &removed, &error), 0);
	assert_int_equal(removed, 25000 - 25);
	assert_int_equal(count_states(f), 25);
	assert_int_equal(get(f, "u00001", T0 + 7200).usage.cap[0].used, 0);
	assert_int_equal(get(f, "u01000", T0 + 7200).usage.cap[0].used, 1);
	assert_int_equal(
	    limit_store_expire(f->store, -1, &removed, &error), -1);
	free(error);
}

struct race {
	struct limit_store *store; /* shared store */
	const char *account;	   /* shared account */
	int refund_every;	   /* 0: reserve until refused */
	int accepted;		   /* reservations allowed */
	int refunded;		   /* of them given back */
	int errors;		   /* calls that failed */
};

/* race_thread - reserve until refused, or reserve and refund */
static void *
race_thread(void *arg)
{
	struct race *r = arg;
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	char *error = NULL;
	int i;

	for (i = 0; i < (r->refund_every > 0 ? 400 : 1000000); i++) {
		if (limit_store_reserve(r->store, r->account, &req, T0 + i / 50,
			&d, &tok, &error) != 0) {
			r->errors++;
			free(error);
			error = NULL;
			continue;
		}
		if (!d.allowed) {
			if (r->refund_every == 0)
				break;
			continue;
		}
		r->accepted++;
		if (r->refund_every > 0 && i % r->refund_every == 0) {
			if (limit_store_refund(r->store, r->account, &tok,
				T0 + i / 50, &error) != 0) {
				r->errors++;
				free(error);
				error = NULL;
				continue;
			}
			r->refunded++;
		}
	}
	return NULL;
}

/* run_race - THREADS threads on one account; totals */
static void
run_race(struct fixture *f, const char *account, int refund_every,
    int *accepted, int *refunded)
{
	struct race r[THREADS];
	pthread_t th[THREADS];
	int i;

	*accepted = *refunded = 0;
	for (i = 0; i < THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].store = f->store;
		r[i].account = account;
		r[i].refund_every = refund_every;
		assert_int_equal(
		    pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(r[i].errors, 0);
		*accepted += r[i].accepted;
		*refunded += r[i].refunded;
	}
}

/* test_concurrency - many threads, one account: the cap holds exactly */
static void
test_concurrency(void **state)
{
	struct fixture *f = *state;
	int accepted, refunded;

	set(f, "shared@example.com", "big");
	run_race(f, "shared@example.com", 0, &accepted, &refunded);
	assert_int_equal(accepted, 1000);
	assert_int_equal(
	    get(f, "shared@example.com", T0).usage.cap[0].used, 1000);
	/* Reserve and refund at once: the count is exact. */
	set(f, "mixed@example.com", "100000/day");
	run_race(f, "mixed@example.com", 3, &accepted, &refunded);
	assert_int_equal(accepted, THREADS * 400);
	assert_true(refunded > 0);
	assert_int_equal(get(f, "mixed@example.com", T0 + 10).usage.cap[0].used,
	    accepted - refunded);
}

/* test_bad_input - odd names and times: errors, nothing stored */
static void
test_bad_input(void **state)
{
	struct fixture *f = *state;
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	struct limit_override ov;
	struct limit_info info;
	char big[1000], *error = NULL;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    limit_store_reserve(f->store, "a\001b", &req, T0, &d, &tok, &error),
	    -1);
	assert_string_equal(error,
	    "account name has a control byte 0x01 at "
	    "offset 1");
	assert_false(d.allowed);
	free(error);
	assert_int_equal(
	    limit_store_reserve(f->store, big, &req, T0, &d, &tok, &error), -1);
	assert_string_equal(error, "account name is 999 bytes, more than 320");
	free(error);
	assert_int_equal(
	    limit_store_reserve(f->store, NULL, &req, T0, &d, &tok, &error),
	    -1);
	free(error);
	assert_int_equal(
	    limit_store_reserve(f->store, "", &req, T0, &d, &tok, &error), -1);
	free(error);
	assert_int_equal(
	    limit_store_reserve(f->store, "ok", &req, -1, &d, &tok, &error),
	    -1);
	assert_string_equal(error, "time -1 out of range");
	free(error);
	assert_int_equal(
	    limit_store_get(f->store, "ok", -1, &info, &error), -1);
	free(error);
	memset(&ov, 0, sizeof(ov));
	assert_int_equal(
	    limit_store_set_override(f->store, "a b", &ov, &error), -1);
	free(error);
	assert_int_equal(limit_store_reset(f->store, "a\xff", &error), -1);
	free(error);
	/* Refused by the per-message cap: nothing written. */
	set(f, "pm", "10/hour per_message=1");
	req.msg_rcpts = 1;
	assert_int_equal(
	    limit_store_reserve(f->store, "pm", &req, T0, &d, &tok, &error), 0);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_PER_MESSAGE);
	assert_int_equal(count_states(f), 0);
}

/* test_corrupt - a damaged state is an error until reset */
static void
test_corrupt(void **state)
{
	struct fixture *f = *state;
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { 5, "alice" }, val = { 3, "\001\377\377" };
	char *error = NULL;

	assert_true(reserve(f, "alice", 1, T0, NULL).allowed);
	limit_store_close(&f->store);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "counts", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	open_store(f);
	assert_int_equal(
	    limit_store_reserve(f->store, "alice", &req, T0, &d, &tok, &error),
	    -1);
	assert_string_equal(error,
	    "stored counts: state: truncated (limit "
	    "reset clears them)");
	assert_false(d.allowed);
	free(error);
	assert_int_equal(limit_store_reset(f->store, "alice", &error), 0);
	assert_true(reserve(f, "alice", 1, T0, NULL).allowed);
}

/* test_idle_size - bytes per idle account with an override record */
static void
test_idle_size(void **state)
{
	struct fixture *f = *state;
	size_t n = 20000, i, off = 0, count;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	char *csv, *error = NULL;
	double per;

	csv = malloc(n * 40);
	assert_non_null(csv);
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(csv + off, "user%07zu@example.com,%s\n",
		    i, i % 3 == 0 ? "premium" : "big");
	assert_int_equal(limit_store_import(f->store, csv, off,
			     LIMIT_IMPORT_REPLACE, &count, &error),
	    0);
	assert_int_equal(count, n);
	free(csv);
	limit_store_close(&f->store);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "overrides", 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	assert_int_equal(st.ms_entries, n);
	per = (double)(st.ms_branch_pages + st.ms_leaf_pages +
		  st.ms_overflow_pages) *
	    st.ms_psize / (double)n;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	print_message("idle account with an override: %.1f bytes\n", per);
	assert_true(per < 100.0);
	open_store(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_idle_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
