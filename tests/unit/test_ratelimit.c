/*
 * NAME
 *	test_ratelimit - unit tests for policy/ratelimit.c
 * DESCRIPTION
 *	Caps text good and bad (tables), class text and its canonical
 *	form, durations, class names; exactly N accepted then the right
 *	cap refuses with the right free time; several recipients at once;
 *	messages beside recipients; refunds, also after time moved on;
 *	the window sliding on an injected clock to the documented time;
 *	the accuracy bounds of ratelimit.h checked against an exact log
 *	over random traffic; block periods; count_refused; shadow;
 *	per-message and per-session caps; the clock going backwards; caps
 *	changing under an account; replies, usage texts and times; the
 *	compact state and garbage fed to its decoder; account names.
 */
#include "policy/ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define T0 ((int64_t)1699999980) /* 2023-11-14T22:13:00Z, minute-aligned */
#define HOUR_FREE(t) (((t) / 60 + 61) * 60) /* 1 h window: free(t) */

/* cls_of - a class from caps text, or fail the test */
static struct ratelimit_class
cls_of(const char *spec)
{
	struct ratelimit_class cls;
	char why[256] = "";

	if (ratelimit_class_parse("test", spec, &cls, why, sizeof(why)) < 0)
		fail_msg("\"%s\": got error \"%s\", want a class", spec, why);
	return cls;
}

/* reserve - ratelimit_reserve that must not fail */
static struct ratelimit_decision
reserve(struct ratelimit_state *st, const struct ratelimit_class *cls,
    uint32_t rcpts, uint32_t msgs, int64_t now, struct ratelimit_token *tok)
{
	struct ratelimit_request req = { rcpts, msgs, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token t;
	char why[256] = "";

	if (ratelimit_reserve(st, cls, &req, now, &d, tok != NULL ? tok : &t,
		why, sizeof(why)) < 0)
		fail_msg(
		    "reserve at %lld: got error \"%s\"", (long long)now, why);
	return d;
}

/* used_now - the count of cap i at now */
static uint32_t
used_now(const struct ratelimit_state *st, const struct ratelimit_class *cls,
    size_t i, int64_t now)
{
	struct ratelimit_usage u;

	ratelimit_usage(st, cls, now, &u);
	assert_true(i < u.ncaps);
	return u.cap[i].used;
}

struct cap_case {
	const char *text;	  /* the item */
	enum ratelimit_what what; /* want */
	uint32_t window;	  /* want */
	uint32_t max;		  /* want */
};

static const struct cap_case cap_good[] = {
	{ "1000/day", RATELIMIT_RECIPIENTS, 86400, 1000 },
	{ "100/hour", RATELIMIT_RECIPIENTS, 3600, 100 },
	{ "20/minute", RATELIMIT_RECIPIENTS, 60, 20 },
	{ "500/24h", RATELIMIT_RECIPIENTS, 86400, 500 },
	{ "30/90s", RATELIMIT_RECIPIENTS, 90, 30 },
	{ "msg:200/day", RATELIMIT_MESSAGES, 86400, 200 },
	{ "messages:5/2d", RATELIMIT_MESSAGES, 172800, 5 },
	{ "rcpt:7/15m", RATELIMIT_RECIPIENTS, 900, 7 },
	{ "Recipients:7/15Min", RATELIMIT_RECIPIENTS, 900, 7 },
	{ "0/day", RATELIMIT_RECIPIENTS, 86400, 0 },
	{ "1/1", RATELIMIT_RECIPIENTS, 1, 1 },
	{ "3/second", RATELIMIT_RECIPIENTS, 1, 3 },
	{ "1000000000/31d", RATELIMIT_RECIPIENTS, 2678400, 1000000000 },
	{ "10/h", RATELIMIT_RECIPIENTS, 3600, 10 },
};

struct bad_case {
	const char *text; /* the input */
	const char *want; /* the error text, exactly */
};

static const struct bad_case cap_bad[] = {
	{ "-5", "bad cap \"-5\": want MAX/WINDOW, as 1000/day" },
	{ "abc/day", "bad cap \"abc/day\": maximum \"abc\" is not a number" },
	{ "-5/day", "bad cap \"-5/day\": maximum \"-5\" is not a number" },
	{ "5.5/day", "bad cap \"5.5/day\": maximum \"5.5\" is not a number" },
	{ "", "bad cap \"\": want MAX/WINDOW, as 1000/day" },
	{ "/day", "bad cap \"/day\": no maximum" },
	{ "5/", "bad cap \"5/\": no window" },
	{ "5/fortnight",
	    "bad cap \"5/fortnight\": window \"fortnight\" is not a duration: "
	    "want N, or N and a unit s, m, h, d, or day, hour, minute, "
	    "second" },
	{ "5/day/x",
	    "bad cap \"5/day/x\": window \"day/x\" is not a duration: want N, "
	    "or N and a unit s, m, h, d, or day, hour, minute, second" },
	{ "5/0s", "bad cap \"5/0s\": the window must be at least 1 second" },
	{ "5/32d",
	    "bad cap \"5/32d\": window \"32d\" is over 2678400 seconds" },
	{ "1000000001/day",
	    "bad cap \"1000000001/day\": maximum is over "
	    "1000000000" },
	{ "99999999999/day",
	    "bad cap \"99999999999/day\": maximum is over "
	    "1000000000" },
	{ "spam:5/day",
	    "bad cap \"spam:5/day\": unknown kind \"spam\": want "
	    "recipients or messages" },
	{ "5/99999999999d",
	    "bad cap \"5/99999999999d\": window \"99999999999d\" is too "
	    "large" },
	{ "5/\x01\xff",
	    "bad cap \"5/??\": window \"??\" is not a duration: "
	    "want N, or N and a unit s, m, h, d, or day, hour, "
	    "minute, second" },
};

/* test_cap_parse - good and bad cap items */
static void
test_cap_parse(void **state)
{
	struct ratelimit_cap cap;
	char why[512];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cap_good); i++) {
		const struct cap_case *c = &cap_good[i];

		why[0] = '\0';
		if (ratelimit_cap_parse(c->text, &cap, why, sizeof(why)) < 0)
			fail_msg(
			    "%s: got error \"%s\", want a cap", c->text, why);
		if (cap.what != c->what || cap.window != c->window ||
		    cap.max != c->max)
			fail_msg("%s: got %d %u/%us, want %d %u/%us", c->text,
			    cap.what, cap.max, cap.window, c->what, c->max,
			    c->window);
		assert_int_equal(
		    ratelimit_cap_check(c->text, why, sizeof(why)), 0);
	}
	for (i = 0; i < NELEM(cap_bad); i++) {
		const struct bad_case *c = &cap_bad[i];

		why[0] = '\0';
		if (ratelimit_cap_parse(c->text, &cap, why, sizeof(why)) == 0)
			fail_msg("%s: got a cap, want an error", c->text);
		if (strcmp(why, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->text, why,
			    c->want);
	}
	/* A tiny why buffer is filled, NUL-ended, not overrun. */
	assert_int_equal(ratelimit_cap_parse("x", &cap, why, 4), -1);
	assert_string_equal(why, "bad");
	assert_int_equal(ratelimit_cap_parse("x", &cap, NULL, 0), -1);
}

struct class_case {
	const char *spec;  /* the input */
	const char *canon; /* its canonical form, or NULL: an error */
	const char *why;   /* the error */
};

static const struct class_case class_cases[] = {
	{ "1000/day", "1000/day", NULL },
	{ "1000/day 100/hour,20/minute  msg:200/day",
	    "1000/day 100/hour 20/minute msg:200/day", NULL },
	{ "500/24h 30/90s 10/2h 4/300s", "500/day 30/90s 10/2h 4/5m", NULL },
	{ "per_message=50 per_session=100 block=1h count_refused=yes "
	  "action=reject shadow=yes 5/hour",
	    "5/hour per_message=50 per_session=100 block=1h count_refused=yes "
	    "action=reject shadow=yes",
	    NULL },
	{ "block=3600 action=TEMPFAIL shadow=no count_refused=off 1/day",
	    "1/day block=1h", NULL },
	{ "block=90", "block=90s", NULL },
	{ "none", "none", NULL },
	{ "NONE", "none", NULL },
	{ "per_message=0", "none", NULL },
	{ "", NULL, "no caps given (write \"none\" for no caps at all)" },
	{ " , ", NULL, "no caps given (write \"none\" for no caps at all)" },
	{ "none 5/day", NULL, "\"none\" must stand alone" },
	{ "per_message=-1", NULL,
	    "per_message=-1: want a number from 0 to 1000000000" },
	{ "per_session=x", NULL,
	    "per_session=x: want a number from 0 to 1000000000" },
	{ "block=forever", NULL,
	    "block: \"forever\" is not a duration: want N, or N and a unit "
	    "s, m, h, d, or day, hour, minute, second" },
	{ "block=40d", NULL, "block: \"40d\" is over 2678400 seconds" },
	{ "action=drop", NULL, "action=drop: want tempfail or reject" },
	{ "shadow=maybe", NULL, "shadow=maybe: want yes or no" },
	{ "foo=1", NULL,
	    "unknown key \"foo\": want per_message, per_session, block, "
	    "count_refused, action or shadow" },
	{ "per_message=5 per_message=6", NULL, "per_message given twice" },
	{ "100/hour 200/60m", NULL, "two caps on recipients per 1 h" },
	{ "msg:1/day msg:2/24h", NULL, "two caps on messages per 24 h" },
	{ "1/1s 1/2s 1/3s 1/4s 1/5s 1/6s 1/7s 1/8s 1/9s", NULL,
	    "more than 8 caps" },
	{ "1000/day abc/day", NULL,
	    "bad cap \"abc/day\": maximum \"abc\" is not a number" },
};

/* test_class_parse - class texts, canonical forms, errors */
static void
test_class_parse(void **state)
{
	struct ratelimit_class cls, again;
	char why[512], canon[RATELIMIT_SPEC_MAX + 1], canon2[sizeof(canon)];
	char big[RATELIMIT_SPEC_MAX + 64];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(class_cases); i++) {
		const struct class_case *c = &class_cases[i];
		int rc;

		why[0] = '\0';
		rc =
		    ratelimit_class_parse("c", c->spec, &cls, why, sizeof(why));
		if (c->canon == NULL) {
			if (rc == 0)
				fail_msg("\"%s\": got a class, want \"%s\"",
				    c->spec, c->why);
			if (strcmp(why, c->why) != 0)
				fail_msg("\"%s\": got \"%s\", want \"%s\"",
				    c->spec, why, c->why);
			continue;
		}
		if (rc < 0)
			fail_msg("\"%s\": got error \"%s\"", c->spec, why);
		assert_int_equal(
		    ratelimit_class_format(&cls, canon, sizeof(canon)), 0);
		if (strcmp(canon, c->canon) != 0)
			fail_msg("\"%s\": got canonical \"%s\", want \"%s\"",
			    c->spec, canon, c->canon);
		/* The canonical form reads back to the same class. */
		assert_int_equal(
		    ratelimit_class_parse("c", canon, &again, why, sizeof(why)),
		    0);
		assert_int_equal(
		    ratelimit_class_format(&again, canon2, sizeof(canon2)), 0);
		assert_string_equal(canon, canon2);
	}
	cls = cls_of("5/hour per_message=2 action=reject");
	assert_string_equal(cls.name, "test");
	assert_int_equal(cls.per_message, 2);
	assert_int_equal(cls.action, RATELIMIT_REJECT);
	assert_int_equal(
	    ratelimit_class_parse(NULL, "5/hour", &cls, why, sizeof(why)), 0);
	assert_string_equal(cls.name, RATELIMIT_EXPLICIT);
	assert_int_equal(
	    ratelimit_class_parse("c", NULL, &cls, why, sizeof(why)), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    ratelimit_class_parse("c", big, &cls, why, sizeof(why)), -1);
	assert_string_equal(why, "caps text of 1087 bytes, over 1024");
	/* A format buffer too small says so. */
	cls = cls_of("1000/day 100/hour");
	assert_int_equal(ratelimit_class_format(&cls, canon, 5), -1);
	assert_string_equal(canon, "1000");
}

/* test_names - class names, durations, defaults, name helpers */
static void
test_names(void **state)
{
	static const char *const good[] = { "premium", "gold-2", "a.b_c", "0",
		"Default" };
	static const char *const bad[] = { "", "-x", "has space", "a/b", "a=b",
		"explicit", "caf\xc3\xa9",
		"0123456789012345678901234567890123456789012345678901234567890"
		"123" };
	struct ratelimit_policy policy;
	struct ratelimit_class cls;
	char why[256], buf[RATELIMIT_SPEC_MAX + 1];
	uint32_t secs;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		if (ratelimit_class_name_check(good[i], why, sizeof(why)) < 0)
			fail_msg(
			    "%s: got \"%s\", want a good name", good[i], why);
	}
	for (i = 0; i < NELEM(bad); i++) {
		if (ratelimit_class_name_check(bad[i], why, sizeof(why)) == 0)
			fail_msg(
			    "\"%s\": got a good name, want an error", bad[i]);
	}
	assert_int_equal(
	    ratelimit_duration_parse("day", 86400, &secs, why, sizeof(why)), 0);
	assert_int_equal(secs, 86400);
	assert_int_equal(
	    ratelimit_duration_parse("2days", 1000000, &secs, why, sizeof(why)),
	    0);
	assert_int_equal(secs, 172800);
	assert_int_equal(
	    ratelimit_duration_parse("0", 10, &secs, why, sizeof(why)), 0);
	assert_int_equal(secs, 0);
	assert_int_equal(
	    ratelimit_duration_parse("11", 10, &secs, why, sizeof(why)), -1);
	assert_int_equal(
	    ratelimit_duration_parse("", 10, &secs, why, sizeof(why)), -1);
	assert_string_equal(why, "empty duration");

	ratelimit_class_default(&cls);
	assert_int_equal(ratelimit_class_format(&cls, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1000/day");
	assert_string_equal(cls.name, "default");
	ratelimit_policy_init(&policy);
	assert_ptr_equal(ratelimit_policy_default(&policy), &policy.cls[0]);
	assert_ptr_equal(
	    ratelimit_policy_find(&policy, "default"), &policy.cls[0]);
	assert_null(ratelimit_policy_find(&policy, "premium"));
	assert_string_equal(
	    ratelimit_what_name(RATELIMIT_MESSAGES), "messages");
	assert_string_equal(
	    ratelimit_cause_name(RATELIMIT_CAUSE_WINDOW), "window");
	assert_string_equal(
	    ratelimit_cause_name((enum ratelimit_cause)99), "none");
	assert_string_equal(ratelimit_action_name(RATELIMIT_REJECT), "reject");
	assert_string_equal(
	    ratelimit_window_text(86400, buf, sizeof(buf)), "24 h");
	assert_string_equal(
	    ratelimit_window_text(300, buf, sizeof(buf)), "5 min");
	assert_string_equal(
	    ratelimit_window_text(90, buf, sizeof(buf)), "90 s");
}

/* test_exact_cap - exactly max pass, then the cap refuses with its time */
static void
test_exact_cap(void **state)
{
	struct ratelimit_class cls = cls_of("5/hour");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	int i;

	(void)state;
	ratelimit_state_init(&st);
	for (i = 1; i <= 5; i++) {
		d = reserve(&st, &cls, 1, 0, T0 + i, NULL);
		if (!d.allowed || d.refused)
			fail_msg("recipient %d: got refused, want allowed", i);
		/* 80% is crossed by the 4th, 100% reached by the 5th. */
		assert_int_equal(d.threshold, i == 4 ? 80 : i == 5 ? 100 : 0);
		if (d.threshold != 0) {
			assert_int_equal(d.threshold_cap.max, 5);
			assert_int_equal(d.threshold_cap.window, 3600);
		}
	}
	d = reserve(&st, &cls, 1, 0, T0 + 10, NULL);
	assert_false(d.allowed);
	assert_true(d.refused);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_WINDOW);
	assert_int_equal(d.cap.max, 5);
	assert_int_equal(d.cap.window, 3600);
	assert_int_equal(d.cap.what, RATELIMIT_RECIPIENTS);
	assert_int_equal(d.used, 5);
	assert_int_equal(d.resume, HOUR_FREE(T0));
	assert_string_equal(d.class_name, "test");
	assert_int_equal(d.threshold, 0);
	/* Refusals charge nothing: still 5, and still refused. */
	assert_int_equal(used_now(&st, &cls, 0, T0 + 20), 5);
	d = reserve(&st, &cls, 1, 0, HOUR_FREE(T0) - 1, NULL);
	assert_false(d.allowed);
	/* Free at exactly the documented time: no earlier, no later. */
	d = reserve(&st, &cls, 1, 0, HOUR_FREE(T0), NULL);
	assert_true(d.allowed);
}

/* test_multi - several recipients at once, a request over the cap */
static void
test_multi(void **state)
{
	struct ratelimit_class cls = cls_of("10/day");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	int64_t free_at = (T0 / 1440 + 61) * 1440;

	(void)state;
	ratelimit_state_init(&st);
	d = reserve(&st, &cls, 8, 0, T0, NULL);
	assert_true(d.allowed);
	assert_int_equal(d.threshold, 80);
	d = reserve(&st, &cls, 3, 0, T0, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.used, 8);
	assert_int_equal(d.resume, free_at);
	d = reserve(&st, &cls, 2, 0, T0, NULL);
	assert_true(d.allowed);
	assert_int_equal(d.threshold, 100);
	d = reserve(&st, &cls, 1, 0, T0, NULL);
	assert_false(d.allowed);
	/* More than the cap at once can never pass: resume 0, "never". */
	ratelimit_state_init(&st);
	d = reserve(&st, &cls, 11, 0, T0, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_WINDOW);
	assert_int_equal(d.resume, 0);
	assert_true(ratelimit_state_idle(&st, T0));
	/* Nothing asked: allowed, nothing charged. */
	d = reserve(&st, &cls, 0, 0, T0, NULL);
	assert_true(d.allowed);
	assert_int_equal(used_now(&st, &cls, 0, T0), 0);
}

/* test_messages - message caps beside recipient caps */
static void
test_messages(void **state)
{
	struct ratelimit_class cls = cls_of("100/hour msg:2/hour");
	struct ratelimit_decision d;
	struct ratelimit_state st;

	(void)state;
	ratelimit_state_init(&st);
	/* First recipient of each message carries the message. */
	assert_true(reserve(&st, &cls, 1, 1, T0, NULL).allowed);
	assert_true(reserve(&st, &cls, 1, 0, T0, NULL).allowed);
	assert_true(reserve(&st, &cls, 1, 1, T0 + 1, NULL).allowed);
	d = reserve(&st, &cls, 1, 1, T0 + 2, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cap.what, RATELIMIT_MESSAGES);
	assert_int_equal(d.cap.max, 2);
	assert_int_equal(d.used, 2);
	/* More recipients of a message already counted still pass. */
	assert_true(reserve(&st, &cls, 1, 0, T0 + 3, NULL).allowed);
	assert_int_equal(used_now(&st, &cls, 0, T0 + 3), 4);
	assert_int_equal(used_now(&st, &cls, 1, T0 + 3), 2);
}

/* test_refund - exactly what was charged comes back, from its bucket */
static void
test_refund(void **state)
{
	struct ratelimit_class cls = cls_of("3/hour msg:10/hour");
	struct ratelimit_token t1, t2, t3, zero;
	struct ratelimit_state st;
	struct ratelimit_usage u;
	char why[256];

	(void)state;
	ratelimit_state_init(&st);
	assert_true(reserve(&st, &cls, 1, 1, T0, &t1).allowed);
	assert_int_equal(t1.at, T0);
	assert_int_equal(t1.rcpts, 1);
	assert_int_equal(t1.msgs, 1);
	assert_true(reserve(&st, &cls, 1, 0, T0 + 600, &t2).allowed);
	assert_true(reserve(&st, &cls, 1, 0, T0 + 700, &t3).allowed);
	assert_false(reserve(&st, &cls, 1, 0, T0 + 800, NULL).allowed);
	/* The first recipient is refused downstream, 20 minutes later. */
	assert_int_equal(
	    ratelimit_refund(&st, &t1, T0 + 1200, why, sizeof(why)), 0);
	ratelimit_usage(&st, &cls, T0 + 1200, &u);
	assert_int_equal(u.cap[0].used, 2);
	assert_int_equal(u.cap[1].used, 0);
	/* Its bucket is empty now: the oldest charge is t2's. */
	assert_int_equal(u.cap[0].next_free, HOUR_FREE(T0 + 600));
	assert_int_equal(u.cap[0].all_free, HOUR_FREE(T0 + 700));
	assert_true(reserve(&st, &cls, 1, 0, T0 + 1300, NULL).allowed);
	assert_false(reserve(&st, &cls, 1, 0, T0 + 1301, NULL).allowed);
	/* Refunding twice cannot go below zero. */
	assert_int_equal(
	    ratelimit_refund(&st, &t1, T0 + 1400, why, sizeof(why)), 0);
	assert_int_equal(used_now(&st, &cls, 0, T0 + 1400), 3);
	/* A token whose bucket left the window changes nothing. */
	assert_int_equal(
	    ratelimit_refund(&st, &t2, HOUR_FREE(T0 + 600), why, sizeof(why)),
	    0);
	assert_int_equal(used_now(&st, &cls, 0, HOUR_FREE(T0 + 600)), 2);
	/* An empty token, a bad time. */
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(ratelimit_refund(&st, &zero, T0, why, sizeof(why)), 0);
	assert_int_equal(ratelimit_refund(&st, &t3, -1, why, sizeof(why)), -1);
	assert_string_equal(why, "time -1 out of range");
}

/* test_sliding - the window slides, capacity frees bucket by bucket */
static void
test_sliding(void **state)
{
	struct ratelimit_class cls = cls_of("20/minute");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	int i;

	(void)state;
	ratelimit_state_init(&st);
	/* 1-minute window: 1-second buckets, free(t) = t + 61. */
	for (i = 0; i < 20; i++)
		assert_true(reserve(&st, &cls, 1, 0, T0 + i, NULL).allowed);
	d = reserve(&st, &cls, 1, 0, T0 + 30, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.resume, T0 + 61);
	assert_false(reserve(&st, &cls, 1, 0, T0 + 60, NULL).allowed);
	/* One frees each second from T0 + 61 on. */
	assert_true(reserve(&st, &cls, 1, 0, T0 + 61, NULL).allowed);
	assert_false(reserve(&st, &cls, 1, 0, T0 + 61, NULL).allowed);
	d = reserve(&st, &cls, 2, 0, T0 + 61, NULL);
	assert_int_equal(d.resume, T0 + 63);
	assert_true(reserve(&st, &cls, 2, 0, T0 + 63, NULL).allowed);
	/* Long after: everything free, and the state idle. */
	assert_int_equal(ratelimit_state_idle_at(&st), T0 + 63 + 61);
	assert_false(ratelimit_state_idle(&st, T0 + 63 + 60));
	assert_true(ratelimit_state_idle(&st, T0 + 63 + 61));
	assert_int_equal(used_now(&st, &cls, 0, T0 + 3600), 0);
}

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

/* count_in - accepted charges at times [from, to] */
static uint32_t
count_in(const int64_t *log, size_t n, int64_t from, int64_t to)
{
	uint32_t c = 0;
	size_t i;

	for (i = n; i-- > 0 && log[i] >= from;) {
		if (log[i] <= to)
			c++;
	}
	return c;
}

/*
 * test_accuracy - ratelimit.h's bounds against an exact log: no W
 * seconds ever hold more than max, and a refusal always has max
 * charges within the last K*B + B - 1 seconds
 */
static void
test_accuracy(void **state)
{
	static const uint32_t windows[] = { 3600, 90, 100, 7, 3601, 86400 };
	struct ratelimit_state st;
	struct ratelimit_decision d;
	int64_t *log, t;
	size_t w, n, step;

	(void)state;
	log = calloc(40000, sizeof(*log));
	assert_non_null(log);
	for (w = 0; w < NELEM(windows); w++) {
		uint32_t W = windows[w], B = (W + 59) / 60;
		uint32_t K = (W + B - 1) / B, max = 10;
		struct ratelimit_class cls;
		char spec[64];

		snprintf(spec, sizeof(spec), "%u/%us", max, W);
		cls = cls_of(spec);
		ratelimit_state_init(&st);
		t = T0;
		n = 0;
		for (step = 0; step < 20000; step++) {
			t += (int64_t)(next() % (2 * W / max + 2));
			d = reserve(&st, &cls, 1, 0, t, NULL);
			if (d.allowed) {
				log[n++] = t;
				if (count_in(log, n, t - W + 1, t) > max)
					fail_msg("W=%u t=%lld: more than %u in "
						 "a window",
					    W, (long long)t, max);
			} else if (count_in(log, n, t - (int64_t)K * B - B + 1,
				       t) < max) {
				fail_msg("W=%u t=%lld: refused with fewer than "
					 "%u charges in reach",
				    W, (long long)t, max);
			}
			/* A refusal says when, and it is later. */
			if (!d.allowed)
				assert_true(d.resume > t);
		}
		assert_true(n > 1000);
	}
	free(log);
}

/* test_block - a block period keeps the account refused */
static void
test_block(void **state)
{
	struct ratelimit_class cls = cls_of("2/minute block=1h");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	struct ratelimit_usage u;
	struct ratelimit_reply r;
	char text[RATELIMIT_TEXT_MAX];

	(void)state;
	ratelimit_state_init(&st);
	assert_true(reserve(&st, &cls, 1, 0, T0, NULL).allowed);
	assert_true(reserve(&st, &cls, 1, 0, T0, NULL).allowed);
	d = reserve(&st, &cls, 1, 0, T0 + 5, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_WINDOW);
	assert_true(d.block_started);
	assert_int_equal(d.blocked_until, T0 + 5 + 3600);
	assert_int_equal(d.resume, T0 + 5 + 3600);
	/* The window frees, the block still holds. */
	d = reserve(&st, &cls, 1, 0, T0 + 120, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_BLOCK);
	assert_false(d.block_started);
	assert_int_equal(d.resume, T0 + 3605);
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "451");
	assert_string_equal(r.xcode, "4.7.1");
	assert_string_equal(r.text,
	    "Sending blocked after a sending limit "
	    "was reached; try again after 2023-11-14 "
	    "23:14 UTC");
	ratelimit_usage(&st, &cls, T0 + 120, &u);
	assert_int_equal(u.blocked_until, T0 + 3605);
	assert_int_equal(
	    ratelimit_usage_text(&u, RATELIMIT_TZ_UTC, text, sizeof(text)), 0);
	assert_string_equal(text,
	    "0/2 recipients used in the last 1 min\n"
	    "blocked until 2023-11-14 23:14 UTC");
	assert_false(ratelimit_state_idle(&st, T0 + 3604));
	assert_int_equal(ratelimit_state_idle_at(&st), T0 + 3605);
	d = reserve(&st, &cls, 1, 0, T0 + 3605, NULL);
	assert_true(d.allowed);
	assert_int_equal(d.blocked_until, 0);
}

/* test_count_refused - refused attempts are charged when asked */
static void
test_count_refused(void **state)
{
	struct ratelimit_class plain = cls_of("2/hour");
	struct ratelimit_class counting = cls_of("2/hour count_refused=yes");
	struct ratelimit_state a, b;
	struct ratelimit_token tok;
	struct ratelimit_decision d;

	(void)state;
	ratelimit_state_init(&a);
	ratelimit_state_init(&b);
	assert_true(reserve(&a, &plain, 2, 0, T0, NULL).allowed);
	assert_true(reserve(&b, &counting, 2, 0, T0, NULL).allowed);
	/* Hammering an hour-old cap from minute 1 and 2 on. */
	assert_false(reserve(&a, &plain, 1, 0, T0 + 70, NULL).allowed);
	d = reserve(&b, &counting, 1, 0, T0 + 70, &tok);
	assert_false(d.allowed);
	assert_int_equal(tok.rcpts, 0); /* nothing to refund */
	assert_false(reserve(&b, &counting, 1, 0, T0 + 130, NULL).allowed);
	assert_int_equal(used_now(&a, &plain, 0, T0 + 130), 2);
	assert_int_equal(used_now(&b, &counting, 0, T0 + 130), 4);
	/* T0's bucket leaves: plain is free, counting still full. */
	assert_true(reserve(&a, &plain, 1, 0, HOUR_FREE(T0), NULL).allowed);
	d = reserve(&b, &counting, 1, 0, HOUR_FREE(T0), NULL);
	assert_false(d.allowed);
	assert_int_equal(d.used, 2);
	assert_int_equal(d.resume, HOUR_FREE(T0 + 70));
}

/* test_shadow - refusals reported, charges made, nothing refused */
static void
test_shadow(void **state)
{
	struct ratelimit_class cls = cls_of("1/hour per_message=1 shadow=yes");
	struct ratelimit_request req = { 1, 0, 1, 0 };
	struct ratelimit_decision d;
	struct ratelimit_state st;
	struct ratelimit_token tok;
	char why[256];

	(void)state;
	ratelimit_state_init(&st);
	d = reserve(&st, &cls, 1, 0, T0, NULL);
	assert_true(d.allowed);
	assert_false(d.shadow);
	d = reserve(&st, &cls, 1, 0, T0, &tok);
	assert_true(d.allowed);
	assert_true(d.refused);
	assert_true(d.shadow);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_WINDOW);
	assert_int_equal(tok.rcpts, 1);
	assert_int_equal(used_now(&st, &cls, 0, T0), 2);
	/* The per-message cap in shadow: reported first, charged anyway. */
	assert_int_equal(
	    ratelimit_reserve(&st, &cls, &req, T0, &d, &tok, why, sizeof(why)),
	    0);
	assert_true(d.allowed && d.shadow);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_PER_MESSAGE);
	assert_int_equal(used_now(&st, &cls, 0, T0), 3);
}

/* test_session_caps - per-message and per-session recipients */
static void
test_session_caps(void **state)
{
	struct ratelimit_class cls = cls_of("100/day per_message=2 "
					    "per_session=3");
	struct ratelimit_request req = { 1, 0, 2, 2 };
	struct ratelimit_decision d;
	struct ratelimit_state st;
	struct ratelimit_token tok;
	struct ratelimit_reply r;
	char why[256];

	(void)state;
	ratelimit_state_init(&st);
	assert_int_equal(
	    ratelimit_reserve(&st, &cls, &req, T0, &d, &tok, why, sizeof(why)),
	    0);
	assert_false(d.allowed);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_PER_MESSAGE);
	assert_int_equal(d.limit, 2);
	assert_int_equal(d.used, 2);
	/* The state is not touched: never seen, nothing counted. */
	assert_int_equal(st.last, 0);
	assert_int_equal(st.nseries, 0);
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "452");
	assert_string_equal(r.xcode, "4.5.3");
	assert_string_equal(r.text,
	    "Too many recipients in this message "
	    "(limit 2)");
	req.msg_rcpts = 0;
	req.session_rcpts = 3;
	assert_int_equal(
	    ratelimit_reserve(&st, &cls, &req, T0, &d, &tok, why, sizeof(why)),
	    0);
	assert_int_equal(d.cause, RATELIMIT_CAUSE_PER_SESSION);
	cls.action = RATELIMIT_REJECT;
	d.action = RATELIMIT_REJECT;
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "550");
	assert_string_equal(r.xcode, "5.5.3");
	assert_string_equal(r.text,
	    "Too many recipients in this session "
	    "(limit 3)");
	req.session_rcpts = 2;
	assert_int_equal(
	    ratelimit_reserve(&st, &cls, &req, T0, &d, &tok, why, sizeof(why)),
	    0);
	assert_true(d.allowed);
}

/* test_clock_backwards - an earlier time frees nothing */
static void
test_clock_backwards(void **state)
{
	struct ratelimit_class cls = cls_of("2/hour");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	struct ratelimit_token tok;
	char why[256];

	(void)state;
	ratelimit_state_init(&st);
	assert_true(reserve(&st, &cls, 1, 0, T0, &tok).allowed);
	assert_true(reserve(&st, &cls, 1, 0, T0 + 3000, NULL).allowed);
	/* Two hours back: the window stands still at T0 + 3000. */
	d = reserve(&st, &cls, 1, 0, T0 - 7200, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.resume, HOUR_FREE(T0));
	assert_int_equal(st.last, T0 + 3000);
	/* Back to 1970: same. */
	assert_false(reserve(&st, &cls, 1, 0, 0, NULL).allowed);
	/* A refund from the past still finds its bucket. */
	assert_int_equal(
	    ratelimit_refund(&st, &tok, T0 - 100, why, sizeof(why)), 0);
	assert_int_equal(used_now(&st, &cls, 0, T0 - 100), 1);
	assert_int_equal(st.last, T0 + 3000);
	/* Charges made while the clock was behind count from the latest
	 * time seen, not from the earlier one. */
	assert_true(reserve(&st, &cls, 1, 0, T0 - 50, &tok).allowed);
	assert_int_equal(tok.at, T0 + 3000);
	assert_false(reserve(&st, &cls, 1, 0, HOUR_FREE(T0) - 1, NULL).allowed);
	assert_int_equal(st.last, HOUR_FREE(T0) - 1);
	/* Times outside the range are errors and change nothing. */
	assert_int_equal(ratelimit_reserve(&st, &cls,
			     &(struct ratelimit_request){ 1, 0, 0, 0 }, -5, &d,
			     &tok, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "time -5 out of range");
	assert_int_equal(
	    ratelimit_reserve(&st, &cls,
		&(struct ratelimit_request){ 1, 0, 0, 0 },
		RATELIMIT_TIME_MAX + 1, &d, &tok, why, sizeof(why)),
	    -1);
	assert_int_equal(ratelimit_reserve(&st, &cls,
			     &(struct ratelimit_request){ 2000000000, 0, 0, 0 },
			     T0, &d, &tok, why, sizeof(why)),
	    -1);
	assert_int_equal(st.last, HOUR_FREE(T0) - 1);
}

/* test_caps_change - counts follow (what, window); new caps are seeded */
static void
test_caps_change(void **state)
{
	struct ratelimit_class day = cls_of("1000/day");
	struct ratelimit_class both = cls_of("1000/day 5/hour");
	struct ratelimit_class hour = cls_of("3/hour");
	struct ratelimit_class msgs = cls_of("msg:5/hour");
	struct ratelimit_decision d;
	struct ratelimit_state st;

	(void)state;
	ratelimit_state_init(&st);
	assert_true(reserve(&st, &day, 4, 0, T0, NULL).allowed);
	/* A new hourly cap starts from what the day holds: conservative. */
	d = reserve(&st, &both, 2, 0, T0 + 60, NULL);
	assert_false(d.allowed);
	assert_int_equal(d.cap.window, 3600);
	assert_int_equal(d.used, 4);
	assert_true(reserve(&st, &both, 1, 0, T0 + 60, NULL).allowed);
	assert_int_equal(used_now(&st, &both, 0, T0 + 60), 5);
	/* The day series was kept through the change. */
	assert_int_equal(used_now(&st, &day, 0, T0 + 60), 5);
	/* Switching to another class: the hour series is kept as is. */
	assert_int_equal(used_now(&st, &hour, 0, T0 + 60), 5);
	assert_false(reserve(&st, &hour, 1, 0, T0 + 60, NULL).allowed);
	/* No messages were ever counted: a message cap starts empty. */
	assert_true(reserve(&st, &msgs, 0, 1, T0 + 60, NULL).allowed);
	assert_int_equal(st.nseries, 1);
}

/* test_texts - replies, usage text, times in UTC and local time */
static void
test_texts(void **state)
{
	struct ratelimit_class cls = cls_of("5/hour msg:100/day");
	struct ratelimit_decision d;
	struct ratelimit_state st;
	struct ratelimit_usage u;
	struct ratelimit_reply r;
	char text[RATELIMIT_TEXT_MAX], t[64];

	(void)state;
	ratelimit_state_init(&st);
	d = reserve(&st, &cls, 5, 1, T0, NULL);
	d = reserve(&st, &cls, 1, 0, T0 + 10, NULL);
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "451");
	assert_string_equal(r.xcode, "4.7.1");
	assert_string_equal(r.text,
	    "Sending limit reached: 5 recipients per "
	    "1 h; try again after 2023-11-14 23:14 "
	    "UTC");
	d.action = RATELIMIT_REJECT;
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "550");
	assert_string_equal(r.xcode, "5.7.1");
	assert_string_equal(r.text,
	    "Sending limit reached: 5 recipients per "
	    "1 h; sending resumes after 2023-11-14 "
	    "23:14 UTC");
	d = reserve(&st, &cls, 6, 0, T0 + 10, NULL);
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.text,
	    "Sending limit: at most 5 recipients "
	    "per 1 h");
	memset(&d, 0, sizeof(d));
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, &r);
	assert_string_equal(r.rcode, "");

	ratelimit_usage(&st, &cls, T0 + 10, &u);
	assert_int_equal(
	    ratelimit_usage_text(&u, RATELIMIT_TZ_UTC, text, sizeof(text)), 0);
	assert_string_equal(text,
	    "5/5 recipients used in the last 1 h, next frees at 2023-11-14 "
	    "23:14 UTC\n"
	    "1/100 messages used in the last 24 h, next frees at 2023-11-15 "
	    "22:24 UTC");
	assert_int_equal(
	    ratelimit_usage_text(&u, RATELIMIT_TZ_UTC, text, 20), -1);
	assert_int_equal(strlen(text), 19);
	/* Times round up to the minute. */
	assert_string_equal(
	    ratelimit_format_time(T0 + 1, RATELIMIT_TZ_UTC, t, sizeof(t)),
	    "2023-11-14 22:14 UTC");
	assert_string_equal(
	    ratelimit_format_time(T0, RATELIMIT_TZ_UTC, t, sizeof(t)),
	    "2023-11-14 22:13 UTC");
	assert_string_equal(
	    ratelimit_format_time(0, RATELIMIT_TZ_UTC, t, sizeof(t)), "never");
	setenv("TZ", "JST-9", 1);
	tzset();
	assert_string_equal(
	    ratelimit_format_time(T0, RATELIMIT_TZ_LOCAL, t, sizeof(t)),
	    "2023-11-15 07:13 +0900");
	unsetenv("TZ");
	tzset();
}

/* test_encoding - the compact state round-trips and stays small */
static void
test_encoding(void **state)
{
	struct ratelimit_class cls = cls_of("1000/day 100/hour 20/minute "
					    "msg:200/day block=1h");
	struct ratelimit_state st, back;
	uint8_t buf[RATELIMIT_STATE_MAX], buf2[RATELIMIT_STATE_MAX];
	size_t len, len2, i;
	char why[256];
	int64_t t;

	(void)state;
	ratelimit_state_init(&st);
	/* Empty: version, last, block, count. */
	assert_int_equal(
	    ratelimit_state_encode(&st, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	(void)reserve(&st,
	    &(struct ratelimit_class){ .name = "d",
		.cap = { { RATELIMIT_RECIPIENTS, 86400, 1000 } },
		.ncaps = 1 },
	    1, 1, T0 - 3600, NULL);
	assert_int_equal(
	    ratelimit_state_encode(&st, buf, sizeof(buf), &len), 0);
	/* One recipient under 1000/day: 16 bytes. */
	assert_int_equal(len, 16);
	/* A busy account: every bucket of every series used. */
	for (t = T0; t < T0 + 86400; t += 97)
		(void)reserve(&st, &cls, 1, 1, t, NULL);
	assert_int_equal(
	    ratelimit_state_encode(&st, buf, sizeof(buf), &len), 0);
	assert_true(len < 700);
	assert_int_equal(
	    ratelimit_state_decode(buf, len, &back, why, sizeof(why)), 0);
	assert_int_equal(
	    ratelimit_state_encode(&back, buf2, sizeof(buf2), &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	assert_int_equal(
	    used_now(&back, &cls, 0, t), used_now(&st, &cls, 0, t));
	/* Too small a buffer. */
	assert_int_equal(ratelimit_state_encode(&st, buf2, 10, &len2), -1);
	/* Every truncation fails cleanly. */
	for (i = 0; i < len; i++) {
		if (ratelimit_state_decode(buf, i, &back, why, sizeof(why)) ==
		    0)
			fail_msg("truncated to %zu bytes: got a state", i);
	}
	buf[0] = 9;
	assert_int_equal(
	    ratelimit_state_decode(buf, len, &back, why, sizeof(why)), -1);
	assert_string_equal(why, "state: unknown version");
	buf[0] = 1;
	buf[len] = 0;
	assert_int_equal(
	    ratelimit_state_decode(buf, len + 1, &back, why, sizeof(why)), -1);
	assert_string_equal(why, "state: 1 bytes of trailing garbage");
}

/* test_garbage - random and mutated bytes never crash the decoder */
static void
test_garbage(void **state)
{
	struct ratelimit_class cls = cls_of("10/hour msg:5/minute");
	struct ratelimit_state st;
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	uint8_t good[RATELIMIT_STATE_MAX], buf[RATELIMIT_STATE_MAX];
	size_t len, n, i, j, ok = 0;
	char why[256];

	(void)state;
	ratelimit_state_init(&st);
	for (i = 0; i < 30; i++)
		(void)reserve(&st, &cls, 1, 1, T0 + (int64_t)i * 7, NULL);
	assert_int_equal(
	    ratelimit_state_encode(&st, good, sizeof(good), &len), 0);
	for (i = 0; i < 200000; i++) {
		if (i % 2 == 0) {
			n = next() % 64;
			for (j = 0; j < n; j++)
				buf[j] = (uint8_t)next();
			buf[0] = 1;
		} else {
			n = len;
			memcpy(buf, good, len);
			for (j = next() % 4 + 1; j > 0; j--)
				buf[next() % len] ^=
				    (uint8_t)(1u << (next() % 8));
		}
		if (ratelimit_state_decode(buf, n, &st, why, sizeof(why)) < 0)
			continue;
		ok++;
		/* Whatever decodes is a state the algorithm can use. */
		assert_int_equal(ratelimit_reserve(&st, &cls,
				     &(struct ratelimit_request){ 1, 1, 0, 0 },
				     T0, &d, &tok, why, sizeof(why)),
		    0);
		assert_int_equal(
		    ratelimit_state_encode(&st, buf, sizeof(buf), &n), 0);
	}
	assert_true(ok > 0);
}

struct account_case {
	const char *name; /* the bytes */
	size_t len;	  /* their length */
	const char *why;  /* NULL: good, else the error */
};

/* test_accounts - account names: length, control bytes, UTF-8 */
static void
test_accounts(void **state)
{
	static char big[400];
	const struct account_case cases[] = {
		{ "alice@example.com", 17, NULL },
		{ "j\xc3\xbcrgen@example.de", 18, NULL },
		{ "\xe6\x97\xa5\xe6\x9c\xac@example.jp", 13, NULL },
		{ "192.0.2.1", 9, NULL },
		{ big, 320, NULL },
		{ "", 0, "empty account name" },
		{ big, 321, "account name is 321 bytes, more than 320" },
		{ big, 400, "account name is 400 bytes, more than 320" },
		{ "a\x01z", 3,
		    "account name has a control byte 0x01 at offset 1" },
		{ "a\0z", 3,
		    "account name has a control byte 0x00 at offset 1" },
		{ "a\r\nb", 4,
		    "account name has a control byte 0x0d at offset 1" },
		{ "ab\x7f", 3,
		    "account name has a control byte 0x7f at offset 2" },
		{ "a b", 3, "account name has a space at offset 1" },
		{ "\xc3\x28", 2, "account name has invalid UTF-8 at offset 0" },
		{ "x\xc0\xaf", 3,
		    "account name has invalid UTF-8 at offset 1" },
		{ "\xed\xa0\x80", 3,
		    "account name has invalid UTF-8 at offset 0" },
		{ "\xf4\x90\x80\x80", 4,
		    "account name has invalid UTF-8 at offset 0" },
		{ "ab\xe6\x97", 4,
		    "account name has invalid UTF-8 at offset 2" },
		{ "\xff", 1, "account name has invalid UTF-8 at offset 0" },
	};
	char why[256];
	size_t i;
	int rc;

	(void)state;
	memset(big, 'a', sizeof(big));
	for (i = 0; i < NELEM(cases); i++) {
		why[0] = '\0';
		rc = ratelimit_account_check(
		    cases[i].name, cases[i].len, why, sizeof(why));
		if (cases[i].why == NULL && rc != 0)
			fail_msg("case %zu: got \"%s\", want good", i, why);
		if (cases[i].why != NULL &&
		    (rc == 0 || strcmp(why, cases[i].why) != 0))
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rc,
			    why, cases[i].why);
	}
	assert_int_equal(
	    ratelimit_account_check(NULL, 3, why, sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_parse),
		cmocka_unit_test(test_class_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_exact_cap),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_sliding),
		cmocka_unit_test(test_accuracy),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_count_refused),
		cmocka_unit_test(test_shadow),
		cmocka_unit_test(test_session_caps),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_caps_change),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_accounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
