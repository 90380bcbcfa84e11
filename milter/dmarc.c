/*
 * NAME
 *	dmarc - RFC 7489 DMARC evaluation over sakimori's DNS layer
 * SUMMARY
 *	Policy discovery, record parsing, identifier alignment, and the
 *	disposition after pct= sampling.
 * DESCRIPTION
 *	See dmarc.h. dmarc_check() asks for _dmarc.<From domain> and, when
 *	the organizational domain differs, _dmarc.<org domain> at the same
 *	time: the second answer is only read if the first holds no DMARC
 *	record, and dropped otherwise, so a fallback costs no extra round
 *	trip. The record parser follows the RFC 7489 6.4 grammar loosely:
 *	tags split at ';', names and the p/sp/adkim/aspf values compared
 *	without case, unknown tags skipped, the version tag exact.
 * THREADS
 *	dmarc_psl is set by dmarc_global_init() before threads start and
 *	only read afterwards (libpsl lookups are thread-safe). Everything
 *	else lives on the caller's stack.
 * OWNERSHIP
 *	dmarc_check() owns its DNS queries and results and frees them
 *	before it returns.
 * ERRORS
 *	DNS TEMPFAIL is temperror; an unusable record permerror; out of
 *	memory -1 with temperror.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "lists/domain.h"
#include "milter/dmarc.h"
#include "milter/log.h"

#define DMARC_NAME_MAX 253 /* RFC 1035 2.3.4, in text form */
#define DMARC_PREFIX "_dmarc."
#define DMARC_LOG_SUB LOG_SUB_DMARC

/* What policy discovery found at one name (RFC 7489 6.6.3). */
enum dmarc_found {
	DMARC_FOUND_NONE = 0, /* NXDOMAIN, NODATA, no v=DMARC1 record */
	DMARC_FOUND_ONE,      /* exactly one DMARC record */
	DMARC_FOUND_SEVERAL,  /* more than one: no policy (step 5) */
	DMARC_FOUND_TEMPFAIL, /* DNS error: temperror */
};

static psl_ctx_t *dmarc_psl; /* loaded list; NULL: libpsl's built-in */

static void dmarc_why(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void dmarc_set(struct dmarc_outcome *, enum result_code, const char *,
    ...) __attribute__((format(printf, 3, 4)));
static void dmarc_append(struct dmarc_outcome *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* dmarc_psl_ctx - the list to use */
static const psl_ctx_t *
dmarc_psl_ctx(void)
{
	return dmarc_psl != NULL ? dmarc_psl : psl_builtin();
}

/* dmarc_global_init - load the Public Suffix List once at start */
int
dmarc_global_init(char **error_r)
{
	if (error_r != NULL)
		*error_r = NULL;
	if (dmarc_psl != NULL)
		return 0;
	/* The packaged list when newer than the built-in one, else this. */
	dmarc_psl = psl_latest(NULL);
	if (dmarc_psl == NULL && psl_builtin() == NULL) {
		if (error_r != NULL)
			*error_r = strdup("dmarc: no Public Suffix List: "
					  "install the publicsuffix package");
		return -1;
	}
	return 0;
}

/* dmarc_global_free - drop the list loaded by dmarc_global_init */
void
dmarc_global_free(void)
{
	/* psl_free() ignores the built-in list, which psl_latest returns
	 * when it is the newest. */
	psl_free(dmarc_psl);
	dmarc_psl = NULL;
}

/* dmarc_policy_name - "none", "quarantine", "reject"; "" for unset */
const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	default:
		return "";
	}
}

/*
 * dmarc_normalize - validate a host name, copy it lower case without a
 * trailing dot; 0 or -1
 */
static int
dmarc_normalize(const char *name, char *buf, size_t size)
{
	size_t len, i;

	if (name == NULL)
		return -1;
	len = strnlen(name, DMARC_NAME_MAX + 2);
	if (domain_name_labels(name, len) < 1)
		return -1;
	if (name[len - 1] == '.')
		len--;
	if (len >= size)
		return -1;
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[len] = '\0';
	return 0;
}

/* dmarc_org_domain - the organizational domain (RFC 7489 3.2) */
const char *
dmarc_org_domain(const char *domain, char *buf, size_t size)
{
	const char *reg;

	if (dmarc_normalize(domain, buf, size) != 0)
		return NULL;
	/*
	 * RFC 7489 3.2: the public suffix plus one label. libpsl applies
	 * the implicit "*" rule, so an unlisted TLD such as "test" is a
	 * public suffix too. A name that is itself a public suffix has no
	 * registrable part: it stands for itself.
	 */
	reg = psl_registrable_domain(dmarc_psl_ctx(), buf);
	if (reg != NULL && reg != buf)
		memmove(buf, reg, strlen(reg) + 1);
	return buf;
}

/* dmarc_aligned - are two domains aligned (RFC 7489 3.1)? */
bool
dmarc_aligned(
    const char *from_domain, const char *auth_domain, enum dmarc_align mode)
{
	char a[DMARC_NAME_MAX + 1], b[DMARC_NAME_MAX + 1];

	if (mode == DMARC_ALIGN_STRICT)
		return dmarc_normalize(from_domain, a, sizeof(a)) == 0 &&
		    dmarc_normalize(auth_domain, b, sizeof(b)) == 0 &&
		    strcmp(a, b) == 0;
	return dmarc_org_domain(from_domain, a, sizeof(a)) != NULL &&
	    dmarc_org_domain(auth_domain, b, sizeof(b)) != NULL &&
	    strcmp(a, b) == 0;
}

/* dmarc_wsp - RFC 5234 WSP */
static bool
dmarc_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dmarc_space - WSP, or CR/LF that some publishers leave in TXT */
static bool
dmarc_space(char c)
{
	return dmarc_wsp(c) || c == '\r' || c == '\n';
}

/* dmarc_record_is_dmarc - does TXT text start with the v=DMARC1 tag? */
bool
dmarc_record_is_dmarc(const char *text, size_t len)
{
	size_t i = 0;

	/* dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 */
	if (text == NULL || len == 0 || (text[0] != 'v' && text[0] != 'V'))
		return false;
	for (i = 1; i < len && dmarc_wsp(text[i]); i++)
		;
	if (i >= len || text[i++] != '=')
		return false;
	while (i < len && dmarc_wsp(text[i]))
		i++;
	if (len - i < 6 || memcmp(text + i, "DMARC1", 6) != 0)
		return false;
	for (i += 6; i < len && dmarc_wsp(text[i]); i++)
		;
	return i == len || text[i] == ';';
}

/* dmarc_why - format why, if there is room */
static void
dmarc_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* dmarc_clean - a tag value fit for a message: printable, at most 32 */
static const char *
dmarc_clean(const char *v, size_t len, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < size && i < 32; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* dmarc_tag_is - is the tag name (len bytes) equal to name, any case? */
static bool
dmarc_tag_is(const char *tag, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(tag, name, len) == 0;
}

/* dmarc_parse_policy - "none" "quarantine" "reject", any case */
static enum dmarc_policy
dmarc_parse_policy(const char *v, size_t len)
{
	if (dmarc_tag_is(v, len, "none"))
		return DMARC_POLICY_NONE;
	if (dmarc_tag_is(v, len, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (dmarc_tag_is(v, len, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

/*
 * dmarc_uri_ok - does a comma-separated rua= list hold at least one
 * syntactically valid URI (RFC 7489 6.4 dmarc-uri: scheme ":" more)?
 */
static bool
dmarc_uri_ok(const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start, scheme;

		while (i < len && dmarc_space(v[i]))
			i++;
		start = i;
		while (i < len &&
		    (isalnum((unsigned char)v[i]) || v[i] == '+' ||
			v[i] == '-' || v[i] == '.'))
			i++;
		scheme = i - start;
		if (scheme > 0 && isalpha((unsigned char)v[start]) && i < len &&
		    v[i] == ':' && i + 1 < len && v[i + 1] != ',' &&
		    !dmarc_space(v[i + 1]))
			return true;
		while (i < len && v[i] != ',')
			i++;
		i++;
	}
	return false;
}

/* dmarc_record_parse - parse one DMARC record (RFC 7489 6.3, 6.4) */
int
dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec,
    char *why, size_t why_size)
{
	char vbuf[48];
	bool p_seen = false, p_bad = false, sp_seen = false, sp_bad = false;
	const char *bad_tag = NULL, *bad_val = NULL;
	size_t bad_len = 0, i;

	memset(rec, 0, sizeof(*rec));
	rec->adkim = rec->aspf = DMARC_ALIGN_RELAXED;
	rec->pct = 100;
	if (why != NULL && why_size > 0)
		*why = '\0';
	if (text == NULL)
		len = 0;
	if (len > DMARC_MAX_RECORD) {
		dmarc_why(
		    why, why_size, "record over %d bytes", DMARC_MAX_RECORD);
		return -1;
	}
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		dmarc_why(why, why_size, "NUL byte in record");
		return -1;
	}
	if (!dmarc_record_is_dmarc(text, len)) {
		dmarc_why(why, why_size, "does not start with v=DMARC1");
		return -1;
	}
	/* Skip the version tag: dmarc_record_is_dmarc checked it. */
	for (i = 0; i < len && text[i] != ';'; i++)
		;
	while (i < len) {
		const char *tag, *val, *eq;
		size_t tlen, vlen, end;

		i++; /* the ';' */
		for (end = i; end < len && text[end] != ';'; end++)
			;
		tag = text + i;
		tlen = end - i;
		i = end;
		eq = memchr(tag, '=', tlen);
		/* RFC 7489 6.4 allows a final ';'; odd chunks are skipped. */
		if (eq == NULL)
			continue;
		val = eq + 1;
		vlen = tlen - (size_t)(val - tag);
		tlen = (size_t)(eq - tag);
		while (tlen > 0 && dmarc_space(*tag)) {
			tag++;
			tlen--;
		}
		while (tlen > 0 && dmarc_space(tag[tlen - 1]))
			tlen--;
		while (vlen > 0 && dmarc_space(*val)) {
			val++;
			vlen--;
		}
		while (vlen > 0 && dmarc_space(val[vlen - 1]))
			vlen--;

		/* The first occurrence of a tag counts; repeats are skipped. */
		if (dmarc_tag_is(tag, tlen, "p")) {
			if (p_seen)
				continue;
			p_seen = true;
			rec->p = dmarc_parse_policy(val, vlen);
			if (rec->p == DMARC_POLICY_UNSET && !p_bad && !sp_bad) {
				p_bad = true;
				bad_tag = "p";
				bad_val = val;
				bad_len = vlen;
			}
		} else if (dmarc_tag_is(tag, tlen, "sp")) {
			if (sp_seen)
				continue;
			sp_seen = true;
			rec->sp = dmarc_parse_policy(val, vlen);
			if (rec->sp == DMARC_POLICY_UNSET && !p_bad) {
				sp_bad = true;
				bad_tag = "sp";
				bad_val = val;
				bad_len = vlen;
			}
		} else if (dmarc_tag_is(tag, tlen, "adkim") ||
		    dmarc_tag_is(tag, tlen, "aspf")) {
			enum dmarc_align *a =
			    tlen == 5 ? &rec->adkim : &rec->aspf;

			if (dmarc_tag_is(val, vlen, "s"))
				*a = DMARC_ALIGN_STRICT;
			else if (dmarc_tag_is(val, vlen, "r"))
				*a = DMARC_ALIGN_RELAXED;
		} else if (dmarc_tag_is(tag, tlen, "pct")) {
			unsigned n = 0;
			size_t k;

			/* 1*3DIGIT, 0..100; anything else keeps 100 */
			for (k = 0; k < vlen && k < 4 &&
			     isdigit((unsigned char)val[k]);
			     k++)
				n = n * 10 + (unsigned)(val[k] - '0');
			if (vlen > 0 && vlen <= 3 && k == vlen && n <= 100)
				rec->pct = n;
		} else if (dmarc_tag_is(tag, tlen, "rua")) {
			if (dmarc_uri_ok(val, vlen))
				rec->rua = true;
		}
		/* v (repeated), ruf, fo, ri, rf and unknown tags: skipped */
	}
	if (!p_seen && !sp_bad) {
		p_bad = true;
		bad_tag = NULL;
	}
	if (!p_bad && !sp_bad)
		return 0;
	if (bad_tag != NULL)
		dmarc_why(why, why_size, "invalid %s=%s", bad_tag,
		    dmarc_clean(bad_val, bad_len, vbuf, sizeof(vbuf)));
	else
		dmarc_why(why, why_size, "no p= tag");
	if (!rec->rua)
		return -1;
	/* RFC 7489 6.6.3 step 6: as if "v=DMARC1; p=none" was found. */
	rec->p = DMARC_POLICY_NONE;
	rec->sp = DMARC_POLICY_UNSET;
	rec->adkim = rec->aspf = DMARC_ALIGN_RELAXED;
	rec->pct = 100;
	rec->p_replaced = true;
	return 0;
}

/*
 * dmarc_classify - what one answer holds: several, one (index in
 * *which) or no DMARC record, or a DNS error (text in why)
 */
static enum dmarc_found
dmarc_classify(const struct dns_result *res, size_t *which)
{
	size_t i, found = 0;

	switch (res->status) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		return DMARC_FOUND_TEMPFAIL;
	default:
		/* NXDOMAIN, NODATA; BADNAME cannot be a DMARC name. */
		return DMARC_FOUND_NONE;
	}
	/* RFC 7489 6.6.3 step 2: records not starting with v=DMARC1 go. */
	for (i = 0; i < res->count; i++) {
		if (res->rr[i].type != DNS_T_TXT || res->rr[i].text == NULL ||
		    !dmarc_record_is_dmarc(res->rr[i].text, res->rr[i].len))
			continue;
		if (found++ == 0)
			*which = i;
	}
	if (found > 1)
		return DMARC_FOUND_SEVERAL;
	return found == 1 ? DMARC_FOUND_ONE : DMARC_FOUND_NONE;
}

/* dmarc_start - ask TXT at _dmarc.<domain>; NULL *q_r if too long */
static int
dmarc_start(struct dns_resolver *r, const char *domain,
    char name[DMARC_NAME_MAX + 1], struct dns_query **q_r)
{
	*q_r = NULL;
	/* A name over 253 octets has no record: RFC 1035 2.3.4. */
	if (strlen(DMARC_PREFIX) + strlen(domain) > DMARC_NAME_MAX)
		return 0;
	snprintf(name, DMARC_NAME_MAX + 1, DMARC_PREFIX "%s", domain);
	if ((*q_r = dns_query_start(r, name, DNS_T_TXT)) == NULL)
		return -1;
	return 0;
}

/* dmarc_set - set result, policy, disposition "none" and reason */
static void
dmarc_set(
    struct dmarc_outcome *out, enum result_code result, const char *fmt, ...)
{
	va_list ap;

	out->result = result;
	snprintf(out->disposition, sizeof(out->disposition), "none");
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* dmarc_append - add "; text" to the reason (cut if no room) */
static void
dmarc_append(struct dmarc_outcome *out, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(out->reason);

	if (n + 2 >= sizeof(out->reason))
		return;
	if (n > 0) {
		memcpy(out->reason + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out->reason + n, sizeof(out->reason) - n, fmt, ap);
	va_end(ap);
}

/* dmarc_weaker - the next weaker policy (RFC 7489 6.6.4) */
static enum dmarc_policy
dmarc_weaker(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE
					: DMARC_POLICY_NONE;
}

/* dmarc_evaluate - alignment, result and disposition for a record */
static void
dmarc_evaluate(const struct dmarc_input *in, const struct dmarc_record *rec,
    const char *record_domain, struct dmarc_outcome *out)
{
	enum dmarc_policy policy = rec->p;
	const char *dkim_d = NULL;
	size_t i;

	/* RFC 7489 6.3: sp= applies to subdomains of the record's domain. */
	if (out->from_org_record && rec->sp != DMARC_POLICY_UNSET)
		policy = rec->sp;
	snprintf(
	    out->policy, sizeof(out->policy), "%s", dmarc_policy_name(policy));

	/* RFC 7489 3.1.2, 4.2: only an SPF pass can be aligned. */
	out->aligned_spf = in->spf_domain != NULL &&
	    in->spf_result == RESULT_PASS &&
	    dmarc_aligned(out->header_from, in->spf_domain, rec->aspf);
	/* RFC 7489 3.1.1: any one passing, aligned signature will do. */
	for (i = 0; i < in->dkim_count && in->dkim_domains != NULL &&
	     in->dkim_results != NULL;
	     i++) {
		if (in->dkim_results[i] == RESULT_PASS &&
		    in->dkim_domains[i] != NULL &&
		    dmarc_aligned(
			out->header_from, in->dkim_domains[i], rec->adkim)) {
			out->aligned_dkim = true;
			dkim_d = in->dkim_domains[i];
			break;
		}
	}
	if (out->aligned_spf || out->aligned_dkim) {
		char s[DMARC_NAME_MAX + 1] = "", d[DMARC_NAME_MAX + 1] = "";

		if (out->aligned_spf)
			dmarc_normalize(in->spf_domain, s, sizeof(s));
		if (out->aligned_dkim)
			dmarc_normalize(dkim_d, d, sizeof(d));
		dmarc_set(out, RESULT_PASS, "aligned %s%s%s%s%s%s%s",
		    out->aligned_spf ? "SPF pass (" : "", s,
		    out->aligned_spf ? ")" : "",
		    out->aligned_spf && out->aligned_dkim ? " and " : "",
		    out->aligned_dkim ? "DKIM pass (d=" : "", d,
		    out->aligned_dkim ? ")" : "");
	} else {
		enum dmarc_policy disp = policy;

		dmarc_set(out, RESULT_FAIL, "no aligned SPF or DKIM pass");
		/* RFC 7489 6.6.4: outside the pct= share, one step weaker */
		if (in->sample >= rec->pct && policy != DMARC_POLICY_NONE) {
			disp = dmarc_weaker(policy);
			dmarc_append(out, "pct=%u: %s as %s", rec->pct,
			    dmarc_policy_name(policy), dmarc_policy_name(disp));
		}
		snprintf(out->disposition, sizeof(out->disposition), "%s",
		    dmarc_policy_name(disp));
	}
	if (out->from_org_record)
		dmarc_append(out, "%s of %s",
		    rec->sp != DMARC_POLICY_UNSET ? "sp=" : "p=",
		    record_domain);
	if (rec->p_replaced)
		dmarc_append(out, "invalid record read as p=none");
}

/* dmarc_check - evaluate DMARC for one message */
int
dmarc_check(struct dns_resolver *r, const struct timespec *deadline,
    const struct dmarc_input *in, struct dmarc_outcome *out)
{
	char org[DMARC_NAME_MAX + 1], name[2][DMARC_NAME_MAX + 1];
	char why[128], esc[2][160];
	struct dns_query *q[2] = { NULL, NULL };
	struct dns_result *res[2] = { NULL, NULL };
	struct dmarc_record rec;
	enum dmarc_found found = DMARC_FOUND_NONE;
	size_t k = 0, which = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	dmarc_set(out, RESULT_TEMPERROR, "out of memory");
	if (in->from_domain == NULL || *in->from_domain == '\0') {
		dmarc_set(out, RESULT_NONE, "no From domain");
		return 0;
	}
	if (dmarc_normalize(in->from_domain, out->header_from,
		sizeof(out->header_from)) != 0 ||
	    dmarc_org_domain(out->header_from, org, sizeof(org)) == NULL) {
		dmarc_set(
		    out, RESULT_PERMERROR, "From domain is not a host name");
		log_escape(in->from_domain, out->header_from,
		    sizeof(out->header_from));
		return 0;
	}
	/* RFC 7489 6.6.3 steps 1 and 3, asked at once. */
	if (dmarc_start(r, out->header_from, name[0], &q[0]) != 0)
		goto done;
	if (strcmp(org, out->header_from) != 0 &&
	    dmarc_start(r, org, name[1], &q[1]) != 0)
		goto done;
	for (k = 0; k < 2; k++) {
		if (q[k] == NULL)
			continue;
		if (dns_query_wait(q[k], deadline, &res[k]) != 0)
			goto done;
		found = dmarc_classify(res[k], &which);
		log_debug(DMARC_LOG_SUB, "dmarc: TXT %s: %s, %s", name[k],
		    dns_status_name(res[k]->status),
		    found == DMARC_FOUND_ONE	       ? "one record"
			: found == DMARC_FOUND_SEVERAL ? "several records"
			: found == DMARC_FOUND_NONE    ? "no record"
						       : "temporary error");
		/* Step 3: fall back only when the set is empty. */
		if (found != DMARC_FOUND_NONE)
			break;
	}
	rc = 0;
	if (k == 2) {
		dmarc_set(out, RESULT_NONE, "no DMARC record");
		goto done;
	}
	out->from_org_record = k == 1;
	switch (found) {
	case DMARC_FOUND_TEMPFAIL:
		dmarc_set(out, RESULT_TEMPERROR, "DNS: %s: %s", name[k],
		    log_escape(res[k]->why, esc[0], sizeof(esc[0])));
		goto done;
	case DMARC_FOUND_SEVERAL:
		/* Step 5: several records, no DMARC processing. */
		dmarc_set(
		    out, RESULT_NONE, "several DMARC records at %s", name[k]);
		goto done;
	default:
		break;
	}
	if (dmarc_record_parse(res[k]->rr[which].text, res[k]->rr[which].len,
		&rec, why, sizeof(why)) != 0) {
		dmarc_set(out, RESULT_PERMERROR, "unusable record at %s: %s",
		    name[k], why);
		goto done;
	}
	dmarc_evaluate(in, &rec, k == 1 ? org : out->header_from, out);
done:
	if (log_debug_on(DMARC_LOG_SUB))
		log_debug(DMARC_LOG_SUB,
		    "dmarc: from=%s result=%s policy=%s disposition=%s "
		    "reason=\"%s\"",
		    out->header_from, result_name(out->result),
		    out->policy[0] != '\0' ? out->policy : "-",
		    out->disposition,
		    log_escape(out->reason, esc[1], sizeof(esc[1])));
	dns_result_free(&res[0]);
	dns_result_free(&res[1]);
	dns_query_free(&q[0]);
	dns_query_free(&q[1]);
	return rc;
}
