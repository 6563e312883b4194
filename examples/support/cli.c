/*
 * Command-line helpers of the examples (cli.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"

/* strtol and strtod skip leading white space, which would let " 5" pass
 * where "5 " does not; a value is refused unless it starts with its sign
 * or first digit. The empty string ends there too. */
static int starts_number(const char *text)
{
    return *text && !isspace((unsigned char)*text);
}

int cli_parse_long(const char *text, long lo, long hi, long *out)
{
    if (!starts_number(text))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *text, double lo, double hi, double *out)
{
    if (!starts_number(text))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || end == text || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int cli_make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}
