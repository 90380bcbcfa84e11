/*
 * NAME
 *	dnsbl_map - what the A answers of a DNSBL or RHSBL mean
 * SUMMARY
 *	Rows of MATCH -> meaning, action and score, parsed from config
 *	strings; the first row that matches an answer code wins.
 * DESCRIPTION
 *	A DNS blacklist answers a listed name with A records in
 *	127.0.0.0/8 (RFC 5782 2.1, 2.3); the code says why. MATCH forms:
 *	    127.0.0.2              exact code
 *	    127.0.0.4-127.0.0.7    inclusive range
 *	    &4, &0x10, &0.0.0.4    bit mask: listed when (code & mask) != 0,
 *	                           as SURBL and URIBL encode several lists
 *	                           in one code; the mask may not touch the
 *	                           first octet (it would match every code)
 *	    any                    any 127.0.0.0/8 code
 *	Codes, range ends and masks are IPv4 dotted quads in network order
 *	read as a host-order uint32_t (127.0.0.2 is 0x7f000002).
 *
 *	Two kinds of answer are never listings, whatever the rows say:
 *	- codes outside 127.0.0.0/8 (RFC 5782 2.3): a wildcarding or
 *	  broken zone, to be reported;
 *	- codes in the refused set, default 127.255.255.0/24: public
 *	  DNSBLs answer those to queries from public resolvers or over
 *	  quota (e.g. Spamhaus 127.255.255.252..255), to be logged.
 *	The caller (milter/dnsbl.c) reports and logs; this module is pure.
 *	An empty map matches nothing: give a row "any" for a plain list.
 * THREADS
 *	Building is single-threaded (config load); a built map is read
 *	by any number of threads.
 * OWNERSHIP
 *	The caller owns the map (dnsbl_map_free); rows are borrowed from
 *	it until it is freed.
 * ERRORS
 *	Bad rows come back as text in error_r ("MATCH: why", caller
 *	frees); the map is unchanged.
 */
#ifndef SAKIMORI_POLICY_DNSBL_MAP_H
#define SAKIMORI_POLICY_DNSBL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "policy/verdict.h"

#define DNSBL_MAP_MEANING_MAX 200 /* octets of a row's meaning */

enum dnsbl_match_kind {
	DNSBL_MATCH_EXACT = 0, /* code == lo */
	DNSBL_MATCH_RANGE,     /* lo <= code <= hi */
	DNSBL_MATCH_MASK,      /* (code & lo) != 0 */
	DNSBL_MATCH_ANY,       /* any 127/8 code */
};

struct dnsbl_map_row {
	enum dnsbl_match_kind kind; /* how to match */
	uint32_t lo;		    /* code, range start or mask */
	uint32_t hi;		    /* range end; = lo for an exact code */
	char *match;		    /* MATCH as given, trimmed (for logs) */
	char *meaning;		    /* printable ASCII, may be "" */
	enum action action;	    /* what a listing does */
	int score;		    /* score it adds */
};

enum dnsbl_code_class {
	DNSBL_CODE_LISTED = 0,	 /* 127/8, not refused, a row matches */
	DNSBL_CODE_UNMATCHED,	 /* 127/8, not refused, no row matches */
	DNSBL_CODE_REFUSED,	 /* in the refused set */
	DNSBL_CODE_NOT_LOOPBACK, /* outside 127.0.0.0/8 */
};

enum dnsbl_subject {
	DNSBL_CLIENT_IP = 0, /* DNSBL: the client address */
	DNSBL_HELO,	     /* RHSBL: the HELO name */
	DNSBL_MAIL_FROM,     /* RHSBL: the MAIL FROM domain */
	DNSBL_FROM,	     /* RHSBL: the From header domain */
	DNSBL_IPREV,	     /* RHSBL: the iprev-confirmed host name */
};

/*
 * dnsbl_subject_name - "client_ip", "helo", "mail_from", "from", "iprev"
 * dnsbl_subject_parse - the subject for one of those words
 * dnsbl_subject_parse returns 0, or -1 for an unknown word.
 */
const char *dnsbl_subject_name(enum dnsbl_subject subject);
int dnsbl_subject_parse(const char *word, enum dnsbl_subject *subject_r);

struct dnsbl_map;

/*
 * dnsbl_map_create - an empty map with the default refused set
 * Returns the map (caller frees with dnsbl_map_free), or NULL if out of
 * memory.
 */
struct dnsbl_map *dnsbl_map_create(void);

/*
 * dnsbl_map_add - append one row
 *	m: the map
 *	match: a MATCH form (see above); surrounding blanks are ignored
 *	meaning: printable ASCII text (NULL is ""), at most
 *	    DNSBL_MAP_MEANING_MAX octets; copied
 *	action: ACTION_ACCEPT .. ACTION_REJECT
 *	score: any int
 *	error_r: on failure, why (caller frees)
 * Returns 0, or -1 on a bad row or out of memory (nothing added).
 */
int dnsbl_map_add(struct dnsbl_map *m, const char *match, const char *meaning,
    enum action action, int score, char **error_r)
    __attribute__((warn_unused_result));

/*
 * dnsbl_map_refused_add - add a code or range to the refused set
 *	m: the map
 *	range: "127.255.255.254" or "127.255.255.0-127.255.255.255", in
 *	    127.0.0.0/8
 *	error_r: on failure, why (caller frees)
 * Returns 0, or -1 (nothing added).
 */
int dnsbl_map_refused_add(struct dnsbl_map *m, const char *range,
    char **error_r) __attribute__((warn_unused_result));

/* dnsbl_map_refused_clear - empty the refused set (default included) */
void dnsbl_map_refused_clear(struct dnsbl_map *m);

/*
 * dnsbl_map_match - the first row that matches a code
 *	m: the map
 *	code: an A answer, host order
 * Returns the row (borrowed from m), or NULL when no row matches or the
 * code is refused or outside 127.0.0.0/8.
 */
const struct dnsbl_map_row *dnsbl_map_match(
    const struct dnsbl_map *m, uint32_t code);

/*
 * dnsbl_map_classify - what a code means
 *	m: the map
 *	code: an A answer, host order
 *	row_r: set to the matching row for DNSBL_CODE_LISTED, else NULL
 *	    (NULL is fine)
 * Returns the class.
 */
enum dnsbl_code_class dnsbl_map_classify(const struct dnsbl_map *m,
    uint32_t code, const struct dnsbl_map_row **row_r);

/* dnsbl_map_count - number of rows; dnsbl_map_row - the i-th (borrowed) */
size_t dnsbl_map_count(const struct dnsbl_map *m);
const struct dnsbl_map_row *dnsbl_map_row(const struct dnsbl_map *m, size_t i);

/*
 * dnsbl_map_code_text - a code as a dotted quad
 *	buf: at least 16 bytes
 * Returns buf.
 */
char *dnsbl_map_code_text(uint32_t code, char *buf, size_t size);

/* dnsbl_map_free - free a map (NULL is fine) and set *m to NULL */
/*
 * dnsbl_map_refused_count - ranges in the refused set
 * dnsbl_map_refused_text - the i-th as "A" or "A-B" (i < count)
 *	buf: at least 32 bytes; returned
 */
size_t dnsbl_map_refused_count(const struct dnsbl_map *m);
char *dnsbl_map_refused_text(
    const struct dnsbl_map *m, size_t i, char *buf, size_t size);

void dnsbl_map_free(struct dnsbl_map **m);

#endif
