/*
 * Reader of the reference files under tests/data that another program
 * wrote (the scripts of tests/reference/, with PyTorch): one case a line,
 * its name, then numbers separated by spaces, integers and floats (C's
 * hexadecimal notation, which is exact), up to the end of the line. The suites
 * that compare with such a file share this reader; what they compare, and how
 * closely, stays theirs.
 *
 *     struct golden g;
 *     golden_open(&g, "losses-pytorch.txt");
 *     golden_case(&g, "mae");            -- each case in the file's order
 *     size_t m = golden_size(&g);        -- its numbers in their order
 *     ...
 *     golden_end_case(&g);               -- nothing left on the line
 *     golden_close(&g);                  -- no case left in the file
 */
#ifndef TINYNN_GOLDEN_H
#define TINYNN_GOLDEN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TNN_TEST_DATA_DIR
#define TNN_TEST_DATA_DIR "tests/data"
#endif

struct golden {
    FILE *file;
    size_t cases;     /* lines read so far */
    const char *name; /* the current case's */
    char *at;         /* its next number */
    char line[16384];
};

/* Open file of the test data directory. */
static inline void golden_open(struct golden *g, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", TNN_TEST_DATA_DIR, file);
    g->file = fopen(path, "r");
    ck_assert_msg(g->file != NULL, "cannot open %s", path);
    g->cases = 0;
    g->name = NULL;
    g->at = NULL;
}

/* Read the next line, which must be case name: its name, then a space. */
static inline void golden_case(struct golden *g, const char *name)
{
    ck_assert_ptr_nonnull(fgets(g->line, sizeof g->line, g->file));
    size_t len = strlen(name);
    ck_assert_msg(strncmp(g->line, name, len) == 0 && g->line[len] == ' ',
                  "line %zu is not case %s", g->cases, name);
    g->cases++;
    g->name = name;
    g->at = g->line + len;
}

/* The current case's next number, as an integer or a double. */
static inline long golden_long(struct golden *g)
{
    return strtol(g->at, &g->at, 10);
}

static inline size_t golden_size(struct golden *g)
{
    return (size_t)strtoul(g->at, &g->at, 10);
}

static inline double golden_double(struct golden *g)
{
    return strtod(g->at, &g->at);
}

/* Its next n numbers, rounded to float (the inputs the file gives). */
static inline void golden_floats(struct golden *g, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)golden_double(g);
}

/* The current case ends here: a longer line means the test read the file
 * wrong (or the buffer cut the line). */
static inline void golden_end_case(const struct golden *g)
{
    ck_assert_msg(*g->at == '\n', "%s: more numbers than expected", g->name);
}

/* Every case was read: nothing follows. Closes the file. */
static inline void golden_close(struct golden *g)
{
    ck_assert_ptr_null(fgets(g->line, sizeof g->line, g->file));
    fclose(g->file);
    g->file = NULL;
}

#endif /* TINYNN_GOLDEN_H */
