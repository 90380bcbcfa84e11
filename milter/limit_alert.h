/*
 * NAME
 *	limit_alert - the alert hook for per-account sending caps
 * SUMMARY
 *	Tells an operator's command or web hook that an account reached a
 *	threshold of a cap (80%, 100%) or is blocked until a time, without
 *	ever making the milter thread that noticed it wait.
 * DESCRIPTION
 *	limits.c calls limit_alert_post() for each threshold or block it
 *	decides. The event passes two rate limits, then goes into a bounded
 *	queue (LIMIT_ALERT_QUEUE entries) served by one worker thread:
 *
 *	- one alert per (account, event, percent, cap text) per interval,
 *	  remembered in a table of LIMIT_ALERT_SEEN entries (8-way sets;
 *	  the oldest entry of a full set is evicted, so more than 8 keys
 *	  of one set within an interval may alert again: per_minute still
 *	  bounds the total);
 *	- at most per_minute alerts in any 60 seconds, all accounts
 *	  together.
 *	Refused events are counted (suppressed); events that find the queue
 *	full are counted (dropped). Refusals by per_minute and drops are
 *	logged, one line at most every minute of the events' clock.
 *
 *	The worker runs, for each alert, the command and/or the URL:
 *
 *	command: "/bin/sh -c COMMAND" in its own process group, stdin the
 *	JSON text plus a newline, stdout /dev/null, stderr inherited, no
 *	other descriptors, signals unblocked and at their defaults, the
 *	daemon's environment (as at limit_alert_start) plus
 *	    SAKIMORI_ACCOUNT  the account (any UTF-8)
 *	    SAKIMORI_EVENT    threshold | blocked
 *	    SAKIMORI_PERCENT  80, 100, ...
 *	    SAKIMORI_CAP      "1000 recipients per 24 h"
 *	    SAKIMORI_CLASS    the account's class
 *	    SAKIMORI_USED     the count that reached the threshold
 *	    SAKIMORI_LIMIT    the cap's maximum
 *	    SAKIMORI_UNTIL    end of the block (Unix time), or empty
 *	Exit status 0 is success; any other status, a signal, a spawn
 *	failure, or still running after command_timeout_ms (then the
 *	process group is killed) is a failure.
 *
 *	url: an http:// or https:// URL, POSTed the JSON text with
 *	Content-Type: application/json, no redirects, within url_timeout_ms.
 *	A 2xx status is success; any other status or a transfer error is a
 *	failure.
 *
 *	The JSON text (limit_alert_json):
 *	    {"account":"a@example.org","event":"threshold","percent":80,
 *	    "cap":"1000 recipients per 24 h","class":"default","used":800,
 *	    "limit":1000,"until":null,"time":"2026-11-22T03:00:00Z"}
 *	Strings are escaped per RFC 8259 section 7: '"' and '\' with a
 *	backslash, control bytes and DEL as \u00XX; valid UTF-8 passes as
 *	is, each byte of an invalid sequence becomes \ufffd. "until" is null
 *	unless the event is a block.
 * THREADS
 *	limit_alert_post() and limit_alert_stats() from any thread; one
 *	mutex guards the queue, the tables and the counters and is never
 *	held across I/O. limit_alert_start() and limit_alert_stop() from one
 *	thread (the main thread), not concurrently with each other.
 * OWNERSHIP
 *	limit_alert_start() copies the options; limit_alert_post() copies
 *	the event. Callers keep their own strings.
 * ERRORS
 *	Start-up errors come back as text. Delivery failures are counted
 *	and logged (warning, one line, untrusted text escaped; the URL and
 *	the response body are never logged, only its first bytes).
 */
#ifndef SAKIMORI_MILTER_LIMIT_ALERT_H
#define SAKIMORI_MILTER_LIMIT_ALERT_H

#include <stddef.h>
#include <stdint.h>

#define LIMIT_ALERT_QUEUE 256		 /* alerts waiting for the worker */
#define LIMIT_ALERT_SEEN 4096		 /* remembered (account, cap) keys */
#define LIMIT_ALERT_PER_MINUTE_MAX 10000 /* largest per_minute */
#define LIMIT_ALERT_JSON_MAX 4096	 /* enough for any JSON text */

/* How to alert; every member 0 or NULL takes its default. */
struct limit_alert_options {
	const char *command; /* run by /bin/sh -c; NULL or "": none */
	const char *url;     /* http(s) URL to POST to; NULL or "": none */
	unsigned interval;   /* s between equal alerts; 0: 3600 */
	unsigned per_minute; /* alerts a minute in all; 0: 60 */
	unsigned command_timeout_ms; /* kill the command after; 0: 10000 */
	unsigned url_timeout_ms;     /* whole POST; 0: 5000 */
};

/* One event; strings are borrowed for the call only. */
struct limit_alert_event {
	const char *account;	/* the account, NULL as "" */
	const char *event;	/* "threshold" or "blocked" */
	int percent;		/* threshold reached (100 for a block) */
	const char *cap_text;	/* "1000 recipients per 24 h" */
	const char *class_name; /* the account's class */
	uint32_t used;		/* count that reached the threshold */
	uint32_t limit;		/* the cap's maximum */
	int64_t until;		/* end of a block (Unix time), 0: none */
	int64_t now;		/* Unix time of the event (the clock) */
};

/* Counters since limit_alert_start(). */
struct limit_alert_stats {
	uint64_t queued;     /* accepted into the queue */
	uint64_t sent;	     /* delivered (every hook succeeded) */
	uint64_t failed;     /* some hook failed (logged) */
	uint64_t suppressed; /* refused by interval or per_minute */
	uint64_t dropped;    /* queue full, or left over at stop */
};

/*
 * limit_alert_start - copy the options; start the worker if a command
 * or a URL is set (nothing to do otherwise)
 *	o: the options (copied)
 *	error_r: on -1, why (caller frees)
 * Returns 0, or -1 (URL not http(s), per_minute above
 * LIMIT_ALERT_PER_MINUTE_MAX, already started, out of memory, thread).
 */
int limit_alert_start(const struct limit_alert_options *o, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limit_alert_post - queue an alert; never waits for I/O
 *	e: the event (copied; an account above 320 bytes, a cap text
 *	    above 160, a class above 63 or an event above 15 is cut at a
 *	    UTF-8 boundary, logged by the worker)
 * Returns 1 queued,
 *	0 not queued: suppressed by a rate limit or dropped (queue full),
 *	    counted,
 *	-1 no worker (not started, or neither command nor URL set).
 */
int limit_alert_post(const struct limit_alert_event *e);

/*
 * limit_alert_stats - the counters
 *	st: filled (all 0 before the first start)
 */
void limit_alert_stats(struct limit_alert_stats *st);

/*
 * limit_alert_stop - stop accepting, deliver what is queued for up to
 * two seconds, then kill or abort the delivery under way, drop the rest
 * (counted) and join the worker. Safe when not started.
 */
void limit_alert_stop(void);

/*
 * limit_alert_json - the JSON text of an event
 *	e: the event (not cut)
 *	buf, size: output, NUL-ended; LIMIT_ALERT_JSON_MAX is enough for
 *	    what limit_alert_post() queues
 * Returns the length, or -1 if size is too small (buf then holds a
 * cut, invalid text).
 */
int limit_alert_json(const struct limit_alert_event *e, char *buf, size_t size);

#endif
