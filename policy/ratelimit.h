/*
 * NAME
 *	ratelimit - per-account sending caps as data
 * SUMMARY
 *	Classes of caps, their text form, the bucketed sliding window that
 *	counts recipients and messages per account, the decision to let a
 *	recipient pass or not, refunds, and the texts a postmaster reads.
 * DESCRIPTION
 *	What is counted: recipients ("transmissions", as carriers count
 *	them) and messages, each with its own caps. A class holds up to
 *	RATELIMIT_MAX_CAPS window caps {what, window, max} ("1000/day",
 *	"msg:200/day", "20/minute"), recipients per message and per SMTP
 *	session, a block period once a window cap is hit, whether refused
 *	attempts are charged too, the action (tempfail or reject) and
 *	shadow mode (decide and report, let everything pass).
 *
 *	Caps text, items separated by blanks or commas, case-insensitive:
 *	    [WHAT:]MAX/WINDOW   WHAT recipients (default; also rcpt) or
 *				messages (also msg); MAX 0..1000000000;
 *				WINDOW day, hour, minute, second, or N and a
 *				unit s, m, h, d ("24h", "90s", "2d"), at
 *				most 31 days
 *	    per_message=N	recipients in one message (0: no cap)
 *	    per_session=N	recipients in one SMTP session (0: no cap)
 *	    block=DURATION	refuse everything for this long once a window
 *				cap is hit (N, Ns, Nm, Nh, Nd; 0: none)
 *	    count_refused=yes|no  charge recipients refused by a window cap
 *				or a block, so hammering keeps it closed
 *	    action=tempfail|reject
 *	    shadow=yes|no	decide and report, refuse nothing
 *	    none		no caps at all (alone)
 *	Two caps on the same what and window, a key given twice, or more
 *	than RATELIMIT_MAX_CAPS caps are errors. The canonical form
 *	(ratelimit_class_format) writes caps in the order given, windows as
 *	day, hour, minute or Ns/Nm/Nh/Nd, then the keys that differ from
 *	their defaults: "1000/day 100/hour msg:200/day per_message=50
 *	block=1h count_refused=yes action=reject shadow=yes".
 *
 * ALGORITHM
 *	Bucketed sliding window, per cap. A window of W seconds is cut
 *	into buckets of B = ceil(W / RATELIMIT_BUCKETS) seconds; bucket k
 *	holds the charges made at times t with floor(t / B) == k. With
 *	K = ceil(W / B) (so K * B >= W, and K <= RATELIMIT_BUCKETS), the
 *	count of a cap at time T is the sum of buckets floor(T/B) - K ..
 *	floor(T/B), and a charge made at time t stays counted until
 *	    free(t) = (floor(t / B) + K + 1) * B.
 *	Accuracy: a charge at t belongs to the true rolling window of the
 *	times t .. t + W - 1; free(t) >= t + W + 1 always, so the counted
 *	total is never below the true count of any rolling window of
 *	length W: no W seconds ever hold more than MAX charges. Capacity
 *	frees late by free(t) - (t + W), between 1 + K*B - W and
 *	B + K*B - W seconds; when B divides W (always when W is at most
 *	60 seconds or a multiple of 60 seconds), between 1 second and B:
 *	1 day frees at most 24 minutes late (B = 1440 s), 1 hour 60
 *	seconds, 1 minute 1 second. Counting is exact (no sampling): a
 *	refund removes exactly what its reservation added, from the
 *	bucket it was added to, unless that bucket already left the
 *	window (its charge already freed).
 *
 *	Time: every function takes "now" (seconds since the epoch) from
 *	the caller. The state remembers the latest time it has seen; an
 *	earlier "now" (the clock went backwards) is taken as that latest
 *	time, so the window stands still until the clock catches up and
 *	no capacity ever frees early. A clock that jumps forward frees
 *	what the jump covers; nothing here can tell it from waiting.
 *
 *	Caps changing under an account (class changed, override set):
 *	counts follow each (what, window) pair. A cap whose pair the state
 *	does not hold yet is seeded from the state's widest window of the
 *	same what: everything that window holds that may fall within the
 *	new window is charged to the current bucket. From a wider or equal
 *	window this is an upper bound (no extra capacity); from a narrower
 *	one a lower bound (XXX the state keeps no finer history).
 *	Series of pairs no longer in the caps are dropped.
 *
 *	A decision, in this order: recipients per message, per session
 *	(the caller's counts; the state is not touched), an ongoing block,
 *	then every window cap (used + n > max refuses). Refused by a
 *	window cap, a block period starts (if the class has one and none
 *	is running). Allowed, every cap is charged, and the decision says
 *	whether a cap crossed 80% or reached 100% with this charge. In
 *	shadow mode a refusal is reported and the charge made anyway.
 *
 *	Serialised state (ratelimit_state_encode): version byte, varint
 *	latest time, varint block end, series count, and per series its
 *	what, window, bucket offset and only the non-zero buckets as
 *	(age, count) varint pairs: 16 bytes for an account that sent to
 *	one recipient under a 1000/day cap. An account whose counts
 *	have all left their windows and that is not blocked is idle
 *	(ratelimit_state_idle): the stores delete its state, so an idle
 *	account costs nothing beyond an override record.
 *
 *	Account names: 1..RATELIMIT_ACCOUNT_MAX bytes (RFC 5321 4.5.3.1:
 *	64 + 1 + 255), printable ASCII without space, or valid UTF-8;
 *	compared bytewise (no case folding).
 *
 *	Times in texts: "YYYY-MM-DD HH:MM UTC", or local time
 *	("YYYY-MM-DD HH:MM +0900", localtime_r: the caller runs tzset()
 *	at start-up), rounded up to the minute so nobody retries early.
 * THREADS
 *	Pure; any thread. A state is the caller's to lock.
 * OWNERSHIP
 *	Everything is held inline in caller-provided structs; names are
 *	static strings.
 * ERRORS
 *	Parsers and checks return -1 with the reason in why (size bytes,
 *	always NUL-ended), e.g. "bad cap \"abc/day\": maximum \"abc\" is
 *	not a number".
 */
#ifndef SAKIMORI_POLICY_RATELIMIT_H
#define SAKIMORI_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_MAX_CAPS 8		  /* window caps in one class */
#define RATELIMIT_BUCKETS 60		  /* buckets in a window, at most */
#define RATELIMIT_SLOTS 61		  /* buckets counted: K + 1 <= 61 */
#define RATELIMIT_MAX_WINDOW 2678400	  /* 31 days */
#define RATELIMIT_MAX_VALUE 1000000000	  /* largest cap, count, request */
#define RATELIMIT_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define RATELIMIT_ACCOUNT_MAX 320	  /* bytes of an account name */
#define RATELIMIT_NAME_MAX 64		  /* class name bytes, with NUL */
#define RATELIMIT_SPEC_MAX 1024		  /* bytes of a caps text */
#define RATELIMIT_STATE_MAX 3200	  /* bytes of an encoded state */
#define RATELIMIT_TEXT_MAX 512		  /* reply and usage text buffers */
#define RATELIMIT_EXPLICIT "explicit"	  /* class name of explicit caps */

enum ratelimit_what {
	RATELIMIT_RECIPIENTS = 0, /* recipients (transmissions) */
	RATELIMIT_MESSAGES = 1	  /* messages */
};

enum ratelimit_action {
	RATELIMIT_TEMPFAIL = 0, /* 451/452: the client retries later */
	RATELIMIT_REJECT = 1	/* 550: refused */
};

enum ratelimit_cause {
	RATELIMIT_CAUSE_NONE = 0,    /* nothing refused */
	RATELIMIT_CAUSE_PER_MESSAGE, /* recipients per message */
	RATELIMIT_CAUSE_PER_SESSION, /* recipients per session */
	RATELIMIT_CAUSE_BLOCK,	     /* a block period runs */
	RATELIMIT_CAUSE_WINDOW	     /* a window cap */
};

enum ratelimit_tz {
	RATELIMIT_TZ_UTC = 0, /* times in UTC */
	RATELIMIT_TZ_LOCAL    /* times in local time (localtime_r) */
};

struct ratelimit_cap {
	enum ratelimit_what what; /* what is counted */
	uint32_t window;	  /* seconds, 1..RATELIMIT_MAX_WINDOW */
	uint32_t max;		  /* most allowed in any window */
};

struct ratelimit_class {
	char name[RATELIMIT_NAME_MAX];		      /* class name */
	struct ratelimit_cap cap[RATELIMIT_MAX_CAPS]; /* window caps */
	size_t ncaps;				      /* caps in use */
	uint32_t per_message;	      /* rcpts a message, 0: any */
	uint32_t per_session;	      /* rcpts a session, 0: any */
	uint32_t block;		      /* block seconds, 0: none */
	bool count_refused;	      /* charge refused attempts */
	enum ratelimit_action action; /* what a refusal does */
	bool shadow;		      /* report only, refuse nothing */
};

#define RATELIMIT_MAX_CLASSES 64 /* classes in a policy */

/* The classes of a configuration; the one at default_class applies to
 * accounts without an override. */
struct ratelimit_policy {
	struct ratelimit_class cls[RATELIMIT_MAX_CLASSES]; /* the classes */
	size_t nclasses;				   /* in use, >= 1 */
	size_t default_class; /* index of the default class */
};

/* One series of buckets: the counts of one (what, window) pair. */
struct ratelimit_series {
	enum ratelimit_what what;	 /* what it counts */
	uint32_t window;		 /* window seconds */
	int64_t head;			 /* bucket index of count[0] */
	uint32_t count[RATELIMIT_SLOTS]; /* count[i]: bucket head - i */
};

/* The counts of one account. */
struct ratelimit_state {
	int64_t last;	       /* latest time seen (clock guard) */
	int64_t blocked_until; /* block end, 0: never blocked */
	size_t nseries;	       /* series in use */
	struct ratelimit_series series[RATELIMIT_MAX_CAPS]; /* by cap */
};

/* What one RCPT asks for. */
struct ratelimit_request {
	uint32_t rcpts;		/* recipients to charge (1 per RCPT) */
	uint32_t msgs;		/* messages: 1 at a message's first
				   recipient that passes, else 0 */
	uint32_t msg_rcpts;	/* recipients already accepted in this
				   message (per_message) */
	uint32_t session_rcpts; /* ... in this SMTP session (per_session) */
};

/* What a reservation charged, for ratelimit_refund. */
struct ratelimit_token {
	int64_t at;	/* effective time of the charge */
	uint32_t rcpts; /* recipients charged, 0: nothing to refund */
	uint32_t msgs;	/* messages charged */
};

struct ratelimit_decision {
	bool allowed;		    /* charged: let the recipient pass */
	bool refused;		    /* a cap refused (even in shadow) */
	bool shadow;		    /* refused, but the class is shadow */
	enum ratelimit_cause cause; /* what refused */
	struct ratelimit_cap cap;   /* cause WINDOW: the cap hit */
	uint32_t used;		    /* WINDOW: its count before; PER_*:
					   the caller's count */
	uint32_t limit;		    /* PER_*: the cap */
	int64_t resume;		    /* WINDOW, BLOCK: when sending can
					   resume; 0: never at this size */
	int64_t blocked_until;	    /* a block running or just begun */
	bool block_started;	    /* this refusal began the block */
	int threshold;		    /* allowed: 0, 80 or 100, the highest
					   share of a cap this charge reached
					   from below */
	struct ratelimit_cap threshold_cap;  /* the cap that crossed it */
	enum ratelimit_action action;	     /* the class's action */
	char class_name[RATELIMIT_NAME_MAX]; /* the class applied */
};

/* An SMTP reply for a refusal. */
struct ratelimit_reply {
	char rcode[4];		       /* "451", "452" or "550" */
	char xcode[16];		       /* "4.7.1", "4.5.3", ... */
	char text[RATELIMIT_TEXT_MAX]; /* plain ASCII, no CR/LF */
};

/* One cap's figures for "limit get". */
struct ratelimit_cap_usage {
	struct ratelimit_cap cap; /* the cap */
	uint32_t used;		  /* counted in the window now */
	int64_t next_free;	  /* when the oldest charge leaves, 0: none */
	int64_t all_free;	  /* when the newest charge leaves, 0: none */
};

struct ratelimit_usage {
	struct ratelimit_cap_usage cap[RATELIMIT_MAX_CAPS]; /* by cap */
	size_t ncaps;					    /* in use */
	int64_t blocked_until; /* block end if blocked now, else 0 */
	int64_t now;	       /* the effective time of the figures */
};

/*
 * ratelimit_cap_parse - one "[WHAT:]MAX/WINDOW" item
 *	text: the item, NUL-ended
 *	cap_r: the cap
 *	why, size: on -1, the reason
 * Returns 0, or -1 if the text is not a cap.
 */
int ratelimit_cap_parse(const char *text, struct ratelimit_cap *cap_r,
    char *why, size_t size) __attribute__((warn_unused_result));

/*
 * ratelimit_cap_check - config_check_fn for one cap item
 * Returns 0 if value is a cap, -1 (why) if not.
 */
int ratelimit_cap_check(const char *value, char *why, size_t size);

/*
 * ratelimit_duration_parse - "3600", "90s", "15m", "1h", "2d", "day"
 *	text: the duration
 *	max: the largest value allowed
 *	secs_r: seconds
 *	why, size: on -1, the reason
 * Returns 0, or -1 for anything else, or a value over max.
 */
int ratelimit_duration_parse(const char *text, uint32_t max, uint32_t *secs_r,
    char *why, size_t size) __attribute__((warn_unused_result));

/*
 * ratelimit_class_name_check - a class name: 1..63 bytes of letters,
 *	digits, '_', '.', '-', starting with a letter or digit
 * Returns 0, or -1 (why).
 */
int ratelimit_class_name_check(const char *name, char *why, size_t size);

/*
 * ratelimit_class_parse - a whole caps text into a class
 *	name: the class name (checked), or NULL for RATELIMIT_EXPLICIT
 *	spec: the caps text (see DESCRIPTION)
 *	cls_r: the class; anything not written is off (no caps, no
 *	    per-message cap, no block, tempfail, not shadow)
 *	why, size: on -1, the reason, naming the bad item
 * Returns 0, or -1 on any bad item (cls_r is then undefined).
 */
int ratelimit_class_parse(const char *name, const char *spec,
    struct ratelimit_class *cls_r, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * ratelimit_class_format - the canonical caps text of a class
 *	buf, size: where to write (RATELIMIT_SPEC_MAX is always enough)
 * Returns 0, or -1 if it did not fit (buf then holds a prefix).
 */
int ratelimit_class_format(
    const struct ratelimit_class *cls, char *buf, size_t size);

/*
 * ratelimit_class_default - the built-in default class: "default",
 *	1000 recipients per rolling 24 hours, tempfail, nothing else
 */
void ratelimit_class_default(struct ratelimit_class *cls);

/*
 * ratelimit_policy_init - a policy of the built-in default class only
 */
void ratelimit_policy_init(struct ratelimit_policy *policy);

/*
 * ratelimit_policy_find - the class of a name
 * Returns the class (borrowed from policy), or NULL if there is none.
 */
const struct ratelimit_class *ratelimit_policy_find(
    const struct ratelimit_policy *policy, const char *name);

/*
 * ratelimit_policy_default - the default class (borrowed from policy)
 */
const struct ratelimit_class *ratelimit_policy_default(
    const struct ratelimit_policy *policy);

/*
 * ratelimit_account_check - may this be an account name?
 *	account, len: the name (need not be NUL-ended)
 *	why, size: on -1, the reason ("account name is 400 bytes, more
 *	    than 320", "account name has a control byte at offset 3")
 * Returns 0, or -1.
 */
int ratelimit_account_check(
    const char *account, size_t len, char *why, size_t size);

/* ratelimit_state_init - an empty state (no counts, never seen) */
void ratelimit_state_init(struct ratelimit_state *st);

/*
 * ratelimit_reserve - decide one request and charge it if allowed
 *	st: the account's counts, updated (also when refused: the time,
 *	    a block begun, and with count_refused the refused charge)
 *	cls: the account's effective class
 *	req: what is asked and the caller's message and session counts
 *	now: the time; an earlier time than st has seen counts as that
 *	d: the decision
 *	tok: what was charged, for ratelimit_refund (zero when refused,
 *	    also when count_refused charged the refusal)
 *	why, size: on -1, the reason
 * Returns 0 (see d->allowed), or -1 for a time outside
 * 0..RATELIMIT_TIME_MAX or a request over RATELIMIT_MAX_VALUE (st is
 * then unchanged).
 */
int ratelimit_reserve(struct ratelimit_state *st,
    const struct ratelimit_class *cls, const struct ratelimit_request *req,
    int64_t now, struct ratelimit_decision *d, struct ratelimit_token *tok,
    char *why, size_t size) __attribute__((warn_unused_result));

/*
 * ratelimit_refund - give back exactly what a reservation charged
 *	st: the account's counts, updated
 *	tok: from ratelimit_reserve; charges whose bucket has left its
 *	    window are already free and are skipped
 *	now: the time (moves the state on, as for ratelimit_reserve)
 * Returns 0, or -1 for a bad time or token (st unchanged).
 */
int ratelimit_refund(struct ratelimit_state *st,
    const struct ratelimit_token *tok, int64_t now, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * ratelimit_usage - each cap's count and when it frees up
 *	st: the counts (not changed)
 *	cls: the effective class
 *	now: the time
 *	u: filled in, in the class's cap order
 */
void ratelimit_usage(const struct ratelimit_state *st,
    const struct ratelimit_class *cls, int64_t now, struct ratelimit_usage *u);

/*
 * ratelimit_usage_text - "limit get" lines, '\n' between them:
 *	"312/500 recipients used in the last 24 h, next frees at
 *	2026-11-22 14:02 UTC", "blocked until 2026-11-22 09:00 UTC"
 *	buf, size: where to write
 * Returns 0, or -1 if the text did not fit (buf holds a prefix).
 */
int ratelimit_usage_text(const struct ratelimit_usage *u, enum ratelimit_tz tz,
    char *buf, size_t size);

/*
 * ratelimit_top_metric - the weight of an account for "top N": the
 *	count of its widest recipients series at now (its widest messages
 *	series if it counts no recipients)
 *	cap_r: what and window of that series (max is 0)
 * Returns the count.
 */
uint32_t ratelimit_top_metric(
    const struct ratelimit_state *st, int64_t now, struct ratelimit_cap *cap_r);

/*
 * ratelimit_state_idle - nothing counted, no block running at now
 * Returns true if the state can be deleted.
 */
bool ratelimit_state_idle(const struct ratelimit_state *st, int64_t now);

/*
 * ratelimit_state_idle_at - when the state becomes idle (every charge
 *	left its window, any block ended), or the time it last saw if
 *	that is already so
 */
int64_t ratelimit_state_idle_at(const struct ratelimit_state *st);

/*
 * ratelimit_state_encode - the compact form of a state
 *	buf, size: where to write (RATELIMIT_STATE_MAX is enough)
 *	len_r: bytes written
 * Returns 0, or -1 if buf is too small.
 */
int ratelimit_state_encode(const struct ratelimit_state *st, uint8_t *buf,
    size_t size, size_t *len_r) __attribute__((warn_unused_result));

/*
 * ratelimit_state_decode - a state from its compact form
 *	buf, len: the bytes
 *	st: the state
 *	why, size: on -1, what is wrong
 * Returns 0, or -1 if the bytes are not a valid state.
 */
int ratelimit_state_decode(const uint8_t *buf, size_t len,
    struct ratelimit_state *st, char *why, size_t size)
    __attribute__((warn_unused_result));

/*
 * ratelimit_reply - the SMTP reply for a refusal
 *	d: a decision with refused set
 *	tz: how times are written
 *	r: filled in: window caps and blocks 451 4.7.1 (550 5.7.1 under
 *	    action=reject) "Sending limit reached: 1000 recipients per
 *	    24 h; try again after 2026-11-22 09:00 UTC"; per-message and
 *	    per-session caps 452 4.5.3 (RFC 5321 4.5.3.1.10; 550 5.5.3
 *	    under reject) "Too many recipients in this message (limit 50)"
 */
void ratelimit_reply(const struct ratelimit_decision *d, enum ratelimit_tz tz,
    struct ratelimit_reply *r);

/*
 * ratelimit_format_time - "2026-11-22 09:00 UTC", rounded up to the
 *	minute; "never" for 0
 * Returns buf.
 */
char *ratelimit_format_time(
    int64_t t, enum ratelimit_tz tz, char *buf, size_t size);

/*
 * ratelimit_window_text - "24 h", "1 h", "5 min", "90 s"
 * Returns buf.
 */
char *ratelimit_window_text(uint32_t window, char *buf, size_t size);

/* ratelimit_what_name - "recipients", "messages" */
const char *ratelimit_what_name(enum ratelimit_what what);

/* ratelimit_cause_name - "none", "per_message", "per_session", "block",
 *	"window" */
const char *ratelimit_cause_name(enum ratelimit_cause cause);

/* ratelimit_action_name - "tempfail", "reject" */
const char *ratelimit_action_name(enum ratelimit_action action);

#endif
