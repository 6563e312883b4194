/*
 * Delimited text files of numbers (CSV, semicolon, tab or blank separated)
 * read into float tensors.
 *
 * The text is read whole (a file through tnn__read_file(), inflated first
 * when it is gzip-compressed and the library has zlib), then walked twice:
 * once to count the data lines, so that the tensors are allocated at
 * their final size, and once to convert the fields into them.
 *
 * Numbers are converted here rather than by strtof(), which follows the
 * program's LC_NUMERIC: a program that called setlocale() for a language
 * with a decimal comma would otherwise read "0.5" as 0. The conversion
 * rounds correctly to nearest (ties to even) whatever the input, through
 * three paths of which the first that applies decides:
 *  - short significands with small exponents: one float operation on
 *    exact operands (one rounding);
 *  - up to 19 significant digits with exponents up to 27: one operation
 *    in long double (64-bit significand) on exact operands, then the
 *    rounding to float, which is the correct one unless the long double
 *    result lies exactly halfway between two floats (tested);
 *  - everything else, and those halfway cases: exact integer arithmetic
 *    on the decimal digits, which depends on no floating-point mode.
 * The first two run only when the rounding mode is to nearest.
 */
#define _POSIX_C_SOURCE 200809L

#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef TNN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "internal.h"

#define CSV_KNOWN_FLAGS (TNN_CSV_HEADER | TNN_CSV_NO_HEADER)

/* Characters of a field quoted in messages. */
#define EXCERPT_CHARS 32
#define EXCERPT_SIZE (4 * EXCERPT_CHARS + 8)

/* Decompressed gzip data beyond this is refused (a small file can inflate
 * to a thousand times its size). */
#define GZIP_LIMIT ((size_t)1 << 30)

/* Where the text comes from: messages name the public function the caller
 * used and, for a file, end with the path (last, so that a long path
 * cannot push the reason out of the fixed-size message). */
struct source {
    const char *func;
    const char *in;   /* " in " or "" */
    const char *path; /* the path or "" */
};

/* ---- converting numbers -------------------------------------------------
 */

/* Significant digits kept: every number halfway between two floats has at
 * most 113 (an odd 25-bit integer times a power of two down to 2^-150),
 * so the digits after these only matter as to whether any is nonzero,
 * which a 1 appended in their place records. */
#define KEEP_DIGITS 128

/* Saturation bounds of the decimal exponent's parts, far beyond any
 * number a float can hold, so that their sum never overflows. */
#define POINT_MAX ((int64_t)1 << 50)
#define EXP_MAX 1000000000

enum { NUM_OK = 0, NUM_SYNTAX = 1, NUM_RANGE = 2 };

/* A decimal number as parsed: (-1)^neg * 0.d[0]d[1]...d[n-1] * 10^point. */
struct decimal {
    bool neg;
    size_t n;
    int64_t point;
    unsigned char d[KEEP_DIGITS + 1];
};

/* What the fast paths may assume, read once per load: the rounding mode
 * is to nearest, and long double arithmetic has its full precision (the
 * x87 precision control can be lowered). */
struct numconv {
    bool fast;
};

static struct numconv numconv_now(void)
{
    struct numconv c = {false};
#if FLT_EVAL_METHOD == 0
    volatile long double one = 1.0L, tiny = LDBL_EPSILON;
    c.fast = fegetround() == FE_TONEAREST && one + tiny != one;
#endif
    return c;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether the n bytes at p spell word (lowercase) in any case. */
static bool is_word(const char *p, size_t n, const char *word)
{
    size_t len = strlen(word);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != word[i])
            return false;
    return true;
}

/* The syntax: [+-] (digits [. digits?] | . digits) [(e|E) [+-] digits],
 * or [+-] nan, inf or infinity in any case. special is set to 1 for an
 * infinity and 2 for a NaN. */
static int parse_decimal(const char *p, size_t n, struct decimal *dec,
                         int *special)
{
    size_t i = 0;
    dec->neg = false;
    dec->n = 0;
    dec->point = 0;
    *special = 0;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        dec->neg = p[i++] == '-';
    if (i < n && !is_digit(p[i]) && p[i] != '.') {
        if (is_word(p + i, n - i, "inf") || is_word(p + i, n - i, "infinity"))
            *special = 1;
        else if (is_word(p + i, n - i, "nan"))
            *special = 2;
        return *special ? NUM_OK : NUM_SYNTAX;
    }
    bool any = false, nonzero = false, sticky = false;
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            if (i == n || p[i] != '.')
                break;
            i++;
        }
        for (; i < n && is_digit(p[i]); i++) {
            unsigned char d = (unsigned char)(p[i] - '0');
            any = true;
            if (!nonzero && d == 0) {
                /* A zero before the first significant digit: after the
                 * point it moves the digits right. */
                if (part == 1 && dec->point > -POINT_MAX)
                    dec->point--;
                continue;
            }
            nonzero = true;
            if (dec->n < KEEP_DIGITS)
                dec->d[dec->n++] = d;
            else if (d != 0)
                sticky = true;
            if (part == 0 && dec->point < POINT_MAX)
                dec->point++;
        }
    }
    if (!any)
        return NUM_SYNTAX;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            eneg = p[i++] == '-';
        if (i == n || !is_digit(p[i]))
            return NUM_SYNTAX;
        int64_t e = 0;
        for (; i < n && is_digit(p[i]); i++)
            if (e < EXP_MAX)
                e = e * 10 + (p[i] - '0');
        dec->point += eneg ? -e : e;
    }
    if (i != n)
        return NUM_SYNTAX;
    if (sticky)
        dec->d[dec->n++] = 1;
    while (dec->n > 0 && dec->d[dec->n - 1] == 0)
        dec->n--;
    return NUM_OK;
}

/* ---- exact conversion: big integers ----
 * Non-negative integers in 32-bit limbs, least significant first. The
 * largest made: the digits (KEEP_DIGITS + 1 of them, 432 bits), 5^175 (407
 * bits), either shifted to 26 bits more than the other (below 460 bits in
 * all). */
#define BIG_LIMBS 24

struct big {
    int n; /* limbs in use; no leading zero limb */
    uint32_t d[BIG_LIMBS];
};

static void big_set(struct big *b, uint32_t v)
{
    b->n = v ? 1 : 0;
    b->d[0] = v;
}

/* b = b * m + add. */
static void big_mul_add(struct big *b, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    for (int i = 0; i < b->n; i++) {
        uint64_t v = (uint64_t)b->d[i] * m + carry;
        b->d[i] = (uint32_t)v;
        carry = v >> 32;
    }
    if (carry && b->n < BIG_LIMBS)
        b->d[b->n++] = (uint32_t)carry;
}

static void big_mul_pow5(struct big *b, int64_t k)
{
    static const uint32_t pow5_13 = 1220703125u; /* 5^13 */
    for (; k >= 13; k -= 13)
        big_mul_add(b, pow5_13, 0);
    uint32_t rest = 1;
    for (; k > 0; k--)
        rest *= 5;
    big_mul_add(b, rest, 0);
}

static int big_bits(const struct big *b)
{
    if (b->n == 0)
        return 0;
    int bits = 32 * (b->n - 1);
    for (uint32_t top = b->d[b->n - 1]; top; top >>= 1)
        bits++;
    return bits;
}

static void big_shl(struct big *b, int s)
{
    if (b->n == 0 || s <= 0)
        return;
    int limbs = s / 32, bits = s % 32;
    int n = b->n + limbs + 1;
    if (n > BIG_LIMBS)
        n = BIG_LIMBS;
    for (int i = n - 1; i >= 0; i--) {
        int from = i - limbs;
        uint32_t hi = from >= 0 && from < b->n ? b->d[from] : 0;
        uint32_t lo = from - 1 >= 0 && from - 1 < b->n ? b->d[from - 1] : 0;
        b->d[i] = bits ? (hi << bits) | (lo >> (32 - bits)) : hi;
    }
    b->n = n;
    while (b->n > 0 && b->d[b->n - 1] == 0)
        b->n--;
}

static void big_shr1(struct big *b)
{
    for (int i = 0; i < b->n; i++) {
        uint32_t next = i + 1 < b->n ? b->d[i + 1] : 0;
        b->d[i] = (b->d[i] >> 1) | (next << 31);
    }
    while (b->n > 0 && b->d[b->n - 1] == 0)
        b->n--;
}

static int big_cmp(const struct big *a, const struct big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

/* a -= b, for a >= b. */
static void big_sub(struct big *a, const struct big *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t sub = (uint64_t)(i < b->n ? b->d[i] : 0) + borrow;
        /* Wraps to above 2^63 exactly when sub is the larger. */
        uint64_t v = (uint64_t)a->d[i] - sub;
        a->d[i] = (uint32_t)v;
        borrow = v >> 63;
    }
    while (a->n > 0 && a->d[a->n - 1] == 0)
        a->n--;
}

/* The float nearest to D * 10^e (D the digits as an integer, ties to
 * even) as its bit pattern without the sign, or NUM_RANGE past FLT_MAX.
 * The caller has ruled out values below 10^-46 and from 10^39 up. */
static int exact_float(const struct decimal *dec, int64_t e, uint32_t *out)
{
    struct big num, den;
    big_set(&num, 0);
    for (size_t i = 0; i < dec->n; i++)
        big_mul_add(&num, 10, dec->d[i]);
    big_set(&den, 1);
    if (e > 0)
        big_mul_pow5(&num, e);
    else
        big_mul_pow5(&den, -e);
    /* value = num / den * 2^e. Scale one side so that the quotient q has
     * 26 or 27 bits: value = (q + r / den) * 2^(e - s). */
    int s = 26 - (big_bits(&num) - big_bits(&den));
    if (s > 0)
        big_shl(&num, s);
    else
        big_shl(&den, -s);
    struct big step = den;
    big_shl(&step, 26);
    uint64_t q = 0;
    for (int bit = 26; bit >= 0; bit--) {
        if (big_cmp(&num, &step) >= 0) {
            big_sub(&num, &step);
            q |= (uint64_t)1 << bit;
        }
        big_shr1(&step);
    }
    bool rest = num.n != 0;
    int qbits = 0;
    for (uint64_t v = q; v; v >>= 1)
        qbits++;
    int64_t e2 = e - s;
    /* The exponent of the float's last bit: 23 below the leading one, or
     * -149 for subnormal values. */
    int64_t k = qbits - 1 + e2 - 23;
    if (k < -149)
        k = -149;
    int64_t shift = k - e2;
    uint64_t m = shift < 64 ? q >> shift : 0;
    uint64_t low = shift < 64 ? q & (((uint64_t)1 << shift) - 1) : q;
    uint64_t half = shift - 1 < 64 ? (uint64_t)1 << (shift - 1) : UINT64_MAX;
    if (low > half || (low == half && (rest || (m & 1))))
        m++;
    /* m < 2^24 and k >= -149, or m = 2^24 after rounding up, whose
     * carry into the exponent field this sum makes too. */
    uint64_t bits = ((uint64_t)(k + 149) << 23) + m;
    if (bits >= 0x7f800000u)
        return NUM_RANGE;
    *out = (uint32_t)bits;
    return NUM_OK;
}

#if FLT_EVAL_METHOD == 0
/* Powers of ten exact in a float (5^10 < 2^24) and in a long double with
 * a 64-bit significand (5^27 < 2^64). */
static const float pow10f[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                               1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
#if LDBL_MANT_DIG >= 64
#define WIDE_DIGITS 19
#define WIDE_POW 27
static const long double pow10l[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

/* Through one rounded operation (see the top of the file); false when
 * the exact path must decide. */
static bool fast_float(const struct decimal *dec, int64_t e, float *out,
                       int *status)
{
    if (dec->n > 19)
        return false;
    uint64_t sig = 0;
    for (size_t i = 0; i < dec->n; i++)
        sig = sig * 10 + dec->d[i];
    *status = NUM_OK;
    if (dec->n <= 7 && e >= -10 && e <= 10) {
        float f = (float)sig; /* exact: sig < 10^7 < 2^24 */
        *out = e >= 0 ? f * pow10f[e] : f / pow10f[-e];
        return true;
    }
#if LDBL_MANT_DIG >= 64
    if (dec->n <= WIDE_DIGITS && e >= -WIDE_POW && e <= WIDE_POW) {
        long double w = (long double)sig; /* exact: sig < 10^19 < 2^64 */
        w = e >= 0 ? w * pow10l[e] : w / pow10l[-e];
        /* Halfway between FLT_MAX and 2^128: above it is too large. */
        const long double top = 0x1.ffffffp127L;
        if (w > top) {
            *status = NUM_RANGE;
            return true;
        }
        if (w == top)
            return false;
        float f = (float)w;
        if ((long double)f != w) {
            float g = nextafterf(f, w > (long double)f ? INFINITY : -INFINITY);
            if ((long double)f + (long double)g == 2 * w)
                return false; /* exactly halfway: the rounding of w may
                               * have decided the tie */
        }
        *out = f;
        return true;
    }
#endif
    return false;
}
#endif

/* Convert the field text at p (n bytes, blanks and quotes removed). */
static int parse_float(const struct numconv *conv, const char *p, size_t n,
                       float *out)
{
    struct decimal dec;
    int special;
    int rc = parse_decimal(p, n, &dec, &special);
    if (rc != NUM_OK)
        return rc;
    if (special) {
        float v = special == 1 ? INFINITY : NAN;
        *out = dec.neg ? -v : v;
        return NUM_OK;
    }
    if (dec.n == 0) {
        *out = dec.neg ? -0.0f : 0.0f;
        return NUM_OK;
    }
    /* The value lies in [10^(point - 1), 10^point). */
    if (dec.point > 39)
        return NUM_RANGE;
    if (dec.point < -45) {
        *out = dec.neg ? -0.0f : 0.0f;
        return NUM_OK;
    }
    int64_t e = dec.point - (int64_t)dec.n;
    float f;
#if FLT_EVAL_METHOD == 0
    if (conv->fast && fast_float(&dec, e, &f, &rc)) {
        if (rc != NUM_OK)
            return rc;
        *out = dec.neg ? -f : f;
        return NUM_OK;
    }
#else
    (void)conv;
#endif
    uint32_t bits;
    rc = exact_float(&dec, e, &bits);
    if (rc != NUM_OK)
        return rc;
    if (dec.neg)
        bits |= 0x80000000u;
    memcpy(&f, &bits, sizeof f);
    *out = f;
    return NUM_OK;
}

/* ---- lines and fields -------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

struct line {
    const char *p;
    size_t n;
    size_t number; /* 1-based */
};

/* The text still to walk, and the number of the last line taken. */
struct cursor {
    const char *p;
    const char *end;
    size_t number;
};

/* The next line, without its "\n" or "\r\n"; false at the end. */
static bool next_line(struct cursor *c, struct line *line)
{
    if (c->p == c->end)
        return false;
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *stop = nl ? nl : c->end;
    line->p = c->p;
    line->n = (size_t)(stop - c->p);
    if (line->n > 0 && line->p[line->n - 1] == '\r')
        line->n--;
    line->number = ++c->number;
    c->p = nl ? nl + 1 : c->end;
    return true;
}

/* Empty or blank lines and comments hold no data. */
static bool is_skipped(const struct line *line)
{
    if (line->n == 0 || line->p[0] == '#')
        return true;
    for (size_t i = 0; i < line->n; i++)
        if (!is_blank(line->p[i]))
            return false;
    return true;
}

/* The next line that holds data; false at the end. */
static bool next_data_line(struct cursor *c, struct line *line)
{
    while (next_line(c, line))
        if (!is_skipped(line))
            return true;
    return false;
}

struct field {
    const char *p; /* the content: inside the quotes, blanks removed */
    size_t n;
    const char *raw; /* as written, without the blanks around it */
    size_t raw_n;
    bool quoted;
};

/* Fields of one line. delim is ',', ';', '\t', or ' ' for runs of blanks. */
struct splitter {
    const char *p;
    const char *end;
    char delim;
    bool done;
    size_t column; /* of the last field taken, 1-based */
};

enum {
    FIELD_END = 0,
    FIELD_OK = 1,
    FIELD_UNTERMINATED = -1,
    FIELD_AFTER = -2
};

static void splitter_init(struct splitter *sp, const struct line *line,
                          char delim)
{
    sp->p = line->p;
    sp->end = line->p + line->n;
    sp->delim = delim;
    sp->done = false;
    sp->column = 0;
}

static bool is_space_for(char c, char delim)
{
    return c == ' ' || (c == '\t' && delim != '\t');
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_blank(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*p)[*n - 1]))
        (*n)--;
}

/* Take the next field. On an error f->raw and f->raw_n still give the
 * field as far as it goes, for the message. */
static int next_field(struct splitter *sp, struct field *f)
{
    if (sp->done)
        return FIELD_END;
    const char delim = sp->delim;
    while (sp->p < sp->end && is_space_for(*sp->p, delim))
        sp->p++;
    if (delim == ' ' && sp->p == sp->end) {
        sp->done = true;
        return FIELD_END;
    }
    sp->column++;
    const char *start = sp->p;
    if (sp->p < sp->end && *sp->p == '"') {
        const char *q = sp->p + 1;
        for (;;) {
            q = memchr(q, '"', (size_t)(sp->end - q));
            if (!q) {
                f->raw = start;
                f->raw_n = (size_t)(sp->end - start);
                return FIELD_UNTERMINATED;
            }
            if (q + 1 < sp->end && q[1] == '"') {
                q += 2; /* a doubled quote stands for one */
                continue;
            }
            break;
        }
        f->quoted = true;
        f->p = start + 1;
        f->n = (size_t)(q - start - 1);
        f->raw = start;
        f->raw_n = (size_t)(q + 1 - start);
        trim(&f->p, &f->n);
        sp->p = q + 1;
        while (sp->p < sp->end && is_space_for(*sp->p, delim))
            sp->p++;
        /* Blanks are behind us, so in blank-separated lines anything
         * left is text. */
        if (sp->p < sp->end && *sp->p != delim) {
            const char *stop = sp->p;
            while (stop < sp->end && *stop != delim &&
                   !(delim == ' ' && is_blank(*stop)))
                stop++;
            f->raw_n = (size_t)(stop - start);
            return FIELD_AFTER;
        }
    } else {
        const char *stop = sp->p;
        if (delim == ' ') {
            while (stop < sp->end && !is_blank(*stop))
                stop++;
        } else {
            stop = memchr(sp->p, delim, (size_t)(sp->end - sp->p));
            if (!stop)
                stop = sp->end;
        }
        f->quoted = false;
        f->p = start;
        f->n = (size_t)(stop - start);
        trim(&f->p, &f->n);
        f->raw = f->p;
        f->raw_n = f->n;
        sp->p = stop;
    }
    if (delim != ' ') {
        if (sp->p < sp->end && *sp->p == delim)
            sp->p++; /* another field follows, if only an empty one */
        else
            sp->done = true;
    }
    return FIELD_OK;
}

/* Up to EXCERPT_CHARS bytes of a field, with quotes, backslashes and
 * bytes outside printable ASCII escaped, and "..." when cut. */
static const char *excerpt(const char *p, size_t n, char *buf)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < EXCERPT_CHARS; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            buf[k++] = (char)c;
        } else {
            snprintf(buf + k, 5, "\\x%02x", c);
            k += 4;
        }
    }
    if (n > EXCERPT_CHARS) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static int field_error(const struct source *src, int kind, size_t line,
                       size_t column, const struct field *f)
{
    char buf[EXCERPT_SIZE];
    const char *what = kind == FIELD_UNTERMINATED ? "has no closing quote"
                       : kind == FIELD_AFTER
                           ? "has text after its closing quote"
                       : kind == NUM_RANGE ? "does not fit in a float"
                                           : "is not a number";
    return tnn__fail(TNN_E_FORMAT, src->func,
                     "line %zu, column %zu: \"%s\" %s%s%s", line, column,
                     excerpt(f->raw, f->raw_n, buf), what, src->in, src->path);
}

/* The delimiter of a file whose first data line is line: the first of
 * ',', ';' and '\t' it holds outside quotes, else runs of blanks. */
static char detect_delimiter(const struct line *line)
{
    bool quoted = false;
    for (size_t i = 0; i < line->n; i++) {
        char c = line->p[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == ',' || c == ';' || c == '\t'))
            return c;
    }
    return ' ';
}

/* Fields of the first data line, and whether one is not a number. */
static int scan_first_line(const struct source *src, const struct line *line,
                           char delim, size_t *columns, bool *all_numbers)
{
    struct splitter sp;
    struct field f = {0};
    struct decimal dec;
    int special;
    splitter_init(&sp, line, delim);
    *all_numbers = true;
    int rc;
    while ((rc = next_field(&sp, &f)) == FIELD_OK)
        if (*all_numbers && parse_decimal(f.p, f.n, &dec, &special) != NUM_OK)
            *all_numbers = false;
    if (rc != FIELD_END)
        return field_error(src, rc, line->number, sp.column, &f);
    *columns = sp.column;
    return TNN_OK;
}

/* ---- targets ----------------------------------------------------------- */

/* Columns of x and y: column c goes to y's column map[c] & ~TARGET when
 * TARGET is set, else to x's column map[c]. */
#define TARGET ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* The items of a targets list, blanks around them removed. Start with
 * next at the list. */
struct item {
    const char *p;
    size_t n;
    size_t number;    /* 1-based */
    const char *next; /* NULL after the last */
};

static bool next_item(struct item *it)
{
    const char *p = it->next;
    if (!p)
        return false;
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    it->p = p;
    it->n = n;
    trim(&it->p, &it->n);
    it->number++;
    it->next = comma ? comma + 1 : NULL;
    return true;
}

/* Whether an item is an index: [+-] digits. The value saturates. */
static bool item_index(const struct item *it, bool *neg, size_t *value)
{
    size_t i = 0;
    *neg = false;
    *value = 0;
    if (i < it->n && (it->p[i] == '+' || it->p[i] == '-'))
        *neg = it->p[i++] == '-';
    if (i == it->n)
        return false;
    for (; i < it->n; i++) {
        if (!is_digit(it->p[i]))
            return false;
        size_t d = (size_t)(it->p[i] - '0');
        *value = *value > (SIZE_MAX - d) / 10 ? SIZE_MAX : *value * 10 + d;
    }
    return true;
}

/* Check the list's form before anything is read: no empty item, and no
 * name when flags say that there is no header. */
static int check_targets(const char *func, const char *targets, int flags,
                         size_t *count)
{
    *count = 0;
    if (!targets || !targets[0])
        return TNN_OK;
    struct item it = {.next = targets};
    char buf[EXCERPT_SIZE];
    while (next_item(&it)) {
        bool neg;
        size_t value;
        if (it.n == 0)
            return tnn__fail(
                TNN_E_INVALID, func, "targets \"%s\": item %zu is empty",
                excerpt(targets, strlen(targets), buf), it.number);
        if ((flags & TNN_CSV_NO_HEADER) && !item_index(&it, &neg, &value))
            return tnn__fail(TNN_E_INVALID, func,
                             "targets item %zu names column \"%s\", but "
                             "flags has TNN_CSV_NO_HEADER",
                             it.number, excerpt(it.p, it.n, buf));
        (*count)++;
    }
    return TNN_OK;
}

/* Whether header field f, its doubled quotes read as one, is name. */
static bool field_is(const struct field *f, const char *name, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < f->n; i++, j++) {
        if (j == n || f->p[i] != name[j])
            return false;
        if (f->quoted && f->p[i] == '"')
            i++; /* the second of a doubled quote */
    }
    return j == n;
}

/* The column a name item designates in the header line. */
static int find_name(const char *func, const struct line *header, char delim,
                     const struct item *it, size_t *column)
{
    struct splitter sp;
    struct field f;
    char buf[EXCERPT_SIZE];
    size_t found = 0;
    splitter_init(&sp, header, delim);
    while (next_field(&sp, &f) == FIELD_OK) {
        if (!field_is(&f, it->p, it->n))
            continue;
        if (found)
            return tnn__fail(TNN_E_INVALID, func,
                             "targets item %zu: columns %zu and %zu are both "
                             "named \"%s\"",
                             it->number, found, sp.column,
                             excerpt(it->p, it->n, buf));
        found = sp.column;
    }
    if (!found)
        return tnn__fail(TNN_E_INVALID, func,
                         "targets item %zu: no column is named \"%s\"",
                         it->number, excerpt(it->p, it->n, buf));
    *column = found - 1;
    return TNN_OK;
}

/* Fill map (columns entries) from the targets list; header is NULL for a
 * file without one. */
static int map_columns(const char *func, const char *targets,
                       const struct line *header, char delim, size_t columns,
                       size_t *map, size_t *ny)
{
    for (size_t c = 0; c < columns; c++)
        map[c] = 0;
    *ny = 0;
    struct item it = {.next = targets && targets[0] ? targets : NULL};
    char buf[EXCERPT_SIZE];
    while (next_item(&it)) {
        bool neg;
        size_t value, column = 0;
        if (item_index(&it, &neg, &value)) {
            if (value >= columns + (neg ? 1 : 0) || (neg && value == 0))
                return tnn__fail(TNN_E_INVALID, func,
                                 "targets item %zu (%s) is out of range: the "
                                 "file has %zu columns (0 to %zu, or -1 to "
                                 "-%zu)",
                                 it.number, excerpt(it.p, it.n, buf), columns,
                                 columns - 1, columns);
            column = neg ? columns - value : value;
        } else {
            if (!header)
                return tnn__fail(TNN_E_INVALID, func,
                                 "targets item %zu names column \"%s\", but "
                                 "the file has no header line",
                                 it.number, excerpt(it.p, it.n, buf));
            int rc = find_name(func, header, delim, &it, &column);
            if (rc != TNN_OK)
                return rc;
        }
        if (map[column] & TARGET)
            return tnn__fail(TNN_E_INVALID, func,
                             "targets item %zu (%s) repeats column %zu",
                             it.number, excerpt(it.p, it.n, buf), column);
        map[column] = TARGET | (*ny)++;
    }
    if (*ny == columns)
        return tnn__fail(TNN_E_INVALID, func,
                         "targets names all %zu columns; at least one must "
                         "be left for x",
                         columns);
    size_t nx = 0;
    for (size_t c = 0; c < columns; c++)
        if (!(map[c] & TARGET))
            map[c] = nx++;
    return TNN_OK;
}

/* ---- the table ---------------------------------------------------------- */

static int new_matrix(const struct source *src, size_t rows, size_t cols,
                      tnn_tensor **t)
{
    *t = tnn_tensor_new_2d(rows, cols);
    if (*t)
        return TNN_OK;
    /* Report under the function the caller used; the copy is needed
     * because tnn__fail() overwrites the message it would read. */
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    return tnn__fail(tnn_last_error_code(), src->func, "%s%s%s", why, src->in,
                     src->path);
}

/* Convert one data line into row r of x and y. Errors of form come first
 * (quotes), then the field count, then the values. */
static int read_row(const struct source *src, const struct numconv *conv,
                    const struct line *line, char delim, size_t columns,
                    const size_t *map, float *xrow, float *yrow,
                    size_t first_line)
{
    struct splitter sp;
    struct field f = {0}, bad = {0};
    size_t bad_column = 0;
    int bad_kind = NUM_OK;
    splitter_init(&sp, line, delim);
    int rc;
    while ((rc = next_field(&sp, &f)) == FIELD_OK) {
        if (sp.column > columns || bad_kind != NUM_OK)
            continue;
        float v;
        int kind = parse_float(conv, f.p, f.n, &v);
        if (kind != NUM_OK) {
            bad = f;
            bad_column = sp.column;
            bad_kind = kind;
            continue;
        }
        size_t to = map[sp.column - 1];
        if (to & TARGET)
            yrow[to & ~TARGET] = v;
        else
            xrow[to] = v;
    }
    if (rc != FIELD_END)
        return field_error(src, rc, line->number, sp.column, &f);
    if (sp.column != columns)
        return tnn__fail(TNN_E_FORMAT, src->func,
                         "line %zu has %zu field%s; the first line (line "
                         "%zu) has %zu%s%s",
                         line->number, sp.column, sp.column == 1 ? "" : "s",
                         first_line, columns, src->in, src->path);
    if (bad_kind != NUM_OK)
        return field_error(src, bad_kind, line->number, bad_column, &bad);
    return TNN_OK;
}

static int check_args(const char *func, int flags, char delimiter,
                      const char *targets, tnn_tensor **x, tnn_tensor **y,
                      size_t *ny)
{
    if (y)
        *y = NULL;
    if (!x)
        return tnn__fail(TNN_E_INVALID, func, "x is NULL");
    *x = NULL;
    if (flags & ~CSV_KNOWN_FLAGS)
        return tnn__fail(TNN_E_INVALID, func,
                         "flags is 0x%x; only TNN_CSV_HEADER (0x%x) and "
                         "TNN_CSV_NO_HEADER (0x%x) are defined",
                         (unsigned)flags, (unsigned)TNN_CSV_HEADER,
                         (unsigned)TNN_CSV_NO_HEADER);
    if (flags == CSV_KNOWN_FLAGS)
        return tnn__fail(TNN_E_INVALID, func,
                         "flags has both TNN_CSV_HEADER and "
                         "TNN_CSV_NO_HEADER; give one or neither");
    if (delimiter != 0 && delimiter != ',' && delimiter != ';' &&
        delimiter != '\t' && delimiter != ' ')
        return tnn__fail(TNN_E_INVALID, func,
                         "delimiter is 0x%02x; it must be ',', ';', '\\t', "
                         "' ' (runs of blanks) or 0 (detect)",
                         (unsigned)(unsigned char)delimiter);
    int rc = check_targets(func, targets, flags, ny);
    if (rc != TNN_OK)
        return rc;
    if (*ny > 0 && !y)
        return tnn__fail(TNN_E_INVALID, func,
                         "y is NULL but targets names %zu column%s", *ny,
                         *ny == 1 ? "" : "s");
    return TNN_OK;
}

static int load_text(const struct source *src, const char *text, size_t size,
                     int flags, char delim, const char *targets,
                     tnn_tensor **x, tnn_tensor **y)
{
    struct cursor cur = {text, text + size, 0};
    /* A byte order mark, as some editors write, is no part of the data. */
    if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        cur.p += 3;
    struct line first;
    if (!next_data_line(&cur, &first)) {
        if (cur.number == 0)
            return tnn__fail(TNN_E_FORMAT, src->func,
                             "no data lines: the text is empty%s%s", src->in,
                             src->path);
        return tnn__fail(TNN_E_FORMAT, src->func,
                         "no data lines (%zu lines, all empty or comments)%s"
                         "%s",
                         cur.number, src->in, src->path);
    }
    if (delim == 0)
        delim = detect_delimiter(&first);
    size_t columns = 0;
    bool all_numbers;
    int rc = scan_first_line(src, &first, delim, &columns, &all_numbers);
    if (rc != TNN_OK)
        return rc;
    bool header = (flags & TNN_CSV_HEADER) ||
                  (!(flags & TNN_CSV_NO_HEADER) && !all_numbers);

    /* Data lines, counted before anything is allocated. */
    struct cursor data = cur;
    size_t rows = header ? 0 : 1;
    struct line line;
    while (next_data_line(&cur, &line))
        rows++;
    size_t *map = tnn__calloc(columns, sizeof *map);
    if (!map)
        return tnn__fail(TNN_E_NOMEM, src->func,
                         "cannot allocate the map of %zu columns%s%s", columns,
                         src->in, src->path);
    size_t ny = 0;
    rc = map_columns(src->func, targets, header ? &first : NULL, delim,
                     columns, map, &ny);
    if (rc == TNN_OK && rows == 0)
        rc = tnn__fail(TNN_E_FORMAT, src->func,
                       "no data lines after the header (line %zu)%s%s",
                       first.number, src->in, src->path);
    tnn_tensor *tx = NULL, *ty = NULL;
    if (rc == TNN_OK)
        rc = new_matrix(src, rows, columns - ny, &tx);
    if (rc == TNN_OK && ny > 0)
        rc = new_matrix(src, rows, ny, &ty);

    const struct numconv conv = numconv_now();
    const size_t nx = columns - ny;
    size_t r = 0;
    if (rc == TNN_OK && !header)
        rc = read_row(src, &conv, &first, delim, columns, map, tx->data,
                      ty ? ty->data : NULL, first.number);
    if (rc == TNN_OK && !header)
        r++;
    while (rc == TNN_OK && next_data_line(&data, &line)) {
        rc =
            read_row(src, &conv, &line, delim, columns, map, tx->data + r * nx,
                     ty ? ty->data + r * ny : NULL, first.number);
        r++;
    }
    tnn__free(map);
    if (rc != TNN_OK) {
        tnn_tensor_free(tx);
        tnn_tensor_free(ty);
        return rc;
    }
    *x = tx;
    if (y)
        *y = ty;
    return TNN_OK;
}

static bool is_gzip(const void *data, size_t size)
{
    const unsigned char *p = data;
    return size >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int tnn_csv_load_buffer(const void *data, size_t size, int flags,
                        char delimiter, const char *targets, tnn_tensor **x,
                        tnn_tensor **y)
{
    size_t ny;
    int rc = check_args(__func__, flags, delimiter, targets, x, y, &ny);
    if (rc != TNN_OK)
        return rc;
    if (!data)
        return tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
    if (is_gzip(data, size))
        return tnn__fail(TNN_E_FORMAT, __func__,
                         "data starts with the gzip magic (1f 8b); only "
                         "tnn_csv_load() decompresses, and only files");
    const struct source src = {__func__, "", ""};
    return load_text(&src, data, size, flags, delimiter, targets, x, y);
}

/* ---- gzip ----------------------------------------------------------------
 */

#ifdef TNN_HAVE_ZLIB
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t bytes;
    if (!tnn__mul_size(items, size, &bytes))
        return Z_NULL;
    return tnn__malloc(bytes);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    tnn__free(p);
}

static int corrupt(const struct source *src, const char *what,
                   const z_stream *zs)
{
    return tnn__fail(TNN_E_CORRUPT, src->func, "gzip data %s%s%s%s%s%s", what,
                     zs && zs->msg ? " (" : "", zs && zs->msg ? zs->msg : "",
                     zs && zs->msg ? ")" : "", src->in, src->path);
}

/* Inflate the gzip members in[0, n) into a new buffer. */
static int inflate_all(const struct source *src, const uint8_t *in, size_t n,
                       uint8_t **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    /* Start from the size the last member's trailer gives (modulo 2^32),
     * bounded by what deflate can reach (1032:1), and grow from there;
     * one byte over the limit tells that the data goes beyond it. */
    size_t cap = n >= 4 ? (size_t)tnn__load_le32(in + n - 4) : 0;
    size_t reach = n > (GZIP_LIMIT - 64) / 1032 ? GZIP_LIMIT : n * 1032 + 64;
    if (cap > reach)
        cap = reach;
    if (cap < 64)
        cap = 64;
    if (cap > GZIP_LIMIT + 1)
        cap = GZIP_LIMIT + 1;
    uint8_t *buf = tnn__malloc(cap);
    if (!buf)
        return tnn__fail(TNN_E_NOMEM, src->func,
                         "cannot allocate %zu bytes to inflate into%s%s", cap,
                         src->in, src->path);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = zlib_alloc;
    zs.zfree = zlib_free;
    int zr = inflateInit2(&zs, 16 + MAX_WBITS); /* gzip only */
    if (zr != Z_OK) {
        tnn__free(buf);
        if (zr == Z_MEM_ERROR)
            return tnn__fail(TNN_E_NOMEM, src->func,
                             "cannot allocate zlib's state%s%s", src->in,
                             src->path);
        return tnn__fail(TNN_E_IO, src->func, "zlib refuses to start (%d)%s%s",
                         zr, src->in, src->path);
    }
    size_t fed = 0, len = 0;
    int rc = TNN_OK;
    for (;;) {
        if (zs.avail_in == 0 && fed < n) {
            size_t chunk = n - fed < UINT_MAX ? n - fed : UINT_MAX;
            zs.next_in = (Bytef *)(uintptr_t)(in + fed);
            zs.avail_in = (uInt)chunk;
            fed += chunk;
        }
        if (len == cap) {
            if (cap > GZIP_LIMIT) {
                rc = tnn__fail(TNN_E_FORMAT, src->func,
                               "gzip data inflates to more than %zu bytes, "
                               "the limit%s%s",
                               GZIP_LIMIT, src->in, src->path);
                break;
            }
            size_t grown = cap > GZIP_LIMIT / 2 ? GZIP_LIMIT + 1 : 2 * cap;
            uint8_t *bigger = tnn__realloc(buf, grown);
            if (!bigger) {
                rc = tnn__fail(TNN_E_NOMEM, src->func,
                               "cannot allocate %zu bytes to inflate into%s%s",
                               grown, src->in, src->path);
                break;
            }
            buf = bigger;
            cap = grown;
        }
        size_t room = cap - len < UINT_MAX ? cap - len : UINT_MAX;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        zr = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (zr == Z_STREAM_END) {
            size_t left = zs.avail_in + (n - fed);
            if (left == 0)
                break;
            const uint8_t *next = zs.avail_in ? zs.next_in : in + fed;
            if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
                inflateReset(&zs); /* another member follows */
                continue;
            }
            rc = corrupt(src, "is followed by bytes that are no gzip member",
                         NULL);
            break;
        }
        if (zr == Z_MEM_ERROR) {
            rc = tnn__fail(TNN_E_NOMEM, src->func,
                           "cannot allocate zlib's window%s%s", src->in,
                           src->path);
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = corrupt(src, "is corrupt", &zs);
            break;
        }
        if (zs.avail_in == 0 && fed == n && zs.avail_out > 0) {
            rc = corrupt(src, "is truncated", NULL);
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != TNN_OK) {
        tnn__free(buf);
        return rc;
    }
    *out = buf;
    *out_n = len;
    return TNN_OK;
}
#endif

int tnn_csv_load(const char *path, int flags, char delimiter,
                 const char *targets, tnn_tensor **x, tnn_tensor **y)
{
    size_t ny;
    int rc = check_args(__func__, flags, delimiter, targets, x, y, &ny);
    if (rc != TNN_OK)
        return rc;
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    const struct source src = {__func__, " in ", path};
    uint8_t *data;
    size_t size;
    rc = tnn__read_file(__func__, path, &data, &size);
    if (rc != TNN_OK)
        return rc;
    if (is_gzip(data, size)) {
#ifdef TNN_HAVE_ZLIB
        uint8_t *text;
        size_t text_size;
        rc = inflate_all(&src, data, size, &text, &text_size);
        tnn__free(data);
        if (rc != TNN_OK)
            return rc;
        data = text;
        size = text_size;
#else
        tnn__free(data);
        return tnn__fail(TNN_E_FORMAT, __func__,
                         "the file is gzip-compressed and this libtinynn "
                         "was built without zlib; decompress it first%s%s",
                         src.in, src.path);
#endif
    }
    rc = load_text(&src, (const char *)data, size, flags, delimiter, targets,
                   x, y);
    tnn__free(data);
    return rc;
}
