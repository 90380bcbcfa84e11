/*
 * NAME
 *	ratelimit - per-account sending caps as data
 * SUMMARY
 *	Caps text, the bucketed sliding window, decisions, refunds, the
 *	compact state and the texts of replies and "limit get".
 * DESCRIPTION
 *	See ratelimit.h for the algorithm and its accuracy. A state holds
 *	one series per cap of the effective class, in cap order, each a
 *	ring of buckets kept as an array by age: count[0] is the bucket
 *	of the latest time seen, count[i] the one i buckets older.
 *	Moving to a later bucket shifts the array; buckets older than K
 *	are dropped. policy/limit_redis.c carries the same algorithm in
 *	Lua: a change here is a change there.
 * THREADS
 *	Pure; any thread.
 * OWNERSHIP
 *	Nothing is allocated.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "policy/ratelimit.h"

#define RATELIMIT_VERSION 1   /* first byte of an encoded state */
#define RATELIMIT_ECHO_MAX 48 /* bytes of bad input echoed in errors */
#define RATELIMIT_MAX_DIGITS 10

static const char *const ratelimit_what_names[] = { "recipients", "messages" };
static const char *const ratelimit_cause_names[] = { "none", "per_message",
	"per_session", "block", "window" };

/* ratelimit_why - write a reason, if there is room for one */
static void __attribute__((format(printf, 3, 4)))
ratelimit_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* ratelimit_echo - bad input made safe to quote: printable, capped */
static char *
ratelimit_echo(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= RATELIMIT_ECHO_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
	return buf;
}

/* ratelimit_what_name - "recipients", "messages" */
const char *
ratelimit_what_name(enum ratelimit_what what)
{
	return what == RATELIMIT_MESSAGES ? ratelimit_what_names[1]
					  : ratelimit_what_names[0];
}

/* ratelimit_cause_name - "none", "per_message", ... */
const char *
ratelimit_cause_name(enum ratelimit_cause cause)
{
	if ((unsigned)cause > RATELIMIT_CAUSE_WINDOW)
		return "none";
	return ratelimit_cause_names[cause];
}

/* ratelimit_action_name - "tempfail", "reject" */
const char *
ratelimit_action_name(enum ratelimit_action action)
{
	return action == RATELIMIT_REJECT ? "reject" : "tempfail";
}

/* ratelimit_width - bucket width B of a window */
static uint32_t
ratelimit_width(uint32_t window)
{
	return (window + RATELIMIT_BUCKETS - 1) / RATELIMIT_BUCKETS;
}

/* ratelimit_span - K: buckets before the current one that still count */
static uint32_t
ratelimit_span(uint32_t window)
{
	uint32_t b = ratelimit_width(window);

	return (window + b - 1) / b;
}

/* ratelimit_parse_uint - all digits, at most max */
static int
ratelimit_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > RATELIMIT_MAX_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*v_r = v;
	return 0;
}

/* ratelimit_all_digits - a non-empty run of digits? */
static int
ratelimit_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return len > 0;
}

struct ratelimit_unit {
	const char *word; /* unit as written */
	uint32_t secs;	  /* its seconds */
};

static const struct ratelimit_unit ratelimit_units[] = {
	{ "s", 1 },
	{ "sec", 1 },
	{ "secs", 1 },
	{ "second", 1 },
	{ "seconds", 1 },
	{ "m", 60 },
	{ "min", 60 },
	{ "mins", 60 },
	{ "minute", 60 },
	{ "minutes", 60 },
	{ "h", 3600 },
	{ "hr", 3600 },
	{ "hour", 3600 },
	{ "hours", 3600 },
	{ "d", 86400 },
	{ "day", 86400 },
	{ "days", 86400 },
};

/* ratelimit_duration_parse - "3600", "90s", "15m", "1h", "2d", "day" */
int
ratelimit_duration_parse(
    const char *text, uint32_t max, uint32_t *secs_r, char *why, size_t size)
{
	char echo[RATELIMIT_ECHO_MAX + 8];
	const char *unit;
	uint64_t n = 1, secs = 0;
	size_t digits, i, ulen;

	if (text == NULL || *text == '\0') {
		ratelimit_why(why, size, "empty duration");
		return -1;
	}
	for (digits = 0; text[digits] >= '0' && text[digits] <= '9'; digits++)
		;
	unit = text + digits;
	ulen = strlen(unit);
	if (digits > 0 &&
	    ratelimit_parse_uint(text, digits, RATELIMIT_MAX_VALUE, &n) < 0) {
		ratelimit_why(why, size, "\"%s\" is too large",
		    ratelimit_echo(text, strlen(text), echo, sizeof(echo)));
		return -1;
	}
	if (ulen == 0) {
		secs = n;
	} else {
		for (i = 0;
		     i < sizeof(ratelimit_units) / sizeof(ratelimit_units[0]);
		     i++) {
			if (strcasecmp(unit, ratelimit_units[i].word) == 0)
				break;
		}
		if (i == sizeof(ratelimit_units) / sizeof(ratelimit_units[0])) {
			ratelimit_why(why, size,
			    "\"%s\" is not a duration: want N, or N and a "
			    "unit s, m, h, d, or day, hour, minute, second",
			    ratelimit_echo(
				text, strlen(text), echo, sizeof(echo)));
			return -1;
		}
		secs = n * ratelimit_units[i].secs;
	}
	if (secs > max) {
		ratelimit_why(why, size, "\"%s\" is over %" PRIu32 " seconds",
		    ratelimit_echo(text, strlen(text), echo, sizeof(echo)),
		    max);
		return -1;
	}
	*secs_r = (uint32_t)secs;
	return 0;
}

/* ratelimit_cap_parse - one "[WHAT:]MAX/WINDOW" item */
int
ratelimit_cap_parse(
    const char *text, struct ratelimit_cap *cap_r, char *why, size_t size)
{
	char echo[RATELIMIT_ECHO_MAX + 8], echo2[RATELIMIT_ECHO_MAX + 8];
	char inner[256];
	const char *p, *colon, *slash;
	uint64_t max;
	uint32_t window;
	size_t len;

	if (text == NULL)
		text = "";
	len = strlen(text);
	ratelimit_echo(text, len, echo, sizeof(echo));
	memset(cap_r, 0, sizeof(*cap_r));
	cap_r->what = RATELIMIT_RECIPIENTS;
	p = text;
	if ((colon = strchr(text, ':')) != NULL) {
		size_t wl = (size_t)(colon - text);

		if ((wl == 10 && strncasecmp(text, "recipients", wl) == 0) ||
		    (wl == 4 && strncasecmp(text, "rcpt", wl) == 0) ||
		    (wl == 5 && strncasecmp(text, "rcpts", wl) == 0)) {
			cap_r->what = RATELIMIT_RECIPIENTS;
		} else if ((wl == 8 &&
			       strncasecmp(text, "messages", wl) == 0) ||
		    (wl == 3 && strncasecmp(text, "msg", wl) == 0) ||
		    (wl == 4 && strncasecmp(text, "msgs", wl) == 0)) {
			cap_r->what = RATELIMIT_MESSAGES;
		} else {
			ratelimit_why(why, size,
			    "bad cap \"%s\": unknown kind \"%s\": want "
			    "recipients or messages",
			    echo,
			    ratelimit_echo(text, wl, echo2, sizeof(echo2)));
			return -1;
		}
		p = colon + 1;
	}
	if ((slash = strchr(p, '/')) == NULL) {
		ratelimit_why(why, size,
		    "bad cap \"%s\": want MAX/WINDOW, as 1000/day", echo);
		return -1;
	}
	if (slash == p) {
		ratelimit_why(why, size, "bad cap \"%s\": no maximum", echo);
		return -1;
	}
	if (!ratelimit_all_digits(p, (size_t)(slash - p))) {
		ratelimit_why(why, size,
		    "bad cap \"%s\": maximum \"%s\" is not a number", echo,
		    ratelimit_echo(
			p, (size_t)(slash - p), echo2, sizeof(echo2)));
		return -1;
	}
	if (ratelimit_parse_uint(
		p, (size_t)(slash - p), RATELIMIT_MAX_VALUE, &max) < 0) {
		ratelimit_why(why, size, "bad cap \"%s\": maximum is over %d",
		    echo, RATELIMIT_MAX_VALUE);
		return -1;
	}
	if (slash[1] == '\0') {
		ratelimit_why(why, size, "bad cap \"%s\": no window", echo);
		return -1;
	}
	if (ratelimit_duration_parse(slash + 1, RATELIMIT_MAX_WINDOW, &window,
		inner, sizeof(inner)) < 0) {
		ratelimit_why(
		    why, size, "bad cap \"%s\": window %s", echo, inner);
		return -1;
	}
	if (window == 0) {
		ratelimit_why(why, size,
		    "bad cap \"%s\": the window must be at least 1 second",
		    echo);
		return -1;
	}
	cap_r->window = window;
	cap_r->max = (uint32_t)max;
	return 0;
}

/* ratelimit_cap_check - config_check_fn for one cap item */
int
ratelimit_cap_check(const char *value, char *why, size_t size)
{
	struct ratelimit_cap cap;

	return ratelimit_cap_parse(value, &cap, why, size);
}

/* ratelimit_class_name_check - letters, digits, '_', '.', '-' */
int
ratelimit_class_name_check(const char *name, char *why, size_t size)
{
	char echo[RATELIMIT_ECHO_MAX + 8];
	size_t i, len;

	if (name == NULL || *name == '\0') {
		ratelimit_why(why, size, "empty class name");
		return -1;
	}
	len = strlen(name);
	ratelimit_echo(name, len, echo, sizeof(echo));
	if (len >= RATELIMIT_NAME_MAX) {
		ratelimit_why(why, size,
		    "class name \"%s\" is longer than %d bytes", echo,
		    RATELIMIT_NAME_MAX - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '.' || c == '-'))
			continue;
		ratelimit_why(why, size,
		    "class name \"%s\": want letters, digits, '_', '.' and "
		    "'-', starting with a letter or digit",
		    echo);
		return -1;
	}
	if (strcmp(name, RATELIMIT_EXPLICIT) == 0) {
		ratelimit_why(why, size,
		    "class name \"%s\" is reserved for explicit caps", echo);
		return -1;
	}
	return 0;
}

/* ratelimit_parse_bool - yes/no, true/false, on/off, 1/0 */
static int
ratelimit_parse_bool(const char *s, bool *v_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*v_r = true;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*v_r = false;
	else
		return -1;
	return 0;
}

/* ratelimit_class_key - one key=value item of a caps text */
static int
ratelimit_class_key(struct ratelimit_class *cls, char *item, unsigned *seen,
    char *why, size_t size)
{
	static const char *const keys[] = { "per_message", "per_session",
		"block", "count_refused", "action", "shadow" };
	char echo[RATELIMIT_ECHO_MAX + 8], inner[256];
	char *eq = strchr(item, '=');
	const char *val = eq + 1;
	uint64_t v;
	size_t k;

	*eq = '\0';
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (strcasecmp(item, keys[k]) == 0)
			break;
	}
	if (k == sizeof(keys) / sizeof(keys[0])) {
		ratelimit_why(why, size,
		    "unknown key \"%s\": want per_message, per_session, "
		    "block, count_refused, action or shadow",
		    ratelimit_echo(item, strlen(item), echo, sizeof(echo)));
		return -1;
	}
	if (*seen & (1u << k)) {
		ratelimit_why(why, size, "%s given twice", keys[k]);
		return -1;
	}
	*seen |= 1u << k;
	ratelimit_echo(val, strlen(val), echo, sizeof(echo));
	switch (k) {
	case 0:
	case 1:
		if (ratelimit_parse_uint(
			val, strlen(val), RATELIMIT_MAX_VALUE, &v) < 0) {
			ratelimit_why(why, size,
			    "%s=%s: want a number from 0 to %d", keys[k], echo,
			    RATELIMIT_MAX_VALUE);
			return -1;
		}
		if (k == 0)
			cls->per_message = (uint32_t)v;
		else
			cls->per_session = (uint32_t)v;
		break;
	case 2:
		if (ratelimit_duration_parse(val, RATELIMIT_MAX_WINDOW,
			&cls->block, inner, sizeof(inner)) < 0) {
			ratelimit_why(why, size, "block: %s", inner);
			return -1;
		}
		break;
	case 3:
	case 5:
		if (ratelimit_parse_bool(
			val, k == 3 ? &cls->count_refused : &cls->shadow) < 0) {
			ratelimit_why(
			    why, size, "%s=%s: want yes or no", keys[k], echo);
			return -1;
		}
		break;
	default:
		if (strcasecmp(val, "tempfail") == 0) {
			cls->action = RATELIMIT_TEMPFAIL;
		} else if (strcasecmp(val, "reject") == 0) {
			cls->action = RATELIMIT_REJECT;
		} else {
			ratelimit_why(why, size,
			    "action=%s: want tempfail or reject", echo);
			return -1;
		}
		break;
	}
	return 0;
}

/* ratelimit_class_parse - a whole caps text into a class */
int
ratelimit_class_parse(const char *name, const char *spec,
    struct ratelimit_class *cls, char *why, size_t size)
{
	char buf[RATELIMIT_SPEC_MAX + 1], wtext[32];
	char *item, *save = NULL;
	unsigned seen = 0;
	size_t i, items = 0, len;
	bool none = false;

	memset(cls, 0, sizeof(*cls));
	if (name == NULL) {
		name = RATELIMIT_EXPLICIT;
	} else if (ratelimit_class_name_check(name, why, size) < 0) {
		return -1;
	}
	snprintf(cls->name, sizeof(cls->name), "%s", name);
	if (spec == NULL || (len = strlen(spec)) == 0) {
		ratelimit_why(why, size,
		    "no caps given (write \"none\" for no caps at all)");
		return -1;
	}
	if (len > RATELIMIT_SPEC_MAX) {
		ratelimit_why(why, size, "caps text of %zu bytes, over %d", len,
		    RATELIMIT_SPEC_MAX);
		return -1;
	}
	memcpy(buf, spec, len + 1);
	for (item = strtok_r(buf, " \t,", &save); item != NULL;
	     item = strtok_r(NULL, " \t,", &save)) {
		struct ratelimit_cap cap;

		items++;
		if (strcasecmp(item, "none") == 0) {
			none = true;
			continue;
		}
		if (strchr(item, '=') != NULL) {
			if (ratelimit_class_key(cls, item, &seen, why, size) <
			    0)
				return -1;
			continue;
		}
		if (ratelimit_cap_parse(item, &cap, why, size) < 0)
			return -1;
		for (i = 0; i < cls->ncaps; i++) {
			if (cls->cap[i].what == cap.what &&
			    cls->cap[i].window == cap.window) {
				ratelimit_why(why, size,
				    "two caps on %s per %s",
				    ratelimit_what_name(cap.what),
				    ratelimit_window_text(
					cap.window, wtext, sizeof(wtext)));
				return -1;
			}
		}
		if (cls->ncaps == RATELIMIT_MAX_CAPS) {
			ratelimit_why(
			    why, size, "more than %d caps", RATELIMIT_MAX_CAPS);
			return -1;
		}
		cls->cap[cls->ncaps++] = cap;
	}
	if (items == 0) {
		ratelimit_why(why, size,
		    "no caps given (write \"none\" for no caps at all)");
		return -1;
	}
	if (none && items > 1) {
		ratelimit_why(why, size, "\"none\" must stand alone");
		return -1;
	}
	return 0;
}

/* ratelimit_duration_word - canonical duration: "2d", "1h", "90s" */
static void
ratelimit_duration_word(uint32_t secs, char *buf, size_t size)
{
	if (secs % 86400 == 0)
		snprintf(buf, size, "%" PRIu32 "d", secs / 86400);
	else if (secs % 3600 == 0)
		snprintf(buf, size, "%" PRIu32 "h", secs / 3600);
	else if (secs % 60 == 0)
		snprintf(buf, size, "%" PRIu32 "m", secs / 60);
	else
		snprintf(buf, size, "%" PRIu32 "s", secs);
}

/* ratelimit_append - append formatted text at *off; -1 once it is full */
static int __attribute__((format(printf, 4, 5)))
ratelimit_append(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *off) {
		*off = size;
		return -1;
	}
	*off += (size_t)n;
	return 0;
}

/* ratelimit_class_format - the canonical caps text of a class */
int
ratelimit_class_format(
    const struct ratelimit_class *cls, char *buf, size_t size)
{
	char w[32];
	size_t off = 0, i;
	int rc = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < cls->ncaps && i < RATELIMIT_MAX_CAPS; i++) {
		const struct ratelimit_cap *c = &cls->cap[i];

		if (c->window == 86400)
			snprintf(w, sizeof(w), "day");
		else if (c->window == 3600)
			snprintf(w, sizeof(w), "hour");
		else if (c->window == 60)
			snprintf(w, sizeof(w), "minute");
		else
			ratelimit_duration_word(c->window, w, sizeof(w));
		rc |= ratelimit_append(buf, size, &off, "%s%s%" PRIu32 "/%s",
		    off > 0 ? " " : "",
		    c->what == RATELIMIT_MESSAGES ? "msg:" : "", c->max, w);
	}
	if (cls->per_message > 0)
		rc |=
		    ratelimit_append(buf, size, &off, "%sper_message=%" PRIu32,
			off > 0 ? " " : "", cls->per_message);
	if (cls->per_session > 0)
		rc |=
		    ratelimit_append(buf, size, &off, "%sper_session=%" PRIu32,
			off > 0 ? " " : "", cls->per_session);
	if (cls->block > 0) {
		ratelimit_duration_word(cls->block, w, sizeof(w));
		rc |= ratelimit_append(
		    buf, size, &off, "%sblock=%s", off > 0 ? " " : "", w);
	}
	if (cls->count_refused)
		rc |= ratelimit_append(
		    buf, size, &off, "%scount_refused=yes", off > 0 ? " " : "");
	if (cls->action == RATELIMIT_REJECT)
		rc |= ratelimit_append(
		    buf, size, &off, "%saction=reject", off > 0 ? " " : "");
	if (cls->shadow)
		rc |= ratelimit_append(
		    buf, size, &off, "%sshadow=yes", off > 0 ? " " : "");
	if (off == 0)
		rc |= ratelimit_append(buf, size, &off, "none");
	return rc < 0 ? -1 : 0;
}

/* ratelimit_class_default - "default": 1000 recipients per 24 hours */
void
ratelimit_class_default(struct ratelimit_class *cls)
{
	memset(cls, 0, sizeof(*cls));
	snprintf(cls->name, sizeof(cls->name), "default");
	cls->cap[0].what = RATELIMIT_RECIPIENTS;
	cls->cap[0].window = 86400;
	cls->cap[0].max = 1000;
	cls->ncaps = 1;
	cls->action = RATELIMIT_TEMPFAIL;
}

/* ratelimit_policy_init - a policy of the built-in default class only */
void
ratelimit_policy_init(struct ratelimit_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	ratelimit_class_default(&policy->cls[0]);
	policy->nclasses = 1;
	policy->default_class = 0;
}

/* ratelimit_policy_find - the class of a name, or NULL */
const struct ratelimit_class *
ratelimit_policy_find(const struct ratelimit_policy *policy, const char *name)
{
	size_t i;

	for (i = 0; i < policy->nclasses && i < RATELIMIT_MAX_CLASSES; i++) {
		if (strcmp(policy->cls[i].name, name) == 0)
			return &policy->cls[i];
	}
	return NULL;
}

/* ratelimit_policy_default - the default class */
const struct ratelimit_class *
ratelimit_policy_default(const struct ratelimit_policy *policy)
{
	if (policy->default_class < policy->nclasses &&
	    policy->default_class < RATELIMIT_MAX_CLASSES)
		return &policy->cls[policy->default_class];
	return &policy->cls[0];
}

/* ratelimit_utf8_len - bytes of a valid UTF-8 sequence at s, or 0 */
static size_t
ratelimit_utf8_len(const unsigned char *s, size_t left)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* RFC 3629 3: no overlong forms, no surrogates, at most U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* ratelimit_account_check - may this be an account name? */
int
ratelimit_account_check(const char *account, size_t len, char *why, size_t size)
{
	const unsigned char *s = (const unsigned char *)account;
	size_t i, n;

	if (account == NULL || len == 0) {
		ratelimit_why(why, size, "empty account name");
		return -1;
	}
	if (len > RATELIMIT_ACCOUNT_MAX) {
		ratelimit_why(why, size,
		    "account name is %zu bytes, more than %d", len,
		    RATELIMIT_ACCOUNT_MAX);
		return -1;
	}
	for (i = 0; i < len; i += n) {
		n = 1;
		if (s[i] < 0x20 || s[i] == 0x7f) {
			ratelimit_why(why, size,
			    "account name has a control byte 0x%02x at "
			    "offset %zu",
			    s[i], i);
			return -1;
		}
		if (s[i] == ' ') {
			ratelimit_why(why, size,
			    "account name has a space at offset %zu", i);
			return -1;
		}
		if (s[i] >= 0x80 &&
		    (n = ratelimit_utf8_len(s + i, len - i)) == 0) {
			ratelimit_why(why, size,
			    "account name has invalid UTF-8 at offset %zu", i);
			return -1;
		}
	}
	return 0;
}

/* ratelimit_state_init - an empty state */
void
ratelimit_state_init(struct ratelimit_state *st)
{
	memset(st, 0, sizeof(*st));
}

/* ratelimit_series_used - the count of a series at time t */
static uint32_t
ratelimit_series_used(const struct ratelimit_series *s, int64_t t)
{
	int64_t b = ratelimit_width(s->window);
	int64_t oldest = t / b - ratelimit_span(s->window);
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		if (s->head - (int64_t)i < oldest)
			break;
		sum += s->count[i];
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* ratelimit_series_advance - move a series on to the bucket of t */
static void
ratelimit_series_advance(struct ratelimit_series *s, int64_t t)
{
	int64_t cur = t / ratelimit_width(s->window), d;
	size_t i;

	if (cur > s->head) {
		d = cur - s->head;
		if (d >= RATELIMIT_SLOTS) {
			memset(s->count, 0, sizeof(s->count));
		} else {
			memmove(s->count + d, s->count,
			    (RATELIMIT_SLOTS - (size_t)d) *
				sizeof(s->count[0]));
			memset(s->count, 0, (size_t)d * sizeof(s->count[0]));
		}
		s->head = cur;
	}
	for (i = ratelimit_span(s->window) + 1; i < RATELIMIT_SLOTS; i++)
		s->count[i] = 0;
}

/* ratelimit_bucket_free - when bucket head - i leaves the window */
static int64_t
ratelimit_bucket_free(const struct ratelimit_series *s, size_t i)
{
	int64_t b = ratelimit_width(s->window);

	return (s->head - (int64_t)i + ratelimit_span(s->window) + 1) * b;
}

/*
 * ratelimit_series_free_time - when n more fit under max (the series
 * advanced to now); 0 if never (n > max)
 */
static int64_t
ratelimit_series_free_time(
    const struct ratelimit_series *s, uint32_t max, uint32_t n)
{
	uint64_t used, need, freed = 0;
	size_t i, k = ratelimit_span(s->window);

	if (n > max)
		return 0;
	used = ratelimit_series_used(s, s->head * ratelimit_width(s->window));
	need = used + n - max;
	/* Oldest bucket first: the order in which charges leave. */
	for (i = k + 1; i-- > 0;) {
		freed += s->count[i];
		if (freed >= need)
			return ratelimit_bucket_free(s, i);
	}
	return 0;
}

/* ratelimit_series_seed - a new series' start: see ratelimit.h */
static void
ratelimit_series_seed(struct ratelimit_series *s,
    const struct ratelimit_series *old, size_t nold, int64_t eff)
{
	const struct ratelimit_series *src = NULL;
	uint64_t sum = 0;
	int64_t b;
	size_t i, k;

	for (i = 0; i < nold; i++) {
		if (old[i].what == s->what &&
		    (src == NULL || old[i].window > src->window))
			src = &old[i];
	}
	if (src == NULL)
		return;
	b = ratelimit_width(src->window);
	k = ratelimit_span(src->window);
	for (i = 0; i <= k; i++) {
		/* Bucket head - i may hold a charge the new window counts:
		 * one made at or after eff - window + 1. */
		if ((src->head - (int64_t)i + 1) * b - 1 <
		    eff - (int64_t)s->window + 1)
			break;
		sum += src->count[i];
	}
	s->count[0] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* ratelimit_state_sync - one series per cap, in cap order, at eff */
static void
ratelimit_state_sync(
    struct ratelimit_state *st, const struct ratelimit_class *cls, int64_t eff)
{
	struct ratelimit_series old[RATELIMIT_MAX_CAPS];
	size_t nold = st->nseries, i, j, ncaps = cls->ncaps;

	if (nold > RATELIMIT_MAX_CAPS)
		nold = RATELIMIT_MAX_CAPS;
	if (ncaps > RATELIMIT_MAX_CAPS)
		ncaps = RATELIMIT_MAX_CAPS;
	memcpy(old, st->series, nold * sizeof(old[0]));
	for (i = 0; i < nold; i++)
		ratelimit_series_advance(&old[i], eff);
	for (i = 0; i < ncaps; i++) {
		struct ratelimit_series *s = &st->series[i];
		const struct ratelimit_cap *c = &cls->cap[i];

		for (j = 0; j < nold; j++) {
			if (old[j].what == c->what &&
			    old[j].window == c->window)
				break;
		}
		if (j < nold) {
			*s = old[j];
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->what = c->what;
		s->window = c->window;
		s->head = eff / ratelimit_width(c->window);
		ratelimit_series_seed(s, old, nold, eff);
	}
	st->nseries = ncaps;
}

/* ratelimit_check_time - a time we can work with */
static int
ratelimit_check_time(int64_t t, char *why, size_t size)
{
	if (t < 0 || t > RATELIMIT_TIME_MAX) {
		ratelimit_why(why, size, "time %" PRId64 " out of range", t);
		return -1;
	}
	return 0;
}

/* ratelimit_session_caps - per-message and per-session caps */
static void
ratelimit_session_caps(const struct ratelimit_class *cls,
    const struct ratelimit_request *req, struct ratelimit_decision *d)
{
	if (req->rcpts == 0)
		return;
	if (cls->per_message > 0 &&
	    (uint64_t)req->msg_rcpts + req->rcpts > cls->per_message) {
		d->refused = true;
		d->cause = RATELIMIT_CAUSE_PER_MESSAGE;
		d->used = req->msg_rcpts;
		d->limit = cls->per_message;
	} else if (cls->per_session > 0 &&
	    (uint64_t)req->session_rcpts + req->rcpts > cls->per_session) {
		d->refused = true;
		d->cause = RATELIMIT_CAUSE_PER_SESSION;
		d->used = req->session_rcpts;
		d->limit = cls->per_session;
	}
}

/* ratelimit_later - the later of two resume times; 0 (never) wins */
static int64_t
ratelimit_later(int64_t a, int64_t b)
{
	if (a == 0 || b == 0)
		return 0;
	return a > b ? a : b;
}

/* ratelimit_reserve - decide one request and charge it if allowed */
int
ratelimit_reserve(struct ratelimit_state *st, const struct ratelimit_class *cls,
    const struct ratelimit_request *req, int64_t now,
    struct ratelimit_decision *d, struct ratelimit_token *tok, char *why,
    size_t size)
{
	uint32_t used[RATELIMIT_MAX_CAPS];
	int64_t eff, wresume = -1;
	size_t i, hit = 0;
	bool charge;

	memset(d, 0, sizeof(*d));
	memset(tok, 0, sizeof(*tok));
	if (ratelimit_check_time(now, why, size) < 0)
		return -1;
	if (req->rcpts > RATELIMIT_MAX_VALUE ||
	    req->msgs > RATELIMIT_MAX_VALUE) {
		ratelimit_why(why, size,
		    "request of %" PRIu32 " recipients, %" PRIu32
		    " messages is too large",
		    req->rcpts, req->msgs);
		return -1;
	}
	d->action = cls->action;
	snprintf(d->class_name, sizeof(d->class_name), "%s", cls->name);
	ratelimit_session_caps(cls, req, d);
	/* The caller's own counts refused it: nothing to charge. */
	if (d->refused && !cls->shadow)
		return 0;

	eff = now > st->last ? now : st->last;
	ratelimit_state_sync(st, cls, eff);
	st->last = eff;
	if (!d->refused && eff < st->blocked_until) {
		d->refused = true;
		d->cause = RATELIMIT_CAUSE_BLOCK;
		d->resume = st->blocked_until;
		d->blocked_until = st->blocked_until;
	}
	for (i = 0; i < st->nseries; i++) {
		const struct ratelimit_cap *c = &cls->cap[i];
		uint32_t n =
		    c->what == RATELIMIT_MESSAGES ? req->msgs : req->rcpts;
		int64_t t;

		used[i] = ratelimit_series_used(&st->series[i], eff);
		if (n == 0 || (uint64_t)used[i] + n <= c->max)
			continue;
		t = ratelimit_series_free_time(&st->series[i], c->max, n);
		/* Report the cap that frees last: sending resumes then. */
		if (wresume < 0 || (wresume != 0 && (t == 0 || t > wresume))) {
			wresume = t;
			hit = i;
		}
	}
	if (wresume >= 0) {
		if (!d->refused) {
			d->refused = true;
			d->cause = RATELIMIT_CAUSE_WINDOW;
			d->cap = cls->cap[hit];
			d->used = used[hit];
			d->resume = wresume;
		} else if (d->cause == RATELIMIT_CAUSE_BLOCK) {
			d->resume = ratelimit_later(d->resume, wresume);
		}
		if (cls->block > 0 && eff >= st->blocked_until) {
			st->blocked_until = eff + cls->block;
			d->blocked_until = st->blocked_until;
			d->block_started = true;
			if (d->cause == RATELIMIT_CAUSE_WINDOW)
				d->resume = ratelimit_later(
				    d->resume, st->blocked_until);
		}
	}

	charge = !d->refused || cls->shadow;
	if (!charge && cls->count_refused &&
	    (d->cause == RATELIMIT_CAUSE_WINDOW ||
		d->cause == RATELIMIT_CAUSE_BLOCK))
		charge = true;
	if (!charge)
		return 0;
	for (i = 0; i < st->nseries; i++) {
		const struct ratelimit_cap *c = &cls->cap[i];
		uint32_t n =
		    c->what == RATELIMIT_MESSAGES ? req->msgs : req->rcpts;
		uint64_t after = (uint64_t)used[i] + n, sum;
		int level = 0;

		if (n == 0)
			continue;
		sum = (uint64_t)st->series[i].count[0] + n;
		st->series[i].count[0] =
		    sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
		if (c->max == 0)
			continue;
		if (used[i] < c->max && after >= c->max)
			level = 100;
		else if ((uint64_t)used[i] * 5 < (uint64_t)c->max * 4 &&
		    after * 5 >= (uint64_t)c->max * 4)
			level = 80;
		if (level > d->threshold) {
			d->threshold = level;
			d->threshold_cap = *c;
		}
	}
	if (d->refused && !cls->shadow) {
		/* count_refused: charged for good, nothing to refund. */
		d->threshold = 0;
		memset(&d->threshold_cap, 0, sizeof(d->threshold_cap));
		return 0;
	}
	d->allowed = true;
	d->shadow = d->refused;
	tok->at = eff;
	tok->rcpts = req->rcpts;
	tok->msgs = req->msgs;
	return 0;
}

/* ratelimit_refund - give back exactly what a reservation charged */
int
ratelimit_refund(struct ratelimit_state *st, const struct ratelimit_token *tok,
    int64_t now, char *why, size_t size)
{
	int64_t eff;
	size_t i;

	if (ratelimit_check_time(now, why, size) < 0 ||
	    ratelimit_check_time(tok->at, why, size) < 0)
		return -1;
	if (tok->rcpts == 0 && tok->msgs == 0)
		return 0;
	eff = now > st->last ? now : st->last;
	for (i = 0; i < st->nseries && i < RATELIMIT_MAX_CAPS; i++) {
		struct ratelimit_series *s = &st->series[i];
		uint32_t n =
		    s->what == RATELIMIT_MESSAGES ? tok->msgs : tok->rcpts;
		int64_t age;

		ratelimit_series_advance(s, eff);
		age = s->head - tok->at / ratelimit_width(s->window);
		/* Left the window: that charge is free already. */
		if (n == 0 || age < 0 || age > ratelimit_span(s->window))
			continue;
		s->count[age] -= n < s->count[age] ? n : s->count[age];
	}
	st->last = eff;
	return 0;
}

/* ratelimit_series_next_free - when the oldest charge leaves, 0: none */
static int64_t
ratelimit_series_next_free(const struct ratelimit_series *s)
{
	size_t i, k = ratelimit_span(s->window);

	for (i = k + 1; i-- > 0;) {
		if (s->count[i] > 0)
			return ratelimit_bucket_free(s, i);
	}
	return 0;
}

/* ratelimit_series_all_free - when the newest charge leaves, 0: none */
static int64_t
ratelimit_series_all_free(const struct ratelimit_series *s)
{
	size_t i, k = ratelimit_span(s->window);

	for (i = 0; i <= k; i++) {
		if (s->count[i] > 0)
			return ratelimit_bucket_free(s, i);
	}
	return 0;
}

/* ratelimit_usage - each cap's count and when it frees up */
void
ratelimit_usage(const struct ratelimit_state *st,
    const struct ratelimit_class *cls, int64_t now, struct ratelimit_usage *u)
{
	struct ratelimit_state copy = *st;
	int64_t eff = now > st->last ? now : st->last;
	size_t i;

	memset(u, 0, sizeof(*u));
	ratelimit_state_sync(&copy, cls, eff);
	for (i = 0; i < copy.nseries; i++) {
		u->cap[i].cap = cls->cap[i];
		u->cap[i].used = ratelimit_series_used(&copy.series[i], eff);
		u->cap[i].next_free =
		    ratelimit_series_next_free(&copy.series[i]);
		u->cap[i].all_free = ratelimit_series_all_free(&copy.series[i]);
	}
	u->ncaps = copy.nseries;
	u->blocked_until = copy.blocked_until > eff ? copy.blocked_until : 0;
	u->now = eff;
}

/* ratelimit_usage_text - "limit get" lines */
int
ratelimit_usage_text(const struct ratelimit_usage *u, enum ratelimit_tz tz,
    char *buf, size_t size)
{
	char wtext[32], ttext[64];
	size_t off = 0, i;
	int rc = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < u->ncaps && i < RATELIMIT_MAX_CAPS; i++) {
		const struct ratelimit_cap_usage *c = &u->cap[i];

		rc |= ratelimit_append(buf, size, &off,
		    "%s%" PRIu32 "/%" PRIu32 " %s used in the last %s",
		    off > 0 ? "\n" : "", c->used, c->cap.max,
		    ratelimit_what_name(c->cap.what),
		    ratelimit_window_text(c->cap.window, wtext, sizeof(wtext)));
		if (c->used > 0)
			rc |= ratelimit_append(buf, size, &off,
			    ", next frees at %s",
			    ratelimit_format_time(
				c->next_free, tz, ttext, sizeof(ttext)));
	}
	if (u->ncaps == 0)
		rc |= ratelimit_append(buf, size, &off, "no caps");
	if (u->blocked_until > 0)
		rc |= ratelimit_append(buf, size, &off, "\nblocked until %s",
		    ratelimit_format_time(
			u->blocked_until, tz, ttext, sizeof(ttext)));
	return rc < 0 ? -1 : 0;
}

/* ratelimit_top_metric - the weight of an account for "top N" */
uint32_t
ratelimit_top_metric(
    const struct ratelimit_state *st, int64_t now, struct ratelimit_cap *cap_r)
{
	const struct ratelimit_series *best = NULL;
	int64_t eff = now > st->last ? now : st->last;
	size_t i;

	memset(cap_r, 0, sizeof(*cap_r));
	for (i = 0; i < st->nseries && i < RATELIMIT_MAX_CAPS; i++) {
		const struct ratelimit_series *s = &st->series[i];

		if (best == NULL ||
		    (s->what == RATELIMIT_RECIPIENTS &&
			best->what == RATELIMIT_MESSAGES) ||
		    (s->what == best->what && s->window > best->window))
			best = s;
	}
	if (best == NULL)
		return 0;
	cap_r->what = best->what;
	cap_r->window = best->window;
	return ratelimit_series_used(best, eff);
}

/* ratelimit_state_idle - nothing counted, no block running */
bool
ratelimit_state_idle(const struct ratelimit_state *st, int64_t now)
{
	int64_t eff = now > st->last ? now : st->last;
	size_t i;

	if (st->blocked_until > eff)
		return false;
	for (i = 0; i < st->nseries && i < RATELIMIT_MAX_CAPS; i++) {
		if (ratelimit_series_used(&st->series[i], eff) > 0)
			return false;
	}
	return true;
}

/* ratelimit_state_idle_at - when the state becomes idle */
int64_t
ratelimit_state_idle_at(const struct ratelimit_state *st)
{
	int64_t at = st->last, t;
	size_t i;

	if (st->blocked_until > at)
		at = st->blocked_until;
	for (i = 0; i < st->nseries && i < RATELIMIT_MAX_CAPS; i++) {
		t = ratelimit_series_all_free(&st->series[i]);
		if (t > at)
			at = t;
	}
	return at;
}

/* ratelimit_put_varint - LEB128 */
static int
ratelimit_put_varint(uint8_t *buf, size_t size, size_t *off, uint64_t v)
{
	do {
		if (*off >= size)
			return -1;
		buf[(*off)++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
	return 0;
}

/* ratelimit_get_varint - LEB128, at most 64 bits */
static int
ratelimit_get_varint(const uint8_t *buf, size_t len, size_t *off, uint64_t *v_r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (*off >= len || shift > 63)
			return -1;
		b = buf[(*off)++];
		if (shift == 63 && (b & 0x7e) != 0)
			return -1;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			break;
		shift += 7;
	}
	*v_r = v;
	return 0;
}

/* ratelimit_state_encode - the compact form of a state */
int
ratelimit_state_encode(
    const struct ratelimit_state *st, uint8_t *buf, size_t size, size_t *len_r)
{
	size_t off = 0, i, j, k, nz;

	if (size < 1 || st->last < 0 || st->blocked_until < 0 ||
	    st->nseries > RATELIMIT_MAX_CAPS)
		return -1;
	buf[off++] = RATELIMIT_VERSION;
	if (ratelimit_put_varint(buf, size, &off, (uint64_t)st->last) < 0 ||
	    ratelimit_put_varint(buf, size, &off, (uint64_t)st->blocked_until) <
		0 ||
	    ratelimit_put_varint(buf, size, &off, st->nseries) < 0)
		return -1;
	for (i = 0; i < st->nseries; i++) {
		const struct ratelimit_series *s = &st->series[i];
		int64_t lag = st->last / ratelimit_width(s->window) - s->head;

		if (lag < 0)
			return -1;
		k = ratelimit_span(s->window);
		for (j = 0, nz = 0; j <= k; j++)
			nz += s->count[j] > 0;
		if (ratelimit_put_varint(buf, size, &off, s->what) < 0 ||
		    ratelimit_put_varint(buf, size, &off, s->window) < 0 ||
		    ratelimit_put_varint(buf, size, &off, (uint64_t)lag) < 0 ||
		    ratelimit_put_varint(buf, size, &off, nz) < 0)
			return -1;
		for (j = 0; j <= k; j++) {
			if (s->count[j] == 0)
				continue;
			if (ratelimit_put_varint(buf, size, &off, j) < 0 ||
			    ratelimit_put_varint(buf, size, &off, s->count[j]) <
				0)
				return -1;
		}
	}
	*len_r = off;
	return 0;
}

/* ratelimit_state_decode - a state from its compact form */
int
ratelimit_state_decode(const uint8_t *buf, size_t len,
    struct ratelimit_state *st, char *why, size_t size)
{
	uint64_t last, blocked, n, what, window, lag, nz, age, count;
	size_t off = 0, i, j, k;
	int64_t prev;

	ratelimit_state_init(st);
	if (len < 1 || buf[0] != RATELIMIT_VERSION) {
		ratelimit_why(why, size, "state: unknown version");
		return -1;
	}
	off = 1;
	if (ratelimit_get_varint(buf, len, &off, &last) < 0 ||
	    ratelimit_get_varint(buf, len, &off, &blocked) < 0 ||
	    ratelimit_get_varint(buf, len, &off, &n) < 0)
		goto truncated;
	if (last > RATELIMIT_TIME_MAX ||
	    blocked > RATELIMIT_TIME_MAX + RATELIMIT_MAX_WINDOW ||
	    n > RATELIMIT_MAX_CAPS) {
		ratelimit_why(why, size, "state: value out of range");
		goto fail;
	}
	st->last = (int64_t)last;
	st->blocked_until = (int64_t)blocked;
	for (i = 0; i < n; i++) {
		struct ratelimit_series *s = &st->series[i];

		if (ratelimit_get_varint(buf, len, &off, &what) < 0 ||
		    ratelimit_get_varint(buf, len, &off, &window) < 0 ||
		    ratelimit_get_varint(buf, len, &off, &lag) < 0 ||
		    ratelimit_get_varint(buf, len, &off, &nz) < 0)
			goto truncated;
		if (what > RATELIMIT_MESSAGES || window == 0 ||
		    window > RATELIMIT_MAX_WINDOW ||
		    lag > (uint64_t)(st->last / ratelimit_width(window))) {
			ratelimit_why(why, size, "state: bad series %zu", i);
			goto fail;
		}
		s->what = (enum ratelimit_what)what;
		s->window = (uint32_t)window;
		s->head = st->last / ratelimit_width(s->window) - (int64_t)lag;
		for (j = 0; j < i; j++) {
			if (st->series[j].what == s->what &&
			    st->series[j].window == s->window) {
				ratelimit_why(
				    why, size, "state: series %zu twice", i);
				goto fail;
			}
		}
		k = ratelimit_span(s->window);
		if (nz > k + 1) {
			ratelimit_why(why, size, "state: bad series %zu", i);
			goto fail;
		}
		for (j = 0, prev = -1; j < nz; j++) {
			if (ratelimit_get_varint(buf, len, &off, &age) < 0 ||
			    ratelimit_get_varint(buf, len, &off, &count) < 0)
				goto truncated;
			if (age > k || (int64_t)age <= prev || count == 0 ||
			    count > UINT32_MAX) {
				ratelimit_why(why, size,
				    "state: bad bucket in series %zu", i);
				goto fail;
			}
			s->count[age] = (uint32_t)count;
			prev = (int64_t)age;
		}
		st->nseries = i + 1;
	}
	if (off != len) {
		ratelimit_why(why, size, "state: %zu bytes of trailing garbage",
		    len - off);
		goto fail;
	}
	return 0;
truncated:
	ratelimit_why(why, size, "state: truncated");
fail:
	ratelimit_state_init(st);
	return -1;
}

/* ratelimit_window_text - "24 h", "1 h", "5 min", "90 s" */
char *
ratelimit_window_text(uint32_t window, char *buf, size_t size)
{
	if (window > 0 && window % 3600 == 0)
		snprintf(buf, size, "%" PRIu32 " h", window / 3600);
	else if (window > 0 && window % 60 == 0)
		snprintf(buf, size, "%" PRIu32 " min", window / 60);
	else
		snprintf(buf, size, "%" PRIu32 " s", window);
	return buf;
}

/* ratelimit_format_time - "2026-11-22 09:00 UTC", rounded up */
char *
ratelimit_format_time(int64_t t, enum ratelimit_tz tz, char *buf, size_t size)
{
	struct tm tm;
	time_t tt;

	if (size == 0)
		return buf;
	if (t <= 0 || t > RATELIMIT_TIME_MAX) {
		snprintf(buf, size, "never");
		return buf;
	}
	tt = (time_t)((t + 59) / 60 * 60);
	if (tz == RATELIMIT_TZ_LOCAL) {
		if (localtime_r(&tt, &tm) == NULL ||
		    strftime(buf, size, "%Y-%m-%d %H:%M %z", &tm) == 0)
			snprintf(buf, size, "@%" PRId64, t);
	} else {
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
			snprintf(buf, size, "@%" PRId64, t);
	}
	return buf;
}

/* ratelimit_reply - the SMTP reply for a refusal */
void
ratelimit_reply(const struct ratelimit_decision *d, enum ratelimit_tz tz,
    struct ratelimit_reply *r)
{
	bool reject = d->action == RATELIMIT_REJECT;
	char wtext[32], ttext[64];

	memset(r, 0, sizeof(*r));
	switch (d->cause) {
	case RATELIMIT_CAUSE_PER_MESSAGE:
	case RATELIMIT_CAUSE_PER_SESSION:
		/* RFC 5321 4.5.3.1.10: 452 for too many recipients; RFC
		 * 3463 3.6: X.5.3 too many recipients. */
		snprintf(r->rcode, sizeof(r->rcode), reject ? "550" : "452");
		snprintf(
		    r->xcode, sizeof(r->xcode), reject ? "5.5.3" : "4.5.3");
		snprintf(r->text, sizeof(r->text),
		    "Too many recipients in this %s (limit %" PRIu32 ")",
		    d->cause == RATELIMIT_CAUSE_PER_MESSAGE ? "message"
							    : "session",
		    d->limit);
		break;
	case RATELIMIT_CAUSE_BLOCK:
		snprintf(r->rcode, sizeof(r->rcode), reject ? "550" : "451");
		snprintf(
		    r->xcode, sizeof(r->xcode), reject ? "5.7.1" : "4.7.1");
		snprintf(r->text, sizeof(r->text),
		    "Sending blocked after a sending limit was reached; %s %s",
		    reject ? "sending resumes after" : "try again after",
		    ratelimit_format_time(d->resume, tz, ttext, sizeof(ttext)));
		break;
	case RATELIMIT_CAUSE_WINDOW:
		snprintf(r->rcode, sizeof(r->rcode), reject ? "550" : "451");
		snprintf(
		    r->xcode, sizeof(r->xcode), reject ? "5.7.1" : "4.7.1");
		ratelimit_window_text(d->cap.window, wtext, sizeof(wtext));
		if (d->resume == 0)
			snprintf(r->text, sizeof(r->text),
			    "Sending limit: at most %" PRIu32 " %s per %s",
			    d->cap.max, ratelimit_what_name(d->cap.what),
			    wtext);
		else
			snprintf(r->text, sizeof(r->text),
			    "Sending limit reached: %" PRIu32 " %s per %s; "
			    "%s %s",
			    d->cap.max, ratelimit_what_name(d->cap.what), wtext,
			    reject ? "sending resumes after"
				   : "try again after",
			    ratelimit_format_time(
				d->resume, tz, ttext, sizeof(ttext)));
		break;
	default:
		break;
	}
}
