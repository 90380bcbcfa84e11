/*
 * NAME
 *	listfile - the line syntax of list files
 * SUMMARY
 *	Line splitting, UTF-8 and NUL checks, expires= parsing.
 * DESCRIPTION
 *	See listfile.h and lists/FORMAT.md. A line ends at LF; a CR before
 *	the LF is dropped, so files written on other systems load too.
 * THREADS
 *	Pure.
 * OWNERSHIP
 *	Nothing is allocated.
 * ERRORS
 *	Text in why: "line too long (over 4096 bytes)", "NUL byte in line",
 *	"invalid UTF-8", "bad expires= value", ...
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lists/listfile.h"
#include "lists/text.h"

/* listfile_init - start reading text */
void
listfile_init(struct listfile *lf, const char *text, size_t len, int pattern)
{
	memset(lf, 0, sizeof(*lf));
	lf->text = text;
	lf->len = text == NULL ? 0 : len;
	lf->pattern = pattern;
}

/* listfile_utf8_valid - is the text well-formed UTF-8 (RFC 3629)? */
int
listfile_utf8_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* RFC 3629 3: no overlongs, no surrogates, at most U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

/* listfile_digits - parse exactly n decimal digits */
static int
listfile_digits(const char *s, size_t n, int *value_r)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*value_r = v;
	return 0;
}

/* listfile_expires_parse - parse an ISO 8601 UTC time or epoch seconds */
int
listfile_expires_parse(const char *text, size_t len, time_t *when_r)
{
	struct tm tm, want, back;
	int64_t v = 0;
	time_t t;
	size_t i;

	if (len == 0)
		return -1;
	if (text[0] >= '0' && text[0] <= '9' &&
	    memchr(text, '-', len) == NULL) {
		/* Up to 12 digits: year 33658, far enough, no overflow. */
		if (len > 12)
			return -1;
		for (i = 0; i < len; i++) {
			if (text[i] < '0' || text[i] > '9')
				return -1;
			v = v * 10 + (text[i] - '0');
		}
		if (v < 1)
			return -1;
		*when_r = (time_t)v;
		return 0;
	}
	/* YYYY-MM-DDTHH:MM:SSZ, exactly 20 bytes. */
	if (len != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
	    text[13] != ':' || text[16] != ':' || text[19] != 'Z')
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (listfile_digits(text, 4, &tm.tm_year) < 0 ||
	    listfile_digits(text + 5, 2, &tm.tm_mon) < 0 ||
	    listfile_digits(text + 8, 2, &tm.tm_mday) < 0 ||
	    listfile_digits(text + 11, 2, &tm.tm_hour) < 0 ||
	    listfile_digits(text + 14, 2, &tm.tm_min) < 0 ||
	    listfile_digits(text + 17, 2, &tm.tm_sec) < 0)
		return -1;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	want = tm;
	t = timegm(&tm);
	/* timegm folds Feb 30 into March: refuse days a month lacks. */
	if (t < 1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon)
		return -1;
	*when_r = t;
	return 0;
}

/* listfile_expires_format - write a time as "YYYY-MM-DDTHH:MM:SSZ" */
void
listfile_expires_format(time_t when, char *buf, size_t size)
{
	struct tm tm;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (gmtime_r(&when, &tm) == NULL)
		return;
	if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

/* listfile_blank - space or tab */
static int
listfile_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* listfile_split - split one trimmed, non-empty line into its parts */
static int
listfile_split(const struct listfile *lf, const char *s, size_t len,
    struct listfile_line *line_r, char *why, size_t why_size)
{
	size_t i = 0, start;

	if (lf->pattern) {
		if (s[0] != '/') {
			snprintf(why, why_size,
			    "pattern must be written /regex/flags");
			return -1;
		}
		/* The first '/' not escaped by a backslash closes it. */
		for (i = 1; i < len && s[i] != '/'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
		}
		if (i >= len) {
			snprintf(why, why_size, "pattern has no closing '/'");
			return -1;
		}
		for (i++; i < len && !listfile_blank(s[i]); i++) {
			if (s[i] != 'i' || s[i - 1] == 'i') {
				snprintf(why, why_size,
				    "bad pattern flag '%c' (only i, once)",
				    s[i]);
				return -1;
			}
		}
	} else {
		while (i < len && !listfile_blank(s[i]))
			i++;
	}
	line_r->entry = s;
	line_r->entry_len = i;
	while (i < len && listfile_blank(s[i]))
		i++;
	if (len - i >= 8 && memcmp(s + i, "expires=", 8) == 0) {
		i += 8;
		start = i;
		while (i < len && !listfile_blank(s[i]))
			i++;
		if (listfile_expires_parse(
			s + start, i - start, &line_r->expires) < 0) {
			snprintf(why, why_size,
			    "bad expires= value \"%.*s\" (want "
			    "YYYY-MM-DDTHH:MM:SSZ or seconds since 1970)",
			    (int)(i - start > 40 ? 40 : i - start), s + start);
			return -1;
		}
		while (i < len && listfile_blank(s[i]))
			i++;
	}
	line_r->reason = s + i;
	line_r->reason_len = len - i;
	return 0;
}

/* listfile_next - the next entry line */
int
listfile_next(struct listfile *lf, struct listfile_line *line_r, char *why,
    size_t why_size)
{
	const char *s, *nl;
	size_t len;

	for (;;) {
		if (lf->pos >= lf->len)
			return 0;
		s = lf->text + lf->pos;
		nl = memchr(s, '\n', lf->len - lf->pos);
		len = nl != NULL ? (size_t)(nl - s) : lf->len - lf->pos;
		lf->pos += len + (nl != NULL);
		lf->line++;
		memset(line_r, 0, sizeof(*line_r));
		line_r->line = lf->line;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len > LISTFILE_MAX_LINE) {
			snprintf(why, why_size, "line too long (over %d bytes)",
			    LISTFILE_MAX_LINE);
			return -1;
		}
		if (memchr(s, '\0', len) != NULL) {
			snprintf(why, why_size, "NUL byte in line");
			return -1;
		}
		if (!listfile_utf8_valid(s, len)) {
			snprintf(why, why_size, "invalid UTF-8");
			return -1;
		}
		while (len > 0 && listfile_blank(s[0])) {
			s++;
			len--;
		}
		while (len > 0 && listfile_blank(s[len - 1]))
			len--;
		if (len == 0 || s[0] == '#')
			continue;
		if (listfile_split(lf, s, len, line_r, why, why_size) < 0)
			return -1;
		return 1;
	}
}

/* listfile_read - a whole list file, bounded, NUL-ended */
char *
listfile_read(const char *path, size_t max, size_t *len_r, char **why_r)
{
	struct stat st;
	char *buf = NULL;
	FILE *fp;
	size_t got;

	if ((fp = fopen(path, "re")) == NULL)
		goto fail;
	if (fstat(fileno(fp), &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		text_error(why_r, "%s: not a regular file of at most %zu MB",
		    path, max >> 20);
		fclose(fp);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	got = fread(buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp))
		goto fail;
	buf[got] = '\0';
	fclose(fp);
	*len_r = got;
	return buf;
fail:
	text_error(why_r, "%s: %s", path, strerror(errno));
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return NULL;
}
