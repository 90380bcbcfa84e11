/*
 * test_readme - the README's configuration table is the schema's.
 * Run from the top of the tree (make check does), or set SAKIMORI_TOP.
 */
#include "policy/config_schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* slurp - a whole file, NUL-terminated (caller frees), or NULL */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int c;

	if (fp == NULL)
		return NULL;
	if ((out = open_memstream(&buf, &len)) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((c = getc(fp)) != EOF)
		putc(c, out);
	fclose(fp);
	fclose(out);
	return buf;
}

/* test_table_in_readme - README.md holds the generated table verbatim */
static void
test_table_in_readme(void **state)
{
	const char *top = getenv("SAKIMORI_TOP");
	char path[4096], *readme, *table = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/README.md", top != NULL ? top : ".");
	readme = slurp(path);
	if (readme == NULL)
		fail_msg("%s: cannot read", path);
	fp = open_memstream(&table, &len);
	assert_non_null(fp);
	assert_int_equal(config_schema_markdown(fp), 0);
	fclose(fp);
	if (strstr(readme, table) == NULL)
		fail_msg("README.md: the configuration table differs from the "
			 "schema; regenerate it with build/tests/config_table");
	free(table);
	free(readme);
}

/* test_every_key_documented - each key has a row */
static void
test_every_key_documented(void **state)
{
	const char *top = getenv("SAKIMORI_TOP");
	char path[4096], row[128], *readme;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/README.md", top != NULL ? top : ".");
	readme = slurp(path);
	assert_non_null(readme);
	for (i = 0; i < config_schema_count; i++) {
		snprintf(row, sizeof(row), "| `%s` |", config_schema[i].key);
		if (strstr(readme, row) == NULL)
			fail_msg(
			    "README.md: no row for %s", config_schema[i].key);
	}
	free(readme);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_in_readme),
		cmocka_unit_test(test_every_key_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
