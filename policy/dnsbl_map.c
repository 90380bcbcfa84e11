/*
 * NAME
 *	dnsbl_map - what the A answers of a DNSBL or RHSBL mean
 * SUMMARY
 *	Parse MATCH strings into rows; classify answer codes.
 * DESCRIPTION
 *	See dnsbl_map.h. Rows and refused ranges are kept in arrays in the
 *	order given; a lookup is a linear scan (maps have a handful of
 *	rows).
 * THREADS
 *	Pure; a built map is read-only.
 * OWNERSHIP
 *	The map owns its rows and their strings.
 * ERRORS
 *	error_r texts: "MATCH: why".
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dnsbl_map.h"

#define DNSBL_LOOPBACK_NET 0x7f000000u	  /* 127.0.0.0 */
#define DNSBL_LOOPBACK_MASK 0xff000000u	  /* /8 */
#define DNSBL_REFUSED_DEFAULT 0x7fffff00u /* 127.255.255.0/24 */
#define DNSBL_MATCH_MAX 64		  /* octets of a MATCH string */

struct dnsbl_range {
	uint32_t lo; /* first code */
	uint32_t hi; /* last code */
};

struct dnsbl_map {
	struct dnsbl_map_row *rows;  /* in the order given */
	size_t count;		     /* rows used */
	struct dnsbl_range *refused; /* refused set */
	size_t refused_count;	     /* ranges used */
};

/* dnsbl_error - set *error_r to "match: why" (no-op if error_r is NULL) */
static void
dnsbl_error(char **error_r, const char *match, const char *why)
{
	if (error_r == NULL)
		return;
	if (asprintf(error_r, "%.*s: %s", DNSBL_MATCH_MAX, match, why) < 0)
		*error_r = NULL;
}

/* dnsbl_loopback - is a code in 127.0.0.0/8? */
static bool
dnsbl_loopback(uint32_t code)
{
	return (code & DNSBL_LOOPBACK_MASK) == DNSBL_LOOPBACK_NET;
}

/* dnsbl_quad - parse a strict dotted quad ("127.0.0.2"), no blanks */
static int
dnsbl_quad(const char *s, size_t len, uint32_t *code_r)
{
	uint32_t code = 0, octet = 0;
	size_t i, digits = 0, dots = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (digits == 0 || octet > 255)
				return -1;
			code = code << 8 | octet;
			octet = 0;
			digits = 0;
			if (i < len && ++dots > 3)
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)s[i]) || ++digits > 3)
			return -1;
		octet = octet * 10 + (uint32_t)(s[i] - '0');
	}
	if (dots != 3)
		return -1;
	*code_r = code;
	return 0;
}

/* dnsbl_range_parse - "A" or "A-B", both in 127/8, A <= B */
static int
dnsbl_range_parse(
    const char *s, size_t len, struct dnsbl_range *r, const char **why_r)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL) {
		if (dnsbl_quad(s, len, &r->lo) != 0) {
			*why_r = "not an IPv4 code (want 127.0.0.2, "
				 "127.0.0.4-127.0.0.7, &4 or any)";
			return -1;
		}
		r->hi = r->lo;
	} else if (dnsbl_quad(s, (size_t)(dash - s), &r->lo) != 0 ||
	    dnsbl_quad(dash + 1, len - (size_t)(dash - s) - 1, &r->hi) != 0) {
		*why_r =
		    "range ends must be dotted quads (127.0.0.4-127.0.0.7)";
		return -1;
	} else if (r->lo > r->hi) {
		*why_r = "range start above its end";
		return -1;
	}
	if (!dnsbl_loopback(r->lo) || !dnsbl_loopback(r->hi)) {
		*why_r =
		    "outside 127.0.0.0/8 (RFC 5782 2.3: answers are 127/8)";
		return -1;
	}
	return 0;
}

/* dnsbl_mask_parse - "&4", "&0x10" or "&0.0.0.4" (s points after '&') */
static int
dnsbl_mask_parse(
    const char *s, size_t len, uint32_t *mask_r, const char **why_r)
{
	char buf[DNSBL_MATCH_MAX + 1], *end;
	unsigned long v;
	size_t i;
	int base = 10;

	if (len == 0 || len > DNSBL_MATCH_MAX) {
		*why_r = "empty or overlong mask";
		return -1;
	}
	if (memchr(s, '.', len) != NULL) {
		if (dnsbl_quad(s, len, mask_r) != 0) {
			*why_r = "mask is not a dotted quad (&0.0.0.4)";
			return -1;
		}
	} else {
		memcpy(buf, s, len);
		buf[len] = '\0';
		i = 0;
		if (len > 2 && buf[0] == '0' &&
		    (buf[1] == 'x' || buf[1] == 'X')) {
			base = 16;
			i = 2;
		}
		/* strtoul would take blanks and signs: digits only */
		for (; i < len; i++) {
			if (base == 10 ? !isdigit((unsigned char)buf[i])
				       : !isxdigit((unsigned char)buf[i])) {
				*why_r = "mask is not a number (&4, &0x10)";
				return -1;
			}
		}
		errno = 0;
		v = strtoul(buf, &end, base);
		if (errno != 0 || *end != '\0' || v > 0xffffffffUL) {
			*why_r = "mask out of range";
			return -1;
		}
		*mask_r = (uint32_t)v;
	}
	if (*mask_r == 0) {
		*why_r = "mask 0 matches nothing";
		return -1;
	}
	if ((*mask_r & DNSBL_LOOPBACK_MASK) != 0) {
		*why_r = "mask bits in the first octet match every 127/8 code";
		return -1;
	}
	return 0;
}

/* dnsbl_trim - the bounds of s without surrounding blanks */
static const char *
dnsbl_trim(const char *s, size_t *len_r)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	*len_r = len;
	return s;
}

/* dnsbl_map_create - an empty map with the default refused set */
struct dnsbl_map *
dnsbl_map_create(void)
{
	struct dnsbl_map *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->refused = malloc(sizeof(*m->refused))) == NULL) {
		free(m);
		return NULL;
	}
	m->refused[0].lo = DNSBL_REFUSED_DEFAULT;
	m->refused[0].hi = DNSBL_REFUSED_DEFAULT | 0xffu;
	m->refused_count = 1;
	return m;
}

/* dnsbl_map_add - append one row */
int
dnsbl_map_add(struct dnsbl_map *m, const char *match, const char *meaning,
    enum action action, int score, char **error_r)
{
	struct dnsbl_map_row row, *rows;
	struct dnsbl_range range;
	const char *s, *why = NULL, *p;
	size_t len;

	if (error_r != NULL)
		*error_r = NULL;
	memset(&row, 0, sizeof(row));
	if (match == NULL)
		match = "";
	s = dnsbl_trim(match, &len);
	if (len == 0) {
		why = "empty match";
		goto fail;
	}
	if (len > DNSBL_MATCH_MAX) {
		why = "match too long";
		goto fail;
	}
	if (len == 3 && strncasecmp(s, "any", 3) == 0) {
		row.kind = DNSBL_MATCH_ANY;
		row.lo = DNSBL_LOOPBACK_NET;
		row.hi = DNSBL_LOOPBACK_NET | ~DNSBL_LOOPBACK_MASK;
	} else if (s[0] == '&') {
		row.kind = DNSBL_MATCH_MASK;
		if (dnsbl_mask_parse(s + 1, len - 1, &row.lo, &why) != 0)
			goto fail;
		row.hi = row.lo;
	} else {
		if (dnsbl_range_parse(s, len, &range, &why) != 0)
			goto fail;
		row.kind = range.lo == range.hi ? DNSBL_MATCH_EXACT
						: DNSBL_MATCH_RANGE;
		row.lo = range.lo;
		row.hi = range.hi;
	}
	if ((unsigned)action >= ACTION_COUNT) {
		why = "unknown action";
		goto fail;
	}
	if (meaning == NULL)
		meaning = "";
	if (strlen(meaning) > DNSBL_MAP_MEANING_MAX) {
		why = "meaning too long";
		goto fail;
	}
	/* The meaning goes into a header and log lines: plain text only. */
	for (p = meaning; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			why = "meaning holds control or non-ASCII bytes";
			goto fail;
		}
	}
	row.action = action;
	row.score = score;
	if ((row.match = strndup(s, len)) == NULL ||
	    (row.meaning = strdup(meaning)) == NULL)
		goto nomem;
	rows = reallocarray(m->rows, m->count + 1, sizeof(*rows));
	if (rows == NULL)
		goto nomem;
	m->rows = rows;
	m->rows[m->count++] = row;
	return 0;

nomem:
	why = "out of memory";
fail:
	dnsbl_error(error_r, match, why);
	free(row.match);
	free(row.meaning);
	return -1;
}

/* dnsbl_map_refused_add - add a code or range to the refused set */
int
dnsbl_map_refused_add(struct dnsbl_map *m, const char *range, char **error_r)
{
	struct dnsbl_range r, *set;
	const char *s, *why = NULL;
	size_t len;

	if (error_r != NULL)
		*error_r = NULL;
	s = dnsbl_trim(range != NULL ? range : "", &len);
	if (len == 0 || len > DNSBL_MATCH_MAX) {
		dnsbl_error(error_r, range != NULL ? range : "",
		    "empty or overlong range");
		return -1;
	}
	if (dnsbl_range_parse(s, len, &r, &why) != 0) {
		dnsbl_error(error_r, range, why);
		return -1;
	}
	set = reallocarray(m->refused, m->refused_count + 1, sizeof(*set));
	if (set == NULL) {
		dnsbl_error(error_r, range, "out of memory");
		return -1;
	}
	m->refused = set;
	m->refused[m->refused_count++] = r;
	return 0;
}

/* dnsbl_map_refused_clear - empty the refused set */
void
dnsbl_map_refused_clear(struct dnsbl_map *m)
{
	m->refused_count = 0;
}

/* dnsbl_row_matches - does one row match a 127/8 code? */
static bool
dnsbl_row_matches(const struct dnsbl_map_row *row, uint32_t code)
{
	switch (row->kind) {
	case DNSBL_MATCH_EXACT:
	case DNSBL_MATCH_RANGE:
		return code >= row->lo && code <= row->hi;
	case DNSBL_MATCH_MASK:
		return (code & row->lo) != 0;
	case DNSBL_MATCH_ANY:
		return true;
	}
	return false;
}

/* dnsbl_map_classify - what a code means */
enum dnsbl_code_class
dnsbl_map_classify(const struct dnsbl_map *m, uint32_t code,
    const struct dnsbl_map_row **row_r)
{
	size_t i;

	if (row_r != NULL)
		*row_r = NULL;
	if (!dnsbl_loopback(code))
		return DNSBL_CODE_NOT_LOOPBACK;
	for (i = 0; i < m->refused_count; i++)
		if (code >= m->refused[i].lo && code <= m->refused[i].hi)
			return DNSBL_CODE_REFUSED;
	for (i = 0; i < m->count; i++) {
		if (dnsbl_row_matches(&m->rows[i], code)) {
			if (row_r != NULL)
				*row_r = &m->rows[i];
			return DNSBL_CODE_LISTED;
		}
	}
	return DNSBL_CODE_UNMATCHED;
}

/* dnsbl_map_match - the first row that matches a code */
const struct dnsbl_map_row *
dnsbl_map_match(const struct dnsbl_map *m, uint32_t code)
{
	const struct dnsbl_map_row *row;

	(void)dnsbl_map_classify(m, code, &row);
	return row;
}

/* dnsbl_map_count - number of rows */
size_t
dnsbl_map_count(const struct dnsbl_map *m)
{
	return m->count;
}

/* dnsbl_map_row - the i-th row, or NULL past the end */
const struct dnsbl_map_row *
dnsbl_map_row(const struct dnsbl_map *m, size_t i)
{
	return i < m->count ? &m->rows[i] : NULL;
}

/* dnsbl_map_code_text - a code as a dotted quad */
char *
dnsbl_map_code_text(uint32_t code, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", code >> 24, (code >> 16) & 0xffu,
	    (code >> 8) & 0xffu, code & 0xffu);
	return buf;
}

/* dnsbl_map_refused_count - ranges in the refused set */
size_t
dnsbl_map_refused_count(const struct dnsbl_map *m)
{
	return m->refused_count;
}

/* dnsbl_map_refused_text - the i-th refused range, "A" or "A-B" */
char *
dnsbl_map_refused_text(
    const struct dnsbl_map *m, size_t i, char *buf, size_t size)
{
	char lo[16], hi[16];

	dnsbl_map_code_text(m->refused[i].lo, lo, sizeof(lo));
	dnsbl_map_code_text(m->refused[i].hi, hi, sizeof(hi));
	if (m->refused[i].lo == m->refused[i].hi)
		snprintf(buf, size, "%s", lo);
	else
		snprintf(buf, size, "%s-%s", lo, hi);
	return buf;
}

/* dnsbl_map_free - free a map and set *m to NULL */
void
dnsbl_map_free(struct dnsbl_map **m)
{
	size_t i;

	if (m == NULL || *m == NULL)
		return;
	for (i = 0; i < (*m)->count; i++) {
		free((*m)->rows[i].match);
		free((*m)->rows[i].meaning);
	}
	free((*m)->rows);
	free((*m)->refused);
	free(*m);
	*m = NULL;
}

/* dnsbl_subject_name - the config word for a subject */
const char *
dnsbl_subject_name(enum dnsbl_subject subject)
{
	switch (subject) {
	case DNSBL_CLIENT_IP:
		return "client_ip";
	case DNSBL_HELO:
		return "helo";
	case DNSBL_MAIL_FROM:
		return "mail_from";
	case DNSBL_FROM:
		return "from";
	case DNSBL_IPREV:
		return "iprev";
	}
	return "client_ip";
}

/* dnsbl_subject_parse - the subject for a config word */
int
dnsbl_subject_parse(const char *word, enum dnsbl_subject *subject_r)
{
	static const enum dnsbl_subject all[] = { DNSBL_CLIENT_IP, DNSBL_HELO,
		DNSBL_MAIL_FROM, DNSBL_FROM, DNSBL_IPREV };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(word, dnsbl_subject_name(all[i])) == 0) {
			*subject_r = all[i];
			return 0;
		}
	}
	return -1;
}
