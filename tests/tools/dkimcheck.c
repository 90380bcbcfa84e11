/*
 * NAME
 *	dkimcheck - verify or sign one message file from the command line
 * SUMMARY
 *	dkimcheck -s ADDR@PORT [-t timeout_ms] [-m max_sigs] [-d] verify FILE
 *	dkimcheck -k KEYTABLE [-D domain] [-c chunk] sign FILE
 * DESCRIPTION
 *	Reads a message (LF or CRLF line ends), hands its header fields to
 *	dkimverify or dkimsign the way libmilter does (name, value without
 *	the space after the colon, continuation lines joined with "\n"),
 *	then the body with CRLF line ends in chunks of 65535 bytes
 *	(libmilter's), or of -c bytes (1..65535, verify and sign: a test of
 *	CRLF pairs and WSP runs split across chunks).
 *
 *	verify: builds a resolver that asks only the given servers (no
 *	cache) and prints one line per reported signature:
 *	    result=R d=D s=S b=B a=A i=I bits=N reason="..."
 *	or "result=none reason=\"no signature\"" for none, then
 *	"ignored=N" if signatures were left unverified. Strings are
 *	escaped as log lines are. Used by tests/integration/test_dkim_dns.py
 *	against knot serving tests/zones.
 *
 *	sign: loads the key table, signs with the key of -D DOMAIN (default:
 *	the domain of the From address, else the table's only key) and
 *	prints the message with the new DKIM-Signature field on top, LF
 *	line ends.
 * ERRORS
 *	Exit 0 when a result or a signed message was printed, 64
 *	(EX_USAGE) on bad arguments, 66 (EX_NOINPUT) for an unreadable
 *	file, 78 (EX_CONFIG) for a bad key table, 70 (EX_SOFTWARE) when
 *	something else fails.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "milter/dkimsign.h"
#include "milter/dkimverify.h"
#include "milter/dns.h"
#include "tests/tools/tool_dns.h"
#include "milter/log.h"
#include "policy/keytable.h"

#define DKIMCHECK_MAX_SERVERS 4
#define DKIMCHECK_CHUNK 65535 /* libmilter's MILTER_CHUNK_SIZE */
#define DKIMCHECK_MAX_FILE (64 << 20)

static size_t dkimcheck_chunk = DKIMCHECK_CHUNK; /* -c: body chunk size */

/* Where a message is fed: verifier or signer. */
struct dkimcheck_sink {
	struct dkimverify *v;  /* verifying, or NULL */
	struct dkimsign *s;    /* signing, or NULL */
	char from_domain[256]; /* domain of the first From address */
};

/* usage - print the synopsis and exit */
__attribute__((noreturn)) static void
usage(void)
{
	fprintf(stderr,
	    "usage: dkimcheck -s ADDR@PORT [-t timeout_ms] [-m max_sigs] "
	    "[-d] verify FILE\n"
	    "       dkimcheck -k KEYTABLE [-D domain] [-c chunk] sign FILE\n");
	exit(EX_USAGE);
}

/* read_file - the whole file, NUL-terminated; NULL on error */
static char *
read_file(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t len = 0, size = 0, n;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (size - len < 65536) {
			if (size > DKIMCHECK_MAX_FILE)
				goto fail;
			size = size == 0 ? 65536 : size * 2;
			if ((nb = realloc(buf, size + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		n = fread(buf + len, 1, size - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp))
		goto fail;
	fclose(fp);
	buf[len] = '\0';
	*len_r = len;
	return buf;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

/* line_end - end of the line at p (before CR LF or LF), and the next */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
}

/* note_from - remember the domain of a From field value */
static void
note_from(struct dkimcheck_sink *k, const char *value)
{
	const char *at = strrchr(value, '@'), *e;
	size_t n;

	if (k->from_domain[0] != '\0' || at == NULL)
		return;
	at++;
	for (e = at; *e != '\0' && *e != '>' && *e != ' ' && *e != '\n' &&
	     *e != '\r' && *e != '\t' && *e != ';' && *e != ',';
	     e++)
		;
	n = (size_t)(e - at);
	if (n >= sizeof(k->from_domain))
		n = sizeof(k->from_domain) - 1;
	memcpy(k->from_domain, at, n);
	k->from_domain[n] = '\0';
}

/*
 * feed_header - split the header into fields and hand them over
 * Returns the start of the body, or NULL on a sink error.
 */
static const char *
feed_header(struct dkimcheck_sink *k, const char *msg, const char *end,
    bool headers_only)
{
	const char *p = msg, *e, *next, *colon;
	char *field = NULL, *nf;
	size_t flen = 0, fsize = 0, n;
	int rc = 0;

	while (p < end) {
		e = line_end(p, end, &next);
		if (e == p)
			break; /* empty line: end of the header */
		/* a field: this line and its continuation lines */
		flen = 0;
		for (;;) {
			n = (size_t)(e - p);
			if (flen + n + 2 > fsize) {
				fsize = (flen + n + 2) * 2;
				if ((nf = realloc(field, fsize)) == NULL) {
					free(field);
					return NULL;
				}
				field = nf;
			}
			if (flen > 0)
				field[flen++] = '\n';
			memcpy(field + flen, p, n);
			flen += n;
			p = next;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
			e = line_end(p, end, &next);
		}
		field[flen] = '\0';
		if ((colon = strchr(field, ':')) == NULL)
			continue; /* not a field: libmilter never sends it */
		field[colon - field] = '\0';
		colon++;
		if (*colon == ' ')
			colon++;
		if (strcasecmp(field, "From") == 0)
			note_from(k, colon);
		if (headers_only)
			continue;
		rc = k->v != NULL ? dkimverify_header(k->v, field, colon)
				  : dkimsign_header(k->s, field, colon);
		if (rc != 0)
			break;
	}
	free(field);
	if (rc != 0)
		return NULL;
	if (p < end) {
		(void)line_end(p, end, &next);
		p = next;
	}
	return p;
}

/* feed_chunk - hand one body chunk over */
static int
feed_chunk(struct dkimcheck_sink *k, const unsigned char *data, size_t n)
{
	return k->v != NULL ? dkimverify_body(k->v, data, n)
			    : dkimsign_body(k->s, data, n);
}

/*
 * feed_body - the body with CRLF line ends, in chunks of exactly
 * dkimcheck_chunk bytes but the last (so a CR and its LF can be split)
 */
static int
feed_body(struct dkimcheck_sink *k, const char *p, const char *end)
{
	unsigned char *chunk = malloc(dkimcheck_chunk);
	size_t n = 0;
	char prev = '\0';
	int rc = 0, add;

	if (chunk == NULL)
		return -1;
	for (; p < end && rc == 0; p++) {
		for (add = *p == '\n' && prev != '\r' ? 2 : 1;
		     add > 0 && rc == 0; add--) {
			chunk[n++] = add == 2 ? '\r' : (unsigned char)*p;
			if (n == dkimcheck_chunk) {
				rc = feed_chunk(k, chunk, n);
				n = 0;
			}
		}
		prev = *p;
	}
	if (rc == 0 && n > 0)
		rc = feed_chunk(k, chunk, n);
	free(chunk);
	return rc;
}

/* print_sig - one line for one signature */
static void
print_sig(const struct dkimverify_sig *s)
{
	char d[600], sel[200], b[40], a[80], i[600], r[400];

	printf("result=%s d=%s s=%s b=%s a=%s i=%s bits=%u reason=\"%s\"\n",
	    result_name(s->result), log_escape(s->domain, d, sizeof(d)),
	    log_escape(s->selector, sel, sizeof(sel)),
	    log_escape(s->b, b, sizeof(b)),
	    log_escape(s->algorithm, a, sizeof(a)),
	    log_escape(s->identity, i, sizeof(i)), s->key_bits,
	    log_escape(s->reason, r, sizeof(r)));
}

/* do_verify - verify a message; prints the outcome */
static int
do_verify(const char *const *servers, size_t nservers, unsigned long timeout_ms,
    unsigned max_sigs, const char *msg, size_t len)
{
	struct dns_resolver *r = NULL;
	struct dkimverify_lib *lib = NULL;
	struct dkimcheck_sink k;
	struct dkimverify_outcome out;
	struct timespec deadline;
	const char *body;
	char *error = NULL;
	size_t i;
	int rc = EX_SOFTWARE;

	if (tool_resolver(
		servers, nservers, (unsigned)timeout_ms, &r, &error) != 0 ||
	    dkimverify_lib_new(&lib, &error) != 0) {
		fprintf(stderr, "dkimcheck: %s\n",
		    error != NULL ? error : "cannot start");
		goto done;
	}
	dns_deadline(&deadline, (unsigned)timeout_ms * 10);
	memset(&k, 0, sizeof(k));
	if ((k.v = dkimverify_new(lib, r, &deadline, max_sigs, "dkimcheck")) ==
	    NULL) {
		fprintf(stderr, "dkimcheck: cannot start a verifier\n");
		goto done;
	}
	body = feed_header(&k, msg, msg + len, false);
	if (body == NULL || dkimverify_eoh(k.v) != 0 ||
	    feed_body(&k, body, msg + len) != 0)
		fprintf(stderr, "dkimcheck: verifier failed\n");
	/* The outcome is printed even then: it says temperror. */
	(void)dkimverify_eom(k.v, &out);
	if (out.count == 0)
		printf("result=none reason=\"no signature\"\n");
	for (i = 0; i < out.count; i++)
		print_sig(&out.sig[i]);
	if (out.ignored > 0)
		printf("ignored=%zu\n", out.ignored);
	dkimverify_free(&k.v);
	rc = 0;
done:
	free(error);
	dkimverify_lib_free(&lib);
	dns_resolver_free(&r);
	return rc;
}

/* do_sign - sign a message; prints it with the signature on top */
static int
do_sign(const char *table, const char *domain, const char *msg, size_t len)
{
	struct keytable *kt = NULL;
	struct dkimverify_lib *lib = NULL;
	const struct keytable_key *key;
	struct dkimcheck_sink k;
	const char *body, *name;
	char *error = NULL, *value = NULL;
	int rc = EX_SOFTWARE;

	memset(&k, 0, sizeof(k));
	if (keytable_load(table, &kt, &error) != 0) {
		fprintf(stderr, "dkimcheck: %s\n", error);
		rc = EX_CONFIG;
		goto done;
	}
	if (domain == NULL) {
		(void)feed_header(&k, msg, msg + len, true);
		domain = k.from_domain;
	}
	if ((key = keytable_find(kt, domain)) == NULL &&
	    (keytable_count(kt) != 1 ||
		(key = keytable_key_at(kt, 0)) == NULL)) {
		fprintf(stderr, "dkimcheck: no key for %s\n", domain);
		rc = EX_CONFIG;
		goto done;
	}
	if (dkimverify_lib_new(&lib, &error) != 0 ||
	    (k.s = dkimsign_new(lib, key, "dkimcheck", NULL, &error)) == NULL) {
		fprintf(stderr, "dkimcheck: %s\n",
		    error != NULL ? error : "cannot start");
		goto done;
	}
	body = feed_header(&k, msg, msg + len, false);
	if (body != NULL)
		(void)feed_body(&k, body, msg + len);
	if (dkimsign_eom(k.s, &name, &value, &error) != 0) {
		fprintf(stderr, "dkimcheck: %s\n", error);
		goto done;
	}
	printf("%s: %s\n", name, value);
	fwrite(msg, 1, len, stdout);
	rc = 0;
done:
	free(value);
	free(error);
	dkimsign_free(&k.s);
	dkimverify_lib_free(&lib);
	keytable_free(&kt);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *servers[DKIMCHECK_MAX_SERVERS];
	const char *table = NULL, *domain = NULL;
	char *debug[] = { "dns" }, *end, *msg;
	unsigned long timeout_ms = 1000, max_sigs = DKIMVERIFY_MAX_SIGS, chunk;
	size_t nservers = 0, len;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:D:dk:m:s:t:")) != -1) {
		switch (ch) {
		case 'c':
			chunk = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || chunk == 0 ||
			    chunk > DKIMCHECK_CHUNK)
				usage();
			dkimcheck_chunk = chunk;
			break;
		case 'D':
			domain = optarg;
			break;
		case 'd':
			log_open("dkimcheck", true);
			if (log_set_debug(debug, 1) != 0)
				usage();
			break;
		case 'k':
			table = optarg;
			break;
		case 'm':
			max_sigs = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || max_sigs == 0 ||
			    max_sigs > DKIMVERIFY_MAX_SIGS)
				usage();
			break;
		case 's':
			if (nservers == DKIMCHECK_MAX_SERVERS)
				usage();
			servers[nservers++] = optarg;
			break;
		case 't':
			timeout_ms = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    timeout_ms == 0 || timeout_ms > 600000)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	if (strcmp(argv[0], "verify") == 0) {
		if (nservers == 0)
			usage();
	} else if (strcmp(argv[0], "sign") == 0) {
		if (table == NULL)
			usage();
	} else {
		usage();
	}
	if ((msg = read_file(argv[1], &len)) == NULL) {
		fprintf(stderr, "dkimcheck: %s: %s\n", argv[1],
		    errno != 0 ? strerror(errno) : "cannot read");
		return EX_NOINPUT;
	}
	if (strcmp(argv[0], "verify") == 0)
		rc = do_verify(servers, nservers, timeout_ms,
		    (unsigned)max_sigs, msg, len);
	else
		rc = do_sign(table, domain, msg, len);
	free(msg);
	return rc;
}
