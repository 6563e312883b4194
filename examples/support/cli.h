/*
 * cli.h - small helpers of the example programs' command lines.
 */
#ifndef TINYNN_EXAMPLES_CLI_H
#define TINYNN_EXAMPLES_CLI_H

/* Parse all of text as a number in [lo, hi] (a long in base 10) into
 * *out. -1, *out untouched, for an empty text, leading white space,
 * anything after the number, NaN, or a value outside [lo, hi] or the
 * type's range. Every numeric option of the examples goes through these,
 * so that none reads "" or "5x" as a number. */
int cli_parse_long(const char *text, long lo, long hi, long *out);
int cli_parse_double(const char *text, double lo, double hi, double *out);

/* mkdir -p: create path and its missing parents; -1 with errno on
 * failure. */
int cli_make_dirs(const char *path);

#endif
