/*
 * NAME
 *	screen - DNSBL and RHSBL zones of one session
 * DESCRIPTION
 *	See screen.h. One slot per configured zone holds its query and its
 *	result; zones are asked in parallel (the DNS layer's workers) and
 *	waited for together.
 * THREADS
 *	Single session.
 * ERRORS
 *	Out of memory while starting a query: that zone is not asked and
 *	reports temperror ("out of memory"), which never acts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/screen.h"

struct screen_slot {
	struct dnsbl_zone zone;	 /* the zone, borrowing the config */
	struct dnsbl_query *q;	 /* query in flight, or NULL */
	bool asked;		 /* asked in this message (or session) */
	bool done;		 /* res holds the answer */
	struct dnsbl_result res; /* the answer */
	bool dry_run;		 /* the zone only logs */
};

struct screen {
	struct dns_resolver *dns; /* resolver, borrowed */
	struct screen_slot *slot; /* one per zone, config order */
	size_t count;		  /* entries in slot */
};

/* screen_new - the zones of a configuration, nothing asked yet */
struct screen *
screen_new(const struct config *cfg, struct dns_resolver *dns, int *oom)
{
	struct screen *sc;
	size_t i;

	*oom = 0;
	if (cfg->dnsbl_count == 0)
		return NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->slot = calloc(cfg->dnsbl_count, sizeof(*sc->slot))) == NULL) {
		free(sc);
		*oom = 1;
		return NULL;
	}
	sc->dns = dns;
	sc->count = cfg->dnsbl_count;
	for (i = 0; i < sc->count; i++) {
		const struct config_dnsbl *z = &cfg->dnsbl[i];

		sc->slot[i].zone.zone = z->zone;
		sc->slot[i].zone.subject = z->subject;
		sc->slot[i].zone.map = z->map;
		sc->slot[i].zone.timeout_ms = z->timeout_ms;
		sc->slot[i].zone.want_txt = z->txt;
		sc->slot[i].dry_run = z->dry_run;
	}
	return sc;
}

/* screen_start - ask every zone of a subject about a value */
void
screen_start(struct screen *sc, enum dnsbl_subject subject, const char *value)
{
	struct screen_slot *s;
	size_t i;

	if (sc == NULL || value == NULL || *value == '\0')
		return;
	for (i = 0; i < sc->count; i++) {
		s = &sc->slot[i];
		if (s->zone.subject != subject || s->asked)
			continue;
		s->asked = true;
		if ((s->q = dnsbl_start(sc->dns, &s->zone, value)) == NULL) {
			memset(&s->res, 0, sizeof(s->res));
			s->res.status = DNSBL_TEMPERROR;
			snprintf(s->res.reason, sizeof(s->res.reason),
			    "out of memory");
			s->done = true;
		}
	}
}

/* screen_finish - wait for the answers of every zone asked so far */
void
screen_finish(struct screen *sc, const struct timespec *deadline)
{
	struct screen_slot *s;
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->count; i++) {
		s = &sc->slot[i];
		if (s->q == NULL || s->done)
			continue;
		if (dnsbl_finish(s->q, deadline, &s->res) != 0) {
			s->res.status = DNSBL_TEMPERROR;
			snprintf(s->res.reason, sizeof(s->res.reason),
			    "out of memory");
		}
		s->done = true;
		/* dnsbl.c has logged refused and non-127 answers. */
		dnsbl_free(&s->q);
	}
}

/* screen_new_message - forget every result but the client address's */
void
screen_new_message(struct screen *sc)
{
	struct screen_slot *s;
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->count; i++) {
		s = &sc->slot[i];
		if (s->zone.subject == DNSBL_CLIENT_IP)
			continue;
		dnsbl_free(&s->q);
		s->asked = s->done = false;
		memset(&s->res, 0, sizeof(s->res));
	}
}

/* screen_listings - the listings found, for the verdict */
size_t
screen_listings(const struct screen *sc, bool all_dry_run,
    struct verdict_listing *out, size_t max)
{
	const struct screen_slot *s;
	size_t i, n = 0;

	if (sc == NULL)
		return 0;
	for (i = 0; i < sc->count && n < max; i++) {
		s = &sc->slot[i];
		if (!s->done || s->res.status != DNSBL_LISTED)
			continue;
		out[n].action = s->res.action;
		out[n].dry_run = all_dry_run || s->dry_run;
		out[n].source = s->zone.zone;
		out[n].detail =
		    s->res.meaning[0] != '\0' ? s->res.meaning : NULL;
		n++;
	}
	return n;
}

/* screen_header - the i-th X-Sakimori-DNSBL value of listed zones */
int
screen_header(const struct screen *sc, size_t i, char *buf, size_t size)
{
	const struct screen_slot *s;
	size_t k, seen = 0;

	if (sc == NULL)
		return 0;
	for (k = 0; k < sc->count; k++) {
		s = &sc->slot[k];
		if (!s->done || s->res.status != DNSBL_LISTED)
			continue;
		if (seen++ != i)
			continue;
		snprintf(buf, size, "%s code=%s%s%s%s", s->zone.zone,
		    s->res.codes[0] != '\0' ? s->res.codes : s->res.code,
		    s->res.meaning[0] != '\0' ? " (" : "", s->res.meaning,
		    s->res.meaning[0] != '\0' ? ")" : "");
		return 1;
	}
	return 0;
}

/* screen_log - "zone:status:codes,..." for answers worth a look */
void
screen_log(const struct screen *sc, char *buf, size_t size)
{
	const struct screen_slot *s;
	size_t i, len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; sc != NULL && i < sc->count && len + 1 < size; i++) {
		s = &sc->slot[i];
		if (!s->done || s->res.status == DNSBL_NOT_LISTED)
			continue;
		snprintf(buf + len, size - len, "%s%s:%s%s%s",
		    len > 0 ? "," : "", s->zone.zone,
		    dnsbl_status_name(s->res.status),
		    s->res.code[0] != '\0' ? ":" : "", s->res.code);
		len = strlen(buf);
	}
}

/* screen_free - cancel queries, free (NULL is fine), set *sc to NULL */
void
screen_free(struct screen **scp)
{
	struct screen *sc = *scp;
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->count; i++)
		dnsbl_free(&sc->slot[i].q);
	free(sc->slot);
	free(sc);
	*scp = NULL;
}
