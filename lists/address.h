/*
 * NAME
 *	address - mail addresses: the domains of a From header field, the
 *	domain of an envelope address
 * SUMMARY
 *	Parse an RFC 5322 mailbox-list (3.4) as it appears in From: display
 *	names, quoted strings, comments, angle addresses, groups (RFC 6854)
 *	and the cheap obsolete forms (4.4: routes, empty list elements,
 *	CFWS around dots and '@'); return the distinct domains of its
 *	addresses, lower case, without a trailing dot.
 * DESCRIPTION
 *	For DMARC (RFC 7489 6.6.1): the caller learns whether the field
 *	names zero, one or several From domains. Folding whitespace (CR,
 *	LF, tab, space) is skipped; bytes 0x80 and up are taken as UTF-8
 *	text (RFC 6532) in names, local parts and quoted strings. Work is
 *	bounded: a value over ADDRESS_MAX_VALUE bytes, more than
 *	ADDRESS_MAX_MAILBOXES mailboxes or comments nested deeper than
 *	ADDRESS_MAX_NESTING are refused without reading further.
 * THREADS
 *	Pure; any thread.
 * ERRORS
 *	Syntax errors come back as text in why ("unbalanced '<'",
 *	"no '@' in address", ...).
 */
#ifndef SAKIMORI_LISTS_ADDRESS_H
#define SAKIMORI_LISTS_ADDRESS_H

#include <stddef.h>

#define ADDRESS_MAX_VALUE 8192	 /* bytes in a From field value */
#define ADDRESS_MAX_MAILBOXES 64 /* mailboxes in one field */
#define ADDRESS_MAX_NESTING 16	 /* nested comments */
#define ADDRESS_DOMAIN_SIZE 256	 /* buffer for one domain + NUL */
#define ADDRESS_MAX_PATH 1024	 /* bytes in an envelope address */

/*
 * address_from_domains - the distinct domains of a From field value
 *	value: the field body after "From:", unfolded or not (NUL-ended)
 *	domains: filled with up to max distinct domains, in order of first
 *	    appearance, lower case, no trailing dot; each a host name
 *	    (letters, digits, '-', '_'; labels 1..63, at most 253 octets)
 *	max: entries in domains
 *	count_r: set to the number of distinct domains (0 for an empty
 *	    value or only empty groups such as "undisclosed:;")
 *	why: on -1, what is wrong (may be NULL)
 *	why_size: bytes in why
 * Returns 0 when the value parsed (count may be 0), or -1 on a syntax
 * error, a domain that is not a host name (address literals and
 * non-ASCII domains included), more than max distinct domains, or a
 * value over the bounds above; *count_r is then 0.
 */
int address_from_domains(const char *value, char domains[][256], size_t max,
    size_t *count_r, char *why, size_t why_size)
    __attribute__((warn_unused_result));

/*
 * address_domain - the domain of an envelope address (RFC 5321 MAIL FROM)
 *	addr: "local@domain", with or without angle brackets, possibly with
 *	    a source route ("<@relay:local@domain>"); "" or "<>" is the null
 *	    sender
 *	domain: buffer for the domain, lower case, no trailing dot
 *	size: its size (ADDRESS_DOMAIN_SIZE is always enough)
 * Returns 1 with the domain in domain, 0 when there is none (null
 * sender, no '@'), or -1 when the domain is empty, not a host name
 * (address literals included) or does not fit, or addr is over
 * ADDRESS_MAX_PATH bytes.
 */
int address_domain(const char *addr, char *domain, size_t size);

#endif
