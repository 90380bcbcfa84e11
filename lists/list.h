/*
 * NAME
 *	list - local lists as immutable compiled snapshots
 * SUMMARY
 *	Build a list of one kind (ip, domain, address, pattern) from text,
 *	refusing it whole on any bad line; look values up in it; derive a
 *	new snapshot from an old one and a delta; export it.
 * DESCRIPTION
 *	The file format is in lists/FORMAT.md: UTF-8, one entry a line,
 *	"ENTRY [expires=WHEN] [REASON]", '#' comments and blank lines
 *	skipped, lines of at most 4096 bytes.
 *
 *	Kinds and what a lookup value matches:
 *	ip	"192.0.2.1", "192.0.2.0/24", "2001:db8::/32" (host bits must
 *		be zero). A lookup finds the innermost range holding the
 *		address (the longest prefix), or the next one out if that
 *		one has expired. IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4,
 *		in entries and lookups.
 *	domain	"example.com" the name only; ".example.com" the name and
 *		every name under it. Case-insensitive, one trailing dot
 *		ignored. A lookup tries the exact name, then ".name", then
 *		each parent ".parent" up to the top label.
 *	address	"user@example.com" that mailbox; "user@" that local-part at
 *		any domain; "@example.com" every mailbox of that domain
 *		(not its subdomains: use a domain list). Domains and
 *		local-parts are case-insensitive, as Postfix's access
 *		tables fold lookup keys to lower case (ASCII only). A
 *		lookup of "<user@example.com>" or "user@example.com" tries
 *		the mailbox, then "user@", then "@example.com".
 *	pattern	"/regex/flags", PCRE2 syntax, flag i (caseless) only; '/'
 *		inside is written "\/". JIT-compiled; joined into
 *		alternations of up to 64 with (*MARK:n) where the patterns
 *		allow, so a field costs one PCRE2 pass per 64 patterns
 *		(measured in lists/FORMAT.md, lists/patterns.h); each pass has
 *		a match limit, so catastrophic backtracking ends with -1.
 *
 *	Every entry may carry an expiry; an expired entry stops matching
 *	by itself: lookups take the time as a parameter. Snapshots keep
 *	expired entries (a delta or a new push removes them), so their
 *	checksum does not change with the clock.
 *
 *	The checksum is SHA-256 over the canonical content: the entry lines
 *	exactly as list_export LIST_FORMAT_PLAIN writes them after its
 *	comment header, that is each entry in canonical form (ip: the
 *	network as inet_ntop writes it, "/prefix" unless a single address;
 *	domain and address: lower case, no trailing dot; pattern: as
 *	written), then " expires=YYYY-MM-DDTHH:MM:SSZ" if it expires, then
 *	" REASON" if it has one, then LF; entries sorted (ip: IPv4 before
 *	IPv6, by network, wider first; others: bytewise). Equal content in
 *	any order, spelling or layout has an equal checksum.
 * THREADS
 *	A snapshot is immutable once built: any number of threads may look
 *	up and export it at once. Reference counting and the swap of the
 *	live pointer belong to the caller.
 * OWNERSHIP
 *	list_build and list_delta return a snapshot the caller frees with
 *	list_free. Hits point into the snapshot and live as long as it.
 *	Error texts are the caller's to free().
 * ERRORS
 *	Building refuses the whole input on any error. error_r then holds
 *	up to LIST_MAX_ERRORS lines "NAME:LINE: why" (deltas: "NAME:add:
 *	LINE: why", "NAME:del:LINE: why"), by line number, then "NAME: N
 *	more errors" if there were more. Whys: the entry is bad for the
 *	kind, host bits set, invalid regex (PCRE2's message and offset),
 *	line too long, NUL byte, invalid UTF-8, bad expires=, duplicate of
 *	line N (same canonical entry), and for deltas "already in the list"
 *	and "not in the list".
 */
#ifndef SAKIMORI_LISTS_LIST_H
#define SAKIMORI_LISTS_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "lists/cidr.h"

#define LIST_MAX_ERRORS 10	  /* error lines reported */
#define LIST_MAX_ENTRIES 50000000 /* entries in one list */
#define LIST_MAX_VALUE 4096	  /* bytes of a looked-up value (pattern) */
#define LIST_LINE_SIZE 4160	  /* buffer for one canonical line */

enum list_kind {
	LIST_KIND_IP,	   /* addresses and CIDR ranges */
	LIST_KIND_DOMAIN,  /* names, with or without their subdomains */
	LIST_KIND_ADDRESS, /* mailboxes, local-parts, domains */
	LIST_KIND_PATTERN  /* PCRE2 regular expressions */
};

enum list_format {
	LIST_FORMAT_PLAIN,  /* the list file format, canonical */
	LIST_FORMAT_RBLDNSD /* rbldnsd data: combined (ip) or dnset */
};

struct list_snapshot;

struct list_hit {
	const char *entry;  /* the entry as written in the input */
	const char *reason; /* its reason, "" if none */
	time_t expires;	    /* its expiry, 0: never */
	unsigned long line; /* its line in the input (deltas: in the export) */
	size_t index;	    /* its index in canonical order */
};

/*
 * list_kind_parse - "ip", "domain", "address", "pattern" to a kind
 * Returns 0, or -1 for any other name.
 */
int list_kind_parse(const char *name, enum list_kind *kind_r);

/* list_kind_name - the name of a kind ("ip", ...) */
const char *list_kind_name(enum list_kind kind);

/*
 * list_format_parse - "plain", "rbldnsd" to a format
 * Returns 0, or -1 for any other name.
 */
int list_format_parse(const char *name, enum list_format *format_r);

/*
 * list_build - compile list text into a snapshot
 *	name: the list's name, used in errors and kept
 *	kind: what the entries are
 *	text, len: the list file content (need not be NUL-ended)
 *	version: the caller's serial, kept
 *	now: the build time, kept (entries already expired are kept too)
 *	snap_r: the snapshot (caller frees with list_free); NULL on error
 *	error_r: on -1, what is wrong (caller frees); may be NULL
 * Returns 0, or -1 on bad input (nothing built) or out of memory.
 */
int list_build(const char *name, enum list_kind kind, const char *text,
    size_t len, uint64_t version, time_t now, struct list_snapshot **snap_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * list_delta - a new snapshot: old plus adds minus dels
 *	old: the current snapshot, not changed
 *	adds, adds_len: entry lines to add (the file format)
 *	dels, dels_len: entry lines to delete; only ENTRY counts, an
 *	    expires= or reason on the line is ignored
 *	version, now: as for list_build
 *	new_r: the new snapshot (caller frees with list_free)
 *	error_r: on -1, what is wrong (caller frees); may be NULL
 * Returns 0, or -1 if a line is bad, an added entry is already in old
 * (or twice in adds), a deleted entry is not in old (or twice in dels),
 * or out of memory. The new snapshot numbers its entries' lines as in
 * its plain export.
 */
int list_delta(const struct list_snapshot *old, const char *adds,
    size_t adds_len, const char *dels, size_t dels_len, uint64_t version,
    time_t now, struct list_snapshot **new_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * list_match - look a value up in a list of any kind
 *	s: the snapshot
 *	value: NUL-ended: an IP address as text (ip: as list_match_ip), a
 *	    host name (domain), a mail address (address), any text
 *	    (pattern: a header value, at most LIST_MAX_VALUE bytes are
 *	    looked at)
 *	now: the time, for expiry
 *	hit_r: on 1, the entry that matched; may be NULL
 * Returns 1 found,
 *	0 not found (also for a value that cannot be an IP address, a
 *	  name or a mail address),
 *	-1 error: a pattern hit its match limit and nothing matched, or
 *	  out of memory.
 */
int list_match(const struct list_snapshot *s, const char *value, time_t now,
    struct list_hit *hit_r);

/*
 * list_match_ip - look an address up in an ip list
 *	s: the snapshot
 *	addr: the address; an IPv4-mapped IPv6 address is IPv4
 *	now: the time, for expiry
 *	hit_r: on 1, the innermost unexpired range holding addr; may be
 *	    NULL
 * Returns 1 found,
 *	0 not found (or s is not an ip list).
 */
int list_match_ip(const struct list_snapshot *s, const struct cidr_addr *addr,
    time_t now, struct list_hit *hit_r);

/*
 * list_export - write a snapshot in a format
 *	s: the snapshot
 *	fmt: LIST_FORMAT_PLAIN: comment lines (name, kind, version,
 *	    entries, checksum), then the canonical entry lines, every entry
 *	    expired or not, so list_build of the output gives the same
 *	    checksum; LIST_FORMAT_RBLDNSD: rbldnsd data, entries expired at
 *	    now left out (see lists/FORMAT.md)
 *	now: the time
 *	fp: where to write
 * Returns 0, or -1 on a write error (errno set) or a kind the format
 * cannot express (rbldnsd: address and pattern lists; errno EINVAL).
 */
int list_export(const struct list_snapshot *s, enum list_format fmt, time_t now,
    FILE *fp) __attribute__((warn_unused_result));

/* list_name - the list's name (lives as long as s) */
const char *list_name(const struct list_snapshot *s);

/* list_kind - the list's kind */
enum list_kind list_kind(const struct list_snapshot *s);

/* list_version - the serial given to list_build or list_delta */
uint64_t list_version(const struct list_snapshot *s);

/* list_built - the now given to list_build or list_delta */
time_t list_built(const struct list_snapshot *s);

/* list_count - number of entries, expired ones included */
size_t list_count(const struct list_snapshot *s);

/* list_checksum - SHA-256 of the canonical content, 64 hex digits */
const char *list_checksum(const struct list_snapshot *s);

/* list_memory - bytes the snapshot allocated, about */
size_t list_memory(const struct list_snapshot *s);

/*
 * list_entry - entry i in canonical order
 *	hit_r: filled in as a lookup would
 * Returns 0, or -1 if i >= list_count(s).
 */
int list_entry(const struct list_snapshot *s, size_t i, struct list_hit *hit_r);

/*
 * list_entry_canonical - entry i in canonical form ("192.0.2.0/24",
 * ".example.com", ...)
 *	buf, size: LIST_LINE_SIZE bytes always suffice
 * Returns 0, or -1 if i >= list_count(s).
 */
int list_entry_canonical(
    const struct list_snapshot *s, size_t i, char *buf, size_t size);

/*
 * list_entry_line - entry i as a canonical line of the plain format,
 * without the newline
 *	buf, size: LIST_LINE_SIZE bytes always suffice
 * Returns 0, or -1 if i >= list_count(s).
 */
int list_entry_line(
    const struct list_snapshot *s, size_t i, char *buf, size_t size);

/* list_free - free a snapshot (NULL is fine) and set *snap to NULL */
void list_free(struct list_snapshot **snap);

#endif
