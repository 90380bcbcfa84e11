/*
 * NAME
 *	dnsblcheck - ask one DNSBL or RHSBL zone from the command line
 * SUMMARY
 *	dnsblcheck -s ADDR@PORT [-t timeout_ms] [-Z zone_timeout_ms] [-n]
 *	    [-d] -z ZONE -k ip|domain [-m 'MATCH=meaning:action'...] VALUE
 * DESCRIPTION
 *	Builds a resolver that asks only the given servers (no cache), a
 *	dnsbl_map from the -m rows (the action part is an action word,
 *	accept tag quarantine tempfail reject, or an integer score with
 *	action accept; no -m: the built-in map of a NULL map), runs
 *	dnsbl_start() and dnsbl_finish() and prints one line:
 *	    status=S qname=Q code=C codes=C1,C2 meaning="..." action=A
 *	    score=N txt="..." reason="..."
 *	with the strings escaped as log lines are. Used by
 *	tests/integration/test_dnsbl_dns.py against knot and rbldnsd.
 *	-t is the time for one DNS attempt (one retry follows); the whole
 *	lookup gets a deadline of ten times that. -Z sets the zone's own
 *	timeout (default none). TXT is fetched unless -n. -d prints debug
 *	lines of the dns subsystem on stderr.
 * THREADS
 *	One lookup, from the main thread; the resolver has its workers.
 * ERRORS
 *	Exit 0 when a result was printed, 64 (EX_USAGE) on bad arguments
 *	or a bad -m row, 70 (EX_SOFTWARE) when the resolver cannot start or
 *	memory runs out.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "milter/dns.h"
#include "tests/tools/tool_dns.h"
#include "milter/dnsbl.h"
#include "milter/log.h"
#include "policy/dnsbl_map.h"
#include "policy/verdict.h"

#define DNSBLCHECK_MAX_SERVERS 4

/* usage - print the synopsis and exit */
__attribute__((noreturn)) static void
usage(void)
{
	fprintf(stderr,
	    "usage: dnsblcheck -s ADDR@PORT [-t timeout_ms] "
	    "[-Z zone_timeout_ms] [-n] [-d]\n"
	    "           -z ZONE -k ip|domain [-m 'MATCH=meaning:action'...] "
	    "VALUE\n");
	exit(EX_USAGE);
}

/* number - a positive integer option up to 600000, or usage */
static unsigned
number(const char *s)
{
	unsigned long v;
	char *end;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > 600000)
		usage();
	return (unsigned)v;
}

/* map_row - add "MATCH=meaning:action|score" to a map */
static int
map_row(struct dnsbl_map *m, const char *spec)
{
	char *copy, *eq, *colon, *end, *error = NULL;
	enum action action = ACTION_ACCEPT;
	long score = 0;
	int rc = -1;

	if ((copy = strdup(spec)) == NULL)
		return -1;
	if ((eq = strchr(copy, '=')) == NULL ||
	    (colon = strrchr(eq, ':')) == NULL) {
		fprintf(stderr,
		    "dnsblcheck: -m %s: want MATCH=meaning:action\n", spec);
		goto out;
	}
	*eq = '\0';
	*colon = '\0';
	if (verdict_action_parse(colon + 1, &action) != 0) {
		score = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || score < -100000 ||
		    score > 100000) {
			fprintf(stderr,
			    "dnsblcheck: -m %s: %s is neither an action nor a "
			    "score\n",
			    spec, colon + 1);
			goto out;
		}
	}
	if (dnsbl_map_add(m, copy, eq + 1, action, (int)score, &error) != 0) {
		fprintf(stderr, "dnsblcheck: -m: %s\n",
		    error != NULL ? error : "out of memory");
		free(error);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *servers[DNSBLCHECK_MAX_SERVERS];
	struct dns_resolver *r = NULL;
	struct dnsbl_map *map = NULL;
	struct dnsbl_query *q = NULL;
	struct dnsbl_zone zone;
	struct dnsbl_result out;
	struct timespec deadline;
	char *error = NULL;
	char *debug[] = { "dns" };
	char m[512], t[512], rs[512];
	unsigned timeout_ms = 1000;
	size_t nservers = 0;
	bool have_kind = false;
	int ch, rc = EX_SOFTWARE;

	memset(&zone, 0, sizeof(zone));
	zone.want_txt = true;
	while ((ch = getopt(argc, argv, "dk:m:ns:t:z:Z:")) != -1) {
		switch (ch) {
		case 'd':
			log_open("dnsblcheck", true);
			if (log_set_debug(debug, 1) != 0)
				usage();
			break;
		case 'k':
			if (strcmp(optarg, "ip") == 0)
				zone.subject = DNSBL_CLIENT_IP;
			else if (strcmp(optarg, "domain") == 0)
				zone.subject = DNSBL_HELO;
			else
				usage();
			have_kind = true;
			break;
		case 'm':
			if (map == NULL && (map = dnsbl_map_create()) == NULL)
				goto done;
			if (map_row(map, optarg) != 0) {
				rc = EX_USAGE;
				goto done;
			}
			break;
		case 'n':
			zone.want_txt = false;
			break;
		case 's':
			if (nservers == DNSBLCHECK_MAX_SERVERS)
				usage();
			servers[nservers++] = optarg;
			break;
		case 't':
			timeout_ms = number(optarg);
			break;
		case 'z':
			zone.zone = optarg;
			break;
		case 'Z':
			zone.timeout_ms = number(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (nservers == 0 || argc != 1 || zone.zone == NULL || !have_kind)
		usage();
	zone.map = map;

	if (tool_resolver(servers, nservers, timeout_ms, &r, &error) != 0) {
		fprintf(stderr, "dnsblcheck: %s\n",
		    error != NULL ? error : "cannot start the resolver");
		free(error);
		goto done;
	}
	dns_deadline(&deadline, timeout_ms * 10);
	if ((q = dnsbl_start(r, &zone, argv[0])) == NULL)
		goto done;
	if (dnsbl_finish(q, &deadline, &out) != 0)
		goto done;
	printf("status=%s qname=%s code=%s codes=%s meaning=\"%s\" action=%s "
	       "score=%d txt=\"%s\" reason=\"%s\"\n",
	    dnsbl_status_name(out.status),
	    out.qname[0] != '\0' ? out.qname : "-",
	    out.code[0] != '\0' ? out.code : "-",
	    out.codes[0] != '\0' ? out.codes : "-",
	    log_escape(out.meaning, m, sizeof(m)),
	    out.status == DNSBL_LISTED ? verdict_action_name(out.action) : "-",
	    out.score, log_escape(out.txt, t, sizeof(t)),
	    log_escape(out.reason, rs, sizeof(rs)));
	rc = 0;
done:
	dnsbl_free(&q);
	dns_resolver_free(&r);
	dnsbl_map_free(&map);
	return rc;
}
