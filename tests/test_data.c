/*
 * Data loading and preparation: delimited text files (tnn_csv_load and
 * tnn_csv_load_buffer), training and test views (tnn_split_rows), and
 * the standardiser (tnn_scaler_*). Values are checked against arrays
 * written out here, number conversion against the C library's strtof()
 * on many generated strings, every error message for the line, column
 * and value it names, and every allocation failure for leaks. Files go
 * to a temporary directory made per test case.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp(), mkfifo(), setenv() */

#include <dirent.h>
#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testchild.h"
#include "testutil.h"

/* ---- files ----------------------------------------------------------- */

static char tmp_dir[64];

static void make_tmp_dir(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tnn-data-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

/* Removes what the tests leave, one directory level deep (the locale
 * that locale_independent may build). */
static void remove_tree(const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    if (dir) {
        char path[512];
        for (struct dirent *e; (e = readdir(dir)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(path);
            else
                unlink(path);
        }
        closedir(dir);
    }
    rmdir(dir_path);
}

static void remove_tmp_dir(void)
{
    remove_tree(tmp_dir);
}

/* Write len bytes to name in the test directory; the path stays valid
 * for the next few calls. */
static const char *write_file(const char *name, const void *bytes, size_t len)
{
    static char paths[8][160];
    static unsigned next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* The whole file at path into a malloc'ed buffer. */
static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- assertions -------------------------------------------------------- */

/* The last call failed with code under func, and the message holds every
 * string of the NULL-terminated list. */
static void assert_message(int code, const char *func, ...)
{
    assert_failed_with(code, func);
    va_list ap;
    va_start(ap, func);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(tnn_last_error(), s) != NULL,
                      "message \"%s\" does not contain \"%s\"",
                      tnn_last_error(), s);
    va_end(ap);
}

/* Same bits, or both NaN. */
static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* t is rows x cols holding want, row-major. */
static void assert_matrix(const tnn_tensor *t, size_t rows, size_t cols,
                          const float *want)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_ndim(t), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), rows);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), cols);
    const float *v = tnn_tensor_cdata(t);
    for (size_t i = 0; i < rows * cols; i++)
        ck_assert_msg(same_float(v[i], want[i]),
                      "element %zu (row %zu, column %zu) is %a, expected %a",
                      i, i / cols, i % cols, (double)v[i], (double)want[i]);
}

static int load(const char *text, int flags, char delim, const char *targets,
                tnn_tensor **x, tnn_tensor **y)
{
    return tnn_csv_load_buffer(text, strlen(text), flags, delim, targets, x,
                               y);
}

/* text is refused with code and a message holding each string given:
 * by the buffer loader, and by the file loader with the path last. Both
 * leave *x and *y NULL even when they held something. */
static void assert_refused(const char *text, int flags, char delim,
                           const char *targets, int code, ...)
{
    const char *want[8];
    int n = 0;
    va_list ap;
    va_start(ap, code);
    for (const char *s; n < 7 && (s = va_arg(ap, const char *)) != NULL;)
        want[n++] = s;
    va_end(ap);
    want[n] = NULL;

    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *x = keep, *y = keep;
    ck_assert_int_eq(load(text, flags, delim, targets, &x, &y), code);
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    assert_failed_with(code, "tnn_csv_load_buffer");
    for (int i = 0; i < n; i++)
        ck_assert_msg(strstr(tnn_last_error(), want[i]) != NULL,
                      "buffer: message \"%s\" does not contain \"%s\"",
                      tnn_last_error(), want[i]);

    const char *path = write_file("refused.csv", text, strlen(text));
    x = keep;
    y = keep;
    ck_assert_int_eq(tnn_csv_load(path, flags, delim, targets, &x, &y), code);
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    assert_failed_with(code, "tnn_csv_load");
    for (int i = 0; i < n; i++)
        ck_assert_msg(strstr(tnn_last_error(), want[i]) != NULL,
                      "file: message \"%s\" does not contain \"%s\"",
                      tnn_last_error(), want[i]);
    if (code != TNN_E_INVALID)
        ck_assert_msg(strstr(tnn_last_error(), path),
                      "message \"%s\" does not name the path",
                      tnn_last_error());
    tnn_tensor_free(keep);
}

/* ---- CSV: values and layout --------------------------------------------- */

START_TEST(header_detected_and_values_read)
{
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *x = NULL, *y = keep;
    ck_assert_int_eq(load("a,b,c\n1,2,3\n4.5,-6,7e-1\n-0.125,1e3,+.5\n", 0, 0,
                          NULL, &x, &y),
                     TNN_OK);
    const float want[] = {1, 2, 3, 4.5f, -6, 0.7f, -0.125f, 1000, 0.5f};
    assert_matrix(x, 3, 3, want);
    ck_assert_ptr_null(y); /* no targets: y is set to NULL */
    tnn_tensor_free(x);

    /* y may be NULL without targets. */
    ck_assert_int_eq(load("1,2\n3,4\n", 0, 0, "", &x, NULL), TNN_OK);
    const float all[] = {1, 2, 3, 4};
    assert_matrix(x, 2, 2, all);
    tnn_tensor_free(x);
    tnn_tensor_free(keep);
}
END_TEST

START_TEST(header_flags)
{
    tnn_tensor *x = NULL;
    /* Without flags a first line of numbers is data... */
    ck_assert_int_eq(load("1,2\n3,4\n", 0, ',', NULL, &x, NULL), TNN_OK);
    const float both[] = {1, 2, 3, 4};
    assert_matrix(x, 2, 2, both);
    tnn_tensor_free(x);
    /* ... unless TNN_CSV_HEADER says it names the columns. */
    ck_assert_int_eq(load("1,2\n3,4\n", TNN_CSV_HEADER, ',', NULL, &x, NULL),
                     TNN_OK);
    assert_matrix(x, 1, 2, both + 2);
    tnn_tensor_free(x);
    /* One field that is not a number makes a header, an empty one too
     * (the index column of a pandas file). */
    ck_assert_int_eq(load("1,x\n3,4\n", 0, ',', NULL, &x, NULL), TNN_OK);
    assert_matrix(x, 1, 2, both + 2);
    tnn_tensor_free(x);
    ck_assert_int_eq(load(",a\n3,4\n", 0, ',', NULL, &x, NULL), TNN_OK);
    assert_matrix(x, 1, 2, both + 2);
    tnn_tensor_free(x);
    /* A number too large for a float is still a number: the line is data,
     * and refused as such. */
    assert_refused("1e39,2\n3,4\n", 0, ',', NULL, TNN_E_FORMAT,
                   "line 1, column 1: \"1e39\" does not fit in a float", NULL);
    /* TNN_CSV_NO_HEADER: the first line must be numbers. */
    assert_refused("a,b\n3,4\n", TNN_CSV_NO_HEADER, ',', NULL, TNN_E_FORMAT,
                   "line 1, column 1: \"a\" is not a number", NULL);
}
END_TEST

START_TEST(crlf_comments_and_blank_lines)
{
    const char *text = "# a comment, with, commas\r\n"
                       "\r\n"
                       "x,y\r\n"
                       "1,2\r\n"
                       "\r\n"
                       "# 9,9\r\n"
                       "   \t \r\n"
                       "\n"
                       "3,4"; /* no line end at the end */
    tnn_tensor *x = NULL;
    ck_assert_int_eq(load(text, 0, 0, NULL, &x, NULL), TNN_OK);
    const float want[] = {1, 2, 3, 4};
    assert_matrix(x, 2, 2, want);
    tnn_tensor_free(x);
    /* Line numbers count every line, skipped ones included; a '#' that is
     * not the first character starts no comment. */
    assert_refused("# head\r\n\r\nx,y\r\n1,2\r\n\r\n1,?\r\n", 0, 0, NULL,
                   TNN_E_FORMAT, "line 6, column 2: \"?\" is not a number",
                   NULL);
    assert_refused("x,y\n1,2\n #3,4\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 3, column 1: \"#3\" is not a number", NULL);
    /* A UTF-8 byte order mark before the header is no part of it. */
    ck_assert_int_eq(load("\xef\xbb\xbf"
                          "a,b\n1,2\n",
                          0, 0, "a", &x, NULL),
                     TNN_E_INVALID); /* y NULL with targets */
    tnn_tensor *y = NULL;
    ck_assert_int_eq(load("\xef\xbb\xbf"
                          "a,b\n1,2\n",
                          0, 0, "a", &x, &y),
                     TNN_OK);
    assert_matrix(x, 1, 1, want + 1);
    assert_matrix(y, 1, 1, want);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(quoted_fields)
{
    /* Quoted names may hold the delimiter and doubled quotes; quoted
     * numbers may have blanks inside and outside the quotes. */
    const char *text = "\"a,b\" , \"say \"\"hi\"\"\",plain\n"
                       "\"1\", \" 2.5 \" ,3\n"
                       "  \"-4\"\t,5,\"6e1\"\n";
    tnn_tensor *x = NULL, *y = NULL;
    ck_assert_int_eq(load(text, 0, 0, "say \"hi\"", &x, &y), TNN_OK);
    const float wx[] = {1, 3, -4, 60}, wy[] = {2.5f, 5};
    assert_matrix(x, 2, 2, wx);
    assert_matrix(y, 2, 1, wy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    ck_assert_int_eq(load(text, 0, 0, "0", &x, &y), TNN_OK);
    const float wx0[] = {2.5f, 3, 5, 60}, wy0[] = {1, -4};
    assert_matrix(x, 2, 2, wx0);
    assert_matrix(y, 2, 1, wy0);
    tnn_tensor_free(x);
    tnn_tensor_free(y);

    assert_refused("a,b\n1,\"2\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 2, column 2: \"\\\"2\" has no closing quote", NULL);
    assert_refused("a,b\n1,\"2\"3\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 2, column 2: \"\\\"2\\\"3\" has text after its "
                   "closing quote",
                   NULL);
    assert_refused("\"a\"x,b\n1,2\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 1, column 1: \"\\\"a\\\"x\" has text after", NULL);
    assert_refused("1 \"2\"x 3\n", 0, ' ', NULL, TNN_E_FORMAT,
                   "line 1, column 2: \"\\\"2\\\"x\" has text after", NULL);
    assert_refused("a,b\n1,\"\"\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 2, column 2: \"\\\"\\\"\" is not a number", NULL);
}
END_TEST

START_TEST(delimiters_given_and_detected)
{
    const float want[] = {1, 2, 3, 4, 5, 6};
    const struct {
        const char *text;
        char delim;
        int detectable;
    } cases[] = {
        {"a,b,c\n1,2,3\n4,5,6\n", ',', 1},
        {"a;b;c\n1;2;3\n4;5;6\n", ';', 1},
        {"a\tb\tc\n1\t2\t3\n4\t5\t6\n", '\t', 1},
        {"a b c\n1 2 3\n4 5 6\n", ' ', 1},
        {"  a   b  c  \n1   2 3\n 4 5  6   \n", ' ', 1},
        /* Runs of spaces and tabs, at the ends too (detection would take
         * the tab of the first line for the delimiter). */
        {"  a \t b  c\t\n1   2\t\t3\n \t4 5\t 6   \n", ' ', 0},
        /* Blanks around fields of delimited lines are not part of them. */
        {" a , b ,c\n 1 ,\t2 , 3 \n4,5 ,6\n", ',', 1},
        {"a ; b;c\n1 ;2 ; 3\n4;5;6\n", ';', 1},
        {"a \tb\t c\n1 \t 2\t3\n 4\t5 \t6\n", '\t', 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int detect = 0; detect <= cases[i].detectable; detect++) {
            tnn_tensor *x = NULL;
            int rc = load(cases[i].text, 0, detect ? 0 : cases[i].delim, NULL,
                          &x, NULL);
            ck_assert_msg(rc == TNN_OK, "case %zu (%s): %s", i,
                          detect ? "detected" : "given", tnn_last_error());
            assert_matrix(x, 2, 3, want);
            tnn_tensor_free(x);
        }
    }
    /* Detection takes the first of ',', ';' and '\t' on the first data
     * line, outside quotes. */
    tnn_tensor *x = NULL;
    ck_assert_int_eq(load("x;y,z\n1;2\n", 0, 0, NULL, &x, NULL), TNN_OK);
    assert_matrix(x, 1, 2, want);
    tnn_tensor_free(x);
    ck_assert_int_eq(load("\"a,b\";c\n1;2\n", 0, 0, NULL, &x, NULL), TNN_OK);
    assert_matrix(x, 1, 2, want);
    tnn_tensor_free(x);
    ck_assert_int_eq(
        load("# a;b\n1\t2,5\n", TNN_CSV_NO_HEADER, 0, NULL, &x, NULL),
        TNN_E_FORMAT); /* the tab comes first */
    assert_message(TNN_E_FORMAT, "tnn_csv_load_buffer",
                   "line 2, column 2: \"2,5\" is not a number", NULL);
    /* One column: no delimiter at all. */
    ck_assert_int_eq(load("v\n1\n2\n3\n", 0, 0, NULL, &x, NULL), TNN_OK);
    assert_matrix(x, 3, 1, want);
    tnn_tensor_free(x);
    /* A given delimiter is used even if another one would fit. */
    ck_assert_int_eq(load("1,5;2\n", TNN_CSV_NO_HEADER, ';', NULL, &x, NULL),
                     TNN_E_FORMAT);
    assert_message(TNN_E_FORMAT, "tnn_csv_load_buffer",
                   "line 1, column 1: \"1,5\" is not a number", NULL);
}
END_TEST

START_TEST(special_values)
{
    tnn_tensor *x = NULL;
    ck_assert_int_eq(load("nan,NaN,-nan,inf,-INF,+Infinity,-0,0e99999,"
                          "-1e-999,1.4e-45,3.4028235e38\n",
                          0, 0, NULL, &x, NULL),
                     TNN_OK);
    const float want[] = {NAN,   NAN,  -NAN,  INFINITY,  -INFINITY, INFINITY,
                          -0.0f, 0.0f, -0.0f, 0x1p-149f, FLT_MAX};
    assert_matrix(x, 1, 11, want);
    const float *v = tnn_tensor_cdata(x);
    ck_assert(signbit(v[6]) && !signbit(v[7]) && signbit(v[8]));
    tnn_tensor_free(x);
}
END_TEST

START_TEST(targets_by_index_name_and_order)
{
    const char *text = "a,b,c,d\n1,2,3,4\n5,6,7,8\n";
    const struct {
        const char *targets;
        size_t ny;
        float x[6], y[6]; /* both rows, row-major */
    } cases[] = {
        {"0", 1, {2, 3, 4, 6, 7, 8}, {1, 5}},
        {"3", 1, {1, 2, 3, 5, 6, 7}, {4, 8}},
        {"-1", 1, {1, 2, 3, 5, 6, 7}, {4, 8}},
        {"-4", 1, {2, 3, 4, 6, 7, 8}, {1, 5}},
        {"b", 1, {1, 3, 4, 5, 7, 8}, {2, 6}},
        /* Several, in the order given; blanks around items. */
        {"d,b", 2, {1, 3, 5, 7}, {4, 2, 8, 6}},
        {" c , -4 ", 2, {2, 4, 6, 8}, {3, 1, 7, 5}},
        {"+2,a,-3", 3, {4, 8}, {3, 1, 2, 7, 5, 6}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tnn_tensor *x = NULL, *y = NULL;
        int rc = load(text, 0, 0, cases[i].targets, &x, &y);
        ck_assert_msg(rc == TNN_OK, "targets \"%s\": %s", cases[i].targets,
                      tnn_last_error());
        assert_matrix(x, 2, 4 - cases[i].ny, cases[i].x);
        assert_matrix(y, 2, cases[i].ny, cases[i].y);
        tnn_tensor_free(x);
        tnn_tensor_free(y);
    }
    /* Indices work without a header; a number-like item is an index even
     * when a header names a column so. */
    tnn_tensor *x = NULL, *y = NULL;
    ck_assert_int_eq(load("1,2,3\n4,5,6\n", 0, ',', "-1,0", &x, &y), TNN_OK);
    const float wx[] = {2, 5}, wy[] = {3, 1, 6, 4};
    assert_matrix(x, 2, 1, wx);
    assert_matrix(y, 2, 2, wy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    ck_assert_int_eq(load("1,0\n7,8\n", TNN_CSV_HEADER, 0, "1", &x, &y),
                     TNN_OK);
    const float w7[] = {7}, w8[] = {8};
    assert_matrix(x, 1, 1, w7);
    assert_matrix(y, 1, 1, w8);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    /* Whitespace-separated with names. */
    ck_assert_int_eq(
        load("# t\n  x   label\n 1.5  0\n-2 1\n", 0, 0, "label", &x, &y),
        TNN_OK);
    const float sx[] = {1.5f, -2}, sy[] = {0, 1};
    assert_matrix(x, 2, 1, sx);
    assert_matrix(y, 2, 1, sy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(bad_targets)
{
    const char *text = "a,b,c\n1,2,3\n";
    const struct {
        const char *targets;
        const char *why;
    } cases[] = {
        {"3", "targets item 1 (3) is out of range: the file has 3 columns"},
        {"0,-4", "targets item 2 (-4) is out of range"},
        {"-0", "targets item 1 (-0) is out of range"},
        {"99999999999999999999999", "is out of range"},
        {"1,-2", "targets item 2 (-2) repeats column 1"},
        {"c,2", "targets item 2 (2) repeats column 2"},
        {"z", "targets item 1: no column is named \"z\""},
        {"A", "no column is named \"A\""}, /* names match exactly */
        {"0,1,2", "targets names all 3 columns"},
        {"0,,1", "item 2 is empty"},
        {"1,", "item 2 is empty"},
        {" ", "item 1 is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_refused(text, 0, 0, cases[i].targets, TNN_E_INVALID,
                       cases[i].why, NULL);
    assert_refused("1,2\n3,4\n", 0, 0, "b", TNN_E_INVALID,
                   "targets item 1 names column \"b\", but the file has no "
                   "header line",
                   NULL);
    assert_refused("a,b\n3,4\n", TNN_CSV_NO_HEADER, 0, "0,b", TNN_E_INVALID,
                   "targets item 2 names column \"b\", but flags has "
                   "TNN_CSV_NO_HEADER",
                   NULL);
    assert_refused("a,b,a\n1,2,3\n", 0, 0, "a", TNN_E_INVALID,
                   "targets item 1: columns 1 and 3 are both named \"a\"",
                   NULL);
    /* y must be there to take targets. */
    tnn_tensor *x = NULL;
    ck_assert_int_eq(load(text, 0, 0, "a", &x, NULL), TNN_E_INVALID);
    ck_assert_ptr_null(x);
    assert_message(TNN_E_INVALID, "tnn_csv_load_buffer",
                   "y is NULL but targets names 1 column", NULL);
}
END_TEST

START_TEST(malformed_fields_name_line_and_column)
{
    const struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"a,b\n1,2\n3,abc\n", "line 3, column 2: \"abc\" is not a number"},
        {"a,b\n1,2\n,4\n", "line 3, column 1: \"\" is not a number"},
        {"1,2\n3,4,\n", "line 2 has 3 fields"},
        {"1;2\n3;1e\n", "line 2, column 2: \"1e\" is not a number"},
        {"1\t2\n--3\t4\n", "line 2, column 1: \"--3\" is not a number"},
        {"1 2\n3 1.2.3\n", "line 2, column 2: \"1.2.3\" is not a number"},
        {"1,2\n3,0x10\n", "line 2, column 2: \"0x10\" is not a number"},
        {"1,2\n3,1e+\n", "line 2, column 2: \"1e+\" is not a number"},
        {"1,2\n3,.\n", "line 2, column 2: \".\" is not a number"},
        {"1,2\n3,infinit\n", "line 2, column 2: \"infinit\" is not a number"},
        {"1,2\n3,1 2\n", "line 2, column 2: \"1 2\" is not a number"},
        {"1,2\n3,\"4\"\"\"\n",
         "line 2, column 2: \"\\\"4\\\"\\\"\\\"\" is not "
         "a number"},
        {"1,2\n3,1e39\n", "line 2, column 2: \"1e39\" does not fit in a "
                          "float"},
        {"1,2\n3,-3.5e38\n", "line 2, column 2: \"-3.5e38\" does not fit"},
        {"1,2\n3,340282356779733661637539395458142568448\n",
         "line 2, column 2: \"34028235677973366163753939545814...\" does "
         "not fit in a float"},
        /* Bytes outside printable ASCII are escaped; long fields cut. */
        {"1,2\n3,4\x01\xff\n", "line 2, column 2: \"4\\x01\\xff\" is not a "
                               "number"},
        {"1,2\n3,12345678901234567890123456789012x\n",
         "line 2, column 2: \"12345678901234567890123456789012...\" is "
         "not a number"},
        {"1,2\n3,a\\b\n", "line 2, column 2: \"a\\\\b\" is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_refused(cases[i].text, 0, 0, NULL, TNN_E_FORMAT, cases[i].why,
                       NULL);
    /* A NUL byte is a character like others. */
    static const char nul[] = "1,2\n3,4\0005\n";
    tnn_tensor *x = NULL;
    ck_assert_int_eq(
        tnn_csv_load_buffer(nul, sizeof nul - 1, 0, 0, NULL, &x, NULL),
        TNN_E_FORMAT);
    assert_message(TNN_E_FORMAT, "tnn_csv_load_buffer",
                   "line 2, column 2: \"4\\x005\" is not a number", NULL);
}
END_TEST

START_TEST(field_counts_must_match_the_first_line)
{
    assert_refused("a,b,c\n1,2,3\n4,5\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 3 has 2 fields; the first line (line 1) has 3", NULL);
    assert_refused("# c\n\n1,2\n4,5,6,7\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 4 has 4 fields; the first line (line 3) has 2", NULL);
    assert_refused("a b\n1 2\n3\n", 0, ' ', NULL, TNN_E_FORMAT,
                   "line 3 has 1 field; the first line (line 1) has 2", NULL);
    /* The count is checked before the values: the line as a whole is
     * wrong. */
    assert_refused("1,2\nx,y,z\n", 0, 0, NULL, TNN_E_FORMAT,
                   "line 2 has 3 fields; the first line (line 1) has 2", NULL);
    /* The first line counts even when it is a header. */
    assert_refused("a,b\n1,2,3\n", TNN_CSV_HEADER, 0, NULL, TNN_E_FORMAT,
                   "line 2 has 3 fields; the first line (line 1) has 2", NULL);
}
END_TEST

START_TEST(files_without_data)
{
    assert_refused("", 0, 0, NULL, TNN_E_FORMAT,
                   "no data lines: the text is empty", NULL);
    assert_refused("\xef\xbb\xbf", 0, 0, NULL, TNN_E_FORMAT,
                   "no data lines: the text is empty", NULL);
    assert_refused("# only a comment\n\n  \n", 0, 0, NULL, TNN_E_FORMAT,
                   "no data lines (3 lines, all empty or comments)", NULL);
    assert_refused("a,b\n# nothing\n", 0, 0, NULL, TNN_E_FORMAT,
                   "no data lines after the header (line 1)", NULL);
    assert_refused("1,2\n", TNN_CSV_HEADER, 0, NULL, TNN_E_FORMAT,
                   "no data lines after the header", NULL);
}
END_TEST

START_TEST(invalid_arguments)
{
    const char *text = "1,2\n";
    const char *path = write_file("ok.csv", text, strlen(text));
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *x = keep, *y = keep;
    ck_assert_int_eq(tnn_csv_load_buffer(text, 4, 0, 0, NULL, NULL, &y),
                     TNN_E_INVALID);
    ck_assert_ptr_null(y);
    assert_message(TNN_E_INVALID, "tnn_csv_load_buffer", "x is NULL", NULL);
    ck_assert_int_eq(tnn_csv_load(path, 0, 0, NULL, NULL, NULL),
                     TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_csv_load", "x is NULL", NULL);

    const struct {
        int flags;
        char delim;
        const char *targets;
        const char *why;
    } cases[] = {
        {4, 0, NULL, "flags is 0x4"},
        {-1, 0, NULL, "flags is 0xffffffff"},
        {TNN_CSV_HEADER | TNN_CSV_NO_HEADER, 0, NULL,
         "flags has both TNN_CSV_HEADER and TNN_CSV_NO_HEADER"},
        {0, 'x', NULL, "delimiter is 0x78"},
        {0, '\n', NULL, "delimiter is 0x0a"},
        {0, '"', NULL, "delimiter is 0x22"},
        {0, ',', ",", "targets \",\": item 1 is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        x = y = keep;
        ck_assert_int_eq(tnn_csv_load_buffer(text, 4, cases[i].flags,
                                             cases[i].delim, cases[i].targets,
                                             &x, &y),
                         TNN_E_INVALID);
        ck_assert_ptr_null(x);
        ck_assert_ptr_null(y);
        assert_message(TNN_E_INVALID, "tnn_csv_load_buffer", cases[i].why,
                       NULL);
        x = y = keep;
        ck_assert_int_eq(tnn_csv_load(path, cases[i].flags, cases[i].delim,
                                      cases[i].targets, &x, &y),
                         TNN_E_INVALID);
        ck_assert_ptr_null(x);
        ck_assert_ptr_null(y);
        assert_message(TNN_E_INVALID, "tnn_csv_load", cases[i].why, NULL);
    }
    x = y = keep;
    ck_assert_int_eq(tnn_csv_load_buffer(NULL, 4, 0, 0, NULL, &x, &y),
                     TNN_E_INVALID);
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    assert_message(TNN_E_INVALID, "tnn_csv_load_buffer", "data is NULL", NULL);
    x = keep;
    ck_assert_int_eq(tnn_csv_load(NULL, 0, 0, NULL, &x, NULL), TNN_E_INVALID);
    ck_assert_ptr_null(x);
    assert_message(TNN_E_INVALID, "tnn_csv_load", "path is NULL", NULL);
    tnn_tensor_free(keep);
}
END_TEST

/* ---- CSV: files ----------------------------------------------------------
 */

START_TEST(file_matches_buffer)
{
    const char *text = "# values\r\nf1;f2;label\r\n0.25;-1;1\r\n1e-3;2;0\r\n";
    const char *path = write_file("data.csv", text, strlen(text));
    tnn_tensor *x = NULL, *y = NULL, *bx = NULL, *by = NULL;
    ck_assert_int_eq(tnn_csv_load(path, 0, 0, "label", &x, &y), TNN_OK);
    ck_assert_int_eq(load(text, 0, 0, "label", &bx, &by), TNN_OK);
    const float wx[] = {0.25f, -1, 1e-3f, 2}, wy[] = {1, 0};
    assert_matrix(x, 2, 2, wx);
    assert_matrix(y, 2, 1, wy);
    assert_matrix(bx, 2, 2, wx);
    assert_matrix(by, 2, 1, wy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(bx);
    tnn_tensor_free(by);
}
END_TEST

static int load_csv_file(const char *path)
{
    tnn_tensor *x = NULL;
    int rc = tnn_csv_load(path, 0, 0, NULL, &x, NULL);
    tnn_tensor_free(x);
    return rc;
}

START_TEST(unreadable_paths)
{
    char path[160], msg[600];
    snprintf(path, sizeof path, "%s/no-such.csv", tmp_dir);
    tnn_tensor *x = NULL;
    ck_assert_int_eq(tnn_csv_load(path, 0, 0, NULL, &x, NULL), TNN_E_IO);
    ck_assert_ptr_null(x);
    assert_message(TNN_E_IO, "tnn_csv_load", strerror(ENOENT), path, NULL);
    /* Directories and FIFOs are refused at once, without waiting for a
     * writer. */
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", tmp_dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, tmp_dir};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(
            run_in_child(load_csv_file, paths[i], msg, sizeof msg), TNN_E_IO);
        ck_assert_msg(strstr(msg, "tnn_csv_load: not a regular file: ") &&
                          strstr(msg, paths[i]),
                      "%s", msg);
    }
    unlink(fifo);
}
END_TEST

/* ---- CSV: gzip ------------------------------------------------------------
 * Two gzip members (written by Python's gzip module at level 9): the first
 * holds "# gzip test", the header "a,b,c" and rows 0 to 99, the second
 * rows 100 to 199, row i being "i,i/2,-i" (%g). */
/* clang-format off */
static const unsigned char gz_part1[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x1d, 0x93,
    0x3b, 0xae, 0x50, 0x31, 0x0c, 0x44, 0xfb, 0x59, 0xc5, 0x93, 0x68, 0x1d,
    0x94, 0xf8, 0x1b, 0x2f, 0x07, 0x10, 0x42, 0x74, 0x48, 0xbc, 0x8a, 0xd5,
    0x33, 0xb1, 0x6e, 0x33, 0x99, 0xe2, 0x9e, 0x9c, 0x38, 0xf9, 0xf2, 0xf1,
    0xeb, 0xdf, 0xef, 0x3f, 0x1f, 0x9f, 0x3f, 0xff, 0x7e, 0xe2, 0x9b, 0x7c,
    0x97, 0x1f, 0xd8, 0xc2, 0x0f, 0x47, 0xf6, 0xd7, 0x90, 0x75, 0xa0, 0x72,
    0x64, 0x29, 0x4c, 0xce, 0x5b, 0x1b, 0x5c, 0x54, 0x96, 0x23, 0x44, 0xdf,
    0x3a, 0x90, 0x62, 0xb2, 0x12, 0x25, 0xf6, 0xd6, 0x85, 0x2b, 0x2e, 0xeb,
    0xa2, 0xc5, 0xdf, 0xba, 0x71, 0xb6, 0xbc, 0xff, 0xf0, 0x8f, 0x47, 0x62,
    0x7e, 0x79, 0x70, 0x54, 0x92, 0x41, 0x71, 0x4c, 0x72, 0x3a, 0xc3, 0x71,
    0x29, 0x06, 0xc7, 0x09, 0xa9, 0xe9, 0x02, 0x27, 0xe5, 0x32, 0x24, 0x4e,
    0xc9, 0x9d, 0xae, 0x70, 0xae, 0x34, 0xc3, 0xc5, 0x69, 0xe9, 0xe9, 0x1a,
    0xba, 0x85, 0x98, 0xa5, 0x1b, 0x7a, 0x98, 0x5e, 0xab, 0xdc, 0x39, 0xb7,
    0xfe, 0xf6, 0xae, 0x50, 0xee, 0x7e, 0xb6, 0xaf, 0x06, 0x75, 0x21, 0x7e,
    0xa9, 0x43, 0x83, 0x69, 0xda, 0x80, 0xa6, 0x70, 0x2f, 0x4b, 0x13, 0x5a,
    0x4c, 0xd3, 0x16, 0xf4, 0x0a, 0xb7, 0xb5, 0xf4, 0x42, 0x9b, 0x69, 0xda,
    0x86, 0x91, 0xf6, 0x8e, 0x62, 0xc3, 0x48, 0x1b, 0x27, 0x3b, 0x30, 0xd2,
    0x28, 0x65, 0x3c, 0x2a, 0xd2, 0xc6, 0xca, 0x0c, 0x46, 0x1a, 0xb5, 0xcc,
    0x61, 0xa4, 0x8d, 0x97, 0x05, 0x8c, 0x34, 0x8a, 0x59, 0xc2, 0x48, 0x1b,
    0x33, 0x2b, 0x18, 0x69, 0x54, 0xb3, 0x0b, 0x23, 0x6d, 0xdc, 0xac, 0xe1,
    0x5b, 0xa8, 0xb7, 0x7c, 0xc3, 0x0f, 0xd3, 0x6b, 0xfd, 0xc0, 0x55, 0xa8,
    0xba, 0x5c, 0xe1, 0xc6, 0x34, 0x2d, 0x67, 0xc3, 0xe1, 0xbc, 0xe9, 0x38,
    0x9c, 0xf3, 0x19, 0x37, 0x0f, 0x78, 0x0a, 0x0f, 0x60, 0x79, 0xc2, 0x8b,
    0x69, 0xda, 0x82, 0x5f, 0xe1, 0x51, 0x2c, 0xbf, 0xf0, 0x66, 0x9a, 0xb6,
    0x11, 0xa4, 0xbd, 0xb1, 0x6e, 0x04, 0x69, 0xe3, 0x16, 0x07, 0x41, 0x1a,
    0xdd, 0x42, 0x11, 0xa4, 0x8d, 0x5b, 0x18, 0x82, 0x34, 0xba, 0x05, 0x2f,
    0x03, 0x69, 0xe3, 0x16, 0x81, 0x20, 0x8d, 0x6e, 0x91, 0x08, 0xd2, 0xc6,
    0x2d, 0x0a, 0x41, 0x1a, 0xdd, 0xe2, 0x22, 0x48, 0x1b, 0xb7, 0x68, 0xe4,
    0x16, 0x1e, 0xe6, 0xca, 0x8d, 0x3c, 0x4c, 0xaf, 0xcd, 0x83, 0x54, 0xe1,
    0xc1, 0xae, 0x54, 0xa4, 0x31, 0x4d, 0x6b, 0x48, 0x17, 0x1e, 0xf1, 0x4a,
    0x47, 0x06, 0xd3, 0xb4, 0xbc, 0x7d, 0xbc, 0x7e, 0xef, 0xfe, 0x25, 0x92,
    0x37, 0x70, 0xdc, 0xb2, 0x90, 0x57, 0x78, 0xf0, 0x2b, 0x2f, 0xb2, 0x99,
    0xa6, 0x6d, 0x14, 0x69, 0xef, 0x8a, 0x6e, 0x14, 0x69, 0xe3, 0x56, 0x07,
    0x45, 0x1a, 0xdd, 0x4a, 0x51, 0xa4, 0x8d, 0x5b, 0x19, 0x8a, 0x34, 0xba,
    0x95, 0xa3, 0x48, 0x1b, 0xb7, 0x0a, 0x14, 0x69, 0x74, 0x2b, 0x5e, 0x77,
    0xd2, 0xc6, 0xad, 0x0a, 0x45, 0x1a, 0xdd, 0xea, 0xa2, 0x48, 0x1b, 0xb7,
    0x6a, 0xdc, 0x2d, 0x1c, 0xdd, 0xba, 0x1b, 0xf7, 0x30, 0xbd, 0xf6, 0x1e,
    0x5c, 0x15, 0x8e, 0x71, 0x5d, 0xc5, 0x35, 0xa6, 0x69, 0x0d, 0xd7, 0x85,
    0x03, 0x5d, 0xd7, 0x71, 0x83, 0x69, 0xda, 0xc0, 0x4d, 0xe1, 0x70, 0xd7,
    0x4d, 0xdc, 0x62, 0x9a, 0x96, 0xef, 0x8b, 0x0f, 0xec, 0xbd, 0xb0, 0x8b,
    0xcb, 0x37, 0x36, 0x6e, 0xb7, 0xd1, 0xa4, 0xbd, 0xe7, 0xb6, 0xd1, 0xa4,
    0x8d, 0x5b, 0x1f, 0x34, 0x69, 0x74, 0x6b, 0x45, 0x93, 0x36, 0x6e, 0x6d,
    0x68, 0xd2, 0xe8, 0xd6, 0x8e, 0x26, 0x6d, 0xdc, 0x3a, 0xd0, 0xa4, 0xd1,
    0xad, 0x13, 0x4d, 0xda, 0xb8, 0x75, 0xa1, 0x49, 0xa3, 0x5b, 0xf3, 0x41,
    0x93, 0x36, 0x6e, 0xdd, 0xf8, 0x0f, 0xed, 0xf7, 0x2b, 0xe9, 0x35, 0x04,
    0x00, 0x00,
};
static const unsigned char gz_part2[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x25, 0xd2,
    0x41, 0x76, 0x24, 0x21, 0x0c, 0x04, 0xd1, 0xbd, 0xcf, 0xc2, 0xf8, 0x15,
    0x48, 0x20, 0xe9, 0xfe, 0x17, 0x9b, 0x48, 0xe7, 0x4e, 0x65, 0xb9, 0xbb,
    0x7f, 0x05, 0xec, 0xef, 0x5b, 0xf7, 0x5b, 0xff, 0xf6, 0xf7, 0xfd, 0xec,
    0x6f, 0x33, 0xff, 0x5e, 0x3d, 0x6d, 0x9e, 0xce, 0xba, 0x5b, 0xf3, 0x61,
    0x0e, 0x66, 0x6f, 0x82, 0xa7, 0x5c, 0xf7, 0x68, 0x4e, 0xe6, 0xcb, 0xec,
    0xcd, 0xe5, 0xe9, 0xad, 0x1b, 0x9a, 0x1f, 0x73, 0x31, 0x7b, 0x53, 0x3c,
    0xf5, 0xba, 0xa9, 0xb9, 0x99, 0x87, 0xd9, 0x9b, 0xf9, 0xd9, 0x1b, 0x81,
    0xe6, 0x8d, 0x60, 0x23, 0xb8, 0x7f, 0x9b, 0x8d, 0x60, 0x23, 0x78, 0x9a,
    0x11, 0x6c, 0x04, 0xcf, 0x1b, 0x04, 0x1b, 0x41, 0x69, 0x46, 0xb0, 0x11,
    0x94, 0x37, 0x08, 0x36, 0x82, 0xd6, 0x8c, 0x60, 0x23, 0x68, 0x6f, 0x10,
    0x6c, 0x04, 0xa3, 0x19, 0xc1, 0x46, 0x30, 0xde, 0x20, 0x38, 0xdf, 0x7a,
    0x6a, 0x70, 0x10, 0x9c, 0xcd, 0xfc, 0xb7, 0x39, 0x08, 0xce, 0x59, 0x4f,
    0x0d, 0x0e, 0x82, 0x13, 0xcc, 0xde, 0x20, 0x38, 0xb9, 0x9e, 0x1a, 0x1c,
    0x04, 0xe7, 0x32, 0x7b, 0x83, 0xe0, 0xbc, 0xf5, 0xd4, 0xe0, 0x20, 0x38,
    0xc5, 0xec, 0x0d, 0x82, 0xd3, 0xeb, 0xa9, 0xc1, 0x41, 0x70, 0x86, 0xd9,
    0x1b, 0x04, 0x81, 0x40, 0x73, 0x20, 0x08, 0x04, 0x6e, 0x10, 0x08, 0x02,
    0x81, 0x1a, 0x04, 0x82, 0x40, 0xe0, 0x06, 0x81, 0x20, 0x10, 0xa8, 0x41,
    0x20, 0x08, 0x04, 0x6e, 0x10, 0x08, 0x02, 0x81, 0x1a, 0x04, 0x82, 0x40,
    0xe0, 0x06, 0x81, 0x20, 0x10, 0xa8, 0x41, 0x20, 0x08, 0x04, 0x6e, 0x10,
    0x08, 0xf2, 0x5b, 0xa5, 0x06, 0x89, 0x20, 0x37, 0xf3, 0xdf, 0x26, 0x11,
    0xe4, 0x59, 0xa5, 0x06, 0x89, 0x20, 0x83, 0xd9, 0x1b, 0x04, 0x99, 0xab,
    0xd4, 0x20, 0x11, 0xe4, 0x65, 0xf6, 0x06, 0x41, 0xbe, 0x55, 0x6a, 0x90,
    0x08, 0xb2, 0x98, 0xbd, 0x41, 0x90, 0xbd, 0x4a, 0x0d, 0x12, 0x41, 0x0e,
    0xb3, 0x37, 0x08, 0xb8, 0x86, 0xa5, 0xf9, 0x22, 0xe0, 0xe2, 0x95, 0x1b,
    0x5c, 0x04, 0x5c, 0xb6, 0x52, 0x83, 0x8b, 0x80, 0xeb, 0x55, 0x6e, 0x70,
    0x11, 0x70, 0xa5, 0x4a, 0x0d, 0x2e, 0x02, 0x2e, 0x51, 0xb9, 0xc1, 0x45,
    0xc0, 0xc5, 0x29, 0x35, 0xb8, 0x08, 0xb8, 0x2a, 0xe5, 0x06, 0x17, 0x01,
    0xd7, 0xa3, 0xd4, 0xe0, 0x22, 0xe0, 0x42, 0x94, 0x1b, 0x5c, 0x04, 0x5c,
    0x82, 0x56, 0x83, 0x87, 0x80, 0x63, 0x6f, 0x37, 0x78, 0x08, 0x38, 0xea,
    0x56, 0x83, 0x87, 0x80, 0xc3, 0x6d, 0x37, 0x78, 0x08, 0x38, 0xd0, 0x56,
    0x83, 0x87, 0x80, 0x23, 0x6c, 0x37, 0x78, 0x08, 0x38, 0xb6, 0x56, 0x83,
    0x87, 0x80, 0x83, 0x6a, 0x37, 0x78, 0x08, 0x38, 0x9c, 0x56, 0x83, 0x87,
    0x80, 0xe3, 0x68, 0x37, 0x78, 0x08, 0x38, 0x82, 0xd6, 0x5c, 0x08, 0x88,
    0xde, 0x6e, 0x50, 0x08, 0x08, 0xdd, 0x6a, 0x50, 0x08, 0x48, 0xdb, 0x6e,
    0x50, 0x08, 0xc8, 0xd9, 0x6a, 0x50, 0x08, 0x08, 0xd8, 0x6e, 0x50, 0x08,
    0x88, 0xd6, 0x6a, 0x50, 0x08, 0xc8, 0xd4, 0x6e, 0x50, 0x08, 0x48, 0xd3,
    0x6a, 0x50, 0x08, 0x88, 0xd1, 0x6e, 0x50, 0x08, 0x08, 0x30, 0x6a, 0xd0,
    0x08, 0x78, 0xe5, 0x71, 0x83, 0x46, 0xc0, 0x6b, 0x8e, 0x1a, 0x34, 0x02,
    0x5e, 0x6c, 0xdc, 0xa0, 0x11, 0xf0, 0x32, 0xa3, 0x06, 0x8d, 0x00, 0xfe,
    0xb8, 0x41, 0x23, 0x80, 0x3c, 0x6a, 0xd0, 0x08, 0x40, 0x8e, 0x1b, 0x34,
    0x02, 0x60, 0xa3, 0x06, 0x8d, 0x00, 0xca, 0xb8, 0x41, 0x23, 0xe0, 0xe7,
    0x47, 0xf3, 0x20, 0xe0, 0x07, 0xc7, 0x0d, 0x06, 0x01, 0x3f, 0x32, 0x6a,
    0x30, 0x08, 0xf8, 0xda, 0x71, 0x83, 0x41, 0xc0, 0x57, 0x8d, 0x1a, 0x0c,
    0x02, 0x3e, 0x3c, 0x6e, 0x30, 0x08, 0xf8, 0xc0, 0xa8, 0xc1, 0x20, 0xe0,
    0x5f, 0xc6, 0x0d, 0x06, 0x01, 0x7f, 0x1e, 0x35, 0x18, 0x04, 0x0c, 0xe3,
    0x06, 0x33, 0x3f, 0xff, 0x01, 0xf1, 0x26, 0x5b, 0xfc, 0x14, 0x05, 0x00,
    0x00,
};
/* clang-format on */

#ifdef TNN_HAVE_ZLIB
static void gz_expected(size_t rows, float *x, float *y)
{
    for (size_t i = 0; i < rows; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)i * 0.5f;
        y[i] = (float)-(long)i; /* "0", not "-0" */
    }
}
#endif

/* The bytes of a, then of b (either may be empty), in a new buffer. */
static unsigned char *joined(const void *a, size_t na, const void *b,
                             size_t nb)
{
    unsigned char *p = malloc(na + nb + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, a, na);
    if (nb)
        memcpy(p + na, b, nb);
    return p;
}

START_TEST(gzip_files)
{
    const size_t n1 = sizeof gz_part1, n2 = sizeof gz_part2;
    unsigned char *both = joined(gz_part1, n1, gz_part2, n2);
    const char *path = write_file("both.csv.gz", both, n1 + n2);
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *x = keep, *y = keep;
    int rc = tnn_csv_load(path, 0, 0, "c", &x, &y);
#ifdef TNN_HAVE_ZLIB
    ck_assert_msg(rc == TNN_OK, "%s", tnn_last_error());
    float wx[400], wy[200];
    gz_expected(200, wx, wy);
    assert_matrix(x, 200, 2, wx);
    assert_matrix(y, 200, 1, wy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    /* One member alone. */
    path = write_file("one.csv.gz", gz_part1, n1);
    ck_assert_int_eq(tnn_csv_load(path, 0, ',', "-1", &x, &y), TNN_OK);
    assert_matrix(x, 100, 2, wx);
    assert_matrix(y, 100, 1, wy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);

    /* Damaged data: a flipped bit in the compressed blocks or in the
     * CRC, a cut stream, bytes after the last member. */
    const struct {
        size_t flip; /* byte to change, or SIZE_MAX */
        size_t cut;  /* bytes to leave out at the end */
        const char *extra;
        const char *why;
    } cases[] = {
        {40, 0, "", "gzip data is corrupt"},
        {SIZE_MAX - 1, 0, "", "gzip data is corrupt"}, /* the CRC */
        {SIZE_MAX, 10, "", "gzip data is truncated"},
        {SIZE_MAX, 1, "", "gzip data is truncated"},
        {SIZE_MAX, n1 - 2, "", "gzip data is truncated"},
        {SIZE_MAX, 0, "junk",
         "gzip data is followed by bytes that are no "
         "gzip member"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t extra = strlen(cases[i].extra);
        unsigned char *bad = joined(gz_part1, n1, cases[i].extra, extra);
        if (cases[i].flip == SIZE_MAX - 1)
            bad[n1 - 6] ^= 0x10;
        else if (cases[i].flip != SIZE_MAX)
            bad[cases[i].flip] ^= 0x10;
        path = write_file("bad.csv.gz", bad, n1 - cases[i].cut + extra);
        free(bad);
        x = y = keep;
        ck_assert_int_eq(tnn_csv_load(path, 0, 0, "c", &x, &y), TNN_E_CORRUPT);
        ck_assert_ptr_null(x);
        ck_assert_ptr_null(y);
        assert_message(TNN_E_CORRUPT, "tnn_csv_load", cases[i].why, path,
                       NULL);
    }
#else
    ck_assert_int_eq(rc, TNN_E_FORMAT);
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    assert_message(TNN_E_FORMAT, "tnn_csv_load",
                   "the file is gzip-compressed and this libtinynn was built "
                   "without zlib",
                   path, NULL);
#endif
    /* The buffer loader never decompresses, with or without zlib. */
    x = y = keep;
    ck_assert_int_eq(tnn_csv_load_buffer(both, n1 + n2, 0, 0, "c", &x, &y),
                     TNN_E_FORMAT);
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    assert_message(TNN_E_FORMAT, "tnn_csv_load_buffer",
                   "data starts with the gzip magic (1f 8b)", NULL);
    free(both);
    tnn_tensor_free(keep);
}
END_TEST

/* ---- CSV: numbers ---------------------------------------------------------
 */

static uint64_t rand_state = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)
{
    rand_state ^= rand_state >> 12;
    rand_state ^= rand_state << 25;
    rand_state ^= rand_state >> 27;
    return rand_state * 0x2545f4914f6cdd1du;
}

static int below(int n)
{
    return (int)(next_rand() % (uint64_t)n);
}

/* nd random digits (the first nonzero unless zeros is set) with a point
 * somewhere or nowhere. */
static int put_digits(char *p, int nd, int zeros)
{
    int k = 0, point = below(nd + 2);
    for (int i = 0; i < nd; i++) {
        if (i == point && i > 0)
            p[k++] = '.';
        p[k++] = (char)('0' + (i == 0 && !zeros ? 1 + below(9) : below(10)));
    }
    return k;
}

/* A random float of any finite magnitude, subnormals included. */
static float random_float(void)
{
    uint32_t bits = (uint32_t)next_rand() % 0x7f800000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* One decimal number of the kinds the converter treats differently. */
static void random_number(char *buf, size_t size)
{
    int k = 0;
    if (below(3) == 0)
        buf[k++] = below(2) ? '-' : '+';
    switch (below(9)) {
    case 0: /* short: one float operation */
        k += put_digits(buf + k, 1 + below(7), 0);
        if (below(2))
            k += sprintf(buf + k, "e%d", below(21) - 10);
        break;
    case 1: /* up to 19 digits: long double */
        k += put_digits(buf + k, 8 + below(12), 0);
        k += sprintf(buf + k, "e%d", below(61) - 30);
        break;
    case 2: /* long significands: exact arithmetic */
        k += put_digits(buf + k, 20 + below(180), 0);
        k += sprintf(buf + k, "e%d", below(131) - 90);
        break;
    case 3: { /* exactly halfway between two floats: ties to even */
        float f = random_float();
        double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
        k += snprintf(buf + k, size - (size_t)k, "%.120e", mid);
        break;
    }
    case 4: { /* just beside halfway */
        float f = random_float();
        double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
        double near = nextafter(mid, below(2) ? INFINITY : -INFINITY);
        k += snprintf(buf + k, size - (size_t)k, "%.*e", 16 + below(3), near);
        break;
    }
    case 5: /* floats printed to round-trip, and shorter */
        k += snprintf(buf + k, size - (size_t)k, "%.*g", 6 + below(12),
                      (double)random_float());
        break;
    case 6: /* near the largest float and beyond */
        k += put_digits(buf + k, 1 + below(40), 0);
        k += sprintf(buf + k, "e%d", 30 + below(12) - (below(2) ? 0 : 20));
        break;
    case 7: /* near the smallest subnormal and below */
        k += put_digits(buf + k, 1 + below(30), 0);
        k += sprintf(buf + k, "e%d", -44 - below(8));
        break;
    default: /* leading and trailing zeros */
        k += put_digits(buf + k, 1 + below(30), 1);
        k +=
            sprintf(buf + k, "%se%+d", below(2) ? "000" : "", below(101) - 50);
        break;
    }
    buf[k] = '\0';
}

/* Every one of count random numbers converts to what strtof() gives in
 * the C locale, bit for bit; those it rounds to infinity are refused. */
START_TEST(numbers_round_as_strtof)
{
    ck_assert_ptr_nonnull(setlocale(LC_NUMERIC, "C"));
    const size_t count = 20000;
    size_t cap = count * 260, len = 0, rows = 0, overflows = 0;
    char *text = malloc(cap);
    float *want = malloc(count * sizeof *want);
    ck_assert(text && want);
    char buf[256];
    for (size_t i = 0; i < count; i++) {
        random_number(buf, sizeof buf);
        char *end;
        float f = strtof(buf, &end);
        ck_assert_msg(*end == '\0', "strtof stops in %s", buf);
        if (isinf(f)) {
            /* Too large: refused, naming the field. */
            char line[300];
            snprintf(line, sizeof line, "%s\n", buf);
            tnn_tensor *x = NULL;
            ck_assert_int_eq(
                load(line, TNN_CSV_NO_HEADER, ',', NULL, &x, NULL),
                TNN_E_FORMAT);
            ck_assert_ptr_nonnull(
                strstr(tnn_last_error(), "line 1, column 1"));
            ck_assert_ptr_nonnull(
                strstr(tnn_last_error(), "does not fit in a float"));
            overflows++;
            continue;
        }
        len += (size_t)sprintf(text + len, "%s\n", buf);
        want[rows++] = f;
    }
    ck_assert_uint_gt(overflows, 100);
    ck_assert_uint_gt(rows, count / 2);
    /* Once as the library runs by default, once with the rounding mode
     * upward, which leaves only the exact path (the result stays the
     * nearest float). */
    const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_TOWARDZERO};
    for (int m = 0; m < 3; m++) {
        ck_assert_int_eq(fesetround(modes[m]), 0);
        tnn_tensor *x = NULL;
        int rc = tnn_csv_load_buffer(text, len, TNN_CSV_NO_HEADER, ',', NULL,
                                     &x, NULL);
        ck_assert_int_eq(fesetround(FE_TONEAREST), 0);
        ck_assert_msg(rc == TNN_OK, "%s", tnn_last_error());
        ck_assert_uint_eq(tnn_tensor_dim(x, 0), rows);
        const float *v = tnn_tensor_cdata(x);
        const char *line = text;
        for (size_t i = 0; i < rows; i++) {
            const char *nl = strchr(line, '\n');
            ck_assert_msg(same_float(v[i], want[i]),
                          "mode %d: \"%.*s\" gives %a; strtof gives %a", m,
                          (int)(nl - line), line, (double)v[i],
                          (double)want[i]);
            line = nl + 1;
        }
        tnn_tensor_free(x);
    }
    free(text);
    free(want);
}
END_TEST

/* Boundaries written out. */
START_TEST(number_boundaries)
{
    const struct {
        const char *text;
        float want;
    } cases[] = {
        {"1.4e-45", 0x1p-149f},
        {"7.006492321624085e-46", 0.0f}, /* below half the smallest */
        {"7.0064923216240862e-46", 0x1p-149f},
        /* Exactly half the smallest subnormal: ties to even (0). */
        {"7.0064923216240853546186479164495806564013097093825788587853414194"
         "4895541342930300743319094181060791015625e-46",
         0.0f},
        {"7.0064923216240853546186479164495806564013097093825788587853414194"
         "4895541342930300743319094181060791015626e-46",
         0x1p-149f},
        {"1.1754942e-38", 0x1.fffffcp-127f}, /* largest subnormal */
        {"1.17549435e-38", 0x1p-126f},       /* smallest normal */
        {"3.4028235e38", FLT_MAX},
        /* Just below halfway from FLT_MAX to 2^128. */
        {"340282356779733661637539395458142568447.999", FLT_MAX},
        {"16777217", 16777216.0f}, /* halfway: to even */
        {"16777219", 16777220.0f},
        {"16777217.000000000000000000000000000000001", 16777218.0f},
        {"0.1", 0.1f},
        {"000000000000000000000000000000000000000012.5e-1", 1.25f},
        {".000000000000000000000000000000000000000000000000125e50", 12.5f},
        {"1e-999999999999999999999", 0.0f},
        {"0e999999999999999999999", 0.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[300];
        snprintf(line, sizeof line, "%s\n", cases[i].text);
        tnn_tensor *x = NULL;
        ck_assert_msg(load(line, TNN_CSV_NO_HEADER, 0, NULL, &x, NULL) ==
                          TNN_OK,
                      "%s: %s", cases[i].text, tnn_last_error());
        ck_assert_msg(same_float(tnn_tensor_cdata(x)[0], cases[i].want),
                      "%s gives %a, expected %a", cases[i].text,
                      (double)tnn_tensor_cdata(x)[0], (double)cases[i].want);
        tnn_tensor_free(x);
    }
    assert_refused("340282356779733661637539395458142568448\n", 0, 0, NULL,
                   TNN_E_FORMAT, "does not fit in a float", NULL);
    assert_refused("1e999999999999999999999\n", 0, 0, NULL, TNN_E_FORMAT,
                   "\"1e999999999999999999999\" does not fit in a float",
                   NULL);
}
END_TEST

/* A program whose locale writes decimal commas still reads points. The
 * locale is the system's if installed, else built with localedef into
 * the test directory (skipped when neither works). */
START_TEST(locale_independent)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                           "fr_FR.utf8",  "de_DE",      "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    char dir[200];
    snprintf(dir, sizeof dir, "%s/locales", tmp_dir);
    if (!got && access("/usr/share/i18n/locales/de_DE", R_OK) == 0 &&
        mkdir(dir, 0700) == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd,
                 "localedef -c -i de_DE -f ISO-8859-1 %s/de_DE "
                 ">/dev/null 2>&1",
                 dir);
        int ignored = system(cmd);
        (void)ignored;
        setenv("LOCPATH", dir, 1);
        got = setlocale(LC_NUMERIC, "de_DE");
    }
    if (!got)
        return; /* no locale with a decimal comma to try */
    ck_assert_str_eq(localeconv()->decimal_point, ",");
    ck_assert(strtod("0.5", NULL) == 0.0); /* the C library follows it */
    tnn_tensor *x = NULL;
    int rc = load("a;b\n0.5;1.25e2\n-3.75;1e-3\n", 0, 0, NULL, &x, NULL);
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    ck_assert_msg(rc == TNN_OK, "%s", tnn_last_error());
    const float want[] = {0.5f, 125, -3.75f, 1e-3f};
    assert_matrix(x, 2, 2, want);
    tnn_tensor_free(x);
}
END_TEST

/* ---- CSV: allocation failures --------------------------------------------
 */

/* attempt() makes the call and frees what it made; each of its
 * allocations fails in turn: TNN_E_NOMEM under func and nothing left. */
static void sweep(const char *func, int (*attempt)(void))
{
    struct counting_allocator a;
    counting_install(&a, 0);
    ck_assert_int_eq(attempt(), TNN_OK);
    long needed = a.calls;
    ck_assert_int_eq(a.live, 0);
    ck_assert_int_gt(needed, 0);
    for (long n = 1; n <= needed; n++) {
        counting_install(&a, n);
        int rc = attempt();
        long live = a.live;
        counting_remove();
        ck_assert_msg(rc == TNN_E_NOMEM,
                      "%s: failing allocation %ld of %ld "
                      "gave %d (%s)",
                      func, n, needed, rc, tnn_last_error());
        assert_failed_with(TNN_E_NOMEM, func);
        ck_assert_msg(live == 0, "%s: failing allocation %ld leaks %ld", func,
                      n, live);
    }
    counting_remove();
}

static const char *sweep_path;

static int csv_buffer_attempt(void)
{
    tnn_tensor *x = NULL, *y = NULL;
    int rc = load("a,b,c\n1,2,3\n4,5,6\n", 0, 0, "c,a", &x, &y);
    ck_assert(rc == TNN_OK ? x && y : !x && !y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

static int csv_file_attempt(void)
{
    tnn_tensor *x = NULL, *y = NULL;
    int rc = tnn_csv_load(sweep_path, 0, 0, "-1", &x, &y);
    ck_assert(rc == TNN_OK ? x && y : !x && !y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

START_TEST(csv_allocation_failures)
{
    sweep("tnn_csv_load_buffer", csv_buffer_attempt);
    sweep_path = write_file("sweep.csv", "1,2\n3,4\n", 8);
    sweep("tnn_csv_load", csv_file_attempt);
#ifdef TNN_HAVE_ZLIB
    /* zlib's own allocations go through the library's allocator too. */
    unsigned char *both =
        joined(gz_part1, sizeof gz_part1, gz_part2, sizeof gz_part2);
    sweep_path =
        write_file("sweep.csv.gz", both, sizeof gz_part1 + sizeof gz_part2);
    free(both);
    sweep("tnn_csv_load", csv_file_attempt);
#endif
}
END_TEST

/* ---- split ----------------------------------------------------------------
 */

/* rows x cols with row i holding i * 100 + column. */
static tnn_tensor *numbered(size_t rows, size_t cols)
{
    tnn_tensor *t = tnn_tensor_new_2d(rows, cols);
    ck_assert_ptr_nonnull(t);
    float *v = tnn_tensor_data(t);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            v[i * cols + j] = (float)(i * 100 + j);
    return t;
}

START_TEST(split_sizes_follow_scikit_learn)
{
    const struct {
        size_t rows;
        double fraction;
        size_t test;
    } cases[] = {
        {10, 0.25, 3}, /* ceil(2.5) */
        {10, 0.2, 2},
        {10, 0.3, 3},
        {10, 0.01, 1},
        {10, 0.9, 9},
        {3, 0.5, 2},
        {2, 0.5, 1},
        {1000, 0.333, 333},
        {7, 1e-9, 1},
        {100, 0.985, 99},
        /* 0.07 * 100 is 7.000000000000001 in double, as in Python: 8. */
        {100, 0.07, 8},
        {100, 0.29, 29}, /* 28.999999999999996 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tnn_tensor *x = numbered(cases[i].rows, 3),
                   *y = numbered(cases[i].rows, 1);
        tnn_tensor *xtr, *ytr, *xte, *yte;
        ck_assert_int_eq(tnn_split_rows(x, y, cases[i].fraction, NULL, &xtr,
                                        &ytr, &xte, &yte),
                         TNN_OK);
        size_t train = cases[i].rows - cases[i].test;
        ck_assert_uint_eq(tnn_tensor_dim(xte, 0), cases[i].test);
        ck_assert_uint_eq(tnn_tensor_dim(yte, 0), cases[i].test);
        ck_assert_uint_eq(tnn_tensor_dim(xtr, 0), train);
        ck_assert_uint_eq(tnn_tensor_dim(ytr, 0), train);
        ck_assert_uint_eq(tnn_tensor_dim(xtr, 1), 3);
        ck_assert_uint_eq(tnn_tensor_dim(yte, 1), 1);
        /* Without a generator the order stays: the test set is the last
         * rows, and the views start where the parents' rows do. */
        ck_assert_ptr_eq(tnn_tensor_data(xtr), tnn_tensor_data(x));
        ck_assert_ptr_eq(tnn_tensor_data(xte), tnn_tensor_data(x) + 3 * train);
        ck_assert_ptr_eq(tnn_tensor_data(yte), tnn_tensor_data(y) + train);
        ck_assert_float_eq(tnn_tensor_data(xte)[0], (float)(train * 100));
        tnn_tensor_free(xtr);
        tnn_tensor_free(ytr);
        tnn_tensor_free(xte);
        tnn_tensor_free(yte);
        tnn_tensor_free(x);
        tnn_tensor_free(y);
    }
}
END_TEST

START_TEST(split_views_share_storage)
{
    size_t dims[3] = {5, 2, 2};
    tnn_tensor *x = tnn_tensor_new(3, dims), *y = tnn_tensor_new(1, dims);
    float *xv = tnn_tensor_data(x), *yv = tnn_tensor_data(y);
    for (size_t i = 0; i < 20; i++)
        xv[i] = (float)i;
    for (size_t i = 0; i < 5; i++)
        yv[i] = (float)(10 * i);
    tnn_tensor *xtr, *ytr, *xte, *yte;
    ck_assert_int_eq(tnn_split_rows(x, y, 0.4, NULL, &xtr, &ytr, &xte, &yte),
                     TNN_OK);
    /* Views keep the other dimensions. */
    ck_assert_int_eq(tnn_tensor_ndim(xte), 3);
    ck_assert_uint_eq(tnn_tensor_dim(xte, 0), 2);
    ck_assert_uint_eq(tnn_tensor_dim(xte, 1), 2);
    ck_assert_uint_eq(tnn_tensor_dim(xte, 2), 2);
    ck_assert_int_eq(tnn_tensor_ndim(yte), 1);
    ck_assert_uint_eq(tnn_tensor_dim(ytr, 0), 3);
    ck_assert_int_eq(tnn_tensor_is_shared(xtr), 1);
    ck_assert_int_eq(tnn_tensor_is_shared(x), 1);
    /* Writes through a view show in the parent, and the other way. */
    tnn_tensor_data(xte)[1] = -1.0f;
    ck_assert_float_eq(xv[13], -1.0f);
    tnn_tensor_data(ytr)[2] = -2.0f;
    ck_assert_float_eq(yv[2], -2.0f);
    xv[0] = 42.0f;
    ck_assert_float_eq(tnn_tensor_data(xtr)[0], 42.0f);
    /* The parents may go first. */
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    ck_assert_float_eq(tnn_tensor_data(xte)[3], 15.0f);
    ck_assert_float_eq(tnn_tensor_data(yte)[1], 40.0f);
    tnn_tensor_free(xtr);
    tnn_tensor_free(ytr);
    tnn_tensor_free(xte);
    tnn_tensor_free(yte);
}
END_TEST

START_TEST(split_shuffle_keeps_pairs)
{
    const size_t rows = 50;
    tnn_tensor *x = numbered(rows, 4), *y = numbered(rows, 1);
    tnn_rng *rng = tnn_rng_new(7);
    tnn_tensor *xtr, *ytr, *xte, *yte;
    ck_assert_int_eq(tnn_split_rows(x, y, 0.2, rng, &xtr, &ytr, &xte, &yte),
                     TNN_OK);
    /* Each row of x still holds its own values and its y. */
    int seen[50] = {0};
    const float *xv = tnn_tensor_cdata(x), *yv = tnn_tensor_cdata(y);
    size_t moved = 0;
    for (size_t i = 0; i < rows; i++) {
        size_t id = (size_t)xv[4 * i] / 100;
        ck_assert_uint_lt(id, rows);
        seen[id]++;
        moved += id != i;
        for (size_t j = 0; j < 4; j++)
            ck_assert_float_eq(xv[4 * i + j], (float)(id * 100 + j));
        ck_assert_float_eq(yv[i], (float)(id * 100));
    }
    for (size_t i = 0; i < rows; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_uint_gt(moved, rows / 2);
    /* The views are over the shuffled rows: the last 10. */
    ck_assert_uint_eq(tnn_tensor_dim(xte, 0), 10);
    ck_assert_float_eq(tnn_tensor_cdata(yte)[0], yv[40]);
    ck_assert_float_eq(tnn_tensor_cdata(xtr)[4 * 39], xv[4 * 39]);
    /* The permutation is tnn_tensor_shuffle_rows()'s for the same state. */
    tnn_tensor *x2 = numbered(rows, 4);
    tnn_rng *rng2 = tnn_rng_new(7);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x2, NULL, rng2), TNN_OK);
    ck_assert_int_eq(
        memcmp(tnn_tensor_cdata(x2), xv, rows * 4 * sizeof(float)), 0);
    /* And the generator moved on as it did there. */
    ck_assert_uint_eq(tnn_rng_next_u64(rng), tnn_rng_next_u64(rng2));
    tnn_tensor_free(x2);
    tnn_rng_free(rng2);

    tnn_tensor *views[] = {xtr, ytr, xte, yte};
    for (int i = 0; i < 4; i++)
        tnn_tensor_free(views[i]);
    /* Without y: only the x views, the y outputs left alone. */
    tnn_tensor *sentinel = (tnn_tensor *)(void *)&seen;
    ytr = yte = sentinel;
    ck_assert_int_eq(tnn_split_rows(x, NULL, 0.5, rng, &xtr, &ytr, &xte, &yte),
                     TNN_OK);
    ck_assert_ptr_eq(ytr, sentinel);
    ck_assert_ptr_eq(yte, sentinel);
    ck_assert_uint_eq(tnn_tensor_dim(xtr, 0), 25);
    tnn_tensor_free(xtr);
    tnn_tensor_free(xte);
    ck_assert_int_eq(tnn_split_rows(x, NULL, 0.5, rng, &xtr, NULL, &xte, NULL),
                     TNN_OK);
    tnn_tensor_free(xtr);
    tnn_tensor_free(xte);
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(split_errors)
{
    tnn_tensor *x = numbered(4, 2), *y = numbered(4, 1), *y3 = numbered(3, 1);
    tnn_tensor *one = numbered(1, 2);
    tnn_rng *rng = tnn_rng_new(1);
    const float before[8] = {0, 1, 100, 101, 200, 201, 300, 301};
    const struct {
        tnn_tensor *x, *y;
        double fraction;
        int no_xtr, no_ytr, no_xte, no_yte;
        int code;
        const char *why;
    } cases[] = {
        {NULL, y, 0.5, 0, 0, 0, 0, TNN_E_INVALID, "x is NULL"},
        {x, y, 0.5, 1, 0, 0, 0, TNN_E_INVALID, "x_train is NULL"},
        {x, y, 0.5, 0, 0, 1, 0, TNN_E_INVALID, "x_test is NULL"},
        {x, y, 0.5, 0, 1, 0, 0, TNN_E_INVALID,
         "y_train is NULL but y is "
         "given"},
        {x, y, 0.5, 0, 0, 0, 1, TNN_E_INVALID, "y_test is NULL"},
        {x, y, 0.0, 0, 0, 0, 0, TNN_E_INVALID,
         "test_fraction is 0; it must "
         "be in (0, 1)"},
        {x, y, 1.0, 0, 0, 0, 0, TNN_E_INVALID, "test_fraction is 1"},
        {x, y, -0.5, 0, 0, 0, 0, TNN_E_INVALID, "test_fraction is -0.5"},
        {x, y, NAN, 0, 0, 0, 0, TNN_E_INVALID, "test_fraction is nan"},
        {x, y, 0.8, 0, 0, 0, 0, TNN_E_INVALID,
         "test_fraction 0.8 of 4 rows leaves no training rows"},
        {one, NULL, 0.5, 0, 0, 0, 0, TNN_E_INVALID,
         "of 1 rows leaves no "
         "training rows"},
        {x, y3, 0.5, 0, 0, 0, 0, TNN_E_SHAPE, "y has 3 rows; x has 4"},
        {x, x, 0.5, 0, 0, 0, 0, TNN_E_INVALID, "x and y share storage"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
        tnn_tensor *xtr = keep, *ytr = keep, *xte = keep, *yte = keep;
        int rc = tnn_split_rows(
            cases[i].x, cases[i].y, cases[i].fraction, rng,
            cases[i].no_xtr ? NULL : &xtr, cases[i].no_ytr ? NULL : &ytr,
            cases[i].no_xte ? NULL : &xte, cases[i].no_yte ? NULL : &yte);
        ck_assert_msg(rc == cases[i].code, "case %zu: %d (%s)", i, rc,
                      tnn_last_error());
        assert_message(cases[i].code, "tnn_split_rows", cases[i].why, NULL);
        /* Nothing made, every output given cleared (y's only with y). */
        if (!cases[i].no_xtr)
            ck_assert_ptr_null(xtr);
        if (!cases[i].no_xte)
            ck_assert_ptr_null(xte);
        if (cases[i].y && !cases[i].no_ytr)
            ck_assert_ptr_null(ytr);
        if (cases[i].y && !cases[i].no_yte)
            ck_assert_ptr_null(yte);
        /* Nothing shuffled. */
        ck_assert_int_eq(memcmp(tnn_tensor_cdata(x), before, sizeof before),
                         0);
        ck_assert_int_eq(tnn_tensor_is_shared(x), 0);
        tnn_tensor_free(keep);
    }
    /* Without shuffling, x and y may be one tensor. */
    tnn_tensor *xtr, *ytr, *xte, *yte;
    ck_assert_int_eq(tnn_split_rows(x, x, 0.5, NULL, &xtr, &ytr, &xte, &yte),
                     TNN_OK);
    tnn_tensor *views[] = {xtr, ytr, xte, yte};
    for (int i = 0; i < 4; i++)
        tnn_tensor_free(views[i]);
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(y3);
    tnn_tensor_free(one);
}
END_TEST

/* Every allocation of a split fails in turn: no view, x and y unchanged
 * (not shuffled), nothing left. */
START_TEST(split_allocation_failures)
{
    struct counting_allocator a;
    long needed = 0;
    for (long n = 0;; n++) {
        counting_install(&a, 0);
        tnn_tensor *x = numbered(6, 2), *y = numbered(6, 1);
        tnn_rng *rng = tnn_rng_new(3);
        long base = a.calls;
        a.fail_at = n ? base + n : 0;
        tnn_tensor *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
        int rc = tnn_split_rows(x, y, 0.5, rng, &xtr, &ytr, &xte, &yte);
        long used = a.calls - base;
        if (n == 0) {
            ck_assert_int_eq(rc, TNN_OK);
            needed = used;
        } else {
            ck_assert_int_eq(rc, TNN_E_NOMEM);
            assert_failed_with(TNN_E_NOMEM, "tnn_split_rows");
            ck_assert(!xtr && !ytr && !xte && !yte);
            tnn_tensor *fresh = numbered(6, 2);
            ck_assert_int_eq(memcmp(tnn_tensor_cdata(x),
                                    tnn_tensor_cdata(fresh),
                                    12 * sizeof(float)),
                             0);
            tnn_tensor_free(fresh);
        }
        tnn_tensor *all[] = {xtr, ytr, xte, yte, x, y};
        for (int i = 0; i < 6; i++)
            tnn_tensor_free(all[i]);
        tnn_rng_free(rng);
        ck_assert_int_eq(a.live, 0);
        counting_remove();
        if (n == needed)
            break;
    }
    ck_assert_int_ge(needed, 4);
}
END_TEST

/* ---- scaler ------------------------------------------------------------- */

START_TEST(scaler_values_by_hand)
{
    /* Columns: 1..4 (mean 2.5, variance 1.25), 10..40 (25, 125), all 5
     * (constant: scale 1), and -2, 0, 0, 6 (1, variance 9). */
    const float data[] = {1, 10, 5, -2, 2, 20, 5, 0, 3, 30, 5, 0, 4, 40, 5, 6};
    tnn_tensor *x = tnn_tensor_new_2d(4, 4);
    ck_assert_int_eq(tnn_tensor_copy_from(x, data, 16), TNN_OK);
    tnn_scaler *s = tnn_scaler_fit(x);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(tnn_scaler_features(s), 4);
    const float *mean = tnn_scaler_mean(s), *scale = tnn_scaler_scale(s);
    const float want_mean[] = {2.5f, 25.0f, 5.0f, 1.0f};
    const float want_scale[] = {(float)sqrt(1.25), (float)sqrt(125.0), 1.0f,
                                3.0f};
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq(mean[j], want_mean[j]);
        ck_assert_float_eq(scale[j], want_scale[j]);
    }
    /* Transform: (x - mean) / scale, in place; the inverse undoes it. */
    ck_assert_int_eq(tnn_scaler_transform(s, x), TNN_OK);
    const float *v = tnn_tensor_cdata(x);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float want = (float)(((double)data[4 * i + j] - want_mean[j]) /
                                 (double)want_scale[j]);
            ck_assert_float_eq(v[4 * i + j], want);
        }
    ck_assert_float_eq(v[0], (float)(-1.5 / (double)(float)sqrt(1.25)));
    ck_assert_float_eq(v[2], 0.0f);
    ck_assert_float_eq(v[3], -1.0f);
    ck_assert_float_eq(v[15], 5.0f / 3.0f);
    ck_assert_int_eq(tnn_scaler_inverse(s, x), TNN_OK);
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq_tol(v[i], data[i], 1e-5f * (1 + fabsf(data[i])));
    /* Another tensor of the same width, of other rows and shape. */
    size_t dims[3] = {1, 2, 2};
    tnn_tensor *z = tnn_tensor_new(3, dims);
    const float row[] = {2.5f, 25, 6, 1};
    ck_assert_int_eq(tnn_tensor_copy_from(z, row, 4), TNN_OK);
    ck_assert_int_eq(tnn_scaler_transform(s, z), TNN_OK);
    const float zero_one[] = {0, 0, 1, 0};
    for (int j = 0; j < 4; j++)
        ck_assert_float_eq(tnn_tensor_cdata(z)[j], zero_one[j]);
    tnn_tensor_free(z);
    tnn_scaler_free(s);
    tnn_tensor_free(x);

    /* One-dimensional: one feature. */
    const float col[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* mean 5, std 2 */
    size_t n8 = 8;
    x = tnn_tensor_new(1, &n8);
    ck_assert_int_eq(tnn_tensor_copy_from(x, col, 8), TNN_OK);
    s = tnn_scaler_fit(x);
    ck_assert_uint_eq(tnn_scaler_features(s), 1);
    ck_assert_float_eq(tnn_scaler_mean(s)[0], 5.0f);
    ck_assert_float_eq(tnn_scaler_scale(s)[0], 2.0f);
    tnn_scaler_free(s);
    tnn_tensor_free(x);
}
END_TEST

START_TEST(scaler_is_accurate_far_from_zero)
{
    /* A large offset, a small spread: a one-pass sum of squares in float
     * would lose it all. Values alternate 1e6 - 1 and 1e6 + 1, exact in a
     * float: mean 1e6, deviation 1. */
    const size_t rows = 100001;
    tnn_tensor *x = tnn_tensor_new_2d(rows, 1);
    float *v = tnn_tensor_data(x);
    for (size_t i = 0; i < rows - 1; i++)
        v[i] = i % 2 ? 1000001.0f : 999999.0f;
    v[rows - 1] = 1000000.0f;
    tnn_scaler *s = tnn_scaler_fit(x);
    ck_assert_float_eq(tnn_scaler_mean(s)[0], 1e6f);
    double want = sqrt((double)(rows - 1) / (double)rows);
    ck_assert_float_eq(tnn_scaler_scale(s)[0], (float)want);
    tnn_scaler_free(s);
    /* A spread too small for a float's scale is treated as none. */
    v[0] = 0x1p-149f;
    for (size_t i = 1; i < rows; i++)
        v[i] = 0;
    s = tnn_scaler_fit(x);
    ck_assert_float_eq(tnn_scaler_scale(s)[0], 1.0f);
    tnn_scaler_free(s);
    tnn_tensor_free(x);
}
END_TEST

START_TEST(scaler_errors)
{
    ck_assert_ptr_null(tnn_scaler_fit(NULL));
    assert_message(TNN_E_INVALID, "tnn_scaler_fit", "x is NULL", NULL);
    tnn_tensor *x = tnn_tensor_new_2d(3, 2);
    tnn_tensor_data(x)[3] = NAN;
    ck_assert_ptr_null(tnn_scaler_fit(x));
    assert_message(TNN_E_INVALID, "tnn_scaler_fit", "x[1][1] is nan", NULL);
    tnn_tensor_data(x)[3] = 0;
    tnn_tensor_data(x)[4] = -INFINITY;
    ck_assert_ptr_null(tnn_scaler_fit(x));
    assert_message(TNN_E_INVALID, "tnn_scaler_fit", "x[2][0] is -inf", NULL);
    tnn_tensor_data(x)[4] = 1;
    tnn_scaler *s = tnn_scaler_fit(x);
    ck_assert_ptr_nonnull(s);

    tnn_tensor *wide = tnn_tensor_new_2d(3, 3);
    ck_assert_int_eq(tnn_scaler_transform(s, wide), TNN_E_SHAPE);
    assert_message(TNN_E_SHAPE, "tnn_scaler_transform",
                   "x has 3 features per row; the scaler has 2", NULL);
    ck_assert_int_eq(tnn_scaler_inverse(s, wide), TNN_E_SHAPE);
    assert_message(TNN_E_SHAPE, "tnn_scaler_inverse", "x has 3 features",
                   NULL);
    ck_assert_int_eq(tnn_scaler_transform(NULL, x), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_scaler_transform", "scaler is NULL",
                   NULL);
    ck_assert_int_eq(tnn_scaler_inverse(s, NULL), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_scaler_inverse", "x is NULL", NULL);
    /* A refused call changes nothing. */
    for (size_t i = 0; i < 9; i++)
        ck_assert_float_eq(tnn_tensor_cdata(wide)[i], 0.0f);

    ck_assert_uint_eq(tnn_scaler_features(NULL), 0);
    ck_assert_ptr_null(tnn_scaler_mean(NULL));
    ck_assert_ptr_null(tnn_scaler_scale(NULL));
    tnn_scaler_free(NULL);

    char path[160];
    snprintf(path, sizeof path, "%s/no-dir/s.scl", tmp_dir);
    ck_assert_int_eq(tnn_scaler_save(s, path), TNN_E_IO);
    assert_message(TNN_E_IO, "tnn_scaler_save", path, NULL);
    ck_assert_int_eq(tnn_scaler_save(NULL, path), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_scaler_save", "scaler is NULL", NULL);
    ck_assert_int_eq(tnn_scaler_save(s, NULL), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_scaler_save", "path is NULL", NULL);
    tnn_scaler *keep = s, *out = keep;
    ck_assert_int_eq(tnn_scaler_load(path, &out), TNN_E_IO);
    ck_assert_ptr_null(out);
    assert_message(TNN_E_IO, "tnn_scaler_load", path, NULL);
    out = keep;
    ck_assert_int_eq(tnn_scaler_load(tmp_dir, &out), TNN_E_IO);
    ck_assert_ptr_null(out);
    assert_message(TNN_E_IO, "tnn_scaler_load", "not a regular file", NULL);
    out = keep;
    ck_assert_int_eq(tnn_scaler_load(NULL, &out), TNN_E_INVALID);
    ck_assert_ptr_null(out);
    assert_message(TNN_E_INVALID, "tnn_scaler_load", "path is NULL", NULL);
    ck_assert_int_eq(tnn_scaler_load(path, NULL), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_scaler_load", "out is NULL", NULL);
    tnn_scaler_free(s);
    tnn_tensor_free(x);
    tnn_tensor_free(wide);
}
END_TEST

/* CRC-32 as zlib and PNG, written out here to check the file's. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recompute both CRCs of a scaler file image of n bytes. */
static void fix_crcs(unsigned char *p, size_t n)
{
    put_le32(p + 24, crc32_of(p, 24));
    if (n >= 36)
        put_le32(p + n - 4, crc32_of(p, n - 4));
}

static tnn_scaler *small_scaler(void)
{
    const float data[] = {1, -3, 0.5f, 3, 5, 0.5f}; /* 2 rows, 3 features */
    tnn_tensor *x = tnn_tensor_new_2d(2, 3);
    ck_assert_int_eq(tnn_tensor_copy_from(x, data, 6), TNN_OK);
    tnn_scaler *s = tnn_scaler_fit(x);
    ck_assert_ptr_nonnull(s);
    tnn_tensor_free(x);
    return s;
}

START_TEST(scaler_file_round_trip_and_layout)
{
    tnn_scaler *s = small_scaler();
    char path[160];
    snprintf(path, sizeof path, "%s/s.scl", tmp_dir);
    ck_assert_int_eq(tnn_scaler_save(s, path), TNN_OK);
    size_t n;
    unsigned char *img = read_whole(path, &n);
    /* magic, version 1, flags 0, 3 features, header CRC, 3 means, 3
     * scales, CRC: docs/format.md. */
    ck_assert_uint_eq(n, 32 + 8 * 3);
    ck_assert_int_eq(memcmp(img, "\x89TNNSCL\n", 8), 0);
    ck_assert_uint_eq(le32(img + 8), 1);
    ck_assert_uint_eq(le32(img + 12), 0);
    ck_assert_uint_eq(le32(img + 16), 3);
    ck_assert_uint_eq(le32(img + 20), 0);
    ck_assert_uint_eq(le32(img + 24), crc32_of(img, 24));
    const float want[6] = {2, 1, 0.5f, 1, 4, 1};
    for (int j = 0; j < 6; j++) {
        float f;
        uint32_t bits = le32(img + 28 + 4 * j);
        memcpy(&f, &bits, 4);
        ck_assert_float_eq(f, want[j]);
    }
    ck_assert_uint_eq(le32(img + n - 4), crc32_of(img, n - 4));
    free(img);

    tnn_scaler *back = NULL;
    ck_assert_int_eq(tnn_scaler_load(path, &back), TNN_OK);
    ck_assert_uint_eq(tnn_scaler_features(back), 3);
    ck_assert_int_eq(
        memcmp(tnn_scaler_mean(back), tnn_scaler_mean(s), 3 * sizeof(float)),
        0);
    ck_assert_int_eq(
        memcmp(tnn_scaler_scale(back), tnn_scaler_scale(s), 3 * sizeof(float)),
        0);
    /* Saving over a file replaces it whole. */
    ck_assert_int_eq(tnn_scaler_save(back, path), TNN_OK);
    tnn_scaler_free(back);
    tnn_scaler_free(s);
}
END_TEST

/* Load the n bytes at img as a file: the code, *out NULL on failure, and
 * the message holds why (when given) and the path. */
static void assert_load(const unsigned char *img, size_t n, int code,
                        const char *why)
{
    const char *path = write_file("hostile.scl", img, n);
    tnn_scaler *out = (tnn_scaler *)(void *)&code;
    int rc = tnn_scaler_load(path, &out);
    ck_assert_msg(rc == code, "%zu bytes: %d, expected %d (%s)", n, rc, code,
                  tnn_last_error());
    if (rc != TNN_OK) {
        ck_assert_ptr_null(out);
        assert_message(code, "tnn_scaler_load", path, why, NULL);
    } else {
        tnn_scaler_free(out);
    }
}

START_TEST(scaler_hostile_files)
{
    tnn_scaler *s = small_scaler();
    char path[160];
    snprintf(path, sizeof path, "%s/good.scl", tmp_dir);
    ck_assert_int_eq(tnn_scaler_save(s, path), TNN_OK);
    tnn_scaler_free(s);
    size_t n;
    unsigned char *good = read_whole(path, &n);
    unsigned char *img = malloc(n + 8);
    assert_load(good, n, TNN_OK, NULL);

    /* Every truncation: a cut magic or header, then a cut body. */
    for (size_t cut = 0; cut < n; cut++)
        assert_load(good, cut, TNN_E_CORRUPT,
                    cut < 28 ? "truncated" : "truncated: ");
    memcpy(img, good, n);
    img[n] = 0;
    assert_load(img, n + 1, TNN_E_CORRUPT, "trailing bytes");
    /* Every bit flipped, one at a time, is caught. */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(img, good, n);
            img[i] ^= (unsigned char)(1u << bit);
            const char *path2 = write_file("flip.scl", img, n);
            tnn_scaler *out = NULL;
            int rc = tnn_scaler_load(path2, &out);
            ck_assert_msg(rc == TNN_E_CORRUPT || rc == TNN_E_FORMAT,
                          "byte %zu bit %d: %d (%s)", i, bit, rc,
                          tnn_last_error());
            ck_assert_ptr_null(out);
        }
    /* Not a scaler file at all. */
    assert_load((const unsigned char *)"a,b\n1,2\n", 8, TNN_E_FORMAT,
                "not a scaler file");
    assert_load((const unsigned char *)"\x89TNNMOD\n", 8, TNN_E_FORMAT,
                "not a scaler file");
    /* Well-formed files (CRCs right) holding what no scaler holds. */
    memcpy(img, good, n);
    put_le32(img + 8, 2);
    fix_crcs(img, n);
    assert_load(img, n, TNN_E_VERSION, "format version 2 is newer");
    memcpy(img, good, n);
    put_le32(img + 8, 0);
    fix_crcs(img, n);
    assert_load(img, n, TNN_E_CORRUPT, "version 0");
    memcpy(img, good, n);
    put_le32(img + 12, 4);
    fix_crcs(img, n);
    assert_load(img, n, TNN_E_CORRUPT, "flags 0x4");
    memcpy(img, good, n);
    put_le32(img + 16, 0);
    fix_crcs(img, n);
    assert_load(img, n, TNN_E_CORRUPT, "0 features");
    /* A feature count the file cannot hold is refused before anything
     * is allocated for it. */
    const uint32_t counts[][2] = {
        {4, 0}, {0, 1}, {0xffffffffu, 0xffffffffu}, {0, 0x20000000}};
    for (size_t i = 0; i < 4; i++) {
        memcpy(img, good, n);
        put_le32(img + 16, counts[i][0]);
        put_le32(img + 20, counts[i][1]);
        fix_crcs(img, n);
        struct counting_allocator a;
        const char *p = write_file("count.scl", img, n);
        tnn_scaler *out = NULL;
        counting_install(&a, 0);
        ck_assert_int_eq(tnn_scaler_load(p, &out), TNN_E_CORRUPT);
        long calls = a.calls;
        counting_remove();
        ck_assert_int_eq(calls, 1); /* the file's bytes alone */
        assert_message(TNN_E_CORRUPT, "tnn_scaler_load", "features need",
                       NULL);
    }
    /* Values: means finite, scales finite and positive. */
    const struct {
        size_t at; /* float index: means 0-2, scales 3-5 */
        float value;
        const char *why;
    } values[] = {
        {1, NAN, "mean[1] is nan; a mean must be finite"},
        {0, INFINITY, "mean[0] is inf"},
        {3, 0.0f, "scale[0] is 0; a scale must be finite and positive"},
        {5, -1.0f, "scale[2] is -1"},
        {4, -0.0f, "scale[1] is -0"},
        {4, INFINITY, "scale[1] is inf"},
        {5, NAN, "scale[2] is nan"},
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        memcpy(img, good, n);
        uint32_t bits;
        memcpy(&bits, &values[i].value, 4);
        put_le32(img + 28 + 4 * values[i].at, bits);
        fix_crcs(img, n);
        assert_load(img, n, TNN_E_CORRUPT, values[i].why);
    }
    /* A subnormal scale is positive: accepted. */
    memcpy(img, good, n);
    put_le32(img + 28 + 12, 1);
    fix_crcs(img, n);
    assert_load(img, n, TNN_OK, NULL);
    free(img);
    free(good);
}
END_TEST

static tnn_tensor *sweep_x;

static int fit_attempt(void)
{
    tnn_scaler *s = tnn_scaler_fit(sweep_x);
    tnn_scaler_free(s);
    return s ? TNN_OK : tnn_last_error_code();
}

static int load_attempt(void)
{
    tnn_scaler *s = (tnn_scaler *)(void *)&sweep_x;
    int rc = tnn_scaler_load(sweep_path, &s);
    ck_assert(rc == TNN_OK ? s != NULL : s == NULL);
    tnn_scaler_free(s);
    return rc;
}

static tnn_scaler *sweep_scaler;

static int save_attempt(void)
{
    return tnn_scaler_save(sweep_scaler, sweep_path);
}

START_TEST(scaler_allocation_failures)
{
    sweep_x = numbered(5, 3);
    sweep("tnn_scaler_fit", fit_attempt);
    sweep_scaler = tnn_scaler_fit(sweep_x);
    char path[160];
    snprintf(path, sizeof path, "%s/sweep.scl", tmp_dir);
    sweep_path = path;
    sweep("tnn_scaler_save", save_attempt);
    sweep("tnn_scaler_load", load_attempt);
    tnn_scaler_free(sweep_scaler);
    tnn_tensor_free(sweep_x);
}
END_TEST

Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("csv");
    tcase_add_unchecked_fixture(tc, make_tmp_dir, remove_tmp_dir);
    tcase_add_test(tc, header_detected_and_values_read);
    tcase_add_test(tc, header_flags);
    tcase_add_test(tc, crlf_comments_and_blank_lines);
    tcase_add_test(tc, quoted_fields);
    tcase_add_test(tc, delimiters_given_and_detected);
    tcase_add_test(tc, special_values);
    tcase_add_test(tc, targets_by_index_name_and_order);
    tcase_add_test(tc, bad_targets);
    tcase_add_test(tc, malformed_fields_name_line_and_column);
    tcase_add_test(tc, field_counts_must_match_the_first_line);
    tcase_add_test(tc, files_without_data);
    tcase_add_test(tc, invalid_arguments);
    tcase_add_test(tc, file_matches_buffer);
    tcase_add_test(tc, unreadable_paths);
    tcase_add_test(tc, gzip_files);
    tcase_add_test(tc, numbers_round_as_strtof);
    tcase_add_test(tc, number_boundaries);
    tcase_add_test(tc, locale_independent);
    tcase_add_test(tc, csv_allocation_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("split");
    tcase_add_test(tc, split_sizes_follow_scikit_learn);
    tcase_add_test(tc, split_views_share_storage);
    tcase_add_test(tc, split_shuffle_keeps_pairs);
    tcase_add_test(tc, split_errors);
    tcase_add_test(tc, split_allocation_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("scaler");
    tcase_add_unchecked_fixture(tc, make_tmp_dir, remove_tmp_dir);
    tcase_add_test(tc, scaler_values_by_hand);
    tcase_add_test(tc, scaler_is_accurate_far_from_zero);
    tcase_add_test(tc, scaler_errors);
    tcase_add_test(tc, scaler_file_round_trip_and_layout);
    tcase_add_test(tc, scaler_hostile_files);
    tcase_add_test(tc, scaler_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
