/*
 * NAME
 *	listfile - the line syntax of list files
 * SUMMARY
 *	Split list text into lines and each line into entry, expiry and
 *	reason; refuse overlong lines, NUL bytes and invalid UTF-8.
 * DESCRIPTION
 *	The syntax is in lists/FORMAT.md. One line is
 *	"ENTRY [expires=WHEN] [REASON]"; blank lines and lines whose first
 *	non-blank byte is '#' are skipped. For pattern lists ENTRY is
 *	"/regex/flags" and may hold blanks and "\/". This module only
 *	splits: what an entry means is lists/list.c's business.
 * THREADS
 *	Pure; a reader belongs to one caller.
 * OWNERSHIP
 *	Lines point into the caller's text, which must outlive them.
 * ERRORS
 *	listfile_next returns -1 with the reason in why (no line number:
 *	the caller adds it from line_r->line).
 */
#ifndef SAKIMORI_LISTS_LISTFILE_H
#define SAKIMORI_LISTS_LISTFILE_H

#include <stddef.h>
#include <time.h>

#define LISTFILE_MAX_LINE 4096 /* bytes in a line, without its newline */

struct listfile {
	const char *text;   /* the whole input */
	size_t len;	    /* its length */
	size_t pos;	    /* start of the next line */
	unsigned long line; /* number of the line last read, from 1 */
	int pattern;	    /* 1: entries are /regex/flags */
};

struct listfile_line {
	unsigned long line; /* line number, from 1 */
	const char *entry;  /* the entry as written, not NUL-ended */
	size_t entry_len;   /* its length */
	const char *reason; /* reason text, not NUL-ended, maybe empty */
	size_t reason_len;  /* its length, trailing blanks cut */
	time_t expires;	    /* expiry (seconds since the epoch), 0: never */
};

/*
 * listfile_init - start reading text
 *	lf: the reader
 *	text, len: the input (need not be NUL-ended)
 *	pattern: 1 if entries are /regex/flags, else 0
 */
void listfile_init(
    struct listfile *lf, const char *text, size_t len, int pattern);

/*
 * listfile_next - the next entry line
 *	lf: the reader
 *	line_r: filled in (on -1, only line_r->line)
 *	why, why_size: on -1, why the line is bad
 * Returns 1 with a line,
 *	0 at the end of the text,
 *	-1 if the current line is bad (the next call reads on).
 */
int listfile_next(struct listfile *lf, struct listfile_line *line_r, char *why,
    size_t why_size);

/*
 * listfile_expires_parse - parse "YYYY-MM-DDTHH:MM:SSZ" or epoch seconds
 *	text, len: the value after "expires="
 *	when_r: the time, 1 or later
 * Returns 0, or -1 if the value is neither form or out of range.
 */
int listfile_expires_parse(const char *text, size_t len, time_t *when_r);

/*
 * listfile_expires_format - write a time as "YYYY-MM-DDTHH:MM:SSZ"
 *	buf: at least 32 bytes
 */
void listfile_expires_format(time_t when, char *buf, size_t size);

/*
 * listfile_utf8_valid - is the text well-formed UTF-8 (RFC 3629)?
 * Returns 1 or 0; overlong forms, surrogates and values over U+10FFFF
 * are not.
 */
int listfile_utf8_valid(const char *text, size_t len);

/*
 * listfile_read - a whole list file, NUL-ended (caller frees)
 *	path: the file; a regular file of at most max bytes
 *	len_r: its length
 *	why_r: on NULL, "PATH: why" (caller frees)
 * Returns the text, or NULL.
 */
char *listfile_read(const char *path, size_t max, size_t *len_r, char **why_r)
    __attribute__((warn_unused_result));

#endif
