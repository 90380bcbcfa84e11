/*
 * NAME
 *	filter - libmilter callbacks and one session's state
 * SUMMARY
 *	connect: trusted? start iprev. helo: note the name. mail: SPF for
 *	MAIL FROM and HELO. rcpt: decide, refuse early when the policy
 *	says so. header: note forged Authentication-Results. eom: delete
 *	forgeries, insert ours, tag, log the summary.
 * DESCRIPTION
 *	Negotiation (DESIGN.md, "The milter protocol"): no body, no
 *	unknown commands, no DATA, no EOH; no reply for headers. Envelope
 *	stages keep their replies (Nagle and delayed ACKs on TCP).
 *	Forged headers are deleted from the last to the first (indices of
 *	the remaining ones do not shift that way) and ours is inserted at
 *	index 0, above every other header.
 * THREADS
 *	See filter.h. filter_stats counters are atomic.
 * OWNERSHIP
 *	struct session is created in negotiate (or connect, for MTAs that
 *	do not negotiate) and freed in close, which accepts a NULL priv.
 * ERRORS
 *	Out of memory or a libmilter failure in a session: a warning and
 *	SMFIS_TEMPFAIL. Bad input from the MTA (odd HELO, MAIL FROM with
 *	control bytes, an address that is not an address): a warning with
 *	the escaped value and a safe result (none/permerror).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "lists/cidr.h"
#include "lists/address.h"
#include "milter/authres.h"
#include "milter/content.h"
#include "milter/filter.h"
#include "milter/iprev.h"
#include "milter/limits.h"
#include "milter/log.h"
#include "milter/reply.h"
#include "milter/runtime.h"
#include "milter/screen.h"
#include "milter/spf.h"
#include "policy/verdict.h"

#define FILTER_MAX_FORGED 64	/* forged A-R headers we can delete */
#define FILTER_MAX_HEADER 16384 /* longer A-R values are not parsed */
#define FILTER_AR_SIZE 8192	/* our A-R header value */

struct message {
	bool active;		     /* between MAIL and EOM/ABORT */
	bool outbound;		     /* authenticated submitter */
	bool from_null;		     /* MAIL FROM:<> */
	bool from_bad;		     /* MAIL FROM unusable (bytes, length) */
	bool decided;		     /* verdict made (first RCPT) */
	bool logged;		     /* summary line written */
	bool refused;		     /* tempfail/reject given at RCPT */
	char auth[128];		     /* {auth_authen}, escaped */
	char from[512];		     /* MAIL FROM without brackets */
	char qid[32];		     /* queue id, when the MTA tells */
	struct spf_outcome spf_from; /* MAIL FROM identity */
	struct spf_outcome spf_helo; /* HELO identity */
	bool spf_from_done;	     /* spf_from holds a result */
	bool spf_helo_done;	     /* spf_helo holds a result */
	struct verdict v;	     /* the decision */
	struct timespec deadline;    /* DNS budget of this message */
	unsigned rcpts;		     /* RCPT commands seen */
	unsigned ar_seen;	     /* Authentication-Results headers seen */
	unsigned forged[FILTER_MAX_FORGED]; /* their indices, ours */
	unsigned forged_count;		    /* entries in forged */
	unsigned forged_lost;	  /* forgeries past FILTER_MAX_FORGED */
	struct content *content;  /* DKIM, DMARC, signing; or NULL */
	struct content_result cr; /* what content found at EOM */
	bool cr_done;		  /* cr holds results */
	bool limited;		  /* counted against sending caps */
	char limit_account[RATELIMIT_ACCOUNT_MAX + 1]; /* as counted */
	bool limit_msg_charged;	       /* the message is charged */
	unsigned limit_rcpts;	       /* recipients charged */
	unsigned limit_refused;	       /* recipients refused by a cap */
	struct limits_charge *charges; /* reservations, for refunds */
	size_t ncharges;	       /* entries in charges */
	size_t charges_size;	       /* room in charges */
	bool delivered;		       /* accepted at end of message */
};

struct session {
	struct runtime *rt;	   /* config + resolver of this session */
	char sid[24];		   /* session id for logs before a queue id */
	bool nr_hdr;		   /* negotiated: no reply to headers */
	bool nr_body;		   /* negotiated: no reply to body chunks */
	bool quarantine;	   /* the MTA lets us quarantine */
	bool connected;		   /* connect callback ran */
	bool have_addr;		   /* addr is the client's IP address */
	struct cidr_addr addr;	   /* client address */
	char ip[INET6_ADDRSTRLEN]; /* client address as text */
	char host[256];		   /* client name the MTA reports, escaped */
	char helo[256];		   /* HELO name as given (checked) */
	bool helo_bad;		   /* HELO unusable */
	bool trusted;		   /* in trusted_networks */
	struct iprev_query *iprev; /* PTR lookup in flight */
	struct screen *screen;	   /* DNSBL/RHSBL zones, or NULL */
	struct iprev_outcome iprev_out; /* its outcome */
	bool iprev_done;		/* iprev_out holds a result */
	struct message m;		/* the current message */
	unsigned limit_session_rcpts;	/* recipients charged, session */
};

static atomic_ulong filter_sessions, filter_messages, filter_accepted,
    filter_tagged, filter_quarantined, filter_tempfailed, filter_rejected,
    filter_errors;
static atomic_ulong filter_next_sid;
static struct dkimverify_lib *filter_dkim; /* set once at start */

/* filter_get_stats - counters for `sakimori-ctl stats` */
void
filter_get_stats(struct filter_stats *st)
{
	st->sessions = atomic_load(&filter_sessions);
	st->messages = atomic_load(&filter_messages);
	st->accepted = atomic_load(&filter_accepted);
	st->tagged = atomic_load(&filter_tagged);
	st->quarantined = atomic_load(&filter_quarantined);
	st->tempfailed = atomic_load(&filter_tempfailed);
	st->rejected = atomic_load(&filter_rejected);
	st->errors = atomic_load(&filter_errors);
}

/* session_get - our state for a context, made on first use */
static struct session *
session_get(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	snprintf(s->sid, sizeof(s->sid), "S%lx",
	    atomic_fetch_add(&filter_next_sid, 1) + 1);
	if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
		free(s);
		return NULL;
	}
	/* Negotiation already depends on the configuration. */
	s->rt = runtime_acquire();
	return s;
}

/* session_id - the id for log lines: queue id if known, else session */
static const char *
session_id(const struct session *s)
{
	return s->m.qid[0] != '\0' ? s->m.qid : s->sid;
}

/* session_fail - an internal error: count, log, tempfail */
static sfsistat
session_fail(struct session *s, const char *stage, const char *why)
{
	atomic_fetch_add(&filter_errors, 1);
	atomic_fetch_add(&filter_tempfailed, 1);
	log_msg(LOG_WARNING, "%s: %s: internal error: %s; tempfail",
	    s != NULL ? session_id(s) : "-", stage, why);
	return SMFIS_TEMPFAIL;
}

/*
 * message_reset - forget the current message (MAIL, EOM, ABORT, CLOSE);
 * a message not delivered gets its sending-cap charges back
 */
static void
message_reset(struct session *s)
{
	size_t i;

	if (!s->m.delivered && s->m.ncharges > 0) {
		for (i = 0; i < s->m.ncharges; i++)
			limits_refund(s->m.limit_account, &s->m.charges[i]);
		log_msg(LOG_INFO,
		    "%s: limit: %u recipients given back (message not "
		    "delivered)",
		    session_id(s), s->m.limit_rcpts);
	}
	if (!s->m.delivered)
		s->limit_session_rcpts -=
		    s->m.limit_rcpts <= s->limit_session_rcpts
		    ? s->m.limit_rcpts
		    : s->limit_session_rcpts;
	free(s->m.charges);
	content_free(&s->m.content);
	free(s->m.cr.signature);
	memset(&s->m, 0, sizeof(s->m));
}

/* note_qid - remember the queue id if the MTA sent it */
static void
note_qid(SMFICTX *ctx, struct session *s)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid != NULL && *qid != '\0')
		log_escape(qid, s->m.qid, sizeof(s->m.qid));
}

/* text_ok - printable ASCII, at most max bytes */
static bool
text_ok(const char *t, size_t max)
{
	size_t n = 0;

	for (; *t != '\0'; t++, n++) {
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f ||
		    n >= max)
			return false;
	}
	return true;
}

/* filter_negotiate - ask for what we use, and no more */
static sfsistat
filter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	unsigned long skip = SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH |
	    SMFIP_NR_HDR | SMFIP_NR_BODY;
	struct session *s;

	(void)f2;
	(void)f3;
	if ((s = session_get(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	if ((f0 & need) != need) {
		log_msg(LOG_ERR,
		    "%s: the MTA does not let a filter add and change "
		    "headers (actions 0x%lx); giving up this connection",
		    s->sid, f0);
		return SMFIS_REJECT;
	}
	/* The body only matters to DKIM, verifying or signing. */
	if (s->rt != NULL && !s->rt->cfg->dkim_verify &&
	    s->rt->cfg->keytable == NULL)
		skip |= SMFIP_NOBODY;
	*pf0 = need | (f0 & (SMFIF_SETSYMLIST | SMFIF_QUARANTINE));
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	s->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	s->nr_body = (*pf1 & SMFIP_NR_BODY) != 0;
	s->quarantine = (*pf0 & SMFIF_QUARANTINE) != 0;
	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		/* Postfix has no queue id at MAIL until a RCPT is valid. */
		if (smfi_setsymlist(ctx, SMFIM_ENVFROM,
			"i {auth_authen} {auth_type}") != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i") != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
			log_msg(
			    LOG_WARNING, "%s: smfi_setsymlist failed", s->sid);
	}
	return SMFIS_CONTINUE;
}

/* addr_from_sockaddr - the client address, if it is an IP address */
static bool
addr_from_sockaddr(const struct sockaddr *sa, struct session *s)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, s->ip, sizeof(s->ip));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, s->ip, sizeof(s->ip));
	} else {
		return false;
	}
	/* Stores IPv4-mapped IPv6 as IPv4, so SPF and iprev see IPv4. */
	if (cidr_addr_parse(s->ip, &s->addr) != 0)
		return false;
	if (s->addr.family == AF_INET)
		inet_ntop(AF_INET, s->addr.bytes, s->ip, sizeof(s->ip));
	return true;
}

/* filter_connect - new session: trusted? start the PTR lookup */
static sfsistat
filter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct session *s;

	if ((s = session_get(ctx)) == NULL)
		return session_fail(NULL, "connect", "out of memory");
	atomic_fetch_add(&filter_sessions, 1);
	s->connected = true;
	if (s->rt == NULL && (s->rt = runtime_acquire()) == NULL)
		return session_fail(s, "connect", "no configuration");
	log_escape(hostname, s->host, sizeof(s->host));
	s->have_addr = addr_from_sockaddr(hostaddr, s);
	if (!s->have_addr) {
		/*
		 * No IP address: a local submission (Sendmail gives none,
		 * Postfix gives AF_UNIX for non-SMTP paths). Nothing to
		 * check against; treated as trusted.
		 */
		s->trusted = true;
		snprintf(s->ip, sizeof(s->ip), "local");
	} else if (cidr_set_match(s->rt->cfg->trusted, &s->addr) == 1) {
		s->trusted = true;
	} else {
		int oom;

		if ((s->iprev = iprev_start(s->rt->dns, &s->addr)) == NULL)
			return session_fail(s, "connect", "out of memory");
		s->screen =
		    screen_new(s->rt->cfg, s->rt->lists, s->rt->dns, &oom);
		if (oom)
			return session_fail(s, "connect", "out of memory");
		/* RFC 5782 2.1: the client address, asked at once. */
		screen_start(s->screen, DNSBL_CLIENT_IP, s->ip);
		screen_match(
		    s->screen, CONFIG_FIELD_CLIENT_IP, s->ip, &s->addr);
	}
	log_msg(LOG_INFO, "%s: connect client=%s host=%s%s", s->sid, s->ip,
	    s->host, s->trusted ? " trusted=yes" : "");
	return SMFIS_CONTINUE;
}

/* filter_helo - note the HELO name; judged when it is used */
static sfsistat
filter_helo(SMFICTX *ctx, char *helohost)
{
	struct session *s = smfi_getpriv(ctx);
	char esc[300];

	if (s == NULL || !s->connected)
		return session_fail(s, "helo", "no session");
	s->helo_bad =
	    helohost == NULL || *helohost == '\0' || !text_ok(helohost, 253);
	if (s->helo_bad) {
		log_msg(LOG_WARNING, "%s: unusable HELO name \"%s\"", s->sid,
		    log_escape(helohost, esc, sizeof(esc)));
		s->helo[0] = '\0';
	} else {
		snprintf(s->helo, sizeof(s->helo), "%s", helohost);
	}
	return SMFIS_CONTINUE;
}

/* strip_brackets - MAIL FROM argument without <>; false if unusable */
static bool
strip_brackets(const char *arg, char *out, size_t size)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len >= size)
		return false;
	memcpy(out, arg, len);
	out[len] = '\0';
	/* RFC 5321 4.5.3.1: local-part 64, domain 255, path 256 octets. */
	return len <= 256 && text_ok(out, 256);
}

/* run_spf - MAIL FROM and HELO identities for an inbound message */
static void
run_spf(struct session *s)
{
	const struct config *cfg = s->rt->cfg;
	struct message *m = &s->m;

	if (cfg->spf_helo || m->from_null) {
		if (s->helo_bad || s->helo[0] == '\0') {
			m->spf_helo.result = RESULT_NONE;
			snprintf(m->spf_helo.reason, sizeof(m->spf_helo.reason),
			    "no usable HELO name");
		} else {
			spf_check(s->rt->dns, &m->deadline, s->ip, s->helo,
			    NULL, cfg->authserv_id, &m->spf_helo);
		}
		m->spf_helo_done = true;
	}
	if (m->from_null)
		return;
	if (m->from_bad) {
		m->spf_from.result = RESULT_PERMERROR;
		snprintf(m->spf_from.reason, sizeof(m->spf_from.reason),
		    "unusable MAIL FROM");
	} else {
		spf_check(s->rt->dns, &m->deadline, s->ip,
		    s->helo_bad ? NULL : s->helo, m->from, cfg->authserv_id,
		    &m->spf_from);
	}
	m->spf_from_done = true;
}

/* inbound - does this message go through the inbound checks? */
static bool
inbound(const struct session *s)
{
	return !s->trusted && !s->m.outbound;
}

/*
 * start_content - DKIM and DMARC for inbound mail, signing for
 * authenticated and trusted senders; nothing when neither applies
 */
static int
start_content(struct session *s)
{
	const struct config *cfg = s->rt->cfg;
	struct content_params p;

	memset(&p, 0, sizeof(p));
	p.lib = filter_dkim;
	p.dns = s->rt->dns;
	p.deadline = &s->m.deadline;
	p.id = session_id(s);
	p.max_sigs = cfg->dkim_max_signatures;
	if (inbound(s)) {
		p.verify = cfg->dkim_verify && filter_dkim != NULL;
		p.dmarc = cfg->dmarc;
	} else if (filter_dkim != NULL) {
		p.sign_keys = cfg->keytable;
		p.sign_headers = cfg->dkim_sign_headers;
		p.sign_header_count = cfg->dkim_sign_header_count;
	}
	/* An RHSBL on the From domain needs the From field parsed too. */
	if (!p.verify && !p.dmarc && p.sign_keys == NULL &&
	    !(inbound(s) && s->screen != NULL))
		return 0;
	if ((s->m.content = content_new(&p)) == NULL)
		return -1;
	return 0;
}

/*
 * limit_key - who the message is counted against: the authenticated
 * account, else for trusted_networks the configured fallback
 */
static void
limit_key(struct session *s, const char *auth)
{
	const struct config *cfg = s->rt->cfg;
	struct message *m = &s->m;
	const char *key = NULL;

	if (!limits_active())
		return;
	if (auth != NULL && *auth != '\0')
		key = auth;
	else if (s->trusted && strcmp(cfg->limit_fallback, "sender") == 0 &&
	    !m->from_bad && !m->from_null)
		key = m->from;
	else if (s->trusted && strcmp(cfg->limit_fallback, "client_ip") == 0 &&
	    s->have_addr)
		key = s->ip;
	if (key == NULL)
		return;
	/* Too long is not cut short: limits_rcpt refuses it as it is. */
	m->limited = true;
	if (strlen(key) < sizeof(m->limit_account))
		memcpy(m->limit_account, key, strlen(key) + 1);
	else
		memcpy(m->limit_account, "\x01too long", 10);
}

/* limit_rcpt - charge a recipient to the account, or refuse it */
static sfsistat
limit_rcpt(SMFICTX *ctx, struct session *s, const char *rcpt)
{
	struct message *m = &s->m;
	struct ratelimit_request req;
	struct ratelimit_reply r;
	struct limits_charge c, *nc;
	enum limits_verdict lv;
	bool shadow;

	memset(&req, 0, sizeof(req));
	req.rcpts = 1;
	req.msgs = m->limit_msg_charged ? 0 : 1;
	req.msg_rcpts = m->limit_rcpts;
	req.session_rcpts = s->limit_session_rcpts;
	lv = limits_rcpt(s->rt->cfg, session_id(s), m->limit_account, &req,
	    rcpt, &c, &r, &shadow);
	if (lv != LIMITS_PASS) {
		m->limit_refused++;
		if (reply_set(ctx, r.rcode, r.xcode, r.text) != 0)
			log_msg(LOG_WARNING,
			    "%s: reply \"%s %s\" refused; the MTA uses its "
			    "own text",
			    session_id(s), r.rcode, r.xcode);
		return r.rcode[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	if (c.tok.rcpts == 0 && c.tok.msgs == 0)
		return SMFIS_CONTINUE; /* not counted (fail mode accept) */
	if (m->ncharges == m->charges_size) {
		size_t n = m->charges_size == 0 ? 8 : m->charges_size * 2;

		if ((nc = realloc(m->charges, n * sizeof(*nc))) == NULL) {
			limits_refund(m->limit_account, &c);
			return session_fail(s, "rcpt", "out of memory");
		}
		m->charges = nc;
		m->charges_size = n;
	}
	m->charges[m->ncharges++] = c;
	if (c.tok.msgs > 0)
		m->limit_msg_charged = true;
	m->limit_rcpts++;
	s->limit_session_rcpts++;
	return SMFIS_CONTINUE;
}

/* filter_envfrom - new message; SPF for inbound mail */
static sfsistat
filter_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = smfi_getpriv(ctx);
	struct message *m;
	const char *auth;
	char esc[600];

	if (s == NULL || !s->connected || s->rt == NULL)
		return session_fail(s, "mail", "no session");
	message_reset(s);
	m = &s->m;
	m->active = true;
	note_qid(ctx, s);
	dns_deadline(&m->deadline, s->rt->cfg->dns_budget_ms);
	if (argv == NULL || argv[0] == NULL)
		return session_fail(s, "mail", "no MAIL FROM argument");
	if (!strip_brackets(argv[0], m->from, sizeof(m->from))) {
		m->from_bad = true;
		log_msg(LOG_WARNING, "%s: unusable MAIL FROM \"%s\"",
		    session_id(s), log_escape(argv[0], esc, sizeof(esc)));
		m->from[0] = '\0';
	}
	m->from_null = !m->from_bad && m->from[0] == '\0';
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (auth != NULL && *auth != '\0') {
		m->outbound = true;
		log_escape(auth, m->auth, sizeof(m->auth));
	}
	limit_key(s, auth);
	if (start_content(s) != 0)
		return session_fail(s, "mail", "out of memory");
	screen_new_message(s->screen);
	if (inbound(s)) {
		char domain[ADDRESS_DOMAIN_SIZE];

		if (!s->helo_bad) {
			screen_start(s->screen, DNSBL_HELO, s->helo);
			screen_match(
			    s->screen, CONFIG_FIELD_HELO, s->helo, NULL);
		}
		if (!m->from_bad && !m->from_null)
			screen_match(
			    s->screen, CONFIG_FIELD_MAIL_FROM, m->from, NULL);
		if (!m->from_bad && !m->from_null &&
		    address_domain(m->from, domain, sizeof(domain)) == 1)
			screen_start(s->screen, DNSBL_MAIL_FROM, domain);
		run_spf(s);
	}
	return SMFIS_CONTINUE;
}

/* spf_verdict - the SPF result the policy sees: HELO's for <> */
static const struct spf_outcome *
spf_verdict(const struct message *m)
{
	if (m->from_null)
		return m->spf_helo_done ? &m->spf_helo : NULL;
	return m->spf_from_done ? &m->spf_from : NULL;
}

/*
 * decide - collect iprev, apply the policy to what is known: SPF and
 * iprev at RCPT, DKIM and DMARC too at end of message
 */
static void
decide(struct session *s)
{
	struct message *m = &s->m;
	struct verdict_input in;
	const struct spf_outcome *spf;

	m->decided = true;
	if (s->iprev != NULL && !s->iprev_done) {
		iprev_finish(s->iprev, &m->deadline,
		    s->rt->cfg->iprev_max_names, &s->iprev_out);
		s->iprev_done = true;
	}
	memset(&in, 0, sizeof(in));
	if ((spf = spf_verdict(m)) != NULL) {
		in.done[CHECK_SPF] = true;
		in.result[CHECK_SPF] = spf->result;
		if (spf->explanation[0] != '\0')
			in.spf_explanation = spf->explanation;
	}
	if (s->iprev_done) {
		in.done[CHECK_IPREV] = true;
		in.result[CHECK_IPREV] = s->iprev_out.result;
	}
	if (m->cr_done && m->cr.dkim_done) {
		in.done[CHECK_DKIM] = true;
		in.result[CHECK_DKIM] = m->cr.dkim_result;
	}
	screen_finish(s->screen, &m->deadline);
	in.listing_count = screen_listings(s->screen,
	    s->rt->cfg->policy.rule[CHECK_DNSBL][0].dry_run, in.listing,
	    VERDICT_MAX_LISTINGS);
	if (m->cr_done && m->cr.dmarc_done) {
		in.done[CHECK_DMARC] = true;
		in.result[CHECK_DMARC] = m->cr.dmarc.result;
		in.dmarc_disposition = m->cr.disposition;
		in.dmarc_domain = m->cr.dmarc.header_from;
	}
	verdict_decide(&s->rt->cfg->policy, &in, &m->v);
}

/* log_summary - the one line per message */
static void
log_summary(struct session *s, const char *stage)
{
	struct message *m = &s->m;
	char from[600], helo[300], line[4096], esc_limit[400];
	int n = 0;
	size_t size = sizeof(line);

	if (m->logged)
		return;
	m->logged = true;
	atomic_fetch_add(&filter_messages, 1);
	log_escape(m->from, from, sizeof(from));
	log_escape(s->helo, helo, sizeof(helo));
#define APPEND(...) \
	do { \
		if (n >= 0 && (size_t)n < size) \
			n += \
			    snprintf(line + n, size - (size_t)n, __VA_ARGS__); \
	} while (0)
	APPEND("%s: client=%s host=%s helo=\"%s\" from=<%s> rcpts=%u",
	    session_id(s), s->ip, s->host, helo, from, m->rcpts);
	if (s->trusted)
		APPEND(" trusted=yes");
	if (m->outbound)
		APPEND(" auth=%s", m->auth);
	if (inbound(s)) {
		if (m->spf_from_done)
			APPEND(" spf=%s", result_name(m->spf_from.result));
		if (m->spf_helo_done)
			APPEND(" spf.helo=%s", result_name(m->spf_helo.result));
		if (s->iprev_done)
			APPEND(" iprev=%s", result_name(s->iprev_out.result));
	}
	if (m->cr_done && m->cr.dkim_done) {
		size_t i;

		APPEND(" dkim=%s", result_name(m->cr.dkim_result));
		/* Every signature, as a DMARC report would list them. */
		for (i = 0; i < m->cr.dkim.count; i++)
			APPEND("%sd=%s:%s", i == 0 ? " dkim.sigs=" : ",",
			    m->cr.dkim.sig[i].domain,
			    result_name(m->cr.dkim.sig[i].result));
	}
	if (m->cr_done && m->cr.dmarc_done)
		APPEND(" dmarc=%s dmarc.from=%s dmarc.policy=%s "
		       "dmarc.disposition=%s dmarc.aligned=%s%s",
		    result_name(m->cr.dmarc.result),
		    m->cr.dmarc.header_from[0] != '\0' ? m->cr.dmarc.header_from
						       : "-",
		    m->cr.dmarc.policy[0] != '\0' ? m->cr.dmarc.policy : "-",
		    m->cr.dmarc.result == RESULT_FAIL ? m->cr.dmarc.disposition
						      : "none",
		    m->cr.dmarc.aligned_spf ? "spf" : "",
		    m->cr.dmarc.aligned_dkim
			? (m->cr.dmarc.aligned_spf ? ",dkim" : "dkim")
			: m->cr.dmarc.aligned_spf ? ""
						  : "none");
	if (inbound(s) && s->screen != NULL) {
		char bl[600];

		screen_log(s->screen, bl, sizeof(bl));
		if (bl[0] != '\0')
			APPEND(" dnsbl=%s", bl);
		screen_list_log(s->screen, bl, sizeof(bl));
		if (bl[0] != '\0')
			APPEND(" list=%s", bl);
	}
	if (m->cr_done && m->cr.signature != NULL)
		APPEND(" signed=%s", m->cr.sign_domain);
	else if (m->cr_done && m->cr.sign_note[0] != '\0')
		APPEND(" sign=\"%s\"", m->cr.sign_note);
	APPEND(" action=%s", verdict_action_name(m->v.action));
	if (m->v.action == ACTION_TEMPFAIL || m->v.action == ACTION_REJECT)
		APPEND(" cause=%s reply=\"%s %s %s\"",
		    verdict_check_name(m->v.cause), m->v.rcode, m->v.xcode,
		    m->v.text);
	else if (m->v.action == ACTION_QUARANTINE)
		APPEND(" cause=%s", verdict_check_name(m->v.cause));
	if (m->v.tag)
		APPEND(" tag=yes");
	if (m->v.whitelisted)
		APPEND(" whitelisted=yes");
	if (m->limited)
		APPEND(" limit_account=%s limit_rcpts=%u%s",
		    m->auth[0] != '\0' ? m->auth
				       : log_escape(m->limit_account, esc_limit,
					     sizeof(esc_limit)),
		    m->limit_rcpts,
		    m->limit_refused > 0 ? " limit=refused" : "");
	if (m->v.score != 0)
		APPEND(" score=%d%s", m->v.score,
		    m->v.by_score ? " by=score" : "");
	/* What shadow rules, or rules a whitelist overrode, would do. */
	if (m->v.would != m->v.action)
		APPEND(" %s=%s cause=%s",
		    m->v.whitelisted ? "would" : "dry_run",
		    verdict_action_name(m->v.would),
		    verdict_check_name(m->v.would_cause));
	APPEND(" stage=%s", stage);
#undef APPEND
	log_msg(LOG_INFO, "%s", line);
	switch (m->v.action) {
	case ACTION_ACCEPT:
		atomic_fetch_add(&filter_accepted, 1);
		break;
	case ACTION_TAG:
		atomic_fetch_add(&filter_accepted, 1);
		atomic_fetch_add(&filter_tagged, 1);
		break;
	case ACTION_QUARANTINE:
		atomic_fetch_add(&filter_quarantined, 1);
		break;
	case ACTION_TEMPFAIL:
		atomic_fetch_add(&filter_tempfailed, 1);
		break;
	default:
		atomic_fetch_add(&filter_rejected, 1);
		break;
	}
}

/* refuse - give the verdict's tempfail or reject to this stage */
static sfsistat
refuse(SMFICTX *ctx, struct session *s)
{
	const struct verdict *v = &s->m.v;

	if (reply_set(ctx, v->rcode, v->xcode, v->text) != 0)
		log_msg(LOG_WARNING,
		    "%s: reply \"%s %s\" refused; the MTA "
		    "uses its own text",
		    session_id(s), v->rcode, v->xcode);
	return v->action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* filter_envrcpt - decide at the first recipient; refuse early */
static sfsistat
filter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL || s->rt == NULL || !s->m.active)
		return session_fail(s, "rcpt", "no message");
	s->m.rcpts++;
	note_qid(ctx, s);
	if (s->m.limited)
		return limit_rcpt(
		    ctx, s, argv != NULL && argv[0] != NULL ? argv[0] : "");
	if (!inbound(s))
		return SMFIS_CONTINUE;
	if (argv != NULL && argv[0] != NULL)
		screen_match(s->screen, CONFIG_FIELD_RCPT_TO, argv[0], NULL);
	decide(s);
	if (s->m.v.action == ACTION_TEMPFAIL ||
	    s->m.v.action == ACTION_REJECT) {
		s->m.refused = true;
		log_summary(s, "rcpt");
		return refuse(ctx, s);
	}
	return SMFIS_CONTINUE;
}

/* filter_header - note Authentication-Results headers claiming our id */
static sfsistat
filter_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = smfi_getpriv(ctx);
	sfsistat ok;
	char id[256];

	if (s == NULL || s->rt == NULL)
		return session_fail(s, "header", "no session");
	ok = s->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	if (name == NULL || value == NULL)
		return ok;
	/* A failure marks the content failed: tempfail at end of message. */
	if (s->m.content != NULL)
		(void)content_header(s->m.content, name, value);
	if (inbound(s) && strcasecmp(name, "From") == 0)
		screen_match(s->screen, CONFIG_FIELD_FROM, value, NULL);
	else if (inbound(s) && strcasecmp(name, "Subject") == 0)
		screen_match(s->screen, CONFIG_FIELD_SUBJECT, value, NULL);
	if (inbound(s))
		screen_match_header(s->screen, name, value);
	if (strcasecmp(name, "Authentication-Results") != 0)
		return ok;
	s->m.ar_seen++;
	/* Only the start of the value is read, however long it is. */
	if (authres_authserv_id(value, id, sizeof(id)) != 1 ||
	    strcasecmp(id, s->rt->cfg->authserv_id) != 0)
		return ok;
	if (s->m.forged_count < FILTER_MAX_FORGED)
		s->m.forged[s->m.forged_count++] = s->m.ar_seen;
	else
		s->m.forged_lost++;
	return ok;
}

/* filter_body - a body chunk, for DKIM */
static sfsistat
filter_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL || s->rt == NULL)
		return session_fail(s, "body", "no session");
	if (s->m.content != NULL && data != NULL)
		(void)content_body(s->m.content, data, len);
	return s->nr_body ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/*
 * add_content_results - dkim= per signature (header.d, header.s and the
 * first 8 characters of header.b, as OpenDKIM writes them), dmarc= with
 * the policy and disposition in a comment (as OpenDMARC writes them)
 */
static void
add_content_results(struct authres_buf *b, const struct content_result *cr)
{
	const struct dkimverify_sig *sig;
	char comment[200];
	size_t i;

	if (cr->dkim_done && cr->dkim.count == 0)
		authres_add(b, "dkim", RESULT_NONE, NULL, NULL, NULL, NULL);
	for (i = 0; cr->dkim_done && i < cr->dkim.count; i++) {
		sig = &cr->dkim.sig[i];
		authres_add(b, "dkim", sig->result,
		    sig->result == RESULT_PASS ? NULL : sig->reason, "header.d",
		    sig->domain, NULL);
		authres_prop(b, "header.s", sig->selector);
		authres_prop(b, "header.b", sig->b);
	}
	if (!cr->dmarc_done)
		return;
	if (cr->dmarc.policy[0] != '\0')
		snprintf(comment, sizeof(comment), "p=%s dis=%s",
		    cr->dmarc.policy,
		    cr->dmarc.result == RESULT_FAIL ? cr->dmarc.disposition
						    : "none");
	else
		snprintf(comment, sizeof(comment), "%s", cr->dmarc.reason);
	authres_add(b, "dmarc", cr->dmarc.result, comment, "header.from",
	    cr->dmarc.header_from, NULL);
}

/* add_our_header - Authentication-Results at the top */
static int
add_our_header(SMFICTX *ctx, struct session *s)
{
	const struct config *cfg = s->rt->cfg;
	struct message *m = &s->m;
	char data[FILTER_AR_SIZE];
	char helo_from[300];
	struct authres_buf b = { data, sizeof(data), 0, 0 };

	authres_begin(&b, cfg->authserv_id);
	if (m->spf_from_done)
		authres_add(&b, "spf", m->spf_from.result, m->spf_from.reason,
		    "smtp.mailfrom", m->from, NULL);
	if (m->spf_helo_done) {
		snprintf(helo_from, sizeof(helo_from), "%s", s->helo);
		authres_add(&b, "spf", m->spf_helo.result, m->spf_helo.reason,
		    "smtp.helo", helo_from, NULL);
	}
	if (s->iprev_done)
		authres_add(&b, "iprev", s->iprev_out.result,
		    s->iprev_out.reason, "policy.iprev", s->ip,
		    s->iprev_out.name);
	if (m->cr_done)
		add_content_results(&b, &m->cr);
	if (!m->spf_from_done && !m->spf_helo_done && !s->iprev_done &&
	    !m->cr_done)
		authres_none(&b);
	if (b.overflow)
		log_msg(LOG_WARNING,
		    "%s: Authentication-Results cut at %zu "
		    "bytes",
		    session_id(s), sizeof(data));
	if (smfi_insheader(ctx, 0, "Authentication-Results", data) !=
	    MI_SUCCESS)
		return -1;
	return 0;
}

/* tag_append - " check=result" when that check's live rule tags */
static void
tag_append(char *value, size_t size, const struct session *s, enum check check,
    enum result_code result)
{
	const struct verdict_rule *r = verdict_rule_for(
	    &s->rt->cfg->policy, check, result, s->m.cr.disposition);
	size_t len = strlen(value);

	if (r->action != ACTION_TAG || r->dry_run)
		return;
	snprintf(value + len, size - len, "%s%s=%s", len > 0 ? " " : "",
	    verdict_check_name(check), result_name(result));
}

/* add_tag - the tag header: which checks tagged the message */
static int
add_tag(SMFICTX *ctx, struct session *s)
{
	const struct spf_outcome *spf = spf_verdict(&s->m);
	const struct content_result *cr = &s->m.cr;
	char value[256] = "";

	if (spf != NULL)
		tag_append(value, sizeof(value), s, CHECK_SPF, spf->result);
	if (s->iprev_done)
		tag_append(
		    value, sizeof(value), s, CHECK_IPREV, s->iprev_out.result);
	if (s->m.cr_done && cr->dkim_done)
		tag_append(
		    value, sizeof(value), s, CHECK_DKIM, cr->dkim_result);
	if (s->m.cr_done && cr->dmarc_done)
		tag_append(
		    value, sizeof(value), s, CHECK_DMARC, cr->dmarc.result);
	{
		struct verdict_listing l[VERDICT_MAX_LISTINGS];
		size_t i,
		    n = screen_listings(s->screen,
			s->rt->cfg->policy.rule[CHECK_DNSBL][0].dry_run, l,
			VERDICT_MAX_LISTINGS);

		for (i = 0; i < n; i++) {
			size_t len = strlen(value);

			if (l[i].action == ACTION_TAG && !l[i].dry_run)
				snprintf(value + len, sizeof(value) - len,
				    "%s%s=%s", len > 0 ? " " : "",
				    verdict_check_name(l[i].check),
				    l[i].source);
		}
	}
	if (value[0] == '\0')
		snprintf(value, sizeof(value), "%s",
		    verdict_check_name(s->m.v.cause));
	if (smfi_addheader(ctx, s->rt->cfg->tag_header, value) != MI_SUCCESS)
		return -1;
	return 0;
}

/* add_dnsbl_headers - one X-Sakimori-DNSBL per listing zone */
static int
add_dnsbl_headers(SMFICTX *ctx, struct session *s)
{
	char value[512];
	size_t i;

	for (i = 0; screen_header(s->screen, i, value, sizeof(value)); i++) {
		if (smfi_addheader(ctx, "X-Sakimori-DNSBL", value) !=
		    MI_SUCCESS)
			return -1;
	}
	for (i = 0; screen_list_header(s->screen, i, value, sizeof(value));
	     i++) {
		if (smfi_addheader(ctx, "X-Sakimori-List", value) != MI_SUCCESS)
			return -1;
	}
	return 0;
}

/* remove_forged - delete A-R headers claiming our id, last to first */
static int
remove_forged(SMFICTX *ctx, struct session *s)
{
	struct message *m = &s->m;
	unsigned i;

	if (m->forged_lost > 0) {
		log_msg(LOG_WARNING,
		    "%s: %u more forged "
		    "Authentication-Results than can be removed",
		    session_id(s), m->forged_lost);
		return -1;
	}
	/* Last to first: deleting one does not shift those before it. */
	for (i = m->forged_count; i > 0; i--) {
		if (smfi_chgheader(ctx, "Authentication-Results",
			(int)m->forged[i - 1], NULL) != MI_SUCCESS)
			return -1;
	}
	if (m->forged_count > 0)
		log_msg(LOG_INFO,
		    "%s: removed %u forged "
		    "Authentication-Results header%s",
		    session_id(s), m->forged_count,
		    m->forged_count == 1 ? "" : "s");
	return 0;
}

/* finish_content - DKIM, DMARC and signing results at end of message */
static int
finish_content(struct session *s)
{
	struct message *m = &s->m;
	const struct spf_outcome *spf = spf_verdict(m);
	struct content_envelope env;
	char domain[ADDRESS_DOMAIN_SIZE];
	int ret;

	memset(&env, 0, sizeof(env));
	/* RFC 7489 4.1: SPF authenticates MAIL FROM, or HELO for <>. */
	if (spf != NULL) {
		if (m->from_null) {
			env.spf_domain = s->helo;
			env.spf_done = true;
		} else if (address_domain(m->from, domain, sizeof(domain)) ==
		    1) {
			env.spf_domain = domain;
			env.spf_done = true;
		}
		env.spf_result = spf->result;
	}
	ret = content_eom(m->content, &env, &m->cr);
	m->cr_done = true;
	return ret;
}

/* quarantine - hold the message in the MTA's queue */
static int
quarantine(SMFICTX *ctx, struct session *s)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "sakimori: %s %s",
	    verdict_check_name(s->m.v.cause),
	    s->m.v.cause == CHECK_DMARC ? "fail, policy quarantine or reject"
					: "result");
	if (!s->quarantine) {
		log_msg(LOG_WARNING,
		    "%s: the MTA does not allow quarantine; tagged instead",
		    session_id(s));
		s->m.v.tag = true;
		return 0;
	}
	return smfi_quarantine(ctx, reason) == MI_SUCCESS ? 0 : -1;
}

/* eom_fail - an internal error at end of message: tempfail it */
static sfsistat
eom_fail(struct session *s, const char *why)
{
	message_reset(s);
	return session_fail(s, "eom", why);
}

/* filter_eom - decide, delete forgeries, add ours, sign, log */
static sfsistat
filter_eom(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);
	struct message *m;
	sfsistat r;

	if (s == NULL || s->rt == NULL || !s->m.active)
		return session_fail(s, "eom", "no message");
	m = &s->m;
	note_qid(ctx, s);
	if (m->content != NULL && finish_content(s) != 0)
		return eom_fail(s, "DKIM or DMARC evaluation failed");
	if (inbound(s)) {
		screen_start(s->screen, DNSBL_FROM, m->cr.from_domain);
		if (s->iprev_done && s->iprev_out.result == RESULT_PASS) {
			screen_start(s->screen, DNSBL_IPREV, s->iprev_out.name);
			screen_match(s->screen, CONFIG_FIELD_IPREV,
			    s->iprev_out.name, NULL);
		}
		decide(s);
		if (m->v.action == ACTION_TEMPFAIL ||
		    m->v.action == ACTION_REJECT) {
			log_summary(s, "eom");
			r = refuse(ctx, s);
			message_reset(s);
			return r;
		}
		if (m->v.action == ACTION_QUARANTINE && quarantine(ctx, s) != 0)
			return eom_fail(s, "smfi_quarantine failed");
	}
	/*
	 * RFC 8601 5: headers claiming our authserv-id are removed whoever
	 * sent them, trusted and authenticated senders included.
	 */
	if (remove_forged(ctx, s) != 0)
		return eom_fail(s, "cannot remove forged headers");
	if (inbound(s)) {
		if (add_our_header(ctx, s) != 0)
			return eom_fail(s, "smfi_insheader failed");
		if (m->v.tag && add_tag(ctx, s) != 0)
			return eom_fail(s, "smfi_addheader failed");
		if (add_dnsbl_headers(ctx, s) != 0)
			return eom_fail(s, "smfi_addheader failed");
	}
	if (m->cr.signature != NULL &&
	    smfi_insheader(ctx, 0, "DKIM-Signature", m->cr.signature) !=
		MI_SUCCESS)
		return eom_fail(s, "smfi_insheader DKIM-Signature failed");
	log_summary(s, "eom");
	m->delivered = true;
	message_reset(s);
	return SMFIS_ACCEPT;
}

/* filter_abort - the message ends without EOM */
static sfsistat
filter_abort(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s != NULL) {
		if (s->m.active && s->m.decided && !s->m.logged &&
		    !s->m.refused)
			log_msg(LOG_INFO, "%s: aborted by the client",
			    session_id(s));
		message_reset(s);
	}
	return SMFIS_CONTINUE;
}

/* filter_close - end of session; priv may be NULL */
static sfsistat
filter_close(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	message_reset(s);
	iprev_free(&s->iprev);
	screen_free(&s->screen);
	runtime_release(&s->rt);
	free(s);
	return SMFIS_CONTINUE;
}

/* filter_register - smfi_register() our callbacks */
int
filter_register(struct dkimverify_lib *dkim)
{
	filter_dkim = dkim;
	struct smfiDesc desc;

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = "sakimori";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags =
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST | SMFIF_QUARANTINE;
	desc.xxfi_connect = filter_connect;
	desc.xxfi_helo = filter_helo;
	desc.xxfi_envfrom = filter_envfrom;
	desc.xxfi_envrcpt = filter_envrcpt;
	desc.xxfi_header = filter_header;
	desc.xxfi_body = filter_body;
	desc.xxfi_eom = filter_eom;
	desc.xxfi_abort = filter_abort;
	desc.xxfi_close = filter_close;
	desc.xxfi_negotiate = filter_negotiate;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
