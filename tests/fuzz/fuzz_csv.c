/*
 * libFuzzer target for the delimited-text reader, tnn_csv_load_buffer()
 * (and tnn_csv_load() on the same bytes).
 *
 * Input: a choice byte, a targets byte, the targets text, then the file.
 *  - choice bits 0-1: flags (0, TNN_CSV_HEADER, TNN_CSV_NO_HEADER, 0);
 *    bits 2-4: the delimiter (0, ',', ';', '\t', ' ', 0, ',', ';');
 *    bits 5-6 equal to 3: number mode (below).
 *  - targets byte: 0xff for NULL targets, else the length (modulo 16) of
 *    the targets text that follows (a NUL in it ends the string early).
 * Seeds in corpus/csv/ follow that layout.
 *
 * Checked besides memory safety:
 *  - a refused input gives a negative status code, leaves *x and *y NULL
 *    and explains itself in tnn_last_error(), naming the function;
 *  - an accepted one gives a two-dimensional x, and y exactly when
 *    targets names columns, with as many rows;
 *  - tnn_csv_load() on the same bytes written to a file agrees (files
 *    starting with the gzip magic aside: only the file loader inflates);
 *  - an accepted input loaded again with one allocation failing gives
 *    TNN_E_NOMEM and no tensor (and no leak, which LeakSanitizer sees);
 *  - number mode: the rest of the input is one field; when it is a
 *    decimal number in the syntax written out below, it must give the bits
 *    strtof() gives in the C locale, or be refused as too large exactly
 *    when strtof() overflows; anything else must be refused.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp(), ftruncate(), pwrite() */

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinynn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_common.h"
#include "fuzz_scratch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tnn_set_allocator(fuzz_malloc, fuzz_realloc, fuzz_free, NULL) !=
        TNN_OK)
        abort();
    if (!setlocale(LC_NUMERIC, "C"))
        abort();
    open_scratch("csv");
    return 0;
}

static void check_failure(int rc, const tnn_tensor *x, const tnn_tensor *y,
                          const char *func)
{
    CHECK(x == NULL);
    CHECK(y == NULL);
    CHECK(rc < 0 && rc >= TNN_E_STATE);
    CHECK(tnn_last_error_code() == rc);
    size_t len = strlen(func);
    CHECK(strncmp(tnn_last_error(), func, len) == 0);
    CHECK(tnn_last_error()[len] == ':');
}

static void check_tables(const tnn_tensor *x, const tnn_tensor *y, bool want_y)
{
    CHECK(x != NULL);
    CHECK(tnn_tensor_ndim(x) == 2);
    CHECK(tnn_tensor_dim(x, 0) >= 1 && tnn_tensor_dim(x, 1) >= 1);
    CHECK((y != NULL) == want_y);
    if (y) {
        CHECK(tnn_tensor_ndim(y) == 2);
        CHECK(tnn_tensor_dim(y, 0) == tnn_tensor_dim(x, 0));
        CHECK(tnn_tensor_dim(y, 1) >= 1);
    }
}

static bool same_tensor(const tnn_tensor *a, const tnn_tensor *b)
{
    if (!a || !b)
        return a == b;
    if (tnn_tensor_ndim(a) != tnn_tensor_ndim(b))
        return false;
    for (int i = 0; i < tnn_tensor_ndim(a); i++)
        if (tnn_tensor_dim(a, i) != tnn_tensor_dim(b, i))
            return false;
    return memcmp(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                  tnn_tensor_size(a) * sizeof(float)) == 0;
}

/* ---- number mode ------------------------------------------------------ */

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool word_at(const char *p, size_t n, const char *w)
{
    if (n != strlen(w))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
        if (c != w[i])
            return false;
    }
    return true;
}

/* The header's number syntax, written independently of lib/csv.c:
 * [+-] (digits [. [digits]] | . digits) [(e|E) [+-] digits], or [+-]
 * nan, inf or infinity in any case. */
static bool is_number(const char *p, size_t n, bool *special)
{
    size_t i = 0;
    *special = false;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
    if (word_at(p + i, n - i, "nan") || word_at(p + i, n - i, "inf") ||
        word_at(p + i, n - i, "infinity")) {
        *special = true;
        return true;
    }
    size_t digits = 0;
    while (i < n && digit(p[i]))
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && digit(p[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && digit(p[i]))
            i++, e++;
        if (e == 0)
            return false;
    }
    return i == n;
}

static void number_mode(const uint8_t *data, size_t size)
{
    char field[512];
    if (size > 300)
        size = 300;
    memcpy(field, data, size);
    /* A byte order mark is skipped before the first line, and the gzip
     * magic refused whatever follows. */
    if ((size >= 3 && memcmp(field, "\xef\xbb\xbf", 3) == 0) ||
        (size >= 2 && memcmp(field, "\x1f\x8b", 2) == 0))
        return;
    /* One field on one line: nothing that splits or skips lines. */
    for (size_t i = 0; i < size; i++)
        if (field[i] == ',' || field[i] == '\n' || field[i] == '"' ||
            field[i] == '\r' || field[i] == '\0')
            return;
    size_t b = 0, e = size;
    while (b < e && (field[b] == ' ' || field[b] == '\t'))
        b++;
    while (e > b && (field[e - 1] == ' ' || field[e - 1] == '\t'))
        e--;
    if (b == e || field[0] == '#')
        return;
    field[size] = '\n';

    tnn_tensor *x = NULL;
    tnn_clear_error();
    int rc = tnn_csv_load_buffer(field, size + 1, TNN_CSV_NO_HEADER, ',', NULL,
                                 &x, NULL);
    bool special;
    bool number = is_number(field + b, e - b, &special);
    char text[512];
    memcpy(text, field + b, e - b);
    text[e - b] = '\0';
    if (!number) {
        CHECK(rc == TNN_E_FORMAT);
        CHECK(strstr(tnn_last_error(), "is not a number") != NULL);
        CHECK(x == NULL);
        return;
    }
    char *end;
    float want = strtof(text, &end);
    CHECK(*end == '\0');
    if (isinf(want) && !special) {
        CHECK(rc == TNN_E_FORMAT);
        CHECK(strstr(tnn_last_error(), "does not fit in a float") != NULL);
        CHECK(x == NULL);
        return;
    }
    CHECK(rc == TNN_OK);
    CHECK(tnn_tensor_size(x) == 1);
    float got = tnn_tensor_cdata(x)[0];
    if (isnan(want))
        CHECK(isnan(got));
    else
        CHECK(memcmp(&got, &want, sizeof got) == 0);
    tnn_tensor_free(x);
}

/* ---- table mode --------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const int flag_choice[4] = {0, TNN_CSV_HEADER, TNN_CSV_NO_HEADER,
                                       0};
    static const char delim_choice[8] = {0, ',', ';', '\t', ' ', 0, ',', ';'};
    const int flags = flag_choice[data[0] & 3];
    const char delim = delim_choice[(data[0] >> 2) & 7];
    if (((data[0] >> 5) & 3) == 3) {
        number_mode(data + 1, size - 1);
        return 0;
    }
    char targets_text[17];
    const char *targets = NULL;
    size_t at = 2;
    if (data[1] != 0xff) {
        size_t len = data[1] % 16u;
        if (len > size - at)
            len = size - at;
        memcpy(targets_text, data + at, len);
        targets_text[len] = '\0';
        targets = targets_text;
        at += len;
    }
    const uint8_t *file = data + at;
    const size_t file_size = size - at;
    const bool want_y = targets && targets[0];

    static char sentinel;
    tnn_tensor *const poison = (tnn_tensor *)(void *)&sentinel;
    tnn_clear_error();
    tnn_tensor *x = poison, *y = poison;
    alloc_count = 0;
    int rc =
        tnn_csv_load_buffer(file, file_size, flags, delim, targets, &x, &y);
    unsigned long allocations = alloc_count;
    if (rc == TNN_OK)
        check_tables(x, y, want_y);
    else
        check_failure(rc, x, y, "tnn_csv_load_buffer");

    if (rc == TNN_OK && allocations > 0) {
        tnn_tensor *fx = poison, *fy = poison;
        alloc_count = 0;
        fail_at = 1 + file_size % allocations;
        int rc_nomem = tnn_csv_load_buffer(file, file_size, flags, delim,
                                           targets, &fx, &fy);
        fail_at = 0;
        CHECK(rc_nomem == TNN_E_NOMEM);
        check_failure(rc_nomem, fx, fy, "tnn_csv_load_buffer");
    }

    if (write_scratch(file, file_size)) {
        const bool gzip = file_size >= 2 && file[0] == 0x1f && file[1] == 0x8b;
        tnn_clear_error();
        tnn_tensor *u = poison, *v = poison;
        int rc_file = tnn_csv_load(scratch, flags, delim, targets, &u, &v);
        if (!gzip) {
            CHECK(rc_file == rc);
            if (rc_file == TNN_OK) {
                CHECK(same_tensor(x, u));
                CHECK(same_tensor(y, v));
            }
        }
        if (rc_file == TNN_OK)
            check_tables(u, v, want_y);
        else
            check_failure(rc_file, u, v, "tnn_csv_load");
        tnn_tensor_free(u);
        tnn_tensor_free(v);
    }
    if (rc == TNN_OK) {
        tnn_tensor_free(x);
        tnn_tensor_free(y);
    }
    return 0;
}
