/*
 * cli.h - small helpers of the example programs' command lines.
 */
#ifndef TINYNN_EXAMPLES_CLI_H
#define TINYNN_EXAMPLES_CLI_H

/* Parse all of text as a number in [lo, hi] into *out; -1 otherwise
 * (*out untouched). */
int cli_parse_long(const char *text, long lo, long hi, long *out);
int cli_parse_double(const char *text, double lo, double hi, double *out);

/* mkdir -p: create path and its missing parents; -1 with errno on
 * failure. */
int cli_make_dirs(const char *path);

#endif
