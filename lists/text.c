/*
 * NAME
 *	text - untrusted text made safe to show
 * DESCRIPTION
 *	See text.h.
 */
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
