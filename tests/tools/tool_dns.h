/*
 * NAME
 *	tool_dns - the resolver the check tools (authcheck, dkimcheck,
 *	dmarccheck, dnsblcheck) share
 * SUMMARY
 *	One attempt and one retry per server, no cache (every run asks the
 *	server under test), small worker pool.
 */
#ifndef SAKIMORI_TESTS_TOOL_DNS_H
#define SAKIMORI_TESTS_TOOL_DNS_H

#include <string.h>

#include "milter/dns.h"

/*
 * tool_resolver - a resolver for a tool run
 *	servers, count: "ADDR@PORT" of the servers under test
 *	timeout_ms: one attempt
 *	r_out, error_r: as dns_resolver_create
 * Returns as dns_resolver_create.
 */
static inline int
tool_resolver(const char *const *servers, size_t count, unsigned timeout_ms,
    struct dns_resolver **r_out, char **error_r)
{
	struct dns_options opts;

	memset(&opts, 0, sizeof(opts));
	opts.servers = servers;
	opts.server_count = count;
	opts.timeout_ms = timeout_ms;
	opts.retries = 1;
	opts.cache_size = 0;
	opts.cache_max_ttl = 3600;
	opts.workers = 4;
	opts.max_answer_records = 100;
	return dns_resolver_create(&opts, r_out, error_r);
}

#endif
