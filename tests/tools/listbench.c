/*
 * NAME
 *	listbench - timings of list loading and lookups
 * SUMMARY
 *	listbench [ENTRIES [LOOKUPS]]
 * DESCRIPTION
 *	Prints figures, asserts nothing (make bench):
 *	- build an ip list of ENTRIES (default 1,000,000) IPv4 and IPv6
 *	  addresses and CIDR ranges: wall time, added memory (VmRSS of
 *	  /proc/self/status before and after), the snapshot's own size;
 *	- LOOKUPS (default 4,000,000) random lookups, half hits, half
 *	  misses: ns per lookup; a one-entry delta; both exports;
 *	- the same for a domain list of ENTRIES names;
 *	- 1,000 PCRE2 patterns over 100-byte Subject values: microseconds
 *	  per message with the patterns joined into alternations and with
 *	  one pass per pattern, and the number of passes.
 *	Randomness is a fixed xorshift sequence, so runs compare.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lists/cidr.h"
#include "lists/list.h"
#include "lists/patterns.h"

static uint64_t rng = 88172645463325252ULL; /* xorshift64 state */

/* next - the next pseudo-random number */
static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* seconds - monotonic time in seconds */
static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rss_kb - VmRSS of this process in kB, or 0 */
static long
rss_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	}
	fclose(fp);
	return kb;
}

/* gen_ip_text - ENTRIES distinct ranges, 90% IPv4, as list text */
static char *
gen_ip_text(size_t n, size_t *len_r, uint32_t **nets_r, size_t *n4_r)
{
	uint32_t *nets;
	char *text = NULL;
	size_t size = 0, i, n4 = n - n / 10;
	FILE *fp;

	if ((nets = calloc(n4, sizeof(*nets))) == NULL ||
	    (fp = open_memstream(&text, &size)) == NULL) {
		fprintf(stderr, "listbench: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n4; i++) {
		/* An odd multiplier is a bijection mod 2^24: distinct /24s. */
		uint32_t x = (uint32_t)((i * 2654435761ULL) & 0xffffff) << 8;

		nets[i] = x;
		if (i % 2 == 0)
			fprintf(fp, "%u.%u.%u.0/24%s\n", x >> 24,
			    (x >> 16) & 255, (x >> 8) & 255,
			    i % 8 == 0 ? " listed for spam" : "");
		else
			fprintf(fp, "%u.%u.%u.%u\n", x >> 24, (x >> 16) & 255,
			    (x >> 8) & 255, 1 + (unsigned)(i % 200));
	}
	for (i = 0; i < n - n4; i++)
		fprintf(fp, "2001:db8:%zx:%zx::/64\n", i >> 16, i & 0xffff);
	fclose(fp);
	*len_r = size;
	*nets_r = nets;
	*n4_r = n4;
	return text;
}

/* bench_ip - load and look up an ip list */
static void
bench_ip(size_t n, size_t lookups)
{
	struct list_snapshot *s = NULL, *d = NULL;
	struct cidr_addr *addrs;
	FILE *null;
	struct list_hit hit;
	uint32_t *nets;
	char *text, *error = NULL;
	size_t len, n4, i, hits = 0;
	long before, after;
	double t0, t1;

	text = gen_ip_text(n, &len, &nets, &n4);
	if ((addrs = calloc(lookups, sizeof(*addrs))) == NULL)
		exit(1);
	for (i = 0; i < lookups; i++) {
		uint32_t a;

		if (i % 2 == 0) /* in a listed /24 (a hit unless a /32 entry) */
			a = nets[next() % n4] | (uint32_t)(next() % 256);
		else
			a = (uint32_t)next();
		addrs[i].family = AF_INET;
		addrs[i].bytes[0] = (uint8_t)(a >> 24);
		addrs[i].bytes[1] = (uint8_t)(a >> 16);
		addrs[i].bytes[2] = (uint8_t)(a >> 8);
		addrs[i].bytes[3] = (uint8_t)a;
	}
	before = rss_kb();
	t0 = seconds();
	if (list_build("bench", LIST_KIND_IP, text, len, 1, time(NULL), &s,
		&error) < 0) {
		fprintf(stderr, "listbench: %s\n", error);
		exit(1);
	}
	t1 = seconds();
	after = rss_kb();
	printf("ip list: %zu entries (%zu IPv4, %zu IPv6), %.1f MB of text\n",
	    list_count(s), n4, n - n4, (double)len / 1e6);
	printf("ip list: build %.3f s, RSS +%.1f MB, snapshot %.1f MB\n",
	    t1 - t0, (double)(after - before) / 1024.0,
	    (double)list_memory(s) / 1048576.0);
	free(text);

	t0 = seconds();
	for (i = 0; i < lookups; i++)
		hits += (size_t)list_match_ip(s, &addrs[i], 0, &hit);
	t1 = seconds();
	printf("ip list: %zu lookups (%zu hits), %.0f ns/lookup\n", lookups,
	    hits, (t1 - t0) * 1e9 / (double)lookups);

	/* A delta rebuilds the whole snapshot: what one add costs. */
	t0 = seconds();
	if (list_delta(s, "203.0.113.0/24 added\n", 21, "", 0, 2, time(NULL),
		&d, &error) < 0) {
		fprintf(stderr, "listbench: %s\n", error);
		exit(1);
	}
	t1 = seconds();
	printf("ip list: delta of one entry %.3f s\n", t1 - t0);
	list_free(&d);
	if ((null = fopen("/dev/null", "w")) != NULL) {
		t0 = seconds();
		if (list_export(s, LIST_FORMAT_PLAIN, time(NULL), null) < 0 ||
		    list_export(s, LIST_FORMAT_RBLDNSD, time(NULL), null) < 0)
			fprintf(stderr, "listbench: export failed\n");
		t1 = seconds();
		printf("ip list: export plain + rbldnsd %.3f s\n", t1 - t0);
		fclose(null);
	}
	list_free(&s);
	free(addrs);
	free(nets);
}

/* bench_domain - load and look up a domain list */
static void
bench_domain(size_t n, size_t lookups)
{
	struct list_snapshot *s = NULL;
	struct list_hit hit;
	char *text = NULL, *error = NULL, (*names)[64];
	size_t size = 0, i, hits = 0;
	long before, after;
	double t0, t1;
	FILE *fp;

	if ((fp = open_memstream(&text, &size)) == NULL ||
	    (names = calloc(lookups, sizeof(*names))) == NULL)
		exit(1);
	for (i = 0; i < n; i++)
		fprintf(
		    fp, "%sd%zu.example%zu.com\n", i % 2 ? "." : "", i, i % 97);
	fclose(fp);
	for (i = 0; i < lookups; i++) {
		size_t k = next() % n;

		if (i % 2 == 0)
			snprintf(names[i], sizeof(names[i]),
			    "mail.d%zu.example%zu.com", k, k % 97);
		else
			snprintf(names[i], sizeof(names[i]),
			    "host%zu.other%zu.net", k, k % 13);
	}
	before = rss_kb();
	t0 = seconds();
	if (list_build("bench", LIST_KIND_DOMAIN, text, size, 1, time(NULL), &s,
		&error) < 0) {
		fprintf(stderr, "listbench: %s\n", error);
		exit(1);
	}
	t1 = seconds();
	after = rss_kb();
	printf("domain list: %zu entries, build %.3f s, RSS +%.1f MB\n",
	    list_count(s), t1 - t0, (double)(after - before) / 1024.0);
	free(text);
	t0 = seconds();
	for (i = 0; i < lookups; i++)
		hits += (size_t)list_match(s, names[i], 0, &hit);
	t1 = seconds();
	printf("domain list: %zu lookups (%zu hits), %.0f ns/lookup\n", lookups,
	    hits, (t1 - t0) * 1e9 / (double)lookups);
	list_free(&s);
	free(names);
}

/* bench_patterns - 1,000 patterns over Subject values */
static void
bench_patterns(void)
{
	static const char *const words[] = { "viagra", "casino", "lottery",
		"winner", "bitcoin", "prize", "urgent", "refund", "invoice",
		"password" };
	static const size_t joins[] = { 1000, 256, 128, 64, 32, 16, 4, 1 };
	struct patterns *set;
	char src[128], why[256], subject[128];
	size_t i, k, idx, hits;
	double t0, t1;
	size_t j;
	int rc;
	const int messages = 2000;

	for (j = 0; j < sizeof(joins) / sizeof(joins[0]); j++) {
		set = patterns_create();
		for (i = 0; i < 1000; i++) {
			switch (i % 4) {
			case 0:
				snprintf(src, sizeof(src), "\\b%s%zu\\b",
				    words[i % 10], i);
				break;
			case 1:
				snprintf(src, sizeof(src), "^(re|fwd): %s %zu",
				    words[i % 10], i);
				break;
			case 2:
				snprintf(src, sizeof(src),
				    "%s[ ._-]*%zu[0-9]{2,}", words[i % 10], i);
				break;
			default:
				snprintf(src, sizeof(src), "free %s\\s+x%zu!",
				    words[i % 10], i);
				break;
			}
			if (patterns_add(set, src, strlen(src), i % 3 == 0, why,
				sizeof(why)) < 0) {
				fprintf(
				    stderr, "listbench: %s: %s\n", src, why);
				exit(1);
			}
		}
		if (patterns_finish(set, joins[j]) < 0)
			exit(1);
		hits = 0;
		rng = 88172645463325252ULL;
		t0 = seconds();
		for (k = 0; k < (size_t)messages; k++) {
			/* 100 bytes; every 10th message hits a pattern. */
			snprintf(subject, sizeof(subject), "%-100.100s",
			    k % 10 == 0
				? "Re: your order: free winner  x3!"
				: "Re: minutes of the quarterly planning "
				  "meeting, agenda and action items for "
				  "the next review");
			rc =
			    patterns_match(set, subject, 100, NULL, NULL, &idx);
			hits += rc == 1;
		}
		t1 = seconds();
		printf("patterns: 1000, up to %zu an alternation, %zu passes: "
		       "%.1f us/message (100-byte Subject, %zu of %d hit)\n",
		    joins[j], patterns_passes(set), (t1 - t0) * 1e6 / messages,
		    hits, messages);
		patterns_free(&set);
	}
}

int
main(int argc, char **argv)
{
	size_t n = 1000000, lookups = 4000000;

	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		lookups = strtoul(argv[2], NULL, 10);
	if (n < 10 || lookups < 1) {
		fprintf(stderr, "usage: listbench [ENTRIES [LOOKUPS]]\n");
		return 2;
	}
	bench_ip(n, lookups);
	bench_domain(n, lookups);
	bench_patterns();
	return 0;
}
