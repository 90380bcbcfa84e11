/*
 * NAME
 *	authres - the Authentication-Results header (RFC 8601)
 * SUMMARY
 *	Build our header value; read the authserv-id of a header we
 *	received, to find forgeries that claim to be ours.
 * DESCRIPTION
 *	Our header: "authserv-id; method=result (comment) ptype.prop=value"
 *	entries separated by ";" and folded with "\n\t" (libmilter's
 *	convention for continuation lines). Property values are written as
 *	RFC 8601 pvalue: a bare addr-spec or domain when the text allows,
 *	else a quoted-string; comments carry no parentheses, backslashes or
 *	control bytes; non-ASCII bytes become '?'.
 * THREADS
 *	Pure functions; any thread.
 */
#ifndef SAKIMORI_MILTER_AUTHRES_H
#define SAKIMORI_MILTER_AUTHRES_H

#include <stddef.h>

#include "policy/result.h"

struct authres_buf {
	char *data;   /* NUL-terminated text, caller's storage */
	size_t size;  /* bytes in data */
	size_t len;   /* bytes used */
	int overflow; /* nonzero when something did not fit */
};

/*
 * authres_begin - start a header value with the authserv-id
 *	b: the buffer (data and size set by the caller)
 *	authserv_id: ours (validated by the config)
 */
void authres_begin(struct authres_buf *b, const char *authserv_id);

/*
 * authres_add - append one "method=result" entry
 *	b: the buffer
 *	method: "spf", "iprev", "dkim", "dmarc"
 *	result: the result
 *	comment: reason text or NULL (sanitized here)
 *	ptype_prop: "smtp.mailfrom", "smtp.helo", "policy.iprev",
 *	    "header.d", ...; NULL for no property
 *	value: its value (sanitized and quoted here) or NULL for none
 *	comment2: a comment after the value or NULL (iprev: the host name)
 * More properties of the same entry follow with authres_prop().
 */
void authres_add(struct authres_buf *b, const char *method,
    enum result_code result, const char *comment, const char *ptype_prop,
    const char *value, const char *comment2);

/*
 * authres_prop - append " ptype.prop=value" to the current entry
 *	value: sanitized and quoted here; NULL or "" appends nothing
 */
void authres_prop(
    struct authres_buf *b, const char *ptype_prop, const char *value);

/*
 * authres_none - the value for "no method ran": "authserv-id; none"
 */
void authres_none(struct authres_buf *b);

/*
 * authres_authserv_id - the authserv-id of a received header value
 *	value: the header value as received (may be folded, may have
 *	    comments, may be hostile)
 *	buf: where to put it; a quoted-string id is unfolded (CRLF
 *	    removed) and unquoted, and holds no control byte but tab
 *	size: bytes in buf
 * Returns 1 found, 0 no authserv-id could be read (none, unbalanced, too
 * long, or control bytes in a quoted id).
 */
int authres_authserv_id(const char *value, char *buf, size_t size);

#endif
