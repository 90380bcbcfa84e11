/*
 * NAME
 *	address - mail addresses: From field domains, envelope domains
 * SUMMARY
 *	A small lexer over RFC 5322 3.2 tokens (atoms, quoted strings,
 *	domain literals, specials; CFWS skipped) and a parser of the
 *	mailbox-list and group forms on top of it.
 * DESCRIPTION
 *	See address.h. The lexer keeps only a cursor, so the parser can
 *	look ahead for the token that tells a name-addr ("Name <a@b>"), a
 *	group ("Name: a@b, c@d;") and a bare addr-spec ("a@b") apart, then
 *	rewind. Each byte is lexed at most twice; the value length is
 *	checked before anything else, so hostile input costs O(length).
 *	Domains are checked with domain_name_labels(), the same rule SPF
 *	and iprev apply.
 * THREADS
 *	Pure; any thread.
 * OWNERSHIP
 *	The caller owns every buffer; nothing is allocated.
 * ERRORS
 *	"what at offset N" in why.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lists/address.h"
#include "lists/domain.h"

enum address_tok {
	ADDRESS_TOK_END = 0,  /* end of the value */
	ADDRESS_TOK_ATOM,     /* 1*atext */
	ADDRESS_TOK_QSTRING,  /* "..." */
	ADDRESS_TOK_DLITERAL, /* [...] */
	ADDRESS_TOK_SPECIAL,  /* one of < > @ , ; : . */
	ADDRESS_TOK_ERROR,    /* lexical error: why is set */
};

struct address_lexer {
	const char *base;      /* start of the value, for offsets */
	const char *p;	       /* next byte */
	const char *end;       /* end of the value */
	enum address_tok kind; /* current token */
	const char *tok;       /* its first byte */
	size_t len;	       /* its length */
	char special;	       /* ADDRESS_TOK_SPECIAL: the character */
	char *why;	       /* error text, or NULL */
	size_t why_size;       /* bytes in why */
};

/* address_fail - set why, "text at offset N" */
static int __attribute__((format(printf, 3, 4)))
address_fail(struct address_lexer *lx, const char *at, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (lx->why == NULL || lx->why_size == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lx->why, lx->why_size, fmt, ap);
	va_end(ap);
	n = strlen(lx->why);
	if (at != NULL && n < lx->why_size)
		snprintf(lx->why + n, lx->why_size - n, " at offset %zu",
		    (size_t)(at - lx->base));
	return -1;
}

/* address_atext - RFC 5322 3.2.3 atext, plus UTF-8 (RFC 6532 3.2) */
static bool
address_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c)) ||
	    c >= 0x80;
}

/* address_skip_cfws - skip folding white space and nested comments */
static int
address_skip_cfws(struct address_lexer *lx)
{
	const char *open;
	unsigned depth;

	while (lx->p < lx->end) {
		unsigned char c = (unsigned char)*lx->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->p++;
			continue;
		}
		if (c != '(')
			break;
		/* RFC 5322 3.2.2: comments nest; quoted-pairs escape. */
		open = lx->p++;
		depth = 1;
		while (depth > 0 && lx->p < lx->end) {
			c = (unsigned char)*lx->p++;
			if (c == '\\') {
				if (lx->p < lx->end)
					lx->p++;
			} else if (c == '(') {
				if (++depth > ADDRESS_MAX_NESTING)
					return address_fail(lx, lx->p - 1,
					    "comments nested deeper than %d",
					    ADDRESS_MAX_NESTING);
			} else if (c == ')') {
				depth--;
			}
		}
		if (depth > 0)
			return address_fail(lx, open, "unterminated comment");
	}
	return 0;
}

/* address_quoted - skip a quoted string or domain literal to its close */
static int
address_quoted(struct address_lexer *lx, char close, const char *what)
{
	const char *open = lx->p++;

	while (lx->p < lx->end && *lx->p != close) {
		if (*lx->p == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		else if (close == ']' && *lx->p == '[')
			return address_fail(lx, lx->p, "'[' in %s", what);
		lx->p++;
	}
	if (lx->p >= lx->end)
		return address_fail(lx, open, "unterminated %s", what);
	lx->p++;
	return 0;
}

/* address_next - lex the next token into lx (kind, tok, len, special) */
static enum address_tok
address_next(struct address_lexer *lx)
{
	unsigned char c;

	lx->special = '\0';
	if (address_skip_cfws(lx) != 0)
		return lx->kind = ADDRESS_TOK_ERROR;
	lx->tok = lx->p;
	lx->len = 0;
	if (lx->p >= lx->end)
		return lx->kind = ADDRESS_TOK_END;
	c = (unsigned char)*lx->p;
	if (strchr("<>@,;:.", c) != NULL) {
		lx->special = (char)c;
		lx->p++;
		lx->kind = ADDRESS_TOK_SPECIAL;
	} else if (c == '"') {
		if (address_quoted(lx, '"', "quoted string") != 0)
			return lx->kind = ADDRESS_TOK_ERROR;
		lx->kind = ADDRESS_TOK_QSTRING;
	} else if (c == '[') {
		if (address_quoted(lx, ']', "domain literal") != 0)
			return lx->kind = ADDRESS_TOK_ERROR;
		lx->kind = ADDRESS_TOK_DLITERAL;
	} else if (address_atext(c)) {
		while (lx->p < lx->end && address_atext((unsigned char)*lx->p))
			lx->p++;
		lx->kind = ADDRESS_TOK_ATOM;
	} else if (c == ')' || c == ']') {
		address_fail(lx, lx->p, "unbalanced '%c'", c);
		return lx->kind = ADDRESS_TOK_ERROR;
	} else if (c < 0x20 || c == 0x7f) {
		address_fail(lx, lx->p, "control character 0x%02x", c);
		return lx->kind = ADDRESS_TOK_ERROR;
	} else {
		address_fail(lx, lx->p, "unexpected '%c'", c);
		return lx->kind = ADDRESS_TOK_ERROR;
	}
	lx->len = (size_t)(lx->p - lx->tok);
	return lx->kind;
}

/* address_is - is the current token the special character c? */
static bool
address_is(const struct address_lexer *lx, char c)
{
	return lx->kind == ADDRESS_TOK_SPECIAL && lx->special == c;
}

/* address_delim - does the current token end a mailbox? */
static bool
address_delim(const struct address_lexer *lx)
{
	return lx->kind == ADDRESS_TOK_END || address_is(lx, ',') ||
	    address_is(lx, ';');
}

/*
 * address_addr_spec - parse local-part "@" domain from the current token
 * Leaves the token after the domain current. RFC 5322 4.4 obs-local-part
 * and obs-domain: words and atoms separated by dots, CFWS anywhere.
 */
static int
address_addr_spec(struct address_lexer *lx, char *domain, size_t size)
{
	const char *start = lx->tok;
	size_t words = 0, o = 0;
	bool dot = true;

	/* local-part: word *("." word), leniently allowing odd dots */
	while (lx->kind == ADDRESS_TOK_ATOM ||
	    lx->kind == ADDRESS_TOK_QSTRING || address_is(lx, '.')) {
		if (lx->kind != ADDRESS_TOK_SPECIAL)
			words++;
		if (address_next(lx) == ADDRESS_TOK_ERROR)
			return -1;
	}
	if (lx->kind == ADDRESS_TOK_ERROR)
		return -1;
	if (!address_is(lx, '@'))
		return address_fail(lx, start, "no '@' in address");
	if (words == 0)
		return address_fail(lx, start, "empty local part");
	if (address_next(lx) == ADDRESS_TOK_ERROR)
		return -1;
	if (lx->kind == ADDRESS_TOK_DLITERAL)
		return address_fail(
		    lx, lx->tok, "address literal, not a domain name");
	start = lx->tok;
	/* domain: atom *("." atom); a final dot (root) is dropped */
	while (lx->kind == ADDRESS_TOK_ATOM || address_is(lx, '.')) {
		bool is_dot = lx->kind == ADDRESS_TOK_SPECIAL;

		if (!is_dot && !dot)
			return address_fail(lx, lx->tok, "expected '.'");
		if (o + lx->len >= size)
			return address_fail(lx, start, "domain too long");
		memcpy(domain + o, lx->tok, lx->len);
		o += lx->len;
		dot = is_dot;
		if (address_next(lx) == ADDRESS_TOK_ERROR)
			return -1;
	}
	if (o > 0 && domain[o - 1] == '.')
		o--;
	domain[o] = '\0';
	if (o == 0)
		return address_fail(lx, start, "empty domain");
	if (domain[o - 1] == '.')
		return address_fail(lx, start, "domain is not a host name");
	if (domain_name_labels(domain, o) < 1)
		return address_fail(lx, start, "domain is not a host name");
	for (; o > 0; o--)
		domain[o - 1] = (char)tolower((unsigned char)domain[o - 1]);
	return 0;
}

/* address_add - record a domain unless it is there already */
static int
address_add(struct address_lexer *lx, const char *domain, char domains[][256],
    size_t max, size_t *count)
{
	size_t i;

	for (i = 0; i < *count; i++)
		if (strcmp(domains[i], domain) == 0)
			return 0;
	if (*count >= max)
		return address_fail(
		    lx, NULL, "more than %zu distinct domains", max);
	memcpy(domains[*count], domain, strlen(domain) + 1);
	(*count)++;
	return 0;
}

/*
 * address_angle - parse "<" [obs-route] addr-spec ">" from the current
 * '<', leaving the token after '>' current
 */
static int
address_angle(struct address_lexer *lx, char *domain, size_t size)
{
	const char *open = lx->tok;

	if (address_next(lx) == ADDRESS_TOK_ERROR)
		return -1;
	if (address_is(lx, '>'))
		return address_fail(lx, open, "empty address <>");
	if (address_is(lx, '@')) {
		/* RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec */
		while (!address_is(lx, ':')) {
			if (lx->kind == ADDRESS_TOK_END || address_is(lx, '>'))
				return address_fail(
				    lx, open, "bad route in angle address");
			if (address_next(lx) == ADDRESS_TOK_ERROR)
				return -1;
		}
		if (address_next(lx) == ADDRESS_TOK_ERROR)
			return -1;
	}
	if (address_addr_spec(lx, domain, size) != 0)
		return -1;
	if (!address_is(lx, '>'))
		return address_fail(lx, open, "unbalanced '<'");
	if (address_next(lx) == ADDRESS_TOK_ERROR)
		return -1;
	return 0;
}

/* address_from_domains - the distinct domains of a From field value */
int
address_from_domains(const char *value, char domains[][256], size_t max,
    size_t *count_r, char *why, size_t why_size)
{
	struct address_lexer lx;
	char domain[ADDRESS_DOMAIN_SIZE];
	size_t len, count = 0, mailboxes = 0;
	bool in_group = false;

	*count_r = 0;
	if (why != NULL && why_size > 0)
		*why = '\0';
	memset(&lx, 0, sizeof(lx));
	lx.why = why;
	lx.why_size = why_size;
	if (value == NULL)
		value = "";
	/* Bounded work: measure at most one byte past the limit. */
	len = strnlen(value, ADDRESS_MAX_VALUE + 1);
	if (len > ADDRESS_MAX_VALUE)
		return address_fail(
		    &lx, NULL, "value over %d bytes", ADDRESS_MAX_VALUE);
	lx.base = lx.p = value;
	lx.end = value + len;

	if (address_next(&lx) == ADDRESS_TOK_ERROR)
		return -1;
	while (lx.kind != ADDRESS_TOK_END) {
		struct address_lexer mark;

		/* RFC 5322 4.4 obs-mbox-list: empty elements are allowed */
		if (address_is(&lx, ',')) {
			if (address_next(&lx) == ADDRESS_TOK_ERROR)
				return -1;
			continue;
		}
		if (address_is(&lx, ';')) {
			if (!in_group)
				return address_fail(
				    &lx, lx.tok, "';' outside a group");
			in_group = false;
			if (address_next(&lx) == ADDRESS_TOK_ERROR)
				return -1;
			if (!address_delim(&lx))
				return address_fail(
				    &lx, lx.tok, "expected ',' after group");
			continue;
		}
		/*
		 * Look ahead past the words to what follows them: '<' makes
		 * them a display name, ':' a group name, a delimiter an
		 * addr-spec (rewind and parse it).
		 */
		mark = lx;
		while (lx.kind == ADDRESS_TOK_ATOM ||
		    lx.kind == ADDRESS_TOK_QSTRING ||
		    lx.kind == ADDRESS_TOK_DLITERAL || address_is(&lx, '.') ||
		    address_is(&lx, '@'))
			if (address_next(&lx) == ADDRESS_TOK_ERROR)
				return -1;
		if (address_is(&lx, ':')) {
			if (in_group)
				return address_fail(
				    &lx, lx.tok, "group inside a group");
			in_group = true;
			if (address_next(&lx) == ADDRESS_TOK_ERROR)
				return -1;
			continue;
		}
		if (address_is(&lx, '>'))
			return address_fail(&lx, lx.tok, "unbalanced '>'");
		if (address_is(&lx, '<')) {
			if (address_angle(&lx, domain, sizeof(domain)) != 0)
				return -1;
		} else {
			lx = mark;
			if (address_addr_spec(&lx, domain, sizeof(domain)) != 0)
				return -1;
		}
		if (!address_delim(&lx))
			return address_fail(&lx, lx.tok,
			    lx.kind == ADDRESS_TOK_SPECIAL && lx.special == '<'
				? "two angle addresses in one mailbox"
				: "unexpected text after address");
		if (++mailboxes > ADDRESS_MAX_MAILBOXES)
			return address_fail(&lx, NULL, "more than %d mailboxes",
			    ADDRESS_MAX_MAILBOXES);
		if (address_add(&lx, domain, domains, max, &count) != 0)
			return -1;
	}
	if (in_group)
		return address_fail(&lx, NULL, "group not closed with ';'");
	*count_r = count;
	return 0;
}

/* address_domain - the domain of an envelope address */
int
address_domain(const char *addr, char *domain, size_t size)
{
	const char *at, *d;
	size_t len, i;

	if (addr == NULL)
		return 0;
	/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; be generous. */
	len = strnlen(addr, ADDRESS_MAX_PATH + 1);
	if (len > ADDRESS_MAX_PATH)
		return -1;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	if (len == 0)
		return 0;
	at = memrchr(addr, '@', len);
	if (at == NULL)
		return 0;
	d = at + 1;
	len -= (size_t)(d - addr);
	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || d[len - 1] == '.' || len >= size ||
	    domain_name_labels(d, len) < 1)
		return -1;
	for (i = 0; i < len; i++)
		domain[i] = (char)tolower((unsigned char)d[i]);
	domain[len] = '\0';
	return 1;
}
