/*
 * NAME
 *	dmarccheck - run one DMARC evaluation from the command line
 * SUMMARY
 *	dmarccheck -s ADDR@PORT [-t timeout_ms] [-v] -f FROMDOMAIN
 *	    [-m SPFDOMAIN -r SPFRESULT] [-d DKIMDOMAIN:RESULT ...] [-p SAMPLE]
 * DESCRIPTION
 *	Builds a resolver that asks only the given servers (no cache),
 *	loads the Public Suffix List (dmarc_global_init), runs dmarc_check()
 *	with the given From domain, SPF identity and result, DKIM d= and
 *	results (up to 16 signatures) and pct= sample (0..99, default 0),
 *	and prints one line:
 *	    result=R policy=P disposition=D reason="..." header_from="F"
 *	    aligned_spf=yes|no aligned_dkim=yes|no org_record=yes|no
 *	with the strings escaped as log lines are (policy is "-" when there
 *	is no usable record). Used by tests/integration/test_dmarc_dns.py
 *	against knot serving tests/zones. -t is the time for one DNS
 *	attempt (one retry follows); the whole check gets a deadline of ten
 *	times that. -v prints debug lines of the dns and spf (DMARC)
 *	subsystems on stderr.
 * THREADS
 *	One check, from the main thread; the resolver has its workers.
 * ERRORS
 *	Exit 0 when a result was printed, 64 (EX_USAGE) on bad arguments,
 *	70 (EX_SOFTWARE) when the resolver or the list cannot load or
 *	memory runs out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "milter/dmarc.h"
#include "milter/dns.h"
#include "tests/tools/tool_dns.h"
#include "milter/log.h"
#include "policy/result.h"

#define DMARCCHECK_MAX_SERVERS 4
#define DMARCCHECK_MAX_DKIM 16

/* usage - print the synopsis and exit */
__attribute__((noreturn)) static void
usage(void)
{
	fprintf(stderr,
	    "usage: dmarccheck -s ADDR@PORT [-t timeout_ms] [-v] "
	    "-f FROMDOMAIN\n"
	    "           [-m SPFDOMAIN -r SPFRESULT] [-d DKIMDOMAIN:RESULT ...] "
	    "[-p SAMPLE]\n");
	exit(EX_USAGE);
}

/* number - parse a decimal in [min, max] or exit with usage */
static unsigned long
number(const char *text, unsigned long min, unsigned long max)
{
	unsigned long n;
	char *end;

	n = strtoul(text, &end, 10);
	if (*text == '\0' || *end != '\0' || n < min || n > max)
		usage();
	return n;
}

int
main(int argc, char **argv)
{
	const char *servers[DMARCCHECK_MAX_SERVERS];
	const char *dkim_domains[DMARCCHECK_MAX_DKIM];
	enum result_code dkim_results[DMARCCHECK_MAX_DKIM];
	struct dmarc_input in;
	struct dmarc_outcome out;
	struct dns_resolver *r = NULL;
	struct timespec deadline;
	char *error = NULL, *colon, reason[320], from[300];
	char *debug[] = { "dns", "spf" };
	unsigned long timeout_ms = 1000;
	size_t nservers = 0;
	bool spf_result_set = false;
	int ch, rc = EX_SOFTWARE;

	memset(&in, 0, sizeof(in));
	in.spf_result = RESULT_NONE;
	while ((ch = getopt(argc, argv, "d:f:m:p:r:s:t:v")) != -1) {
		switch (ch) {
		case 'd':
			if (in.dkim_count == DMARCCHECK_MAX_DKIM ||
			    (colon = strrchr(optarg, ':')) == NULL)
				usage();
			*colon = '\0';
			if (result_parse(
				colon + 1, &dkim_results[in.dkim_count]) != 0)
				usage();
			dkim_domains[in.dkim_count++] = optarg;
			break;
		case 'f':
			in.from_domain = optarg;
			break;
		case 'm':
			in.spf_domain = optarg;
			break;
		case 'p':
			in.sample = (unsigned)number(optarg, 0, 99);
			break;
		case 'r':
			if (result_parse(optarg, &in.spf_result) != 0)
				usage();
			spf_result_set = true;
			break;
		case 's':
			if (nservers == DMARCCHECK_MAX_SERVERS)
				usage();
			servers[nservers++] = optarg;
			break;
		case 't':
			timeout_ms = number(optarg, 1, 600000);
			break;
		case 'v':
			log_open("dmarccheck", true);
			if (log_set_debug(debug, 2) != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || nservers == 0 || in.from_domain == NULL ||
	    (in.spf_domain != NULL) != spf_result_set)
		usage();
	in.dkim_domains = dkim_domains;
	in.dkim_results = dkim_results;

	if (dmarc_global_init(&error) != 0) {
		fprintf(stderr, "dmarccheck: %s\n",
		    error != NULL ? error : "cannot load the PSL");
		free(error);
		return EX_SOFTWARE;
	}
	if (tool_resolver(
		servers, nservers, (unsigned)timeout_ms, &r, &error) != 0) {
		fprintf(stderr, "dmarccheck: %s\n",
		    error != NULL ? error : "cannot start the resolver");
		free(error);
		goto done;
	}
	dns_deadline(&deadline, (unsigned)timeout_ms * 10);
	if (dmarc_check(r, &deadline, &in, &out) == 0) {
		printf("result=%s policy=%s disposition=%s reason=\"%s\" "
		       "header_from=\"%s\" aligned_spf=%s aligned_dkim=%s "
		       "org_record=%s\n",
		    result_name(out.result),
		    out.policy[0] != '\0' ? out.policy : "-", out.disposition,
		    log_escape(out.reason, reason, sizeof(reason)),
		    log_escape(out.header_from, from, sizeof(from)),
		    out.aligned_spf ? "yes" : "no",
		    out.aligned_dkim ? "yes" : "no",
		    out.from_org_record ? "yes" : "no");
		rc = 0;
	}
done:
	dns_resolver_free(&r);
	dmarc_global_free();
	return rc;
}
