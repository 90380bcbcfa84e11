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
#include <strings.h>
#include <time.h>

#include "lists/address.h"
#include "milter/log.h"
#include "milter/screen.h"

struct screen_slot {
	struct dnsbl_zone zone;	 /* the zone, borrowing the config */
	struct dnsbl_query *q;	 /* query in flight, or NULL */
	bool asked;		 /* asked in this message (or session) */
	bool done;		 /* res holds the answer */
	struct dnsbl_result res; /* the answer */
	bool dry_run;		 /* the zone only logs */
};

struct screen_listhit {
	bool hit;	   /* the list matched */
	unsigned field;	   /* in which field */
	const char *hname; /* header:NAME field: NAME (the config's) */
	struct list_hit h; /* the entry (borrowed from the snapshot) */
};

struct screen {
	const struct config *cfg;  /* lists and zones, borrowed */
	const struct listset *ls;  /* the lists' snapshots, borrowed */
	struct screen_listhit *lh; /* one per list, config order */
	struct dns_resolver *dns;  /* resolver, borrowed */
	struct screen_slot *slot;  /* one per zone, config order */
	size_t count;		   /* entries in slot */
};

/* screen_new - the zones of a configuration, nothing asked yet */
struct screen *
screen_new(const struct config *cfg, const struct listset *ls,
    struct dns_resolver *dns, int *oom)
{
	struct screen *sc;
	size_t i;

	*oom = 0;
	if (cfg->dnsbl_count == 0 && cfg->list_count == 0)
		return NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->slot = calloc(cfg->dnsbl_count + 1, sizeof(*sc->slot))) ==
		NULL ||
	    (sc->lh = calloc(cfg->list_count + 1, sizeof(*sc->lh))) == NULL) {
		if (sc != NULL)
			free(sc->slot);
		free(sc);
		*oom = 1;
		return NULL;
	}
	sc->cfg = cfg;
	sc->ls = ls;
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
	for (i = 0; i < sc->cfg->list_count; i++) {
		if (sc->lh[i].field != CONFIG_FIELD_CLIENT_IP)
			memset(&sc->lh[i], 0, sizeof(sc->lh[i]));
	}
}

/* screen_addr_spec - the addr-spec of a From value: <...> or the value */
static void
screen_addr_spec(const char *value, char *buf, size_t size)
{
	const char *lt = strrchr(value, '<'), *gt;
	size_t len;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		value = lt + 1;
		len = (size_t)(gt - value);
	} else {
		while (*value == ' ' || *value == '\t')
			value++;
		len = strcspn(value, " \t\r\n");
	}
	if (len >= size)
		len = size - 1;
	memcpy(buf, value, len);
	buf[len] = '\0';
}

/* screen_value - what a list of a kind looks up for a field's value */
const char *
screen_value(enum list_kind kind, unsigned field, const char *value, char *buf,
    size_t size)
{
	char domain[ADDRESS_DOMAIN_SIZE];
	const char *v = value;

	if (value == NULL || *value == '\0')
		return NULL;
	if (kind == LIST_KIND_PATTERN)
		return value;
	/* Header fields hold "Name <addr>": the addr-spec counts. */
	if (field == CONFIG_FIELD_FROM || field == CONFIG_FIELD_HEADER) {
		screen_addr_spec(value, buf, size);
		v = buf;
	}
	if (kind == LIST_KIND_DOMAIN &&
	    (field == CONFIG_FIELD_MAIL_FROM || field == CONFIG_FIELD_RCPT_TO ||
		field == CONFIG_FIELD_FROM ||
		(field == CONFIG_FIELD_HEADER && strchr(v, '@') != NULL))) {
		if (address_domain(v, domain, sizeof(domain)) != 1)
			return NULL;
		if (strlen(domain) >= size)
			return NULL;
		memcpy(buf, domain, strlen(domain) + 1);
		v = buf;
	}
	return v;
}

/* screen_match_list - match a field's value against list i */
static void
screen_match_list(struct screen *sc, size_t i, unsigned field,
    const char *hname, const char *value, const struct cidr_addr *addr)
{
	const struct config_list *l = &sc->cfg->lists[i];
	const struct list_snapshot *snap = sc->ls->snap[i];
	char spec[1024];
	const char *v;
	time_t now = time(NULL);
	int r;

	if (l->kind == LIST_KIND_IP) {
		if (addr == NULL)
			return;
		r = list_match_ip(snap, addr, now, &sc->lh[i].h);
	} else {
		if (value == NULL ||
		    (v = screen_value(
			 l->kind, field, value, spec, sizeof(spec))) == NULL)
			return;
		r = list_match(snap, v, now, &sc->lh[i].h);
	}
	if (r < 0)
		log_msg(LOG_WARNING,
		    "list %s: a pattern hit its match limit on %s%s%s; not "
		    "counted as a hit",
		    l->name, config_field_name(field), hname != NULL ? ":" : "",
		    hname != NULL ? hname : "");
	if (r == 1) {
		sc->lh[i].hit = true;
		sc->lh[i].field = field;
		sc->lh[i].hname = hname;
	}
}

/* screen_match - match one field against every list that looks at it */
void
screen_match(struct screen *sc, unsigned field, const char *value,
    const struct cidr_addr *addr)
{
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->cfg->list_count; i++) {
		if ((sc->cfg->lists[i].fields & field) == 0 || sc->lh[i].hit)
			continue;
		screen_match_list(sc, i, field, NULL, value, addr);
	}
}

/* screen_match_header - match a header field against the lists naming it */
void
screen_match_header(struct screen *sc, const char *name, const char *value)
{
	const struct config_list *l;
	size_t i, j;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->cfg->list_count; i++) {
		l = &sc->cfg->lists[i];
		if ((l->fields & CONFIG_FIELD_HEADER) == 0 || sc->lh[i].hit)
			continue;
		for (j = 0; j < l->header_count; j++) {
			if (strcasecmp(l->headers[j], name) == 0) {
				screen_match_list(sc, i, CONFIG_FIELD_HEADER,
				    l->headers[j], value, NULL);
				break;
			}
		}
	}
}

/* screen_field - "helo", ..., "header:NAME" of a hit */
static void
screen_field(const struct screen_listhit *h, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", config_field_name(h->field),
	    h->hname != NULL ? ":" : "", h->hname != NULL ? h->hname : "");
}

/* screen_list_header - the i-th X-Sakimori-List value of lists hit */
int
screen_list_header(const struct screen *sc, size_t i, char *buf, size_t size)
{
	const struct screen_listhit *h;
	char field[96];
	size_t k, seen = 0;

	if (sc == NULL)
		return 0;
	for (k = 0; k < sc->cfg->list_count; k++) {
		h = &sc->lh[k];
		if (!h->hit || seen++ != i)
			continue;
		screen_field(h, field, sizeof(field));
		snprintf(buf, size, "%s field=%s entry=%s%s%s%s",
		    sc->cfg->lists[k].name, field, h->h.entry,
		    h->h.reason[0] != '\0' ? " (" : "", h->h.reason,
		    h->h.reason[0] != '\0' ? ")" : "");
		/* Entries and reasons are the list maintainer's text. */
		for (char *p = buf; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				*p = '?';
		}
		return 1;
	}
	return 0;
}

/* screen_list_log - "name:field:entry,..." for lists hit, or "" */
void
screen_list_log(const struct screen *sc, char *buf, size_t size)
{
	char esc[300], field[96];
	size_t k, len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (k = 0; sc != NULL && k < sc->cfg->list_count && len + 1 < size;
	     k++) {
		if (!sc->lh[k].hit)
			continue;
		screen_field(&sc->lh[k], field, sizeof(field));
		snprintf(buf + len, size - len, "%s%s:%s:%s",
		    len > 0 ? "," : "", sc->cfg->lists[k].name, field,
		    log_escape(sc->lh[k].h.entry, esc, sizeof(esc)));
		len = strlen(buf);
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
	for (i = 0; i < sc->cfg->list_count && n < max; i++) {
		const struct config_list *l = &sc->cfg->lists[i];

		if (!sc->lh[i].hit)
			continue;
		out[n].check = CHECK_LIST;
		out[n].action = l->action;
		out[n].score_only = l->score_only;
		out[n].score = l->score;
		out[n].dry_run = all_dry_run || l->dry_run;
		out[n].source = l->name;
		out[n].detail = sc->lh[i].h.reason[0] != '\0'
		    ? sc->lh[i].h.reason
		    : sc->lh[i].h.entry;
		n++;
	}
	for (i = 0; i < sc->count && n < max; i++) {
		s = &sc->slot[i];
		if (!s->done || s->res.status != DNSBL_LISTED)
			continue;
		out[n].check = CHECK_DNSBL;
		out[n].action = s->res.action;
		out[n].score_only = false;
		out[n].score = s->res.score;
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
	free(sc->lh);
	free(sc);
	*scp = NULL;
}
