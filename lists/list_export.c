/*
 * NAME
 *	list_export - write a list snapshot as a list file or rbldnsd data
 * SUMMARY
 *	list_export(): the plain format (canonical, reloadable) and
 *	rbldnsd(8) datasets.
 * DESCRIPTION
 *	Plain: one comment line "# sakimori list NAME kind KIND version V
 *	entries N sha256 HEX", then each entry's canonical line (list.h),
 *	expired ones included, so that list_build of the output gives the
 *	same checksum.
 *	rbldnsd: an ip list becomes a "combined" dataset holding an ip4set
 *	for the IPv4 ranges and an ip6trie for the IPv6 ranges, both at the
 *	base zone ("$DATASET ip4set @"); load it as
 *	"rbldnsd ... zone:combined:FILE". A domain list becomes a "dnset"
 *	(".example.com" the name and its subdomains, "example.com" the name
 *	only, the same meaning as ours). Every entry answers A 127.0.0.2;
 *	an entry with a reason gets it as its TXT template
 *	(":127.0.0.2:REASON", '$' written "$$" since rbldnsd substitutes
 *	"$"). Entries expired at now are left out. Address and pattern
 *	lists have no rbldnsd form.
 * THREADS
 *	Reads an immutable snapshot; any thread.
 * OWNERSHIP
 *	Writes to the caller's FILE; does not close it.
 * ERRORS
 *	-1 with errno: EINVAL for a kind rbldnsd cannot hold, or what the
 *	write failed with.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lists/list.h"

/* list_export_reason - write " :127.0.0.2:REASON" with '$' doubled */
static void
list_export_reason(FILE *fp, const char *reason)
{
	if (reason[0] == '\0')
		return;
	fputs(" :127.0.0.2:", fp);
	for (; *reason != '\0'; reason++) {
		if (*reason == '$')
			fputc('$', fp);
		fputc(*reason, fp);
	}
}

/* list_export_rbldnsd_part - entries [first, end) alive at now */
static void
list_export_rbldnsd_part(const struct list_snapshot *s, size_t first,
    size_t end, time_t now, FILE *fp)
{
	char buf[LIST_LINE_SIZE];
	struct list_hit hit;
	size_t i;

	for (i = first; i < end; i++) {
		if (list_entry(s, i, &hit) < 0 ||
		    list_entry_canonical(s, i, buf, sizeof(buf)) < 0)
			continue;
		if (hit.expires != 0 && now >= hit.expires)
			continue;
		fputs(buf, fp);
		list_export_reason(fp, hit.reason);
		fputc('\n', fp);
	}
}

/* list_export - write a snapshot in a format */
int
list_export(
    const struct list_snapshot *s, enum list_format fmt, time_t now, FILE *fp)
{
	char buf[LIST_LINE_SIZE];
	size_t i, n4, count = list_count(s);

	if (s == NULL || fp == NULL) {
		errno = EINVAL;
		return -1;
	}
	switch (fmt) {
	case LIST_FORMAT_PLAIN:
		fprintf(fp,
		    "# sakimori list %s kind %s version %llu entries %zu "
		    "sha256 %s\n",
		    list_name(s), list_kind_name(list_kind(s)),
		    (unsigned long long)list_version(s), count,
		    list_checksum(s));
		for (i = 0; i < count; i++) {
			if (list_entry_line(s, i, buf, sizeof(buf)) < 0)
				break;
			fputs(buf, fp);
			fputc('\n', fp);
		}
		break;
	case LIST_FORMAT_RBLDNSD:
		if (list_kind(s) == LIST_KIND_IP) {
			/* Canonical order puts IPv4 first. */
			for (n4 = 0; n4 < count; n4++) {
				if (list_entry_canonical(
					s, n4, buf, sizeof(buf)) < 0 ||
				    strchr(buf, ':') != NULL)
					break;
			}
			fprintf(fp,
			    "# sakimori list %s version %llu: rbldnsd "
			    "combined dataset\n",
			    list_name(s), (unsigned long long)list_version(s));
			fputs("$DATASET ip4set @\n:127.0.0.2:\n", fp);
			list_export_rbldnsd_part(s, 0, n4, now, fp);
			fputs("$DATASET ip6trie @\n:127.0.0.2:\n", fp);
			list_export_rbldnsd_part(s, n4, count, now, fp);
		} else if (list_kind(s) == LIST_KIND_DOMAIN) {
			fprintf(fp,
			    "# sakimori list %s version %llu: rbldnsd dnset\n"
			    ":127.0.0.2:\n",
			    list_name(s), (unsigned long long)list_version(s));
			list_export_rbldnsd_part(s, 0, count, now, fp);
		} else {
			errno = EINVAL;
			return -1;
		}
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (ferror(fp) || fflush(fp) != 0) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
