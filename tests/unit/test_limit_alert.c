/*
 * NAME
 *	test_limit_alert - unit tests of the sending-cap alert hook
 * SUMMARY
 *	The JSON text and its escaping; start-up errors; a command's stdin
 *	and environment; the per-key interval and the per_minute cap on an
 *	injected clock; failing, late and hung commands; a full queue; the
 *	web hook against an HTTP server of the test's own on 127.0.0.1
 *	(2xx, 500, refused); concurrent posts.
 * DESCRIPTION
 *	Commands write into a fresh directory under TMPDIR (or /tmp),
 *	removed at the end. Deliveries are asynchronous: the tests poll the
 *	counters (up to 30 s) rather than sleep a fixed time.
 */
#include "milter/limit_alert.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "milter/log.h"

#define T0 1795316400 /* 2026-11-22T03:00:00Z */

static char test_dir[256]; /* scratch directory */

/* path - a file of the scratch directory (static buffer per slot) */
static const char *
path(int slot, const char *name)
{
	static char buf[4][320];

	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", test_dir, name);
	return buf[slot];
}

/* event - an event with the usual class and counts */
static struct limit_alert_event
event(const char *account, const char *ev, int percent, const char *cap,
    int64_t now)
{
	struct limit_alert_event e;

	memset(&e, 0, sizeof(e));
	e.account = account;
	e.event = ev;
	e.percent = percent;
	e.cap_text = cap;
	e.class_name = "default";
	e.used = 800;
	e.limit = 1000;
	e.now = now;
	return e;
}

/* start - start with a command and/or URL; fails the test on error */
static void
start(const char *command, const char *url, unsigned interval,
    unsigned per_minute, unsigned command_ms)
{
	struct limit_alert_options o;
	char *error = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.command = command;
	o.url = url;
	o.interval = interval;
	o.per_minute = per_minute;
	o.command_timeout_ms = command_ms;
	rc = limit_alert_start(&o, &error);
	if (rc != 0)
		fail_msg("limit_alert_start: got %d (%s), want 0", rc,
		    error != NULL ? error : "?");
	assert_null(error);
}

/* wait_done - wait until n alerts were delivered or failed */
static void
wait_done(uint64_t n, struct limit_alert_stats *st)
{
	int i;

	for (i = 0; i < 3000; i++) {
		limit_alert_stats(st);
		if (st->sent + st->failed >= n)
			return;
		usleep(10000);
	}
	fail_msg("waited 30 s for %llu alerts: got sent %llu failed %llu",
	    (unsigned long long)n, (unsigned long long)st->sent,
	    (unsigned long long)st->failed);
}

/* wait_file - wait until a file exists */
static void
wait_file(const char *name)
{
	int i;

	for (i = 0; i < 3000; i++) {
		if (access(name, F_OK) == 0)
			return;
		usleep(10000);
	}
	fail_msg("waited 30 s for %s", name);
}

/* slurp - a whole file, NUL-ended (caller frees) */
static char *
slurp(const char *name)
{
	FILE *fp = fopen(name, "r");
	char *buf;
	size_t n;

	if (fp == NULL)
		fail_msg("%s: %s", name, strerror(errno));
	buf = calloc(1, 65536);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* count_lines - lines of a file (0 if absent) */
static int
count_lines(const char *name)
{
	FILE *fp = fopen(name, "r");
	int c, n = 0;

	if (fp == NULL)
		return 0;
	while ((c = getc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

/* teardown - stop the module whatever the test did */
static int
teardown(void **state)
{
	(void)state;
	limit_alert_stop();
	return 0;
}

static const struct {
	const char *name;	    /* case */
	struct limit_alert_event e; /* input */
	const char *want;	    /* JSON text */
} json_cases[] = {
	{ "threshold",
	    { "alice@example.org", "threshold", 80, "1000 recipients per 24 h",
		"default", 800, 1000, 0, T0 },
	    "{\"account\":\"alice@example.org\",\"event\":\"threshold\","
	    "\"percent\":80,\"cap\":\"1000 recipients per 24 h\","
	    "\"class\":\"default\",\"used\":800,\"limit\":1000,"
	    "\"until\":null,\"time\":\"2026-11-22T03:00:00Z\"}" },
	{ "blocked",
	    { "bob", "blocked", 100, "50 messages per 1 h", "bulk", 50, 50,
		T0 + 3600, T0 + 59 },
	    "{\"account\":\"bob\",\"event\":\"blocked\",\"percent\":100,"
	    "\"cap\":\"50 messages per 1 h\",\"class\":\"bulk\",\"used\":50,"
	    "\"limit\":50,\"until\":1795320000,"
	    "\"time\":\"2026-11-22T03:00:59Z\"}" },
	{ "quote and backslash",
	    { "o\"brien\\x", "threshold", 80, "c\"ap\\", "cl\\ass", 0, 0, 0,
		0 },
	    "{\"account\":\"o\\\"brien\\\\x\",\"event\":\"threshold\","
	    "\"percent\":80,\"cap\":\"c\\\"ap\\\\\",\"class\":\"cl\\\\ass\","
	    "\"used\":0,\"limit\":0,\"until\":null,"
	    "\"time\":\"1970-01-01T00:00:00Z\"}" },
	{ "control bytes",
	    { "x\001\n\t\x1f\x7fy", "threshold", 80, "", "", 0, 0, 0, 0 },
	    "{\"account\":\"x\\u0001\\u000a\\u0009\\u001f\\u007fy\","
	    "\"event\":\"threshold\",\"percent\":80,\"cap\":\"\","
	    "\"class\":\"\",\"used\":0,\"limit\":0,\"until\":null,"
	    "\"time\":\"1970-01-01T00:00:00Z\"}" },
	{ "valid UTF-8 as is",
	    { "j\xc3\xbcrgen@\xe4\xbe\x8b\xe3\x81\x88.jp\xf0\x9f\x98\x80",
		"threshold", 80, "", "", 0, 0, 0, 0 },
	    "{\"account\":\"j\xc3\xbcrgen@\xe4\xbe\x8b\xe3\x81\x88.jp"
	    "\xf0\x9f\x98\x80\",\"event\":\"threshold\",\"percent\":80,"
	    "\"cap\":\"\",\"class\":\"\",\"used\":0,\"limit\":0,"
	    "\"until\":null,\"time\":\"1970-01-01T00:00:00Z\"}" },
	{ "invalid UTF-8 replaced",
	    /* stray byte, overlong, surrogate, above U+10FFFF, cut */
	    { "a\xff|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe4\xbe",
		"threshold", 80, "", "", 0, 0, 0, 0 },
	    "{\"account\":\"a\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\","
	    "\"event\":\"threshold\",\"percent\":80,\"cap\":\"\","
	    "\"class\":\"\",\"used\":0,\"limit\":0,\"until\":null,"
	    "\"time\":\"1970-01-01T00:00:00Z\"}" },
	{ "NULL strings", { NULL, NULL, -1, NULL, NULL, 4294967295u, 1, -5, 0 },
	    "{\"account\":\"\",\"event\":\"\",\"percent\":-1,\"cap\":\"\","
	    "\"class\":\"\",\"used\":4294967295,\"limit\":1,\"until\":null,"
	    "\"time\":\"1970-01-01T00:00:00Z\"}" },
};

/* test_json - the JSON text of each case, and too small buffers */
static void
test_json(void **state)
{
	char buf[LIMIT_ALERT_JSON_MAX];
	size_t i, want_len;
	int n;

	(void)state;
	for (i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		n = limit_alert_json(&json_cases[i].e, buf, sizeof(buf));
		want_len = strlen(json_cases[i].want);
		if (n != (int)want_len || strcmp(buf, json_cases[i].want) != 0)
			fail_msg("%s: got %d \"%s\", want %zu \"%s\"",
			    json_cases[i].name, n, buf, want_len,
			    json_cases[i].want);
		/* Exactly enough room, then one byte short. */
		n = limit_alert_json(&json_cases[i].e, buf, want_len + 1);
		if (n != (int)want_len)
			fail_msg("%s: size %zu: got %d, want %zu",
			    json_cases[i].name, want_len + 1, n, want_len);
		n = limit_alert_json(&json_cases[i].e, buf, want_len);
		if (n != -1)
			fail_msg("%s: size %zu: got %d, want -1",
			    json_cases[i].name, want_len, n);
	}
	assert_int_equal(limit_alert_json(&json_cases[0].e, buf, 0), -1);
}

/* test_start_errors - refused options, no hook, double start, stop */
static void
test_start_errors(void **state)
{
	static const struct {
		const char *name;	      /* case */
		struct limit_alert_options o; /* options */
		const char *want;	      /* in the error */
	} cases[] = {
		{ "ftp URL", { NULL, "ftp://127.0.0.1/x", 0, 0, 0, 0 },
		    "limit_alert_url" },
		{ "bare host", { "true", "127.0.0.1:80", 0, 0, 0, 0 },
		    "limit_alert_url" },
		{ "per_minute too high", { "true", NULL, 0, 10001, 0, 0 },
		    "per_minute" },
	};
	struct limit_alert_options o;
	struct limit_alert_event e = event("a", "threshold", 80, "c", T0);
	char *error = NULL;
	size_t i;

	(void)state;
	assert_int_equal(limit_alert_post(&e), -1); /* never started */
	limit_alert_stop();			    /* harmless */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error = NULL;
		if (limit_alert_start(&cases[i].o, &error) != -1)
			fail_msg("%s: got 0, want -1", cases[i].name);
		if (error == NULL || strstr(error, cases[i].want) == NULL)
			fail_msg("%s: got error \"%s\", want \"%s\" in it",
			    cases[i].name, error != NULL ? error : "(null)",
			    cases[i].want);
		free(error);
		assert_int_equal(limit_alert_post(&e), -1);
	}
	/* No hook: nothing started, posts go nowhere. */
	memset(&o, 0, sizeof(o));
	o.command = "";
	o.url = "";
	error = NULL;
	assert_int_equal(limit_alert_start(&o, &error), 0);
	assert_null(error);
	assert_int_equal(limit_alert_post(&e), -1);
	limit_alert_stop();
	/* Started once: a second start is refused, stop ends posting. */
	start("true", NULL, 0, 0, 0);
	o.command = "true";
	assert_int_equal(limit_alert_start(&o, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "already started"));
	free(error);
	limit_alert_stop();
	assert_int_equal(limit_alert_post(&e), -1);
}

/* test_command_stdin_env - the JSON on stdin, the SAKIMORI_ variables */
static void
test_command_stdin_env(void **state)
{
	struct limit_alert_event e1, e2;
	struct limit_alert_stats st;
	char cmd[1024], json1[LIMIT_ALERT_JSON_MAX],
	    json2[LIMIT_ALERT_JSON_MAX];
	char want[3 * LIMIT_ALERT_JSON_MAX], *got;

	(void)state;
	snprintf(cmd, sizeof(cmd),
	    "cat >> '%s'; env | grep '^SAKIMORI_' | LC_ALL=C sort >> '%s'",
	    path(0, "env"), path(1, "env"));
	/* An inherited SAKIMORI_ variable must not shadow the event's. */
	setenv("SAKIMORI_ACCOUNT", "stale", 1);
	start(cmd, NULL, 0, 0, 0);
	unsetenv("SAKIMORI_ACCOUNT");
	e1 = event("o\"brien\\x@example.org", "threshold", 80,
	    "1000 recipients per 24 h", T0);
	e2 = event("carol", "blocked", 100, "50 messages per 1 h", T0 + 1);
	e2.class_name = "bulk";
	e2.used = 50;
	e2.limit = 50;
	e2.until = T0 + 3600;
	assert_int_equal(limit_alert_post(&e1), 1);
	assert_int_equal(limit_alert_post(&e2), 1);
	wait_done(2, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.queued, 2);
	assert_true(limit_alert_json(&e1, json1, sizeof(json1)) > 0);
	assert_true(limit_alert_json(&e2, json2, sizeof(json2)) > 0);
	assert_non_null(strstr(json1, "\"o\\\"brien\\\\x@example.org\""));
	snprintf(want, sizeof(want),
	    "%s\n"
	    "SAKIMORI_ACCOUNT=o\"brien\\x@example.org\n"
	    "SAKIMORI_CAP=1000 recipients per 24 h\n"
	    "SAKIMORI_CLASS=default\n"
	    "SAKIMORI_EVENT=threshold\n"
	    "SAKIMORI_LIMIT=1000\n"
	    "SAKIMORI_PERCENT=80\n"
	    "SAKIMORI_UNTIL=\n"
	    "SAKIMORI_USED=800\n"
	    "%s\n"
	    "SAKIMORI_ACCOUNT=carol\n"
	    "SAKIMORI_CAP=50 messages per 1 h\n"
	    "SAKIMORI_CLASS=bulk\n"
	    "SAKIMORI_EVENT=blocked\n"
	    "SAKIMORI_LIMIT=50\n"
	    "SAKIMORI_PERCENT=100\n"
	    "SAKIMORI_UNTIL=1795320000\n"
	    "SAKIMORI_USED=50\n",
	    json1, json2);
	got = slurp(path(0, "env"));
	if (strcmp(got, want) != 0)
		fail_msg("got\n%s\nwant\n%s", got, want);
	free(got);
}

/* test_long_account_cut - cut to 320 bytes at a UTF-8 boundary */
static void
test_long_account_cut(void **state)
{
	struct limit_alert_event e;
	struct limit_alert_stats st;
	char cmd[1024], account[3 * 150 + 1], *got;
	int i;

	(void)state;
	/* 150 three-byte characters: 320 bytes would split the 107th. */
	for (i = 0; i < 150; i++)
		memcpy(account + 3 * i, "\xe4\xbe\x8b", 3);
	account[3 * 150] = '\0';
	snprintf(cmd, sizeof(cmd),
	    "printf '%%s' \"$SAKIMORI_ACCOUNT\" | wc -c >> '%s'; "
	    "cat >> '%s'",
	    path(0, "cut"), path(1, "cut"));
	start(cmd, NULL, 0, 0, 0);
	e = event(account, "threshold", 80, "c", T0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_done(1, &st);
	assert_int_equal(st.sent, 1);
	got = slurp(path(0, "cut"));
	account[318] = '\0';
	assert_int_equal(strtol(got, NULL, 10), 318);
	assert_non_null(strstr(got, account));
	assert_null(strstr(got, "\\ufffd"));
	free(got);
}

/* test_interval - one alert per (account, event, percent, cap) */
static void
test_interval(void **state)
{
	static const struct {
		const char *account; /* input */
		const char *event;   /* input */
		int percent;	     /* input */
		const char *cap;     /* input */
		int64_t now;	     /* input */
		int want;	     /* limit_alert_post */
	} cases[] = {
		{ "alice", "threshold", 80, "c1", T0, 1 },
		{ "alice", "threshold", 80, "c1", T0 + 50, 0 },
		{ "alice", "threshold", 80, "c1", T0 + 99, 0 },
		{ "alice", "threshold", 100, "c1", T0 + 99, 1 },
		{ "alice", "blocked", 100, "c1", T0 + 99, 1 },
		{ "alice", "threshold", 80, "c2", T0 + 99, 1 },
		{ "bob", "threshold", 80, "c1", T0 + 99, 1 },
		{ "alice", "threshold", 80, "c1", T0 + 100, 1 },
		{ "alice", "threshold", 80, "c1", T0 + 150, 0 },
		{ "alice", "threshold", 100, "c1", T0 + 150, 0 },
	};
	struct limit_alert_event e;
	struct limit_alert_stats st;
	char cmd[1024], *got;
	size_t i;
	int rc;

	(void)state;
	snprintf(cmd, sizeof(cmd),
	    "echo \"$SAKIMORI_ACCOUNT $SAKIMORI_EVENT $SAKIMORI_PERCENT "
	    "$SAKIMORI_CAP\" >> '%s'",
	    path(0, "interval"));
	start(cmd, NULL, 100, 0, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = event(cases[i].account, cases[i].event, cases[i].percent,
		    cases[i].cap, cases[i].now);
		rc = limit_alert_post(&e);
		if (rc != cases[i].want)
			fail_msg(
			    "case %zu (%s %s %d %s +%lld): got %d, want %d", i,
			    cases[i].account, cases[i].event, cases[i].percent,
			    cases[i].cap, (long long)(cases[i].now - T0), rc,
			    cases[i].want);
	}
	wait_done(6, &st);
	assert_int_equal(st.sent, 6);
	assert_int_equal(st.queued, 6);
	assert_int_equal(st.suppressed, 4);
	assert_int_equal(st.dropped, 0);
	got = slurp(path(0, "interval"));
	assert_string_equal(got,
	    "alice threshold 80 c1\n"
	    "alice threshold 100 c1\n"
	    "alice blocked 100 c1\n"
	    "alice threshold 80 c2\n"
	    "bob threshold 80 c1\n"
	    "alice threshold 80 c1\n");
	free(got);
}

/* test_per_minute - all accounts together, at most per_minute a minute */
static void
test_per_minute(void **state)
{
	struct limit_alert_event e;
	struct limit_alert_stats st;
	char cmd[1024], account[32];
	int i, queued = 0, refused = 0, rc;

	(void)state;
	snprintf(cmd, sizeof(cmd), "echo \"$SAKIMORI_ACCOUNT\" >> '%s'",
	    path(0, "minute"));
	start(cmd, NULL, 0, 5, 0);
	for (i = 0; i < 100; i++) {
		snprintf(account, sizeof(account), "user%d", i);
		e = event(account, "threshold", 80, "c", T0 + i % 30);
		rc = limit_alert_post(&e);
		if (rc == 1)
			queued++;
		else if (rc == 0)
			refused++;
		else
			fail_msg("post %d: got %d, want 0 or 1", i, rc);
	}
	assert_int_equal(queued, 5);
	assert_int_equal(refused, 95);
	/* The first of the five was at T0: its minute ends at T0 + 60. */
	e = event("late1", "threshold", 80, "c", T0 + 59);
	assert_int_equal(limit_alert_post(&e), 0);
	e = event("late2", "threshold", 80, "c", T0 + 60);
	assert_int_equal(limit_alert_post(&e), 1);
	e = event("late3", "threshold", 80, "c", T0 + 60);
	assert_int_equal(limit_alert_post(&e), 0);
	wait_done(6, &st);
	assert_int_equal(st.sent, 6);
	assert_int_equal(st.queued, 6);
	assert_int_equal(st.suppressed, 97);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(count_lines(path(0, "minute")), 6);
}

/* test_command_status - exit status, signal, missing program */
static void
test_command_status(void **state)
{
	static const struct {
		const char *command; /* hook */
		int want_sent;	     /* 1 sent, 0 failed */
	} cases[] = {
		{ "exit 3", 0 },
		{ "kill -9 $$", 0 },
		{ "/nonexistent/sakimori-alert 2>/dev/null", 0 },
		{ "cat > /dev/null; exit 0", 1 },
		{ "true", 1 },
	};
	struct limit_alert_event e = event("a", "threshold", 80, "c", T0);
	struct limit_alert_stats st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(cases[i].command, NULL, 0, 0, 0);
		assert_int_equal(limit_alert_post(&e), 1);
		wait_done(1, &st);
		if ((int)st.sent != cases[i].want_sent ||
		    (int)st.failed != 1 - cases[i].want_sent)
			fail_msg("%s: got sent %llu failed %llu, want sent %d",
			    cases[i].command, (unsigned long long)st.sent,
			    (unsigned long long)st.failed, cases[i].want_sent);
		limit_alert_stop();
	}
}

/* test_command_timeout - a late command is killed and counts as failed */
static void
test_command_timeout(void **state)
{
	struct limit_alert_event e = event("a", "threshold", 80, "c", T0);
	struct limit_alert_stats st;
	char cmd[1024], *got;
	long pid;

	(void)state;
	snprintf(
	    cmd, sizeof(cmd), "echo $$ > '%s'; exec sleep 30", path(0, "pid"));
	start(cmd, NULL, 0, 0, 300);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_done(1, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
	got = slurp(path(0, "pid"));
	pid = strtol(got, NULL, 10);
	free(got);
	assert_true(pid > 1);
	/* Killed and reaped: the pid names nothing any more. */
	assert_int_equal(kill((pid_t)pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* test_queue_full - a stuck worker: 256 wait, the rest are dropped */
static void
test_queue_full(void **state)
{
	struct limit_alert_event e;
	struct limit_alert_stats st;
	char cmd[1024], account[32];
	int i, queued = 0, dropped = 0, rc;
	FILE *fp;

	(void)state;
	snprintf(cmd, sizeof(cmd),
	    "if [ \"$SAKIMORI_ACCOUNT\" = first ]; then : > '%s'; "
	    "while [ ! -e '%s' ]; do sleep 0.02; done; fi",
	    path(0, "started"), path(1, "go"));
	start(cmd, NULL, 0, 10000, 60000);
	e = event("first", "threshold", 80, "c", T0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_file(path(0, "started"));
	for (i = 0; i < LIMIT_ALERT_QUEUE + 44; i++) {
		snprintf(account, sizeof(account), "user%d", i);
		e = event(account, "threshold", 80, "c", T0);
		rc = limit_alert_post(&e);
		if (rc == 1)
			queued++;
		else if (rc == 0)
			dropped++;
		else
			fail_msg("post %d: got %d, want 0 or 1", i, rc);
	}
	assert_int_equal(queued, LIMIT_ALERT_QUEUE);
	assert_int_equal(dropped, 44);
	limit_alert_stats(&st);
	assert_int_equal(st.dropped, 44);
	assert_int_equal(st.queued, LIMIT_ALERT_QUEUE + 1);
	assert_int_equal(st.suppressed, 0);
	fp = fopen(path(1, "go"), "w");
	assert_non_null(fp);
	fclose(fp);
	wait_done(LIMIT_ALERT_QUEUE + 1, &st);
	assert_int_equal(st.sent, LIMIT_ALERT_QUEUE + 1);
	assert_int_equal(st.failed, 0);
}

/* test_stop_hung - stop kills a hung command and drops what waits */
static void
test_stop_hung(void **state)
{
	struct limit_alert_event e;
	struct limit_alert_stats st;
	struct timespec t0, t1;
	char cmd[1024];
	double took;

	(void)state;
	/* Not exec: the shell waits for sleep, its group must go. */
	snprintf(cmd, sizeof(cmd), ": > '%s'; sleep 30; true", path(0, "hung"));
	start(cmd, NULL, 0, 0, 0);
	e = event("h1", "threshold", 80, "c", T0);
	assert_int_equal(limit_alert_post(&e), 1);
	e = event("h2", "threshold", 80, "c", T0);
	assert_int_equal(limit_alert_post(&e), 1);
	e = event("h3", "threshold", 80, "c", T0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_file(path(0, "hung"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	limit_alert_stop();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Generous: the drain is 2 s; a hang would be 30 s. */
	if (took > 10)
		fail_msg("stop took %.1f s, want a few", took);
	limit_alert_stats(&st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(limit_alert_post(&e), -1);
}

/* A one-shot HTTP server on 127.0.0.1. */
struct http_server {
	int fd;				 /* listening socket */
	int port;			 /* its port */
	int status;			 /* status to answer */
	bool served;			 /* a request was answered */
	char request_line[256];		 /* "POST /hook HTTP/1.1" */
	char content_type[256];		 /* Content-Type value */
	char body[LIMIT_ALERT_JSON_MAX]; /* request body */
	pthread_t thread;		 /* serving thread */
};

/* http_header - a header's value from a request head, or "" */
static void
http_header(const char *head, const char *name, char *out, size_t size)
{
	const char *p = strstr(head, "\r\n"), *end;
	size_t n = strlen(name), len;

	out[0] = '\0';
	while (p != NULL && p[2] != '\r') {
		p += 2;
		end = strstr(p, "\r\n");
		if (end == NULL)
			return;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			len = (size_t)(end - p);
			if (len >= size)
				len = size - 1;
			memcpy(out, p, len);
			out[len] = '\0';
			return;
		}
		p = end;
	}
}

/* http_serve - accept one connection, read one request, answer it */
static void *
http_serve(void *arg)
{
	struct http_server *h = arg;
	struct pollfd pfd = { h->fd, POLLIN, 0 };
	struct timeval tv = { 10, 0 };
	char buf[16384], clen[32], reply[512], *eoh;
	size_t len = 0, head_len = 0, want = 0, n;
	ssize_t r;
	int c;

	if (poll(&pfd, 1, 30000) != 1)
		return NULL;
	if ((c = accept(h->fd, NULL, NULL)) < 0)
		return NULL;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		if (len + 1 >= sizeof(buf))
			break;
		r = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (head_len == 0 && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			head_len = (size_t)(eoh - buf) + 4;
			http_header(buf, "Content-Length", clen, sizeof(clen));
			want = head_len + strtoul(clen, NULL, 10);
		}
		if (head_len > 0 && len >= want)
			break;
	}
	buf[len] = '\0';
	if (head_len > 0) {
		n = strcspn(buf, "\r");
		if (n >= sizeof(h->request_line))
			n = sizeof(h->request_line) - 1;
		memcpy(h->request_line, buf, n);
		h->request_line[n] = '\0';
		http_header(buf, "Content-Type", h->content_type,
		    sizeof(h->content_type));
		n = len - head_len;
		if (n >= sizeof(h->body))
			n = sizeof(h->body) - 1;
		memcpy(h->body, buf + head_len, n);
		h->body[n] = '\0';
	}
	snprintf(reply, sizeof(reply),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 12\r\nConnection: close\r\n\r\nline1\r\nline2",
	    h->status, h->status == 200 ? "OK" : "Internal Server Error");
	if (send(c, reply, strlen(reply), MSG_NOSIGNAL) > 0)
		h->served = true;
	close(c);
	return NULL;
}

/* http_listen - a listening socket on 127.0.0.1, any free port */
static int
http_listen(int *port_r)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port_r = ntohs(sin.sin_port);
	return fd;
}

/* http_start - a server answering status, in its own thread */
static void
http_start(struct http_server *h, int status)
{
	memset(h, 0, sizeof(*h));
	h->status = status;
	h->fd = http_listen(&h->port);
	assert_int_equal(pthread_create(&h->thread, NULL, http_serve, h), 0);
}

/* http_post_case - one alert POSTed to a server answering status */
static void
http_post_case(int status, int want_sent)
{
	struct http_server h;
	struct limit_alert_event e =
	    event("o\"brien\\x@example.org", "threshold", 80, "c", T0);
	struct limit_alert_stats st;
	char url[128], json[LIMIT_ALERT_JSON_MAX];

	http_start(&h, status);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", h.port);
	start(NULL, url, 0, 0, 0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_done(1, &st);
	assert_int_equal(pthread_join(h.thread, NULL), 0);
	close(h.fd);
	if ((int)st.sent != want_sent || (int)st.failed != 1 - want_sent)
		fail_msg("HTTP %d: got sent %llu failed %llu, want sent %d",
		    status, (unsigned long long)st.sent,
		    (unsigned long long)st.failed, want_sent);
	assert_true(h.served);
	assert_string_equal(h.request_line, "POST /hook HTTP/1.1");
	assert_string_equal(h.content_type, "application/json");
	assert_true(limit_alert_json(&e, json, sizeof(json)) > 0);
	assert_string_equal(h.body, json);
	limit_alert_stop();
}

/* test_url_200 - a 2xx answer is success */
static void
test_url_200(void **state)
{
	(void)state;
	http_post_case(200, 1);
}

/* test_url_500 - any other status is a failure */
static void
test_url_500(void **state)
{
	(void)state;
	http_post_case(500, 0);
}

/* test_url_refused - nobody listening is a failure */
static void
test_url_refused(void **state)
{
	struct limit_alert_event e = event("a", "threshold", 80, "c", T0);
	struct limit_alert_stats st;
	char url[128];
	int fd, port;

	(void)state;
	fd = http_listen(&port);
	close(fd); /* the port is free again: connections are refused */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	start(NULL, url, 0, 0, 0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_done(1, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
}

/* test_url_and_command - both hooks run; one failing fails the alert */
static void
test_url_and_command(void **state)
{
	struct http_server h;
	struct limit_alert_event e = event("both", "threshold", 80, "c", T0);
	struct limit_alert_stats st;
	char url[128], cmd[1024];

	(void)state;
	http_start(&h, 503);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", h.port);
	snprintf(cmd, sizeof(cmd), "echo \"$SAKIMORI_ACCOUNT\" >> '%s'",
	    path(0, "both"));
	start(cmd, url, 0, 0, 0);
	assert_int_equal(limit_alert_post(&e), 1);
	wait_done(1, &st);
	assert_int_equal(pthread_join(h.thread, NULL), 0);
	close(h.fd);
	assert_true(h.served);
	assert_int_equal(count_lines(path(0, "both")), 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
}

#define POSTERS 8   /* threads */
#define POSTS 200   /* posts each */
#define ACCOUNTS 50 /* distinct accounts among them */

/* poster - post POSTS events over ACCOUNTS accounts */
static void *
poster(void *arg)
{
	int *queued = arg, i;
	char account[32];
	struct limit_alert_event e;

	for (i = 0; i < POSTS; i++) {
		snprintf(account, sizeof(account), "acct%d", i % ACCOUNTS);
		e = event(account, "threshold", 80, "c", T0);
		if (limit_alert_post(&e) == 1)
			(*queued)++;
	}
	return NULL;
}

/* test_concurrent - many threads: each key once, every post counted */
static void
test_concurrent(void **state)
{
	pthread_t t[POSTERS];
	int queued[POSTERS], i, total = 0;
	struct limit_alert_stats st;

	(void)state;
	start("true", NULL, 0, 10000, 0);
	for (i = 0; i < POSTERS; i++) {
		queued[i] = 0;
		assert_int_equal(
		    pthread_create(&t[i], NULL, poster, &queued[i]), 0);
	}
	for (i = 0; i < POSTERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		total += queued[i];
	}
	assert_int_equal(total, ACCOUNTS);
	wait_done(ACCOUNTS, &st);
	assert_int_equal(st.sent, ACCOUNTS);
	assert_int_equal(st.queued, ACCOUNTS);
	assert_int_equal(st.suppressed, POSTERS * POSTS - ACCOUNTS);
	assert_int_equal(st.dropped, 0);
}

/* remove_dir - remove the scratch directory and its files */
static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char name[1024];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(name, sizeof(name), "%s/%s", dir, de->d_name);
		unlink(name);
	}
	closedir(d);
	rmdir(dir);
}

/* main - run the tests in a fresh scratch directory */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test_teardown(test_start_errors, teardown),
		cmocka_unit_test_teardown(test_command_stdin_env, teardown),
		cmocka_unit_test_teardown(test_long_account_cut, teardown),
		cmocka_unit_test_teardown(test_interval, teardown),
		cmocka_unit_test_teardown(test_per_minute, teardown),
		cmocka_unit_test_teardown(test_command_status, teardown),
		cmocka_unit_test_teardown(test_command_timeout, teardown),
		cmocka_unit_test_teardown(test_queue_full, teardown),
		cmocka_unit_test_teardown(test_stop_hung, teardown),
		cmocka_unit_test_teardown(test_url_200, teardown),
		cmocka_unit_test_teardown(test_url_500, teardown),
		cmocka_unit_test_teardown(test_url_refused, teardown),
		cmocka_unit_test_teardown(test_url_and_command, teardown),
		cmocka_unit_test_teardown(test_concurrent, teardown),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(test_dir, sizeof(test_dir), "%s/test_limit_alert.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* SAKIMORI_TEST_DEBUG=1: the module's warnings on stderr */
	if (getenv("SAKIMORI_TEST_DEBUG") != NULL)
		log_open("test_limit_alert", true);
	/* Only loopback: never through a proxy from the environment. */
	setenv("NO_PROXY", "*", 1);
	setenv("no_proxy", "*", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_dir(test_dir);
	return rc;
}
