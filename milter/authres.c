/*
 * NAME
 *	authres - Authentication-Results header text (RFC 8601)
 * DESCRIPTION
 *	See authres.h. Grammar, RFC 8601 2.2:
 *	authres-header = "Authentication-Results:" [CFWS] authserv-id
 *	    [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS] CRLF
 *	authserv-id = value; value = token / quoted-string (RFC 2045).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milter/authres.h"

/* authres_put - append raw text, noting overflow */
static void
authres_put(struct authres_buf *b, const char *text, size_t len)
{
	/* Once something did not fit, nothing more goes in. */
	if (b->overflow || b->len + len + 1 > b->size) {
		b->overflow = 1;
		return;
	}
	memcpy(b->data + b->len, text, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* authres_puts - append a C string */
static void
authres_puts(struct authres_buf *b, const char *text)
{
	authres_put(b, text, strlen(text));
}

/* is_tspecial - RFC 2045 tspecials */
static bool
is_tspecial(int c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* is_token_char - a character allowed in an RFC 2045 token */
static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

/* is_atext - RFC 5322 atext */
static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* is_dot_atom - RFC 5322 dot-atom-text: atext runs split by single dots */
static bool
is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* is_token - a non-empty RFC 2045 token */
static bool
is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_token_char((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * is_plain_pvalue - can the value go out bare? RFC 8601 2.2: pvalue is
 * a token, or [local-part] "@" domain-name; a local-part that is a
 * dot-atom stays bare, a domain must be a token.
 */
static bool
is_plain_pvalue(const char *v)
{
	const char *at = strrchr(v, '@');

	if (at == NULL)
		return is_token(v, strlen(v));
	if (at != v && !is_dot_atom(v, (size_t)(at - v)))
		return false;
	return is_token(at + 1, strlen(at + 1));
}

/* authres_put_quoted - append a quoted-string, unsafe bytes as '?' */
static void
authres_put_quoted(struct authres_buf *b, const char *v)
{
	const unsigned char *p;
	char c[2] = { 0, 0 };

	authres_puts(b, "\"");
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			authres_puts(b, "\\");
		c[0] = (*p < 0x20 || *p >= 0x7f) ? '?' : (char)*p;
		authres_puts(b, c);
	}
	authres_puts(b, "\"");
}

/* authres_put_comment - append " (text)" with unsafe bytes dropped */
static void
authres_put_comment(struct authres_buf *b, const char *text)
{
	const unsigned char *p;
	char c[2] = { 0, 0 };
	size_t n = 0;

	if (text == NULL || *text == '\0')
		return;
	authres_puts(b, " (");
	for (p = (const unsigned char *)text; *p != '\0' && n < 200; p++) {
		if (*p == '(' || *p == ')' || *p == '\\')
			continue;
		c[0] = (*p < 0x20 || *p >= 0x7f) ? '?' : (char)*p;
		authres_puts(b, c);
		n++;
	}
	authres_puts(b, ")");
}

/* authres_begin - start a header value with the authserv-id */
void
authres_begin(struct authres_buf *b, const char *authserv_id)
{
	b->len = 0;
	b->overflow = 0;
	if (b->size > 0)
		b->data[0] = '\0';
	authres_puts(b, authserv_id);
}

/* authres_add - append one "method=result" entry */
void
authres_add(struct authres_buf *b, const char *method, enum result_code result,
    const char *comment, const char *ptype_prop, const char *value,
    const char *comment2)
{
	authres_puts(b, ";\n\t");
	authres_puts(b, method);
	authres_puts(b, "=");
	authres_puts(b, result_name(result));
	authres_put_comment(b, comment);
	if (ptype_prop != NULL)
		authres_prop(b, ptype_prop, value);
	authres_put_comment(b, comment2);
}

/* authres_prop - append " ptype.prop=value" to the current entry */
void
authres_prop(struct authres_buf *b, const char *ptype_prop, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	authres_puts(b, " ");
	authres_puts(b, ptype_prop);
	authres_puts(b, "=");
	if (is_plain_pvalue(value))
		authres_puts(b, value);
	else
		authres_put_quoted(b, value);
}

/* authres_none - "authserv-id; none" */
void
authres_none(struct authres_buf *b)
{
	authres_puts(b, "; none");
}

/* skip_cfws - skip whitespace and (nested) comments; NULL if unbalanced */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n') {
			break;
		}
	}
	return depth > 0 ? NULL : p;
}

/* authres_authserv_id - the authserv-id of a received header value */
int
authres_authserv_id(const char *value, char *buf, size_t size)
{
	const char *p;
	size_t n = 0;

	if (size == 0 || (p = skip_cfws(value)) == NULL)
		return 0;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			/* RFC 5322 3.2.2: unfolding removes CRLF. */
			if (*p == '\r' || *p == '\n')
				continue;
			if (*p == '\\' && p[1] != '\0')
				p++;
			/* qtext and quoted-pair: no other control bytes. */
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return 0;
			if (n + 1 >= size)
				return 0;
			buf[n++] = *p;
		}
		if (*p != '"')
			return 0;
	} else {
		/* A token (RFC 2045); '.' is not a tspecial. */
		for (; *p != '\0' && is_token_char((unsigned char)*p); p++) {
			if (n + 1 >= size)
				return 0;
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
	return n > 0;
}
