/*
 * NAME
 *	domain - host and domain names as mail checks accept them
 * SUMMARY
 *	Check that text is a host name we may look up: labels of letters,
 *	digits, '-' and '_' (RFC 1123 2.1, with '_' for service labels),
 *	1 to 63 octets each, at most 253 octets in all, one trailing dot
 *	allowed.
 * THREADS
 *	Pure; any thread.
 */
#ifndef SAKIMORI_LISTS_DOMAIN_H
#define SAKIMORI_LISTS_DOMAIN_H

#include <stddef.h>

/*
 * domain_name_labels - validate a name and count its labels
 *	name: the bytes (need not be NUL-terminated)
 *	len: their number
 * Returns the number of labels (1 or more), or -1 if the name is not a
 * usable host name (empty, empty label, label over 63 or name over 253
 * octets, any other byte, NUL included).
 */
int domain_name_labels(const char *name, size_t len);

#endif
