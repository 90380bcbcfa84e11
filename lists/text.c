/*
 * NAME
 *	text - untrusted text made safe to show
 * DESCRIPTION
 *	See text.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>

#include "lists/text.h"

/* text_printable - copy src into dst as printable ASCII */
void
text_printable(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; src != NULL && *src != '\0' && o + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[o] = '\0';
}

/* text_error - set *error_r to a formatted text */
void
text_error(char **error_r, const char *fmt, ...)
{
	va_list ap;

	if (error_r == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		*error_r = NULL;
	va_end(ap);
}
