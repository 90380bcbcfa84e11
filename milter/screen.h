/*
 * NAME
 *	screen - the DNSBL/RHSBL zones and local lists of one SMTP session
 * SUMMARY
 *	Starts each configured zone's query as soon as its subject is known
 *	(the client address at connect, HELO and MAIL FROM at MAIL, the
 *	From domain and the iprev name at end of message), collects the
 *	answers when the verdict needs them, and turns listings into
 *	verdict listings, header fields and log text.
 * DESCRIPTION
 *	Local lists (list "NAME" sections, compiled at load) are matched
 *	as each field arrives (screen_match); a list reports its first hit.
 *	Zones come from the configuration (dnsbl "ZONE" sections) in file
 *	order. A zone whose answer is a listing acts with the action of
 *	the matching code row; refused codes and DNS trouble never act
 *	(RFC 5782: a list that cannot be asked lists nobody) and are
 *	logged. Client-address results are kept for every message of the
 *	session; the others are cleared by screen_new_message().
 * THREADS
 *	One screen belongs to one session.
 * OWNERSHIP
 *	The screen borrows the configuration and the resolver: the session's
 *	runtime must outlive it (screen_free before runtime_release).
 */
#ifndef SAKIMORI_MILTER_SCREEN_H
#define SAKIMORI_MILTER_SCREEN_H

#include <stddef.h>
#include <time.h>

#include "milter/dns.h"
#include "lists/cidr.h"
#include "milter/dnsbl.h"
#include "milter/listreg.h"
#include "policy/config.h"
#include "policy/verdict.h"

struct screen;

/*
 * screen_new - the zones of a configuration, nothing asked yet
 * Returns the screen, NULL when the configuration has no zones, or NULL
 * with *oom set when out of memory.
 */
struct screen *screen_new(const struct config *cfg, const struct listset *ls,
    struct dns_resolver *dns, int *oom);

/*
 * screen_start - ask every zone of a subject about a value
 *	subject: which zones
 *	value: the client address as text, or a domain; NULL or "" asks
 *	    nothing
 * Zones already asked for this subject (in this message) are not asked
 * again.
 */
void screen_start(
    struct screen *sc, enum dnsbl_subject subject, const char *value);

/*
 * screen_finish - wait for the answers of every zone asked so far
 *	deadline: the message's DNS budget (each zone also has its own
 *	    timeout)
 */
void screen_finish(struct screen *sc, const struct timespec *deadline);

/*
 * screen_match - match one field against every local list that looks at
 * it (first hit per list kept)
 *	field: one enum config_list_field bit
 *	value: the field as received: the HELO name, the MAIL FROM or
 *	    RCPT TO address, the From or Subject header value, the iprev
 *	    name
 *	addr: the client address, for CONFIG_FIELD_CLIENT_IP
 */
void screen_match(struct screen *sc, unsigned field, const char *value,
    const struct cidr_addr *addr);

/*
 * screen_value - the value a list of this kind looks up for a field:
 * the addr-spec of a From or other header field ("Name <a@b>"), the
 * domain of an address for domain lists, the value itself otherwise
 *	buf, size: room for the result (1024 bytes suffice)
 * Returns the value to look up (value itself or buf), or NULL when there
 * is nothing to look up (empty, or no domain in the address).
 */
const char *screen_value(enum list_kind kind, unsigned field, const char *value,
    char *buf, size_t size);

/*
 * screen_match_header - match a header field against every list that
 * names it (fields = {"header:NAME"}; names compared case-insensitively)
 *	name, value: the header field as received
 */
void screen_match_header(
    struct screen *sc, const char *name, const char *value);

/*
 * screen_list_header - the i-th X-Sakimori-List value of lists hit:
 * "NAME field=FIELD entry=ENTRY (reason)"
 * Returns 1 with the value in buf, 0 when there is no i-th hit.
 */
int screen_list_header(
    const struct screen *sc, size_t i, char *buf, size_t size);

/* screen_new_message - forget every result but the client address's */
void screen_new_message(struct screen *sc);

/*
 * screen_listings - the listings found, for the verdict
 *	all_dry_run: every rule is dry-run (dry_run = all)
 *	out, max: where to put them
 * Returns how many were put.
 */
size_t screen_listings(const struct screen *sc, bool all_dry_run,
    struct verdict_listing *out, size_t max);

/*
 * screen_header - the i-th X-Sakimori-DNSBL value of listed zones:
 * "ZONE code=127.0.0.2 (meaning)"
 *	i: from 0 on
 * Returns 1 with the value in buf, 0 when there is no i-th listing.
 */
int screen_header(const struct screen *sc, size_t i, char *buf, size_t size);

/*
 * screen_log - "zone:status:codes,..." for zones whose answer is not a
 * plain "not listed" (buf "" when there are none)
 */
void screen_log(const struct screen *sc, char *buf, size_t size);

/* screen_list_log - "name:field:entry,..." for lists hit, or "" */
void screen_list_log(const struct screen *sc, char *buf, size_t size);

/* screen_free - cancel queries, free (NULL is fine), set *sc to NULL */
void screen_free(struct screen **sc);

#endif
