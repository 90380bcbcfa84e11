/*
 * NAME
 *	spf - RFC 7208 SPF checks with libspf2 over sakimori's DNS layer
 * SUMMARY
 *	spf_check() validates its input, builds one SPF_server_t with a DNS
 *	layer of ours, runs the evaluation and maps the answer.
 * DESCRIPTION
 *	See spf.h. What libspf2 does not do, or does against RFC 7208, is
 *	done or undone here:
 *	- The DNS layer (struct spf_layer) answers through dns_lookup() with
 *	  the caller's deadline, so SPF shares the cache and the budget.
 *	- RFC 7208 4.6.4 void lookups: counted in the layer; the third makes
 *	  the layer answer TRY_AGAIN to every later question (which ends the
 *	  evaluation) and the result becomes permerror. Lookups made for the
 *	  explanation (exp=, RFC 7208 6.2) do not count: they go through our
 *	  get_exp hook, which libspf2 calls instead of its own code.
 *	- RFC 7208 3.1: type SPF (99) is never queried; libspf2 asks for it
 *	  first, the layer answers NODATA without a query and without
 *	  counting a void lookup.
 *	- libspf2 gives loopback clients a "pass" without looking; we run
 *	  the steps of SPF_request_query_mailfrom() ourselves without that.
 *	- libspf2 computes an explanation for softfail and neutral too, and
 *	  a default one without exp=; we report one only for fail, and only
 *	  when exp= gave it.
 *	- libspf2 has crashed on odd input: every input is checked before
 *	  it sees it, and TXT records that look like SPF records but hold
 *	  bytes outside printable ASCII or an overlong term are replaced by
 *	  an unknown mechanism (permerror) before libspf2 compiles them.
 *	- libspf2 logs through global handlers that print to stderr and
 *	  abort on errors: they are routed to our log (debug for spf).
 * THREADS
 *	Any number of spf_check() calls at once: all state is per call. The
 *	libspf2 log handlers are global and set once (pthread_once).
 * OWNERSHIP
 *	Nothing outlives a call.
 * ERRORS
 *	Bad input: result none with a reason, no query. DNS failures:
 *	temperror. Out of memory: -1 with temperror.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_log.h>

#include "lists/domain.h"
#include "lists/text.h"
#include "milter/log.h"
#include "milter/spf.h"

#define SPF_HELO_MAX 253 /* RFC 1035: a name, without the root dot */
#define SPF_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define SPF_VOID_MAX 2	 /* RFC 7208 4.6.4 */
#define SPF_TERM_MAX 300 /* longest term libspf2 gets to compile */
#define SPF_EXP_MAX 400	 /* longest exp= TXT record we compile */

/* The state of one check, reachable from libspf2 through the layer. */
struct spf_layer {
	struct dns_resolver *r;		 /* resolver */
	const struct timespec *deadline; /* DNS deadline, or NULL */
	SPF_request_t *req;		 /* the request (for exp= macros) */
	unsigned voids;			 /* void answers during evaluation */
	bool void_exceeded;		 /* more than SPF_VOID_MAX */
	bool in_exp;			 /* inside get_exp: nothing counts */
	bool exp_found;			 /* last get_exp gave exp= text */
	bool refused;			 /* a record was refused unseen */
	char why[128];			 /* first DNS failure, for reason */
};

static pthread_once_t spf_log_once = PTHREAD_ONCE_INIT;

/* spf_log_error - libspf2 internal error: log and stop (never returns) */
__attribute__((noreturn)) static void
spf_log_error(const char *file, int line, const char *msg)
{
	char buf[256];

	log_msg(LOG_CRIT, "spf: libspf2 internal error at %s:%d: %s",
	    file != NULL ? file : "?", line, log_escape(msg, buf, sizeof(buf)));
	abort();
}

/* spf_log_warning - libspf2 warning: debug line only */
static void
spf_log_warning(const char *file, int line, const char *msg)
{
	char buf[256];

	(void)file;
	(void)line;
	log_debug(LOG_SUB_SPF, "spf: libspf2 warning: %s",
	    log_escape(msg, buf, sizeof(buf)));
}

/* spf_log_debug - libspf2 info and debug: debug line only */
static void
spf_log_debug(const char *file, int line, const char *msg)
{
	char buf[256];

	(void)file;
	(void)line;
	log_debug(
	    LOG_SUB_SPF, "spf: libspf2: %s", log_escape(msg, buf, sizeof(buf)));
}

/* spf_log_init - route libspf2's global log handlers to ours, once */
static void
spf_log_init(void)
{
	SPF_error_handler = spf_log_error;
	SPF_warning_handler = spf_log_warning;
	SPF_info_handler = spf_log_debug;
	SPF_debug_handler = spf_log_debug;
}

/* spf_domain_ok - is text a usable multi-label domain (RFC 7208 4.3)? */
static bool
spf_domain_ok(const char *d, size_t len)
{
	return domain_name_labels(d, len) >= 2;
}

/* spf_local_ok - is text a local-part we may hand to libspf2? */
static bool
spf_local_ok(const char *l, size_t len)
{
	size_t i;

	if (len == 0 || len > SPF_LOCAL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)l[i];

		/* RFC 5321 atoms and quoted strings are printable ASCII. */
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* spf_record_safe - may libspf2 compile this TXT string? */
static bool
spf_record_safe(const char *txt, size_t len)
{
	size_t i, term = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c < 0x20 || c >= 0x7f)
			return false;
		term = (c == ' ') ? 0 : term + 1;
		if (term > SPF_TERM_MAX)
			return false;
	}
	return true;
}

/* spf_is_record - does a TXT string claim to be an SPF record? */
static bool
spf_is_record(const char *txt, size_t len)
{
	size_t n = sizeof(SPF_VER_STR) - 1;

	return len >= n && strncasecmp(txt, SPF_VER_STR, n) == 0 &&
	    (len == n || txt[n] == ' ');
}

/* spf_rr_new - an answer with no records and the given status */
static SPF_dns_rr_t *
spf_rr_new(SPF_dns_server_t *ds, const char *domain, ns_type type, uint32_t ttl,
    SPF_dns_stat_t herrno)
{
	return SPF_dns_rr_new_init(
	    ds, domain, type, ttl > 86400 ? 86400 : (int)ttl, herrno);
}

/* spf_rr_fill - copy our records into a libspf2 answer */
static int
spf_rr_fill(struct spf_layer *st, SPF_dns_rr_t *spfrr,
    const struct dns_result *res, ns_type type)
{
	static const char refused[] = "v=spf1 x-sakimori-refused-record";
	const char *text;
	size_t i, len;
	int n = 0;

	for (i = 0; i < res->count && n < 1000; i++) {
		const struct dns_rr *rr = &res->rr[i];

		if (rr->type != (uint16_t)type)
			continue;
		switch (type) {
		case ns_t_a:
			if (SPF_dns_rr_buf_realloc(spfrr, n, sizeof(rr->a)) !=
			    SPF_E_SUCCESS)
				return -1;
			memcpy(&spfrr->rr[n]->a, &rr->a, sizeof(rr->a));
			break;
		case ns_t_aaaa:
			if (SPF_dns_rr_buf_realloc(
				spfrr, n, sizeof(rr->aaaa)) != SPF_E_SUCCESS)
				return -1;
			memcpy(
			    &spfrr->rr[n]->aaaa, &rr->aaaa, sizeof(rr->aaaa));
			break;
		case ns_t_mx:
		case ns_t_ptr:
		case ns_t_txt:
			if (rr->text == NULL)
				continue;
			text = rr->text;
			len = rr->len;
			/*
			 * libspf2 reads strings up to a NUL: a NUL inside would
			 * hide the rest. Names with such bytes are not names.
			 */
			if (type != ns_t_txt &&
			    (memchr(text, '\0', len) != NULL ||
				len > SPF_HELO_MAX))
				continue;
			/* libspf2 sees the text up to its first NUL. */
			if (type == ns_t_txt &&
			    spf_is_record(text, strnlen(text, len)) &&
			    !spf_record_safe(text, len)) {
				log_debug(LOG_SUB_SPF,
				    "spf: refused unsafe record at %s",
				    res->qname != NULL ? res->qname : "?");
				st->refused = true;
				text = refused;
				len = sizeof(refused) - 1;
			}
			if (SPF_dns_rr_buf_realloc(spfrr, n, len + 1) !=
			    SPF_E_SUCCESS)
				return -1;
			memcpy(spfrr->rr[n]->txt, text, len);
			spfrr->rr[n]->txt[len] = '\0';
			break;
		default:
			continue;
		}
		n++;
	}
	spfrr->num_rr = n;
	if (n == 0)
		spfrr->herrno = NO_DATA;
	return 0;
}

/* spf_layer_lookup - libspf2's DNS lookup, through dns_lookup() */
static SPF_dns_rr_t *
spf_layer_lookup(
    SPF_dns_server_t *ds, const char *domain, ns_type type, int should_cache)
{
	struct spf_layer *st = ds->hook;
	struct dns_result *res = NULL;
	SPF_dns_rr_t *spfrr;
	SPF_dns_stat_t herrno;
	bool is_void = false;

	(void)should_cache;
	/* RFC 7208 3.1, 14.1: the SPF RR type is not used. */
	if (type == ns_t_spf || domain == NULL || *domain == '\0')
		return spf_rr_new(ds, domain, type, 0,
		    type == ns_t_spf ? NO_DATA : HOST_NOT_FOUND);
	if (st->void_exceeded && !st->in_exp)
		return spf_rr_new(ds, domain, type, 0, TRY_AGAIN);
	if (dns_lookup(st->r, domain, (uint16_t)type, st->deadline, &res) !=
	    0) {
		snprintf(st->why, sizeof(st->why), "out of memory");
		return spf_rr_new(ds, domain, type, 0, TRY_AGAIN);
	}
	switch (res->status) {
	case DNS_OK:
		herrno = NETDB_SUCCESS;
		break;
	case DNS_NODATA:
		herrno = NO_DATA;
		is_void = true;
		break;
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		/* A name that cannot exist is as void as one that does not. */
		herrno = HOST_NOT_FOUND;
		is_void = true;
		break;
	case DNS_TEMPFAIL:
	default:
		herrno = TRY_AGAIN;
		if (st->why[0] == '\0' && !st->in_exp)
			snprintf(st->why, sizeof(st->why), "%s %.80s: %.30s",
			    SPF_strrrtype(type), domain,
			    res->why[0] != '\0' ? res->why : "tempfail");
		break;
	}
	log_debug(LOG_SUB_SPF, "spf: lookup %s %s: %s (%zu)",
	    SPF_strrrtype(type), domain, dns_status_name(res->status),
	    res->count);
	spfrr = spf_rr_new(ds, domain, type, res->ttl, herrno);
	if (spfrr == NULL)
		goto fail;
	if (herrno == NETDB_SUCCESS) {
		if (spf_rr_fill(st, spfrr, res, type) != 0) {
			SPF_dns_rr_free(spfrr);
			spfrr = NULL;
			goto fail;
		}
		if (spfrr->num_rr == 0)
			is_void = true;
	}
	/* RFC 7208 4.6.4: more than 2 void lookups is a permerror. */
	if (is_void && !st->in_exp && ++st->voids > SPF_VOID_MAX) {
		st->void_exceeded = true;
		spfrr->herrno = TRY_AGAIN;
		spfrr->num_rr = 0;
	}
	dns_result_free(&res);
	return spfrr;

fail:
	dns_result_free(&res);
	snprintf(st->why, sizeof(st->why), "out of memory");
	/* libspf2 stops (SPF_error) on NULL; this is its last chance. */
	return spf_rr_new(ds, domain, type, 0, TRY_AGAIN);
}

/*
 * spf_expand_words - macro-expand an explain-string word by word
 * libspf2 1.2.10 compiles a space in a macro-string as if it were '%'
 * (SPF_c_parse_macro), so "%{i} is not ..." came out as "192.0.2.1%is%...".
 * Each run of non-space characters is compiled and expanded alone and
 * the spaces are kept as they are.
 */
static SPF_errcode_t
spf_expand_words(SPF_server_t *server, SPF_request_t *req, const char *text,
    char *out, size_t size)
{
	SPF_response_t *resp = NULL;
	SPF_macro_t *macro = NULL;
	SPF_errcode_t err = SPF_E_SUCCESS;
	char word[SPF_EXP_MAX + 1], *buf = NULL;
	size_t buflen = 0, o = 0, n;
	const char *p = text;

	if ((resp = SPF_response_new(req)) == NULL)
		return SPF_E_NO_MEMORY;
	out[0] = '\0';
	while (*p != '\0' && err == SPF_E_SUCCESS) {
		if (*p == ' ') {
			if (o + 1 < size)
				out[o++] = ' ';
			p++;
			continue;
		}
		n = strcspn(p, " ");
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		err = SPF_record_compile_macro(server, resp, &macro, word);
		if (err == SPF_E_SUCCESS)
			err = SPF_record_expand_data(server, req, resp,
			    (SPF_data_t *)((char *)macro + sizeof(*macro)),
			    macro->macro_len, &buf, &buflen);
		if (macro != NULL)
			SPF_macro_free(macro);
		macro = NULL;
		if (err == SPF_E_SUCCESS && buf != NULL) {
			n = strlen(buf);
			if (n > size - 1 - o)
				n = size - 1 - o;
			memcpy(out + o, buf, n);
			o += n;
		}
	}
	out[o] = '\0';
	free(buf);
	SPF_response_free(resp);
	return err;
}

/*
 * spf_layer_get_exp - the explanation for exp=domain (RFC 7208 6.2)
 * Called by libspf2 instead of its own lookup. Lookups made here do not
 * count as void lookups. Any failure means "no explanation".
 */
static SPF_errcode_t
spf_layer_get_exp(
    SPF_server_t *server, const char *domain, char **bufp, size_t *buflenp)
{
	struct spf_layer *st = server->resolver->hook;
	struct dns_result *res = NULL;
	SPF_errcode_t err = SPF_E_NOT_SPF;
	char text[SPF_EXP_MAX + 1], exp[SPF_EXP_MAX + 1];
	size_t i, len;
	char *nbuf;

	st->in_exp = true;
	st->exp_found = false;
	if (domain == NULL || *domain == '\0' || st->req == NULL)
		goto out;
	if (dns_lookup(st->r, domain, DNS_T_TXT, st->deadline, &res) != 0) {
		err = SPF_E_NO_MEMORY;
		goto out;
	}
	/* RFC 7208 6.2: no record, several, or a DNS error: no exp. */
	if (res->status != DNS_OK || res->count != 1 ||
	    res->rr[0].text == NULL || res->rr[0].len > SPF_EXP_MAX)
		goto out;
	for (i = 0; i < res->rr[0].len; i++) {
		unsigned char c = (unsigned char)res->rr[0].text[i];

		text[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	text[i] = '\0';
	err = spf_expand_words(server, st->req, text, exp, sizeof(exp));
	if (err != SPF_E_SUCCESS)
		goto out;
	len = strlen(exp) + 1;
	if (*bufp == NULL || *buflenp < len) {
		if ((nbuf = realloc(*bufp, len)) == NULL) {
			err = SPF_E_NO_MEMORY;
			goto out;
		}
		*bufp = nbuf;
		*buflenp = len;
	}
	memcpy(*bufp, exp, len);
	st->exp_found = true;
out:
	dns_result_free(&res);
	st->in_exp = false;
	return err;
}

/* spf_layer_destroy - nothing to free: the layer lives on the stack */
static void
spf_layer_destroy(SPF_dns_server_t *ds)
{
	(void)ds;
}

/* spf_map - libspf2's result to ours */
static enum result_code
spf_map(SPF_result_t r, SPF_errcode_t err)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return RESULT_PASS;
	case SPF_RESULT_FAIL:
		return RESULT_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return RESULT_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return RESULT_NEUTRAL;
	case SPF_RESULT_NONE:
		return RESULT_NONE;
	case SPF_RESULT_TEMPERROR:
		return RESULT_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return RESULT_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		/*
		 * libspf2 leaves no result when the record does not compile
		 * (RFC 7208 4.6: permerror); never a pass in any case.
		 */
		if (err == SPF_E_NO_MEMORY || err == SPF_E_DNS_ERROR ||
		    err == SPF_E_INTERNAL_ERROR)
			return RESULT_TEMPERROR;
		return RESULT_PERMERROR;
	}
}

/* spf_first_error - the first error (not warning) message of a response */
static const char *
spf_first_error(SPF_response_t *resp)
{
	int i, n = SPF_response_messages(resp);

	for (i = 0; i < n; i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (e != NULL && SPF_error_errorp(e) &&
		    SPF_error_message(e) != NULL)
			return SPF_error_message(e);
	}
	return NULL;
}

/*
 * spf_evaluate - SPF_request_query_mailfrom() without the free pass for
 * loopback clients
 */
static SPF_errcode_t
spf_evaluate(SPF_server_t *server, SPF_request_t *req, SPF_response_t **resp_r)
{
	SPF_record_t *rec = NULL;
	SPF_response_t *resp;
	SPF_errcode_t err;

	if ((*resp_r = resp = SPF_response_new(req)) == NULL)
		return SPF_E_NO_MEMORY;
	req->cur_dom = req->env_from_dp;
	err = SPF_server_get_record(server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec != NULL)
			SPF_record_free(rec);
		SPF_i_done(resp, resp->result, resp->reason, resp->err);
		return err;
	}
	resp->spf_record_exp = rec;
	err = SPF_record_interpret(rec, req, resp, 0);
	resp->spf_record_exp = NULL;
	SPF_record_free(rec);
	return err;
}

/* spf_set - fill an outcome */
static void
spf_set(struct spf_outcome *out, enum result_code result, const char *reason)
{
	out->result = result;
	text_printable(out->reason, sizeof(out->reason), reason);
}

/* spf_check - evaluate one identity */
int
spf_check(struct dns_resolver *r, const struct timespec *deadline,
    const char *client_ip, const char *helo, const char *mailfrom,
    const char *receiver, struct spf_outcome *out)
{
	struct spf_layer st;
	SPF_dns_server_t ds;
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	SPF_errcode_t err;
	int family, rc = 0;
	const char *at, *domain, *msg;
	char sender[SPF_LOCAL_MAX + 1 + SPF_HELO_MAX + 2];
	size_t helo_len;
	bool helo_ok;

	memset(out, 0, sizeof(*out));
	out->result = RESULT_NONE;
	pthread_once(&spf_log_once, spf_log_init);

	/* Validate everything before libspf2 sees it. */
	if (client_ip == NULL || strlen(client_ip) >= INET6_ADDRSTRLEN) {
		spf_set(out, RESULT_NONE, "client address is not an address");
		return 0;
	}
	if (inet_pton(AF_INET, client_ip, &a4) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, client_ip, &a6) == 1) {
		family = AF_INET6;
		/* RFC 7208 5: an IPv4-mapped client is an IPv4 client. */
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			family = AF_INET;
			memcpy(&a4, &a6.s6_addr[12], 4);
		}
	} else {
		spf_set(out, RESULT_NONE, "client address is not an address");
		return 0;
	}
	helo_len = helo != NULL ? strnlen(helo, SPF_HELO_MAX + 2) : 0;
	helo_ok = helo_len > 0 && helo_len <= SPF_HELO_MAX &&
	    spf_domain_ok(helo, helo_len);
	if (mailfrom == NULL || *mailfrom == '\0') {
		/* RFC 7208 2.3, 2.4: HELO identity, or <> as postmaster@HELO */
		if (!helo_ok) {
			spf_set(out, RESULT_NONE,
			    helo_len == 0 ? "no HELO name"
					  : "HELO name is not a domain name");
			return 0;
		}
		snprintf(sender, sizeof(sender), "postmaster@%.*s",
		    (int)helo_len, helo);
	} else {
		size_t len = strnlen(mailfrom, sizeof(sender));

		at = strrchr(mailfrom, '@');
		if (len >= sizeof(sender) || at == NULL) {
			spf_set(out, RESULT_NONE,
			    at == NULL ? "MAIL FROM has no domain"
				       : "MAIL FROM is too long");
			return 0;
		}
		domain = at + 1;
		if (!spf_domain_ok(domain, strlen(domain))) {
			spf_set(out, RESULT_NONE,
			    "MAIL FROM domain is not a domain name");
			return 0;
		}
		if (!spf_local_ok(mailfrom, (size_t)(at - mailfrom))) {
			spf_set(out, RESULT_NONE,
			    "MAIL FROM local-part is not usable");
			return 0;
		}
		memcpy(sender, mailfrom, len + 1);
	}
	/* A trailing root dot would become part of %{d}. */
	if (sender[strlen(sender) - 1] == '.')
		sender[strlen(sender) - 1] = '\0';

	memset(&st, 0, sizeof(st));
	st.r = r;
	st.deadline = deadline;
	memset(&ds, 0, sizeof(ds));
	ds.destroy = spf_layer_destroy;
	ds.lookup = spf_layer_lookup;
	ds.get_exp = spf_layer_get_exp;
	ds.name = "sakimori";
	ds.hook = &st;

	/* One server per check: libspf2 servers are not shared. */
	if ((server = SPF_server_new_dns(&ds, 0)) == NULL)
		goto nomem;
	SPF_server_set_max_dns_mech(server, SPF_MAX_DNS_MECH);
	SPF_server_set_max_dns_mx(server, SPF_MAX_DNS_MX);
	SPF_server_set_max_dns_ptr(server, SPF_MAX_DNS_PTR);
	SPF_server_set_sanitize(server, 1);
	if (receiver != NULL && spf_domain_ok(receiver, strlen(receiver)) &&
	    SPF_server_set_rec_dom(server, receiver) != SPF_E_SUCCESS)
		goto nomem;
	if ((req = SPF_request_new(server)) == NULL)
		goto nomem;
	st.req = req;
	if ((family == AF_INET
		    ? SPF_request_set_ipv4(req, a4)
		    : SPF_request_set_ipv6(req, a6)) != SPF_E_SUCCESS)
		goto nomem;
	if (helo_ok) {
		char h[SPF_HELO_MAX + 2];

		snprintf(h, sizeof(h), "%.*s", (int)helo_len, helo);
		if (h[strlen(h) - 1] == '.')
			h[strlen(h) - 1] = '\0';
		if (SPF_request_set_helo_dom(req, h) != SPF_E_SUCCESS)
			goto nomem;
	}
	if (SPF_request_set_env_from(req, sender) != SPF_E_SUCCESS ||
	    req->env_from_dp == NULL)
		goto nomem;

	err = spf_evaluate(server, req, &resp);
	if (resp == NULL)
		goto nomem;

	out->result = spf_map(SPF_response_result(resp), err);
	msg = spf_first_error(resp);
	if (st.void_exceeded) {
		/* RFC 7208 4.6.4, whatever libspf2 made of our TRY_AGAIN. */
		spf_set(out, RESULT_PERMERROR, "void lookup limit exceeded");
	} else if (st.refused && out->result == RESULT_PERMERROR) {
		spf_set(out, RESULT_PERMERROR,
		    "record with control bytes or an overlong term");
	} else {
		switch (out->result) {
		case RESULT_PASS:
		case RESULT_FAIL:
		case RESULT_SOFTFAIL:
		case RESULT_NEUTRAL:
			spf_set(out, out->result,
			    SPF_response_reason(resp) == SPF_REASON_DEFAULT
				? "default result"
				: "matched mechanism");
			break;
		case RESULT_TEMPERROR:
			spf_set(out, out->result,
			    st.why[0] != '\0' ? st.why
				: msg != NULL ? msg
					      : SPF_strerror(resp->err));
			break;
		default:
			spf_set(out, out->result,
			    msg != NULL ? msg : SPF_strerror(resp->err));
			break;
		}
	}
	/* RFC 7208 6.2: an explanation only for fail, only from exp=. */
	if (out->result == RESULT_FAIL && st.exp_found &&
	    SPF_response_get_explanation(resp) != NULL)
		text_printable(out->explanation, sizeof(out->explanation),
		    SPF_response_get_explanation(resp));
	log_debug(LOG_SUB_SPF, "spf: %s ip=%s identity=%s result=%s voids=%u",
	    mailfrom == NULL ? "helo" : "mailfrom", client_ip, sender,
	    result_name(out->result), st.voids);
	goto done;

nomem:
	spf_set(out, RESULT_TEMPERROR, "out of memory");
	rc = -1;
done:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	if (server != NULL)
		SPF_server_free(server);
	return rc;
}
