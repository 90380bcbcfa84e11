/*
 * NAME
 *	fuzz_config - libFuzzer target for policy/config
 * SUMMARY
 *	Load hostile configuration files through config_load.
 * DESCRIPTION
 *	Input: the file. It is written to a temporary file under /tmp
 *	(made once per process, removed at exit) and loaded from there, as
 *	sakimori loads its configuration: nothing is added to config.c.
 *	Contract checked (policy/config.h): config_load returns 0 or -1;
 *	on 0 a config and no error, on -1 an error and no config. A loaded
 *	config dumps (config_dump) without error, the dump loads again,
 *	and dumping that gives the same text (the first line, which names
 *	the file, aside).
 *	Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[2][64]; /* input file, dump file; "" until made */

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what, const char *error)
{
	fprintf(stderr, "fuzz_config: contract violated: %s%s%s\n", what,
	    error != NULL ? ": " : "", error != NULL ? error : "");
	abort();
}

/* fuzz_cleanup - remove the temporary files at exit */
static void
fuzz_cleanup(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (fuzz_path[i][0] != '\0')
			unlink(fuzz_path[i]);
}

/* fuzz_write - replace file i with len bytes; 0 or -1 */
static int
fuzz_write(int i, const void *data, size_t len)
{
	FILE *fp;
	int fd;

	if (fuzz_path[i][0] == '\0') {
		snprintf(fuzz_path[i], sizeof(fuzz_path[i]),
		    "/tmp/fuzz_config.XXXXXX");
		if ((fd = mkstemp(fuzz_path[i])) == -1) {
			fuzz_path[i][0] = '\0';
			return -1;
		}
		close(fd);
		if (i == 0)
			atexit(fuzz_cleanup);
	}
	if ((fp = fopen(fuzz_path[i], "w")) == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, fp) != len) {
		fclose(fp);
		return -1;
	}
	return fclose(fp) == 0 ? 0 : -1;
}

/* fuzz_dump - config_dump into memory; caller frees */
static char *
fuzz_dump(const struct config *cfg, size_t *len_r)
{
	char *text = NULL;
	FILE *fp;

	if ((fp = open_memstream(&text, len_r)) == NULL)
		return NULL;
	if (config_dump(cfg, fp) != 0)
		fuzz_fail("config_dump failed", NULL);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* fuzz_body - the dump after its first line */
static const char *
fuzz_body(const char *dump)
{
	const char *nl = strchr(dump, '\n');

	return nl != NULL ? nl + 1 : dump;
}

/* fuzz_load - config_load of file i, checking the result pair */
static struct config *
fuzz_load(int i)
{
	struct config *cfg = (struct config *)&cfg;
	char *error = (char *)&error;
	int ret;

	ret = config_load(fuzz_path[i], NULL, 0, &cfg, &error);
	if (ret == 0 && (cfg == NULL || error != NULL))
		fuzz_fail("0 without a config, or with an error", NULL);
	if (ret == -1 && (cfg != NULL || error == NULL))
		fuzz_fail("-1 with a config, or without an error", NULL);
	if (ret != 0 && ret != -1)
		fuzz_fail("config_load returned neither 0 nor -1", NULL);
	if (ret == 0)
		return cfg;
	if (i == 1)
		fuzz_fail("the dump of a loaded config does not load", error);
	free(error);
	return NULL;
}

/* LLVMFuzzerTestOneInput - one input: a configuration file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg, *again;
	char *dump, *dump2;
	size_t len, len2;

	if (fuzz_write(0, data, size) != 0)
		return 0;
	if ((cfg = fuzz_load(0)) == NULL)
		return 0;
	if ((dump = fuzz_dump(cfg, &len)) == NULL) {
		config_free(&cfg);
		return 0;
	}
	config_free(&cfg);
	if (cfg != NULL)
		fuzz_fail("config_free did not set NULL", NULL);
	if (fuzz_write(1, dump, len) != 0) {
		free(dump);
		return 0;
	}
	again = fuzz_load(1);
	if ((dump2 = fuzz_dump(again, &len2)) != NULL) {
		if (strcmp(fuzz_body(dump), fuzz_body(dump2)) != 0) {
			fprintf(stderr, "first dump:\n%s\nsecond dump:\n%s\n",
			    dump, dump2);
			fuzz_fail("dump changes when loaded again", NULL);
		}
		free(dump2);
	}
	config_free(&again);
	free(dump);
	return 0;
}
