/*
 * NAME
 *	reply - validated SMTP replies through smfi_setreply
 * DESCRIPTION
 *	See reply.h. RFC 5321 4.5.3.1.5: a reply line is at most 512
 *	octets; libmilter allows longer multi-line replies, we keep one
 *	line well under the limit.
 */
#include <ctype.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "milter/reply.h"

#define REPLY_TEXT_MAX 400 /* bytes of text after cleaning */

/* reply_check - is this a reply we may send? */
int
reply_check(const char *rcode, const char *xcode, const char *text)
{
	const char *p;
	int parts = 0, digits = 0;

	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') ||
	    !isdigit((unsigned char)rcode[1]) ||
	    !isdigit((unsigned char)rcode[2]))
		return -1;
	/* RFC 3463 2: class "." subject "." detail, class equals rcode's. */
	if (xcode == NULL || xcode[0] != rcode[0] || xcode[1] != '.')
		return -1;
	for (p = xcode + 2; *p != '\0'; p++) {
		if (*p == '.') {
			if (digits == 0 || digits > 3)
				return -1;
			parts++;
			digits = 0;
		} else if (isdigit((unsigned char)*p)) {
			digits++;
		} else {
			return -1;
		}
	}
	if (parts != 1 || digits == 0 || digits > 3)
		return -1;
	if (text == NULL || strlen(text) > 900 || strpbrk(text, "\r\n") != NULL)
		return -1;
	return 0;
}

/* reply_clean - copy text for a reply */
void
reply_clean(const char *text, char *out, size_t size)
{
	size_t o = 0;
	const unsigned char *p;

	if (size > REPLY_TEXT_MAX + 1)
		size = REPLY_TEXT_MAX + 1;
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '%') {
			if (o + 3 > size)
				break;
			out[o++] = '%';
			out[o++] = '%';
			continue;
		}
		if (o + 2 > size)
			break;
		out[o++] = (*p < 0x20 || *p >= 0x7f) ? '?' : (char)*p;
	}
	out[o] = '\0';
}

/* reply_set - validate, clean and set the reply */
int
reply_set(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text)
{
	char clean[REPLY_TEXT_MAX + 1];

	reply_clean(text, clean, sizeof(clean));
	if (reply_check(rcode, xcode, clean) != 0)
		return -1;
	if (smfi_setreply(ctx, (char *)rcode, (char *)xcode, clean) !=
	    MI_SUCCESS)
		return -1;
	return 0;
}
