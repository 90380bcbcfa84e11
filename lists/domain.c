/*
 * NAME
 *	domain - host and domain name checks
 * DESCRIPTION
 *	See domain.h.
 */
#include <ctype.h>
#include <stddef.h>

#include "lists/domain.h"

/* domain_name_labels - validate a name and count its labels */
int
domain_name_labels(const char *name, size_t len)
{
	size_t i, label = 0;
	int labels = 0;

	if (name == NULL)
		return -1;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			labels++;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return -1;
		if (++label > 63)
			return -1;
	}
	return label == 0 ? -1 : labels + 1;
}
