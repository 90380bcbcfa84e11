/*
 * NAME
 *	text - untrusted text made safe to show
 * SUMMARY
 *	Copy text as printable ASCII, other bytes as '?', cut to a size;
 *	format an error text for an error_r out-parameter.
 * DESCRIPTION
 *	For reasons, explanations and names that come from the network and
 *	end up in headers, replies or logs.
 * THREADS
 *	Pure; any thread.
 */
#ifndef SAKIMORI_LISTS_TEXT_H
#define SAKIMORI_LISTS_TEXT_H

#include <stddef.h>

/*
 * text_printable - copy src into dst as printable ASCII
 *	dst: output, always NUL-terminated when size > 0
 *	size: bytes in dst
 *	src: NUL-terminated input, or NULL (copied as "")
 * Bytes outside 0x20..0x7e become '?'; the copy stops at size - 1 bytes.
 */
void text_printable(char *dst, size_t size, const char *src);

/*
 * text_error - set *error_r to a formatted text (the caller frees it)
 *	error_r: where, or NULL for nothing; *error_r is NULL when out of
 *	    memory
 */
void text_error(char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
