/*
 * NAME
 *	reply - the one way an SMTP reply reaches the MTA
 * SUMMARY
 *	Validate code, enhanced code and text, then smfi_setreply().
 * DESCRIPTION
 *	libmilter refuses (or the MTA mangles) replies with CR/LF, codes
 *	that are not 4xx/5xx and over-long text; '%' is expanded by
 *	Sendmail. reply_check() refuses the first three and
 *	reply_set() turns '%' into "%%" and unsafe bytes into '?'.
 * THREADS
 *	Any thread; works on one session's context.
 */
#ifndef SAKIMORI_MILTER_REPLY_H
#define SAKIMORI_MILTER_REPLY_H

#include <stddef.h>

#include <libmilter/mfapi.h>

/*
 * reply_check - is this a reply we may send?
 *	rcode: "451", "550": three digits, 4xx or 5xx
 *	xcode: "4.7.1": class matching rcode's first digit (RFC 3463)
 *	text: at most 900 bytes, no CR or LF
 * Returns 0 valid, -1 not.
 */
int reply_check(const char *rcode, const char *xcode, const char *text);

/*
 * reply_clean - copy text for a reply: '%' doubled, bytes outside
 * printable ASCII as '?', cut to fit
 *	out: at least 2 bytes
 */
void reply_clean(const char *text, char *out, size_t size);

/*
 * reply_set - validate, clean and set the reply for the current stage
 * Returns 0, -1 when refused or libmilter failed (the MTA then uses its
 * default text for our SMFIS_REJECT / SMFIS_TEMPFAIL).
 */
int reply_set(
    SMFICTX *ctx, const char *rcode, const char *xcode, const char *text);

#endif
