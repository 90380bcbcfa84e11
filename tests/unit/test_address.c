/*
 * test_address - From field domains (RFC 5322 3.4) and envelope domains.
 */
#include "lists/address.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_DOMAINS 8

struct from_case {
	const char *name; /* what the case shows */
	const char *in;	  /* the field value */
	int want_rc;	  /* 0 or -1 */
	const char *want; /* domains joined with ',' ("" for none), or on
			     -1 a text the error must contain */
};

static const struct from_case from_cases[] = {
	/* one address */
	{ "plain", "user@example.com", 0, "example.com" },
	{ "upper case domain", "User@Example.COM", 0, "example.com" },
	{ "root dot dropped", "u@example.com.", 0, "example.com" },
	{ "underscore label", "u@_mail.example.com", 0, "_mail.example.com" },
	{ "display name", "John Doe <john@example.com>", 0, "example.com" },
	{ "quoted display name", "\"Doe, John\" <john@example.com>", 0,
	    "example.com" },
	{ "quoted name with @", "\"boss@bank.test\" <x@evil.test>", 0,
	    "evil.test" },
	{ "quoted local part with @", "\"a@evil.test\"@example.com", 0,
	    "example.com" },
	{ "quoted pair in local part", "\"a\\\"b@c\"@example.com", 0,
	    "example.com" },
	{ "comment with @", "john@example.com (john@evil.test)", 0,
	    "example.com" },
	{ "nested comment with parens", "john@example.com (a (b) @x.test)", 0,
	    "example.com" },
	{ "escaped paren in comment", "john@example.com (a \\) b@x.test)", 0,
	    "example.com" },
	{ "comment first", "(Sales) john@example.com", 0, "example.com" },
	{ "comments inside", "john(c)@(c)example(c).(c)com", 0, "example.com" },
	{ "spaces in angle", "John <  john@example.com  >", 0, "example.com" },
	{ "folded", "John Doe\r\n <john@example.com>\r\n", 0, "example.com" },
	{ "tab folding", "John\t<john@example.com>", 0, "example.com" },
	{ "obs phrase with dot", "John Q. Public <jqp@example.com>", 0,
	    "example.com" },
	{ "encoded word", "=?utf-8?q?J=C3=B6rg?= <j@example.com>", 0,
	    "example.com" },
	{ "UTF-8 display name", "J\xc3\xb6rg <j@example.com>", 0,
	    "example.com" },
	{ "UTF-8 local part", "j\xc3\xb6rg@example.com", 0, "example.com" },
	{ "obs route", "<@relay.test,@b.test:user@example.com>", 0,
	    "example.com" },
	{ "obs local part", "john.\"q\".public@example.com", 0, "example.com" },
	{ "unquoted @ in name", "a@bank.test <x@evil.test>", 0, "evil.test" },
	/* several mailboxes, groups */
	{ "same domain twice", "a@example.com, B@EXAMPLE.com", 0,
	    "example.com" },
	{ "two domains", "a@one.test, b@two.test", 0, "one.test,two.test" },
	{ "two domains, names", "A <a@one.test>, \"B\" <b@two.test>", 0,
	    "one.test,two.test" },
	{ "three, one repeated", "a@one.test,b@two.test,c@one.test", 0,
	    "one.test,two.test" },
	{ "obs empty elements", ", , a@example.com ,", 0, "example.com" },
	{ "group", "Team: a@example.com, b@example.com;", 0, "example.com" },
	{ "group, two domains", "Team: a@one.test, B <b@two.test>;", 0,
	    "one.test,two.test" },
	{ "empty group", "undisclosed-recipients:;", 0, "" },
	{ "empty group, spaces", "undisclosed recipients: ;", 0, "" },
	{ "group then mailbox", "g:;, a@example.com", 0, "example.com" },
	{ "mailbox then group", "a@one.test, g: b@two.test;", 0,
	    "one.test,two.test" },
	{ "group with comment", "g: (none) ; (end)", 0, "" },
	/* no address */
	{ "empty", "", 0, "" },
	{ "white space", "  \r\n\t ", 0, "" },
	{ "comment only", "(nobody)", 0, "" },
	/* errors */
	{ "phrase only", "John Doe", -1, "no '@'" },
	{ "local part only", "<john>", -1, "no '@'" },
	{ "garbage @@@", "@@@", -1, "empty local part" },
	{ "empty angle", "<>", -1, "empty address" },
	{ "unbalanced <", "John <john@example.com", -1, "unbalanced '<'" },
	{ "unbalanced < at end", "john@example.com <", -1, "no '@'" },
	{ "unbalanced >", "john@example.com>", -1, "unbalanced '>'" },
	{ "unbalanced (", "john@example.com (x", -1, "unterminated comment" },
	{ "unbalanced )", "john@example.com )", -1, "unbalanced ')'" },
	{ "unbalanced ]", "john@example.com]", -1, "unbalanced ']'" },
	{ "unterminated quote", "\"John <john@example.com>", -1,
	    "unterminated quoted string" },
	{ "unterminated literal", "john@[192.0.2.1", -1,
	    "unterminated domain literal" },
	{ "domain literal", "john@[192.0.2.1]", -1, "address literal" },
	{ "bad domain byte", "john@exa!mple.com", -1, "not a host name" },
	{ "UTF-8 domain", "j@\xc3\xa9xample.com", -1, "not a host name" },
	{ "empty domain", "john@", -1, "empty domain" },
	{ "empty domain before >", "<john@>", -1, "empty domain" },
	{ "empty label", "john@a..test", -1, "not a host name" },
	{ "two root dots", "john@a.test..", -1, "not a host name" },
	{ "leading dot", "john@.a.test", -1, "not a host name" },
	{ "two @", "a@b@c.test", -1, "unexpected text" },
	{ "missing comma", "a@one.test b@two.test", -1, "expected '.'" },
	{ "two angle addresses", "<a@one.test> <b@two.test>", -1,
	    "two angle addresses" },
	{ "text after angle", "<a@one.test> x", -1, "unexpected text" },
	{ "nested group", "a: b: c@d.test;;", -1, "group inside a group" },
	{ "; outside group", "a@b.test;", -1, "';' outside a group" },
	{ "group not closed", "team: a@b.test", -1, "not closed" },
	{ "text after group", "g:; x@y.test", -1, "expected ','" },
	{ "control byte", "a\x01@b.test", -1, "control character 0x01" },
	{ "DEL byte", "a@b.test\x7f", -1, "control character 0x7f" },
	{ "stray backslash", "a\\b@c.test", -1, "unexpected '\\'" },
	{ "bad route", "<@relay.test user@example.com>", -1, "bad route" },
	{ "offset given", "John <john@example.com", -1, "at offset 5" },
};

/* join - domains joined with ',' into buf */
static const char *
join(char domains[][256], size_t count, char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < count; i++)
		o += (size_t)snprintf(
		    buf + o, size - o, "%s%s", i > 0 ? "," : "", domains[i]);
	return buf;
}

/* test_from_cases - every case of from_cases */
static void
test_from_cases(void **state)
{
	char domains[MAX_DOMAINS][256], why[128], got[MAX_DOMAINS * 260];
	size_t i, count;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];

		count = 99;
		rc = address_from_domains(
		    c->in, domains, MAX_DOMAINS, &count, why, sizeof(why));
		if (rc != c->want_rc)
			fail_msg("%s: got rc %d (%s), want %d", c->name, rc,
			    rc == 0 ? join(domains, count, got, sizeof(got))
				    : why,
			    c->want_rc);
		if (rc == 0) {
			join(domains, count, got, sizeof(got));
			if (strcmp(got, c->want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->name,
				    got, c->want);
		} else {
			if (count != 0)
				fail_msg("%s: got count %zu on error, want 0",
				    c->name, count);
			if (strstr(why, c->want) == NULL)
				fail_msg("%s: got why \"%s\", want \"%s\"",
				    c->name, why, c->want);
		}
	}
}

/* test_from_limits - max domains, mailbox cap, nesting, length */
static void
test_from_limits(void **state)
{
	char domains[MAX_DOMAINS][256], why[128];
	char *buf;
	size_t count, i, o;
	int rc;

	(void)state;
	/* more distinct domains than the caller has room for */
	rc = address_from_domains("a@one.test, b@two.test, c@three.test",
	    domains, 2, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "more than 2 distinct domains"));
	rc = address_from_domains("a@one.test, b@two.test, c@one.test", domains,
	    2, &count, why, sizeof(why));
	assert_int_equal(rc, 0);
	assert_int_equal(count, 2);

	buf = malloc(200 * 1024);
	assert_non_null(buf);
	/* 64 mailboxes are fine, 65 are too many */
	for (i = 0, o = 0; i < ADDRESS_MAX_MAILBOXES; i++)
		o += (size_t)sprintf(buf + o, "u%zu@example.com, ", i);
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	if (rc != 0)
		fail_msg("64 mailboxes: got rc %d (%s), want 0", rc, why);
	assert_int_equal(count, 1);
	sprintf(buf + o, "last@example.com");
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "more than 64 mailboxes"));

	/* comments nested 16 deep are fine, 17 are not */
	o = (size_t)sprintf(buf, "a@b.test ");
	memset(buf + o, '(', ADDRESS_MAX_NESTING);
	memset(buf + o + ADDRESS_MAX_NESTING, ')', ADDRESS_MAX_NESTING);
	buf[o + 2 * ADDRESS_MAX_NESTING] = '\0';
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, 0);
	memset(buf + o, '(', ADDRESS_MAX_NESTING + 1);
	memset(buf + o + ADDRESS_MAX_NESTING + 1, ')', ADDRESS_MAX_NESTING + 1);
	buf[o + 2 * ADDRESS_MAX_NESTING + 2] = '\0';
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "nested deeper"));

	/* a domain of 253 octets fits; 254 do not */
	o = (size_t)sprintf(buf, "u@");
	for (i = 0; i < 3; i++) {
		memset(buf + o, 'a', 63);
		o += 63;
		buf[o++] = '.';
	}
	memset(buf + o, 'b', 61);
	buf[o + 61] = '\0';
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	if (rc != 0)
		fail_msg("253-octet domain: got rc %d (%s), want 0", rc, why);
	assert_int_equal(strlen(domains[0]), 253);
	strcat(buf, "b");
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	/* a 64-octet label */
	rc = address_from_domains("u@"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
	    domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);

	/* 100 KB of hostile input: refused on length, without parsing */
	memset(buf, '(', 100 * 1024);
	buf[100 * 1024] = '\0';
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "over 8192 bytes"));
	/* the longest value we parse: 8192 bytes of pairs of quotes */
	memset(buf, '"', ADDRESS_MAX_VALUE);
	buf[ADDRESS_MAX_VALUE] = '\0';
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "no '@'"));
	/* 8192 bytes of "()": empty, fine */
	for (i = 0; i < ADDRESS_MAX_VALUE; i += 2)
		memcpy(buf + i, "()", 2);
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, 0);
	assert_int_equal(count, 0);
	/* 8192 bytes of '<' and '@' */
	for (i = 0; i < ADDRESS_MAX_VALUE; i++)
		buf[i] = "<@:,"[i % 4];
	rc = address_from_domains(buf, domains, 1, &count, why, sizeof(why));
	assert_int_equal(rc, -1);
	free(buf);

	/* NULL value and NULL why are accepted */
	assert_int_equal(
	    address_from_domains(NULL, domains, 1, &count, NULL, 0), 0);
	assert_int_equal(count, 0);
	assert_int_equal(
	    address_from_domains("x", domains, 1, &count, NULL, 0), -1);
}

/* test_from_random - random bytes: no crash, only valid domains out */
static void
test_from_random(void **state)
{
	static const char alphabet[] = "ab.@<>()\",;:[]\\ \r\n\x01\xc3";
	char domains[MAX_DOMAINS][256], why[128], in[64];
	size_t count, i, j, k;
	unsigned seed = 12345;
	int rc;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t len = (seed = seed * 1103515245 + 12345) % sizeof(in);

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			in[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		in[len] = '\0';
		rc = address_from_domains(
		    in, domains, MAX_DOMAINS, &count, why, sizeof(why));
		if (rc != 0)
			continue;
		for (k = 0; k < count; k++)
			if (strspn(domains[k], "ab.") != strlen(domains[k]) ||
			    domains[k][0] == '.' || domains[k][0] == '\0')
				fail_msg("\"%s\": got domain \"%s\"", in,
				    domains[k]);
	}
}

struct envelope_case {
	const char *name; /* what the case shows */
	const char *in;	  /* MAIL FROM address */
	int want_rc;	  /* 1, 0 or -1 */
	const char *want; /* the domain on 1 */
};

static const struct envelope_case envelope_cases[] = {
	{ "plain", "user@example.com", 1, "example.com" },
	{ "angle brackets", "<user@Example.COM>", 1, "example.com" },
	{ "root dot", "user@example.com.", 1, "example.com" },
	{ "quoted local part with @", "\"a@b\"@example.com", 1, "example.com" },
	{ "source route", "<@relay.test:user@example.com>", 1, "example.com" },
	{ "single label", "root@localhost", 1, "localhost" },
	{ "null sender", "", 0, NULL },
	{ "null sender <>", "<>", 0, NULL },
	{ "no @", "postmaster", 0, NULL },
	{ "empty domain", "user@", -1, NULL },
	{ "address literal", "user@[192.0.2.1]", -1, NULL },
	{ "space in domain", "user@exa mple.com", -1, NULL },
	{ "two root dots", "user@example.com..", -1, NULL },
	{ "only a dot", "user@.", -1, NULL },
};

/* test_envelope - every case of envelope_cases, and the limits */
static void
test_envelope(void **state)
{
	char domain[ADDRESS_DOMAIN_SIZE], big[ADDRESS_MAX_PATH + 16];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(envelope_cases) / sizeof(envelope_cases[0]);
	     i++) {
		const struct envelope_case *c = &envelope_cases[i];

		strcpy(domain, "unset");
		rc = address_domain(c->in, domain, sizeof(domain));
		if (rc != c->want_rc)
			fail_msg(
			    "%s: got rc %d, want %d", c->name, rc, c->want_rc);
		if (rc == 1 && strcmp(domain, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->name, domain,
			    c->want);
	}
	assert_int_equal(address_domain(NULL, domain, sizeof(domain)), 0);
	/* does not fit the caller's buffer */
	assert_int_equal(address_domain("u@example.com", domain, 11), -1);
	assert_int_equal(address_domain("u@example.com", domain, 12), 1);
	/* over ADDRESS_MAX_PATH: refused, not cut */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + sizeof(big) - 12, "@example.com", 12);
	assert_int_equal(address_domain(big, domain, sizeof(domain)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_cases),
		cmocka_unit_test(test_from_limits),
		cmocka_unit_test(test_from_random),
		cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
