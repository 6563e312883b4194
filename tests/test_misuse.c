/*
 * The API misuse matrix: every public function of include/tinynn.h called
 * wrongly - NULL handles, out-of-range values, wrong shapes, the wrong kind
 * of handle, the wrong call order - one table row per scenario.
 *
 * A row names the function, the scenario, what the header promises, and
 * the run function that makes the call, with the row's variant:
 *  - a TNN_E_* code: the call returns exactly that code (a constructor
 *    returns NULL), tnn_last_error_code() is that code and tnn_last_error()
 *    names the function (as a whole word, so "tnn_tensor_new" does not
 *    pass for "tnn_tensor_new_2d");
 *  - NEUTRAL: a getter or a free function that must not crash and must
 *    give its neutral value (0, NULL, "" or NaN), checked in the run
 *    function.
 * Run functions also check what a failed call must leave alone (shapes,
 * layer counts, destination buffers, weights, files) and, for the
 * functions that take ownership on failure, that nothing leaks under the
 * counting allocator.
 *
 * One run function serves many rows: it starts from a valid call and the
 * variant says what is wrong with it (an enum declared with the function,
 * or the one value that varies). The rows sit in small tables right after
 * the functions they drive, and all_tables at the end lists the tables.
 * Each table is a test case and each row its own Check test (a loop
 * test), so one broken row does not hide the others; a failure names the
 * function and the scenario.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp() */

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* A run function's result when it is no status code. */
#define NEUTRAL 1000           /* expected of getters and free functions */
#define GOT_HANDLE 1001        /* a constructor returned a handle */
#define NULL_WITHOUT_CODE 1002 /* NULL, but tnn_last_error_code() is 0 */

#define INV TNN_E_INVALID
#define SHP TNN_E_SHAPE
#define STA TNN_E_STATE
#define NOM TNN_E_NOMEM
#define FMT TNN_E_FORMAT
#define COR TNN_E_CORRUPT

struct misuse {
    const char *function; /* the public function under test */
    const char *scenario;
    int expected;            /* a TNN_E_* code, or NEUTRAL */
    int (*run)(int variant); /* makes the call and returns its result */
    int variant;             /* what run does wrong; 0 if run does one thing */
};

/* The row being run, for messages from inside the run functions. */
static const struct misuse *current;

#define CHECK(cond, what)                                                     \
    ck_assert_msg((cond), "%s [%s]: %s", current->function,                   \
                  current->scenario, (what))

/* ---- capturing the outcome of the call under test ----------------------- */

/* The error state right after the call under test, before the run
 * function's own clean-up calls run. */
static int got_code;
static char got_msg[1024];
static int captured;

static int capture(int rc)
{
    got_code = tnn_last_error_code();
    snprintf(got_msg, sizeof got_msg, "%s", tnn_last_error());
    captured = 1;
    return rc;
}

/* What a constructor's result means for the table. */
static int ptr_result(const void *p)
{
    if (p)
        return GOT_HANDLE;
    int code = tnn_last_error_code();
    return code ? code : NULL_WITHOUT_CODE;
}

static int is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Whether msg names fn as a whole identifier. */
static int names_function(const char *msg, const char *fn)
{
    size_t len = strlen(fn);
    for (const char *p = strstr(msg, fn); p; p = strstr(p + 1, fn)) {
        char before = p == msg ? ' ' : p[-1];
        if (!is_ident(before) && !is_ident(p[len]))
            return 1;
    }
    return 0;
}

static const char *result_name(int rc)
{
    switch (rc) {
    case NEUTRAL: return "neutral";
    case GOT_HANDLE: return "a handle instead of NULL";
    case NULL_WITHOUT_CODE: return "NULL without an error code";
    default: return tnn_strerror(rc);
    }
}

/* ---- fixtures ------------------------------------------------------------
 */

static tnn_tensor *mk(size_t rows, size_t cols, float value)
{
    tnn_tensor *t = tnn_tensor_new_2d(rows, cols);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_fill(t, value), TNN_OK);
    return t;
}

static tnn_tensor *mk1(size_t n, float value)
{
    size_t dims[1] = {n};
    tnn_tensor *t = tnn_tensor_new(1, dims);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_fill(t, value), TNN_OK);
    return t;
}

/* 4 inputs -> dense 4x3, with SGD when with_optim. */
static tnn_model *mk_model(int with_optim)
{
    tnn_model *m = tnn_model_new(4);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 3)), TNN_OK);
    if (with_optim)
        ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    return m;
}

static tnn_tensor *weights(tnn_model *m)
{
    return tnn_layer_param(tnn_model_layer(m, 0), 0);
}

/* A copy of a small tensor's values, to prove a failed call left it. */
struct snap {
    float v[64];
    size_t n;
    int ndim;
    size_t dims[TNN_MAX_DIMS];
};

static void snap_take(struct snap *s, const tnn_tensor *t)
{
    s->n = tnn_tensor_size(t);
    ck_assert_uint_le(s->n, 64);
    ck_assert_int_eq(tnn_tensor_copy_to(t, s->v, 64), TNN_OK);
    s->ndim = tnn_tensor_ndim(t);
    for (int i = 0; i < TNN_MAX_DIMS; i++)
        s->dims[i] = tnn_tensor_dim(t, i);
}

static int snap_same(const struct snap *s, const tnn_tensor *t)
{
    if (tnn_tensor_size(t) != s->n || tnn_tensor_ndim(t) != s->ndim)
        return 0;
    for (int i = 0; i < TNN_MAX_DIMS; i++)
        if (tnn_tensor_dim(t, i) != s->dims[i])
            return 0;
    return memcmp(tnn_tensor_cdata(t), s->v, s->n * sizeof(float)) == 0;
}

/* A model with data for training-style calls; env_close() checks that the
 * failed call changed nothing and frees everything. */
static int callback_calls;

static int count_cb(const tnn_progress *p, void *user)
{
    (void)p;
    (void)user;
    callback_calls++;
    return 0;
}

struct env {
    tnn_model *m;
    tnn_tensor *x, *y, *out;
    struct snap w, o;
};

static void env_open(struct env *e, int with_optim)
{
    e->m = mk_model(with_optim);
    e->x = mk(5, 4, 0.5f);
    e->y = mk(5, 3, 0.25f);
    e->out = mk(5, 3, 7.0f);
    snap_take(&e->w, weights(e->m));
    snap_take(&e->o, e->out);
    callback_calls = 0;
}

static int env_close(struct env *e, int rc)
{
    CHECK(snap_same(&e->w, weights(e->m)), "the weights changed");
    CHECK(snap_same(&e->o, e->out), "out changed");
    CHECK(tnn_optim_steps(tnn_model_optim(e->m)) == 0,
          "the optimizer took a step");
    CHECK(tnn_model_num_layers(e->m) == 1, "the layer count changed");
    CHECK(callback_calls == 0, "the callback was called");
    tnn_model_free(e->m);
    tnn_tensor_free(e->x);
    tnn_tensor_free(e->y);
    tnn_tensor_free(e->out);
    return rc;
}

/* Files in a private temporary directory. */
static char tmpdir[64];

static void tmp_open(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tnn-misuse-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp failed");
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", tmpdir, name);
    CHECK(n > 0 && (size_t)n < size, "path too long");
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create a fixture file");
    CHECK(fwrite(data, 1, size, f) == size, "cannot write a fixture file");
    CHECK(fclose(f) == 0, "cannot close a fixture file");
}

static int file_is(const char *path, const void *data, size_t size)
{
    char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == size && memcmp(buf, data, size) == 0;
}

static int tmp_entries(void)
{
    DIR *d = opendir(tmpdir);
    CHECK(d != NULL, "cannot list the temporary directory");
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void tmp_close(void)
{
    DIR *d = opendir(tmpdir);
    CHECK(d != NULL, "cannot list the temporary directory");
    char path[256];
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        tmp_path(path, sizeof path, e->d_name);
        if (unlink(path) != 0)
            rmdir(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A pointer that is not NULL, to see that *out is reset on failure. */
static char sentinel;
#define SENTINEL ((void *)&sentinel)

/* ---- row makers ----------------------------------------------------------
 */

/* An int-returning call on no fixtures. */
#define CALL_ROW(name, expr)                                                  \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        return capture(expr);                                                 \
    }

/* A constructor call that must give NULL. */
#define CTOR_ROW(name, type, expr, free_fn)                                   \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        type *p_ = (expr);                                                    \
        int rc_ = capture(ptr_result(p_));                                    \
        free_fn(p_);                                                          \
        return rc_;                                                           \
    }

/* A constructor whose first allocation fails: NULL, TNN_E_NOMEM, no leak. */
#define NOMEM_ROW(name, type, expr, free_fn)                                  \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        struct counting_allocator a_;                                         \
        counting_install(&a_, 1);                                             \
        type *p_ = (expr);                                                    \
        int rc_ = capture(ptr_result(p_));                                    \
        free_fn(p_);                                                          \
        long live_ = a_.live;                                                 \
        counting_remove();                                                    \
        CHECK(live_ == 0, "a block leaked");                                  \
        return rc_;                                                           \
    }

/* A getter or free function: cond must hold and nothing may crash. */
#define NEUTRAL_ROW(name, cond)                                               \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        CHECK((cond), #cond);                                                 \
        return NEUTRAL;                                                       \
    }

/* ========================================================================= */
/* Versions and errors                                                       */
/* ========================================================================= */

NEUTRAL_ROW(r_version_number, tnn_version_number() == TNN_VERSION_NUMBER)
NEUTRAL_ROW(r_version_string,
            strcmp(tnn_version_string(), TNN_VERSION_STRING) == 0)
NEUTRAL_ROW(r_strerror_unknown,
            strcmp(tnn_strerror(12345), "unknown error") == 0)
NEUTRAL_ROW(r_strerror_next_code,
            strcmp(tnn_strerror(TNN_E_STATE - 1), "unknown error") == 0)
NEUTRAL_ROW(r_strerror_int_min,
            strcmp(tnn_strerror(INT_MIN), "unknown error") == 0)
NEUTRAL_ROW(r_strerror_shape,
            strcmp(tnn_strerror(TNN_E_SHAPE), "shape mismatch") == 0)
NEUTRAL_ROW(r_last_error_clear, strcmp(tnn_last_error(), "") == 0)
NEUTRAL_ROW(r_last_error_code_clear, tnn_last_error_code() == TNN_OK)

/* A success does not clear the last failure. */
static int r_last_error_kept(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_tensor *t = tnn_tensor_new_2d(1, 1);
    CHECK(t != NULL, "fixture");
    tnn_tensor_free(t);
    CHECK(tnn_last_error_code() == TNN_E_INVALID, "the code was cleared");
    CHECK(names_function(tnn_last_error(), "tnn_rng_seed"),
          "the message was replaced");
    return NEUTRAL;
}

static int r_clear_error(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_clear_error();
    CHECK(tnn_last_error_code() == TNN_OK, "code not cleared");
    CHECK(strcmp(tnn_last_error(), "") == 0, "message not cleared");
    return NEUTRAL;
}

/* variant 0, 1: that code; 2: NULL func; 3: NULL message. */
static int set_error_case(int variant)
{
    const char *func = variant == 2 ? NULL : "f";
    const char *message = variant == 3 ? NULL : "m";
    int code = variant <= 1 ? variant : TNN_E_IO;
    return capture(tnn_set_error(code, func, message));
}

static const struct misuse error_rows[] = {
    {"tnn_version_number", "equals TNN_VERSION_NUMBER", NEUTRAL,
     r_version_number, 0},
    {"tnn_version_string", "equals TNN_VERSION_STRING", NEUTRAL,
     r_version_string, 0},
    {"tnn_strerror", "code 12345", NEUTRAL, r_strerror_unknown, 0},
    {"tnn_strerror", "the code after the last", NEUTRAL, r_strerror_next_code,
     0},
    {"tnn_strerror", "INT_MIN", NEUTRAL, r_strerror_int_min, 0},
    {"tnn_strerror", "TNN_E_SHAPE is \"shape mismatch\"", NEUTRAL,
     r_strerror_shape, 0},
    {"tnn_last_error", "empty when nothing failed", NEUTRAL,
     r_last_error_clear, 0},
    {"tnn_last_error", "kept across a successful call", NEUTRAL,
     r_last_error_kept, 0},
    {"tnn_last_error_code", "TNN_OK when nothing failed", NEUTRAL,
     r_last_error_code_clear, 0},
    {"tnn_clear_error", "forgets a failure", NEUTRAL, r_clear_error, 0},
    {"tnn_set_error", "code 0", INV, set_error_case, 0},
    {"tnn_set_error", "code 1", INV, set_error_case, 1},
    {"tnn_set_error", "NULL func", INV, set_error_case, 2},
    {"tnn_set_error", "NULL message", INV, set_error_case, 3},
};

/* ========================================================================= */
/* Memory and threads                                                        */
/* ========================================================================= */

/* Only some functions NULL (variant: which, as NULL_* bits); the allocator
 * installed before stays. */
enum { NULL_MALLOC = 1, NULL_REALLOC = 2, NULL_FREE = 4 };

static int set_allocator_partial(int variant)
{
    tnn_malloc_fn mf = variant & NULL_MALLOC ? NULL : counting_malloc;
    tnn_realloc_fn rf = variant & NULL_REALLOC ? NULL : counting_realloc;
    tnn_free_fn ff = variant & NULL_FREE ? NULL : counting_free;
    struct counting_allocator a;
    counting_install(&a, 0);
    int rc = capture(tnn_set_allocator(mf, rf, ff, &a));
    long before = a.calls;
    tnn_tensor *t = tnn_tensor_new_2d(2, 2);
    long after = a.calls;
    tnn_tensor_free(t);
    long live = a.live;
    counting_remove();
    CHECK(after > before, "the failed call replaced the allocator");
    CHECK(live == 0, "a block leaked");
    return rc;
}

/* variant: the thread count asked for. */
static int set_threads(int variant)
{
    int before = tnn_get_num_threads();
    int rc = capture(tnn_set_num_threads(variant));
    CHECK(tnn_get_num_threads() == before, "the thread count changed");
    return rc;
}

NEUTRAL_ROW(r_get_threads, tnn_get_num_threads() >= 1)

static const struct misuse runtime_rows[] = {
    {"tnn_set_allocator", "free_fn NULL only", INV, set_allocator_partial,
     NULL_FREE},
    {"tnn_set_allocator", "malloc_fn NULL only", INV, set_allocator_partial,
     NULL_MALLOC},
    {"tnn_set_allocator", "only free_fn set", INV, set_allocator_partial,
     NULL_MALLOC | NULL_REALLOC},
    {"tnn_set_num_threads", "n = 0", INV, set_threads, 0},
    {"tnn_set_num_threads", "n = -4", INV, set_threads, -4},
    {"tnn_get_num_threads", "at least 1", NEUTRAL, r_get_threads, 0},
};

/* ========================================================================= */
/* Random numbers                                                            */
/* ========================================================================= */

NOMEM_ROW(r_rng_new_nomem, tnn_rng, tnn_rng_new(7), tnn_rng_free)

static int r_rng_free_null(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_rng_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

CALL_ROW(r_rng_seed_null, tnn_rng_seed(NULL, 42))
NEUTRAL_ROW(r_rng_u64_null, tnn_rng_next_u64(NULL) == 0)
NEUTRAL_ROW(r_rng_uniform_null, tnn_rng_uniform(NULL) == 0.0)
NEUTRAL_ROW(r_rng_normal_null, tnn_rng_normal(NULL) == 0.0)

/* variant 0: NULL rng; 1: NULL state. */
static int rng_get_state_case(int variant)
{
    unsigned char state[TNN_RNG_STATE_BYTES];
    tnn_rng *rng = variant ? tnn_rng_new(1) : NULL;
    int rc = capture(tnn_rng_get_state(rng, variant ? NULL : state));
    tnn_rng_free(rng);
    return rc;
}

/* variant 0: NULL rng; 1: NULL state; 2: all zero; 3: kept normal 1e9. */
static int rng_set_state_case(int variant)
{
    unsigned char state[TNN_RNG_STATE_BYTES] = {0};
    tnn_rng *rng = variant ? tnn_rng_new(1) : NULL;
    if (variant == 3) {
        ck_assert_int_eq(tnn_rng_get_state(rng, state), TNN_OK);
        double big = 1e9;
        memcpy(state + 32, &big, sizeof big); /* little-endian hosts */
        state[40] = 1;
    }
    uint64_t next = 0;
    if (rng) {
        tnn_rng *copy = tnn_rng_new(1);
        next = tnn_rng_next_u64(copy);
        tnn_rng_free(copy);
    }
    int rc = capture(tnn_rng_set_state(rng, variant == 1 ? NULL : state));
    CHECK(!rng || tnn_rng_next_u64(rng) == next, "the generator changed");
    tnn_rng_free(rng);
    return rc;
}

static const struct misuse rng_rows[] = {
    {"tnn_rng_new", "allocation fails", NOM, r_rng_new_nomem, 0},
    {"tnn_rng_free", "NULL", NEUTRAL, r_rng_free_null, 0},
    {"tnn_rng_seed", "NULL rng", INV, r_rng_seed_null, 0},
    {"tnn_rng_next_u64", "NULL rng gives 0", NEUTRAL, r_rng_u64_null, 0},
    {"tnn_rng_uniform", "NULL rng gives 0", NEUTRAL, r_rng_uniform_null, 0},
    {"tnn_rng_normal", "NULL rng gives 0", NEUTRAL, r_rng_normal_null, 0},
    {"tnn_rng_get_state", "NULL rng", INV, rng_get_state_case, 0},
    {"tnn_rng_get_state", "NULL state", INV, rng_get_state_case, 1},
    {"tnn_rng_set_state", "NULL rng", INV, rng_set_state_case, 0},
    {"tnn_rng_set_state", "NULL state", INV, rng_set_state_case, 1},
    {"tnn_rng_set_state", "all words zero", INV, rng_set_state_case, 2},
    {"tnn_rng_set_state", "kept normal 1e9", INV, rng_set_state_case, 3},
};

/* ========================================================================= */
/* Tensors                                                                   */
/* ========================================================================= */

static const size_t dims5[5] = {2, 2, 2, 2, 2};
static const size_t dims_zero[3] = {4, 0, 3};
static const size_t dims_huge[2] = {SIZE_MAX / 2, 3};
static const size_t dims_bytes[1] = {SIZE_MAX / 2};

CTOR_ROW(r_tensor_new_ndim0, tnn_tensor, tnn_tensor_new(0, dims5),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_ndim5, tnn_tensor, tnn_tensor_new(5, dims5),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_ndim_neg, tnn_tensor, tnn_tensor_new(-1, dims5),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_dims_null, tnn_tensor, tnn_tensor_new(2, NULL),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_zero_dim, tnn_tensor, tnn_tensor_new(3, dims_zero),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_count_overflow, tnn_tensor, tnn_tensor_new(2, dims_huge),
         tnn_tensor_free)
CTOR_ROW(r_tensor_new_bytes_overflow, tnn_tensor,
         tnn_tensor_new(1, dims_bytes), tnn_tensor_free)
NOMEM_ROW(r_tensor_new_nomem, tnn_tensor, tnn_tensor_new(2, dims5),
          tnn_tensor_free)

CTOR_ROW(r_tensor_2d_rows0, tnn_tensor, tnn_tensor_new_2d(0, 3),
         tnn_tensor_free)
CTOR_ROW(r_tensor_2d_cols0, tnn_tensor, tnn_tensor_new_2d(3, 0),
         tnn_tensor_free)
CTOR_ROW(r_tensor_2d_overflow, tnn_tensor, tnn_tensor_new_2d(SIZE_MAX / 2, 3),
         tnn_tensor_free)
NOMEM_ROW(r_tensor_2d_nomem, tnn_tensor, tnn_tensor_new_2d(3, 3),
          tnn_tensor_free)

static int r_tensor_free_null(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_tensor_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

NEUTRAL_ROW(r_tensor_ndim_null, tnn_tensor_ndim(NULL) == 0)
NEUTRAL_ROW(r_tensor_dim_null, tnn_tensor_dim(NULL, 0) == 0)

static int r_tensor_dim_range(int variant)
{
    (void)variant;
    tnn_tensor *t = mk(2, 3, 0.0f);
    CHECK(tnn_tensor_dim(t, -1) == 0, "dim -1 is not 0");
    CHECK(tnn_tensor_dim(t, 2) == 0, "dim ndim is not 0");
    CHECK(tnn_tensor_dim(t, TNN_MAX_DIMS) == 0, "dim TNN_MAX_DIMS is not 0");
    CHECK(tnn_tensor_dim(t, INT_MAX) == 0, "dim INT_MAX is not 0");
    tnn_tensor_free(t);
    return NEUTRAL;
}

NEUTRAL_ROW(r_tensor_size_null, tnn_tensor_size(NULL) == 0)
NEUTRAL_ROW(r_tensor_data_null, tnn_tensor_data(NULL) == NULL)
NEUTRAL_ROW(r_tensor_cdata_null, tnn_tensor_cdata(NULL) == NULL)

static const struct misuse tensor_new_rows[] = {
    {"tnn_tensor_new", "ndim 0", INV, r_tensor_new_ndim0, 0},
    {"tnn_tensor_new", "ndim 5", INV, r_tensor_new_ndim5, 0},
    {"tnn_tensor_new", "ndim -1", INV, r_tensor_new_ndim_neg, 0},
    {"tnn_tensor_new", "dims NULL", INV, r_tensor_new_dims_null, 0},
    {"tnn_tensor_new", "a zero dimension", INV, r_tensor_new_zero_dim, 0},
    {"tnn_tensor_new", "element count overflows", SHP,
     r_tensor_new_count_overflow, 0},
    {"tnn_tensor_new", "byte size overflows", SHP, r_tensor_new_bytes_overflow,
     0},
    {"tnn_tensor_new", "allocation fails", NOM, r_tensor_new_nomem, 0},
    {"tnn_tensor_new_2d", "rows 0", INV, r_tensor_2d_rows0, 0},
    {"tnn_tensor_new_2d", "cols 0", INV, r_tensor_2d_cols0, 0},
    {"tnn_tensor_new_2d", "size overflows", SHP, r_tensor_2d_overflow, 0},
    {"tnn_tensor_new_2d", "allocation fails", NOM, r_tensor_2d_nomem, 0},
    {"tnn_tensor_free", "NULL", NEUTRAL, r_tensor_free_null, 0},
    {"tnn_tensor_ndim", "NULL gives 0", NEUTRAL, r_tensor_ndim_null, 0},
    {"tnn_tensor_dim", "NULL gives 0", NEUTRAL, r_tensor_dim_null, 0},
    {"tnn_tensor_dim", "i out of range gives 0", NEUTRAL, r_tensor_dim_range,
     0},
    {"tnn_tensor_size", "NULL gives 0", NEUTRAL, r_tensor_size_null, 0},
    {"tnn_tensor_data", "NULL gives NULL", NEUTRAL, r_tensor_data_null, 0},
    {"tnn_tensor_cdata", "NULL gives NULL", NEUTRAL, r_tensor_cdata_null, 0},
};

static const float src6[6] = {1, 2, 3, 4, 5, 6};

CALL_ROW(r_copy_from_null_t, tnn_tensor_copy_from(NULL, src6, 6))

/* Copies src6 into a 2x3 tensor; variant: the count passed, or NULL_SRC
 * for a NULL src with the right count. */
#define NULL_SRC (-1)

static int copy_from_case(int variant)
{
    const float *src = variant == NULL_SRC ? NULL : src6;
    size_t count = variant == NULL_SRC ? 6 : (size_t)variant;
    tnn_tensor *t = mk(2, 3, -1.0f);
    struct snap s;
    snap_take(&s, t);
    int rc = capture(tnn_tensor_copy_from(t, src, count));
    CHECK(snap_same(&s, t), "the tensor changed");
    tnn_tensor_free(t);
    return rc;
}

static int r_copy_to_null_t(int variant)
{
    (void)variant;
    float dst[4] = {9, 9, 9, 9};
    int rc = capture(tnn_tensor_copy_to(NULL, dst, 4));
    CHECK(dst[0] == 9 && dst[3] == 9, "dst changed");
    return rc;
}

static int r_copy_to_null_dst(int variant)
{
    (void)variant;
    tnn_tensor *t = mk(2, 3, 1.0f);
    int rc = capture(tnn_tensor_copy_to(t, NULL, 6));
    tnn_tensor_free(t);
    return rc;
}

/* Copies a 2x3 tensor out; variant: the capacity passed. */
static int copy_to_case(int variant)
{
    tnn_tensor *t = mk(2, 3, 1.0f);
    float dst[6];
    for (int i = 0; i < 6; i++)
        dst[i] = 99.0f;
    int rc = capture(tnn_tensor_copy_to(t, dst, (size_t)variant));
    for (int i = 0; i < 6; i++)
        CHECK(dst[i] == 99.0f, "the destination was written");
    tnn_tensor_free(t);
    return rc;
}

CALL_ROW(r_fill_null, tnn_tensor_fill(NULL, 1.0f))
CTOR_ROW(r_clone_null, tnn_tensor, tnn_tensor_clone(NULL), tnn_tensor_free)

static int r_clone_nomem(int variant)
{
    (void)variant;
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_tensor *src = mk(3, 3, 1.0f);
    a.fail_at = a.calls + 1;
    tnn_tensor *c = tnn_tensor_clone(src);
    int rc = capture(ptr_result(c));
    tnn_tensor_free(c);
    tnn_tensor_free(src);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "a block leaked");
    return rc;
}

static const struct misuse tensor_copy_rows[] = {
    {"tnn_tensor_copy_from", "NULL tensor", INV, r_copy_from_null_t, 0},
    {"tnn_tensor_copy_from", "NULL src", INV, copy_from_case, NULL_SRC},
    {"tnn_tensor_copy_from", "count one short", SHP, copy_from_case, 5},
    {"tnn_tensor_copy_from", "count one long", SHP, copy_from_case, 7},
    {"tnn_tensor_copy_from", "count 0", SHP, copy_from_case, 0},
    {"tnn_tensor_copy_to", "NULL tensor", INV, r_copy_to_null_t, 0},
    {"tnn_tensor_copy_to", "NULL dst", INV, r_copy_to_null_dst, 0},
    {"tnn_tensor_copy_to", "capacity one short", SHP, copy_to_case, 5},
    {"tnn_tensor_copy_to", "capacity 0", SHP, copy_to_case, 0},
    {"tnn_tensor_fill", "NULL tensor", INV, r_fill_null, 0},
    {"tnn_tensor_clone", "NULL tensor", INV, r_clone_null, 0},
    {"tnn_tensor_clone", "allocation fails", NOM, r_clone_nomem, 0},
};

static const size_t dims_25[2] = {5, 5};
static const size_t dims_0_24[2] = {0, 24};
static const size_t dims_24[5] = {2, 3, 4, 1, 1};

CALL_ROW(r_reshape_null, tnn_tensor_reshape(NULL, 2, dims_25))

/* Reshapes a 4x6 tensor; variant: the ndim and dims passed. */
enum {
    RESHAPE_5X5,
    RESHAPE_0X24,
    RESHAPE_NDIM0,
    RESHAPE_NDIM5,
    RESHAPE_DIMS_NULL,
    RESHAPE_HUGE
};

static int reshape_case(int variant)
{
    int ndim = 2;
    const size_t *dims = NULL;
    switch (variant) {
    case RESHAPE_5X5: dims = dims_25; break;
    case RESHAPE_0X24: dims = dims_0_24; break;
    case RESHAPE_NDIM0: ndim = 0, dims = dims_24; break;
    case RESHAPE_NDIM5: ndim = 5, dims = dims_24; break;
    case RESHAPE_DIMS_NULL: break;
    case RESHAPE_HUGE: dims = dims_huge; break;
    }
    tnn_tensor *t = mk(4, 6, 2.0f);
    struct snap s;
    snap_take(&s, t);
    int rc = capture(tnn_tensor_reshape(t, ndim, dims));
    CHECK(snap_same(&s, t), "the shape or contents changed");
    tnn_tensor_free(t);
    return rc;
}

static const struct misuse tensor_reshape_rows[] = {
    {"tnn_tensor_reshape", "NULL tensor", INV, r_reshape_null, 0},
    {"tnn_tensor_reshape", "other element count", SHP, reshape_case,
     RESHAPE_5X5},
    {"tnn_tensor_reshape", "a zero dimension", INV, reshape_case,
     RESHAPE_0X24},
    {"tnn_tensor_reshape", "ndim 0", INV, reshape_case, RESHAPE_NDIM0},
    {"tnn_tensor_reshape", "ndim 5", INV, reshape_case, RESHAPE_NDIM5},
    {"tnn_tensor_reshape", "dims NULL", INV, reshape_case, RESHAPE_DIMS_NULL},
    {"tnn_tensor_reshape", "element count overflows", SHP, reshape_case,
     RESHAPE_HUGE},
};

static int r_uniform_null_t(int variant)
{
    (void)variant;
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_tensor_rand_uniform(NULL, r, 0.0f, 1.0f));
    tnn_rng_free(r);
    return rc;
}

static int r_normal_null_t(int variant)
{
    (void)variant;
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_tensor_rand_normal(NULL, r, 0.0f, 1.0f));
    tnn_rng_free(r);
    return rc;
}

/* tnn_tensor_rand_uniform(t, rng, lo, hi) or tnn_tensor_rand_normal(t,
 * rng, mean, stddev) on a 2x3 tensor, from (0, 1) and a generator;
 * variant: what is wrong. The tensor and the generator must stay. */
enum {
    UNIFORM_NULL_RNG,
    UNIFORM_EQUAL,
    UNIFORM_REVERSED,
    UNIFORM_LO_NAN,
    UNIFORM_HI_INF,
    UNIFORM_LO_NEG_INF,
    NORMAL_NULL_RNG,
    NORMAL_SD_NEG,
    NORMAL_SD_NAN,
    NORMAL_MEAN_INF,
    NORMAL_MEAN_NAN,
    NORMAL_SD_HUGE
};

static int rand_case(int variant)
{
    int normal = 0, rng_null = 0;
    float a = 0.0f, b = 1.0f;
    switch (variant) {
    case UNIFORM_NULL_RNG: rng_null = 1; break;
    case UNIFORM_EQUAL: a = 1.0f; break;
    case UNIFORM_REVERSED: a = 2.0f; break;
    case UNIFORM_LO_NAN: a = NAN; break;
    case UNIFORM_HI_INF: b = INFINITY; break;
    case UNIFORM_LO_NEG_INF: a = -INFINITY, b = 0.0f; break;
    case NORMAL_NULL_RNG: normal = 1, rng_null = 1; break;
    case NORMAL_SD_NEG: normal = 1, b = -1.0f; break;
    case NORMAL_SD_NAN: normal = 1, b = NAN; break;
    case NORMAL_MEAN_INF: normal = 1, a = INFINITY; break;
    case NORMAL_MEAN_NAN: normal = 1, a = NAN; break;
    case NORMAL_SD_HUGE: normal = 1, b = 1e38f; break;
    }
    tnn_tensor *t = mk(2, 3, 5.0f);
    tnn_rng *r = tnn_rng_new(3);
    struct snap s;
    snap_take(&s, t);
    tnn_rng *use = rng_null ? NULL : r;
    int rc = capture(normal ? tnn_tensor_rand_normal(t, use, a, b)
                            : tnn_tensor_rand_uniform(t, use, a, b));
    CHECK(snap_same(&s, t), "the tensor changed");
    tnn_rng *fresh = tnn_rng_new(3);
    CHECK(tnn_rng_next_u64(r) == tnn_rng_next_u64(fresh),
          "the generator advanced");
    tnn_rng_free(fresh);
    tnn_rng_free(r);
    tnn_tensor_free(t);
    return rc;
}

static const struct misuse tensor_rand_rows[] = {
    {"tnn_tensor_rand_uniform", "NULL tensor", INV, r_uniform_null_t, 0},
    {"tnn_tensor_rand_uniform", "NULL rng", INV, rand_case, UNIFORM_NULL_RNG},
    {"tnn_tensor_rand_uniform", "lo == hi", INV, rand_case, UNIFORM_EQUAL},
    {"tnn_tensor_rand_uniform", "lo > hi", INV, rand_case, UNIFORM_REVERSED},
    {"tnn_tensor_rand_uniform", "lo NaN", INV, rand_case, UNIFORM_LO_NAN},
    {"tnn_tensor_rand_uniform", "hi infinite", INV, rand_case, UNIFORM_HI_INF},
    {"tnn_tensor_rand_uniform", "lo -infinity", INV, rand_case,
     UNIFORM_LO_NEG_INF},
    {"tnn_tensor_rand_normal", "NULL tensor", INV, r_normal_null_t, 0},
    {"tnn_tensor_rand_normal", "NULL rng", INV, rand_case, NORMAL_NULL_RNG},
    {"tnn_tensor_rand_normal", "stddev -1", INV, rand_case, NORMAL_SD_NEG},
    {"tnn_tensor_rand_normal", "stddev NaN", INV, rand_case, NORMAL_SD_NAN},
    {"tnn_tensor_rand_normal", "mean infinite", INV, rand_case,
     NORMAL_MEAN_INF},
    {"tnn_tensor_rand_normal", "mean NaN", INV, rand_case, NORMAL_MEAN_NAN},
    {"tnn_tensor_rand_normal", "stddev 1e38 (draws overflow)", INV, rand_case,
     NORMAL_SD_HUGE},
};

/* ---- shared storage (since 1.7) ---- */

static float wrap_data[6];

CTOR_ROW(r_wrap_null_data, tnn_tensor, tnn_tensor_wrap(NULL, 2, dims_25),
         tnn_tensor_free)
CTOR_ROW(r_wrap_ndim0, tnn_tensor, tnn_tensor_wrap(wrap_data, 0, dims_25),
         tnn_tensor_free)
CTOR_ROW(r_wrap_dims_null, tnn_tensor, tnn_tensor_wrap(wrap_data, 2, NULL),
         tnn_tensor_free)
CTOR_ROW(r_wrap_zero_dim, tnn_tensor, tnn_tensor_wrap(wrap_data, 3, dims_zero),
         tnn_tensor_free)
CTOR_ROW(r_wrap_overflow, tnn_tensor, tnn_tensor_wrap(wrap_data, 2, dims_huge),
         tnn_tensor_free)
NOMEM_ROW(r_wrap_nomem, tnn_tensor, tnn_tensor_wrap(wrap_data, 2, dims_25),
          tnn_tensor_free)
CTOR_ROW(r_view_null, tnn_tensor, tnn_tensor_view_rows(NULL, 0, 1),
         tnn_tensor_free)

/* Views of a 4x3 tensor; variant: (first, count) cases. */
enum { VIEW_COUNT0, VIEW_FIRST_PAST, VIEW_PAST_END, VIEW_WRAPS, VIEW_NOMEM };

static int view_case(int variant)
{
    tnn_tensor *t = mk(4, 3, 1.0f);
    size_t first = 0, count = 1;
    switch (variant) {
    case VIEW_COUNT0: count = 0; break;
    case VIEW_FIRST_PAST: first = 4; break;
    case VIEW_PAST_END: first = 2, count = 3; break;
    case VIEW_WRAPS: first = 2, count = SIZE_MAX; break;
    default: break;
    }
    struct counting_allocator a;
    if (variant == VIEW_NOMEM)
        counting_install(&a, 1);
    tnn_tensor *v = tnn_tensor_view_rows(t, first, count);
    int rc = capture(ptr_result(v));
    long live = variant == VIEW_NOMEM ? a.live : 0;
    if (variant == VIEW_NOMEM)
        counting_remove();
    CHECK(live == 0, "a block leaked");
    CHECK(!tnn_tensor_is_shared(t), "the failed view left t shared");
    tnn_tensor_free(v);
    tnn_tensor_free(t);
    return rc;
}

NEUTRAL_ROW(r_is_shared_null, tnn_tensor_is_shared(NULL) == 0)

/* Shuffles a 4x3 tensor; variant: what is wrong. */
enum { SHUFFLE_NULL_X, SHUFFLE_NULL_RNG, SHUFFLE_Y_ROWS, SHUFFLE_SAME };

static int shuffle_case(int variant)
{
    tnn_tensor *x = mk(4, 3, 1.0f),
               *y = mk(variant == SHUFFLE_Y_ROWS ? 3 : 4, 1, 2.0f);
    tnn_rng *rng = tnn_rng_new(1);
    for (size_t i = 0; i < 12; i++)
        tnn_tensor_data(x)[i] = (float)i;
    struct snap s;
    snap_take(&s, x);
    int rc = 0;
    switch (variant) {
    case SHUFFLE_NULL_X: rc = tnn_tensor_shuffle_rows(NULL, y, rng); break;
    case SHUFFLE_NULL_RNG: rc = tnn_tensor_shuffle_rows(x, y, NULL); break;
    case SHUFFLE_Y_ROWS: rc = tnn_tensor_shuffle_rows(x, y, rng); break;
    case SHUFFLE_SAME: rc = tnn_tensor_shuffle_rows(x, x, rng); break;
    }
    rc = capture(rc);
    CHECK(snap_same(&s, x), "x changed");
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

static const struct misuse tensor_share_rows[] = {
    {"tnn_tensor_wrap", "NULL data", INV, r_wrap_null_data, 0},
    {"tnn_tensor_wrap", "ndim 0", INV, r_wrap_ndim0, 0},
    {"tnn_tensor_wrap", "dims NULL", INV, r_wrap_dims_null, 0},
    {"tnn_tensor_wrap", "a zero dimension", INV, r_wrap_zero_dim, 0},
    {"tnn_tensor_wrap", "element count overflows", SHP, r_wrap_overflow, 0},
    {"tnn_tensor_wrap", "allocation fails", NOM, r_wrap_nomem, 0},
    {"tnn_tensor_view_rows", "NULL tensor", INV, r_view_null, 0},
    {"tnn_tensor_view_rows", "count 0", SHP, view_case, VIEW_COUNT0},
    {"tnn_tensor_view_rows", "first past the end", SHP, view_case,
     VIEW_FIRST_PAST},
    {"tnn_tensor_view_rows", "rows past the end", SHP, view_case,
     VIEW_PAST_END},
    {"tnn_tensor_view_rows", "first + count wraps around", SHP, view_case,
     VIEW_WRAPS},
    {"tnn_tensor_view_rows", "allocation fails", NOM, view_case, VIEW_NOMEM},
    {"tnn_tensor_is_shared", "NULL tensor", NEUTRAL, r_is_shared_null, 0},
    {"tnn_tensor_shuffle_rows", "NULL x", INV, shuffle_case, SHUFFLE_NULL_X},
    {"tnn_tensor_shuffle_rows", "NULL rng", INV, shuffle_case,
     SHUFFLE_NULL_RNG},
    {"tnn_tensor_shuffle_rows", "y with other rows", SHP, shuffle_case,
     SHUFFLE_Y_ROWS},
    {"tnn_tensor_shuffle_rows", "y the same rows as x", INV, shuffle_case,
     SHUFFLE_SAME},
};

/* ========================================================================= */
/* Layers                                                                    */
/* ========================================================================= */

CTOR_ROW(r_dense_in0, tnn_layer, tnn_dense_new(0, 3), tnn_layer_free)
CTOR_ROW(r_dense_out0, tnn_layer, tnn_dense_new(3, 0), tnn_layer_free)
NOMEM_ROW(r_dense_nomem, tnn_layer, tnn_dense_new(3, 2), tnn_layer_free)

CALL_ROW(r_set_init_null, tnn_dense_set_init(NULL, TNN_INIT_ZEROS, 0.0f))

/* tnn_dense_set_init on a dense 2x2 layer with a constant 0; variant: what
 * is wrong. */
enum { SET_INIT_RELU, SET_INIT_4, SET_INIT_NEG, SET_INIT_NAN, SET_INIT_INF };

static int set_init_case(int variant)
{
    int relu = 0, init = TNN_INIT_CONSTANT;
    float value = 0.0f;
    switch (variant) {
    case SET_INIT_RELU: relu = 1, init = TNN_INIT_ZEROS; break;
    case SET_INIT_4: init = 4; break;
    case SET_INIT_NEG: init = -1; break;
    case SET_INIT_NAN: value = NAN; break;
    case SET_INIT_INF: value = INFINITY; break;
    }
    tnn_layer *l = relu ? tnn_relu_new() : tnn_dense_new(2, 2);
    int rc = capture(tnn_dense_set_init(l, init, value));
    tnn_layer_free(l);
    return rc;
}

/* A failed set_init keeps the initialiser: a zeros init survives. */
static int r_set_init_kept(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(2, 2);
    tnn_rng *r = tnn_rng_new(5);
    ck_assert_int_eq(tnn_dense_set_init(l, TNN_INIT_ZEROS, 0.0f), TNN_OK);
    int rc = capture(tnn_dense_set_init(l, 9, 1.0f));
    ck_assert_int_eq(tnn_layer_init(l, r), TNN_OK);
    const float *w = tnn_tensor_cdata(tnn_layer_param(l, 0));
    for (int i = 0; i < 4; i++)
        CHECK(w[i] == 0.0f, "the initialiser changed");
    tnn_rng_free(r);
    tnn_layer_free(l);
    return rc;
}

NOMEM_ROW(r_relu_nomem, tnn_layer, tnn_relu_new(), tnn_layer_free)
NOMEM_ROW(r_sigmoid_nomem, tnn_layer, tnn_sigmoid_new(), tnn_layer_free)
NOMEM_ROW(r_tanh_nomem, tnn_layer, tnn_tanh_new(), tnn_layer_free)
NOMEM_ROW(r_softmax_nomem, tnn_layer, tnn_softmax_new(), tnn_layer_free)
NOMEM_ROW(r_identity_nomem, tnn_layer, tnn_identity_new(), tnn_layer_free)

CTOR_ROW(r_leaky_nan, tnn_layer, tnn_leaky_relu_new(NAN), tnn_layer_free)
CTOR_ROW(r_leaky_inf, tnn_layer, tnn_leaky_relu_new(INFINITY), tnn_layer_free)
CTOR_ROW(r_leaky_neg_inf, tnn_layer, tnn_leaky_relu_new(-INFINITY),
         tnn_layer_free)
NOMEM_ROW(r_leaky_nomem, tnn_layer, tnn_leaky_relu_new(0.01f), tnn_layer_free)

CTOR_ROW(r_dropout_1, tnn_layer, tnn_dropout_new(1.0f), tnn_layer_free)
CTOR_ROW(r_dropout_neg, tnn_layer, tnn_dropout_new(-0.1f), tnn_layer_free)
CTOR_ROW(r_dropout_nan, tnn_layer, tnn_dropout_new(NAN), tnn_layer_free)
CTOR_ROW(r_dropout_inf, tnn_layer, tnn_dropout_new(INFINITY), tnn_layer_free)
NOMEM_ROW(r_dropout_nomem, tnn_layer, tnn_dropout_new(0.5f), tnn_layer_free)

static const struct misuse layer_new_rows[] = {
    {"tnn_dense_new", "in 0", INV, r_dense_in0, 0},
    {"tnn_dense_new", "out 0", INV, r_dense_out0, 0},
    {"tnn_dense_new", "allocation fails", NOM, r_dense_nomem, 0},
    {"tnn_dense_set_init", "NULL layer", INV, r_set_init_null, 0},
    {"tnn_dense_set_init", "a relu layer", INV, set_init_case, SET_INIT_RELU},
    {"tnn_dense_set_init", "init 4", INV, set_init_case, SET_INIT_4},
    {"tnn_dense_set_init", "init -1", INV, set_init_case, SET_INIT_NEG},
    {"tnn_dense_set_init", "constant NaN", INV, set_init_case, SET_INIT_NAN},
    {"tnn_dense_set_init", "constant infinity", INV, set_init_case,
     SET_INIT_INF},
    {"tnn_dense_set_init", "init 9 keeps the initialiser", INV,
     r_set_init_kept, 0},
    {"tnn_relu_new", "allocation fails", NOM, r_relu_nomem, 0},
    {"tnn_sigmoid_new", "allocation fails", NOM, r_sigmoid_nomem, 0},
    {"tnn_tanh_new", "allocation fails", NOM, r_tanh_nomem, 0},
    {"tnn_softmax_new", "allocation fails", NOM, r_softmax_nomem, 0},
    {"tnn_identity_new", "allocation fails", NOM, r_identity_nomem, 0},
    {"tnn_leaky_relu_new", "slope NaN", INV, r_leaky_nan, 0},
    {"tnn_leaky_relu_new", "slope infinity", INV, r_leaky_inf, 0},
    {"tnn_leaky_relu_new", "slope -infinity", INV, r_leaky_neg_inf, 0},
    {"tnn_leaky_relu_new", "allocation fails", NOM, r_leaky_nomem, 0},
    {"tnn_dropout_new", "rate 1", INV, r_dropout_1, 0},
    {"tnn_dropout_new", "rate -0.1", INV, r_dropout_neg, 0},
    {"tnn_dropout_new", "rate NaN", INV, r_dropout_nan, 0},
    {"tnn_dropout_new", "rate infinity", INV, r_dropout_inf, 0},
    {"tnn_dropout_new", "allocation fails", NOM, r_dropout_nomem, 0},
};

/* Image layers (since 1.3). */
CTOR_ROW(r_conv_stride0, tnn_layer,
         tnn_conv2d_new(1, 2, 3, 3, 0, TNN_PADDING_VALID), tnn_layer_free)
CTOR_ROW(r_conv_channels0, tnn_layer,
         tnn_conv2d_new(0, 2, 3, 3, 1, TNN_PADDING_VALID), tnn_layer_free)
CTOR_ROW(r_conv_kernel0, tnn_layer,
         tnn_conv2d_new(1, 2, 0, 3, 1, TNN_PADDING_SAME), tnn_layer_free)
CTOR_ROW(r_conv_padding, tnn_layer, tnn_conv2d_new(1, 2, 3, 3, 1, -7),
         tnn_layer_free)
CTOR_ROW(r_conv_huge, tnn_layer,
         tnn_conv2d_new(SIZE_MAX / 2, 2, 3, 3, 1, TNN_PADDING_VALID),
         tnn_layer_free)
NOMEM_ROW(r_conv_nomem, tnn_layer,
          tnn_conv2d_new(1, 2, 3, 3, 1, TNN_PADDING_VALID), tnn_layer_free)
CALL_ROW(r_conv_init_null, tnn_conv2d_set_init(NULL, TNN_INIT_ZEROS, 0.0f))

/* tnn_conv2d_set_init; variant: what is wrong. */
enum { CONV_INIT_DENSE, CONV_INIT_KIND, CONV_INIT_NAN };

static int conv_init_case(int variant)
{
    tnn_layer *l = variant == CONV_INIT_DENSE
                       ? tnn_dense_new(2, 2)
                       : tnn_conv2d_new(1, 1, 1, 1, 1, 0);
    int rc =
        variant == CONV_INIT_DENSE  ? capture(tnn_conv2d_set_init(l, 0, 0.0f))
        : variant == CONV_INIT_KIND ? capture(tnn_conv2d_set_init(l, 9, 0.0f))
                                    : capture(tnn_conv2d_set_init(l, 3, NAN));
    tnn_layer_free(l);
    return rc;
}

CTOR_ROW(r_maxpool_k0, tnn_layer, tnn_maxpool2d_new(0, 1), tnn_layer_free)
CTOR_ROW(r_maxpool_s0, tnn_layer, tnn_maxpool2d_new(2, 0), tnn_layer_free)
NOMEM_ROW(r_maxpool_nomem, tnn_layer, tnn_maxpool2d_new(2, 2), tnn_layer_free)
CTOR_ROW(r_avgpool_k0, tnn_layer, tnn_avgpool2d_new(0, 1), tnn_layer_free)
CTOR_ROW(r_avgpool_big, tnn_layer, tnn_avgpool2d_new(5000, 1), tnn_layer_free)
NOMEM_ROW(r_flatten_nomem, tnn_layer, tnn_flatten_new(), tnn_layer_free)
CTOR_ROW(r_image_model_zero, tnn_model, tnn_model_new_image(1, 0, 28),
         tnn_model_free)
CTOR_ROW(r_image_model_huge, tnn_model,
         tnn_model_new_image(SIZE_MAX / 4, 4, 4), tnn_model_free)
NOMEM_ROW(r_image_model_nomem, tnn_model, tnn_model_new_image(1, 28, 28),
          tnn_model_free)
CTOR_ROW(r_zeropad_top, tnn_layer, tnn_zeropad2d_new(4097, 0, 0, 0),
         tnn_layer_free)
CTOR_ROW(r_zeropad_bottom, tnn_layer, tnn_zeropad2d_new(0, 4097, 0, 0),
         tnn_layer_free)
CTOR_ROW(r_zeropad_left, tnn_layer, tnn_zeropad2d_new(1, 1, 4097, 1),
         tnn_layer_free)
CTOR_ROW(r_zeropad_right, tnn_layer, tnn_zeropad2d_new(0, 0, 0, 4097),
         tnn_layer_free)
CTOR_ROW(r_zeropad_huge, tnn_layer, tnn_zeropad2d_new(SIZE_MAX, 0, 0, 0),
         tnn_layer_free)
NOMEM_ROW(r_zeropad_nomem, tnn_layer, tnn_zeropad2d_new(1, 0, 2, 0),
          tnn_layer_free)

static const struct misuse image_layer_rows[] = {
    {"tnn_conv2d_new", "stride 0", INV, r_conv_stride0, 0},
    {"tnn_conv2d_new", "0 channels", INV, r_conv_channels0, 0},
    {"tnn_conv2d_new", "kernel height 0", INV, r_conv_kernel0, 0},
    {"tnn_conv2d_new", "padding -7", INV, r_conv_padding, 0},
    {"tnn_conv2d_new", "weights overflow", INV, r_conv_huge, 0},
    {"tnn_conv2d_new", "allocation fails", NOM, r_conv_nomem, 0},
    {"tnn_conv2d_set_init", "NULL layer", INV, r_conv_init_null, 0},
    {"tnn_conv2d_set_init", "dense layer", INV, conv_init_case,
     CONV_INIT_DENSE},
    {"tnn_conv2d_set_init", "init 9", INV, conv_init_case, CONV_INIT_KIND},
    {"tnn_conv2d_set_init", "NaN constant", INV, conv_init_case,
     CONV_INIT_NAN},
    {"tnn_maxpool2d_new", "window 0", INV, r_maxpool_k0, 0},
    {"tnn_maxpool2d_new", "stride 0", INV, r_maxpool_s0, 0},
    {"tnn_maxpool2d_new", "allocation fails", NOM, r_maxpool_nomem, 0},
    {"tnn_avgpool2d_new", "window 0", INV, r_avgpool_k0, 0},
    {"tnn_avgpool2d_new", "window 5000", INV, r_avgpool_big, 0},
    {"tnn_flatten_new", "allocation fails", NOM, r_flatten_nomem, 0},
    {"tnn_model_new_image", "height 0", INV, r_image_model_zero, 0},
    {"tnn_model_new_image", "size overflows", INV, r_image_model_huge, 0},
    {"tnn_model_new_image", "allocation fails", NOM, r_image_model_nomem, 0},
    {"tnn_zeropad2d_new", "top 4097", INV, r_zeropad_top, 0},
    {"tnn_zeropad2d_new", "bottom 4097", INV, r_zeropad_bottom, 0},
    {"tnn_zeropad2d_new", "left 4097", INV, r_zeropad_left, 0},
    {"tnn_zeropad2d_new", "right 4097", INV, r_zeropad_right, 0},
    {"tnn_zeropad2d_new", "top SIZE_MAX", INV, r_zeropad_huge, 0},
    {"tnn_zeropad2d_new", "allocation fails", NOM, r_zeropad_nomem, 0},
};

CTOR_ROW(r_batchnorm_0, tnn_layer, tnn_batchnorm_new(0), tnn_layer_free)
NOMEM_ROW(r_batchnorm_nomem, tnn_layer, tnn_batchnorm_new(3), tnn_layer_free)

CALL_ROW(r_bn_momentum_null, tnn_batchnorm_set_momentum(NULL, 0.5f))

static int r_bn_momentum_dense(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(2, 2);
    struct snap s;
    snap_take(&s, tnn_layer_param(l, 0));
    int rc = capture(tnn_batchnorm_set_momentum(l, 0.5f));
    CHECK(snap_same(&s, tnn_layer_param(l, 0)), "the dense layer changed");
    tnn_layer_free(l);
    return rc;
}

/* tnn_batchnorm_set_momentum on a batchnorm(3); variant: the momentum. */
enum { BN_MOMENTUM_1, BN_MOMENTUM_NEG, BN_MOMENTUM_NAN };

static int bn_momentum_case(int variant)
{
    float momentum = variant == BN_MOMENTUM_1     ? 1.0f
                     : variant == BN_MOMENTUM_NEG ? -0.1f
                                                  : NAN;
    tnn_layer *l = tnn_batchnorm_new(3);
    int rc = capture(tnn_batchnorm_set_momentum(l, momentum));
    CHECK(tnn_batchnorm_momentum(l) == 0.99f, "the momentum changed");
    tnn_layer_free(l);
    return rc;
}

NEUTRAL_ROW(r_bn_get_momentum_null, tnn_batchnorm_momentum(NULL) == 0.0f)

static int r_bn_get_momentum_dense(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(2, 2);
    float v = tnn_batchnorm_momentum(l);
    tnn_layer_free(l);
    CHECK(v == 0.0f, "not 0 for a dense layer");
    return NEUTRAL;
}

CALL_ROW(r_bn_eps_null, tnn_batchnorm_set_eps(NULL, 1e-3f))

static int r_bn_eps_dense(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(2, 2);
    int rc = capture(tnn_batchnorm_set_eps(l, 1e-3f));
    tnn_layer_free(l);
    return rc;
}

/* tnn_batchnorm_set_eps on a batchnorm(3); variant: the eps. */
enum { BN_EPS_0, BN_EPS_NEG, BN_EPS_NAN, BN_EPS_INF };

static int bn_eps_case(int variant)
{
    float eps = variant == BN_EPS_0     ? 0.0f
                : variant == BN_EPS_NEG ? -1e-3f
                : variant == BN_EPS_NAN ? NAN
                                        : INFINITY;
    tnn_layer *l = tnn_batchnorm_new(3);
    int rc = capture(tnn_batchnorm_set_eps(l, eps));
    CHECK(tnn_batchnorm_eps(l) == 1e-3f, "eps changed");
    tnn_layer_free(l);
    return rc;
}

NEUTRAL_ROW(r_bn_get_eps_null, tnn_batchnorm_eps(NULL) == 0.0f)

static int r_bn_get_eps_relu(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_relu_new();
    float v = tnn_batchnorm_eps(l);
    tnn_layer_free(l);
    CHECK(v == 0.0f, "not 0 for a relu layer");
    return NEUTRAL;
}

NEUTRAL_ROW(r_bn_mean_null, tnn_batchnorm_running_mean(NULL) == NULL)
NEUTRAL_ROW(r_bn_var_null, tnn_batchnorm_running_var(NULL) == NULL)

static int r_bn_mean_dense(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(2, 2);
    tnn_tensor *t = tnn_batchnorm_running_mean(l);
    tnn_layer_free(l);
    CHECK(t == NULL, "not NULL for a dense layer");
    return NEUTRAL;
}

static int r_bn_var_dropout(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dropout_new(0.5f);
    tnn_tensor *t = tnn_batchnorm_running_var(l);
    tnn_layer_free(l);
    CHECK(t == NULL, "not NULL for a dropout layer");
    return NEUTRAL;
}

static const struct misuse batchnorm_rows[] = {
    {"tnn_batchnorm_new", "features 0", INV, r_batchnorm_0, 0},
    {"tnn_batchnorm_new", "allocation fails", NOM, r_batchnorm_nomem, 0},
    {"tnn_batchnorm_set_momentum", "NULL layer", INV, r_bn_momentum_null, 0},
    {"tnn_batchnorm_set_momentum", "a dense layer", INV, r_bn_momentum_dense,
     0},
    {"tnn_batchnorm_set_momentum", "momentum 1", INV, bn_momentum_case,
     BN_MOMENTUM_1},
    {"tnn_batchnorm_set_momentum", "momentum -0.1", INV, bn_momentum_case,
     BN_MOMENTUM_NEG},
    {"tnn_batchnorm_set_momentum", "momentum NaN", INV, bn_momentum_case,
     BN_MOMENTUM_NAN},
    {"tnn_batchnorm_momentum", "NULL gives 0", NEUTRAL, r_bn_get_momentum_null,
     0},
    {"tnn_batchnorm_momentum", "a dense layer gives 0", NEUTRAL,
     r_bn_get_momentum_dense, 0},
    {"tnn_batchnorm_set_eps", "NULL layer", INV, r_bn_eps_null, 0},
    {"tnn_batchnorm_set_eps", "a dense layer", INV, r_bn_eps_dense, 0},
    {"tnn_batchnorm_set_eps", "eps 0", INV, bn_eps_case, BN_EPS_0},
    {"tnn_batchnorm_set_eps", "eps negative", INV, bn_eps_case, BN_EPS_NEG},
    {"tnn_batchnorm_set_eps", "eps NaN", INV, bn_eps_case, BN_EPS_NAN},
    {"tnn_batchnorm_set_eps", "eps infinity", INV, bn_eps_case, BN_EPS_INF},
    {"tnn_batchnorm_eps", "NULL gives 0", NEUTRAL, r_bn_get_eps_null, 0},
    {"tnn_batchnorm_eps", "a relu layer gives 0", NEUTRAL, r_bn_get_eps_relu,
     0},
    {"tnn_batchnorm_running_mean", "NULL gives NULL", NEUTRAL, r_bn_mean_null,
     0},
    {"tnn_batchnorm_running_mean", "a dense layer gives NULL", NEUTRAL,
     r_bn_mean_dense, 0},
    {"tnn_batchnorm_running_var", "NULL gives NULL", NEUTRAL, r_bn_var_null,
     0},
    {"tnn_batchnorm_running_var", "a dropout layer gives NULL", NEUTRAL,
     r_bn_var_dropout, 0},
};

/* ---- layer normalisation and GELU (since 1.9) ------------------------- */

CTOR_ROW(r_layernorm_0, tnn_layer, tnn_layernorm_new(0), tnn_layer_free)
CTOR_ROW(r_layernorm_huge, tnn_layer, tnn_layernorm_new(SIZE_MAX),
         tnn_layer_free)
NOMEM_ROW(r_layernorm_nomem, tnn_layer, tnn_layernorm_new(4), tnn_layer_free)
NOMEM_ROW(r_gelu_nomem, tnn_layer, tnn_gelu_new(), tnn_layer_free)

CALL_ROW(r_ln_eps_null, tnn_layernorm_set_eps(NULL, 1e-3f))

/* Another normalisation is not a layer-norm: its eps stays. */
static int r_ln_eps_batchnorm(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_batchnorm_new(3);
    int rc = capture(tnn_layernorm_set_eps(l, 1e-2f));
    CHECK(tnn_batchnorm_eps(l) == 1e-3f, "the batchnorm's eps changed");
    tnn_layer_free(l);
    return rc;
}

/* tnn_layernorm_set_eps on a layernorm(3); variant: the eps. */
enum { LN_EPS_0, LN_EPS_NEG, LN_EPS_NAN, LN_EPS_INF };

static int ln_eps_case(int variant)
{
    float eps = variant == LN_EPS_0     ? 0.0f
                : variant == LN_EPS_NEG ? -1e-5f
                : variant == LN_EPS_NAN ? NAN
                                        : INFINITY;
    tnn_layer *l = tnn_layernorm_new(3);
    int rc = capture(tnn_layernorm_set_eps(l, eps));
    CHECK(tnn_layernorm_eps(l) == 1e-5f, "eps changed");
    tnn_layer_free(l);
    return rc;
}

/* From a fit callback, while the layer's model trains: eps stays. */
struct ln_meddle {
    tnn_layer *ln;
    int rc;
};

static int ln_meddle_cb(const tnn_progress *p, void *user)
{
    (void)p;
    struct ln_meddle *md = user;
    md->rc = capture(tnn_layernorm_set_eps(md->ln, 1e-2f));
    return 1;
}

static int r_ln_eps_training(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(1);
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(3)), TNN_OK);
    struct ln_meddle md = {tnn_model_layer(m, 1), 12345};
    tnn_tensor *x = mk(4, 4, 0.5f), *y = mk(4, 3, 0.0f);
    CHECK(tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, ln_meddle_cb, &md) ==
              TNN_OK,
          "fit failed");
    CHECK(tnn_layernorm_eps(md.ln) == 1e-5f, "eps changed");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return md.rc;
}

NEUTRAL_ROW(r_ln_get_eps_null, tnn_layernorm_eps(NULL) == 0.0f)

static int r_ln_get_eps_gelu(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_gelu_new();
    float v = tnn_layernorm_eps(l);
    tnn_layer_free(l);
    CHECK(v == 0.0f, "not 0 for a gelu layer");
    return NEUTRAL;
}

/* A layernorm(2) after 3 outputs, added (freed) or run alone; the model
 * keeps its one layer, the layer stays unbound. */
static int r_ln_add_width(int variant)
{
    (void)variant;
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_add(m, tnn_layernorm_new(2)));
    CHECK(tnn_model_num_layers(m) == 1, "the layer count changed");
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer leaked");
    return rc;
}

static int r_ln_forward_width(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_layernorm_new(2);
    tnn_tensor *x = mk(2, 3, 0.5f), *y = mk(2, 3, 7.0f);
    int rc = capture(tnn_layer_forward(l, x, y, TNN_MODE_EVAL, NULL));
    CHECK(tnn_layer_in_features(l) == 0, "the layer was bound");
    CHECK(tnn_tensor_data(y)[0] == 7.0f, "out was written");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(l);
    return rc;
}

/* A model with a GELU cannot be written as ONNX; buf stays untouched. */
static int r_onnx_gelu(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(0);
    ck_assert_int_eq(tnn_model_add(m, tnn_gelu_new()), TNN_OK);
    unsigned char buf[16];
    memset(buf, 0xAB, sizeof buf);
    size_t needed = 77;
    int rc = capture(tnn_model_save_onnx_buffer(m, buf, sizeof buf, &needed));
    CHECK(needed == 77, "*needed was written");
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0xAB, "buf was written");
    tnn_model_free(m);
    return rc;
}

/* ---- sequences and the LSTM (since 1.10) ------------------------------ */

CTOR_ROW(r_seq_model_time_0, tnn_model, tnn_model_new_sequence(0, 4),
         tnn_model_free)
CTOR_ROW(r_seq_model_features_0, tnn_model, tnn_model_new_sequence(4, 0),
         tnn_model_free)
CTOR_ROW(r_seq_model_overflow, tnn_model,
         tnn_model_new_sequence(SIZE_MAX / 2, 3), tnn_model_free)
CTOR_ROW(r_seq_model_huge, tnn_model, tnn_model_new_sequence(65536, 65536),
         tnn_model_free)
NOMEM_ROW(r_seq_model_nomem, tnn_model, tnn_model_new_sequence(4, 3),
          tnn_model_free)
CTOR_ROW(r_lstm_features_0, tnn_layer, tnn_lstm_new(0, 4, 0), tnn_layer_free)
CTOR_ROW(r_lstm_hidden_0, tnn_layer, tnn_lstm_new(3, 0, 0), tnn_layer_free)
CTOR_ROW(r_lstm_hidden_huge, tnn_layer, tnn_lstm_new(3, 0x20000000, 0),
         tnn_layer_free)
CTOR_ROW(r_lstm_features_huge, tnn_layer, tnn_lstm_new(SIZE_MAX, 4, 0),
         tnn_layer_free)
CTOR_ROW(r_lstm_weights_huge, tnn_layer, tnn_lstm_new(1, 32768, 0),
         tnn_layer_free)
CTOR_ROW(r_gru_weights_huge, tnn_layer, tnn_gru_new(40000, 20000, 1),
         tnn_layer_free)
CTOR_ROW(r_lstm_return_2, tnn_layer, tnn_lstm_new(3, 4, 2), tnn_layer_free)
CTOR_ROW(r_lstm_return_neg, tnn_layer, tnn_lstm_new(3, 4, -1), tnn_layer_free)
NOMEM_ROW(r_lstm_nomem, tnn_layer, tnn_lstm_new(3, 4, 1), tnn_layer_free)
CTOR_ROW(r_gru_features_0, tnn_layer, tnn_gru_new(0, 4, 0), tnn_layer_free)
CTOR_ROW(r_gru_hidden_0, tnn_layer, tnn_gru_new(3, 0, 0), tnn_layer_free)
CTOR_ROW(r_gru_hidden_huge, tnn_layer, tnn_gru_new(3, 0x2aaaaaab, 0),
         tnn_layer_free)
CTOR_ROW(r_gru_return_2, tnn_layer, tnn_gru_new(3, 4, 2), tnn_layer_free)
NOMEM_ROW(r_gru_nomem, tnn_layer, tnn_gru_new(3, 4, 1), tnn_layer_free)

/* A GRU of 3 features after 4 of them; the model keeps its layer. */
static int r_gru_add_width(int variant)
{
    (void)variant;
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = tnn_model_new_sequence(4, 4);
    int rc = capture(tnn_model_add(m, tnn_gru_new(3, 2, 0)));
    CHECK(tnn_model_num_layers(m) == 0, "the layer count changed");
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer leaked");
    return rc;
}

/* An LSTM on inputs it cannot take, added (freed) to a model of flat
 * rows, of images, or of sequences with other features; the model keeps
 * its layers and nothing leaks. */
enum { LSTM_ON_ROWS, LSTM_ON_IMAGES, LSTM_ON_OTHER_FEATURES };

static int lstm_add_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = variant == LSTM_ON_ROWS     ? tnn_model_new(12)
                   : variant == LSTM_ON_IMAGES ? tnn_model_new_image(1, 4, 3)
                                               : tnn_model_new_sequence(4, 5);
    int rc = capture(tnn_model_add(m, tnn_lstm_new(3, 2, 0)));
    CHECK(tnn_model_num_layers(m) == 0, "the layer count changed");
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer leaked");
    return rc;
}

/* Run alone on (rows, features) or on (rows, time, other features): out
 * untouched, the layer still unbound. */
enum { LSTM_RUN_FLAT, LSTM_RUN_OTHER_FEATURES };

static int lstm_forward_case(int variant)
{
    tnn_layer *l = tnn_lstm_new(3, 2, 1);
    size_t flat[2] = {2, 12}, seq[3] = {2, 3, 4};
    tnn_tensor *x = variant == LSTM_RUN_FLAT ? tnn_tensor_new(2, flat)
                                             : tnn_tensor_new(3, seq);
    tnn_tensor *y = mk(2, 6, 7.0f);
    int rc = capture(tnn_layer_forward(l, x, y, TNN_MODE_EVAL, NULL));
    CHECK(tnn_layer_in_features(l) == 0, "the layer was bound");
    CHECK(tnn_tensor_data(y)[0] == 7.0f, "out was written");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(l);
    return rc;
}

/* The initial state of recurrent layers (since 1.12): each call on an
 * LSTM(2, 3) (or a GRU, a dense layer, NULL) that has run or not, with
 * states of 2 rows; the layer keeps what it had. */
enum {
    STATE_SET_NULL,
    STATE_SET_DENSE,
    STATE_SET_GRU_C0,
    STATE_SET_WIDE,
    STATE_SET_3D,
    STATE_SET_MISMATCH,
    STATE_SET_NOMEM,
    STATE_FORWARD_ROWS,
    STATE_GET_NULL,
    STATE_GET_NONE,
    STATE_GET_GRU_C,
    STATE_GET_BEFORE,
    STATE_GET_ROWS,
    STATE_GRAD_NULL,
    STATE_GRAD_BOTH_NULL,
    STATE_GRAD_NONE,
    STATE_GRAD_NO_BACKWARD,
    STATE_GRAD_SHAPE,
    STATE_FIT_ROWS,
};

static int state_call(int variant, tnn_layer *lstm, tnn_layer *gru,
                      tnn_tensor *h2)
{
    size_t d3[3] = {1, 2, 3}, seq[3] = {2, 4, 2};
    tnn_tensor *wide = mk(2, 4, 0.5f), *cube = tnn_tensor_new(3, d3);
    tnn_tensor *h3 = mk(3, 3, 0.5f), *x = tnn_tensor_new(3, seq);
    tnn_tensor *y = mk(2, 3, 7.0f), *y1 = mk(1, 2, 0.0f);
    tnn_layer *dense = tnn_dense_new(2, 3);
    struct counting_allocator a;
    int rc = TNN_OK;
    switch (variant) {
    case STATE_SET_NULL: rc = tnn_recurrent_set_state(NULL, h2, NULL); break;
    case STATE_SET_DENSE: rc = tnn_recurrent_set_state(dense, h2, NULL); break;
    case STATE_SET_GRU_C0: rc = tnn_recurrent_set_state(gru, h2, h2); break;
    case STATE_SET_WIDE: rc = tnn_recurrent_set_state(lstm, wide, NULL); break;
    case STATE_SET_3D: rc = tnn_recurrent_set_state(lstm, NULL, cube); break;
    case STATE_SET_MISMATCH: rc = tnn_recurrent_set_state(lstm, h2, h3); break;
    case STATE_SET_NOMEM:
        counting_install(&a, 1);
        rc = tnn_recurrent_set_state(lstm, h2, h2);
        counting_remove();
        CHECK(a.live == 0, "a block leaked");
        break;
    case STATE_FORWARD_ROWS:
        ck_assert_int_eq(tnn_recurrent_set_state(lstm, h3, NULL), TNN_OK);
        rc = tnn_layer_forward(lstm, x, y, TNN_MODE_EVAL, NULL);
        CHECK(tnn_tensor_data(y)[0] == 7.0f, "out was written");
        break;
    case STATE_GET_NULL: rc = tnn_recurrent_state(NULL, h2, NULL); break;
    case STATE_GET_NONE: rc = tnn_recurrent_state(lstm, NULL, NULL); break;
    case STATE_GET_GRU_C: rc = tnn_recurrent_state(gru, h2, h2); break;
    case STATE_GET_BEFORE: rc = tnn_recurrent_state(lstm, h2, NULL); break;
    case STATE_GET_ROWS:
        ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_EVAL, NULL),
                         TNN_OK);
        rc = tnn_recurrent_state(lstm, h3, NULL);
        break;
    case STATE_GRAD_NULL: rc = tnn_recurrent_state_grad(NULL, h2, NULL); break;
    case STATE_GRAD_BOTH_NULL:
        ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, NULL), TNN_OK);
        rc = tnn_recurrent_state_grad(lstm, NULL, NULL);
        break;
    case STATE_GRAD_NONE: rc = tnn_recurrent_state_grad(lstm, h2, NULL); break;
    case STATE_GRAD_NO_BACKWARD:
        ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, NULL), TNN_OK);
        ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                         TNN_OK);
        rc = tnn_recurrent_state_grad(lstm, h2, NULL);
        break;
    case STATE_GRAD_SHAPE:
        ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, NULL), TNN_OK);
        ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                         TNN_OK);
        ck_assert_int_eq(tnn_layer_backward(lstm, x, y, y, NULL), TNN_OK);
        rc = tnn_recurrent_state_grad(lstm, h3, NULL);
        break;
    case STATE_FIT_ROWS: {
        tnn_model *m = tnn_model_new_sequence(4, 2);
        tnn_layer *l = tnn_lstm_new(2, 2, 0);
        ck_assert_int_eq(tnn_model_add(m, l), TNN_OK);
        ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
        ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
        tnn_tensor *s = mk(1, 2, 0.5f), *t = mk(2, 2, 0.0f);
        ck_assert_int_eq(tnn_recurrent_set_state(l, s, NULL), TNN_OK);
        rc = tnn_model_fit(m, x, t, NULL, NULL, 1, 2, 0, NULL, NULL);
        tnn_tensor_free(s);
        tnn_tensor_free(t);
        tnn_model_free(m);
        break;
    }
    default: break;
    }
    TENSORS_FREE(wide, cube, h3, x, y, y1);
    tnn_layer_free(dense);
    return rc;
}

static int state_case(int variant)
{
    tnn_layer *lstm = tnn_lstm_new(2, 3, 0), *gru = tnn_gru_new(2, 3, 0);
    tnn_tensor *h2 = mk(2, 3, 0.5f);
    int rc = capture(state_call(variant, lstm, gru, h2));
    tnn_tensor_free(h2);
    tnn_layer_free(lstm);
    tnn_layer_free(gru);
    return rc;
}

/* An embedding of float values (a model not of tokens) cannot be written
 * as ONNX: its Gather needs the int64 ids of a model of tokens. */
static int r_onnx_embedding_floats(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(10, 2)), TNN_OK);
    size_t needed = 77;
    int rc = capture(tnn_model_save_onnx_buffer(m, NULL, 0, &needed));
    CHECK(needed == 77, "*needed was written");
    tnn_model_free(m);
    return rc;
}

/* ---- tokens, embeddings, residual blocks (since 1.11) ----------------- */

CTOR_ROW(r_tok_model_time_0, tnn_model, tnn_model_new_tokens(0, 5),
         tnn_model_free)
CTOR_ROW(r_tok_model_vocab_0, tnn_model, tnn_model_new_tokens(4, 0),
         tnn_model_free)
CTOR_ROW(r_tok_model_vocab_huge, tnn_model,
         tnn_model_new_tokens(4, ((size_t)1 << 24) + 1), tnn_model_free)
CTOR_ROW(r_tok_model_time_huge, tnn_model, tnn_model_new_tokens(SIZE_MAX, 5),
         tnn_model_free)
NOMEM_ROW(r_tok_model_nomem, tnn_model, tnn_model_new_tokens(4, 5),
          tnn_model_free)
CTOR_ROW(r_emb_vocab_0, tnn_layer, tnn_embedding_new(0, 4), tnn_layer_free)
CTOR_ROW(r_emb_width_0, tnn_layer, tnn_embedding_new(4, 0), tnn_layer_free)
CTOR_ROW(r_emb_huge, tnn_layer, tnn_embedding_new(65536, 65536),
         tnn_layer_free)
CTOR_ROW(r_emb_overflow, tnn_layer, tnn_embedding_new(SIZE_MAX, 2),
         tnn_layer_free)
NOMEM_ROW(r_emb_nomem, tnn_layer, tnn_embedding_new(4, 3), tnn_layer_free)
CTOR_ROW(r_pos_time_0, tnn_layer, tnn_position_embedding_new(0, 4),
         tnn_layer_free)
CTOR_ROW(r_pos_width_0, tnn_layer, tnn_position_embedding_new(4, 0),
         tnn_layer_free)
CTOR_ROW(r_pos_huge, tnn_layer, tnn_position_embedding_new(65536, 65536),
         tnn_layer_free)
NOMEM_ROW(r_pos_nomem, tnn_layer, tnn_position_embedding_new(4, 3),
          tnn_layer_free)
CTOR_ROW(r_att_width_0, tnn_layer, tnn_attention_new(0, 1, 0, 0.0f),
         tnn_layer_free)
CTOR_ROW(r_att_heads_0, tnn_layer, tnn_attention_new(8, 0, 0, 0.0f),
         tnn_layer_free)
CTOR_ROW(r_att_heads_3_of_8, tnn_layer, tnn_attention_new(8, 3, 0, 0.0f),
         tnn_layer_free)
CTOR_ROW(r_att_causal_2, tnn_layer, tnn_attention_new(8, 2, 2, 0.0f),
         tnn_layer_free)
CTOR_ROW(r_att_dropout_1, tnn_layer, tnn_attention_new(8, 2, 0, 1.0f),
         tnn_layer_free)
CTOR_ROW(r_att_dropout_nan, tnn_layer, tnn_attention_new(8, 2, 0, NAN),
         tnn_layer_free)
CTOR_ROW(r_att_weights_huge, tnn_layer, tnn_attention_new(23171, 1, 0, 0.0f),
         tnn_layer_free)
NOMEM_ROW(r_att_nomem, tnn_layer, tnn_attention_new(8, 2, 1, 0.1f),
          tnn_layer_free)
NOMEM_ROW(r_res_nomem, tnn_layer, tnn_residual_new(), tnn_layer_free)
NEUTRAL_ROW(r_res_count_null, tnn_residual_num_layers(NULL) == 0)
NEUTRAL_ROW(r_res_layer_null, tnn_residual_layer(NULL, 0) == NULL)

/* Ids that are no integers in [0, vocabulary): the row and step named,
 * out untouched. */
enum { TOK_ID_NEGATIVE, TOK_ID_FRACTION, TOK_ID_TOO_LARGE, TOK_ID_NAN };

static float bad_id(int variant)
{
    return variant == TOK_ID_NEGATIVE    ? -1.0f
           : variant == TOK_ID_FRACTION  ? 1.5f
           : variant == TOK_ID_TOO_LARGE ? 5.0f
                                         : NAN;
}

static int tok_predict_case(int variant)
{
    tnn_model *m = tnn_model_new_tokens(3, 5);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(5, 2)), TNN_OK);
    tnn_tensor *x = mk(2, 3, 1.0f), *y = mk(2, 6, 7.0f);
    tnn_tensor_data(x)[4] = bad_id(variant);
    int rc = capture(tnn_model_predict(m, x, y));
    CHECK(strstr(tnn_last_error(), "row 1, step 1") != NULL,
          "the id's place is not named");
    CHECK(tnn_tensor_data(y)[0] == 7.0f, "out was written");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

static int tok_layer_case(int variant)
{
    tnn_layer *e = tnn_embedding_new(5, 2);
    tnn_tensor *x = mk(2, 3, 1.0f), *y = mk(2, 6, 7.0f);
    tnn_tensor_data(x)[2] = bad_id(variant);
    int rc = capture(tnn_layer_forward(e, x, y, TNN_MODE_EVAL, NULL));
    CHECK(tnn_tensor_data(y)[0] == 7.0f, "out was written");
    CHECK(tnn_layer_in_features(e) == 0, "the layer was bound");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(e);
    return rc;
}

/* A token model's first layer is an embedding of its vocabulary at
 * least; an embedding takes (time) samples. */
enum { TOK_FIRST_DENSE, TOK_FIRST_SMALL_TABLE, EMB_ON_SEQUENCES };

static int tok_add_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = variant == EMB_ON_SEQUENCES ? tnn_model_new_sequence(3, 2)
                                               : tnn_model_new_tokens(3, 5);
    tnn_layer *l = variant == TOK_FIRST_DENSE ? tnn_dense_new(3, 2)
                   : variant == TOK_FIRST_SMALL_TABLE
                       ? tnn_embedding_new(4, 2)
                       : tnn_embedding_new(5, 2);
    int rc = capture(tnn_model_add(m, l));
    CHECK(tnn_model_num_layers(m) == 0, "the layer count changed");
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer leaked");
    return rc;
}

/* Position embedding of (4, 2) after samples of another shape. */
static int pos_add_case(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new_sequence(3, 2);
    int rc = capture(tnn_model_add(m, tnn_position_embedding_new(4, 2)));
    CHECK(tnn_model_num_layers(m) == 0, "the layer count changed");
    tnn_model_free(m);
    return rc;
}

/* tnn_residual_add's refusals: the caller keeps the layer, the block is
 * unchanged. */
enum {
    RES_BLOCK_NULL,
    RES_BLOCK_NOT_A_BLOCK,
    RES_LAYER_NULL,
    RES_ITSELF,
    RES_OWNED_BY_MODEL,
    RES_BLOCK_IN_MODEL,
    RES_WRONG_WIDTH,
    RES_TOO_MANY_PARAMS,
    RES_NOMEM
};

static int res_add_case(int variant)
{
    tnn_layer *block = tnn_residual_new();
    tnn_layer *layer = tnn_dense_new(3, 3);
    tnn_model *m = tnn_model_new(3);
    if (variant == RES_WRONG_WIDTH)
        ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(3, 4)), 0);
    if (variant == RES_TOO_MANY_PARAMS)
        for (int i = 0; i < 8; i++)
            ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(3, 3)), 0);
    tnn_layer *in_model = NULL;
    if (variant == RES_OWNED_BY_MODEL) {
        in_model = tnn_dense_new(3, 3);
        ck_assert_int_eq(tnn_model_add(m, in_model), TNN_OK);
    }
    if (variant == RES_BLOCK_IN_MODEL)
        ck_assert_int_eq(tnn_model_add(m, block), TNN_OK);
    size_t before = tnn_residual_num_layers(block);
    struct counting_allocator a;
    if (variant == RES_NOMEM)
        counting_install(&a, 1);
    int rc =
        capture(tnn_residual_add(variant == RES_BLOCK_NULL          ? NULL
                                 : variant == RES_BLOCK_NOT_A_BLOCK ? layer
                                                                    : block,
                                 variant == RES_LAYER_NULL       ? NULL
                                 : variant == RES_ITSELF         ? block
                                 : variant == RES_OWNED_BY_MODEL ? in_model
                                                                 : layer));
    if (variant == RES_NOMEM)
        counting_remove();
    CHECK(tnn_residual_num_layers(block) == before, "the block changed");
    tnn_layer_free(layer);
    if (variant != RES_BLOCK_IN_MODEL)
        tnn_layer_free(block);
    tnn_model_free(m);
    return rc;
}

static const struct misuse token_rows[] = {
    {"tnn_model_new_tokens", "time 0", INV, r_tok_model_time_0, 0},
    {"tnn_model_new_tokens", "vocabulary 0", INV, r_tok_model_vocab_0, 0},
    {"tnn_model_new_tokens", "vocabulary 2^24 + 1", INV,
     r_tok_model_vocab_huge, 0},
    {"tnn_model_new_tokens", "time SIZE_MAX", INV, r_tok_model_time_huge, 0},
    {"tnn_model_new_tokens", "allocation fails", NOM, r_tok_model_nomem, 0},
    {"tnn_embedding_new", "vocabulary 0", INV, r_emb_vocab_0, 0},
    {"tnn_embedding_new", "width 0", INV, r_emb_width_0, 0},
    {"tnn_embedding_new", "2^32 values", INV, r_emb_huge, 0},
    {"tnn_embedding_new", "vocabulary * width overflows", INV, r_emb_overflow,
     0},
    {"tnn_embedding_new", "allocation fails", NOM, r_emb_nomem, 0},
    {"tnn_position_embedding_new", "time 0", INV, r_pos_time_0, 0},
    {"tnn_position_embedding_new", "width 0", INV, r_pos_width_0, 0},
    {"tnn_position_embedding_new", "2^32 values", INV, r_pos_huge, 0},
    {"tnn_position_embedding_new", "allocation fails", NOM, r_pos_nomem, 0},
    {"tnn_model_predict", "token id -1", INV, tok_predict_case,
     TOK_ID_NEGATIVE},
    {"tnn_model_predict", "token id 1.5", INV, tok_predict_case,
     TOK_ID_FRACTION},
    {"tnn_model_predict", "token id 5 of 5", INV, tok_predict_case,
     TOK_ID_TOO_LARGE},
    {"tnn_model_predict", "token id NaN", INV, tok_predict_case, TOK_ID_NAN},
    {"tnn_layer_forward", "embedding on id -1", INV, tok_layer_case,
     TOK_ID_NEGATIVE},
    {"tnn_layer_forward", "embedding on id 5 of 5", INV, tok_layer_case,
     TOK_ID_TOO_LARGE},
    {"tnn_layer_forward", "embedding on id NaN", INV, tok_layer_case,
     TOK_ID_NAN},
    {"tnn_model_add", "dense first in a token model", SHP, tok_add_case,
     TOK_FIRST_DENSE},
    {"tnn_model_add", "embedding of 4 ids for a vocabulary of 5", SHP,
     tok_add_case, TOK_FIRST_SMALL_TABLE},
    {"tnn_model_add", "embedding on (time, features) samples", SHP,
     tok_add_case, EMB_ON_SEQUENCES},
    {"tnn_model_add", "position embedding (4, 2) on (3, 2)", SHP, pos_add_case,
     0},
    {"tnn_attention_new", "width 0", INV, r_att_width_0, 0},
    {"tnn_attention_new", "heads 0", INV, r_att_heads_0, 0},
    {"tnn_attention_new", "heads 3 of width 8", INV, r_att_heads_3_of_8, 0},
    {"tnn_attention_new", "causal 2", INV, r_att_causal_2, 0},
    {"tnn_attention_new", "dropout 1", INV, r_att_dropout_1, 0},
    {"tnn_attention_new", "dropout NaN", INV, r_att_dropout_nan, 0},
    {"tnn_attention_new", "4 * 23171^2 weights", INV, r_att_weights_huge, 0},
    {"tnn_attention_new", "allocation fails", NOM, r_att_nomem, 0},
    {"tnn_residual_new", "allocation fails", NOM, r_res_nomem, 0},
    {"tnn_residual_add", "block NULL", INV, res_add_case, RES_BLOCK_NULL},
    {"tnn_residual_add", "block a dense layer", INV, res_add_case,
     RES_BLOCK_NOT_A_BLOCK},
    {"tnn_residual_add", "layer NULL", INV, res_add_case, RES_LAYER_NULL},
    {"tnn_residual_add", "the block itself", INV, res_add_case, RES_ITSELF},
    {"tnn_residual_add", "a model's layer", INV, res_add_case,
     RES_OWNED_BY_MODEL},
    {"tnn_residual_add", "the block is in a model", STA, res_add_case,
     RES_BLOCK_IN_MODEL},
    {"tnn_residual_add", "dense(3) after 4 outputs", SHP, res_add_case,
     RES_WRONG_WIDTH},
    {"tnn_residual_add", "a 17th and 18th parameter", INV, res_add_case,
     RES_TOO_MANY_PARAMS},
    {"tnn_residual_add", "allocation fails", NOM, res_add_case, RES_NOMEM},
    {"tnn_residual_num_layers", "NULL", NEUTRAL, r_res_count_null, 0},
    {"tnn_residual_layer", "NULL", NEUTRAL, r_res_layer_null, 0},
};

static const struct misuse lstm_rows[] = {
    {"tnn_model_new_sequence", "time 0", INV, r_seq_model_time_0, 0},
    {"tnn_model_new_sequence", "features 0", INV, r_seq_model_features_0, 0},
    {"tnn_model_new_sequence", "time * features overflows", INV,
     r_seq_model_overflow, 0},
    {"tnn_model_new_sequence", "2^32 values", INV, r_seq_model_huge, 0},
    {"tnn_model_new_sequence", "allocation fails", NOM, r_seq_model_nomem, 0},
    {"tnn_lstm_new", "input_features 0", INV, r_lstm_features_0, 0},
    {"tnn_lstm_new", "input_features SIZE_MAX", INV, r_lstm_features_huge, 0},
    {"tnn_lstm_new", "hidden 0", INV, r_lstm_hidden_0, 0},
    {"tnn_lstm_new", "4 * hidden over 2^31 - 1", INV, r_lstm_hidden_huge, 0},
    {"tnn_lstm_new", "return_sequences 2", INV, r_lstm_return_2, 0},
    {"tnn_lstm_new", "hidden 32768: 2^32 weights", INV, r_lstm_weights_huge,
     0},
    {"tnn_gru_new", "3 * 20000 * 60000 weights", INV, r_gru_weights_huge, 0},
    {"tnn_lstm_new", "return_sequences -1", INV, r_lstm_return_neg, 0},
    {"tnn_lstm_new", "allocation fails", NOM, r_lstm_nomem, 0},
    {"tnn_model_add", "lstm on a model of flat rows", SHP, lstm_add_case,
     LSTM_ON_ROWS},
    {"tnn_model_add", "lstm on a model of images", SHP, lstm_add_case,
     LSTM_ON_IMAGES},
    {"tnn_model_add", "lstm(3) on sequences of 5 features", SHP, lstm_add_case,
     LSTM_ON_OTHER_FEATURES},
    {"tnn_layer_forward", "lstm on (rows, features)", SHP, lstm_forward_case,
     LSTM_RUN_FLAT},
    {"tnn_layer_forward", "lstm(3) on (rows, 3, 4)", SHP, lstm_forward_case,
     LSTM_RUN_OTHER_FEATURES},
    {"tnn_model_save_onnx_buffer", "an embedding of float values", FMT,
     r_onnx_embedding_floats, 0},
    {"tnn_gru_new", "input_features 0", INV, r_gru_features_0, 0},
    {"tnn_gru_new", "hidden 0", INV, r_gru_hidden_0, 0},
    {"tnn_gru_new", "3 * hidden over 2^31 - 1", INV, r_gru_hidden_huge, 0},
    {"tnn_gru_new", "return_sequences 2", INV, r_gru_return_2, 0},
    {"tnn_gru_new", "allocation fails", NOM, r_gru_nomem, 0},
    {"tnn_model_add", "gru(3) on sequences of 4 features", SHP,
     r_gru_add_width, 0},
    {"tnn_recurrent_set_state", "NULL layer", INV, state_case, STATE_SET_NULL},
    {"tnn_recurrent_set_state", "a dense layer", INV, state_case,
     STATE_SET_DENSE},
    {"tnn_recurrent_set_state", "c0 for a GRU", INV, state_case,
     STATE_SET_GRU_C0},
    {"tnn_recurrent_set_state", "h0 (2, 4) for hidden 3", SHP, state_case,
     STATE_SET_WIDE},
    {"tnn_recurrent_set_state", "c0 of 3 dims", SHP, state_case, STATE_SET_3D},
    {"tnn_recurrent_set_state", "h0 of 2 rows, c0 of 3", SHP, state_case,
     STATE_SET_MISMATCH},
    {"tnn_recurrent_set_state", "allocation fails", NOM, state_case,
     STATE_SET_NOMEM},
    {"tnn_layer_forward", "2 rows after a state of 3", SHP, state_case,
     STATE_FORWARD_ROWS},
    {"tnn_recurrent_state", "NULL layer", INV, state_case, STATE_GET_NULL},
    {"tnn_recurrent_state", "h and c NULL", INV, state_case, STATE_GET_NONE},
    {"tnn_recurrent_state", "c for a GRU", INV, state_case, STATE_GET_GRU_C},
    {"tnn_recurrent_state", "before any forward", STA, state_case,
     STATE_GET_BEFORE},
    {"tnn_recurrent_state", "h of 3 rows after 2", SHP, state_case,
     STATE_GET_ROWS},
    {"tnn_recurrent_state_grad", "NULL layer", INV, state_case,
     STATE_GRAD_NULL},
    {"tnn_recurrent_state_grad", "dh0 and dc0 NULL", INV, state_case,
     STATE_GRAD_BOTH_NULL},
    {"tnn_recurrent_state_grad", "no initial state", STA, state_case,
     STATE_GRAD_NONE},
    {"tnn_recurrent_state_grad", "no backward since the state", STA,
     state_case, STATE_GRAD_NO_BACKWARD},
    {"tnn_recurrent_state_grad", "dh0 of 3 rows for 2", SHP, state_case,
     STATE_GRAD_SHAPE},
    {"tnn_model_fit", "an LSTM with a state per row", STA, state_case,
     STATE_FIT_ROWS},
};

static const struct misuse sequence_layer_rows[] = {
    {"tnn_model_add", "layernorm(2) after 3 outputs", SHP, r_ln_add_width, 0},
    {"tnn_layer_forward", "layernorm(2) on rows of 3", SHP, r_ln_forward_width,
     0},
    {"tnn_model_save_onnx_buffer", "a model with a gelu", FMT, r_onnx_gelu, 0},
    {"tnn_layernorm_new", "features 0", INV, r_layernorm_0, 0},
    {"tnn_layernorm_new", "features SIZE_MAX", INV, r_layernorm_huge, 0},
    {"tnn_layernorm_new", "allocation fails", NOM, r_layernorm_nomem, 0},
    {"tnn_layernorm_set_eps", "NULL layer", INV, r_ln_eps_null, 0},
    {"tnn_layernorm_set_eps", "a batchnorm layer", INV, r_ln_eps_batchnorm, 0},
    {"tnn_layernorm_set_eps", "eps 0", INV, ln_eps_case, LN_EPS_0},
    {"tnn_layernorm_set_eps", "eps negative", INV, ln_eps_case, LN_EPS_NEG},
    {"tnn_layernorm_set_eps", "eps NaN", INV, ln_eps_case, LN_EPS_NAN},
    {"tnn_layernorm_set_eps", "eps infinity", INV, ln_eps_case, LN_EPS_INF},
    {"tnn_layernorm_set_eps", "from a fit callback", STA, r_ln_eps_training,
     0},
    {"tnn_layernorm_eps", "NULL gives 0", NEUTRAL, r_ln_get_eps_null, 0},
    {"tnn_layernorm_eps", "a gelu layer gives 0", NEUTRAL, r_ln_get_eps_gelu,
     0},
    {"tnn_gelu_new", "allocation fails", NOM, r_gelu_nomem, 0},
};

static int r_layer_free_null(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_layer_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

NEUTRAL_ROW(r_layer_kind_null, tnn_layer_kind(NULL) == 0)
NEUTRAL_ROW(r_layer_name_null, strcmp(tnn_layer_name(NULL), "") == 0)
NEUTRAL_ROW(r_layer_in_null, tnn_layer_in_features(NULL) == 0)
NEUTRAL_ROW(r_layer_out_null, tnn_layer_out_features(NULL) == 0)
NEUTRAL_ROW(r_layer_num_params_null, tnn_layer_num_params(NULL) == 0)
NEUTRAL_ROW(r_layer_param_null, tnn_layer_param(NULL, 0) == NULL)
NEUTRAL_ROW(r_layer_grad_null, tnn_layer_grad(NULL, 0) == NULL)

/* variant: the getter, GET_PARAM or GET_GRAD. */
enum { GET_PARAM, GET_GRAD };

static int param_range_case(int variant)
{
    tnn_layer *d = tnn_dense_new(2, 2), *r = tnn_relu_new();
    tnn_tensor *(*get)(tnn_layer *, int) =
        variant == GET_GRAD ? tnn_layer_grad : tnn_layer_param;
    CHECK(get(d, 2) == NULL, "index 2 of a dense layer is not NULL");
    CHECK(get(d, -1) == NULL, "index -1 is not NULL");
    CHECK(get(d, INT_MAX) == NULL, "index INT_MAX is not NULL");
    CHECK(get(r, 0) == NULL, "index 0 of a relu layer is not NULL");
    tnn_layer_free(d);
    tnn_layer_free(r);
    return NEUTRAL;
}

CALL_ROW(r_set_trainable_null, tnn_layer_set_trainable(NULL, 1))

/* variant: the flag passed to a dense layer. */
static int set_trainable_case(int variant)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    int rc = capture(tnn_layer_set_trainable(l, variant));
    CHECK(tnn_layer_trainable(l) == 1, "the trainable flag changed");
    tnn_layer_free(l);
    return rc;
}

NEUTRAL_ROW(r_trainable_null, tnn_layer_trainable(NULL) == 0)

static int r_layer_init_null_layer(int variant)
{
    (void)variant;
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_layer_init(NULL, r));
    tnn_rng_free(r);
    return rc;
}

static int r_layer_init_null_rng(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_dense_new(3, 2);
    tnn_tensor_fill(tnn_layer_param(l, 0), 0.5f);
    struct snap s;
    snap_take(&s, tnn_layer_param(l, 0));
    int rc = capture(tnn_layer_init(l, NULL));
    CHECK(snap_same(&s, tnn_layer_param(l, 0)), "the weights changed");
    tnn_layer_free(l);
    return rc;
}

CALL_ROW(r_zero_grad_null, tnn_layer_zero_grad(NULL))

static const struct misuse layer_rows[] = {
    {"tnn_layer_free", "NULL", NEUTRAL, r_layer_free_null, 0},
    {"tnn_layer_kind", "NULL gives 0", NEUTRAL, r_layer_kind_null, 0},
    {"tnn_layer_name", "NULL gives \"\"", NEUTRAL, r_layer_name_null, 0},
    {"tnn_layer_in_features", "NULL gives 0", NEUTRAL, r_layer_in_null, 0},
    {"tnn_layer_out_features", "NULL gives 0", NEUTRAL, r_layer_out_null, 0},
    {"tnn_layer_num_params", "NULL gives 0", NEUTRAL, r_layer_num_params_null,
     0},
    {"tnn_layer_param", "NULL gives NULL", NEUTRAL, r_layer_param_null, 0},
    {"tnn_layer_param", "i out of range gives NULL", NEUTRAL, param_range_case,
     GET_PARAM},
    {"tnn_layer_grad", "NULL gives NULL", NEUTRAL, r_layer_grad_null, 0},
    {"tnn_layer_grad", "i out of range gives NULL", NEUTRAL, param_range_case,
     GET_GRAD},
    {"tnn_layer_set_trainable", "NULL layer", INV, r_set_trainable_null, 0},
    {"tnn_layer_set_trainable", "trainable 2", INV, set_trainable_case, 2},
    {"tnn_layer_set_trainable", "trainable -1", INV, set_trainable_case, -1},
    {"tnn_layer_trainable", "NULL gives 0", NEUTRAL, r_trainable_null, 0},
    {"tnn_layer_init", "NULL layer", INV, r_layer_init_null_layer, 0},
    {"tnn_layer_init", "NULL rng", INV, r_layer_init_null_rng, 0},
    {"tnn_layer_zero_grad", "NULL layer", INV, r_zero_grad_null, 0},
};

static int r_fwd_null_layer(int variant)
{
    (void)variant;
    tnn_tensor *in = mk(2, 3, 1.0f), *out = mk(2, 3, 0.0f);
    int rc = capture(tnn_layer_forward(NULL, in, out, TNN_MODE_EVAL, NULL));
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    return rc;
}

/* Forward of a layer on in (2 x in_cols) into out (out_rows x out_cols).
 * The valid call: a dense 3->2 layer (kind 0; 1 is an unbound relu, 2 an
 * unbound dropout 0.5) on 2x3 into 2x2 in eval mode with a generator;
 * variant: what is wrong. A failed call must leave out and the layer's
 * width alone. */
enum {
    FWD_NULL_IN,
    FWD_NULL_OUT,
    FWD_MODE_2,
    FWD_RELU_MODE_NEG,
    FWD_IN_WIDTH,
    FWD_OUT_WIDTH,
    FWD_OUT_ROWS,
    FWD_RELU_OUT_WIDTH,
    FWD_DROPOUT_NO_RNG
};

static int forward_case(int variant)
{
    int kind = 0, mode = TNN_MODE_EVAL;
    size_t in_cols = 3, out_rows = 2, out_cols = 2;
    int null_in = 0, null_out = 0, null_rng = 0;
    switch (variant) {
    case FWD_NULL_IN: null_in = 1; break;
    case FWD_NULL_OUT: null_out = 1; break;
    case FWD_MODE_2: mode = 2; break;
    case FWD_RELU_MODE_NEG: kind = 1, out_cols = 3, mode = -1; break;
    case FWD_IN_WIDTH: in_cols = 4; break;
    case FWD_OUT_WIDTH: out_cols = 3; break;
    case FWD_OUT_ROWS: out_rows = 3, mode = TNN_MODE_TRAIN; break;
    case FWD_RELU_OUT_WIDTH: kind = 1, out_cols = 4; break;
    case FWD_DROPOUT_NO_RNG:
        kind = 2, out_cols = 3, mode = TNN_MODE_TRAIN, null_rng = 1;
        break;
    }
    tnn_layer *l = kind == 0   ? tnn_dense_new(3, 2)
                   : kind == 1 ? tnn_relu_new()
                               : tnn_dropout_new(0.5f);
    tnn_tensor *in = mk(2, in_cols, 1.0f);
    tnn_tensor *out = mk(out_rows, out_cols, 7.0f);
    tnn_rng *r = tnn_rng_new(1);
    size_t width = tnn_layer_in_features(l);
    struct snap s;
    snap_take(&s, out);
    int rc = capture(tnn_layer_forward(l, null_in ? NULL : in,
                                       null_out ? NULL : out, mode,
                                       null_rng ? NULL : r));
    int out_same = snap_same(&s, out);
    int in_same = tnn_layer_in_features(l) == width;
    int out_width_same = tnn_layer_out_features(l) == (kind == 0 ? 2 : width);
    tnn_rng_free(r);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_layer_free(l);
    CHECK(out_same, "out was written");
    CHECK(in_same, "the layer's input width changed");
    CHECK(out_width_same, "the layer's output width changed");
    return rc;
}

static int r_fwd_in_1d(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_relu_new();
    tnn_tensor *in = mk1(3, 1.0f), *out = mk1(3, 7.0f);
    int rc = capture(tnn_layer_forward(l, in, out, TNN_MODE_EVAL, NULL));
    CHECK(tnn_layer_in_features(l) == 0, "the layer was bound");
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_layer_free(l);
    return rc;
}

/* An activation bound to 3 features refuses 4. */
static int r_fwd_bound_width(int variant)
{
    (void)variant;
    tnn_layer *l = tnn_tanh_new();
    tnn_tensor *in3 = mk(2, 3, 1.0f), *out3 = mk(2, 3, 0.0f);
    tnn_tensor *in4 = mk(2, 4, 1.0f), *out4 = mk(2, 4, 7.0f);
    ck_assert_int_eq(tnn_layer_forward(l, in3, out3, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    int rc = capture(tnn_layer_forward(l, in4, out4, TNN_MODE_EVAL, NULL));
    CHECK(tnn_layer_in_features(l) == 3, "the width changed");
    CHECK(tnn_tensor_data(out4)[0] == 7.0f, "out was written");
    tnn_tensor_free(in3);
    tnn_tensor_free(out3);
    tnn_tensor_free(in4);
    tnn_tensor_free(out4);
    tnn_layer_free(l);
    return rc;
}

static const struct misuse layer_forward_rows[] = {
    {"tnn_layer_forward", "NULL layer", INV, r_fwd_null_layer, 0},
    {"tnn_layer_forward", "NULL in", INV, forward_case, FWD_NULL_IN},
    {"tnn_layer_forward", "NULL out", INV, forward_case, FWD_NULL_OUT},
    {"tnn_layer_forward", "mode 2", INV, forward_case, FWD_MODE_2},
    {"tnn_layer_forward", "mode -1 (relu)", INV, forward_case,
     FWD_RELU_MODE_NEG},
    {"tnn_layer_forward", "dense 3->2 given 4 features", SHP, forward_case,
     FWD_IN_WIDTH},
    {"tnn_layer_forward", "dense 3->2 into 3 columns", SHP, forward_case,
     FWD_OUT_WIDTH},
    {"tnn_layer_forward", "out has other rows", SHP, forward_case,
     FWD_OUT_ROWS},
    {"tnn_layer_forward", "relu: out wider than in", SHP, forward_case,
     FWD_RELU_OUT_WIDTH},
    {"tnn_layer_forward", "1-D in", SHP, r_fwd_in_1d, 0},
    {"tnn_layer_forward", "tanh bound to 3 given 4", SHP, r_fwd_bound_width,
     0},
    {"tnn_layer_forward", "dropout training without rng", INV, forward_case,
     FWD_DROPOUT_NO_RNG},
};

static int r_bwd_null_layer(int variant)
{
    (void)variant;
    tnn_tensor *t = mk(2, 2, 0.0f);
    int rc = capture(tnn_layer_backward(NULL, t, t, t, NULL));
    tnn_tensor_free(t);
    return rc;
}

/* Backward of a dense 3->2 layer. The valid call follows a training
 * forward of 2 rows and gets in (2 x 3), out (2 x 2), dout (2 x 2) and din
 * (2 x 3); variant: what is wrong. The gradients and din must stay as they
 * were. */
enum {
    BWD_NO_FORWARD,
    BWD_AFTER_EVAL,
    BWD_OTHER_BATCH,
    BWD_DOUT_WIDTH,
    BWD_DOUT_ROWS,
    BWD_DIN_WIDTH,
    BWD_NULL_IN,
    BWD_NULL_OUT,
    BWD_NULL_DOUT
};

static int backward_case(int variant)
{
    int prior = 1; /* 0 no forward, 1 training forward, 2 eval forward */
    size_t in_rows = 2, dout_rows = 2, dout_cols = 2, din_cols = 3;
    switch (variant) {
    case BWD_NO_FORWARD: prior = 0; break;
    case BWD_AFTER_EVAL: prior = 2; break;
    case BWD_OTHER_BATCH: in_rows = 3; break;
    case BWD_DOUT_WIDTH: dout_cols = 3; break;
    case BWD_DOUT_ROWS: dout_rows = 3; break;
    case BWD_DIN_WIDTH: din_cols = 2; break;
    }
    tnn_layer *l = tnn_dense_new(3, 2);
    tnn_rng *r = tnn_rng_new(2);
    ck_assert_int_eq(tnn_layer_init(l, r), TNN_OK);
    tnn_tensor *in2 = mk(2, 3, 0.5f), *in = mk(in_rows, 3, 0.5f);
    tnn_tensor *out = mk(2, 2, 0.0f), *dout = mk(dout_rows, dout_cols, 1.0f);
    tnn_tensor *din = mk(2, din_cols, 7.0f);
    if (prior)
        ck_assert_int_eq(
            tnn_layer_forward(l, in2, out,
                              prior == 1 ? TNN_MODE_TRAIN : TNN_MODE_EVAL,
                              NULL),
            TNN_OK);
    struct snap gw, gb, sd;
    snap_take(&gw, tnn_layer_grad(l, 0));
    snap_take(&gb, tnn_layer_grad(l, 1));
    snap_take(&sd, din);
    int rc = capture(tnn_layer_backward(l, variant == BWD_NULL_IN ? NULL : in,
                                        variant == BWD_NULL_OUT ? NULL : out,
                                        variant == BWD_NULL_DOUT ? NULL : dout,
                                        din));
    CHECK(snap_same(&gw, tnn_layer_grad(l, 0)), "the weight gradient changed");
    CHECK(snap_same(&gb, tnn_layer_grad(l, 1)), "the bias gradient changed");
    CHECK(snap_same(&sd, din), "din was written");
    tnn_tensor_free(in2);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_tensor_free(dout);
    tnn_tensor_free(din);
    tnn_rng_free(r);
    tnn_layer_free(l);
    return rc;
}

static const struct misuse layer_backward_rows[] = {
    {"tnn_layer_backward", "NULL layer", INV, r_bwd_null_layer, 0},
    {"tnn_layer_backward", "before any forward", STA, backward_case,
     BWD_NO_FORWARD},
    {"tnn_layer_backward", "after an eval forward only", STA, backward_case,
     BWD_AFTER_EVAL},
    {"tnn_layer_backward", "other batch size than the forward", STA,
     backward_case, BWD_OTHER_BATCH},
    {"tnn_layer_backward", "dout of other width", SHP, backward_case,
     BWD_DOUT_WIDTH},
    {"tnn_layer_backward", "dout of other rows", SHP, backward_case,
     BWD_DOUT_ROWS},
    {"tnn_layer_backward", "din of other width", SHP, backward_case,
     BWD_DIN_WIDTH},
    {"tnn_layer_backward", "NULL in", INV, backward_case, BWD_NULL_IN},
    {"tnn_layer_backward", "NULL out", INV, backward_case, BWD_NULL_OUT},
    {"tnn_layer_backward", "NULL dout", INV, backward_case, BWD_NULL_DOUT},
};

/* ========================================================================= */
/* Losses                                                                    */
/* ========================================================================= */

/* MSE with pred (2 x 3), target (tr x tc) and grad (gr x gc), all 2 x 3
 * when valid; variant: what is wrong. *loss and grad must stay as they
 * were. */
enum {
    MSE_NULL_PRED,
    MSE_NULL_TARGET,
    MSE_TARGET_COLS,
    MSE_TARGET_ROWS,
    MSE_GRAD_SHAPE
};

static int mse_case(int variant)
{
    size_t tr = 2, tc = 3, gr = 2, gc = 3;
    switch (variant) {
    case MSE_TARGET_COLS: tc = 4; break;
    case MSE_TARGET_ROWS: tr = 3; break;
    case MSE_GRAD_SHAPE: gr = 3, gc = 2; break;
    }
    tnn_tensor *p = mk(2, 3, 1.0f), *t = mk(tr, tc, 0.0f);
    tnn_tensor *g = mk(gr, gc, 7.0f);
    struct snap s;
    snap_take(&s, g);
    double loss = 42.0;
    int rc =
        capture(tnn_loss_mse(variant == MSE_NULL_PRED ? NULL : p,
                             variant == MSE_NULL_TARGET ? NULL : t, &loss, g));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(snap_same(&s, g), "grad was written");
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    return rc;
}

static int r_mse_1d(int variant)
{
    (void)variant;
    tnn_tensor *p = mk1(3, 1.0f), *t = mk1(3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_loss_mse(p, t, &loss, NULL));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    return rc;
}

/* Cross-entropy of logits (2 x 3) against labels: 1-D labels of n class
 * indices, all label, or (index 0) probability rows (lr x lc) of entries
 * label; grad (2 x gc). The valid call has 2 labels of class 0 and a 2 x 3
 * grad; variant: what is wrong. Nothing may be written on failure. */
enum {
    CE_NULL_LOGITS,
    CE_NULL_LABELS,
    CE_INDEX_COUNT,
    CE_ROWS_SHAPE,
    CE_ROWS_COUNT,
    CE_LABEL_RANGE,
    CE_LABEL_NEG,
    CE_LABEL_FRAC,
    CE_LABEL_NAN,
    CE_PROB_NEG,
    CE_PROB_INF,
    CE_GRAD_SHAPE
};

static int ce_case(int variant)
{
    int index = 1;
    size_t n = 2, lr = 2, lc = 3, gc = 3;
    float label = 0.0f;
    switch (variant) {
    case CE_INDEX_COUNT: n = 3; break;
    case CE_ROWS_SHAPE: index = 0, lc = 4; break;
    case CE_ROWS_COUNT: index = 0, lr = 3; break;
    case CE_LABEL_RANGE: label = 3.0f; break;
    case CE_LABEL_NEG: label = -1.0f; break;
    case CE_LABEL_FRAC: label = 1.5f; break;
    case CE_LABEL_NAN: label = NAN; break;
    case CE_PROB_NEG: index = 0, label = -0.5f; break;
    case CE_PROB_INF: index = 0, label = INFINITY; break;
    case CE_GRAD_SHAPE: label = 1.0f, gc = 2; break;
    }
    tnn_tensor *z = mk(2, 3, 0.5f);
    tnn_tensor *y = index ? mk1(n, label) : mk(lr, lc, label);
    tnn_tensor *g = mk(2, gc, 7.0f);
    struct snap s;
    snap_take(&s, g);
    double loss = 42.0, acc = 42.0;
    int rc = capture(tnn_loss_cross_entropy(
        variant == CE_NULL_LOGITS ? NULL : z,
        variant == CE_NULL_LABELS ? NULL : y, &loss, g, &acc));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(acc == 42.0, "*accuracy was written");
    CHECK(snap_same(&s, g), "grad was written");
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    tnn_tensor_free(g);
    return rc;
}

static int r_ce_logits_1d(int variant)
{
    (void)variant;
    tnn_tensor *z = mk1(3, 0.5f), *y = mk1(3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_loss_cross_entropy(z, y, &loss, NULL, NULL));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    return rc;
}

static const struct misuse loss_rows[] = {
    {"tnn_loss_mse", "NULL pred", INV, mse_case, MSE_NULL_PRED},
    {"tnn_loss_mse", "NULL target", INV, mse_case, MSE_NULL_TARGET},
    {"tnn_loss_mse", "target of other width", SHP, mse_case, MSE_TARGET_COLS},
    {"tnn_loss_mse", "target of other rows", SHP, mse_case, MSE_TARGET_ROWS},
    {"tnn_loss_mse", "grad of other shape", SHP, mse_case, MSE_GRAD_SHAPE},
    {"tnn_loss_mse", "1-D tensors", SHP, r_mse_1d, 0},
    {"tnn_loss_cross_entropy", "NULL logits", INV, ce_case, CE_NULL_LOGITS},
    {"tnn_loss_cross_entropy", "NULL labels", INV, ce_case, CE_NULL_LABELS},
    {"tnn_loss_cross_entropy", "3 class indices for 2 rows", SHP, ce_case,
     CE_INDEX_COUNT},
    {"tnn_loss_cross_entropy", "probability rows of other width", SHP, ce_case,
     CE_ROWS_SHAPE},
    {"tnn_loss_cross_entropy", "probability rows of other count", SHP, ce_case,
     CE_ROWS_COUNT},
    {"tnn_loss_cross_entropy", "class 3 of 3", INV, ce_case, CE_LABEL_RANGE},
    {"tnn_loss_cross_entropy", "class -1", INV, ce_case, CE_LABEL_NEG},
    {"tnn_loss_cross_entropy", "class 1.5", INV, ce_case, CE_LABEL_FRAC},
    {"tnn_loss_cross_entropy", "class NaN", INV, ce_case, CE_LABEL_NAN},
    {"tnn_loss_cross_entropy", "probability -0.5", INV, ce_case, CE_PROB_NEG},
    {"tnn_loss_cross_entropy", "probability infinite", INV, ce_case,
     CE_PROB_INF},
    {"tnn_loss_cross_entropy", "grad of other shape", SHP, ce_case,
     CE_GRAD_SHAPE},
    {"tnn_loss_cross_entropy", "1-D logits", SHP, r_ce_logits_1d, 0},
};

/* ========================================================================= */
/* Optimizers                                                                */
/* ========================================================================= */

CTOR_ROW(r_sgd_lr0, tnn_optim, tnn_sgd_new(0.0f), tnn_optim_free)
CTOR_ROW(r_sgd_lr_neg, tnn_optim, tnn_sgd_new(-0.1f), tnn_optim_free)
CTOR_ROW(r_sgd_lr_nan, tnn_optim, tnn_sgd_new(NAN), tnn_optim_free)
CTOR_ROW(r_sgd_lr_inf, tnn_optim, tnn_sgd_new(INFINITY), tnn_optim_free)
NOMEM_ROW(r_sgd_nomem, tnn_optim, tnn_sgd_new(0.1f), tnn_optim_free)
CTOR_ROW(r_adam_lr0, tnn_optim, tnn_adam_new(0.0f), tnn_optim_free)
CTOR_ROW(r_adam_lr_neg, tnn_optim, tnn_adam_new(-1e-3f), tnn_optim_free)
CTOR_ROW(r_adam_lr_nan, tnn_optim, tnn_adam_new(NAN), tnn_optim_free)
CTOR_ROW(r_adam_lr_inf, tnn_optim, tnn_adam_new(INFINITY), tnn_optim_free)
NOMEM_ROW(r_adam_nomem, tnn_optim, tnn_adam_new(1e-3f), tnn_optim_free)

/* call on an optimizer o of kind adam (1) or sgd (0), freed afterwards. */
#define OPT_ROW(name, adam, call)                                             \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        tnn_optim *o = (adam) ? tnn_adam_new(1e-3f) : tnn_sgd_new(0.1f);      \
        ck_assert_ptr_nonnull(o);                                             \
        int rc = capture(call);                                               \
        CHECK(tnn_optim_lr(o) == ((adam) ? 1e-3f : 0.1f),                     \
              "the learning rate changed");                                   \
        CHECK(tnn_optim_current_lr(o) == tnn_optim_lr(o),                     \
              "a schedule appeared");                                         \
        CHECK(tnn_optim_weight_decay(o) == 0.0f, "weight decay changed");     \
        tnn_optim_free(o);                                                    \
        return rc;                                                            \
    }

CALL_ROW(r_sgd_mom_null, tnn_sgd_set_momentum(NULL, 0.9f))
OPT_ROW(r_sgd_mom_adam, 1, tnn_sgd_set_momentum(o, 0.9f))
OPT_ROW(r_sgd_mom_1, 0, tnn_sgd_set_momentum(o, 1.0f))
OPT_ROW(r_sgd_mom_neg, 0, tnn_sgd_set_momentum(o, -0.5f))
OPT_ROW(r_sgd_mom_nan, 0, tnn_sgd_set_momentum(o, NAN))
CALL_ROW(r_nesterov_null, tnn_sgd_set_nesterov(NULL, 1))
OPT_ROW(r_nesterov_adam, 1, tnn_sgd_set_nesterov(o, 1))
OPT_ROW(r_nesterov_2, 0, tnn_sgd_set_nesterov(o, 2))
OPT_ROW(r_nesterov_neg, 0, tnn_sgd_set_nesterov(o, -1))
CALL_ROW(r_betas_null, tnn_adam_set_betas(NULL, 0.9f, 0.999f))
OPT_ROW(r_betas_sgd, 0, tnn_adam_set_betas(o, 0.9f, 0.999f))
OPT_ROW(r_betas_b1_1, 1, tnn_adam_set_betas(o, 1.0f, 0.999f))
OPT_ROW(r_betas_b2_1, 1, tnn_adam_set_betas(o, 0.9f, 1.0f))
OPT_ROW(r_betas_b1_neg, 1, tnn_adam_set_betas(o, -0.1f, 0.999f))
OPT_ROW(r_betas_b2_neg, 1, tnn_adam_set_betas(o, 0.9f, -0.1f))
OPT_ROW(r_betas_nan, 1, tnn_adam_set_betas(o, NAN, 0.999f))
OPT_ROW(r_betas_b2_inf, 1, tnn_adam_set_betas(o, 0.9f, INFINITY))
CALL_ROW(r_adam_eps_null, tnn_adam_set_eps(NULL, 1e-7f))
OPT_ROW(r_adam_eps_sgd, 0, tnn_adam_set_eps(o, 1e-7f))
OPT_ROW(r_adam_eps_0, 1, tnn_adam_set_eps(o, 0.0f))
OPT_ROW(r_adam_eps_neg, 1, tnn_adam_set_eps(o, -1e-7f))
OPT_ROW(r_adam_eps_nan, 1, tnn_adam_set_eps(o, NAN))
OPT_ROW(r_adam_eps_inf, 1, tnn_adam_set_eps(o, INFINITY))
CALL_ROW(r_wd_null, tnn_optim_set_weight_decay(NULL, 0.1f))
OPT_ROW(r_wd_neg, 1, tnn_optim_set_weight_decay(o, -0.1f))
OPT_ROW(r_wd_nan, 0, tnn_optim_set_weight_decay(o, NAN))
OPT_ROW(r_wd_inf, 1, tnn_optim_set_weight_decay(o, INFINITY))
NEUTRAL_ROW(r_wd_get_null, tnn_optim_weight_decay(NULL) == 0.0f)
CALL_ROW(r_decoupled_null, tnn_adam_set_decoupled(NULL, 1))
OPT_ROW(r_decoupled_sgd, 0, tnn_adam_set_decoupled(o, 1))
OPT_ROW(r_decoupled_2, 1, tnn_adam_set_decoupled(o, 2))
CALL_ROW(r_decay_all_null, tnn_optim_set_decay_all(NULL, 1))
OPT_ROW(r_decay_all_2, 0, tnn_optim_set_decay_all(o, 2))
OPT_ROW(r_decay_all_neg, 1, tnn_optim_set_decay_all(o, -1))
CALL_ROW(r_clip_value_null, tnn_optim_set_clip_value(NULL, 1.0f))
OPT_ROW(r_clip_value_neg, 1, tnn_optim_set_clip_value(o, -1.0f))
OPT_ROW(r_clip_value_nan, 0, tnn_optim_set_clip_value(o, NAN))
OPT_ROW(r_clip_value_inf, 1, tnn_optim_set_clip_value(o, INFINITY))
NEUTRAL_ROW(r_clip_value_get_null, tnn_optim_clip_value(NULL) == 0.0f)
CALL_ROW(r_clip_norm_null, tnn_optim_set_clip_norm(NULL, 1.0f))
OPT_ROW(r_clip_norm_neg, 0, tnn_optim_set_clip_norm(o, -2.0f))
OPT_ROW(r_clip_norm_nan, 1, tnn_optim_set_clip_norm(o, NAN))
OPT_ROW(r_clip_norm_inf, 0, tnn_optim_set_clip_norm(o, INFINITY))
NEUTRAL_ROW(r_clip_norm_get_null, tnn_optim_clip_norm(NULL) == 0.0f)
CALL_ROW(r_set_lr_null, tnn_optim_set_lr(NULL, 0.1f))
OPT_ROW(r_set_lr_0, 0, tnn_optim_set_lr(o, 0.0f))
OPT_ROW(r_set_lr_neg, 1, tnn_optim_set_lr(o, -1.0f))
OPT_ROW(r_set_lr_nan, 0, tnn_optim_set_lr(o, NAN))
OPT_ROW(r_set_lr_inf, 1, tnn_optim_set_lr(o, INFINITY))
NEUTRAL_ROW(r_lr_null, tnn_optim_lr(NULL) == 0.0f)
NEUTRAL_ROW(r_current_lr_null, tnn_optim_current_lr(NULL) == 0.0f)
NEUTRAL_ROW(r_steps_null, tnn_optim_steps(NULL) == 0)
CALL_ROW(r_step_sched_null, tnn_optim_set_step_schedule(NULL, 10, 0.5f))
OPT_ROW(r_step_sched_size0, 0, tnn_optim_set_step_schedule(o, 0, 0.5f))
OPT_ROW(r_step_sched_size_neg, 1, tnn_optim_set_step_schedule(o, -5, 0.5f))
OPT_ROW(r_step_sched_gamma0, 0, tnn_optim_set_step_schedule(o, 10, 0.0f))
OPT_ROW(r_step_sched_gamma_big, 1, tnn_optim_set_step_schedule(o, 10, 1.5f))
OPT_ROW(r_step_sched_gamma_neg, 0, tnn_optim_set_step_schedule(o, 10, -0.5f))
OPT_ROW(r_step_sched_gamma_nan, 1, tnn_optim_set_step_schedule(o, 10, NAN))
CALL_ROW(r_cos_sched_null, tnn_optim_set_cosine_schedule(NULL, 10, 0.0f))
OPT_ROW(r_cos_sched_total0, 0, tnn_optim_set_cosine_schedule(o, 0, 0.0f))
OPT_ROW(r_cos_sched_total_neg, 1, tnn_optim_set_cosine_schedule(o, -1, 0.0f))
OPT_ROW(r_cos_sched_min_neg, 0, tnn_optim_set_cosine_schedule(o, 10, -0.01f))
OPT_ROW(r_cos_sched_min_above, 1, tnn_optim_set_cosine_schedule(o, 10, 0.5f))
OPT_ROW(r_cos_sched_min_nan, 0, tnn_optim_set_cosine_schedule(o, 10, NAN))
CALL_ROW(r_clear_sched_null, tnn_optim_clear_schedule(NULL))

/* lr below a cosine schedule's min_lr breaks 0 <= min_lr <= lr. */
static int r_set_lr_below_min(int variant)
{
    (void)variant;
    tnn_optim *o = tnn_sgd_new(0.1f);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(o, 10, 0.05f), TNN_OK);
    int rc = capture(tnn_optim_set_lr(o, 0.01f));
    CHECK(tnn_optim_lr(o) == 0.1f, "the learning rate changed");
    tnn_optim_free(o);
    return rc;
}

/* A failed schedule keeps the one before. */
static int r_step_sched_kept(int variant)
{
    (void)variant;
    tnn_optim *o = tnn_sgd_new(0.1f);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(o, 10, 0.05f), TNN_OK);
    float before = tnn_optim_current_lr(o);
    int rc = capture(tnn_optim_set_step_schedule(o, 0, 0.5f));
    CHECK(tnn_optim_current_lr(o) == before, "the schedule changed");
    tnn_optim_free(o);
    return rc;
}

static int r_optim_free_null(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_optim_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

static const struct misuse optim_rows[] = {
    {"tnn_sgd_new", "lr 0", INV, r_sgd_lr0, 0},
    {"tnn_sgd_new", "lr negative", INV, r_sgd_lr_neg, 0},
    {"tnn_sgd_new", "lr NaN", INV, r_sgd_lr_nan, 0},
    {"tnn_sgd_new", "lr infinity", INV, r_sgd_lr_inf, 0},
    {"tnn_sgd_new", "allocation fails", NOM, r_sgd_nomem, 0},
    {"tnn_adam_new", "lr 0", INV, r_adam_lr0, 0},
    {"tnn_adam_new", "lr negative", INV, r_adam_lr_neg, 0},
    {"tnn_adam_new", "lr NaN", INV, r_adam_lr_nan, 0},
    {"tnn_adam_new", "lr infinity", INV, r_adam_lr_inf, 0},
    {"tnn_adam_new", "allocation fails", NOM, r_adam_nomem, 0},
    {"tnn_sgd_set_momentum", "NULL optimizer", INV, r_sgd_mom_null, 0},
    {"tnn_sgd_set_momentum", "an adam optimizer", INV, r_sgd_mom_adam, 0},
    {"tnn_sgd_set_momentum", "momentum 1", INV, r_sgd_mom_1, 0},
    {"tnn_sgd_set_momentum", "momentum -0.5", INV, r_sgd_mom_neg, 0},
    {"tnn_sgd_set_momentum", "momentum NaN", INV, r_sgd_mom_nan, 0},
    {"tnn_sgd_set_nesterov", "NULL optimizer", INV, r_nesterov_null, 0},
    {"tnn_sgd_set_nesterov", "an adam optimizer", INV, r_nesterov_adam, 0},
    {"tnn_sgd_set_nesterov", "nesterov 2", INV, r_nesterov_2, 0},
    {"tnn_sgd_set_nesterov", "nesterov -1", INV, r_nesterov_neg, 0},
    {"tnn_adam_set_betas", "NULL optimizer", INV, r_betas_null, 0},
    {"tnn_adam_set_betas", "an sgd optimizer", INV, r_betas_sgd, 0},
    {"tnn_adam_set_betas", "beta1 1", INV, r_betas_b1_1, 0},
    {"tnn_adam_set_betas", "beta2 1", INV, r_betas_b2_1, 0},
    {"tnn_adam_set_betas", "beta1 -0.1", INV, r_betas_b1_neg, 0},
    {"tnn_adam_set_betas", "beta2 -0.1", INV, r_betas_b2_neg, 0},
    {"tnn_adam_set_betas", "beta1 NaN", INV, r_betas_nan, 0},
    {"tnn_adam_set_betas", "beta2 infinity", INV, r_betas_b2_inf, 0},
    {"tnn_adam_set_eps", "NULL optimizer", INV, r_adam_eps_null, 0},
    {"tnn_adam_set_eps", "an sgd optimizer", INV, r_adam_eps_sgd, 0},
    {"tnn_adam_set_eps", "eps 0", INV, r_adam_eps_0, 0},
    {"tnn_adam_set_eps", "eps negative", INV, r_adam_eps_neg, 0},
    {"tnn_adam_set_eps", "eps NaN", INV, r_adam_eps_nan, 0},
    {"tnn_adam_set_eps", "eps infinity", INV, r_adam_eps_inf, 0},
    {"tnn_optim_set_weight_decay", "NULL optimizer", INV, r_wd_null, 0},
    {"tnn_optim_set_weight_decay", "lambda -0.1", INV, r_wd_neg, 0},
    {"tnn_optim_set_weight_decay", "lambda NaN", INV, r_wd_nan, 0},
    {"tnn_optim_set_weight_decay", "lambda infinity", INV, r_wd_inf, 0},
    {"tnn_optim_weight_decay", "NULL gives 0", NEUTRAL, r_wd_get_null, 0},
    {"tnn_adam_set_decoupled", "NULL optimizer", INV, r_decoupled_null, 0},
    {"tnn_adam_set_decoupled", "an sgd optimizer", INV, r_decoupled_sgd, 0},
    {"tnn_adam_set_decoupled", "decoupled 2", INV, r_decoupled_2, 0},
    {"tnn_optim_set_decay_all", "NULL optimizer", INV, r_decay_all_null, 0},
    {"tnn_optim_set_decay_all", "all 2", INV, r_decay_all_2, 0},
    {"tnn_optim_set_decay_all", "all -1", INV, r_decay_all_neg, 0},
    {"tnn_optim_set_clip_value", "NULL optimizer", INV, r_clip_value_null, 0},
    {"tnn_optim_set_clip_value", "clip -1", INV, r_clip_value_neg, 0},
    {"tnn_optim_set_clip_value", "clip NaN", INV, r_clip_value_nan, 0},
    {"tnn_optim_set_clip_value", "clip infinity", INV, r_clip_value_inf, 0},
    {"tnn_optim_clip_value", "NULL optimizer gives 0", NEUTRAL,
     r_clip_value_get_null, 0},
    {"tnn_optim_set_clip_norm", "NULL optimizer", INV, r_clip_norm_null, 0},
    {"tnn_optim_set_clip_norm", "max_norm -2", INV, r_clip_norm_neg, 0},
    {"tnn_optim_set_clip_norm", "max_norm NaN", INV, r_clip_norm_nan, 0},
    {"tnn_optim_set_clip_norm", "max_norm infinity", INV, r_clip_norm_inf, 0},
    {"tnn_optim_clip_norm", "NULL optimizer gives 0", NEUTRAL,
     r_clip_norm_get_null, 0},
    {"tnn_optim_set_lr", "NULL optimizer", INV, r_set_lr_null, 0},
    {"tnn_optim_set_lr", "lr 0", INV, r_set_lr_0, 0},
    {"tnn_optim_set_lr", "lr -1", INV, r_set_lr_neg, 0},
    {"tnn_optim_set_lr", "lr NaN", INV, r_set_lr_nan, 0},
    {"tnn_optim_set_lr", "lr infinity", INV, r_set_lr_inf, 0},
    {"tnn_optim_set_lr", "lr below the cosine min_lr", INV, r_set_lr_below_min,
     0},
    {"tnn_optim_lr", "NULL gives 0", NEUTRAL, r_lr_null, 0},
    {"tnn_optim_current_lr", "NULL gives 0", NEUTRAL, r_current_lr_null, 0},
    {"tnn_optim_steps", "NULL gives 0", NEUTRAL, r_steps_null, 0},
    {"tnn_optim_set_step_schedule", "NULL optimizer", INV, r_step_sched_null,
     0},
    {"tnn_optim_set_step_schedule", "step_size 0", INV, r_step_sched_size0, 0},
    {"tnn_optim_set_step_schedule", "step_size -5", INV, r_step_sched_size_neg,
     0},
    {"tnn_optim_set_step_schedule", "gamma 0", INV, r_step_sched_gamma0, 0},
    {"tnn_optim_set_step_schedule", "gamma 1.5", INV, r_step_sched_gamma_big,
     0},
    {"tnn_optim_set_step_schedule", "gamma -0.5", INV, r_step_sched_gamma_neg,
     0},
    {"tnn_optim_set_step_schedule", "gamma NaN", INV, r_step_sched_gamma_nan,
     0},
    {"tnn_optim_set_step_schedule", "keeps the cosine schedule", INV,
     r_step_sched_kept, 0},
    {"tnn_optim_set_cosine_schedule", "NULL optimizer", INV, r_cos_sched_null,
     0},
    {"tnn_optim_set_cosine_schedule", "total_steps 0", INV, r_cos_sched_total0,
     0},
    {"tnn_optim_set_cosine_schedule", "total_steps -1", INV,
     r_cos_sched_total_neg, 0},
    {"tnn_optim_set_cosine_schedule", "min_lr negative", INV,
     r_cos_sched_min_neg, 0},
    {"tnn_optim_set_cosine_schedule", "min_lr above lr", INV,
     r_cos_sched_min_above, 0},
    {"tnn_optim_set_cosine_schedule", "min_lr NaN", INV, r_cos_sched_min_nan,
     0},
    {"tnn_optim_clear_schedule", "NULL optimizer", INV, r_clear_sched_null, 0},
    {"tnn_optim_free", "NULL", NEUTRAL, r_optim_free_null, 0},
};

/* ========================================================================= */
/* Models: construction, layers, setters, getters                            */
/* ========================================================================= */

CTOR_ROW(r_model_new_0, tnn_model, tnn_model_new(0), tnn_model_free)
NOMEM_ROW(r_model_new_nomem, tnn_model, tnn_model_new(4), tnn_model_free)

static int r_model_free_null(int variant)
{
    (void)variant;
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_model_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

/* tnn_model_add under the counting allocator: the layer is freed whatever
 * happens, the model keeps its layers. variant: a NULL model with a dense
 * layer or with a relu, a NULL layer, dense 4x2 or batchnorm(2) after
 * dense 4x3, or a layer list that cannot grow. */
enum {
    ADD_NULL_MODEL,
    ADD_NULL_MODEL_RELU,
    ADD_NULL_LAYER,
    ADD_WIDTH,
    ADD_BN_WIDTH,
    ADD_NOMEM
};

static int add_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    int null_model =
        variant == ADD_NULL_MODEL || variant == ADD_NULL_MODEL_RELU;
    tnn_model *m = null_model ? NULL : mk_model(0);
    size_t layers = 1;
    if (variant == ADD_NOMEM)
        for (; layers < 8; layers++)
            ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    tnn_layer *l = variant == ADD_NULL_MODEL   ? tnn_dense_new(4, 3)
                   : variant == ADD_NULL_LAYER ? NULL
                   : variant == ADD_WIDTH      ? tnn_dense_new(4, 2)
                   : variant == ADD_BN_WIDTH   ? tnn_batchnorm_new(2)
                                               : tnn_relu_new();
    CHECK(variant == ADD_NULL_LAYER || l != NULL, "fixture");
    if (variant == ADD_NOMEM)
        a.fail_at = a.calls + 1;
    int rc = capture(tnn_model_add(m, l));
    a.fail_at = 0;
    if (m) {
        CHECK(tnn_model_num_layers(m) == layers, "the layer count changed");
        CHECK(tnn_model_out_features(m) == 3, "the output width changed");
        CHECK(tnn_model_layer(m, layers) == NULL, "a layer was appended");
        /* The model still works. */
        tnn_tensor *x = mk(2, 4, 1.0f), *out = mk(2, 3, 0.0f);
        CHECK(tnn_model_predict(m, x, out) == TNN_OK, "predict failed");
        tnn_tensor_free(x);
        tnn_tensor_free(out);
    }
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer or the model leaked");
    return rc;
}

/* A layer or optimizer has one owner. Giving a model something a model
 * already owns fails with TNN_E_STATE, frees nothing and changes nothing;
 * freeing the models afterwards must then free everything exactly once
 * (AddressSanitizer and valgrind see a double free; the counting
 * allocator sees a leak or a negative count). variant: what is given. */
enum {
    OWNED_SAME_LAYER,       /* the same layer twice */
    OWNED_OTHER_LAYER,      /* a layer of another model */
    OWNED_LAYER_BAD_SHAPE,  /* a layer the model owns whose shape no
                               longer fits */
    OWNED_LAYER_NULL_MODEL, /* an owned layer with a NULL model */
    OWNED_OTHER_OPTIM,      /* the optimizer of another model */
    OWNED_OPTIM_NULL_MODEL  /* an owned optimizer with a NULL model */
};

static int owned_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1), *other = mk_model(1);
    tnn_layer *relu = tnn_relu_new();
    CHECK(tnn_model_add(m, relu) == TNN_OK, "fixture");
    tnn_optim *m_opt = tnn_model_optim(m);
    struct snap w;
    snap_take(&w, weights(m));
    int rc;
    switch (variant) {
    case OWNED_SAME_LAYER: rc = capture(tnn_model_add(m, relu)); break;
    case OWNED_OTHER_LAYER:
        rc = capture(tnn_model_add(m, tnn_model_layer(other, 0)));
        break;
    case OWNED_LAYER_BAD_SHAPE:
        rc = capture(tnn_model_add(m, tnn_model_layer(m, 0)));
        break;
    case OWNED_LAYER_NULL_MODEL:
        rc = capture(tnn_model_add(NULL, relu));
        break;
    case OWNED_OTHER_OPTIM:
        rc = capture(tnn_model_set_optim(m, tnn_model_optim(other)));
        break;
    default: rc = capture(tnn_model_set_optim(NULL, m_opt)); break;
    }
    CHECK(tnn_model_num_layers(m) == 2, "the layer count changed");
    CHECK(tnn_model_num_layers(other) == 1, "the other model changed");
    CHECK(tnn_model_optim(m) == m_opt, "the optimizer changed");
    CHECK(snap_same(&w, weights(m)), "the weights changed");
    /* Both models still train. */
    tnn_tensor *x = mk(2, 4, 1.0f), *y = mk(2, 3, 0.0f);
    CHECK(tnn_model_train_batch(m, x, y, NULL) == TNN_OK, "m cannot train");
    CHECK(tnn_model_train_batch(other, x, y, NULL) == TNN_OK,
          "other cannot train");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    tnn_model_free(other);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "a block leaked or was freed twice");
    return rc;
}

/* Freeing what a model owns leaves it to the model. variant: the part
 * freed. */
enum { FREE_OWNED_LAYER, FREE_OWNED_OPTIM };

static int free_owned_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    if (variant == FREE_OWNED_LAYER)
        tnn_layer_free(tnn_model_layer(m, 0));
    else
        tnn_optim_free(tnn_model_optim(m));
    int rc = capture(tnn_last_error_code());
    CHECK(tnn_model_num_layers(m) == 1 && tnn_model_optim(m) != NULL,
          "the model lost a part");
    tnn_tensor *x = mk(2, 4, 1.0f), *y = mk(2, 3, 0.0f);
    CHECK(tnn_model_train_batch(m, x, y, NULL) == TNN_OK, "cannot train");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "a block leaked or was freed twice");
    return rc;
}

/* Calls from inside a tnn_model_fit() callback, which may read the model
 * but not change it. variant: MEDDLE_ADD adds a layer, MEDDLE_SET_OPTIM
 * sets an optimizer. */
enum { MEDDLE_ADD, MEDDLE_SET_OPTIM };

struct meddle {
    tnn_model *m;
    int what;
    int rc;
    int done;
};

static int meddle_cb(const tnn_progress *p, void *user)
{
    struct meddle *md = user;
    (void)p;
    if (!md->done) {
        md->done = 1;
        if (md->what == MEDDLE_ADD)
            md->rc = capture(tnn_model_add(md->m, tnn_dense_new(3, 2)));
        else
            md->rc = capture(tnn_model_set_optim(md->m, tnn_adam_new(0.01f)));
    }
    return 1;
}

static int meddle_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    tnn_optim *opt = tnn_model_optim(m);
    tnn_tensor *x = mk(4, 4, 0.5f), *y = mk(4, 3, 0.0f);
    struct meddle md = {m, variant, 12345, 0};
    int fit_rc = tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, meddle_cb, &md);
    CHECK(fit_rc == TNN_OK, "fit failed");
    CHECK(md.done, "the callback was not called");
    CHECK(tnn_model_num_layers(m) == 1, "the layer count changed");
    CHECK(tnn_model_optim(m) == opt, "the optimizer changed");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the layer or optimizer leaked");
    return md.rc;
}

static int r_set_optim_null_model(int variant)
{
    (void)variant;
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_optim *o = tnn_adam_new(1e-3f);
    CHECK(o != NULL, "fixture");
    int rc = capture(tnn_model_set_optim(NULL, o));
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "the optimizer leaked");
    return rc;
}

static const struct misuse model_parts_rows[] = {
    {"tnn_model_new", "input_features 0", INV, r_model_new_0, 0},
    {"tnn_model_new", "allocation fails", NOM, r_model_new_nomem, 0},
    {"tnn_model_free", "NULL", NEUTRAL, r_model_free_null, 0},
    {"tnn_model_add", "NULL model (dense freed)", INV, add_case,
     ADD_NULL_MODEL},
    {"tnn_model_add", "NULL model (relu freed)", INV, add_case,
     ADD_NULL_MODEL_RELU},
    {"tnn_model_add", "NULL layer", INV, add_case, ADD_NULL_LAYER},
    {"tnn_model_add", "dense 4->2 after 3 outputs", SHP, add_case, ADD_WIDTH},
    {"tnn_model_add", "batchnorm(2) after 3 outputs", SHP, add_case,
     ADD_BN_WIDTH},
    {"tnn_model_add", "the layer list cannot grow", NOM, add_case, ADD_NOMEM},
    {"tnn_model_add", "from a fit callback", STA, meddle_case, MEDDLE_ADD},
    {"tnn_model_add", "the same layer twice", STA, owned_case,
     OWNED_SAME_LAYER},
    {"tnn_model_add", "a layer of another model", STA, owned_case,
     OWNED_OTHER_LAYER},
    {"tnn_model_add", "an owned layer whose shape no longer fits", STA,
     owned_case, OWNED_LAYER_BAD_SHAPE},
    {"tnn_model_add", "an owned layer, NULL model", STA, owned_case,
     OWNED_LAYER_NULL_MODEL},
    {"tnn_layer_free", "a layer a model owns", STA, free_owned_case,
     FREE_OWNED_LAYER},
    {"tnn_optim_free", "the optimizer of a model", STA, free_owned_case,
     FREE_OWNED_OPTIM},
    {"tnn_model_set_optim", "NULL model (optimizer freed)", INV,
     r_set_optim_null_model, 0},
    {"tnn_model_set_optim", "from a fit callback", STA, meddle_case,
     MEDDLE_SET_OPTIM},
    {"tnn_model_set_optim", "the optimizer of another model", STA, owned_case,
     OWNED_OTHER_OPTIM},
    {"tnn_model_set_optim", "an owned optimizer, NULL model", STA, owned_case,
     OWNED_OPTIM_NULL_MODEL},
};

CALL_ROW(r_max_sample_null, tnn_model_set_max_sample_values(NULL, 1000))

/* A bound below the input row, and one from a fit callback: the bound
 * stays as it was. */
static int r_max_sample_below_input(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_max_sample_values(m, 3));
    CHECK(tnn_model_max_sample_values(m) == TNN_DEFAULT_MAX_SAMPLE_VALUES,
          "the bound changed");
    tnn_model_free(m);
    return rc;
}

struct bound_ctx {
    tnn_model *m;
    int rc;
};

static int bound_cb(const tnn_progress *p, void *user)
{
    (void)p;
    struct bound_ctx *ctx = user;
    ctx->rc = capture(tnn_model_set_max_sample_values(ctx->m, 100));
    return 1;
}

static int r_max_sample_in_callback(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(1);
    struct bound_ctx ctx = {m, 12345};
    tnn_tensor *x = mk(4, 4, 0.5f), *y = mk(4, 3, 0.0f);
    CHECK(tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, bound_cb, &ctx) ==
              TNN_OK,
          "fit failed");
    CHECK(tnn_model_max_sample_values(m) == TNN_DEFAULT_MAX_SAMPLE_VALUES,
          "the bound changed");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return ctx.rc;
}

NEUTRAL_ROW(r_max_sample_get_null, tnn_model_max_sample_values(NULL) == 0)

/* A one-pixel image padded by 4096 on every side: conv2d's output alone
 * is 8193 x 8193 values per sample, above the default bound. Prediction
 * refuses before it allocates anything, and the output is untouched. */
static int r_predict_above_bound(int variant)
{
    (void)variant;
    struct counting_allocator a;
    tnn_model *m = tnn_model_new_image(1, 1, 1);
    CHECK(m != NULL, "fixture");
    CHECK(tnn_model_add(m, tnn_conv2d_new(1, 1, 1, 1, 1, 4096)) == TNN_OK,
          "fixture conv2d");
    CHECK(tnn_model_add(m, tnn_maxpool2d_new(4096, 4096)) == TNN_OK,
          "fixture maxpool");
    tnn_tensor *x = mk(1, 1, 1.0f), *out = mk(1, 4, 7.0f);
    counting_install(&a, 0);
    int rc = capture(tnn_model_predict(m, x, out));
    long calls = a.calls;
    counting_remove();
    CHECK(calls == 0, "prediction allocated before refusing");
    CHECK(strstr(got_msg, "conv2d") && strstr(got_msg, "(1, 8193, 8193)"),
          "the message names neither the layer nor its output");
    for (size_t i = 0; i < 4; i++)
        CHECK(tnn_tensor_data(out)[i] == 7.0f, "out was written");
    /* Asked for, the bound is lifted. */
    CHECK(tnn_model_set_max_sample_values(m, (size_t)1 << 28) == TNN_OK,
          "raising the bound");
    CHECK(tnn_model_max_sample_values(m) == (size_t)1 << 28, "getter");
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    tnn_model_free(m);
    return rc;
}

/* A layer run alone is held to the default bound: conv2d's output for a
 * one-pixel image padded by 4096 alone exceeds it. The bound is checked
 * before the output's shape, so that no caller needs a tensor that big
 * to learn it. */
static int r_layer_forward_above_bound(int variant)
{
    (void)variant;
    tnn_layer *conv = tnn_conv2d_new(1, 1, 1, 1, 1, 4096);
    CHECK(conv != NULL, "fixture");
    size_t in_dims[4] = {1, 1, 1, 1}, out_dims[4] = {1, 1, 2, 2};
    tnn_tensor *in = tnn_tensor_new(4, in_dims);
    tnn_tensor *out = tnn_tensor_new(4, out_dims);
    CHECK(in && out, "fixture tensors");
    int rc = capture(tnn_layer_forward(conv, in, out, TNN_MODE_EVAL, NULL));
    CHECK(tnn_layer_in_features(conv) == 0, "the layer stayed bound");
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_layer_free(conv);
    return rc;
}

NEUTRAL_ROW(r_num_layers_null, tnn_model_num_layers(NULL) == 0)
NEUTRAL_ROW(r_model_layer_null, tnn_model_layer(NULL, 0) == NULL)

static int r_model_layer_range(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(0);
    CHECK(tnn_model_layer(m, 1) == NULL, "layer 1 of 1 is not NULL");
    CHECK(tnn_model_layer(m, SIZE_MAX) == NULL, "layer SIZE_MAX not NULL");
    tnn_model_free(m);
    return NEUTRAL;
}

NEUTRAL_ROW(r_model_in_null, tnn_model_in_features(NULL) == 0)
NEUTRAL_ROW(r_model_out_null, tnn_model_out_features(NULL) == 0)
NEUTRAL_ROW(r_model_params_null, tnn_model_num_params(NULL) == 0)

static int r_summary_null_model(int variant)
{
    (void)variant;
    char buf[16] = "untouched";
    size_t needed = 77;
    int rc = capture(tnn_model_summary(NULL, buf, sizeof buf, &needed));
    CHECK(strcmp(buf, "untouched") == 0, "buf was written");
    CHECK(needed == 77, "*needed was written");
    return rc;
}

static int r_summary_null_buf(int variant)
{
    (void)variant;
    tnn_model *m = mk_model(0);
    size_t needed = 77;
    int rc = capture(tnn_model_summary(m, NULL, 64, &needed));
    CHECK(needed == 77, "*needed was written");
    tnn_model_free(m);
    return rc;
}

CALL_ROW(r_set_seed_null, tnn_model_set_seed(NULL, 1))
NEUTRAL_ROW(r_model_rng_null, tnn_model_rng(NULL) == NULL)
CALL_ROW(r_set_loss_null, tnn_model_set_loss(NULL, TNN_LOSS_MSE))

/* A failed set_loss keeps MSE: 1-D class labels stay refused. variant:
 * the loss asked for. */
static int set_loss_case(int variant)
{
    tnn_model *m = mk_model(0);
    tnn_tensor *x = mk(2, 4, 0.5f), *idx = mk1(2, 1.0f), *y = mk(2, 3, 0.0f);
    int rc = capture(tnn_model_set_loss(m, variant));
    double l, acc = 0.0;
    CHECK(tnn_model_evaluate(m, x, y, &l, &acc) == TNN_OK, "evaluate failed");
    CHECK(isnan(acc), "the loss is no longer MSE");
    CHECK(tnn_model_evaluate(m, x, idx, &l, NULL) == TNN_E_SHAPE,
          "the loss is no longer MSE");
    tnn_tensor_free(x);
    tnn_tensor_free(idx);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

NEUTRAL_ROW(r_model_optim_null, tnn_model_optim(NULL) == NULL)
CALL_ROW(r_set_mode_null, tnn_model_set_mode(NULL, TNN_MODE_TRAIN))

/* variant: the mode asked for. */
static int set_mode_case(int variant)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_mode(m, variant));
    CHECK(tnn_model_mode(m) == TNN_MODE_EVAL, "the mode changed");
    tnn_model_free(m);
    return rc;
}

NEUTRAL_ROW(r_mode_null, tnn_model_mode(NULL) == 0)
CALL_ROW(r_check_finite_null, tnn_model_set_check_finite(NULL, 1))

/* variant: the flag passed. */
static int check_finite_case(int variant)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_check_finite(m, variant));
    tnn_model_free(m);
    return rc;
}

CALL_ROW(r_allreduce_null, tnn_model_set_allreduce(NULL, NULL, NULL))
CALL_ROW(r_shard_null, tnn_model_set_shard(NULL, 0, 2))
CALL_ROW(r_sync_bn_null, tnn_model_set_sync_batchnorm(NULL, 1))

/* variant: the flag passed. */
static int sync_bn_case(int variant)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_sync_batchnorm(m, variant));
    tnn_model_free(m);
    return rc;
}

/* variant: index * 16 + count passed to tnn_model_set_shard; or the
 * count 2^20 + 1. */
static int shard_case(int variant)
{
    tnn_model *m = mk_model(0);
    size_t index = (size_t)variant / 16, count = (size_t)variant % 16;
    if (variant == 0xfff)
        index = 0, count = ((size_t)1 << 20) + 1;
    int rc = capture(tnn_model_set_shard(m, index, count));
    tnn_model_free(m);
    return rc;
}

/* fit (variant 0) or evaluate (1) on replica 0 of 2 without a hook. */
static int shard_without_hook(int variant)
{
    tnn_model *m = mk_model(1);
    ck_assert_int_eq(tnn_model_set_shard(m, 0, 2), TNN_OK);
    tnn_tensor *x = mk(4, tnn_model_in_features(m), 0.5f);
    tnn_tensor *y = mk(4, tnn_model_out_features(m), 0.0f);
    int rc = capture(
        variant ? tnn_model_evaluate(m, x, y, NULL, NULL)
                : tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, NULL, NULL));
    CHECK(variant || tnn_optim_steps(tnn_model_optim(m)) == 0,
          "a step was taken");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

static const struct misuse model_settings_rows[] = {
    {"tnn_model_set_allreduce", "NULL model", INV, r_allreduce_null, 0},
    {"tnn_model_set_shard", "NULL model", INV, r_shard_null, 0},
    {"tnn_model_set_sync_batchnorm", "NULL model", INV, r_sync_bn_null, 0},
    {"tnn_model_set_sync_batchnorm", "on 2", INV, sync_bn_case, 2},
    {"tnn_model_set_sync_batchnorm", "on -1", INV, sync_bn_case, -1},
    {"tnn_model_set_shard", "index 2 of 2", INV, shard_case, 2 * 16 + 2},
    {"tnn_model_set_shard", "index 1 with count 0", INV, shard_case, 16},
    {"tnn_model_set_shard", "count above 2^20", INV, shard_case, 0xfff},
    {"tnn_model_fit", "replica 0 of 2 without a hook", STA, shard_without_hook,
     0},
    {"tnn_model_evaluate", "replica 0 of 2 without a hook", STA,
     shard_without_hook, 1},
    {"tnn_model_set_max_sample_values", "NULL model", INV, r_max_sample_null,
     0},
    {"tnn_model_set_max_sample_values", "below the input size", INV,
     r_max_sample_below_input, 0},
    {"tnn_model_set_max_sample_values", "from a fit callback", STA,
     r_max_sample_in_callback, 0},
    {"tnn_model_max_sample_values", "NULL gives 0", NEUTRAL,
     r_max_sample_get_null, 0},
    {"tnn_model_predict", "a geometry above the per-sample bound", INV,
     r_predict_above_bound, 0},
    {"tnn_layer_forward", "conv2d output above the default bound", INV,
     r_layer_forward_above_bound, 0},
    {"tnn_model_num_layers", "NULL gives 0", NEUTRAL, r_num_layers_null, 0},
    {"tnn_model_layer", "NULL gives NULL", NEUTRAL, r_model_layer_null, 0},
    {"tnn_model_layer", "i out of range gives NULL", NEUTRAL,
     r_model_layer_range, 0},
    {"tnn_model_in_features", "NULL gives 0", NEUTRAL, r_model_in_null, 0},
    {"tnn_model_out_features", "NULL gives 0", NEUTRAL, r_model_out_null, 0},
    {"tnn_model_num_params", "NULL gives 0", NEUTRAL, r_model_params_null, 0},
    {"tnn_model_summary", "NULL model", INV, r_summary_null_model, 0},
    {"tnn_model_summary", "NULL buf with size 64", INV, r_summary_null_buf, 0},
    {"tnn_model_set_seed", "NULL model", INV, r_set_seed_null, 0},
    {"tnn_model_rng", "NULL gives NULL", NEUTRAL, r_model_rng_null, 0},
    {"tnn_model_set_loss", "NULL model", INV, r_set_loss_null, 0},
    {"tnn_model_set_loss", "loss 2", INV, set_loss_case, 2},
    {"tnn_model_set_loss", "loss -1", INV, set_loss_case, -1},
    {"tnn_model_optim", "NULL gives NULL", NEUTRAL, r_model_optim_null, 0},
    {"tnn_model_set_mode", "NULL model", INV, r_set_mode_null, 0},
    {"tnn_model_set_mode", "mode 2", INV, set_mode_case, 2},
    {"tnn_model_set_mode", "mode -1", INV, set_mode_case, -1},
    {"tnn_model_mode", "NULL gives 0", NEUTRAL, r_mode_null, 0},
    {"tnn_model_set_check_finite", "NULL model", INV, r_check_finite_null, 0},
    {"tnn_model_set_check_finite", "on 2", INV, check_finite_case, 2},
    {"tnn_model_set_check_finite", "on -1", INV, check_finite_case, -1},
};

/* ========================================================================= */
/* Models: training, evaluation, prediction                                  */
/* ========================================================================= */

/* variant 0: train_batch, 1: compute_gradients, on a NULL model. */
static int r_train_null_model(int variant)
{
    tnn_tensor *x = mk(2, 4, 0.0f), *y = mk(2, 3, 0.0f);
    double loss = 42.0;
    int rc = capture(variant ? tnn_model_compute_gradients(NULL, x, y, &loss)
                             : tnn_model_train_batch(NULL, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

static int r_apply_null_model(int variant)
{
    (void)variant;
    return capture(tnn_model_apply_gradients(NULL));
}

/* Gradients computed, then no optimizer to apply them: they stay. */
static int r_apply_no_optim(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new(3);
    tnn_layer *dense = tnn_dense_new(3, 2);
    ck_assert_int_eq(tnn_model_add(m, dense), TNN_OK);
    tnn_tensor *x = mk(2, 3, 0.5f), *y = mk(2, 2, 1.0f);
    ck_assert_int_eq(tnn_model_compute_gradients(m, x, y, NULL), TNN_OK);
    float before = tnn_tensor_data(tnn_layer_grad(dense, 1))[0];
    int rc = capture(tnn_model_apply_gradients(m));
    CHECK(tnn_tensor_data(tnn_layer_grad(dense, 1))[0] == before &&
              before != 0.0f,
          "the gradients changed");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

/* train_batch on the env (with an optimizer and MSE, x and y its own);
 * variant: what is wrong. */
enum {
    TRAIN_NULL_X,
    TRAIN_NULL_Y,
    TRAIN_NO_OPTIM,
    TRAIN_X_WIDTH,
    TRAIN_X_1D,
    TRAIN_Y_ROWS,
    TRAIN_Y_WIDTH,
    TRAIN_CE_LABEL,
    TRAIN_CE_INDEX_ROWS
};
/* Added to a variant: the same case through tnn_model_compute_gradients. */
#define COMPUTE 0x100

static int train_case(int variant)
{
    const int compute = variant & COMPUTE;
    variant &= ~COMPUTE;
    int with_optim = 1, ce = 0;
    tnn_tensor *x2 = NULL, *y2 = NULL; /* replacements, freed here */
    switch (variant) {
    case TRAIN_NO_OPTIM: with_optim = 0; break;
    case TRAIN_X_WIDTH: x2 = mk(5, 5, 0.5f); break;
    case TRAIN_X_1D: x2 = mk1(4, 0.5f); break;
    case TRAIN_Y_ROWS: y2 = mk(4, 3, 0.0f); break;
    case TRAIN_Y_WIDTH: y2 = mk(5, 2, 0.0f); break;
    case TRAIN_CE_LABEL: y2 = mk1(5, 3.0f), ce = 1; break;
    case TRAIN_CE_INDEX_ROWS: y2 = mk1(4, 1.0f), ce = 1; break;
    }
    struct env e;
    env_open(&e, with_optim);
    if (ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    const tnn_tensor *x = variant == TRAIN_NULL_X ? NULL : x2 ? x2 : e.x;
    const tnn_tensor *y = variant == TRAIN_NULL_Y ? NULL : y2 ? y2 : e.y;
    double loss = 42.0;
    int rc = capture(compute ? tnn_model_compute_gradients(e.m, x, y, &loss)
                             : tnn_model_train_batch(e.m, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(x2);
    tnn_tensor_free(y2);
    return env_close(&e, rc);
}

/* A model with an optimizer but no layers. */
static int r_train_no_layers(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    tnn_tensor *x = mk(2, 3, 0.5f), *y = mk(2, 3, 0.0f);
    double loss = 42.0;
    int rc = capture(variant ? tnn_model_compute_gradients(m, x, y, &loss)
                             : tnn_model_train_batch(m, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(tnn_optim_steps(tnn_model_optim(m)) == 0, "a step was taken");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

static const struct misuse train_rows[] = {
    {"tnn_model_train_batch", "NULL model", INV, r_train_null_model, 0},
    {"tnn_model_train_batch", "NULL x", INV, train_case, TRAIN_NULL_X},
    {"tnn_model_train_batch", "NULL y", INV, train_case, TRAIN_NULL_Y},
    {"tnn_model_train_batch", "no optimizer", STA, train_case, TRAIN_NO_OPTIM},
    {"tnn_model_train_batch", "no layers", STA, r_train_no_layers, 0},
    {"tnn_model_train_batch", "x of 5 features for 4", SHP, train_case,
     TRAIN_X_WIDTH},
    {"tnn_model_train_batch", "1-D x", SHP, train_case, TRAIN_X_1D},
    {"tnn_model_train_batch", "y of other rows", SHP, train_case,
     TRAIN_Y_ROWS},
    {"tnn_model_train_batch", "y of other width", SHP, train_case,
     TRAIN_Y_WIDTH},
    {"tnn_model_train_batch", "cross-entropy class 3 of 3", INV, train_case,
     TRAIN_CE_LABEL},
    {"tnn_model_train_batch", "cross-entropy 4 labels for 5 rows", SHP,
     train_case, TRAIN_CE_INDEX_ROWS},
    {"tnn_model_compute_gradients", "NULL model", INV, r_train_null_model, 1},
    {"tnn_model_compute_gradients", "NULL x", INV, train_case,
     COMPUTE | TRAIN_NULL_X},
    {"tnn_model_compute_gradients", "NULL y", INV, train_case,
     COMPUTE | TRAIN_NULL_Y},
    {"tnn_model_compute_gradients", "no layers", STA, r_train_no_layers, 1},
    {"tnn_model_compute_gradients", "x of 5 features for 4", SHP, train_case,
     COMPUTE | TRAIN_X_WIDTH},
    {"tnn_model_compute_gradients", "1-D x", SHP, train_case,
     COMPUTE | TRAIN_X_1D},
    {"tnn_model_compute_gradients", "y of other rows", SHP, train_case,
     COMPUTE | TRAIN_Y_ROWS},
    {"tnn_model_compute_gradients", "y of other width", SHP, train_case,
     COMPUTE | TRAIN_Y_WIDTH},
    {"tnn_model_compute_gradients", "cross-entropy class 3 of 3", INV,
     train_case, COMPUTE | TRAIN_CE_LABEL},
    {"tnn_model_compute_gradients", "cross-entropy 4 labels for 5 rows", SHP,
     train_case, COMPUTE | TRAIN_CE_INDEX_ROWS},
    {"tnn_model_apply_gradients", "NULL model", INV, r_apply_null_model, 0},
    {"tnn_model_apply_gradients", "no optimizer", STA, r_apply_no_optim, 0},
};

static int r_fit_null_model(int variant)
{
    (void)variant;
    tnn_tensor *x = mk(2, 4, 0.0f), *y = mk(2, 3, 0.0f);
    int rc = capture(
        tnn_model_fit(NULL, x, y, NULL, NULL, 1, 2, 0, count_cb, NULL));
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

/* fit on the env: with an optimizer and MSE, its own x and y, no
 * validation data, 1 epoch of batches of 2 unshuffled; variant: what is
 * wrong. */
enum {
    FIT_NULL_X,
    FIT_NULL_Y,
    FIT_EPOCHS_0,
    FIT_EPOCHS_NEG,
    FIT_BATCH_0,
    FIT_SHUFFLE_2,
    FIT_SHUFFLE_NEG,
    FIT_XVAL_ONLY,
    FIT_YVAL_ONLY,
    FIT_NO_OPTIM,
    FIT_X_WIDTH,
    FIT_Y_ROWS,
    FIT_Y_WIDTH,
    FIT_XVAL_WIDTH,
    FIT_YVAL_ROWS,
    FIT_CE_LABEL,
    FIT_CE_VAL_LABEL
};

static int fit_case(int variant)
{
    int with_optim = 1, epochs = 1, shuffle = 0, ce = 0;
    size_t batch = 2;
    tnn_tensor *x2 = NULL, *y2 = NULL; /* replacements, freed here */
    tnn_tensor *xv = NULL, *yv = NULL; /* validation data, freed here */
    switch (variant) {
    case FIT_EPOCHS_0: epochs = 0; break;
    case FIT_EPOCHS_NEG: epochs = -1; break;
    case FIT_BATCH_0: batch = 0; break;
    case FIT_SHUFFLE_2: shuffle = 2; break;
    case FIT_SHUFFLE_NEG: shuffle = -1; break;
    case FIT_XVAL_ONLY: xv = mk(2, 4, 0.5f); break;
    case FIT_YVAL_ONLY: yv = mk(2, 3, 0.5f); break;
    case FIT_NO_OPTIM: with_optim = 0; break;
    case FIT_X_WIDTH: x2 = mk(5, 3, 0.5f); break;
    case FIT_Y_ROWS: y2 = mk(6, 3, 0.5f); break;
    case FIT_Y_WIDTH: y2 = mk(5, 4, 0.5f); break;
    case FIT_XVAL_WIDTH: xv = mk(2, 5, 0.5f), yv = mk(2, 3, 0.5f); break;
    case FIT_YVAL_ROWS: xv = mk(2, 4, 0.5f), yv = mk(3, 3, 0.5f); break;
    case FIT_CE_LABEL: y2 = mk1(5, -1.0f), ce = 1; break;
    case FIT_CE_VAL_LABEL:
        /* A bad validation label must be caught before any training
         * happens. */
        y2 = mk1(5, 1.0f);
        xv = mk(2, 4, 0.5f);
        yv = mk1(2, 0.0f);
        tnn_tensor_data(yv)[1] = 9.0f;
        ce = 1;
        break;
    }
    struct env e;
    env_open(&e, with_optim);
    if (ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    const tnn_tensor *x = variant == FIT_NULL_X ? NULL : x2 ? x2 : e.x;
    const tnn_tensor *y = variant == FIT_NULL_Y ? NULL : y2 ? y2 : e.y;
    int rc = capture(tnn_model_fit(e.m, x, y, xv, yv, epochs, batch, shuffle,
                                   count_cb, NULL));
    tnn_tensor_free(x2);
    tnn_tensor_free(y2);
    tnn_tensor_free(xv);
    tnn_tensor_free(yv);
    return env_close(&e, rc);
}

static int r_fit_no_layers(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    tnn_tensor *x = mk(4, 3, 0.5f), *y = mk(4, 3, 0.0f);
    callback_calls = 0;
    int rc =
        capture(tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 1, count_cb, NULL));
    CHECK(callback_calls == 0, "the callback was called");
    CHECK(tnn_optim_steps(tnn_model_optim(m)) == 0, "a step was taken");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

static const struct misuse fit_rows[] = {
    {"tnn_model_fit", "NULL model", INV, r_fit_null_model, 0},
    {"tnn_model_fit", "NULL x", INV, fit_case, FIT_NULL_X},
    {"tnn_model_fit", "NULL y", INV, fit_case, FIT_NULL_Y},
    {"tnn_model_fit", "epochs 0", INV, fit_case, FIT_EPOCHS_0},
    {"tnn_model_fit", "epochs -1", INV, fit_case, FIT_EPOCHS_NEG},
    {"tnn_model_fit", "batch_size 0", INV, fit_case, FIT_BATCH_0},
    {"tnn_model_fit", "shuffle 2", INV, fit_case, FIT_SHUFFLE_2},
    {"tnn_model_fit", "shuffle -1", INV, fit_case, FIT_SHUFFLE_NEG},
    {"tnn_model_fit", "x_val without y_val", INV, fit_case, FIT_XVAL_ONLY},
    {"tnn_model_fit", "y_val without x_val", INV, fit_case, FIT_YVAL_ONLY},
    {"tnn_model_fit", "no optimizer", STA, fit_case, FIT_NO_OPTIM},
    {"tnn_model_fit", "no layers", STA, r_fit_no_layers, 0},
    {"tnn_model_fit", "x of 3 features for 4", SHP, fit_case, FIT_X_WIDTH},
    {"tnn_model_fit", "y of other rows", SHP, fit_case, FIT_Y_ROWS},
    {"tnn_model_fit", "y of other width", SHP, fit_case, FIT_Y_WIDTH},
    {"tnn_model_fit", "x_val of other width", SHP, fit_case, FIT_XVAL_WIDTH},
    {"tnn_model_fit", "y_val of other rows", SHP, fit_case, FIT_YVAL_ROWS},
    {"tnn_model_fit", "cross-entropy class -1", INV, fit_case, FIT_CE_LABEL},
    {"tnn_model_fit", "cross-entropy validation class 9", INV, fit_case,
     FIT_CE_VAL_LABEL},
};

/* evaluate on the env (MSE, its own x and y); variant: what is wrong. The
 * outputs must stay. */
enum {
    EVAL_NULL_MODEL,
    EVAL_NULL_X,
    EVAL_NULL_Y,
    EVAL_X_WIDTH,
    EVAL_Y_ROWS,
    EVAL_Y_WIDTH,
    EVAL_CE_LABEL
};

static int evaluate_case(int variant)
{
    int ce = 0;
    tnn_tensor *x2 = NULL, *y2 = NULL; /* replacements, freed here */
    switch (variant) {
    case EVAL_X_WIDTH: x2 = mk(5, 2, 0.0f); break;
    case EVAL_Y_ROWS: y2 = mk(3, 3, 0.0f); break;
    case EVAL_Y_WIDTH: y2 = mk(5, 1, 0.0f); break;
    case EVAL_CE_LABEL: y2 = mk1(5, 3.0f), ce = 1; break;
    }
    struct env e;
    env_open(&e, 0);
    if (ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    tnn_model *m = variant == EVAL_NULL_MODEL ? NULL : e.m;
    const tnn_tensor *x = variant == EVAL_NULL_X ? NULL : x2 ? x2 : e.x;
    const tnn_tensor *y = variant == EVAL_NULL_Y ? NULL : y2 ? y2 : e.y;
    double loss = 42.0, acc = 42.0;
    int rc = capture(tnn_model_evaluate(m, x, y, &loss, &acc));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(acc == 42.0, "*accuracy was written");
    tnn_tensor_free(x2);
    tnn_tensor_free(y2);
    return env_close(&e, rc);
}

static const struct misuse evaluate_rows[] = {
    {"tnn_model_evaluate", "NULL model", INV, evaluate_case, EVAL_NULL_MODEL},
    {"tnn_model_evaluate", "NULL x", INV, evaluate_case, EVAL_NULL_X},
    {"tnn_model_evaluate", "NULL y", INV, evaluate_case, EVAL_NULL_Y},
    {"tnn_model_evaluate", "x of 2 features for 4", SHP, evaluate_case,
     EVAL_X_WIDTH},
    {"tnn_model_evaluate", "y of other rows", SHP, evaluate_case, EVAL_Y_ROWS},
    {"tnn_model_evaluate", "y of other width", SHP, evaluate_case,
     EVAL_Y_WIDTH},
    {"tnn_model_evaluate", "cross-entropy class 3 of 3", INV, evaluate_case,
     EVAL_CE_LABEL},
};

/* tnn_model_predict (PRED_ variants) or, in training mode,
 * tnn_model_forward (FWDM_ variants) on the env with its own x and out;
 * variant: what is wrong. out (the env's, or the replacement) must stay. */
enum {
    PRED_NULL_MODEL,
    PRED_NULL_X,
    PRED_NULL_OUT,
    PRED_X_WIDTH,
    PRED_X_1D,
    PRED_OUT_WIDTH,
    PRED_OUT_ROWS,
    FWDM_NULL_MODEL,
    FWDM_NULL_X,
    FWDM_NULL_OUT,
    FWDM_X_WIDTH,
    FWDM_OUT_WIDTH,
    FWDM_OUT_ROWS
};

static int predict_case(int variant)
{
    int fwd = 0, null_model = 0, null_x = 0, null_out = 0;
    tnn_tensor *x2 = NULL, *out2 = NULL; /* replacements, freed here */
    switch (variant) {
    case PRED_NULL_MODEL: null_model = 1; break;
    case PRED_NULL_X: null_x = 1; break;
    case PRED_NULL_OUT: null_out = 1; break;
    case PRED_X_WIDTH: x2 = mk(5, 3, 0.0f); break;
    case PRED_X_1D: x2 = mk1(4, 0.0f); break;
    case PRED_OUT_WIDTH: out2 = mk(5, 4, 7.0f); break;
    case PRED_OUT_ROWS: out2 = mk(4, 3, 7.0f); break;
    case FWDM_NULL_MODEL: fwd = 1, null_model = 1; break;
    case FWDM_NULL_X: fwd = 1, null_x = 1; break;
    case FWDM_NULL_OUT: fwd = 1, null_out = 1; break;
    case FWDM_X_WIDTH: fwd = 1, x2 = mk(5, 5, 0.0f); break;
    case FWDM_OUT_WIDTH: fwd = 1, out2 = mk(5, 2, 7.0f); break;
    case FWDM_OUT_ROWS: fwd = 1, out2 = mk(6, 3, 7.0f); break;
    }
    struct env e;
    env_open(&e, 0);
    if (fwd)
        ck_assert_int_eq(tnn_model_set_mode(e.m, TNN_MODE_TRAIN), TNN_OK);
    const tnn_tensor *x = null_x ? NULL : x2 ? x2 : e.x;
    tnn_tensor *out = null_out ? NULL : out2 ? out2 : e.out;
    struct snap s;
    if (out2)
        snap_take(&s, out2);
    tnn_model *m = null_model ? NULL : e.m;
    int rc = capture(fwd ? tnn_model_forward(m, x, out)
                         : tnn_model_predict(m, x, out));
    if (out2)
        CHECK(snap_same(&s, out2), "out was written");
    tnn_tensor_free(x2);
    tnn_tensor_free(out2);
    return env_close(&e, rc);
}

/* out is x itself on a width-keeping model: the outputs would overwrite
 * the inputs they are computed from. variant: CALL_PREDICT or
 * CALL_FORWARD. */
enum { CALL_PREDICT, CALL_FORWARD };

static int alias_case(int variant)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 3)), TNN_OK);
    tnn_tensor *x = mk(2, 3, 0.5f);
    struct snap s;
    snap_take(&s, x);
    int rc = capture(variant == CALL_FORWARD ? tnn_model_forward(m, x, x)
                                             : tnn_model_predict(m, x, x));
    CHECK(snap_same(&s, x), "x was overwritten");
    tnn_tensor_free(x);
    tnn_model_free(m);
    return rc;
}

static const struct misuse predict_rows[] = {
    {"tnn_model_predict", "NULL model", INV, predict_case, PRED_NULL_MODEL},
    {"tnn_model_predict", "NULL x", INV, predict_case, PRED_NULL_X},
    {"tnn_model_predict", "NULL out", INV, predict_case, PRED_NULL_OUT},
    {"tnn_model_predict", "x of 3 features for 4", SHP, predict_case,
     PRED_X_WIDTH},
    {"tnn_model_predict", "1-D x", SHP, predict_case, PRED_X_1D},
    {"tnn_model_predict", "out of other width", SHP, predict_case,
     PRED_OUT_WIDTH},
    {"tnn_model_predict", "out of other rows", SHP, predict_case,
     PRED_OUT_ROWS},
    {"tnn_model_predict", "out is x", INV, alias_case, CALL_PREDICT},
    {"tnn_model_forward", "NULL model", INV, predict_case, FWDM_NULL_MODEL},
    {"tnn_model_forward", "NULL x", INV, predict_case, FWDM_NULL_X},
    {"tnn_model_forward", "NULL out", INV, predict_case, FWDM_NULL_OUT},
    {"tnn_model_forward", "x of 5 features for 4", SHP, predict_case,
     FWDM_X_WIDTH},
    {"tnn_model_forward", "out of other width", SHP, predict_case,
     FWDM_OUT_WIDTH},
    {"tnn_model_forward", "out of other rows", SHP, predict_case,
     FWDM_OUT_ROWS},
    {"tnn_model_forward", "out is x", INV, alias_case, CALL_FORWARD},
};

/* ========================================================================= */
/* Progress getters                                                          */
/* ========================================================================= */

/* The header gives no value for NULL; NaN (no value, as val_loss has) or
 * 0 are both neutral. */
static int neutral_double(double v)
{
    return isnan(v) || v == 0.0;
}

NEUTRAL_ROW(r_prog_event_null, tnn_progress_event(NULL) == 0)
NEUTRAL_ROW(r_prog_epoch_null, tnn_progress_epoch(NULL) == 0)
NEUTRAL_ROW(r_prog_epochs_null, tnn_progress_epochs(NULL) == 0)
NEUTRAL_ROW(r_prog_batch_null, tnn_progress_batch(NULL) == 0)
NEUTRAL_ROW(r_prog_batches_null, tnn_progress_batches(NULL) == 0)
NEUTRAL_ROW(r_prog_loss_null, neutral_double(tnn_progress_loss(NULL)))
NEUTRAL_ROW(r_prog_acc_null, neutral_double(tnn_progress_accuracy(NULL)))
NEUTRAL_ROW(r_prog_vloss_null, neutral_double(tnn_progress_val_loss(NULL)))
NEUTRAL_ROW(r_prog_vacc_null, neutral_double(tnn_progress_val_accuracy(NULL)))
NEUTRAL_ROW(r_prog_secs_null, neutral_double(tnn_progress_seconds(NULL)))

static const struct misuse progress_rows[] = {
    {"tnn_progress_event", "NULL gives 0", NEUTRAL, r_prog_event_null, 0},
    {"tnn_progress_epoch", "NULL gives 0", NEUTRAL, r_prog_epoch_null, 0},
    {"tnn_progress_epochs", "NULL gives 0", NEUTRAL, r_prog_epochs_null, 0},
    {"tnn_progress_batch", "NULL gives 0", NEUTRAL, r_prog_batch_null, 0},
    {"tnn_progress_batches", "NULL gives 0", NEUTRAL, r_prog_batches_null, 0},
    {"tnn_progress_loss", "NULL gives NaN or 0", NEUTRAL, r_prog_loss_null, 0},
    {"tnn_progress_accuracy", "NULL gives NaN or 0", NEUTRAL, r_prog_acc_null,
     0},
    {"tnn_progress_val_loss", "NULL gives NaN or 0", NEUTRAL,
     r_prog_vloss_null, 0},
    {"tnn_progress_val_accuracy", "NULL gives NaN or 0", NEUTRAL,
     r_prog_vacc_null, 0},
    {"tnn_progress_seconds", "NULL gives NaN or 0", NEUTRAL, r_prog_secs_null,
     0},
};

/* ========================================================================= */
/* IDX files                                                                 */
/* ========================================================================= */

/* A valid 1-D file of three labels. */
static const unsigned char idx_ok[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
static const unsigned char idx_bad_magic[] = {1, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
static const unsigned char idx_float[] = {0, 0, 0x0d, 1, 0, 0,
                                          0, 1, 0,    0, 0, 0};
static const unsigned char idx_0dims[] = {0, 0, 8, 0, 1, 2, 3};
static const unsigned char idx_5dims[] = {
    0, 0, 8, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7};
static const unsigned char idx_zero_dim[] = {0, 0, 8, 2, 0, 0,
                                             0, 2, 0, 0, 0, 0};
static const unsigned char idx_overflow[] = {
    0,    0,    8,    4,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1};
static const unsigned char idx_short_header[] = {0, 0, 8, 2, 0, 0, 0, 3};
static const unsigned char idx_tiny[] = {0, 0};
static const unsigned char idx_short_data[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2};
static const unsigned char idx_long_data[] = {0, 0, 8, 1, 0, 0,
                                              0, 3, 1, 2, 3, 4};

/* The images loaded, each with the flags it is loaded with. */
enum {
    IDX_FLAGS_4,
    IDX_FLAGS_NEG,
    IDX_BAD_MAGIC,
    IDX_FLOAT,
    IDX_0_DIMS,
    IDX_5_DIMS,
    IDX_ZERO_DIM,
    IDX_OVERFLOW,
    IDX_SHORT_HEADER,
    IDX_TINY,
    IDX_SHORT_DATA,
    IDX_LONG_DATA,
    IDX_NULL_DATA /* from a buffer only */
};

static const struct idx_image {
    const unsigned char *bytes;
    size_t size;
    int flags;
} idx_images[] = {
    [IDX_FLAGS_4] = {idx_ok, sizeof idx_ok, 4},
    [IDX_FLAGS_NEG] = {idx_ok, sizeof idx_ok, -1},
    [IDX_BAD_MAGIC] = {idx_bad_magic, sizeof idx_bad_magic, 0},
    [IDX_FLOAT] = {idx_float, sizeof idx_float, 0},
    [IDX_0_DIMS] = {idx_0dims, sizeof idx_0dims, 0},
    [IDX_5_DIMS] = {idx_5dims, sizeof idx_5dims, 0},
    [IDX_ZERO_DIM] = {idx_zero_dim, sizeof idx_zero_dim, 0},
    [IDX_OVERFLOW] = {idx_overflow, sizeof idx_overflow, 0},
    [IDX_SHORT_HEADER] = {idx_short_header, sizeof idx_short_header, 0},
    [IDX_TINY] = {idx_tiny, sizeof idx_tiny, TNN_IDX_SCALE},
    [IDX_SHORT_DATA] = {idx_short_data, sizeof idx_short_data, 0},
    [IDX_LONG_DATA] = {idx_long_data, sizeof idx_long_data, TNN_IDX_FLATTEN},
    [IDX_NULL_DATA] = {NULL, 11, 0},
};

/* Loads idx_images[variant] from a buffer, or through a file when variant
 * has IDX_VIA_FILE; *out must be NULL after a failure. */
#define IDX_VIA_FILE 0x100

static int idx_case(int variant)
{
    const struct idx_image *img = &idx_images[variant & ~IDX_VIA_FILE];
    tnn_tensor *out = SENTINEL;
    int rc;
    if (variant & IDX_VIA_FILE) {
        char path[256];
        tmp_open();
        tmp_path(path, sizeof path, "data.idx");
        write_file(path, img->bytes, img->size);
        rc = capture(tnn_idx_load(path, img->flags, &out));
        tmp_close();
    } else {
        rc = capture(
            tnn_idx_load_buffer(img->bytes, img->size, img->flags, &out));
    }
    CHECK(out == NULL, "*out is not NULL after a failure");
    if (out != SENTINEL)
        tnn_tensor_free(out);
    return rc;
}

CALL_ROW(r_idxb_null_out, tnn_idx_load_buffer(idx_ok, sizeof idx_ok, 0, NULL))

static int r_idxf_null_path(int variant)
{
    (void)variant;
    tnn_tensor *out = SENTINEL;
    int rc = capture(tnn_idx_load(NULL, 0, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

CALL_ROW(r_idxf_null_out, tnn_idx_load("/nonexistent/x.idx", 0, NULL))

static int r_idxf_missing(int variant)
{
    (void)variant;
    tnn_tensor *out = SENTINEL;
    int rc = capture(tnn_idx_load("/nonexistent/tinynn/x.idx", 0, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

static int r_idxf_directory(int variant)
{
    (void)variant;
    tnn_tensor *out = SENTINEL;
    tmp_open();
    int rc = capture(tnn_idx_load(tmpdir, 0, &out));
    tmp_close();
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

#define FILE_IDX(image) (IDX_VIA_FILE | (image))

static const struct misuse idx_rows[] = {
    {"tnn_idx_load_buffer", "NULL data", INV, idx_case, IDX_NULL_DATA},
    {"tnn_idx_load_buffer", "NULL out", INV, r_idxb_null_out, 0},
    {"tnn_idx_load_buffer", "flag 4", INV, idx_case, IDX_FLAGS_4},
    {"tnn_idx_load_buffer", "flags -1", INV, idx_case, IDX_FLAGS_NEG},
    {"tnn_idx_load_buffer", "wrong magic", FMT, idx_case, IDX_BAD_MAGIC},
    {"tnn_idx_load_buffer", "float elements", FMT, idx_case, IDX_FLOAT},
    {"tnn_idx_load_buffer", "0 dims", FMT, idx_case, IDX_0_DIMS},
    {"tnn_idx_load_buffer", "5 dims", FMT, idx_case, IDX_5_DIMS},
    {"tnn_idx_load_buffer", "a zero dimension", FMT, idx_case, IDX_ZERO_DIM},
    {"tnn_idx_load_buffer", "dims overflow size_t", FMT, idx_case,
     IDX_OVERFLOW},
    {"tnn_idx_load_buffer", "truncated header", COR, idx_case,
     IDX_SHORT_HEADER},
    {"tnn_idx_load_buffer", "2 bytes", COR, idx_case, IDX_TINY},
    {"tnn_idx_load_buffer", "data one byte short", COR, idx_case,
     IDX_SHORT_DATA},
    {"tnn_idx_load_buffer", "data one byte long", COR, idx_case,
     IDX_LONG_DATA},
    {"tnn_idx_load", "NULL path", INV, r_idxf_null_path, 0},
    {"tnn_idx_load", "NULL out", INV, r_idxf_null_out, 0},
    {"tnn_idx_load", "flag 4", INV, idx_case, FILE_IDX(IDX_FLAGS_4)},
    {"tnn_idx_load", "flags -1", INV, idx_case, FILE_IDX(IDX_FLAGS_NEG)},
    {"tnn_idx_load", "no such file", TNN_E_IO, r_idxf_missing, 0},
    {"tnn_idx_load", "a directory", TNN_E_IO, r_idxf_directory, 0},
    {"tnn_idx_load", "wrong magic", FMT, idx_case, FILE_IDX(IDX_BAD_MAGIC)},
    {"tnn_idx_load", "float elements", FMT, idx_case, FILE_IDX(IDX_FLOAT)},
    {"tnn_idx_load", "0 dims", FMT, idx_case, FILE_IDX(IDX_0_DIMS)},
    {"tnn_idx_load", "5 dims", FMT, idx_case, FILE_IDX(IDX_5_DIMS)},
    {"tnn_idx_load", "a zero dimension", FMT, idx_case,
     FILE_IDX(IDX_ZERO_DIM)},
    {"tnn_idx_load", "dims overflow size_t", FMT, idx_case,
     FILE_IDX(IDX_OVERFLOW)},
    {"tnn_idx_load", "truncated header", COR, idx_case,
     FILE_IDX(IDX_SHORT_HEADER)},
    {"tnn_idx_load", "2 bytes", COR, idx_case, FILE_IDX(IDX_TINY)},
    {"tnn_idx_load", "data one byte short", COR, idx_case,
     FILE_IDX(IDX_SHORT_DATA)},
    {"tnn_idx_load", "data one byte long", COR, idx_case,
     FILE_IDX(IDX_LONG_DATA)},
};

/* ========================================================================= */
/* Model files                                                               */
/* ========================================================================= */

/* The rows of the library's own model files and of ONNX (since 1.8) share
 * their run helpers; a format gives the calls under test, the ONNX ones
 * behind wrappers that take the native calls' flags and ignore them. */
struct model_format {
    const char *file;        /* a file name in the temporary directory */
    const char *missing_dir; /* the same below a missing directory there */
    const char *missing;     /* a path that does not exist */
    int (*save)(const tnn_model *model, const char *path, int flags);
    int (*save_buffer)(const tnn_model *model, int flags, void *buf,
                       size_t size, size_t *needed);
    int (*load)(const char *path, tnn_model **out);
    int (*load_buffer)(const void *data, size_t size, tnn_model **out);
};

static int save_onnx_flags(const tnn_model *model, const char *path, int flags)
{
    (void)flags;
    return tnn_model_save_onnx(model, path);
}

static int save_onnx_buffer_flags(const tnn_model *model, int flags, void *buf,
                                  size_t size, size_t *needed)
{
    (void)flags;
    return tnn_model_save_onnx_buffer(model, buf, size, needed);
}

static const struct model_format native_format = {
    "model.tnn",
    "no/such/dir/model.tnn",
    "/nonexistent/tinynn/model.tnn",
    tnn_model_save,
    tnn_model_save_buffer,
    tnn_model_load,
    tnn_model_load_buffer,
};

static const struct model_format onnx_format = {
    "model.onnx",
    "no/such/dir/model.onnx",
    "/nonexistent/tinynn/model.onnx",
    save_onnx_flags,
    save_onnx_buffer_flags,
    tnn_model_load_onnx,
    tnn_model_load_onnx_buffer,
};

/* A valid image of mk_model(with_optim) in format f, from malloc, with a
 * byte to spare after it. */
static unsigned char *format_image(const struct model_format *f,
                                   int with_optim, size_t *size)
{
    tnn_model *m = mk_model(with_optim);
    ck_assert_int_eq(f->save_buffer(m, 0, NULL, 0, size), TNN_OK);
    unsigned char *buf = malloc(*size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(f->save_buffer(m, 0, buf, *size, NULL), TNN_OK);
    tnn_model_free(m);
    return buf;
}

/* Makes a's next allocation, the first of the call under test, fail (fail
 * on), or no allocation fail (off); a NULL a is no counting allocator. */
static void fail_first(struct counting_allocator *a, int on)
{
    if (a)
        a->fail_at = on ? a->calls + 1 : 0;
}

/* Removes the counting allocator a; no block may be live. */
static void counting_done(struct counting_allocator *a)
{
    long live = a->live;
    counting_remove();
    CHECK(live == 0, "a block leaked");
}

/* f->save(m, path, flags) onto an existing file f->file holding "old": on
 * failure the file must still hold "old" and no temporary file may remain.
 * Frees m. */
static int save_over_old(const struct model_format *f, tnn_model *m, int flags)
{
    char path[256];
    tmp_open();
    tmp_path(path, sizeof path, f->file);
    write_file(path, "old", 3);
    int rc = capture(f->save(m, path, flags));
    CHECK(file_is(path, "old", 3), "the file at path changed");
    CHECK(tmp_entries() == 1, "a file was left behind");
    tnn_model_free(m);
    tmp_close();
    return rc;
}

/* f->save of mk_model(0) with a NULL path. */
static int save_null_path(const struct model_format *f)
{
    tnn_model *m = mk_model(0);
    int rc = capture(f->save(m, NULL, 0));
    tnn_model_free(m);
    return rc;
}

/* f->save of mk_model(0) to a path in a missing directory (onto_dir 0) or
 * naming a directory (1), which cannot be replaced by a file; no file may
 * be left behind. */
static int save_bad_path(const struct model_format *f, int onto_dir)
{
    char path[256];
    tmp_open();
    if (onto_dir) {
        tmp_path(path, sizeof path, "sub");
        CHECK(mkdir(path, 0700) == 0, "mkdir failed");
    } else {
        tmp_path(path, sizeof path, f->missing_dir);
    }
    tnn_model *m = mk_model(0);
    int rc = capture(f->save(m, path, 0));
    CHECK(tmp_entries() == onto_dir, "a file was left behind");
    tnn_model_free(m);
    tmp_close();
    return rc;
}

/* f->save_buffer(m, flags) into a 16-byte buffer of 0xAB (NULL if
 * null_buf) of which size bytes are offered; with a the counting
 * allocator, the call's first allocation fails. buf must stay as it was,
 * and *needed too unless the call fails with TNN_E_SHAPE, when it must be
 * the image's size. Frees m. */
static int save_buffer_16(const struct model_format *f, tnn_model *m,
                          int flags, int null_buf, size_t size,
                          struct counting_allocator *a)
{
    unsigned char buf[16];
    memset(buf, 0xAB, sizeof buf);
    size_t needed = 77;
    fail_first(a, 1);
    int rc = capture(
        f->save_buffer(m, flags, null_buf ? NULL : buf, size, &needed));
    fail_first(a, 0);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0xAB, "buf was written");
    if (rc == TNN_E_SHAPE) {
        size_t full = 0;
        ck_assert_int_eq(f->save_buffer(m, flags, NULL, 0, &full), TNN_OK);
        CHECK(needed == full, "*needed is not the image's size");
    } else {
        CHECK(needed == 77, "*needed was written");
    }
    tnn_model_free(m);
    return rc;
}

/* After a failed load into out, which was SENTINEL (the call had no out
 * if null_out): *out must be NULL. */
static void out_reset(tnn_model *out, int null_out)
{
    if (!null_out)
        CHECK(out == NULL, "*out is not NULL after a failure");
    if (out != SENTINEL)
        tnn_model_free(out);
}

/* f->load_buffer(data, size) into out, or NULL if null_out; with a the
 * counting allocator, the call's first allocation fails. */
static int load_buffer_fails(const struct model_format *f, const void *data,
                             size_t size, int null_out,
                             struct counting_allocator *a)
{
    tnn_model *out = SENTINEL;
    fail_first(a, 1);
    int rc = capture(f->load_buffer(data, size, null_out ? NULL : &out));
    fail_first(a, 0);
    out_reset(out, null_out);
    return rc;
}

/* Where f->load reads from. */
enum {
    FROM_NULL,      /* a NULL path */
    FROM_MISSING,   /* f->missing */
    FROM_DIRECTORY, /* the temporary directory */
    FROM_SCRIPT,    /* f->file there, holding a shell script */
    FROM_BYTES      /* f->file there, holding size bytes at bytes */
};

/* f->load from where from says into out, or NULL if null_out. */
static int load_file_fails(const struct model_format *f, int from,
                           const void *bytes, size_t size, int null_out)
{
    static const char script[] = "#!/bin/sh\necho not a model\n";
    char path[256];
    const char *p = path;
    int tmp = from >= FROM_DIRECTORY;
    if (tmp)
        tmp_open();
    if (from == FROM_SCRIPT)
        bytes = script, size = sizeof script - 1;
    switch (from) {
    case FROM_NULL: p = NULL; break;
    case FROM_MISSING: p = f->missing; break;
    case FROM_DIRECTORY: p = tmpdir; break;
    default:
        tmp_path(path, sizeof path, f->file);
        write_file(path, bytes, size);
        break;
    }
    tnn_model *out = SENTINEL;
    int rc = capture(f->load(p, null_out ? NULL : &out));
    out_reset(out, null_out);
    if (tmp)
        tmp_close();
    return rc;
}

/* A run function whose helper makes and captures the call. */
#define HELPER_ROW(name, expr)                                                \
    static int name(int variant)                                              \
    {                                                                         \
        (void)variant;                                                        \
        return (expr);                                                        \
    }

/* save, without an optimizer, to an existing file holding "old"; variant:
 * what is wrong. On failure the file must still hold "old" and no
 * temporary file may remain. */
enum { SAVE_NULL_MODEL, SAVE_FLAGS_2, SAVE_FLAGS_NEG, SAVE_OPTIM_MISSING };

static int save_case(int variant)
{
    int with_optim = 0, flags = 0;
    switch (variant) {
    case SAVE_FLAGS_2: with_optim = 1, flags = 2; break;
    case SAVE_FLAGS_NEG: with_optim = 1, flags = -1; break;
    case SAVE_OPTIM_MISSING: flags = TNN_SAVE_OPTIMIZER; break;
    }
    tnn_model *m = variant == SAVE_NULL_MODEL ? NULL : mk_model(with_optim);
    return save_over_old(&native_format, m, flags);
}

HELPER_ROW(r_save_null_path, save_null_path(&native_format))
HELPER_ROW(r_save_missing_dir, save_bad_path(&native_format, 0))
/* path names a directory, which cannot be replaced by a file. */
HELPER_ROW(r_save_onto_dir, save_bad_path(&native_format, 1))

/* save_buffer of a model without an optimizer into a 16-byte buffer of
 * 0xAB; variant: what is wrong. */
enum {
    SAVEB_NULL_MODEL,
    SAVEB_NULL_BUF,
    SAVEB_FLAGS_4,
    SAVEB_OPTIM_MISSING,
    SAVEB_SMALL,
    SAVEB_ONE_BYTE /* 1 byte for a model saved with its optimizer */
};

static int save_buffer_case(int variant)
{
    int with_optim = 0, flags = 0;
    size_t size = 16;
    switch (variant) {
    case SAVEB_FLAGS_4: with_optim = 1, flags = 4; break;
    case SAVEB_OPTIM_MISSING: flags = TNN_SAVE_OPTIMIZER; break;
    case SAVEB_ONE_BYTE:
        with_optim = 1, flags = TNN_SAVE_OPTIMIZER, size = 1;
        break;
    }
    tnn_model *m = variant == SAVEB_NULL_MODEL ? NULL : mk_model(with_optim);
    return save_buffer_16(&native_format, m, flags, variant == SAVEB_NULL_BUF,
                          size, NULL);
}

static const struct misuse save_rows[] = {
    {"tnn_model_save", "NULL model", INV, save_case, SAVE_NULL_MODEL},
    {"tnn_model_save", "NULL path", INV, r_save_null_path, 0},
    {"tnn_model_save", "flag 2", INV, save_case, SAVE_FLAGS_2},
    {"tnn_model_save", "flags -1", INV, save_case, SAVE_FLAGS_NEG},
    {"tnn_model_save", "TNN_SAVE_OPTIMIZER without optimizer", STA, save_case,
     SAVE_OPTIM_MISSING},
    {"tnn_model_save", "directory missing", TNN_E_IO, r_save_missing_dir, 0},
    {"tnn_model_save", "path is a directory", TNN_E_IO, r_save_onto_dir, 0},
    {"tnn_model_save_buffer", "NULL model", INV, save_buffer_case,
     SAVEB_NULL_MODEL},
    {"tnn_model_save_buffer", "NULL buf with size 16", INV, save_buffer_case,
     SAVEB_NULL_BUF},
    {"tnn_model_save_buffer", "flag 4", INV, save_buffer_case, SAVEB_FLAGS_4},
    {"tnn_model_save_buffer", "TNN_SAVE_OPTIMIZER without optimizer", STA,
     save_buffer_case, SAVEB_OPTIM_MISSING},
    {"tnn_model_save_buffer", "16 bytes", SHP, save_buffer_case, SAVEB_SMALL},
    {"tnn_model_save_buffer", "1 byte, with optimizer", SHP, save_buffer_case,
     SAVEB_ONE_BYTE},
};

/* Load a damaged image; variant: the damage. */
enum {
    LOADB_GARBAGE, /* text */
    LOADB_HALF,    /* the first half */
    LOADB_NEWER,   /* format version 99 */
    LOADB_FLIPPED, /* one bit flipped in the middle */
    LOADB_LONGER   /* one byte appended */
};

static int load_buffer_case(int variant)
{
    size_t size;
    unsigned char *img = format_image(&native_format, 0, &size);
    static const char garbage[] = "this is not a libtinynn model file at all";
    const void *data = img;
    switch (variant) {
    case LOADB_GARBAGE:
        data = garbage;
        size = sizeof garbage;
        break;
    case LOADB_HALF: size /= 2; break;
    case LOADB_NEWER: img[8] = 99; break;
    case LOADB_FLIPPED: img[size / 2] ^= 0x10; break;
    default: img[size++] = 0; break;
    }
    int rc = load_buffer_fails(&native_format, data, size, 0, NULL);
    free(img);
    return rc;
}

HELPER_ROW(r_load_buf_null_data,
           load_buffer_fails(&native_format, NULL, 100, 0, NULL))

static int r_load_buf_null_out(int variant)
{
    (void)variant;
    size_t size;
    unsigned char *img = format_image(&native_format, 0, &size);
    int rc = load_buffer_fails(&native_format, img, size, 1, NULL);
    free(img);
    return rc;
}

/* Load from a path that holds no model; variant: what is there. */
enum {
    LOAD_NULL_PATH,
    LOAD_MISSING,
    LOAD_DIRECTORY,
    LOAD_SCRIPT,   /* a shell script */
    LOAD_TRUNCATED /* a model file without its last byte */
};

static int load_file_case(int variant)
{
    static const int from[] = {
        [LOAD_NULL_PATH] = FROM_NULL,      [LOAD_MISSING] = FROM_MISSING,
        [LOAD_DIRECTORY] = FROM_DIRECTORY, [LOAD_SCRIPT] = FROM_SCRIPT,
        [LOAD_TRUNCATED] = FROM_BYTES,
    };
    size_t size = 1;
    unsigned char *img = NULL;
    if (variant == LOAD_TRUNCATED)
        img = format_image(&native_format, 1, &size);
    int rc = load_file_fails(&native_format, from[variant], img, size - 1, 0);
    free(img);
    return rc;
}

CALL_ROW(r_load_null_out, tnn_model_load("/nonexistent/model.tnn", NULL))
CTOR_ROW(r_clone_model_null, tnn_model, tnn_model_clone(NULL), tnn_model_free)

static int r_clone_model_nomem(int variant)
{
    (void)variant;
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    a.fail_at = a.calls + 1;
    tnn_model *c = tnn_model_clone(m);
    int rc = capture(ptr_result(c));
    a.fail_at = 0;
    tnn_model_free(c);
    tnn_model_free(m);
    counting_done(&a);
    return rc;
}

static const struct misuse load_rows[] = {
    {"tnn_model_load_buffer", "NULL data", INV, r_load_buf_null_data, 0},
    {"tnn_model_load_buffer", "NULL out", INV, r_load_buf_null_out, 0},
    {"tnn_model_load_buffer", "text", FMT, load_buffer_case, LOADB_GARBAGE},
    {"tnn_model_load_buffer", "half a file", COR, load_buffer_case,
     LOADB_HALF},
    {"tnn_model_load_buffer", "format version 99", TNN_E_VERSION,
     load_buffer_case, LOADB_NEWER},
    {"tnn_model_load_buffer", "one bit flipped", COR, load_buffer_case,
     LOADB_FLIPPED},
    {"tnn_model_load_buffer", "one byte appended", COR, load_buffer_case,
     LOADB_LONGER},
    {"tnn_model_load", "NULL path", INV, load_file_case, LOAD_NULL_PATH},
    {"tnn_model_load", "NULL out", INV, r_load_null_out, 0},
    {"tnn_model_load", "no such file", TNN_E_IO, load_file_case, LOAD_MISSING},
    {"tnn_model_load", "a directory", TNN_E_IO, load_file_case,
     LOAD_DIRECTORY},
    {"tnn_model_load", "a shell script", FMT, load_file_case, LOAD_SCRIPT},
    {"tnn_model_load", "last byte missing", COR, load_file_case,
     LOAD_TRUNCATED},
    {"tnn_model_clone", "NULL model", INV, r_clone_model_null, 0},
    {"tnn_model_clone", "allocation fails", NOM, r_clone_model_nomem, 0},
};

/* ========================================================================= */
/* ONNX (since 1.8)                                                          */
/* ========================================================================= */

/* save_onnx to an existing file holding "old"; variant: what is wrong.
 * On failure the file must still hold "old" and no temporary file may
 * remain. */
enum { OSAVE_NULL_MODEL, OSAVE_NO_LAYERS };

static int onnx_save_case(int variant)
{
    tnn_model *m = variant == OSAVE_NULL_MODEL ? NULL : tnn_model_new(4);
    return save_over_old(&onnx_format, m, 0);
}

HELPER_ROW(r_onnx_save_null_path, save_null_path(&onnx_format))

/* path in a missing directory (variant 0) or naming a directory (1). */
static int onnx_save_path_case(int variant)
{
    return save_bad_path(&onnx_format, variant);
}

/* save_onnx_buffer of mk_model(0) into a 16-byte buffer of 0xAB; variant:
 * what is wrong. */
enum {
    OSAVEB_NULL_MODEL,
    OSAVEB_NULL_BUF,
    OSAVEB_NO_LAYERS,
    OSAVEB_SMALL,
    OSAVEB_NOMEM /* the first allocation of the call fails */
};

static int onnx_save_buffer_case(int variant)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = variant == OSAVEB_NULL_MODEL  ? NULL
                   : variant == OSAVEB_NO_LAYERS ? tnn_model_new(4)
                                                 : mk_model(0);
    int rc = save_buffer_16(&onnx_format, m, 0, variant == OSAVEB_NULL_BUF, 16,
                            variant == OSAVEB_NOMEM ? &a : NULL);
    counting_done(&a);
    return rc;
}

/* load_onnx_buffer; variant: what is wrong with the call. */
enum {
    OLOADB_NULL_DATA,
    OLOADB_NULL_OUT,
    OLOADB_GARBAGE,   /* text */
    OLOADB_NATIVE,    /* a libtinynn model file */
    OLOADB_TRUNCATED, /* an ONNX image without its last byte */
    OLOADB_NOMEM      /* the first allocation of the call fails */
};

static int onnx_load_buffer_case(int variant)
{
    static const char garbage[] = "this is not an ONNX model at all";
    size_t size, native_size;
    unsigned char *img = format_image(&onnx_format, 0, &size);
    unsigned char *native = format_image(&native_format, 0, &native_size);
    const void *data = img;
    switch (variant) {
    case OLOADB_NULL_DATA: data = NULL; break;
    case OLOADB_GARBAGE:
        data = garbage;
        size = sizeof garbage;
        break;
    case OLOADB_NATIVE:
        data = native;
        size = native_size;
        break;
    case OLOADB_TRUNCATED: size--; break;
    }
    struct counting_allocator a;
    counting_install(&a, 0);
    int rc =
        load_buffer_fails(&onnx_format, data, size, variant == OLOADB_NULL_OUT,
                          variant == OLOADB_NOMEM ? &a : NULL);
    counting_done(&a);
    free(img);
    free(native);
    return rc;
}

/* load_onnx from a path; variant: what is there. */
enum {
    OLOAD_NULL_PATH,
    OLOAD_NULL_OUT,
    OLOAD_MISSING,
    OLOAD_DIRECTORY,
    OLOAD_SCRIPT, /* a shell script */
    OLOAD_NATIVE  /* a libtinynn model file */
};

static int onnx_load_file_case(int variant)
{
    static const int from[] = {
        [OLOAD_NULL_PATH] = FROM_NULL,  [OLOAD_NULL_OUT] = FROM_MISSING,
        [OLOAD_MISSING] = FROM_MISSING, [OLOAD_DIRECTORY] = FROM_DIRECTORY,
        [OLOAD_SCRIPT] = FROM_SCRIPT,   [OLOAD_NATIVE] = FROM_BYTES,
    };
    size_t size = 0;
    unsigned char *native = NULL;
    if (variant == OLOAD_NATIVE)
        native = format_image(&native_format, 0, &size);
    int rc = load_file_fails(&onnx_format, from[variant], native, size,
                             variant == OLOAD_NULL_OUT);
    free(native);
    return rc;
}

static const struct misuse onnx_rows[] = {
    {"tnn_model_load_onnx_buffer", "NULL data", INV, onnx_load_buffer_case,
     OLOADB_NULL_DATA},
    {"tnn_model_load_onnx_buffer", "NULL out", INV, onnx_load_buffer_case,
     OLOADB_NULL_OUT},
    {"tnn_model_load_onnx_buffer", "text", FMT, onnx_load_buffer_case,
     OLOADB_GARBAGE},
    {"tnn_model_load_onnx_buffer", "a libtinynn model file", FMT,
     onnx_load_buffer_case, OLOADB_NATIVE},
    {"tnn_model_load_onnx_buffer", "last byte missing", FMT,
     onnx_load_buffer_case, OLOADB_TRUNCATED},
    {"tnn_model_load_onnx_buffer", "allocation fails", NOM,
     onnx_load_buffer_case, OLOADB_NOMEM},
    {"tnn_model_load_onnx", "NULL path", INV, onnx_load_file_case,
     OLOAD_NULL_PATH},
    {"tnn_model_load_onnx", "NULL out", INV, onnx_load_file_case,
     OLOAD_NULL_OUT},
    {"tnn_model_load_onnx", "no such file", TNN_E_IO, onnx_load_file_case,
     OLOAD_MISSING},
    {"tnn_model_load_onnx", "a directory", TNN_E_IO, onnx_load_file_case,
     OLOAD_DIRECTORY},
    {"tnn_model_load_onnx", "a shell script", FMT, onnx_load_file_case,
     OLOAD_SCRIPT},
    {"tnn_model_load_onnx", "a libtinynn model file", FMT, onnx_load_file_case,
     OLOAD_NATIVE},
    {"tnn_model_save_onnx", "NULL model", INV, onnx_save_case,
     OSAVE_NULL_MODEL},
    {"tnn_model_save_onnx", "NULL path", INV, r_onnx_save_null_path, 0},
    {"tnn_model_save_onnx", "model without layers", STA, onnx_save_case,
     OSAVE_NO_LAYERS},
    {"tnn_model_save_onnx", "directory missing", TNN_E_IO, onnx_save_path_case,
     0},
    {"tnn_model_save_onnx", "path is a directory", TNN_E_IO,
     onnx_save_path_case, 1},
    {"tnn_model_save_onnx_buffer", "NULL model", INV, onnx_save_buffer_case,
     OSAVEB_NULL_MODEL},
    {"tnn_model_save_onnx_buffer", "NULL buf with size 16", INV,
     onnx_save_buffer_case, OSAVEB_NULL_BUF},
    {"tnn_model_save_onnx_buffer", "model without layers", STA,
     onnx_save_buffer_case, OSAVEB_NO_LAYERS},
    {"tnn_model_save_onnx_buffer", "16 bytes", SHP, onnx_save_buffer_case,
     OSAVEB_SMALL},
    {"tnn_model_save_onnx_buffer", "allocation fails", NOM,
     onnx_save_buffer_case, OSAVEB_NOMEM},
};

/* ========================================================================= */
/* The tables and the tests                                                  */
/* ========================================================================= */

/* =========================================================================
 */
/* Metrics (since 1.7)                                                       */
/* ========================================================================= */

/* Classification calls on 4 rows of 3-class scores and index labels;
 * variant: what is wrong. The outputs must stay as they were. */
enum {
    MET_CLASSES_NULL_SCORES,
    MET_CLASSES_1D_SCORES,
    MET_CLASSES_SIZE,
    MET_CLASSES_NAN,
    MET_CONF_NULL_COUNTS,
    MET_CONF_CLASSES0,
    MET_CONF_ROWS,
    MET_CONF_LABEL_RANGE,
    MET_CONF_LABEL_FRACTION,
    MET_CONF_COLUMNS,
    MET_ACC_NULL_OUT,
    MET_ACC_ROWS,
    MET_ACC_LABEL_NEG,
    MET_TOPK_K0,
    MET_TOPK_K_TOO_LARGE,
    MET_TOPK_1D
};

static int metrics_case(int variant)
{
    tnn_tensor *scores = mk(4, 3, 0.0f), *labels = mk1(4, 1.0f);
    tnn_tensor *classes = mk1(variant == MET_CLASSES_SIZE ? 3 : 4, 9.0f);
    tnn_tensor *short_labels = mk1(3, 0.0f), *flat = mk1(4, 0.5f);
    for (int i = 0; i < 4; i++)
        tnn_tensor_data(scores)[i * 3 + i % 3] = 1.0f;
    if (variant == MET_CLASSES_NAN)
        tnn_tensor_data(scores)[5] = NAN;
    if (variant == MET_CONF_LABEL_RANGE)
        tnn_tensor_data(labels)[2] = 3.0f;
    if (variant == MET_CONF_LABEL_FRACTION)
        tnn_tensor_data(labels)[2] = 0.5f;
    if (variant == MET_ACC_LABEL_NEG)
        tnn_tensor_data(labels)[0] = -1.0f;
    size_t counts[16];
    for (int i = 0; i < 16; i++)
        counts[i] = 77;
    double out = 5.0;
    int rc = 0;
    switch (variant) {
    case MET_CLASSES_NULL_SCORES:
        rc = tnn_predicted_classes(NULL, classes);
        break;
    case MET_CLASSES_1D_SCORES:
        rc = tnn_predicted_classes(flat, classes);
        break;
    case MET_CLASSES_SIZE:
    case MET_CLASSES_NAN: rc = tnn_predicted_classes(scores, classes); break;
    case MET_CONF_NULL_COUNTS:
        rc = tnn_confusion_matrix(scores, labels, 3, NULL);
        break;
    case MET_CONF_CLASSES0:
        rc = tnn_confusion_matrix(labels, labels, 0, counts);
        break;
    case MET_CONF_ROWS:
        rc = tnn_confusion_matrix(scores, short_labels, 3, counts);
        break;
    case MET_CONF_LABEL_RANGE:
    case MET_CONF_LABEL_FRACTION:
        rc = tnn_confusion_matrix(scores, labels, 3, counts);
        break;
    case MET_CONF_COLUMNS:
        rc = tnn_confusion_matrix(scores, labels, 4, counts);
        break;
    case MET_ACC_NULL_OUT: rc = tnn_accuracy(scores, labels, NULL); break;
    case MET_ACC_ROWS: rc = tnn_accuracy(scores, short_labels, &out); break;
    case MET_ACC_LABEL_NEG: rc = tnn_accuracy(scores, labels, &out); break;
    case MET_TOPK_K0: rc = tnn_top_k_accuracy(scores, labels, 0, &out); break;
    case MET_TOPK_K_TOO_LARGE:
        rc = tnn_top_k_accuracy(scores, labels, 4, &out);
        break;
    case MET_TOPK_1D: rc = tnn_top_k_accuracy(flat, labels, 1, &out); break;
    }
    rc = capture(rc);
    CHECK(out == 5.0, "the output was written");
    for (int i = 0; i < 16; i++)
        CHECK(counts[i] == 77, "the counts were written");
    for (size_t i = 0; i < tnn_tensor_size(classes); i++)
        CHECK(tnn_tensor_cdata(classes)[i] == 9.0f, "classes was written");
    tnn_tensor *all[] = {scores, labels, classes, short_labels, flat};
    for (size_t i = 0; i < 5; i++)
        tnn_tensor_free(all[i]);
    return rc;
}

static const size_t counts_2x2[4] = {3, 1, 0, 2};
static double metric_out;

CALL_ROW(r_class_scores_null,
         tnn_class_scores(NULL, 2, NULL, NULL, NULL, NULL))
CALL_ROW(r_class_scores_classes0,
         tnn_class_scores(counts_2x2, 0, NULL, NULL, NULL, NULL))
CALL_ROW(r_precision_average0, tnn_precision(counts_2x2, 2, 0, &metric_out))
CALL_ROW(r_precision_null_out,
         tnn_precision(counts_2x2, 2, TNN_AVERAGE_MACRO, NULL))
CALL_ROW(r_recall_average4, tnn_recall(counts_2x2, 2, 4, &metric_out))
CALL_ROW(r_recall_null_counts,
         tnn_recall(NULL, 2, TNN_AVERAGE_MICRO, &metric_out))
CALL_ROW(r_f1_classes0,
         tnn_f1_score(counts_2x2, 0, TNN_AVERAGE_WEIGHTED, &metric_out))
CALL_ROW(r_f1_classes_huge,
         tnn_f1_score(counts_2x2, SIZE_MAX, TNN_AVERAGE_MACRO, &metric_out))
CALL_ROW(r_print_null_stream, tnn_confusion_matrix_print(NULL, counts_2x2, 2))
CALL_ROW(r_print_null_counts, tnn_confusion_matrix_print(stdout, NULL, 2))

static int r_print_full_device(int variant)
{
    (void)variant;
    FILE *full = fopen("/dev/full", "w");
    CHECK(full != NULL, "cannot open /dev/full");
    int rc = capture(tnn_confusion_matrix_print(full, counts_2x2, 2));
    fclose(full);
    return rc;
}

/* Regression metrics of a (3, 2) prediction; variant: what is wrong. */
enum { REG_NULL_PRED, REG_NULL_OUT, REG_SHAPE, REG_FLAT_VS_COLUMN, REG_NAN };

static int regression_case(int variant, int which)
{
    tnn_tensor *pred = mk(3, 2, 1.0f), *target = mk(3, 2, 2.0f);
    tnn_tensor *other =
        variant == REG_FLAT_VS_COLUMN ? mk1(6, 1.0f) : mk(2, 3, 1.0f);
    if (variant == REG_NAN)
        tnn_tensor_data(target)[3] = NAN;
    const tnn_tensor *p = variant == REG_NULL_PRED ? NULL : pred;
    const tnn_tensor *t =
        variant == REG_SHAPE || variant == REG_FLAT_VS_COLUMN ? other : target;
    double out = 5.0, *o = variant == REG_NULL_OUT ? NULL : &out;
    int rc = which == 0   ? tnn_mean_absolute_error(p, t, o)
             : which == 1 ? tnn_root_mean_squared_error(p, t, o)
                          : tnn_r2_score(p, t, o);
    rc = capture(rc);
    CHECK(out == 5.0, "the output was written");
    tnn_tensor_free(pred);
    tnn_tensor_free(target);
    tnn_tensor_free(other);
    return rc;
}

static int mae_case(int variant)
{
    return regression_case(variant, 0);
}
static int rmse_case(int variant)
{
    return regression_case(variant, 1);
}
static int r2_case(int variant)
{
    return regression_case(variant, 2);
}

static const struct misuse metrics_rows[] = {
    {"tnn_predicted_classes", "NULL scores", INV, metrics_case,
     MET_CLASSES_NULL_SCORES},
    {"tnn_predicted_classes", "1-D scores", SHP, metrics_case,
     MET_CLASSES_1D_SCORES},
    {"tnn_predicted_classes", "classes of 3 for 4 rows", SHP, metrics_case,
     MET_CLASSES_SIZE},
    {"tnn_predicted_classes", "a NaN score", INV, metrics_case,
     MET_CLASSES_NAN},
    {"tnn_confusion_matrix", "NULL counts", INV, metrics_case,
     MET_CONF_NULL_COUNTS},
    {"tnn_confusion_matrix", "classes 0", INV, metrics_case,
     MET_CONF_CLASSES0},
    {"tnn_confusion_matrix", "labels of 3 rows for 4", SHP, metrics_case,
     MET_CONF_ROWS},
    {"tnn_confusion_matrix", "label 3 of 3 classes", INV, metrics_case,
     MET_CONF_LABEL_RANGE},
    {"tnn_confusion_matrix", "label 0.5", INV, metrics_case,
     MET_CONF_LABEL_FRACTION},
    {"tnn_confusion_matrix", "3 score columns for 4 classes", SHP,
     metrics_case, MET_CONF_COLUMNS},
    {"tnn_accuracy", "NULL accuracy", INV, metrics_case, MET_ACC_NULL_OUT},
    {"tnn_accuracy", "labels of 3 rows for 4", SHP, metrics_case,
     MET_ACC_ROWS},
    {"tnn_accuracy", "label -1", INV, metrics_case, MET_ACC_LABEL_NEG},
    {"tnn_top_k_accuracy", "k 0", INV, metrics_case, MET_TOPK_K0},
    {"tnn_top_k_accuracy", "k above the classes", INV, metrics_case,
     MET_TOPK_K_TOO_LARGE},
    {"tnn_top_k_accuracy", "1-D scores", SHP, metrics_case, MET_TOPK_1D},
    {"tnn_class_scores", "NULL counts", INV, r_class_scores_null, 0},
    {"tnn_class_scores", "classes 0", INV, r_class_scores_classes0, 0},
    {"tnn_precision", "average 0", INV, r_precision_average0, 0},
    {"tnn_precision", "NULL out", INV, r_precision_null_out, 0},
    {"tnn_recall", "average 4", INV, r_recall_average4, 0},
    {"tnn_recall", "NULL counts", INV, r_recall_null_counts, 0},
    {"tnn_f1_score", "classes 0", INV, r_f1_classes0, 0},
    {"tnn_f1_score", "classes SIZE_MAX", INV, r_f1_classes_huge, 0},
    {"tnn_confusion_matrix_print", "NULL stream", INV, r_print_null_stream, 0},
    {"tnn_confusion_matrix_print", "NULL counts", INV, r_print_null_counts, 0},
    {"tnn_confusion_matrix_print", "a full device", TNN_E_IO,
     r_print_full_device, 0},
    {"tnn_mean_absolute_error", "NULL pred", INV, mae_case, REG_NULL_PRED},
    {"tnn_mean_absolute_error", "(3, 2) against (2, 3)", SHP, mae_case,
     REG_SHAPE},
    {"tnn_mean_absolute_error", "a NaN target", INV, mae_case, REG_NAN},
    {"tnn_root_mean_squared_error", "NULL out", INV, rmse_case, REG_NULL_OUT},
    {"tnn_root_mean_squared_error", "(3, 2) against (6)", SHP, rmse_case,
     REG_FLAT_VS_COLUMN},
    {"tnn_r2_score", "NULL out", INV, r2_case, REG_NULL_OUT},
    {"tnn_r2_score", "(3, 2) against (2, 3)", SHP, r2_case, REG_SHAPE},
    {"tnn_r2_score", "a NaN target", INV, r2_case, REG_NAN},
};

/* ========================================================================= */
/* Callbacks (since 1.7)                                                     */
/* ========================================================================= */

NOMEM_ROW(r_callbacks_new_nomem, tnn_callbacks, tnn_callbacks_new(),
          tnn_callbacks_free)

static int r_callbacks_free_null(int variant)
{
    (void)variant;
    tnn_callbacks_free(NULL);
    return NEUTRAL;
}

NEUTRAL_ROW(r_stopped_epoch_null, tnn_callbacks_stopped_epoch(NULL) == -1)
NEUTRAL_ROW(r_progress_model_null, tnn_progress_model(NULL) == NULL)
CALL_ROW(r_callbacks_add_null_list, tnn_callbacks_add(NULL, count_cb, NULL))
CALL_ROW(r_callbacks_progress_null_list,
         tnn_callbacks_add_progress(NULL, stdout))
CALL_ROW(r_callbacks_early_null_list,
         tnn_callbacks_add_early_stopping(NULL, TNN_MONITOR_LOSS, 1, 0.0, 0))
CALL_ROW(r_callbacks_reduce_null_list,
         tnn_callbacks_add_reduce_lr(NULL, TNN_MONITOR_LOSS, 0.5, 1, 0.0, 0.0))

/* Calls on a fresh list; variant: the bad argument. Nothing is added. */
enum {
    CB_NULL_FN,
    CB_NULL_STREAM,
    CB_EARLY_MONITOR0,
    CB_EARLY_MONITOR5,
    CB_EARLY_PATIENCE,
    CB_EARLY_DELTA,
    CB_EARLY_DELTA_NAN,
    CB_EARLY_RESTORE,
    CB_REDUCE_FACTOR0,
    CB_REDUCE_FACTOR1,
    CB_REDUCE_FACTOR_NAN,
    CB_REDUCE_PATIENCE,
    CB_REDUCE_MIN_LR,
    CB_REDUCE_MONITOR
};

static int callbacks_case(int variant)
{
    tnn_callbacks *list = tnn_callbacks_new();
    CHECK(list != NULL, "fixture");
    const int loss = TNN_MONITOR_LOSS;
    int rc = 0;
    switch (variant) {
    case CB_NULL_FN: rc = tnn_callbacks_add(list, NULL, NULL); break;
    case CB_NULL_STREAM: rc = tnn_callbacks_add_progress(list, NULL); break;
    case CB_EARLY_MONITOR0:
        rc = tnn_callbacks_add_early_stopping(list, 0, 1, 0.0, 0);
        break;
    case CB_EARLY_MONITOR5:
        rc = tnn_callbacks_add_early_stopping(list, 5, 1, 0.0, 0);
        break;
    case CB_EARLY_PATIENCE:
        rc = tnn_callbacks_add_early_stopping(list, loss, -1, 0.0, 0);
        break;
    case CB_EARLY_DELTA:
        rc = tnn_callbacks_add_early_stopping(list, loss, 1, -0.1, 0);
        break;
    case CB_EARLY_DELTA_NAN:
        rc = tnn_callbacks_add_early_stopping(list, loss, 1, NAN, 0);
        break;
    case CB_EARLY_RESTORE:
        rc = tnn_callbacks_add_early_stopping(list, loss, 1, 0.0, 2);
        break;
    case CB_REDUCE_FACTOR0:
        rc = tnn_callbacks_add_reduce_lr(list, loss, 0.0, 1, 0.0, 0.0);
        break;
    case CB_REDUCE_FACTOR1:
        rc = tnn_callbacks_add_reduce_lr(list, loss, 1.0, 1, 0.0, 0.0);
        break;
    case CB_REDUCE_FACTOR_NAN:
        rc = tnn_callbacks_add_reduce_lr(list, loss, NAN, 1, 0.0, 0.0);
        break;
    case CB_REDUCE_PATIENCE:
        rc = tnn_callbacks_add_reduce_lr(list, loss, 0.5, -1, 0.0, 0.0);
        break;
    case CB_REDUCE_MIN_LR:
        rc = tnn_callbacks_add_reduce_lr(list, loss, 0.5, 1, 0.0, -1.0);
        break;
    case CB_REDUCE_MONITOR:
        rc = tnn_callbacks_add_reduce_lr(list, -1, 0.5, 1, 0.0, 0.0);
        break;
    }
    rc = capture(rc);
    tnn_callbacks_free(list);
    return rc;
}

/* tnn_callbacks_run called by hand with a NULL list or progress: it asks
 * to stop and records TNN_E_INVALID. */
static int r_callbacks_run_null(int variant)
{
    (void)variant;
    CHECK(tnn_callbacks_run(NULL, NULL) == 1, "did not ask to stop");
    int code = tnn_last_error_code();
    capture(code);
    return code;
}

/* From inside a fit, through tnn_progress_model(): what a callback may not
 * change is refused; variant: the call. */
enum {
    BUSY_POP,
    BUSY_INSERT,
    BUSY_REPLACE,
    BUSY_SET_HUBER,
    BUSY_DECAY,
    BUSY_TRAINABLE,
    BUSY_LAYER_INIT
};

static int busy_variant;
static int busy_rc;

static int busy_cb(const tnn_progress *p, void *user)
{
    (void)user;
    tnn_model *m = tnn_progress_model(p);
    tnn_layer *first = tnn_model_layer(m, 0);
    tnn_rng *rng = tnn_model_rng(m);
    switch (busy_variant) {
    case BUSY_POP: busy_rc = ptr_result(tnn_model_pop(m)); break;
    case BUSY_INSERT:
        busy_rc = tnn_model_insert(m, 1, tnn_identity_new());
        break;
    case BUSY_REPLACE:
        busy_rc = tnn_model_replace(m, 0, tnn_dense_new(4, 3), NULL);
        break;
    case BUSY_SET_HUBER: busy_rc = tnn_model_set_huber_delta(m, 2.0f); break;
    case BUSY_DECAY:
        busy_rc = tnn_optim_set_weight_decay(tnn_model_optim(m), 0.1f);
        break;
    case BUSY_TRAINABLE: busy_rc = tnn_layer_set_trainable(first, 0); break;
    case BUSY_LAYER_INIT: busy_rc = tnn_layer_init(first, rng); break;
    }
    return 1;
}

static int busy_case(int variant)
{
    struct env e;
    env_open(&e, 1);
    busy_variant = variant;
    busy_rc = 0;
    CHECK(tnn_model_fit(e.m, e.x, e.y, NULL, NULL, 1, 5, 0, busy_cb, NULL) ==
              TNN_OK,
          "fixture");
    int rc = capture(busy_rc);
    CHECK(tnn_model_num_layers(e.m) == 1, "the layer count changed");
    CHECK(tnn_layer_trainable(tnn_model_layer(e.m, 0)) == 1,
          "the layer was frozen");
    tnn_model_free(e.m);
    tnn_tensor_free(e.x);
    tnn_tensor_free(e.y);
    tnn_tensor_free(e.out);
    return rc;
}

static const struct misuse callbacks_rows[] = {
    {"tnn_callbacks_new", "allocation fails", NOM, r_callbacks_new_nomem, 0},
    {"tnn_callbacks_free", "NULL list", NEUTRAL, r_callbacks_free_null, 0},
    {"tnn_callbacks_add", "NULL list", INV, r_callbacks_add_null_list, 0},
    {"tnn_callbacks_add", "NULL fn", INV, callbacks_case, CB_NULL_FN},
    {"tnn_callbacks_add_progress", "NULL list", INV,
     r_callbacks_progress_null_list, 0},
    {"tnn_callbacks_add_progress", "NULL stream", INV, callbacks_case,
     CB_NULL_STREAM},
    {"tnn_callbacks_add_early_stopping", "NULL list", INV,
     r_callbacks_early_null_list, 0},
    {"tnn_callbacks_add_early_stopping", "monitor 0", INV, callbacks_case,
     CB_EARLY_MONITOR0},
    {"tnn_callbacks_add_early_stopping", "monitor 5", INV, callbacks_case,
     CB_EARLY_MONITOR5},
    {"tnn_callbacks_add_early_stopping", "patience -1", INV, callbacks_case,
     CB_EARLY_PATIENCE},
    {"tnn_callbacks_add_early_stopping", "min_delta -0.1", INV, callbacks_case,
     CB_EARLY_DELTA},
    {"tnn_callbacks_add_early_stopping", "min_delta NaN", INV, callbacks_case,
     CB_EARLY_DELTA_NAN},
    {"tnn_callbacks_add_early_stopping", "restore_best 2", INV, callbacks_case,
     CB_EARLY_RESTORE},
    {"tnn_callbacks_add_reduce_lr", "NULL list", INV,
     r_callbacks_reduce_null_list, 0},
    {"tnn_callbacks_add_reduce_lr", "factor 0", INV, callbacks_case,
     CB_REDUCE_FACTOR0},
    {"tnn_callbacks_add_reduce_lr", "factor 1", INV, callbacks_case,
     CB_REDUCE_FACTOR1},
    {"tnn_callbacks_add_reduce_lr", "factor NaN", INV, callbacks_case,
     CB_REDUCE_FACTOR_NAN},
    {"tnn_callbacks_add_reduce_lr", "patience -1", INV, callbacks_case,
     CB_REDUCE_PATIENCE},
    {"tnn_callbacks_add_reduce_lr", "min_lr -1", INV, callbacks_case,
     CB_REDUCE_MIN_LR},
    {"tnn_callbacks_add_reduce_lr", "monitor -1", INV, callbacks_case,
     CB_REDUCE_MONITOR},
    {"tnn_callbacks_run", "NULL progress and list", INV, r_callbacks_run_null,
     0},
    {"tnn_callbacks_stopped_epoch", "NULL list", NEUTRAL, r_stopped_epoch_null,
     0},
    {"tnn_progress_model", "NULL progress", NEUTRAL, r_progress_model_null, 0},
    {"tnn_model_pop", "from a fit callback", STA, busy_case, BUSY_POP},
    {"tnn_model_insert", "from a fit callback", STA, busy_case, BUSY_INSERT},
    {"tnn_model_replace", "from a fit callback", STA, busy_case, BUSY_REPLACE},
    {"tnn_model_set_huber_delta", "from a fit callback", STA, busy_case,
     BUSY_SET_HUBER},
    {"tnn_optim_set_weight_decay", "from a fit callback", STA, busy_case,
     BUSY_DECAY},
    {"tnn_layer_set_trainable", "from a fit callback", STA, busy_case,
     BUSY_TRAINABLE},
    {"tnn_layer_init", "from a fit callback", STA, busy_case, BUSY_LAYER_INIT},
};

/* ========================================================================= */
/* Model surgery (since 1.7)                                                 */
/* ========================================================================= */

CTOR_ROW(r_layer_clone_null, tnn_layer, tnn_layer_clone(NULL), tnn_layer_free)

static int r_layer_clone_nomem(int variant)
{
    (void)variant;
    tnn_layer *dense = tnn_dense_new(4, 3);
    struct counting_allocator a;
    counting_install(&a, 1);
    tnn_layer *copy = tnn_layer_clone(dense);
    int rc = capture(ptr_result(copy));
    long live = a.live;
    counting_remove();
    tnn_layer_free(copy);
    tnn_layer_free(dense);
    CHECK(live == 0, "a block leaked");
    return rc;
}

static int r_pop_null(int variant)
{
    (void)variant;
    return capture(ptr_result(tnn_model_pop(NULL)));
}

static int r_pop_empty(int variant)
{
    (void)variant;
    tnn_model *m = tnn_model_new(3);
    int rc = capture(ptr_result(tnn_model_pop(m)));
    tnn_model_free(m);
    return rc;
}

/* Insert and replace on mk_model() (4 -> dense 4x3); variant: what is
 * wrong. The model keeps its one layer and its weights. */
enum {
    EDIT_INSERT_NULL_MODEL,
    EDIT_INSERT_NULL_LAYER,
    EDIT_INSERT_INDEX,
    EDIT_INSERT_SHAPE,
    EDIT_INSERT_OWNED,
    EDIT_INSERT_NOMEM,
    EDIT_REPLACE_NULL_MODEL,
    EDIT_REPLACE_NULL_LAYER,
    EDIT_REPLACE_INDEX,
    EDIT_REPLACE_SHAPE,
    EDIT_REPLACE_OWNED
};

static int edit_case(int variant)
{
    struct env e;
    env_open(&e, 1);
    tnn_model *other = mk_model(0);
    /* In front of the 4 -> 3 layer: 4 wide, so dense 4 -> 5 does not fit;
     * replacing it by 5 -> 3 does not take the model's 4 inputs. */
    tnn_layer *wrong = variant == EDIT_REPLACE_SHAPE ? tnn_dense_new(5, 3)
                                                     : tnn_dense_new(4, 5);
    tnn_layer *fits = tnn_identity_new(), *old = SENTINEL;
    int rc = 0;
    switch (variant) {
    case EDIT_INSERT_NULL_MODEL: rc = tnn_model_insert(NULL, 0, fits); break;
    case EDIT_INSERT_NULL_LAYER: rc = tnn_model_insert(e.m, 0, NULL); break;
    case EDIT_INSERT_INDEX: rc = tnn_model_insert(e.m, 2, fits); break;
    case EDIT_INSERT_SHAPE: rc = tnn_model_insert(e.m, 0, wrong); break;
    case EDIT_INSERT_OWNED:
        rc = tnn_model_insert(e.m, 0, tnn_model_layer(other, 0));
        break;
    case EDIT_INSERT_NOMEM: {
        /* Fill the list to its capacity of 8, then fail the growth. */
        for (int i = 0; i < 7; i++)
            CHECK(tnn_model_insert(e.m, 0, tnn_identity_new()) == TNN_OK,
                  "fixture");
        struct counting_allocator a;
        counting_install(&a, 1);
        rc = tnn_model_insert(e.m, 0, fits);
        counting_remove();
        while (tnn_model_num_layers(e.m) > 1) {
            tnn_layer *id = NULL;
            CHECK(tnn_model_replace(e.m, 0, tnn_identity_new(), &id) == TNN_OK,
                  "fixture");
            tnn_layer_free(id);
            tnn_layer *first = tnn_model_layer(e.m, 0);
            CHECK(strcmp(tnn_layer_name(first), "identity") == 0, "fixture");
            /* Take the identities off the front by rebuilding. */
            break;
        }
        break;
    }
    case EDIT_REPLACE_NULL_MODEL:
        rc = tnn_model_replace(NULL, 0, fits, &old);
        break;
    case EDIT_REPLACE_NULL_LAYER:
        rc = tnn_model_replace(e.m, 0, NULL, &old);
        break;
    case EDIT_REPLACE_INDEX: rc = tnn_model_replace(e.m, 1, fits, &old); break;
    case EDIT_REPLACE_SHAPE:
        rc = tnn_model_replace(e.m, 0, wrong, &old);
        break;
    case EDIT_REPLACE_OWNED:
        rc = tnn_model_replace(e.m, 0, tnn_model_layer(other, 0), &old);
        break;
    }
    rc = capture(rc);
    if (variant >= EDIT_REPLACE_NULL_MODEL)
        CHECK(old == NULL, "*old was not cleared");
    /* Refused layers were freed, as tnn_model_add() frees them; the ones
     * not passed are freed here. */
    if (variant != EDIT_INSERT_SHAPE && variant != EDIT_REPLACE_SHAPE)
        tnn_layer_free(wrong);
    if (variant == EDIT_INSERT_NULL_LAYER || variant == EDIT_INSERT_SHAPE ||
        variant == EDIT_INSERT_OWNED || variant == EDIT_REPLACE_NULL_LAYER ||
        variant == EDIT_REPLACE_SHAPE || variant == EDIT_REPLACE_OWNED)
        tnn_layer_free(fits);
    CHECK(tnn_model_num_layers(other) == 1, "the other model changed");
    tnn_model_free(other);
    if (variant == EDIT_INSERT_NOMEM) {
        tnn_model_free(e.m);
        tnn_tensor_free(e.x);
        tnn_tensor_free(e.y);
        tnn_tensor_free(e.out);
        return rc;
    }
    return env_close(&e, rc);
}

static const struct misuse surgery_rows[] = {
    {"tnn_layer_clone", "NULL layer", INV, r_layer_clone_null, 0},
    {"tnn_layer_clone", "allocation fails", NOM, r_layer_clone_nomem, 0},
    {"tnn_model_pop", "NULL model", INV, r_pop_null, 0},
    {"tnn_model_pop", "no layers", STA, r_pop_empty, 0},
    {"tnn_model_insert", "NULL model", INV, edit_case, EDIT_INSERT_NULL_MODEL},
    {"tnn_model_insert", "NULL layer", INV, edit_case, EDIT_INSERT_NULL_LAYER},
    {"tnn_model_insert", "index past the end", INV, edit_case,
     EDIT_INSERT_INDEX},
    {"tnn_model_insert", "gives 5 where 4 are taken", SHP, edit_case,
     EDIT_INSERT_SHAPE},
    {"tnn_model_insert", "a layer another model owns", STA, edit_case,
     EDIT_INSERT_OWNED},
    {"tnn_model_insert", "the layer list cannot grow", NOM, edit_case,
     EDIT_INSERT_NOMEM},
    {"tnn_model_replace", "NULL model", INV, edit_case,
     EDIT_REPLACE_NULL_MODEL},
    {"tnn_model_replace", "NULL layer", INV, edit_case,
     EDIT_REPLACE_NULL_LAYER},
    {"tnn_model_replace", "index past the last layer", INV, edit_case,
     EDIT_REPLACE_INDEX},
    {"tnn_model_replace", "takes 5 where 4 come", SHP, edit_case,
     EDIT_REPLACE_SHAPE},
    {"tnn_model_replace", "a layer another model owns", STA, edit_case,
     EDIT_REPLACE_OWNED},
};

/* ========================================================================= */
/* CSV, splits and scalers (since 1.7)                                       */
/* ========================================================================= */

static const char csv_good[] = "a,b,c\n1,2,3\n4,5,6\n";

/* tnn_csv_load_buffer() on csv_good unless said; variant: what is wrong.
 * *x and *y come back NULL. */
enum {
    CSV_NULL_DATA,
    CSV_NULL_X,
    CSV_FLAGS4,
    CSV_BOTH_FLAGS,
    CSV_DELIMITER,
    CSV_TARGETS_NO_Y,
    CSV_TARGET_EMPTY,
    CSV_TARGET_UNKNOWN,
    CSV_TARGET_REPEATED,
    CSV_TARGET_NAME_NO_HEADER,
    CSV_ALL_TARGETS,
    CSV_GZIP,
    CSV_EMPTY,
    CSV_FIELDS,
    CSV_WORD,
    CSV_TOO_LARGE
};

static int csv_case(int variant)
{
    const char *data = csv_good, *targets = "c";
    int flags = 0;
    char delimiter = 0;
    tnn_tensor *x = SENTINEL, *y = SENTINEL;
    tnn_tensor **px = &x, **py = &y;
    switch (variant) {
    case CSV_NULL_DATA: data = NULL; break;
    case CSV_NULL_X: px = NULL; break;
    case CSV_FLAGS4: flags = 4; break;
    case CSV_BOTH_FLAGS: flags = TNN_CSV_HEADER | TNN_CSV_NO_HEADER; break;
    case CSV_DELIMITER: delimiter = 'x'; break;
    case CSV_TARGETS_NO_Y: py = NULL; break;
    case CSV_TARGET_EMPTY: targets = "a,,b"; break;
    case CSV_TARGET_UNKNOWN: targets = "d"; break;
    case CSV_TARGET_REPEATED: targets = "c,2"; break;
    case CSV_TARGET_NAME_NO_HEADER:
        data = "1,2\n3,4\n";
        targets = "b";
        break;
    case CSV_ALL_TARGETS: targets = "a,b,c"; break;
    case CSV_GZIP: data = "\x1f\x8b\x08\x00rest"; break;
    case CSV_EMPTY: data = ""; break;
    case CSV_FIELDS: data = "a,b,c\n1,2,3\n4,5\n"; break;
    case CSV_WORD: data = "a,b,c\n1,2,3\n4,abc,6\n"; break;
    case CSV_TOO_LARGE: data = "a,b,c\n1,2,3\n4,1e39,6\n"; break;
    }
    size_t size = data ? strlen(data) : 8;
    int rc = capture(
        tnn_csv_load_buffer(data, size, flags, delimiter, targets, px, py));
    CHECK(!px || x == NULL, "*x was not cleared");
    CHECK(!py || y == NULL, "*y was not cleared");
    return rc;
}

/* tnn_csv_load() on files; variant: what is wrong. */
enum { CSVF_NULL_PATH, CSVF_MISSING, CSVF_DIRECTORY, CSVF_WORD };

static int csv_file_case(int variant)
{
    tmp_open();
    char path[256];
    tmp_path(path, sizeof path, "t.csv");
    if (variant == CSVF_WORD)
        write_file(path, "1,x\n", 4);
    if (variant == CSVF_DIRECTORY)
        snprintf(path, sizeof path, "%s", tmpdir);
    tnn_tensor *x = SENTINEL, *y = SENTINEL;
    int rc = capture(tnn_csv_load(variant == CSVF_NULL_PATH ? NULL : path, 0,
                                  0, NULL, &x, &y));
    CHECK(x == NULL && y == NULL, "the outputs were not cleared");
    tmp_close();
    return rc;
}

/* tnn_split_rows() of 4 rows; variant: what is wrong. */
enum {
    SPLIT_NULL_X,
    SPLIT_NULL_X_TRAIN,
    SPLIT_NULL_Y_TEST,
    SPLIT_FRACTION0,
    SPLIT_FRACTION1,
    SPLIT_FRACTION_NAN,
    SPLIT_ALL_TEST,
    SPLIT_Y_ROWS,
    SPLIT_SAME_WITH_RNG
};

static int split_case(int variant)
{
    tnn_tensor *x = mk(4, 2, 1.0f);
    tnn_tensor *y = mk(variant == SPLIT_Y_ROWS ? 3 : 4, 1, 0.0f);
    tnn_rng *rng = tnn_rng_new(1);
    tnn_tensor *a = SENTINEL, *b = SENTINEL, *c = SENTINEL, *d = SENTINEL;
    double fraction = 0.25;
    switch (variant) {
    case SPLIT_FRACTION0: fraction = 0.0; break;
    case SPLIT_FRACTION1: fraction = 1.0; break;
    case SPLIT_FRACTION_NAN: fraction = NAN; break;
    case SPLIT_ALL_TEST: fraction = 0.8; break;
    default: break;
    }
    int rc = tnn_split_rows(variant == SPLIT_NULL_X ? NULL : x,
                            variant == SPLIT_SAME_WITH_RNG ? x : y, fraction,
                            rng, variant == SPLIT_NULL_X_TRAIN ? NULL : &a, &b,
                            &c, variant == SPLIT_NULL_Y_TEST ? NULL : &d);
    rc = capture(rc);
    CHECK(b == NULL && c == NULL, "the outputs were not cleared");
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

CTOR_ROW(r_scaler_fit_null, tnn_scaler, tnn_scaler_fit(NULL), tnn_scaler_free)

static int r_scaler_fit_nan(int variant)
{
    (void)variant;
    tnn_tensor *x = mk(3, 2, 1.0f);
    tnn_tensor_data(x)[3] = NAN;
    tnn_scaler *sc = tnn_scaler_fit(x);
    int rc = capture(ptr_result(sc));
    tnn_scaler_free(sc);
    tnn_tensor_free(x);
    return rc;
}

static int r_scaler_free_null(int variant)
{
    (void)variant;
    tnn_scaler_free(NULL);
    return NEUTRAL;
}

NEUTRAL_ROW(r_scaler_features_null, tnn_scaler_features(NULL) == 0)
NEUTRAL_ROW(r_scaler_mean_null, tnn_scaler_mean(NULL) == NULL)
NEUTRAL_ROW(r_scaler_scale_null, tnn_scaler_scale(NULL) == NULL)

/* A scaler of 2 features applied, saved or loaded; variant: the call and
 * what is wrong. */
enum {
    SCALE_T_NULL_SCALER,
    SCALE_T_NULL_X,
    SCALE_T_WIDTH,
    SCALE_I_NULL_SCALER,
    SCALE_I_WIDTH,
    SCALE_SAVE_NULL_PATH,
    SCALE_SAVE_NO_DIR,
    SCALE_LOAD_NULL_OUT,
    SCALE_LOAD_MISSING,
    SCALE_LOAD_TEXT,
    SCALE_LOAD_TRUNCATED
};

static int scaler_case(int variant)
{
    tnn_tensor *x = mk(3, 2, 1.0f), *wide = mk(3, 3, 1.0f);
    tnn_tensor_data(x)[0] = 5.0f;
    tnn_scaler *sc = tnn_scaler_fit(x);
    CHECK(sc != NULL, "fixture");
    tmp_open();
    char path[256], good[256];
    tmp_path(path, sizeof path, "s.bin");
    tmp_path(good, sizeof good, "good.bin");
    CHECK(tnn_scaler_save(sc, good) == TNN_OK, "fixture");
    tnn_scaler *loaded = SENTINEL;
    int rc = 0;
    switch (variant) {
    case SCALE_T_NULL_SCALER: rc = tnn_scaler_transform(NULL, x); break;
    case SCALE_T_NULL_X: rc = tnn_scaler_transform(sc, NULL); break;
    case SCALE_T_WIDTH: rc = tnn_scaler_transform(sc, wide); break;
    case SCALE_I_NULL_SCALER: rc = tnn_scaler_inverse(NULL, x); break;
    case SCALE_I_WIDTH: rc = tnn_scaler_inverse(sc, wide); break;
    case SCALE_SAVE_NULL_PATH: rc = tnn_scaler_save(sc, NULL); break;
    case SCALE_SAVE_NO_DIR:
        tmp_path(path, sizeof path, "no/such/dir/s.bin");
        rc = tnn_scaler_save(sc, path);
        break;
    case SCALE_LOAD_NULL_OUT: rc = tnn_scaler_load(good, NULL); break;
    case SCALE_LOAD_MISSING: rc = tnn_scaler_load(path, &loaded); break;
    case SCALE_LOAD_TEXT:
        write_file(path, "mean,scale\n1,2\n", 15);
        rc = tnn_scaler_load(path, &loaded);
        break;
    case SCALE_LOAD_TRUNCATED: {
        unsigned char buf[64];
        FILE *f = fopen(good, "rb");
        CHECK(f != NULL, "fixture");
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        write_file(path, buf, n - 1);
        rc = tnn_scaler_load(path, &loaded);
        break;
    }
    }
    rc = capture(rc);
    if (variant >= SCALE_LOAD_MISSING)
        CHECK(loaded == NULL, "*out was not cleared");
    CHECK(tnn_tensor_cdata(x)[0] == 5.0f, "x changed");
    tmp_close();
    tnn_scaler_free(sc);
    tnn_tensor_free(x);
    tnn_tensor_free(wide);
    return rc;
}

static const struct misuse data_rows[] = {
    {"tnn_csv_load_buffer", "NULL data", INV, csv_case, CSV_NULL_DATA},
    {"tnn_csv_load_buffer", "NULL x", INV, csv_case, CSV_NULL_X},
    {"tnn_csv_load_buffer", "flags 4", INV, csv_case, CSV_FLAGS4},
    {"tnn_csv_load_buffer", "both header flags", INV, csv_case,
     CSV_BOTH_FLAGS},
    {"tnn_csv_load_buffer", "delimiter 'x'", INV, csv_case, CSV_DELIMITER},
    {"tnn_csv_load_buffer", "targets without y", INV, csv_case,
     CSV_TARGETS_NO_Y},
    {"tnn_csv_load_buffer", "an empty target", INV, csv_case,
     CSV_TARGET_EMPTY},
    {"tnn_csv_load_buffer", "an unknown name", INV, csv_case,
     CSV_TARGET_UNKNOWN},
    {"tnn_csv_load_buffer", "a column twice", INV, csv_case,
     CSV_TARGET_REPEATED},
    {"tnn_csv_load_buffer", "a name without a header", INV, csv_case,
     CSV_TARGET_NAME_NO_HEADER},
    {"tnn_csv_load_buffer", "every column a target", INV, csv_case,
     CSV_ALL_TARGETS},
    {"tnn_csv_load_buffer", "gzip data", FMT, csv_case, CSV_GZIP},
    {"tnn_csv_load_buffer", "no data", FMT, csv_case, CSV_EMPTY},
    {"tnn_csv_load_buffer", "a short line", FMT, csv_case, CSV_FIELDS},
    {"tnn_csv_load_buffer", "a word", FMT, csv_case, CSV_WORD},
    {"tnn_csv_load_buffer", "1e39", FMT, csv_case, CSV_TOO_LARGE},
    {"tnn_csv_load", "NULL path", INV, csv_file_case, CSVF_NULL_PATH},
    {"tnn_csv_load", "a missing file", TNN_E_IO, csv_file_case, CSVF_MISSING},
    {"tnn_csv_load", "a directory", TNN_E_IO, csv_file_case, CSVF_DIRECTORY},
    {"tnn_csv_load", "a word", FMT, csv_file_case, CSVF_WORD},
    {"tnn_split_rows", "NULL x", INV, split_case, SPLIT_NULL_X},
    {"tnn_split_rows", "NULL x_train", INV, split_case, SPLIT_NULL_X_TRAIN},
    {"tnn_split_rows", "y with NULL y_test", INV, split_case,
     SPLIT_NULL_Y_TEST},
    {"tnn_split_rows", "fraction 0", INV, split_case, SPLIT_FRACTION0},
    {"tnn_split_rows", "fraction 1", INV, split_case, SPLIT_FRACTION1},
    {"tnn_split_rows", "fraction NaN", INV, split_case, SPLIT_FRACTION_NAN},
    {"tnn_split_rows", "every row a test row", INV, split_case,
     SPLIT_ALL_TEST},
    {"tnn_split_rows", "y with other rows", SHP, split_case, SPLIT_Y_ROWS},
    {"tnn_split_rows", "x as y, shuffled", INV, split_case,
     SPLIT_SAME_WITH_RNG},
    {"tnn_scaler_fit", "NULL x", INV, r_scaler_fit_null, 0},
    {"tnn_scaler_fit", "a NaN", INV, r_scaler_fit_nan, 0},
    {"tnn_scaler_free", "NULL scaler", NEUTRAL, r_scaler_free_null, 0},
    {"tnn_scaler_features", "NULL scaler", NEUTRAL, r_scaler_features_null, 0},
    {"tnn_scaler_mean", "NULL scaler", NEUTRAL, r_scaler_mean_null, 0},
    {"tnn_scaler_scale", "NULL scaler", NEUTRAL, r_scaler_scale_null, 0},
    {"tnn_scaler_transform", "NULL scaler", INV, scaler_case,
     SCALE_T_NULL_SCALER},
    {"tnn_scaler_transform", "NULL x", INV, scaler_case, SCALE_T_NULL_X},
    {"tnn_scaler_transform", "3 features for 2", SHP, scaler_case,
     SCALE_T_WIDTH},
    {"tnn_scaler_inverse", "NULL scaler", INV, scaler_case,
     SCALE_I_NULL_SCALER},
    {"tnn_scaler_inverse", "3 features for 2", SHP, scaler_case,
     SCALE_I_WIDTH},
    {"tnn_scaler_save", "NULL path", INV, scaler_case, SCALE_SAVE_NULL_PATH},
    {"tnn_scaler_save", "a missing directory", TNN_E_IO, scaler_case,
     SCALE_SAVE_NO_DIR},
    {"tnn_scaler_load", "NULL out", INV, scaler_case, SCALE_LOAD_NULL_OUT},
    {"tnn_scaler_load", "a missing file", TNN_E_IO, scaler_case,
     SCALE_LOAD_MISSING},
    {"tnn_scaler_load", "a text file", FMT, scaler_case, SCALE_LOAD_TEXT},
    {"tnn_scaler_load", "the last byte missing", COR, scaler_case,
     SCALE_LOAD_TRUNCATED},
};

/* ========================================================================= */
/* The losses of 1.7                                                         */
/* ========================================================================= */

/* The three losses on (2, 3) tensors; variant: what is wrong. Nothing is
 * written to loss, grad or accuracy. */
enum {
    LOSS7_NULL_PRED,
    LOSS7_NULL_TARGET,
    LOSS7_1D,
    LOSS7_WIDTH,
    LOSS7_GRAD_SHAPE,
    LOSS7_DELTA0,
    LOSS7_DELTA_NAN,
    LOSS7_DELTA_INF,
    LOSS7_TARGET_ABOVE1,
    LOSS7_TARGET_NEG,
    LOSS7_TARGET_NAN
};

static int new_loss_case(int variant, int which)
{
    tnn_tensor *p = mk(2, 3, 0.5f), *t = mk(2, 3, 1.0f);
    tnn_tensor *g = mk(2, 3, 7.0f), *wide = mk(2, 4, 1.0f);
    tnn_tensor *flat = mk1(6, 1.0f), *g_wrong = mk(3, 2, 7.0f);
    const tnn_tensor *pred = p, *target = t;
    tnn_tensor *grad = g;
    float delta = 1.0f;
    switch (variant) {
    case LOSS7_NULL_PRED: pred = NULL; break;
    case LOSS7_NULL_TARGET: target = NULL; break;
    case LOSS7_1D: pred = flat, target = flat; break;
    case LOSS7_WIDTH: target = wide; break;
    case LOSS7_GRAD_SHAPE: grad = g_wrong; break;
    case LOSS7_DELTA0: delta = 0.0f; break;
    case LOSS7_DELTA_NAN: delta = NAN; break;
    case LOSS7_DELTA_INF: delta = INFINITY; break;
    case LOSS7_TARGET_ABOVE1: tnn_tensor_data(t)[4] = 1.5f; break;
    case LOSS7_TARGET_NEG: tnn_tensor_data(t)[1] = -0.25f; break;
    case LOSS7_TARGET_NAN: tnn_tensor_data(t)[0] = NAN; break;
    }
    double loss = 5.0, accuracy = 5.0;
    int rc = which == 0   ? tnn_loss_mae(pred, target, &loss, grad)
             : which == 1 ? tnn_loss_huber(pred, target, delta, &loss, grad)
                          : tnn_loss_binary_cross_entropy(pred, target, &loss,
                                                          grad, &accuracy);
    rc = capture(rc);
    CHECK(loss == 5.0 && accuracy == 5.0, "an output was written");
    CHECK(tnn_tensor_cdata(g)[0] == 7.0f &&
              tnn_tensor_cdata(g_wrong)[0] == 7.0f,
          "grad was written");
    tnn_tensor *all[] = {p, t, g, wide, flat, g_wrong};
    for (size_t i = 0; i < 6; i++)
        tnn_tensor_free(all[i]);
    return rc;
}

static int mae_loss_case(int variant)
{
    return new_loss_case(variant, 0);
}
static int huber_loss_case(int variant)
{
    return new_loss_case(variant, 1);
}
static int bce_loss_case(int variant)
{
    return new_loss_case(variant, 2);
}

CALL_ROW(r_set_huber_null, tnn_model_set_huber_delta(NULL, 1.0f))
NEUTRAL_ROW(r_huber_delta_null, tnn_model_huber_delta(NULL) == 0.0f)

/* A model's Huber delta; variant: the bad value. The delta stays 1. */
enum { HUBER_ZERO, HUBER_NEG, HUBER_NAN, HUBER_INF };

static int set_huber_case(int variant)
{
    tnn_model *m = mk_model(0);
    const float bad[] = {0.0f, -2.0f, NAN, INFINITY};
    int rc = capture(tnn_model_set_huber_delta(m, bad[variant]));
    CHECK(tnn_model_huber_delta(m) == 1.0f, "the delta changed");
    tnn_model_free(m);
    return rc;
}

/* Binary cross-entropy targets outside [0, 1] refused by training calls
 * before any work; variant: the call. */
enum { BCE_TRAIN, BCE_GRADIENTS, BCE_EVALUATE, BCE_FIT };

static int bce_model_case(int variant)
{
    struct env e;
    env_open(&e, 1);
    CHECK(tnn_model_set_loss(e.m, TNN_LOSS_BINARY_CROSS_ENTROPY) == TNN_OK,
          "fixture");
    tnn_tensor_data(e.y)[7] = 1.5f;
    double loss = 5.0, accuracy = 5.0;
    int rc = 0;
    switch (variant) {
    case BCE_TRAIN: rc = tnn_model_train_batch(e.m, e.x, e.y, &loss); break;
    case BCE_GRADIENTS:
        rc = tnn_model_compute_gradients(e.m, e.x, e.y, &loss);
        break;
    case BCE_EVALUATE:
        rc = tnn_model_evaluate(e.m, e.x, e.y, &loss, &accuracy);
        break;
    case BCE_FIT:
        rc = tnn_model_fit(e.m, e.x, e.y, NULL, NULL, 1, 5, 0, count_cb, NULL);
        break;
    }
    rc = capture(rc);
    CHECK(loss == 5.0 && accuracy == 5.0, "an output was written");
    return env_close(&e, rc);
}

static const struct misuse new_loss_rows[] = {
    {"tnn_loss_mae", "NULL pred", INV, mae_loss_case, LOSS7_NULL_PRED},
    {"tnn_loss_mae", "NULL target", INV, mae_loss_case, LOSS7_NULL_TARGET},
    {"tnn_loss_mae", "1-D tensors", SHP, mae_loss_case, LOSS7_1D},
    {"tnn_loss_mae", "target of another width", SHP, mae_loss_case,
     LOSS7_WIDTH},
    {"tnn_loss_mae", "grad of another shape", SHP, mae_loss_case,
     LOSS7_GRAD_SHAPE},
    {"tnn_loss_huber", "NULL pred", INV, huber_loss_case, LOSS7_NULL_PRED},
    {"tnn_loss_huber", "target of another width", SHP, huber_loss_case,
     LOSS7_WIDTH},
    {"tnn_loss_huber", "delta 0", INV, huber_loss_case, LOSS7_DELTA0},
    {"tnn_loss_huber", "delta NaN", INV, huber_loss_case, LOSS7_DELTA_NAN},
    {"tnn_loss_huber", "delta infinite", INV, huber_loss_case,
     LOSS7_DELTA_INF},
    {"tnn_loss_binary_cross_entropy", "NULL targets", INV, bce_loss_case,
     LOSS7_NULL_TARGET},
    {"tnn_loss_binary_cross_entropy", "1-D tensors", SHP, bce_loss_case,
     LOSS7_1D},
    {"tnn_loss_binary_cross_entropy", "grad of another shape", SHP,
     bce_loss_case, LOSS7_GRAD_SHAPE},
    {"tnn_loss_binary_cross_entropy", "a target of 1.5", INV, bce_loss_case,
     LOSS7_TARGET_ABOVE1},
    {"tnn_loss_binary_cross_entropy", "a target of -0.25", INV, bce_loss_case,
     LOSS7_TARGET_NEG},
    {"tnn_loss_binary_cross_entropy", "a NaN target", INV, bce_loss_case,
     LOSS7_TARGET_NAN},
    {"tnn_model_set_huber_delta", "NULL model", INV, r_set_huber_null, 0},
    {"tnn_model_set_huber_delta", "delta 0", INV, set_huber_case, HUBER_ZERO},
    {"tnn_model_set_huber_delta", "delta -2", INV, set_huber_case, HUBER_NEG},
    {"tnn_model_set_huber_delta", "delta NaN", INV, set_huber_case, HUBER_NAN},
    {"tnn_model_set_huber_delta", "delta infinite", INV, set_huber_case,
     HUBER_INF},
    {"tnn_model_huber_delta", "NULL model", NEUTRAL, r_huber_delta_null, 0},
    {"tnn_model_train_batch", "a binary target of 1.5", INV, bce_model_case,
     BCE_TRAIN},
    {"tnn_model_compute_gradients", "a binary target of 1.5", INV,
     bce_model_case, BCE_GRADIENTS},
    {"tnn_model_evaluate", "a binary target of 1.5", INV, bce_model_case,
     BCE_EVALUATE},
    {"tnn_model_fit", "a binary target of 1.5", INV, bce_model_case, BCE_FIT},
};

/* Every table of rows, each a test case named after it. */
#define TABLE(rows)                                                           \
    {                                                                         \
#rows, rows, (int)(sizeof rows / sizeof rows[0])                      \
    }

static const struct table {
    const char *name;
    const struct misuse *rows;
    int count;
} all_tables[] = {
    TABLE(error_rows),
    TABLE(runtime_rows),
    TABLE(rng_rows),
    TABLE(tensor_new_rows),
    TABLE(tensor_copy_rows),
    TABLE(tensor_reshape_rows),
    TABLE(tensor_rand_rows),
    TABLE(tensor_share_rows),
    TABLE(layer_new_rows),
    TABLE(image_layer_rows),
    TABLE(batchnorm_rows),
    TABLE(sequence_layer_rows),
    TABLE(lstm_rows),
    TABLE(token_rows),
    TABLE(layer_rows),
    TABLE(layer_forward_rows),
    TABLE(layer_backward_rows),
    TABLE(loss_rows),
    TABLE(optim_rows),
    TABLE(model_parts_rows),
    TABLE(model_settings_rows),
    TABLE(train_rows),
    TABLE(fit_rows),
    TABLE(evaluate_rows),
    TABLE(predict_rows),
    TABLE(progress_rows),
    TABLE(idx_rows),
    TABLE(save_rows),
    TABLE(load_rows),
    TABLE(metrics_rows),
    TABLE(callbacks_rows),
    TABLE(surgery_rows),
    TABLE(data_rows),
    TABLE(new_loss_rows),
    TABLE(onnx_rows),
};

#define NUM_TABLES ((int)(sizeof all_tables / sizeof all_tables[0]))

/* Row i of all the tables, in their order. */
static const struct misuse *row_at(int i)
{
    for (int t = 0; t < NUM_TABLES; t++) {
        if (i < all_tables[t].count)
            return &all_tables[t].rows[i];
        i -= all_tables[t].count;
    }
    ck_abort_msg("no row %d", i);
    return NULL;
}

START_TEST(misuse_row)
{
    const struct misuse *row = row_at(_i);
    current = row;
    tnn_clear_error();
    captured = 0;
    got_code = 0;
    got_msg[0] = '\0';
    int rc = row->run(row->variant);
    if (row->expected == NEUTRAL) {
        ck_assert_msg(rc == NEUTRAL, "%s [%s]: run returned %d", row->function,
                      row->scenario, rc);
        return;
    }
    ck_assert_msg(captured, "%s [%s]: the run captured no result",
                  row->function, row->scenario);
    ck_assert_msg(rc == row->expected,
                  "%s [%s]: returned %d (%s); the header says %d (%s); "
                  "message \"%s\"",
                  row->function, row->scenario, rc, result_name(rc),
                  row->expected, tnn_strerror(row->expected), got_msg);
    ck_assert_msg(got_code == row->expected,
                  "%s [%s]: tnn_last_error_code() is %d, not %d",
                  row->function, row->scenario, got_code, row->expected);
    ck_assert_msg(got_msg[0] != '\0', "%s [%s]: tnn_last_error() is empty",
                  row->function, row->scenario);
    ck_assert_msg(names_function(got_msg, row->function),
                  "%s [%s]: message \"%s\" does not name the function",
                  row->function, row->scenario, got_msg);
}
END_TEST

/* Every function the header declares with TNN_API has a row. */
#ifdef TNN_TEST_DATA_DIR
#define HEADER_PATH TNN_TEST_DATA_DIR "/../../include/tinynn.h"
#else
#define HEADER_PATH "include/tinynn.h"
#endif

/* Whether some row of the tables is about fn. */
static int has_row(const char *fn)
{
    for (int t = 0; t < NUM_TABLES; t++)
        for (int i = 0; i < all_tables[t].count; i++)
            if (strcmp(all_tables[t].rows[i].function, fn) == 0)
                return 1;
    return 0;
}

START_TEST(every_function_has_a_row)
{
    FILE *f = fopen(HEADER_PATH, "r");
    ck_assert_msg(f != NULL, "cannot open %s", HEADER_PATH);
    static char names[256][64];
    int functions = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "TNN_API ", 8) != 0)
            continue;
        char *paren = strchr(line, '(');
        ck_assert_ptr_nonnull(paren);
        char *start = paren;
        while (start > line && is_ident(start[-1]))
            start--;
        *paren = '\0';
        size_t len = strlen(start);
        ck_assert_int_lt(functions, 256);
        ck_assert_uint_lt(len, sizeof names[0]);
        memcpy(names[functions++], start, len + 1);
    }
    fclose(f);
    ck_assert_int_ge(functions, 118);
    /* Every declared function has a row... */
    for (int n = 0; n < functions; n++)
        ck_assert_msg(has_row(names[n]), "%s has no misuse row", names[n]);
    /* ...and every row names a declared function. */
    for (int t = 0; t < NUM_TABLES; t++) {
        for (int i = 0; i < all_tables[t].count; i++) {
            const char *fn = all_tables[t].rows[i].function;
            int found = 0;
            for (int n = 0; n < functions && !found; n++)
                found = strcmp(fn, names[n]) == 0;
            ck_assert_msg(found, "%s row %d names %s, which the header lacks",
                          all_tables[t].name, i, fn);
        }
    }
}
END_TEST

Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    int first = 0;
    for (int t = 0; t < NUM_TABLES; t++) {
        TCase *tc = tcase_create(all_tables[t].name);
        tcase_add_loop_test(tc, misuse_row, first,
                            first + all_tables[t].count);
        suite_add_tcase(s, tc);
        first += all_tables[t].count;
    }
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, every_function_has_a_row);
    suite_add_tcase(s, tc);
    return s;
}
