/*
 * NAME
 *	keytable - the DKIM signing key table
 * DESCRIPTION
 *	See keytable.h. The table is parsed line by line into a growing
 *	array; each key file is opened once (open, fstat on the open
 *	descriptor, read), checked and decoded with OpenSSL, then re-encoded
 *	as PKCS#8 PEM for libopendkim.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lists/domain.h"
#include "policy/keytable.h"

#define KEYTABLE_LINE_MAX 4096 /* longest table line */

struct keytable {
	struct keytable_key *keys; /* in file order */
	size_t count;		   /* keys in use */
	size_t size;		   /* keys allocated */
};

/* keytable_error - set *error_r to "PREFIX: formatted text" */
__attribute__((format(printf, 2, 3))) static void
keytable_error(char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (error_r == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*error_r);
	*error_r = s;
}

/* keytable_key_clear - wipe and free the members of one key */
static void
keytable_key_clear(struct keytable_key *k)
{
	if (k->pem != NULL) {
		OPENSSL_cleanse(k->pem, k->pem_len);
		free(k->pem);
	}
	free(k->domain);
	free(k->selector);
	free(k->path);
	memset(k, 0, sizeof(*k));
}

/* keytable_no_passphrase - PEM callback: encrypted keys are refused */
static int
keytable_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* keytable_lower - a lower-case copy without a trailing dot, or NULL */
static char *
keytable_lower(const char *s)
{
	size_t i, len = strlen(s);
	char *d;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[len] = '\0';
	return d;
}

/*
 * keytable_read_key - open, check and decode one key file
 * Returns 0 with k->alg, bits, pem set; -1 with *why (static text or
 * formatted into whybuf).
 */
static int
keytable_read_key(struct keytable_key *k, char *whybuf, size_t whysize)
{
	struct stat st;
	char *buf = NULL;
	BIO *in = NULL, *out = NULL;
	EVP_PKEY *pkey = NULL;
	BUF_MEM *mem;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(k->path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		snprintf(whybuf, whysize, "%s: %s", k->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(whybuf, whysize, "%s: %s", k->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(whybuf, whysize, "%s: not a regular file", k->path);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(whybuf, whysize,
		    "%s: unsafe permissions %04o: group- or world-writable "
		    "(chmod 600 or 640)",
		    k->path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if ((st.st_mode & S_IROTH) != 0) {
		snprintf(whybuf, whysize,
		    "%s: unsafe permissions %04o: world-readable "
		    "(chmod 600 or 640)",
		    k->path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size <= 0 || st.st_size > KEYTABLE_MAX_KEY_FILE) {
		snprintf(whybuf, whysize, "%s: %s", k->path,
		    st.st_size <= 0 ? "empty file"
				    : "file too large for a key");
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(whybuf, whysize, "out of memory");
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(whybuf, whysize, "%s: %s", k->path,
			    n == 0 ? "short read" : strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';

	if ((in = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		snprintf(whybuf, whysize, "out of memory");
		goto fail;
	}
	pkey = PEM_read_bio_PrivateKey(in, NULL, keytable_no_passphrase, NULL);
	if (pkey == NULL) {
		snprintf(whybuf, whysize,
		    "%s: not an unencrypted PEM private key", k->path);
		goto fail;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		k->alg = KEYTABLE_RSA;
		k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
		if (k->bits < KEYTABLE_MIN_RSA_BITS) {
			snprintf(whybuf, whysize,
			    "%s: RSA key of %u bits: at least %u needed "
			    "(RFC 8301)",
			    k->path, k->bits, KEYTABLE_MIN_RSA_BITS);
			goto fail;
		}
		break;
	case EVP_PKEY_ED25519:
		k->alg = KEYTABLE_ED25519;
		k->bits = 256;
		break;
	default:
		snprintf(
		    whybuf, whysize, "%s: not an RSA or Ed25519 key", k->path);
		goto fail;
	}
	/* Re-encode: libopendkim then reads exactly what we checked. */
	if ((out = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(out, pkey, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    BIO_get_mem_ptr(out, &mem) != 1 || mem == NULL) {
		snprintf(whybuf, whysize, "%s: cannot encode the key", k->path);
		goto fail;
	}
	if ((k->pem = malloc(mem->length + 1)) == NULL) {
		snprintf(whybuf, whysize, "out of memory");
		goto fail;
	}
	memcpy(k->pem, mem->data, mem->length);
	k->pem[mem->length] = '\0';
	k->pem_len = mem->length;
	rc = 0;
fail:
	BIO_free(in);
	BIO_free(out);
	EVP_PKEY_free(pkey);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

/* keytable_resolve - the key path, relative ones from the table's dir */
static char *
keytable_resolve(const char *table, const char *key)
{
	const char *slash;
	char *p = NULL;

	if (key[0] == '/' || (slash = strrchr(table, '/')) == NULL)
		return strdup(key);
	if (asprintf(&p, "%.*s/%s", (int)(slash - table), table, key) < 0)
		return NULL;
	return p;
}

/*
 * keytable_add - check one line's fields and load its key
 * Returns 0, or -1 with *error_r set.
 */
static int
keytable_add(struct keytable *kt, const char *table, unsigned line,
    char *const field[3], char **error_r)
{
	struct keytable_key k;
	char why[512];
	size_t i, dlen, slen;

	memset(&k, 0, sizeof(k));
	dlen = strlen(field[0]);
	slen = strlen(field[1]);
	if (domain_name_labels(field[0], dlen) < 1) {
		keytable_error(error_r, "%s:%u: %.253s: not a domain name",
		    table, line, field[0]);
		return -1;
	}
	if (domain_name_labels(field[1], slen) < 1 ||
	    field[1][slen - 1] == '.') {
		keytable_error(error_r, "%s:%u: %.253s: not a selector", table,
		    line, field[1]);
		return -1;
	}
	/* RFC 6376 3.6.2.1: SELECTOR._domainkey.DOMAIN is the name. */
	if (slen + sizeof("._domainkey.") - 1 + dlen > 253) {
		keytable_error(error_r,
		    "%s:%u: %s._domainkey.%s: name over 253 octets", table,
		    line, field[1], field[0]);
		return -1;
	}
	if ((k.domain = keytable_lower(field[0])) == NULL ||
	    (k.selector = keytable_lower(field[1])) == NULL ||
	    (k.path = keytable_resolve(table, field[2])) == NULL)
		goto nomem;
	for (i = 0; i < kt->count; i++) {
		if (strcmp(kt->keys[i].domain, k.domain) == 0) {
			keytable_error(error_r,
			    "%s:%u: duplicate domain %s (first on line %u)",
			    table, line, k.domain, kt->keys[i].line);
			goto fail;
		}
	}
	k.line = line;
	if (keytable_read_key(&k, why, sizeof(why)) != 0) {
		keytable_error(error_r, "%s:%u: %s", table, line, why);
		goto fail;
	}
	if (kt->count == kt->size) {
		size_t size = kt->size == 0 ? 8 : kt->size * 2;
		struct keytable_key *keys;

		keys = realloc(kt->keys, size * sizeof(*keys));
		if (keys == NULL)
			goto nomem;
		kt->keys = keys;
		kt->size = size;
	}
	kt->keys[kt->count++] = k;
	return 0;
nomem:
	keytable_error(error_r, "%s:%u: out of memory", table, line);
fail:
	keytable_key_clear(&k);
	return -1;
}

/*
 * keytable_split - cut a line into at most 3 fields, comments removed
 * Returns the number of fields found (4 means "more than 3").
 */
static int
keytable_split(char *s, char *field[3])
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == 3)
			return 4;
		field[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s == '\0')
			return n;
		*s++ = '\0';
	}
}

/* keytable_load - read a key table and every key it names */
int
keytable_load(const char *path, struct keytable **kt_r, char **error_r)
{
	struct keytable *kt;
	char *buf = NULL, *field[3];
	unsigned line = 0;
	size_t len, i, cap = 0;
	ssize_t got;
	FILE *fp;
	int n;

	*kt_r = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		keytable_error(error_r, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A FIFO or a device (/dev/zero) would never end or never fit. */
	{
		struct stat st;

		if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
			keytable_error(error_r, "%s: not a regular file", path);
			fclose(fp);
			return -1;
		}
	}
	if ((kt = calloc(1, sizeof(*kt))) == NULL) {
		keytable_error(error_r, "%s: out of memory", path);
		fclose(fp);
		return -1;
	}
	while ((got = getline(&buf, &cap, fp)) != -1) {
		len = (size_t)got;
		if (++line > KEYTABLE_MAX_LINES) {
			keytable_error(error_r, "%s:%u: more than %u lines",
			    path, line, KEYTABLE_MAX_LINES);
			goto fail;
		}
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (len > KEYTABLE_LINE_MAX) {
			keytable_error(error_r, "%s:%u: line over %u bytes",
			    path, line, KEYTABLE_LINE_MAX);
			goto fail;
		}
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)buf[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				keytable_error(error_r,
				    "%s:%u: control character 0x%02x", path,
				    line, c);
				goto fail;
			}
		}
		n = keytable_split(buf, field);
		if (n == 0)
			continue;
		if (n != 3) {
			static const char *const nfield[] = { "", "1 field",
				"2 fields", "", "more than 3 fields" };

			keytable_error(error_r,
			    "%s:%u: want \"DOMAIN SELECTOR KEYFILE\", got %s",
			    path, line, nfield[n]);
			goto fail;
		}
		if (keytable_add(kt, path, line, field, error_r) != 0)
			goto fail;
	}
	if (ferror(fp)) {
		keytable_error(error_r, "%s: read error", path);
		goto fail;
	}
	free(buf);
	fclose(fp);
	*kt_r = kt;
	return 0;
fail:
	free(buf);
	fclose(fp);
	keytable_free(&kt);
	return -1;
}

/* keytable_find - the key of a signing domain */
const struct keytable_key *
keytable_find(const struct keytable *kt, const char *domain)
{
	size_t i, len;

	if (kt == NULL || domain == NULL)
		return NULL;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (i = 0; i < kt->count; i++) {
		const char *d = kt->keys[i].domain;

		if (strlen(d) == len && strncasecmp(d, domain, len) == 0)
			return &kt->keys[i];
	}
	return NULL;
}

/* keytable_count - number of keys in a table */
size_t
keytable_count(const struct keytable *kt)
{
	return kt == NULL ? 0 : kt->count;
}

/* keytable_key_at - the key at index i */
const struct keytable_key *
keytable_key_at(const struct keytable *kt, size_t i)
{
	if (kt == NULL || i >= kt->count)
		return NULL;
	return &kt->keys[i];
}

/* keytable_free - wipe and free a table */
void
keytable_free(struct keytable **kt)
{
	size_t i;

	if (kt == NULL || *kt == NULL)
		return;
	for (i = 0; i < (*kt)->count; i++)
		keytable_key_clear(&(*kt)->keys[i]);
	free((*kt)->keys);
	free(*kt);
	*kt = NULL;
}
