/*
 * NAME
 *	authcheck - run one SPF or iprev check from the command line
 * SUMMARY
 *	authcheck -s ADDR@PORT [-t timeout_ms] [-r receiver] [-d]
 *	    spf IP HELO MAILFROM | helo IP HELO | iprev IP
 * DESCRIPTION
 *	Builds a resolver that asks only the given servers (no cache), runs
 *	spf_check() for the MAIL FROM identity ("spf"; MAILFROM "" is the
 *	null sender), for the HELO identity ("helo"), or iprev_start() and
 *	iprev_finish() ("iprev"), and prints one line:
 *	    result=R reason="..." explanation="..." [name="..."]
 *	with the strings escaped as log lines are. Used by
 *	tests/integration/test_auth_dns.py against knot serving tests/zones.
 *	-t is the time for one DNS attempt (one retry follows); the whole
 *	check gets a deadline of ten times that. -d prints debug lines of
 *	the dns, spf and iprev subsystems on stderr.
 * THREADS
 *	One check, from the main thread; the resolver has its workers.
 * ERRORS
 *	Exit 0 when a result was printed, 64 (EX_USAGE) on bad arguments,
 *	70 (EX_SOFTWARE) when the resolver cannot start or memory runs out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lists/cidr.h"
#include "milter/dns.h"
#include "tests/tools/tool_dns.h"
#include "milter/iprev.h"
#include "milter/log.h"
#include "milter/spf.h"

#define AUTHCHECK_MAX_SERVERS 4

/* usage - print the synopsis and exit */
__attribute__((noreturn)) static void
usage(void)
{
	fprintf(stderr,
	    "usage: authcheck -s ADDR@PORT [-t timeout_ms] [-r receiver] "
	    "[-d]\n"
	    "           spf IP HELO MAILFROM | helo IP HELO | iprev IP\n");
	exit(EX_USAGE);
}

/* print_result - one line: result, reason, explanation, name */
static void
print_result(enum result_code result, const char *reason,
    const char *explanation, const char *name)
{
	char r[512], e[512], n[512];

	printf("result=%s reason=\"%s\" explanation=\"%s\"",
	    result_name(result), log_escape(reason, r, sizeof(r)),
	    log_escape(explanation, e, sizeof(e)));
	if (name != NULL)
		printf(" name=\"%s\"", log_escape(name, n, sizeof(n)));
	printf("\n");
}

int
main(int argc, char **argv)
{
	const char *servers[AUTHCHECK_MAX_SERVERS];
	struct dns_resolver *r = NULL;
	struct timespec deadline;
	const char *receiver = "mx.sakimori.test";
	char *error = NULL, *end;
	char *debug[] = { "dns", "spf", "iprev" };
	unsigned long timeout_ms = 1000;
	size_t nservers = 0;
	int ch, rc = EX_SOFTWARE;

	while ((ch = getopt(argc, argv, "dr:s:t:")) != -1) {
		switch (ch) {
		case 'd':
			log_open("authcheck", true);
			if (log_set_debug(debug, 3) != 0)
				usage();
			break;
		case 'r':
			receiver = optarg;
			break;
		case 's':
			if (nservers == AUTHCHECK_MAX_SERVERS)
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
	if (nservers == 0 || argc < 2)
		usage();
	if (!((strcmp(argv[0], "spf") == 0 && argc == 4) ||
		(strcmp(argv[0], "helo") == 0 && argc == 3) ||
		(strcmp(argv[0], "iprev") == 0 && argc == 2)))
		usage();

	if (tool_resolver(
		servers, nservers, (unsigned)timeout_ms, &r, &error) != 0) {
		fprintf(stderr, "authcheck: %s\n",
		    error != NULL ? error : "cannot start the resolver");
		free(error);
		return EX_SOFTWARE;
	}
	dns_deadline(&deadline, (unsigned)timeout_ms * 10);

	if (strcmp(argv[0], "iprev") == 0) {
		struct cidr_addr addr;
		struct iprev_query *q;
		struct iprev_outcome out;

		if (cidr_addr_parse(argv[1], &addr) != 0) {
			fprintf(
			    stderr, "authcheck: %s: not an address\n", argv[1]);
			rc = EX_USAGE;
			goto done;
		}
		if ((q = iprev_start(r, &addr)) == NULL)
			goto done;
		if (iprev_finish(q, &deadline, 10, &out) == 0) {
			print_result(out.result, out.reason, "", out.name);
			rc = 0;
		}
		iprev_free(&q);
	} else {
		struct spf_outcome out;
		int helo_only = strcmp(argv[0], "helo") == 0;

		if (spf_check(r, &deadline, argv[1], argv[2],
			helo_only ? NULL : argv[3], receiver, &out) == 0) {
			print_result(
			    out.result, out.reason, out.explanation, NULL);
			rc = 0;
		}
	}
done:
	dns_resolver_free(&r);
	return rc;
}
