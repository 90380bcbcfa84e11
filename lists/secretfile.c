/*
 * NAME
 *	secretfile - read a small file holding a secret
 * SUMMARY
 *	open, fstat, check the mode and size, read, NUL-end.
 * DESCRIPTION
 *	See secretfile.h. The size is read up to max + 1 bytes whatever
 *	fstat said, so a file that grows while read is still bounded.
 * THREADS
 *	Any thread; nothing shared.
 * OWNERSHIP
 *	The buffer is the caller's; every copy of the secret made here is
 *	wiped with sodium_memzero before it is freed.
 * ERRORS
 *	See secretfile.h; errno texts come from strerror.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lists/text.h"
#include "lists/secretfile.h"

/* secretfile_read - read a secret file whole */
int
secretfile_read(
    const char *path, size_t max, char **text_r, size_t *len_r, char **error_r)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*text_r = NULL;
	*len_r = 0;
	if (error_r != NULL)
		*error_r = NULL;
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		text_error(error_r, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		text_error(error_r, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		text_error(error_r, "%s: not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		text_error(error_r,
		    "%s: permissions %04o are too open: a secret must not be "
		    "readable or writable by group or others (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		text_error(error_r, "%s: out of memory", path);
		goto fail;
	}
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			text_error(error_r, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		text_error(error_r, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	if (len == 0) {
		text_error(error_r, "%s: empty file", path);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	*text_r = buf;
	*len_r = len;
	return 0;

fail:
	if (buf != NULL) {
		sodium_memzero(buf, max + 2);
		free(buf);
	}
	close(fd);
	return -1;
}

/* secretfile_free - wipe and free a secret */
void
secretfile_free(char **text, size_t len)
{
	if (*text == NULL)
		return;
	sodium_memzero(*text, len);
	free(*text);
	*text = NULL;
}
