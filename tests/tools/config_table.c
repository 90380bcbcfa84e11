/*
 * NAME
 *	config_table - print the README table of configuration options
 * SUMMARY
 *	config_table > table.md
 * DESCRIPTION
 *	The table comes from the schema (policy/config_schema.c);
 *	tests/unit/test_readme.c checks that README.md holds it verbatim.
 */
#include <stdio.h>

#include "policy/config_schema.h"

int
main(void)
{
	return config_schema_markdown(stdout) == 0 ? 0 : 1;
}
