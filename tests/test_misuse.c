/*
 * The API misuse matrix: every public function of include/tinynn.h called
 * wrongly - NULL handles, out-of-range values, wrong shapes, the wrong kind
 * of handle, the wrong call order - one table row per scenario.
 *
 * A row names the function, the scenario, a wrapper that makes the call,
 * and what the header promises:
 *  - a TNN_E_* code: the call returns exactly that code (a constructor
 *    returns NULL), tnn_last_error_code() is that code and tnn_last_error()
 *    names the function (as a whole word, so "tnn_tensor_new" does not
 *    pass for "tnn_tensor_new_2d");
 *  - NEUTRAL: a getter or a free function that must not crash and must
 *    give its neutral value (0, NULL, "" or NaN), checked in the wrapper.
 * Wrappers also check what a failed call must leave alone (shapes, layer
 * counts, destination buffers, weights, files) and, for the functions that
 * take ownership on failure, that nothing leaks under the counting
 * allocator. Each row is its own Check test (a loop test), so one broken
 * row does not hide the others.
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

Suite *misuse_suite(void);

/* A wrapper's result when it is no status code. */
#define NEUTRAL 1000           /* expected of getters and free functions */
#define GOT_HANDLE 1001        /* a constructor returned a handle */
#define NULL_WITHOUT_CODE 1002 /* NULL, but tnn_last_error_code() is 0 */

struct misuse {
    const char *function; /* the public function under test */
    const char *scenario;
    int (*run)(void);
    int expected; /* a TNN_E_* code, or NEUTRAL */
};

/* The row being run, for messages from inside the wrappers. */
static const struct misuse *current;

#define CHECK(cond, what)                                                     \
    ck_assert_msg((cond), "%s [%s]: %s", current->function,                   \
                  current->scenario, (what))

/* ---- capturing the outcome of the call under test ----------------------- */

/* The error state right after the call under test, before the wrapper's
 * own clean-up calls run. */
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

/* A valid model file image of mk_model(with_optim), from malloc. */
static unsigned char *model_image(int with_optim, size_t *size)
{
    tnn_model *m = mk_model(with_optim);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 0, size), TNN_OK);
    unsigned char *buf = malloc(*size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, buf, *size, NULL), TNN_OK);
    tnn_model_free(m);
    return buf;
}

/* A pointer that is not NULL, to see that *out is reset on failure. */
static char sentinel;
#define SENTINEL ((void *)&sentinel)

/* ---- row makers ----------------------------------------------------------
 */

/* An int-returning call on no fixtures. */
#define CALL_ROW(name, expr)                                                  \
    static int name(void)                                                     \
    {                                                                         \
        return capture(expr);                                                 \
    }

/* A constructor call that must give NULL. */
#define CTOR_ROW(name, type, expr, free_fn)                                   \
    static int name(void)                                                     \
    {                                                                         \
        type *p_ = (expr);                                                    \
        int rc_ = capture(ptr_result(p_));                                    \
        free_fn(p_);                                                          \
        return rc_;                                                           \
    }

/* A constructor whose first allocation fails: NULL, TNN_E_NOMEM, no leak. */
#define NOMEM_ROW(name, type, expr, free_fn)                                  \
    static int name(void)                                                     \
    {                                                                         \
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
    static int name(void)                                                     \
    {                                                                         \
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
static int r_last_error_kept(void)
{
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_tensor *t = tnn_tensor_new_2d(1, 1);
    CHECK(t != NULL, "fixture");
    tnn_tensor_free(t);
    CHECK(tnn_last_error_code() == TNN_E_INVALID, "the code was cleared");
    CHECK(names_function(tnn_last_error(), "tnn_rng_seed"),
          "the message was replaced");
    return NEUTRAL;
}

static int r_clear_error(void)
{
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_clear_error();
    CHECK(tnn_last_error_code() == TNN_OK, "code not cleared");
    CHECK(strcmp(tnn_last_error(), "") == 0, "message not cleared");
    return NEUTRAL;
}

/* ========================================================================= */
/* Memory and threads                                                        */
/* ========================================================================= */

/* Only some functions NULL; the allocator installed before stays. */
static int set_allocator_partial(tnn_malloc_fn mf, tnn_realloc_fn rf,
                                 tnn_free_fn ff)
{
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

static int r_alloc_no_free(void)
{
    return set_allocator_partial(counting_malloc, counting_realloc, NULL);
}

static int r_alloc_no_malloc(void)
{
    return set_allocator_partial(NULL, counting_realloc, counting_free);
}

static int r_alloc_only_free(void)
{
    return set_allocator_partial(NULL, NULL, counting_free);
}

static int set_threads(int n)
{
    int before = tnn_get_num_threads();
    int rc = capture(tnn_set_num_threads(n));
    CHECK(tnn_get_num_threads() == before, "the thread count changed");
    return rc;
}

static int r_threads_0(void)
{
    return set_threads(0);
}
static int r_threads_neg(void)
{
    return set_threads(-4);
}
NEUTRAL_ROW(r_get_threads, tnn_get_num_threads() >= 1)

/* ========================================================================= */
/* Random numbers                                                            */
/* ========================================================================= */

NOMEM_ROW(r_rng_new_nomem, tnn_rng, tnn_rng_new(7), tnn_rng_free)

static int r_rng_free_null(void)
{
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

static int r_tensor_free_null(void)
{
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_tensor_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

NEUTRAL_ROW(r_tensor_ndim_null, tnn_tensor_ndim(NULL) == 0)
NEUTRAL_ROW(r_tensor_dim_null, tnn_tensor_dim(NULL, 0) == 0)

static int r_tensor_dim_range(void)
{
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

static const float src6[6] = {1, 2, 3, 4, 5, 6};

CALL_ROW(r_copy_from_null_t, tnn_tensor_copy_from(NULL, src6, 6))

static int copy_from_case(const float *src, size_t count)
{
    tnn_tensor *t = mk(2, 3, -1.0f);
    struct snap s;
    snap_take(&s, t);
    int rc = capture(tnn_tensor_copy_from(t, src, count));
    CHECK(snap_same(&s, t), "the tensor changed");
    tnn_tensor_free(t);
    return rc;
}

static int r_copy_from_null_src(void)
{
    return copy_from_case(NULL, 6);
}
static int r_copy_from_short(void)
{
    return copy_from_case(src6, 5);
}
static int r_copy_from_long(void)
{
    return copy_from_case(src6, 7);
}
static int r_copy_from_zero(void)
{
    return copy_from_case(src6, 0);
}

static int r_copy_to_null_t(void)
{
    float dst[4] = {9, 9, 9, 9};
    int rc = capture(tnn_tensor_copy_to(NULL, dst, 4));
    CHECK(dst[0] == 9 && dst[3] == 9, "dst changed");
    return rc;
}

static int r_copy_to_null_dst(void)
{
    tnn_tensor *t = mk(2, 3, 1.0f);
    int rc = capture(tnn_tensor_copy_to(t, NULL, 6));
    tnn_tensor_free(t);
    return rc;
}

static int copy_to_case(size_t capacity)
{
    tnn_tensor *t = mk(2, 3, 1.0f);
    float dst[6];
    for (int i = 0; i < 6; i++)
        dst[i] = 99.0f;
    int rc = capture(tnn_tensor_copy_to(t, dst, capacity));
    for (int i = 0; i < 6; i++)
        CHECK(dst[i] == 99.0f, "the destination was written");
    tnn_tensor_free(t);
    return rc;
}

static int r_copy_to_short(void)
{
    return copy_to_case(5);
}
static int r_copy_to_zero(void)
{
    return copy_to_case(0);
}

CALL_ROW(r_fill_null, tnn_tensor_fill(NULL, 1.0f))
CTOR_ROW(r_clone_null, tnn_tensor, tnn_tensor_clone(NULL), tnn_tensor_free)

static int r_clone_nomem(void)
{
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

static int reshape_case(int ndim, const size_t *dims)
{
    tnn_tensor *t = mk(4, 6, 2.0f);
    struct snap s;
    snap_take(&s, t);
    int rc = capture(tnn_tensor_reshape(t, ndim, dims));
    CHECK(snap_same(&s, t), "the shape or contents changed");
    tnn_tensor_free(t);
    return rc;
}

static const size_t dims_25[2] = {5, 5};
static const size_t dims_0_24[2] = {0, 24};
static const size_t dims_24[5] = {2, 3, 4, 1, 1};

CALL_ROW(r_reshape_null, tnn_tensor_reshape(NULL, 2, dims_25))
static int r_reshape_count(void)
{
    return reshape_case(2, dims_25);
}
static int r_reshape_zero(void)
{
    return reshape_case(2, dims_0_24);
}
static int r_reshape_ndim0(void)
{
    return reshape_case(0, dims_24);
}
static int r_reshape_ndim5(void)
{
    return reshape_case(5, dims_24);
}
static int r_reshape_dims_null(void)
{
    return reshape_case(2, NULL);
}
static int r_reshape_overflow(void)
{
    return reshape_case(2, dims_huge);
}

/* which: 0 uniform, 1 normal; rng_null: pass NULL for the generator. */
static int rand_case(int which, int rng_null, float a, float b)
{
    tnn_tensor *t = mk(2, 3, 5.0f);
    tnn_rng *r = tnn_rng_new(3);
    struct snap s;
    snap_take(&s, t);
    tnn_rng *use = rng_null ? NULL : r;
    int rc = capture(which == 0 ? tnn_tensor_rand_uniform(t, use, a, b)
                                : tnn_tensor_rand_normal(t, use, a, b));
    CHECK(snap_same(&s, t), "the tensor changed");
    tnn_rng *fresh = tnn_rng_new(3);
    CHECK(tnn_rng_next_u64(r) == tnn_rng_next_u64(fresh),
          "the generator advanced");
    tnn_rng_free(fresh);
    tnn_rng_free(r);
    tnn_tensor_free(t);
    return rc;
}

static int r_uniform_null_t(void)
{
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_tensor_rand_uniform(NULL, r, 0.0f, 1.0f));
    tnn_rng_free(r);
    return rc;
}

static int r_uniform_null_rng(void)
{
    return rand_case(0, 1, 0.0f, 1.0f);
}
static int r_uniform_equal(void)
{
    return rand_case(0, 0, 1.0f, 1.0f);
}
static int r_uniform_reversed(void)
{
    return rand_case(0, 0, 2.0f, 1.0f);
}
static int r_uniform_nan(void)
{
    return rand_case(0, 0, NAN, 1.0f);
}
static int r_uniform_inf(void)
{
    return rand_case(0, 0, 0.0f, INFINITY);
}
static int r_uniform_neg_inf(void)
{
    return rand_case(0, 0, -INFINITY, 0.0f);
}

static int r_normal_null_t(void)
{
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_tensor_rand_normal(NULL, r, 0.0f, 1.0f));
    tnn_rng_free(r);
    return rc;
}

static int r_normal_null_rng(void)
{
    return rand_case(1, 1, 0.0f, 1.0f);
}
static int r_normal_neg_sd(void)
{
    return rand_case(1, 0, 0.0f, -1.0f);
}
static int r_normal_nan_sd(void)
{
    return rand_case(1, 0, 0.0f, NAN);
}
static int r_normal_inf_mean(void)
{
    return rand_case(1, 0, INFINITY, 1.0f);
}
static int r_normal_nan_mean(void)
{
    return rand_case(1, 0, NAN, 1.0f);
}
static int r_normal_overflowing_sd(void)
{
    return rand_case(1, 0, 0.0f, 1e38f);
}

/* ========================================================================= */
/* Layers                                                                    */
/* ========================================================================= */

CTOR_ROW(r_dense_in0, tnn_layer, tnn_dense_new(0, 3), tnn_layer_free)
CTOR_ROW(r_dense_out0, tnn_layer, tnn_dense_new(3, 0), tnn_layer_free)
NOMEM_ROW(r_dense_nomem, tnn_layer, tnn_dense_new(3, 2), tnn_layer_free)

CALL_ROW(r_set_init_null, tnn_dense_set_init(NULL, TNN_INIT_ZEROS, 0.0f))

static int set_init_case(int relu, int init, float value)
{
    tnn_layer *l = relu ? tnn_relu_new() : tnn_dense_new(2, 2);
    int rc = capture(tnn_dense_set_init(l, init, value));
    tnn_layer_free(l);
    return rc;
}

static int r_set_init_relu(void)
{
    return set_init_case(1, TNN_INIT_ZEROS, 0.0f);
}
static int r_set_init_4(void)
{
    return set_init_case(0, 4, 0.0f);
}
static int r_set_init_neg(void)
{
    return set_init_case(0, -1, 0.0f);
}
static int r_set_init_nan(void)
{
    return set_init_case(0, TNN_INIT_CONSTANT, NAN);
}
static int r_set_init_inf(void)
{
    return set_init_case(0, TNN_INIT_CONSTANT, INFINITY);
}

/* A failed set_init keeps the initialiser: a zeros init survives. */
static int r_set_init_kept(void)
{
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

CTOR_ROW(r_dropout_1, tnn_layer, tnn_dropout_new(1.0f), tnn_layer_free)
CTOR_ROW(r_dropout_neg, tnn_layer, tnn_dropout_new(-0.1f), tnn_layer_free)
CTOR_ROW(r_dropout_nan, tnn_layer, tnn_dropout_new(NAN), tnn_layer_free)
CTOR_ROW(r_dropout_inf, tnn_layer, tnn_dropout_new(INFINITY), tnn_layer_free)
NOMEM_ROW(r_dropout_nomem, tnn_layer, tnn_dropout_new(0.5f), tnn_layer_free)

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

static int r_conv_init_wrong(int which)
{
    tnn_layer *l =
        which == 0 ? tnn_dense_new(2, 2) : tnn_conv2d_new(1, 1, 1, 1, 1, 0);
    int rc = which == 0   ? capture(tnn_conv2d_set_init(l, 0, 0.0f))
             : which == 1 ? capture(tnn_conv2d_set_init(l, 9, 0.0f))
                          : capture(tnn_conv2d_set_init(l, 3, NAN));
    tnn_layer_free(l);
    return rc;
}
static int r_conv_init_dense(void)
{
    return r_conv_init_wrong(0);
}
static int r_conv_init_kind(void)
{
    return r_conv_init_wrong(1);
}
static int r_conv_init_nan(void)
{
    return r_conv_init_wrong(2);
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

CTOR_ROW(r_batchnorm_0, tnn_layer, tnn_batchnorm_new(0), tnn_layer_free)
NOMEM_ROW(r_batchnorm_nomem, tnn_layer, tnn_batchnorm_new(3), tnn_layer_free)

CALL_ROW(r_bn_momentum_null, tnn_batchnorm_set_momentum(NULL, 0.5f))

static int r_bn_momentum_dense(void)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    struct snap s;
    snap_take(&s, tnn_layer_param(l, 0));
    int rc = capture(tnn_batchnorm_set_momentum(l, 0.5f));
    CHECK(snap_same(&s, tnn_layer_param(l, 0)), "the dense layer changed");
    tnn_layer_free(l);
    return rc;
}

static int bn_momentum_case(float momentum)
{
    tnn_layer *l = tnn_batchnorm_new(3);
    int rc = capture(tnn_batchnorm_set_momentum(l, momentum));
    CHECK(tnn_batchnorm_momentum(l) == 0.99f, "the momentum changed");
    tnn_layer_free(l);
    return rc;
}

static int r_bn_momentum_1(void)
{
    return bn_momentum_case(1.0f);
}
static int r_bn_momentum_neg(void)
{
    return bn_momentum_case(-0.1f);
}
static int r_bn_momentum_nan(void)
{
    return bn_momentum_case(NAN);
}

NEUTRAL_ROW(r_bn_get_momentum_null, tnn_batchnorm_momentum(NULL) == 0.0f)

static int r_bn_get_momentum_dense(void)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    float v = tnn_batchnorm_momentum(l);
    tnn_layer_free(l);
    CHECK(v == 0.0f, "not 0 for a dense layer");
    return NEUTRAL;
}

CALL_ROW(r_bn_eps_null, tnn_batchnorm_set_eps(NULL, 1e-3f))

static int r_bn_eps_dense(void)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    int rc = capture(tnn_batchnorm_set_eps(l, 1e-3f));
    tnn_layer_free(l);
    return rc;
}

static int bn_eps_case(float eps)
{
    tnn_layer *l = tnn_batchnorm_new(3);
    int rc = capture(tnn_batchnorm_set_eps(l, eps));
    CHECK(tnn_batchnorm_eps(l) == 1e-3f, "eps changed");
    tnn_layer_free(l);
    return rc;
}

static int r_bn_eps_0(void)
{
    return bn_eps_case(0.0f);
}
static int r_bn_eps_neg(void)
{
    return bn_eps_case(-1e-3f);
}
static int r_bn_eps_nan(void)
{
    return bn_eps_case(NAN);
}
static int r_bn_eps_inf(void)
{
    return bn_eps_case(INFINITY);
}

NEUTRAL_ROW(r_bn_get_eps_null, tnn_batchnorm_eps(NULL) == 0.0f)

static int r_bn_get_eps_relu(void)
{
    tnn_layer *l = tnn_relu_new();
    float v = tnn_batchnorm_eps(l);
    tnn_layer_free(l);
    CHECK(v == 0.0f, "not 0 for a relu layer");
    return NEUTRAL;
}

NEUTRAL_ROW(r_bn_mean_null, tnn_batchnorm_running_mean(NULL) == NULL)
NEUTRAL_ROW(r_bn_var_null, tnn_batchnorm_running_var(NULL) == NULL)

static int r_bn_mean_dense(void)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    tnn_tensor *t = tnn_batchnorm_running_mean(l);
    tnn_layer_free(l);
    CHECK(t == NULL, "not NULL for a dense layer");
    return NEUTRAL;
}

static int r_bn_var_dropout(void)
{
    tnn_layer *l = tnn_dropout_new(0.5f);
    tnn_tensor *t = tnn_batchnorm_running_var(l);
    tnn_layer_free(l);
    CHECK(t == NULL, "not NULL for a dropout layer");
    return NEUTRAL;
}

static int r_layer_free_null(void)
{
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

/* which: 0 param, 1 grad. */
static int param_range_case(int which)
{
    tnn_layer *d = tnn_dense_new(2, 2), *r = tnn_relu_new();
    tnn_tensor *(*get)(tnn_layer *, int) =
        which ? tnn_layer_grad : tnn_layer_param;
    CHECK(get(d, 2) == NULL, "index 2 of a dense layer is not NULL");
    CHECK(get(d, -1) == NULL, "index -1 is not NULL");
    CHECK(get(d, INT_MAX) == NULL, "index INT_MAX is not NULL");
    CHECK(get(r, 0) == NULL, "index 0 of a relu layer is not NULL");
    tnn_layer_free(d);
    tnn_layer_free(r);
    return NEUTRAL;
}

static int r_layer_param_range(void)
{
    return param_range_case(0);
}
static int r_layer_grad_range(void)
{
    return param_range_case(1);
}

CALL_ROW(r_set_trainable_null, tnn_layer_set_trainable(NULL, 1))

static int set_trainable_case(int value)
{
    tnn_layer *l = tnn_dense_new(2, 2);
    int rc = capture(tnn_layer_set_trainable(l, value));
    CHECK(tnn_layer_trainable(l) == 1, "the trainable flag changed");
    tnn_layer_free(l);
    return rc;
}

static int r_set_trainable_2(void)
{
    return set_trainable_case(2);
}
static int r_set_trainable_neg(void)
{
    return set_trainable_case(-1);
}
NEUTRAL_ROW(r_trainable_null, tnn_layer_trainable(NULL) == 0)

static int r_layer_init_null_layer(void)
{
    tnn_rng *r = tnn_rng_new(1);
    int rc = capture(tnn_layer_init(NULL, r));
    tnn_rng_free(r);
    return rc;
}

static int r_layer_init_null_rng(void)
{
    tnn_layer *l = tnn_dense_new(3, 2);
    tnn_tensor_fill(tnn_layer_param(l, 0), 0.5f);
    struct snap s;
    snap_take(&s, tnn_layer_param(l, 0));
    int rc = capture(tnn_layer_init(l, NULL));
    CHECK(snap_same(&s, tnn_layer_param(l, 0)), "the weights changed");
    tnn_layer_free(l);
    return rc;
}

/* Forward of a layer on in (rows x in_cols) into out (out_rows x out_cols);
 * kind: 0 dense 3->2, 1 relu (unbound), 2 dropout 0.5 (unbound). A failed
 * call must leave out and the layer's width alone. */
static int forward_case(int kind, size_t rows, size_t in_cols, size_t out_rows,
                        size_t out_cols, int mode, int null_in, int null_out,
                        int null_rng)
{
    tnn_layer *l = kind == 0   ? tnn_dense_new(3, 2)
                   : kind == 1 ? tnn_relu_new()
                               : tnn_dropout_new(0.5f);
    tnn_tensor *in = mk(rows, in_cols, 1.0f);
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

static int r_fwd_null_layer(void)
{
    tnn_tensor *in = mk(2, 3, 1.0f), *out = mk(2, 3, 0.0f);
    int rc = capture(tnn_layer_forward(NULL, in, out, TNN_MODE_EVAL, NULL));
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    return rc;
}

static int r_fwd_null_in(void)
{
    return forward_case(0, 2, 3, 2, 2, TNN_MODE_EVAL, 1, 0, 0);
}
static int r_fwd_null_out(void)
{
    return forward_case(0, 2, 3, 2, 2, TNN_MODE_EVAL, 0, 1, 0);
}
static int r_fwd_mode_2(void)
{
    return forward_case(0, 2, 3, 2, 2, 2, 0, 0, 0);
}
static int r_fwd_mode_neg(void)
{
    return forward_case(1, 2, 3, 2, 3, -1, 0, 0, 0);
}
static int r_fwd_in_width(void)
{
    return forward_case(0, 2, 4, 2, 2, TNN_MODE_EVAL, 0, 0, 0);
}
static int r_fwd_out_width(void)
{
    return forward_case(0, 2, 3, 2, 3, TNN_MODE_EVAL, 0, 0, 0);
}
static int r_fwd_out_rows(void)
{
    return forward_case(0, 2, 3, 3, 2, TNN_MODE_TRAIN, 0, 0, 0);
}
static int r_fwd_relu_out_width(void)
{
    return forward_case(1, 2, 3, 2, 4, TNN_MODE_EVAL, 0, 0, 0);
}
static int r_fwd_dropout_no_rng(void)
{
    return forward_case(2, 2, 3, 2, 3, TNN_MODE_TRAIN, 0, 0, 1);
}

static int r_fwd_in_1d(void)
{
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
static int r_fwd_bound_width(void)
{
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

/* Backward of a dense 3->2 layer. prior: 0 no forward, 1 training forward
 * of 2 rows, 2 eval forward of 2 rows. The call gets in (in_rows x 3),
 * out (2 x 2), dout (dout_rows x dout_cols), din (2 x din_cols) or NULLs.
 * The gradients and din must stay as they were. */
static int backward_case(int prior, size_t in_rows, size_t dout_rows,
                         size_t dout_cols, size_t din_cols, int null_what)
{
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
    int rc = capture(tnn_layer_backward(l, null_what == 1 ? NULL : in,
                                        null_what == 2 ? NULL : out,
                                        null_what == 3 ? NULL : dout, din));
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

static int r_bwd_null_layer(void)
{
    tnn_tensor *t = mk(2, 2, 0.0f);
    int rc = capture(tnn_layer_backward(NULL, t, t, t, NULL));
    tnn_tensor_free(t);
    return rc;
}

static int r_bwd_no_forward(void)
{
    return backward_case(0, 2, 2, 2, 3, 0);
}
static int r_bwd_after_eval(void)
{
    return backward_case(2, 2, 2, 2, 3, 0);
}
static int r_bwd_other_batch(void)
{
    return backward_case(1, 3, 2, 2, 3, 0);
}
static int r_bwd_dout_width(void)
{
    return backward_case(1, 2, 2, 3, 3, 0);
}
static int r_bwd_dout_rows(void)
{
    return backward_case(1, 2, 3, 2, 3, 0);
}
static int r_bwd_din_width(void)
{
    return backward_case(1, 2, 2, 2, 2, 0);
}
static int r_bwd_null_in(void)
{
    return backward_case(1, 2, 2, 2, 3, 1);
}
static int r_bwd_null_out(void)
{
    return backward_case(1, 2, 2, 2, 3, 2);
}
static int r_bwd_null_dout(void)
{
    return backward_case(1, 2, 2, 2, 3, 3);
}

CALL_ROW(r_zero_grad_null, tnn_layer_zero_grad(NULL))

/* ========================================================================= */
/* Losses                                                                    */
/* ========================================================================= */

/* MSE with pred (pr x pc), target (tr x tc), grad (gr x gc) or NULLs;
 * *loss and grad must stay as they were. */
static int mse_case(size_t pr, size_t pc, size_t tr, size_t tc, size_t gr,
                    size_t gc, int null_what)
{
    tnn_tensor *p = mk(pr, pc, 1.0f), *t = mk(tr, tc, 0.0f);
    tnn_tensor *g = mk(gr, gc, 7.0f);
    struct snap s;
    snap_take(&s, g);
    double loss = 42.0;
    int rc = capture(tnn_loss_mse(null_what == 1 ? NULL : p,
                                  null_what == 2 ? NULL : t, &loss, g));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(snap_same(&s, g), "grad was written");
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    return rc;
}

static int r_mse_null_pred(void)
{
    return mse_case(2, 3, 2, 3, 2, 3, 1);
}
static int r_mse_null_target(void)
{
    return mse_case(2, 3, 2, 3, 2, 3, 2);
}
static int r_mse_target_cols(void)
{
    return mse_case(2, 3, 2, 4, 2, 3, 0);
}
static int r_mse_target_rows(void)
{
    return mse_case(2, 3, 3, 3, 2, 3, 0);
}
static int r_mse_grad_shape(void)
{
    return mse_case(2, 3, 2, 3, 3, 2, 0);
}

static int r_mse_1d(void)
{
    tnn_tensor *p = mk1(3, 1.0f), *t = mk1(3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_loss_mse(p, t, &loss, NULL));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    return rc;
}

/* Cross-entropy of logits (2 x 3) against labels: index 1 gives 1-D labels
 * of n values set to label, else (lr x lc) probability rows of entries
 * label; grad (gr x gc). Nothing may be written on failure. */
static int ce_case(int index, size_t n, float label, size_t lr, size_t lc,
                   size_t gr, size_t gc, int null_what)
{
    tnn_tensor *z = mk(2, 3, 0.5f);
    tnn_tensor *y = index ? mk1(n, label) : mk(lr, lc, label);
    tnn_tensor *g = mk(gr, gc, 7.0f);
    struct snap s;
    snap_take(&s, g);
    double loss = 42.0, acc = 42.0;
    int rc = capture(tnn_loss_cross_entropy(
        null_what == 1 ? NULL : z, null_what == 2 ? NULL : y, &loss, g, &acc));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(acc == 42.0, "*accuracy was written");
    CHECK(snap_same(&s, g), "grad was written");
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    tnn_tensor_free(g);
    return rc;
}

static int r_ce_null_logits(void)
{
    return ce_case(1, 2, 0.0f, 0, 0, 2, 3, 1);
}
static int r_ce_null_labels(void)
{
    return ce_case(1, 2, 0.0f, 0, 0, 2, 3, 2);
}
static int r_ce_index_count(void)
{
    return ce_case(1, 3, 0.0f, 0, 0, 2, 3, 0);
}
static int r_ce_rows_shape(void)
{
    return ce_case(0, 0, 0, 2, 4, 2, 3, 0);
}
static int r_ce_rows_count(void)
{
    return ce_case(0, 0, 0, 3, 3, 2, 3, 0);
}
static int r_ce_label_range(void)
{
    return ce_case(1, 2, 3.0f, 0, 0, 2, 3, 0);
}
static int r_ce_label_neg(void)
{
    return ce_case(1, 2, -1.0f, 0, 0, 2, 3, 0);
}
static int r_ce_label_frac(void)
{
    return ce_case(1, 2, 1.5f, 0, 0, 2, 3, 0);
}
static int r_ce_label_nan(void)
{
    return ce_case(1, 2, NAN, 0, 0, 2, 3, 0);
}
static int r_ce_prob_neg(void)
{
    return ce_case(0, 0, -0.5f, 2, 3, 2, 3, 0);
}
static int r_ce_prob_inf(void)
{
    return ce_case(0, 0, INFINITY, 2, 3, 2, 3, 0);
}
static int r_ce_grad_shape(void)
{
    return ce_case(1, 2, 1.0f, 0, 0, 2, 2, 0);
}

static int r_ce_logits_1d(void)
{
    tnn_tensor *z = mk1(3, 0.5f), *y = mk1(3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_loss_cross_entropy(z, y, &loss, NULL, NULL));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    return rc;
}

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

/* An optimizer of kind adam (1) or sgd (0), freed after f ran on it. */
#define OPT_ROW(name, adam, call)                                             \
    static int name(void)                                                     \
    {                                                                         \
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
static int r_set_lr_below_min(void)
{
    tnn_optim *o = tnn_sgd_new(0.1f);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(o, 10, 0.05f), TNN_OK);
    int rc = capture(tnn_optim_set_lr(o, 0.01f));
    CHECK(tnn_optim_lr(o) == 0.1f, "the learning rate changed");
    tnn_optim_free(o);
    return rc;
}

/* A failed schedule keeps the one before. */
static int r_step_sched_kept(void)
{
    tnn_optim *o = tnn_sgd_new(0.1f);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(o, 10, 0.05f), TNN_OK);
    float before = tnn_optim_current_lr(o);
    int rc = capture(tnn_optim_set_step_schedule(o, 0, 0.5f));
    CHECK(tnn_optim_current_lr(o) == before, "the schedule changed");
    tnn_optim_free(o);
    return rc;
}

static int r_optim_free_null(void)
{
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_optim_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

/* ========================================================================= */
/* Models: construction, layers, setters, getters                            */
/* ========================================================================= */

CTOR_ROW(r_model_new_0, tnn_model, tnn_model_new(0), tnn_model_free)
NOMEM_ROW(r_model_new_nomem, tnn_model, tnn_model_new(4), tnn_model_free)

static int r_model_free_null(void)
{
    CHECK(tnn_rng_seed(NULL, 1) == TNN_E_INVALID, "fixture");
    tnn_model_free(NULL);
    CHECK(tnn_last_error_code() == TNN_E_INVALID,
          "freeing NULL touched the error state");
    return NEUTRAL;
}

/* tnn_model_add under the counting allocator: the layer is freed whatever
 * happens, the model keeps its layers. kind: 0 NULL model with a dense
 * layer, 1 NULL model with a relu, 2 NULL layer, 3 dense 4x2 after dense
 * 4x3, 4 batchnorm(2) after dense 4x3, 5 the layer list cannot grow. */
static int add_case(int kind)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = kind <= 1 ? NULL : mk_model(0);
    size_t layers = 1;
    if (kind == 5)
        for (; layers < 8; layers++)
            ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    tnn_layer *l = kind == 0   ? tnn_dense_new(4, 3)
                   : kind == 1 ? tnn_relu_new()
                   : kind == 2 ? NULL
                   : kind == 3 ? tnn_dense_new(4, 2)
                   : kind == 4 ? tnn_batchnorm_new(2)
                               : tnn_relu_new();
    CHECK(kind == 2 || l != NULL, "fixture");
    if (kind == 5)
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

static int r_add_null_model(void)
{
    return add_case(0);
}
static int r_add_null_model_relu(void)
{
    return add_case(1);
}
static int r_add_null_layer(void)
{
    return add_case(2);
}
static int r_add_width(void)
{
    return add_case(3);
}
static int r_add_bn_width(void)
{
    return add_case(4);
}
static int r_add_nomem(void)
{
    return add_case(5);
}

/* A layer or optimizer has one owner. Giving a model something a model
 * already owns fails with TNN_E_STATE, frees nothing and changes nothing;
 * freeing the models afterwards must then free everything exactly once
 * (AddressSanitizer and valgrind see a double free; the counting
 * allocator sees a leak or a negative count). kind: 0 the same layer
 * twice, 1 a layer of another model, 2 a layer the model owns whose
 * shape no longer fits, 3 an owned layer with a NULL model, 4 the
 * optimizer of another model, 5 an owned optimizer with a NULL model. */
static int owned_case(int kind)
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
    switch (kind) {
    case 0: rc = capture(tnn_model_add(m, relu)); break;
    case 1: rc = capture(tnn_model_add(m, tnn_model_layer(other, 0))); break;
    case 2: rc = capture(tnn_model_add(m, tnn_model_layer(m, 0))); break;
    case 3: rc = capture(tnn_model_add(NULL, relu)); break;
    case 4:
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

static int r_add_same_layer_twice(void)
{
    return owned_case(0);
}
static int r_add_layer_of_other_model(void)
{
    return owned_case(1);
}
static int r_add_owned_layer_bad_shape(void)
{
    return owned_case(2);
}
static int r_add_owned_layer_null_model(void)
{
    return owned_case(3);
}
static int r_set_optim_of_other_model(void)
{
    return owned_case(4);
}
static int r_set_optim_owned_null_model(void)
{
    return owned_case(5);
}

/* Freeing what a model owns leaves it to the model. what: 0 a layer, 1
 * the optimizer. */
static int free_owned_case(int what)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    if (what == 0)
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

static int r_layer_free_owned(void)
{
    return free_owned_case(0);
}
static int r_optim_free_owned(void)
{
    return free_owned_case(1);
}

/* Calls from inside a tnn_model_fit() callback, which may read the model
 * but not change it. what: 0 add a layer, 1 set an optimizer. */
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
        if (md->what == 0)
            md->rc = capture(tnn_model_add(md->m, tnn_dense_new(3, 2)));
        else
            md->rc = capture(tnn_model_set_optim(md->m, tnn_adam_new(0.01f)));
    }
    return 1;
}

static int meddle_case(int what)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    tnn_optim *opt = tnn_model_optim(m);
    tnn_tensor *x = mk(4, 4, 0.5f), *y = mk(4, 3, 0.0f);
    struct meddle md = {m, what, 12345, 0};
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

static int r_add_in_callback(void)
{
    return meddle_case(0);
}
static int r_set_optim_in_callback(void)
{
    return meddle_case(1);
}

static int r_max_sample_null(void)
{
    return capture(tnn_model_set_max_sample_values(NULL, 1000));
}

/* A bound below the input row, and one from a fit callback: the bound
 * stays as it was. */
static int r_max_sample_below_input(void)
{
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

static int r_max_sample_in_callback(void)
{
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
static int r_predict_above_bound(void)
{
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
static int r_layer_forward_above_bound(void)
{
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

static int r_set_optim_null_model(void)
{
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

NEUTRAL_ROW(r_num_layers_null, tnn_model_num_layers(NULL) == 0)
NEUTRAL_ROW(r_model_layer_null, tnn_model_layer(NULL, 0) == NULL)

static int r_model_layer_range(void)
{
    tnn_model *m = mk_model(0);
    CHECK(tnn_model_layer(m, 1) == NULL, "layer 1 of 1 is not NULL");
    CHECK(tnn_model_layer(m, SIZE_MAX) == NULL, "layer SIZE_MAX not NULL");
    tnn_model_free(m);
    return NEUTRAL;
}

NEUTRAL_ROW(r_model_in_null, tnn_model_in_features(NULL) == 0)
NEUTRAL_ROW(r_model_out_null, tnn_model_out_features(NULL) == 0)
NEUTRAL_ROW(r_model_params_null, tnn_model_num_params(NULL) == 0)

static int r_summary_null_model(void)
{
    char buf[16] = "untouched";
    size_t needed = 77;
    int rc = capture(tnn_model_summary(NULL, buf, sizeof buf, &needed));
    CHECK(strcmp(buf, "untouched") == 0, "buf was written");
    CHECK(needed == 77, "*needed was written");
    return rc;
}

static int r_summary_null_buf(void)
{
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

/* A failed set_loss keeps MSE: 1-D class labels stay refused. */
static int set_loss_case(int loss)
{
    tnn_model *m = mk_model(0);
    tnn_tensor *x = mk(2, 4, 0.5f), *idx = mk1(2, 1.0f), *y = mk(2, 3, 0.0f);
    int rc = capture(tnn_model_set_loss(m, loss));
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

static int r_set_loss_2(void)
{
    return set_loss_case(2);
}
static int r_set_loss_neg(void)
{
    return set_loss_case(-1);
}
NEUTRAL_ROW(r_model_optim_null, tnn_model_optim(NULL) == NULL)
CALL_ROW(r_set_mode_null, tnn_model_set_mode(NULL, TNN_MODE_TRAIN))

static int set_mode_case(int mode)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_mode(m, mode));
    CHECK(tnn_model_mode(m) == TNN_MODE_EVAL, "the mode changed");
    tnn_model_free(m);
    return rc;
}

static int r_set_mode_2(void)
{
    return set_mode_case(2);
}
static int r_set_mode_neg(void)
{
    return set_mode_case(-1);
}
NEUTRAL_ROW(r_mode_null, tnn_model_mode(NULL) == 0)
CALL_ROW(r_check_finite_null, tnn_model_set_check_finite(NULL, 1))

static int check_finite_case(int on)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_set_check_finite(m, on));
    tnn_model_free(m);
    return rc;
}

static int r_check_finite_2(void)
{
    return check_finite_case(2);
}
static int r_check_finite_neg(void)
{
    return check_finite_case(-1);
}

/* ========================================================================= */
/* Models: training, evaluation, prediction                                  */
/* ========================================================================= */

static int r_train_null_model(void)
{
    tnn_tensor *x = mk(2, 4, 0.0f), *y = mk(2, 3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_model_train_batch(NULL, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

/* train_batch on the env with x replaced by x2 / y by y2 when given. */
static int train_case(int with_optim, tnn_tensor *x2, tnn_tensor *y2,
                      int null_x, int null_y, int ce)
{
    struct env e;
    env_open(&e, with_optim);
    if (ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    const tnn_tensor *x = null_x ? NULL : x2 ? x2 : e.x;
    const tnn_tensor *y = null_y ? NULL : y2 ? y2 : e.y;
    double loss = 42.0;
    int rc = capture(tnn_model_train_batch(e.m, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    tnn_tensor_free(x2);
    tnn_tensor_free(y2);
    return env_close(&e, rc);
}

static int r_train_null_x(void)
{
    return train_case(1, NULL, NULL, 1, 0, 0);
}
static int r_train_null_y(void)
{
    return train_case(1, NULL, NULL, 0, 1, 0);
}
static int r_train_no_optim(void)
{
    return train_case(0, NULL, NULL, 0, 0, 0);
}
static int r_train_x_width(void)
{
    return train_case(1, mk(5, 5, 0.5f), NULL, 0, 0, 0);
}
static int r_train_x_1d(void)
{
    return train_case(1, mk1(4, 0.5f), NULL, 0, 0, 0);
}
static int r_train_y_rows(void)
{
    return train_case(1, NULL, mk(4, 3, 0.0f), 0, 0, 0);
}
static int r_train_y_width(void)
{
    return train_case(1, NULL, mk(5, 2, 0.0f), 0, 0, 0);
}
static int r_train_ce_label(void)
{
    return train_case(1, NULL, mk1(5, 3.0f), 0, 0, 1);
}
static int r_train_ce_index_rows(void)
{
    return train_case(1, NULL, mk1(4, 1.0f), 0, 0, 1);
}

/* A model with an optimizer but no layers. */
static int r_train_no_layers(void)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    tnn_tensor *x = mk(2, 3, 0.5f), *y = mk(2, 3, 0.0f);
    double loss = 42.0;
    int rc = capture(tnn_model_train_batch(m, x, y, &loss));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(tnn_optim_steps(tnn_model_optim(m)) == 0, "a step was taken");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return rc;
}

struct fit_call {
    int with_optim;
    int null_x, null_y;
    tnn_tensor *x, *y, *x_val, *y_val; /* replacements, freed here */
    int val;                           /* pass valid x_val/y_val: 1 both */
    int epochs;
    size_t batch;
    int shuffle;
    int ce;
};

static int fit_case(struct fit_call c)
{
    struct env e;
    env_open(&e, c.with_optim);
    if (c.ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    const tnn_tensor *x = c.null_x ? NULL : c.x ? c.x : e.x;
    const tnn_tensor *y = c.null_y ? NULL : c.y ? c.y : e.y;
    const tnn_tensor *xv = c.x_val ? c.x_val : c.val ? e.x : NULL;
    const tnn_tensor *yv = c.y_val ? c.y_val : c.val ? e.y : NULL;
    int rc = capture(tnn_model_fit(e.m, x, y, xv, yv, c.epochs, c.batch,
                                   c.shuffle, count_cb, NULL));
    tnn_tensor_free(c.x);
    tnn_tensor_free(c.y);
    tnn_tensor_free(c.x_val);
    tnn_tensor_free(c.y_val);
    return env_close(&e, rc);
}

static int r_fit_null_model(void)
{
    tnn_tensor *x = mk(2, 4, 0.0f), *y = mk(2, 3, 0.0f);
    int rc = capture(
        tnn_model_fit(NULL, x, y, NULL, NULL, 1, 2, 0, count_cb, NULL));
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return rc;
}

static int r_fit_null_x(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .null_x = 1, .epochs = 1, .batch = 2});
}
static int r_fit_null_y(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .null_y = 1, .epochs = 1, .batch = 2});
}
static int r_fit_epochs0(void)
{
    return fit_case(
        (struct fit_call){.with_optim = 1, .epochs = 0, .batch = 2});
}
static int r_fit_epochs_neg(void)
{
    return fit_case(
        (struct fit_call){.with_optim = 1, .epochs = -1, .batch = 2});
}
static int r_fit_batch0(void)
{
    return fit_case(
        (struct fit_call){.with_optim = 1, .epochs = 1, .batch = 0});
}
static int r_fit_shuffle2(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .epochs = 1, .batch = 2, .shuffle = 2});
}
static int r_fit_shuffle_neg(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .epochs = 1, .batch = 2, .shuffle = -1});
}
static int r_fit_xval_only(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .x_val = mk(2, 4, 0.5f), .epochs = 1, .batch = 2});
}
static int r_fit_yval_only(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .y_val = mk(2, 3, 0.5f), .epochs = 1, .batch = 2});
}
static int r_fit_no_optim(void)
{
    return fit_case(
        (struct fit_call){.with_optim = 0, .epochs = 1, .batch = 2});
}
static int r_fit_x_width(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .x = mk(5, 3, 0.5f), .epochs = 1, .batch = 2});
}
static int r_fit_y_rows(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .y = mk(6, 3, 0.5f), .epochs = 1, .batch = 2});
}
static int r_fit_y_width(void)
{
    return fit_case((struct fit_call){
        .with_optim = 1, .y = mk(5, 4, 0.5f), .epochs = 1, .batch = 2});
}
static int r_fit_xval_width(void)
{
    return fit_case((struct fit_call){.with_optim = 1,
                                      .x_val = mk(2, 5, 0.5f),
                                      .y_val = mk(2, 3, 0.5f),
                                      .epochs = 1,
                                      .batch = 2});
}
static int r_fit_yval_rows(void)
{
    return fit_case((struct fit_call){.with_optim = 1,
                                      .x_val = mk(2, 4, 0.5f),
                                      .y_val = mk(3, 3, 0.5f),
                                      .epochs = 1,
                                      .batch = 2});
}
static int r_fit_ce_label(void)
{
    return fit_case((struct fit_call){.with_optim = 1,
                                      .y = mk1(5, -1.0f),
                                      .epochs = 1,
                                      .batch = 2,
                                      .ce = 1});
}
/* A bad validation label must be caught before any training happens. */
static int r_fit_ce_val_label(void)
{
    tnn_tensor *yv = mk1(2, 0.0f);
    tnn_tensor_data(yv)[1] = 9.0f;
    return fit_case((struct fit_call){.with_optim = 1,
                                      .y = mk1(5, 1.0f),
                                      .x_val = mk(2, 4, 0.5f),
                                      .y_val = yv,
                                      .epochs = 1,
                                      .batch = 2,
                                      .ce = 1});
}

static int r_fit_no_layers(void)
{
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

/* evaluate on the env with replacements; outputs must stay. */
static int evaluate_case(int null_model, int null_x, int null_y,
                         tnn_tensor *x2, tnn_tensor *y2, int ce)
{
    struct env e;
    env_open(&e, 0);
    if (ce)
        ck_assert_int_eq(tnn_model_set_loss(e.m, TNN_LOSS_CROSS_ENTROPY),
                         TNN_OK);
    const tnn_tensor *x = null_x ? NULL : x2 ? x2 : e.x;
    const tnn_tensor *y = null_y ? NULL : y2 ? y2 : e.y;
    double loss = 42.0, acc = 42.0;
    int rc = capture(
        tnn_model_evaluate(null_model ? NULL : e.m, x, y, &loss, &acc));
    CHECK(loss == 42.0, "*loss was written");
    CHECK(acc == 42.0, "*accuracy was written");
    tnn_tensor_free(x2);
    tnn_tensor_free(y2);
    return env_close(&e, rc);
}

static int r_eval_null_model(void)
{
    return evaluate_case(1, 0, 0, NULL, NULL, 0);
}
static int r_eval_null_x(void)
{
    return evaluate_case(0, 1, 0, NULL, NULL, 0);
}
static int r_eval_null_y(void)
{
    return evaluate_case(0, 0, 1, NULL, NULL, 0);
}
static int r_eval_x_width(void)
{
    return evaluate_case(0, 0, 0, mk(5, 2, 0.0f), NULL, 0);
}
static int r_eval_y_rows(void)
{
    return evaluate_case(0, 0, 0, NULL, mk(3, 3, 0.0f), 0);
}
static int r_eval_y_width(void)
{
    return evaluate_case(0, 0, 0, NULL, mk(5, 1, 0.0f), 0);
}
static int r_eval_ce_label(void)
{
    return evaluate_case(0, 0, 0, NULL, mk1(5, 3.0f), 1);
}

/* predict (or forward when fwd) on the env with replacements; out (the
 * env's, unless out2 is given) must stay. */
static int predict_case(int fwd, int null_model, int null_x, int null_out,
                        tnn_tensor *x2, tnn_tensor *out2)
{
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

static int r_pred_null_model(void)
{
    return predict_case(0, 1, 0, 0, 0, 0);
}
static int r_pred_null_x(void)
{
    return predict_case(0, 0, 1, 0, 0, 0);
}
static int r_pred_null_out(void)
{
    return predict_case(0, 0, 0, 1, 0, 0);
}
static int r_pred_x_width(void)
{
    return predict_case(0, 0, 0, 0, mk(5, 3, 0.0f), NULL);
}
static int r_pred_x_1d(void)
{
    return predict_case(0, 0, 0, 0, mk1(4, 0.0f), NULL);
}
static int r_pred_out_width(void)
{
    return predict_case(0, 0, 0, 0, NULL, mk(5, 4, 7.0f));
}
static int r_pred_out_rows(void)
{
    return predict_case(0, 0, 0, 0, NULL, mk(4, 3, 7.0f));
}
static int r_fwd_null_model(void)
{
    return predict_case(1, 1, 0, 0, 0, 0);
}
static int r_fwdm_null_x(void)
{
    return predict_case(1, 0, 1, 0, 0, 0);
}
static int r_fwdm_null_out(void)
{
    return predict_case(1, 0, 0, 1, 0, 0);
}
static int r_fwdm_x_width(void)
{
    return predict_case(1, 0, 0, 0, mk(5, 5, 0.0f), NULL);
}
static int r_fwdm_out_width(void)
{
    return predict_case(1, 0, 0, 0, NULL, mk(5, 2, 7.0f));
}
static int r_fwdm_out_rows(void)
{
    return predict_case(1, 0, 0, 0, NULL, mk(6, 3, 7.0f));
}

/* out is x itself on a width-keeping model: the outputs would overwrite
 * the inputs they are computed from. */
static int alias_case(int fwd)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 3)), TNN_OK);
    tnn_tensor *x = mk(2, 3, 0.5f);
    struct snap s;
    snap_take(&s, x);
    int rc =
        capture(fwd ? tnn_model_forward(m, x, x) : tnn_model_predict(m, x, x));
    CHECK(snap_same(&s, x), "x was overwritten");
    tnn_tensor_free(x);
    tnn_model_free(m);
    return rc;
}

static int r_pred_alias(void)
{
    return alias_case(0);
}
static int r_fwdm_alias(void)
{
    return alias_case(1);
}

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

/* Load bytes from a buffer (file 0) or through a file (file 1); *out must
 * be NULL after a failure. */
static int idx_case(int file, const void *data, size_t size, int flags)
{
    tnn_tensor *out = SENTINEL;
    int rc;
    if (file) {
        char path[256];
        tmp_open();
        tmp_path(path, sizeof path, "data.idx");
        write_file(path, data, size);
        rc = capture(tnn_idx_load(path, flags, &out));
        tmp_close();
    } else {
        rc = capture(tnn_idx_load_buffer(data, size, flags, &out));
    }
    CHECK(out == NULL, "*out is not NULL after a failure");
    if (out != SENTINEL)
        tnn_tensor_free(out);
    return rc;
}

#define IDX_ROWS(tag, bytes, flags)                                           \
    static int r_idxb_##tag(void)                                             \
    {                                                                         \
        return idx_case(0, bytes, sizeof bytes, flags);                       \
    }                                                                         \
    static int r_idxf_##tag(void)                                             \
    {                                                                         \
        return idx_case(1, bytes, sizeof bytes, flags);                       \
    }

IDX_ROWS(flags4, idx_ok, 4)
IDX_ROWS(flags_neg, idx_ok, -1)
IDX_ROWS(bad_magic, idx_bad_magic, 0)
IDX_ROWS(float, idx_float, 0)
IDX_ROWS(0dims, idx_0dims, 0)
IDX_ROWS(5dims, idx_5dims, 0)
IDX_ROWS(zero_dim, idx_zero_dim, 0)
IDX_ROWS(overflow, idx_overflow, 0)
IDX_ROWS(short_header, idx_short_header, 0)
IDX_ROWS(tiny, idx_tiny, TNN_IDX_SCALE)
IDX_ROWS(short_data, idx_short_data, 0)
IDX_ROWS(long_data, idx_long_data, TNN_IDX_FLATTEN)

static int r_idxb_null_data(void)
{
    return idx_case(0, NULL, 11, 0);
}

static int r_idxb_null_out(void)
{
    return capture(tnn_idx_load_buffer(idx_ok, sizeof idx_ok, 0, NULL));
}

static int r_idxf_null_path(void)
{
    tnn_tensor *out = SENTINEL;
    int rc = capture(tnn_idx_load(NULL, 0, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

static int r_idxf_null_out(void)
{
    return capture(tnn_idx_load("/nonexistent/x.idx", 0, NULL));
}

static int r_idxf_missing(void)
{
    tnn_tensor *out = SENTINEL;
    int rc = capture(tnn_idx_load("/nonexistent/tinynn/x.idx", 0, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

static int r_idxf_directory(void)
{
    tnn_tensor *out = SENTINEL;
    tmp_open();
    int rc = capture(tnn_idx_load(tmpdir, 0, &out));
    tmp_close();
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

/* ========================================================================= */
/* Model files                                                               */
/* ========================================================================= */

/* save to an existing file holding "old": on failure it must still hold
 * "old" and no temporary file may remain. */
static int save_case(int null_model, int with_optim, int flags)
{
    char path[256];
    tmp_open();
    tmp_path(path, sizeof path, "model.tnn");
    write_file(path, "old", 3);
    tnn_model *m = null_model ? NULL : mk_model(with_optim);
    int rc = capture(tnn_model_save(m, path, flags));
    CHECK(file_is(path, "old", 3), "the file at path changed");
    CHECK(tmp_entries() == 1, "a file was left behind");
    tnn_model_free(m);
    tmp_close();
    return rc;
}

static int r_save_null_model(void)
{
    return save_case(1, 0, 0);
}
static int r_save_flags2(void)
{
    return save_case(0, 1, 2);
}
static int r_save_flags_neg(void)
{
    return save_case(0, 1, -1);
}
static int r_save_optim_missing(void)
{
    return save_case(0, 0, TNN_SAVE_OPTIMIZER);
}

static int r_save_null_path(void)
{
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_save(m, NULL, 0));
    tnn_model_free(m);
    return rc;
}

static int r_save_missing_dir(void)
{
    char path[256];
    tmp_open();
    tmp_path(path, sizeof path, "no/such/dir/model.tnn");
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_save(m, path, 0));
    CHECK(tmp_entries() == 0, "a file was left behind");
    tnn_model_free(m);
    tmp_close();
    return rc;
}

/* path names a directory, which cannot be replaced by a file. */
static int r_save_onto_dir(void)
{
    char path[256];
    tmp_open();
    tmp_path(path, sizeof path, "sub");
    CHECK(mkdir(path, 0700) == 0, "mkdir failed");
    tnn_model *m = mk_model(0);
    int rc = capture(tnn_model_save(m, path, 0));
    CHECK(tmp_entries() == 1, "a file was left behind");
    tnn_model_free(m);
    tmp_close();
    return rc;
}

/* save_buffer into a 16-byte buffer of 0xAB (or NULL / size given). */
static int save_buffer_case(int null_model, int with_optim, int flags,
                            int null_buf, size_t size)
{
    unsigned char buf[16];
    memset(buf, 0xAB, sizeof buf);
    tnn_model *m = null_model ? NULL : mk_model(with_optim);
    size_t needed = 77;
    int rc = capture(
        tnn_model_save_buffer(m, flags, null_buf ? NULL : buf, size, &needed));
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0xAB, "buf was written");
    if (rc == TNN_E_SHAPE) {
        size_t full = 0;
        ck_assert_int_eq(tnn_model_save_buffer(m, flags, NULL, 0, &full),
                         TNN_OK);
        CHECK(needed == full, "*needed is not the image's size");
    } else {
        CHECK(needed == 77, "*needed was written");
    }
    tnn_model_free(m);
    return rc;
}

static int r_save_buf_null_model(void)
{
    return save_buffer_case(1, 0, 0, 0, 16);
}
static int r_save_buf_null_buf(void)
{
    return save_buffer_case(0, 0, 0, 1, 16);
}
static int r_save_buf_flags(void)
{
    return save_buffer_case(0, 1, 4, 0, 16);
}
static int r_save_buf_optim_missing(void)
{
    return save_buffer_case(0, 0, TNN_SAVE_OPTIMIZER, 0, 16);
}
static int r_save_buf_small(void)
{
    return save_buffer_case(0, 0, 0, 0, 16);
}
static int r_save_buf_one(void)
{
    return save_buffer_case(0, 1, 1, 0, 1);
}

/* Load a damaged image. how: 0 garbage, 1 half, 2 newer version, 3 one
 * byte flipped in the middle, 4 one byte appended. */
static int load_buffer_case(int how)
{
    size_t size;
    unsigned char *img = model_image(0, &size);
    static const char garbage[] = "this is not a libtinynn model file at all";
    const void *data = img;
    switch (how) {
    case 0:
        data = garbage;
        size = sizeof garbage;
        break;
    case 1: size /= 2; break;
    case 2: img[8] = 99; break;
    case 3: img[size / 2] ^= 0x10; break;
    default: img[size++] = 0; break;
    }
    tnn_model *out = SENTINEL;
    int rc = capture(tnn_model_load_buffer(data, size, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    if (out != SENTINEL)
        tnn_model_free(out);
    free(img);
    return rc;
}

static int r_load_buf_garbage(void)
{
    return load_buffer_case(0);
}
static int r_load_buf_half(void)
{
    return load_buffer_case(1);
}
static int r_load_buf_newer(void)
{
    return load_buffer_case(2);
}
static int r_load_buf_flipped(void)
{
    return load_buffer_case(3);
}
static int r_load_buf_longer(void)
{
    return load_buffer_case(4);
}

static int r_load_buf_null_data(void)
{
    tnn_model *out = SENTINEL;
    int rc = capture(tnn_model_load_buffer(NULL, 100, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    return rc;
}

static int r_load_buf_null_out(void)
{
    size_t size;
    unsigned char *img = model_image(0, &size);
    int rc = capture(tnn_model_load_buffer(img, size, NULL));
    free(img);
    return rc;
}

static int load_file_case(const char *path)
{
    tnn_model *out = SENTINEL;
    int rc = capture(tnn_model_load(path, &out));
    CHECK(out == NULL, "*out is not NULL after a failure");
    if (out != SENTINEL)
        tnn_model_free(out);
    return rc;
}

static int r_load_null_path(void)
{
    return load_file_case(NULL);
}
static int r_load_missing(void)
{
    return load_file_case("/nonexistent/tinynn/model.tnn");
}

static int r_load_null_out(void)
{
    return capture(tnn_model_load("/nonexistent/model.tnn", NULL));
}

static int r_load_directory(void)
{
    tmp_open();
    int rc = load_file_case(tmpdir);
    tmp_close();
    return rc;
}

static int r_load_garbage(void)
{
    char path[256];
    tmp_open();
    tmp_path(path, sizeof path, "model.tnn");
    write_file(path, "#!/bin/sh\necho not a model\n", 27);
    int rc = load_file_case(path);
    tmp_close();
    return rc;
}

static int r_load_truncated(void)
{
    char path[256];
    size_t size;
    unsigned char *img = model_image(1, &size);
    tmp_open();
    tmp_path(path, sizeof path, "model.tnn");
    write_file(path, img, size - 1);
    int rc = load_file_case(path);
    tmp_close();
    free(img);
    return rc;
}

CTOR_ROW(r_clone_model_null, tnn_model, tnn_model_clone(NULL), tnn_model_free)

static int r_clone_model_nomem(void)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = mk_model(1);
    a.fail_at = a.calls + 1;
    tnn_model *c = tnn_model_clone(m);
    int rc = capture(ptr_result(c));
    a.fail_at = 0;
    tnn_model_free(c);
    tnn_model_free(m);
    long live = a.live;
    counting_remove();
    CHECK(live == 0, "a block leaked");
    return rc;
}

/* ========================================================================= */
/* The table                                                                 */
/* ========================================================================= */

#define INV TNN_E_INVALID
#define SHP TNN_E_SHAPE
#define STA TNN_E_STATE
#define NOM TNN_E_NOMEM

static const struct misuse rows[] = {
    /* versions and errors */
    {"tnn_version_number", "equals TNN_VERSION_NUMBER", r_version_number,
     NEUTRAL},
    {"tnn_version_string", "equals TNN_VERSION_STRING", r_version_string,
     NEUTRAL},
    {"tnn_strerror", "code 12345", r_strerror_unknown, NEUTRAL},
    {"tnn_strerror", "the code after the last", r_strerror_next_code, NEUTRAL},
    {"tnn_strerror", "INT_MIN", r_strerror_int_min, NEUTRAL},
    {"tnn_strerror", "TNN_E_SHAPE is \"shape mismatch\"", r_strerror_shape,
     NEUTRAL},
    {"tnn_last_error", "empty when nothing failed", r_last_error_clear,
     NEUTRAL},
    {"tnn_last_error", "kept across a successful call", r_last_error_kept,
     NEUTRAL},
    {"tnn_last_error_code", "TNN_OK when nothing failed",
     r_last_error_code_clear, NEUTRAL},
    {"tnn_clear_error", "forgets a failure", r_clear_error, NEUTRAL},

    /* memory and threads */
    {"tnn_set_allocator", "free_fn NULL only", r_alloc_no_free, INV},
    {"tnn_set_allocator", "malloc_fn NULL only", r_alloc_no_malloc, INV},
    {"tnn_set_allocator", "only free_fn set", r_alloc_only_free, INV},
    {"tnn_set_num_threads", "n = 0", r_threads_0, INV},
    {"tnn_set_num_threads", "n = -4", r_threads_neg, INV},
    {"tnn_get_num_threads", "at least 1", r_get_threads, NEUTRAL},

    /* random numbers */
    {"tnn_rng_new", "allocation fails", r_rng_new_nomem, NOM},
    {"tnn_rng_free", "NULL", r_rng_free_null, NEUTRAL},
    {"tnn_rng_seed", "NULL rng", r_rng_seed_null, INV},
    {"tnn_rng_next_u64", "NULL rng gives 0", r_rng_u64_null, NEUTRAL},
    {"tnn_rng_uniform", "NULL rng gives 0", r_rng_uniform_null, NEUTRAL},
    {"tnn_rng_normal", "NULL rng gives 0", r_rng_normal_null, NEUTRAL},

    /* tensors */
    {"tnn_tensor_new", "ndim 0", r_tensor_new_ndim0, INV},
    {"tnn_tensor_new", "ndim 5", r_tensor_new_ndim5, INV},
    {"tnn_tensor_new", "ndim -1", r_tensor_new_ndim_neg, INV},
    {"tnn_tensor_new", "dims NULL", r_tensor_new_dims_null, INV},
    {"tnn_tensor_new", "a zero dimension", r_tensor_new_zero_dim, INV},
    {"tnn_tensor_new", "element count overflows", r_tensor_new_count_overflow,
     SHP},
    {"tnn_tensor_new", "byte size overflows", r_tensor_new_bytes_overflow,
     SHP},
    {"tnn_tensor_new", "allocation fails", r_tensor_new_nomem, NOM},
    {"tnn_tensor_new_2d", "rows 0", r_tensor_2d_rows0, INV},
    {"tnn_tensor_new_2d", "cols 0", r_tensor_2d_cols0, INV},
    {"tnn_tensor_new_2d", "size overflows", r_tensor_2d_overflow, SHP},
    {"tnn_tensor_new_2d", "allocation fails", r_tensor_2d_nomem, NOM},
    {"tnn_tensor_free", "NULL", r_tensor_free_null, NEUTRAL},
    {"tnn_tensor_ndim", "NULL gives 0", r_tensor_ndim_null, NEUTRAL},
    {"tnn_tensor_dim", "NULL gives 0", r_tensor_dim_null, NEUTRAL},
    {"tnn_tensor_dim", "i out of range gives 0", r_tensor_dim_range, NEUTRAL},
    {"tnn_tensor_size", "NULL gives 0", r_tensor_size_null, NEUTRAL},
    {"tnn_tensor_data", "NULL gives NULL", r_tensor_data_null, NEUTRAL},
    {"tnn_tensor_cdata", "NULL gives NULL", r_tensor_cdata_null, NEUTRAL},
    {"tnn_tensor_copy_from", "NULL tensor", r_copy_from_null_t, INV},
    {"tnn_tensor_copy_from", "NULL src", r_copy_from_null_src, INV},
    {"tnn_tensor_copy_from", "count one short", r_copy_from_short, SHP},
    {"tnn_tensor_copy_from", "count one long", r_copy_from_long, SHP},
    {"tnn_tensor_copy_from", "count 0", r_copy_from_zero, SHP},
    {"tnn_tensor_copy_to", "NULL tensor", r_copy_to_null_t, INV},
    {"tnn_tensor_copy_to", "NULL dst", r_copy_to_null_dst, INV},
    {"tnn_tensor_copy_to", "capacity one short", r_copy_to_short, SHP},
    {"tnn_tensor_copy_to", "capacity 0", r_copy_to_zero, SHP},
    {"tnn_tensor_fill", "NULL tensor", r_fill_null, INV},
    {"tnn_tensor_clone", "NULL tensor", r_clone_null, INV},
    {"tnn_tensor_clone", "allocation fails", r_clone_nomem, NOM},
    {"tnn_tensor_reshape", "NULL tensor", r_reshape_null, INV},
    {"tnn_tensor_reshape", "other element count", r_reshape_count, SHP},
    {"tnn_tensor_reshape", "a zero dimension", r_reshape_zero, INV},
    {"tnn_tensor_reshape", "ndim 0", r_reshape_ndim0, INV},
    {"tnn_tensor_reshape", "ndim 5", r_reshape_ndim5, INV},
    {"tnn_tensor_reshape", "dims NULL", r_reshape_dims_null, INV},
    {"tnn_tensor_reshape", "element count overflows", r_reshape_overflow, SHP},
    {"tnn_tensor_rand_uniform", "NULL tensor", r_uniform_null_t, INV},
    {"tnn_tensor_rand_uniform", "NULL rng", r_uniform_null_rng, INV},
    {"tnn_tensor_rand_uniform", "lo == hi", r_uniform_equal, INV},
    {"tnn_tensor_rand_uniform", "lo > hi", r_uniform_reversed, INV},
    {"tnn_tensor_rand_uniform", "lo NaN", r_uniform_nan, INV},
    {"tnn_tensor_rand_uniform", "hi infinite", r_uniform_inf, INV},
    {"tnn_tensor_rand_uniform", "lo -infinity", r_uniform_neg_inf, INV},
    {"tnn_tensor_rand_normal", "NULL tensor", r_normal_null_t, INV},
    {"tnn_tensor_rand_normal", "NULL rng", r_normal_null_rng, INV},
    {"tnn_tensor_rand_normal", "stddev -1", r_normal_neg_sd, INV},
    {"tnn_tensor_rand_normal", "stddev NaN", r_normal_nan_sd, INV},
    {"tnn_tensor_rand_normal", "mean infinite", r_normal_inf_mean, INV},
    {"tnn_tensor_rand_normal", "mean NaN", r_normal_nan_mean, INV},
    {"tnn_tensor_rand_normal", "stddev 1e38 (draws overflow)",
     r_normal_overflowing_sd, INV},

    /* layers */
    {"tnn_dense_new", "in 0", r_dense_in0, INV},
    {"tnn_dense_new", "out 0", r_dense_out0, INV},
    {"tnn_dense_new", "allocation fails", r_dense_nomem, NOM},
    {"tnn_dense_set_init", "NULL layer", r_set_init_null, INV},
    {"tnn_dense_set_init", "a relu layer", r_set_init_relu, INV},
    {"tnn_dense_set_init", "init 4", r_set_init_4, INV},
    {"tnn_dense_set_init", "init -1", r_set_init_neg, INV},
    {"tnn_dense_set_init", "constant NaN", r_set_init_nan, INV},
    {"tnn_dense_set_init", "constant infinity", r_set_init_inf, INV},
    {"tnn_dense_set_init", "init 9 keeps the initialiser", r_set_init_kept,
     INV},
    {"tnn_relu_new", "allocation fails", r_relu_nomem, NOM},
    {"tnn_sigmoid_new", "allocation fails", r_sigmoid_nomem, NOM},
    {"tnn_tanh_new", "allocation fails", r_tanh_nomem, NOM},
    {"tnn_softmax_new", "allocation fails", r_softmax_nomem, NOM},
    {"tnn_identity_new", "allocation fails", r_identity_nomem, NOM},
    {"tnn_dropout_new", "rate 1", r_dropout_1, INV},
    {"tnn_dropout_new", "rate -0.1", r_dropout_neg, INV},
    {"tnn_dropout_new", "rate NaN", r_dropout_nan, INV},
    {"tnn_dropout_new", "rate infinity", r_dropout_inf, INV},
    {"tnn_dropout_new", "allocation fails", r_dropout_nomem, NOM},
    {"tnn_conv2d_new", "stride 0", r_conv_stride0, INV},
    {"tnn_conv2d_new", "0 channels", r_conv_channels0, INV},
    {"tnn_conv2d_new", "kernel height 0", r_conv_kernel0, INV},
    {"tnn_conv2d_new", "padding -7", r_conv_padding, INV},
    {"tnn_conv2d_new", "weights overflow", r_conv_huge, INV},
    {"tnn_conv2d_new", "allocation fails", r_conv_nomem, NOM},
    {"tnn_conv2d_set_init", "NULL layer", r_conv_init_null, INV},
    {"tnn_conv2d_set_init", "dense layer", r_conv_init_dense, INV},
    {"tnn_conv2d_set_init", "init 9", r_conv_init_kind, INV},
    {"tnn_conv2d_set_init", "NaN constant", r_conv_init_nan, INV},
    {"tnn_maxpool2d_new", "window 0", r_maxpool_k0, INV},
    {"tnn_maxpool2d_new", "stride 0", r_maxpool_s0, INV},
    {"tnn_maxpool2d_new", "allocation fails", r_maxpool_nomem, NOM},
    {"tnn_avgpool2d_new", "window 0", r_avgpool_k0, INV},
    {"tnn_avgpool2d_new", "window 5000", r_avgpool_big, INV},
    {"tnn_flatten_new", "allocation fails", r_flatten_nomem, NOM},
    {"tnn_model_new_image", "height 0", r_image_model_zero, INV},
    {"tnn_model_new_image", "size overflows", r_image_model_huge, INV},
    {"tnn_model_new_image", "allocation fails", r_image_model_nomem, NOM},
    {"tnn_batchnorm_new", "features 0", r_batchnorm_0, INV},
    {"tnn_batchnorm_new", "allocation fails", r_batchnorm_nomem, NOM},
    {"tnn_batchnorm_set_momentum", "NULL layer", r_bn_momentum_null, INV},
    {"tnn_batchnorm_set_momentum", "a dense layer", r_bn_momentum_dense, INV},
    {"tnn_batchnorm_set_momentum", "momentum 1", r_bn_momentum_1, INV},
    {"tnn_batchnorm_set_momentum", "momentum -0.1", r_bn_momentum_neg, INV},
    {"tnn_batchnorm_set_momentum", "momentum NaN", r_bn_momentum_nan, INV},
    {"tnn_batchnorm_momentum", "NULL gives 0", r_bn_get_momentum_null,
     NEUTRAL},
    {"tnn_batchnorm_momentum", "a dense layer gives 0",
     r_bn_get_momentum_dense, NEUTRAL},
    {"tnn_batchnorm_set_eps", "NULL layer", r_bn_eps_null, INV},
    {"tnn_batchnorm_set_eps", "a dense layer", r_bn_eps_dense, INV},
    {"tnn_batchnorm_set_eps", "eps 0", r_bn_eps_0, INV},
    {"tnn_batchnorm_set_eps", "eps negative", r_bn_eps_neg, INV},
    {"tnn_batchnorm_set_eps", "eps NaN", r_bn_eps_nan, INV},
    {"tnn_batchnorm_set_eps", "eps infinity", r_bn_eps_inf, INV},
    {"tnn_batchnorm_eps", "NULL gives 0", r_bn_get_eps_null, NEUTRAL},
    {"tnn_batchnorm_eps", "a relu layer gives 0", r_bn_get_eps_relu, NEUTRAL},
    {"tnn_batchnorm_running_mean", "NULL gives NULL", r_bn_mean_null, NEUTRAL},
    {"tnn_batchnorm_running_mean", "a dense layer gives NULL", r_bn_mean_dense,
     NEUTRAL},
    {"tnn_batchnorm_running_var", "NULL gives NULL", r_bn_var_null, NEUTRAL},
    {"tnn_batchnorm_running_var", "a dropout layer gives NULL",
     r_bn_var_dropout, NEUTRAL},
    {"tnn_layer_free", "NULL", r_layer_free_null, NEUTRAL},
    {"tnn_layer_kind", "NULL gives 0", r_layer_kind_null, NEUTRAL},
    {"tnn_layer_name", "NULL gives \"\"", r_layer_name_null, NEUTRAL},
    {"tnn_layer_in_features", "NULL gives 0", r_layer_in_null, NEUTRAL},
    {"tnn_layer_out_features", "NULL gives 0", r_layer_out_null, NEUTRAL},
    {"tnn_layer_num_params", "NULL gives 0", r_layer_num_params_null, NEUTRAL},
    {"tnn_layer_param", "NULL gives NULL", r_layer_param_null, NEUTRAL},
    {"tnn_layer_param", "i out of range gives NULL", r_layer_param_range,
     NEUTRAL},
    {"tnn_layer_grad", "NULL gives NULL", r_layer_grad_null, NEUTRAL},
    {"tnn_layer_grad", "i out of range gives NULL", r_layer_grad_range,
     NEUTRAL},
    {"tnn_layer_set_trainable", "NULL layer", r_set_trainable_null, INV},
    {"tnn_layer_set_trainable", "trainable 2", r_set_trainable_2, INV},
    {"tnn_layer_set_trainable", "trainable -1", r_set_trainable_neg, INV},
    {"tnn_layer_trainable", "NULL gives 0", r_trainable_null, NEUTRAL},
    {"tnn_layer_init", "NULL layer", r_layer_init_null_layer, INV},
    {"tnn_layer_init", "NULL rng", r_layer_init_null_rng, INV},
    {"tnn_layer_forward", "NULL layer", r_fwd_null_layer, INV},
    {"tnn_layer_forward", "NULL in", r_fwd_null_in, INV},
    {"tnn_layer_forward", "NULL out", r_fwd_null_out, INV},
    {"tnn_layer_forward", "mode 2", r_fwd_mode_2, INV},
    {"tnn_layer_forward", "mode -1 (relu)", r_fwd_mode_neg, INV},
    {"tnn_layer_forward", "dense 3->2 given 4 features", r_fwd_in_width, SHP},
    {"tnn_layer_forward", "dense 3->2 into 3 columns", r_fwd_out_width, SHP},
    {"tnn_layer_forward", "out has other rows", r_fwd_out_rows, SHP},
    {"tnn_layer_forward", "relu: out wider than in", r_fwd_relu_out_width,
     SHP},
    {"tnn_layer_forward", "1-D in", r_fwd_in_1d, SHP},
    {"tnn_layer_forward", "tanh bound to 3 given 4", r_fwd_bound_width, SHP},
    {"tnn_layer_forward", "dropout training without rng", r_fwd_dropout_no_rng,
     INV},
    {"tnn_layer_backward", "NULL layer", r_bwd_null_layer, INV},
    {"tnn_layer_backward", "before any forward", r_bwd_no_forward, STA},
    {"tnn_layer_backward", "after an eval forward only", r_bwd_after_eval,
     STA},
    {"tnn_layer_backward", "other batch size than the forward",
     r_bwd_other_batch, STA},
    {"tnn_layer_backward", "dout of other width", r_bwd_dout_width, SHP},
    {"tnn_layer_backward", "dout of other rows", r_bwd_dout_rows, SHP},
    {"tnn_layer_backward", "din of other width", r_bwd_din_width, SHP},
    {"tnn_layer_backward", "NULL in", r_bwd_null_in, INV},
    {"tnn_layer_backward", "NULL out", r_bwd_null_out, INV},
    {"tnn_layer_backward", "NULL dout", r_bwd_null_dout, INV},
    {"tnn_layer_zero_grad", "NULL layer", r_zero_grad_null, INV},

    /* losses */
    {"tnn_loss_mse", "NULL pred", r_mse_null_pred, INV},
    {"tnn_loss_mse", "NULL target", r_mse_null_target, INV},
    {"tnn_loss_mse", "target of other width", r_mse_target_cols, SHP},
    {"tnn_loss_mse", "target of other rows", r_mse_target_rows, SHP},
    {"tnn_loss_mse", "grad of other shape", r_mse_grad_shape, SHP},
    {"tnn_loss_mse", "1-D tensors", r_mse_1d, SHP},
    {"tnn_loss_cross_entropy", "NULL logits", r_ce_null_logits, INV},
    {"tnn_loss_cross_entropy", "NULL labels", r_ce_null_labels, INV},
    {"tnn_loss_cross_entropy", "3 class indices for 2 rows", r_ce_index_count,
     SHP},
    {"tnn_loss_cross_entropy", "probability rows of other width",
     r_ce_rows_shape, SHP},
    {"tnn_loss_cross_entropy", "probability rows of other count",
     r_ce_rows_count, SHP},
    {"tnn_loss_cross_entropy", "class 3 of 3", r_ce_label_range, INV},
    {"tnn_loss_cross_entropy", "class -1", r_ce_label_neg, INV},
    {"tnn_loss_cross_entropy", "class 1.5", r_ce_label_frac, INV},
    {"tnn_loss_cross_entropy", "class NaN", r_ce_label_nan, INV},
    {"tnn_loss_cross_entropy", "probability -0.5", r_ce_prob_neg, INV},
    {"tnn_loss_cross_entropy", "probability infinite", r_ce_prob_inf, INV},
    {"tnn_loss_cross_entropy", "grad of other shape", r_ce_grad_shape, SHP},
    {"tnn_loss_cross_entropy", "1-D logits", r_ce_logits_1d, SHP},

    /* optimizers */
    {"tnn_sgd_new", "lr 0", r_sgd_lr0, INV},
    {"tnn_sgd_new", "lr negative", r_sgd_lr_neg, INV},
    {"tnn_sgd_new", "lr NaN", r_sgd_lr_nan, INV},
    {"tnn_sgd_new", "lr infinity", r_sgd_lr_inf, INV},
    {"tnn_sgd_new", "allocation fails", r_sgd_nomem, NOM},
    {"tnn_adam_new", "lr 0", r_adam_lr0, INV},
    {"tnn_adam_new", "lr negative", r_adam_lr_neg, INV},
    {"tnn_adam_new", "lr NaN", r_adam_lr_nan, INV},
    {"tnn_adam_new", "lr infinity", r_adam_lr_inf, INV},
    {"tnn_adam_new", "allocation fails", r_adam_nomem, NOM},
    {"tnn_sgd_set_momentum", "NULL optimizer", r_sgd_mom_null, INV},
    {"tnn_sgd_set_momentum", "an adam optimizer", r_sgd_mom_adam, INV},
    {"tnn_sgd_set_momentum", "momentum 1", r_sgd_mom_1, INV},
    {"tnn_sgd_set_momentum", "momentum -0.5", r_sgd_mom_neg, INV},
    {"tnn_sgd_set_momentum", "momentum NaN", r_sgd_mom_nan, INV},
    {"tnn_sgd_set_nesterov", "NULL optimizer", r_nesterov_null, INV},
    {"tnn_sgd_set_nesterov", "an adam optimizer", r_nesterov_adam, INV},
    {"tnn_sgd_set_nesterov", "nesterov 2", r_nesterov_2, INV},
    {"tnn_sgd_set_nesterov", "nesterov -1", r_nesterov_neg, INV},
    {"tnn_adam_set_betas", "NULL optimizer", r_betas_null, INV},
    {"tnn_adam_set_betas", "an sgd optimizer", r_betas_sgd, INV},
    {"tnn_adam_set_betas", "beta1 1", r_betas_b1_1, INV},
    {"tnn_adam_set_betas", "beta2 1", r_betas_b2_1, INV},
    {"tnn_adam_set_betas", "beta1 -0.1", r_betas_b1_neg, INV},
    {"tnn_adam_set_betas", "beta2 -0.1", r_betas_b2_neg, INV},
    {"tnn_adam_set_betas", "beta1 NaN", r_betas_nan, INV},
    {"tnn_adam_set_betas", "beta2 infinity", r_betas_b2_inf, INV},
    {"tnn_adam_set_eps", "NULL optimizer", r_adam_eps_null, INV},
    {"tnn_adam_set_eps", "an sgd optimizer", r_adam_eps_sgd, INV},
    {"tnn_adam_set_eps", "eps 0", r_adam_eps_0, INV},
    {"tnn_adam_set_eps", "eps negative", r_adam_eps_neg, INV},
    {"tnn_adam_set_eps", "eps NaN", r_adam_eps_nan, INV},
    {"tnn_adam_set_eps", "eps infinity", r_adam_eps_inf, INV},
    {"tnn_optim_set_weight_decay", "NULL optimizer", r_wd_null, INV},
    {"tnn_optim_set_weight_decay", "lambda -0.1", r_wd_neg, INV},
    {"tnn_optim_set_weight_decay", "lambda NaN", r_wd_nan, INV},
    {"tnn_optim_set_weight_decay", "lambda infinity", r_wd_inf, INV},
    {"tnn_optim_weight_decay", "NULL gives 0", r_wd_get_null, NEUTRAL},
    {"tnn_adam_set_decoupled", "NULL optimizer", r_decoupled_null, INV},
    {"tnn_adam_set_decoupled", "an sgd optimizer", r_decoupled_sgd, INV},
    {"tnn_adam_set_decoupled", "decoupled 2", r_decoupled_2, INV},
    {"tnn_optim_set_decay_all", "NULL optimizer", r_decay_all_null, INV},
    {"tnn_optim_set_decay_all", "all 2", r_decay_all_2, INV},
    {"tnn_optim_set_decay_all", "all -1", r_decay_all_neg, INV},
    {"tnn_optim_set_lr", "NULL optimizer", r_set_lr_null, INV},
    {"tnn_optim_set_lr", "lr 0", r_set_lr_0, INV},
    {"tnn_optim_set_lr", "lr -1", r_set_lr_neg, INV},
    {"tnn_optim_set_lr", "lr NaN", r_set_lr_nan, INV},
    {"tnn_optim_set_lr", "lr infinity", r_set_lr_inf, INV},
    {"tnn_optim_set_lr", "lr below the cosine min_lr", r_set_lr_below_min,
     INV},
    {"tnn_optim_lr", "NULL gives 0", r_lr_null, NEUTRAL},
    {"tnn_optim_current_lr", "NULL gives 0", r_current_lr_null, NEUTRAL},
    {"tnn_optim_steps", "NULL gives 0", r_steps_null, NEUTRAL},
    {"tnn_optim_set_step_schedule", "NULL optimizer", r_step_sched_null, INV},
    {"tnn_optim_set_step_schedule", "step_size 0", r_step_sched_size0, INV},
    {"tnn_optim_set_step_schedule", "step_size -5", r_step_sched_size_neg,
     INV},
    {"tnn_optim_set_step_schedule", "gamma 0", r_step_sched_gamma0, INV},
    {"tnn_optim_set_step_schedule", "gamma 1.5", r_step_sched_gamma_big, INV},
    {"tnn_optim_set_step_schedule", "gamma -0.5", r_step_sched_gamma_neg, INV},
    {"tnn_optim_set_step_schedule", "gamma NaN", r_step_sched_gamma_nan, INV},
    {"tnn_optim_set_step_schedule", "keeps the cosine schedule",
     r_step_sched_kept, INV},
    {"tnn_optim_set_cosine_schedule", "NULL optimizer", r_cos_sched_null, INV},
    {"tnn_optim_set_cosine_schedule", "total_steps 0", r_cos_sched_total0,
     INV},
    {"tnn_optim_set_cosine_schedule", "total_steps -1", r_cos_sched_total_neg,
     INV},
    {"tnn_optim_set_cosine_schedule", "min_lr negative", r_cos_sched_min_neg,
     INV},
    {"tnn_optim_set_cosine_schedule", "min_lr above lr", r_cos_sched_min_above,
     INV},
    {"tnn_optim_set_cosine_schedule", "min_lr NaN", r_cos_sched_min_nan, INV},
    {"tnn_optim_clear_schedule", "NULL optimizer", r_clear_sched_null, INV},
    {"tnn_optim_free", "NULL", r_optim_free_null, NEUTRAL},

    /* models */
    {"tnn_model_new", "input_features 0", r_model_new_0, INV},
    {"tnn_model_new", "allocation fails", r_model_new_nomem, NOM},
    {"tnn_model_free", "NULL", r_model_free_null, NEUTRAL},
    {"tnn_model_add", "NULL model (dense freed)", r_add_null_model, INV},
    {"tnn_model_add", "NULL model (relu freed)", r_add_null_model_relu, INV},
    {"tnn_model_add", "NULL layer", r_add_null_layer, INV},
    {"tnn_model_add", "dense 4->2 after 3 outputs", r_add_width, SHP},
    {"tnn_model_add", "batchnorm(2) after 3 outputs", r_add_bn_width, SHP},
    {"tnn_model_add", "the layer list cannot grow", r_add_nomem, NOM},
    {"tnn_model_add", "from a fit callback", r_add_in_callback, STA},
    {"tnn_model_add", "the same layer twice", r_add_same_layer_twice, STA},
    {"tnn_model_add", "a layer of another model", r_add_layer_of_other_model,
     STA},
    {"tnn_model_add", "an owned layer whose shape no longer fits",
     r_add_owned_layer_bad_shape, STA},
    {"tnn_model_add", "an owned layer, NULL model",
     r_add_owned_layer_null_model, STA},
    {"tnn_layer_free", "a layer a model owns", r_layer_free_owned, STA},
    {"tnn_optim_free", "the optimizer of a model", r_optim_free_owned, STA},
    {"tnn_model_set_max_sample_values", "NULL model", r_max_sample_null, INV},
    {"tnn_model_set_max_sample_values", "below the input size",
     r_max_sample_below_input, INV},
    {"tnn_model_set_max_sample_values", "from a fit callback",
     r_max_sample_in_callback, STA},
    {"tnn_model_max_sample_values", "NULL gives 0", r_max_sample_get_null,
     NEUTRAL},
    {"tnn_model_predict", "a geometry above the per-sample bound",
     r_predict_above_bound, INV},
    {"tnn_layer_forward", "conv2d output above the default bound",
     r_layer_forward_above_bound, INV},
    {"tnn_model_num_layers", "NULL gives 0", r_num_layers_null, NEUTRAL},
    {"tnn_model_layer", "NULL gives NULL", r_model_layer_null, NEUTRAL},
    {"tnn_model_layer", "i out of range gives NULL", r_model_layer_range,
     NEUTRAL},
    {"tnn_model_in_features", "NULL gives 0", r_model_in_null, NEUTRAL},
    {"tnn_model_out_features", "NULL gives 0", r_model_out_null, NEUTRAL},
    {"tnn_model_num_params", "NULL gives 0", r_model_params_null, NEUTRAL},
    {"tnn_model_summary", "NULL model", r_summary_null_model, INV},
    {"tnn_model_summary", "NULL buf with size 64", r_summary_null_buf, INV},
    {"tnn_model_set_seed", "NULL model", r_set_seed_null, INV},
    {"tnn_model_rng", "NULL gives NULL", r_model_rng_null, NEUTRAL},
    {"tnn_model_set_loss", "NULL model", r_set_loss_null, INV},
    {"tnn_model_set_loss", "loss 2", r_set_loss_2, INV},
    {"tnn_model_set_loss", "loss -1", r_set_loss_neg, INV},
    {"tnn_model_set_optim", "NULL model (optimizer freed)",
     r_set_optim_null_model, INV},
    {"tnn_model_set_optim", "from a fit callback", r_set_optim_in_callback,
     STA},
    {"tnn_model_set_optim", "the optimizer of another model",
     r_set_optim_of_other_model, STA},
    {"tnn_model_set_optim", "an owned optimizer, NULL model",
     r_set_optim_owned_null_model, STA},
    {"tnn_model_optim", "NULL gives NULL", r_model_optim_null, NEUTRAL},
    {"tnn_model_set_mode", "NULL model", r_set_mode_null, INV},
    {"tnn_model_set_mode", "mode 2", r_set_mode_2, INV},
    {"tnn_model_set_mode", "mode -1", r_set_mode_neg, INV},
    {"tnn_model_mode", "NULL gives 0", r_mode_null, NEUTRAL},
    {"tnn_model_set_check_finite", "NULL model", r_check_finite_null, INV},
    {"tnn_model_set_check_finite", "on 2", r_check_finite_2, INV},
    {"tnn_model_set_check_finite", "on -1", r_check_finite_neg, INV},
    {"tnn_model_train_batch", "NULL model", r_train_null_model, INV},
    {"tnn_model_train_batch", "NULL x", r_train_null_x, INV},
    {"tnn_model_train_batch", "NULL y", r_train_null_y, INV},
    {"tnn_model_train_batch", "no optimizer", r_train_no_optim, STA},
    {"tnn_model_train_batch", "no layers", r_train_no_layers, STA},
    {"tnn_model_train_batch", "x of 5 features for 4", r_train_x_width, SHP},
    {"tnn_model_train_batch", "1-D x", r_train_x_1d, SHP},
    {"tnn_model_train_batch", "y of other rows", r_train_y_rows, SHP},
    {"tnn_model_train_batch", "y of other width", r_train_y_width, SHP},
    {"tnn_model_train_batch", "cross-entropy class 3 of 3", r_train_ce_label,
     INV},
    {"tnn_model_train_batch", "cross-entropy 4 labels for 5 rows",
     r_train_ce_index_rows, SHP},
    {"tnn_model_fit", "NULL model", r_fit_null_model, INV},
    {"tnn_model_fit", "NULL x", r_fit_null_x, INV},
    {"tnn_model_fit", "NULL y", r_fit_null_y, INV},
    {"tnn_model_fit", "epochs 0", r_fit_epochs0, INV},
    {"tnn_model_fit", "epochs -1", r_fit_epochs_neg, INV},
    {"tnn_model_fit", "batch_size 0", r_fit_batch0, INV},
    {"tnn_model_fit", "shuffle 2", r_fit_shuffle2, INV},
    {"tnn_model_fit", "shuffle -1", r_fit_shuffle_neg, INV},
    {"tnn_model_fit", "x_val without y_val", r_fit_xval_only, INV},
    {"tnn_model_fit", "y_val without x_val", r_fit_yval_only, INV},
    {"tnn_model_fit", "no optimizer", r_fit_no_optim, STA},
    {"tnn_model_fit", "no layers", r_fit_no_layers, STA},
    {"tnn_model_fit", "x of 3 features for 4", r_fit_x_width, SHP},
    {"tnn_model_fit", "y of other rows", r_fit_y_rows, SHP},
    {"tnn_model_fit", "y of other width", r_fit_y_width, SHP},
    {"tnn_model_fit", "x_val of other width", r_fit_xval_width, SHP},
    {"tnn_model_fit", "y_val of other rows", r_fit_yval_rows, SHP},
    {"tnn_model_fit", "cross-entropy class -1", r_fit_ce_label, INV},
    {"tnn_model_fit", "cross-entropy validation class 9", r_fit_ce_val_label,
     INV},
    {"tnn_model_evaluate", "NULL model", r_eval_null_model, INV},
    {"tnn_model_evaluate", "NULL x", r_eval_null_x, INV},
    {"tnn_model_evaluate", "NULL y", r_eval_null_y, INV},
    {"tnn_model_evaluate", "x of 2 features for 4", r_eval_x_width, SHP},
    {"tnn_model_evaluate", "y of other rows", r_eval_y_rows, SHP},
    {"tnn_model_evaluate", "y of other width", r_eval_y_width, SHP},
    {"tnn_model_evaluate", "cross-entropy class 3 of 3", r_eval_ce_label, INV},
    {"tnn_model_predict", "NULL model", r_pred_null_model, INV},
    {"tnn_model_predict", "NULL x", r_pred_null_x, INV},
    {"tnn_model_predict", "NULL out", r_pred_null_out, INV},
    {"tnn_model_predict", "x of 3 features for 4", r_pred_x_width, SHP},
    {"tnn_model_predict", "1-D x", r_pred_x_1d, SHP},
    {"tnn_model_predict", "out of other width", r_pred_out_width, SHP},
    {"tnn_model_predict", "out of other rows", r_pred_out_rows, SHP},
    {"tnn_model_predict", "out is x", r_pred_alias, INV},
    {"tnn_model_forward", "NULL model", r_fwd_null_model, INV},
    {"tnn_model_forward", "NULL x", r_fwdm_null_x, INV},
    {"tnn_model_forward", "NULL out", r_fwdm_null_out, INV},
    {"tnn_model_forward", "x of 5 features for 4", r_fwdm_x_width, SHP},
    {"tnn_model_forward", "out of other width", r_fwdm_out_width, SHP},
    {"tnn_model_forward", "out of other rows", r_fwdm_out_rows, SHP},
    {"tnn_model_forward", "out is x", r_fwdm_alias, INV},

    /* progress */
    {"tnn_progress_event", "NULL gives 0", r_prog_event_null, NEUTRAL},
    {"tnn_progress_epoch", "NULL gives 0", r_prog_epoch_null, NEUTRAL},
    {"tnn_progress_epochs", "NULL gives 0", r_prog_epochs_null, NEUTRAL},
    {"tnn_progress_batch", "NULL gives 0", r_prog_batch_null, NEUTRAL},
    {"tnn_progress_batches", "NULL gives 0", r_prog_batches_null, NEUTRAL},
    {"tnn_progress_loss", "NULL gives NaN or 0", r_prog_loss_null, NEUTRAL},
    {"tnn_progress_accuracy", "NULL gives NaN or 0", r_prog_acc_null, NEUTRAL},
    {"tnn_progress_val_loss", "NULL gives NaN or 0", r_prog_vloss_null,
     NEUTRAL},
    {"tnn_progress_val_accuracy", "NULL gives NaN or 0", r_prog_vacc_null,
     NEUTRAL},
    {"tnn_progress_seconds", "NULL gives NaN or 0", r_prog_secs_null, NEUTRAL},

    /* IDX files */
    {"tnn_idx_load_buffer", "NULL data", r_idxb_null_data, INV},
    {"tnn_idx_load_buffer", "NULL out", r_idxb_null_out, INV},
    {"tnn_idx_load_buffer", "flag 4", r_idxb_flags4, INV},
    {"tnn_idx_load_buffer", "flags -1", r_idxb_flags_neg, INV},
    {"tnn_idx_load_buffer", "wrong magic", r_idxb_bad_magic, TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "float elements", r_idxb_float, TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "0 dims", r_idxb_0dims, TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "5 dims", r_idxb_5dims, TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "a zero dimension", r_idxb_zero_dim, TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "dims overflow size_t", r_idxb_overflow,
     TNN_E_FORMAT},
    {"tnn_idx_load_buffer", "truncated header", r_idxb_short_header,
     TNN_E_CORRUPT},
    {"tnn_idx_load_buffer", "2 bytes", r_idxb_tiny, TNN_E_CORRUPT},
    {"tnn_idx_load_buffer", "data one byte short", r_idxb_short_data,
     TNN_E_CORRUPT},
    {"tnn_idx_load_buffer", "data one byte long", r_idxb_long_data,
     TNN_E_CORRUPT},
    {"tnn_idx_load", "NULL path", r_idxf_null_path, INV},
    {"tnn_idx_load", "NULL out", r_idxf_null_out, INV},
    {"tnn_idx_load", "flag 4", r_idxf_flags4, INV},
    {"tnn_idx_load", "flags -1", r_idxf_flags_neg, INV},
    {"tnn_idx_load", "no such file", r_idxf_missing, TNN_E_IO},
    {"tnn_idx_load", "a directory", r_idxf_directory, TNN_E_IO},
    {"tnn_idx_load", "wrong magic", r_idxf_bad_magic, TNN_E_FORMAT},
    {"tnn_idx_load", "float elements", r_idxf_float, TNN_E_FORMAT},
    {"tnn_idx_load", "0 dims", r_idxf_0dims, TNN_E_FORMAT},
    {"tnn_idx_load", "5 dims", r_idxf_5dims, TNN_E_FORMAT},
    {"tnn_idx_load", "a zero dimension", r_idxf_zero_dim, TNN_E_FORMAT},
    {"tnn_idx_load", "dims overflow size_t", r_idxf_overflow, TNN_E_FORMAT},
    {"tnn_idx_load", "truncated header", r_idxf_short_header, TNN_E_CORRUPT},
    {"tnn_idx_load", "2 bytes", r_idxf_tiny, TNN_E_CORRUPT},
    {"tnn_idx_load", "data one byte short", r_idxf_short_data, TNN_E_CORRUPT},
    {"tnn_idx_load", "data one byte long", r_idxf_long_data, TNN_E_CORRUPT},

    /* model files */
    {"tnn_model_save", "NULL model", r_save_null_model, INV},
    {"tnn_model_save", "NULL path", r_save_null_path, INV},
    {"tnn_model_save", "flag 2", r_save_flags2, INV},
    {"tnn_model_save", "flags -1", r_save_flags_neg, INV},
    {"tnn_model_save", "TNN_SAVE_OPTIMIZER without optimizer",
     r_save_optim_missing, STA},
    {"tnn_model_save", "directory missing", r_save_missing_dir, TNN_E_IO},
    {"tnn_model_save", "path is a directory", r_save_onto_dir, TNN_E_IO},
    {"tnn_model_save_buffer", "NULL model", r_save_buf_null_model, INV},
    {"tnn_model_save_buffer", "NULL buf with size 16", r_save_buf_null_buf,
     INV},
    {"tnn_model_save_buffer", "flag 4", r_save_buf_flags, INV},
    {"tnn_model_save_buffer", "TNN_SAVE_OPTIMIZER without optimizer",
     r_save_buf_optim_missing, STA},
    {"tnn_model_save_buffer", "16 bytes", r_save_buf_small, SHP},
    {"tnn_model_save_buffer", "1 byte, with optimizer", r_save_buf_one, SHP},
    {"tnn_model_load_buffer", "NULL data", r_load_buf_null_data, INV},
    {"tnn_model_load_buffer", "NULL out", r_load_buf_null_out, INV},
    {"tnn_model_load_buffer", "text", r_load_buf_garbage, TNN_E_FORMAT},
    {"tnn_model_load_buffer", "half a file", r_load_buf_half, TNN_E_CORRUPT},
    {"tnn_model_load_buffer", "format version 99", r_load_buf_newer,
     TNN_E_VERSION},
    {"tnn_model_load_buffer", "one bit flipped", r_load_buf_flipped,
     TNN_E_CORRUPT},
    {"tnn_model_load_buffer", "one byte appended", r_load_buf_longer,
     TNN_E_CORRUPT},
    {"tnn_model_load", "NULL path", r_load_null_path, INV},
    {"tnn_model_load", "NULL out", r_load_null_out, INV},
    {"tnn_model_load", "no such file", r_load_missing, TNN_E_IO},
    {"tnn_model_load", "a directory", r_load_directory, TNN_E_IO},
    {"tnn_model_load", "a shell script", r_load_garbage, TNN_E_FORMAT},
    {"tnn_model_load", "last byte missing", r_load_truncated, TNN_E_CORRUPT},
    {"tnn_model_clone", "NULL model", r_clone_model_null, INV},
    {"tnn_model_clone", "allocation fails", r_clone_model_nomem, NOM},
};

#define NUM_ROWS ((int)(sizeof rows / sizeof rows[0]))

START_TEST(misuse_row)
{
    const struct misuse *row = &rows[_i];
    current = row;
    tnn_clear_error();
    captured = 0;
    got_code = 0;
    got_msg[0] = '\0';
    int rc = row->run();
    if (row->expected == NEUTRAL) {
        ck_assert_msg(rc == NEUTRAL, "%s [%s]: wrapper returned %d",
                      row->function, row->scenario, rc);
        return;
    }
    ck_assert_msg(captured, "%s [%s]: the wrapper captured no result",
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
    for (int n = 0; n < functions; n++) {
        int found = 0;
        for (int i = 0; i < NUM_ROWS && !found; i++)
            found = strcmp(rows[i].function, names[n]) == 0;
        ck_assert_msg(found, "%s has no misuse row", names[n]);
    }
    /* ...and every row names a declared function. */
    for (int i = 0; i < NUM_ROWS; i++) {
        int found = 0;
        for (int n = 0; n < functions && !found; n++)
            found = strcmp(rows[i].function, names[n]) == 0;
        ck_assert_msg(found, "row %d names %s, which the header lacks", i,
                      rows[i].function);
    }
}
END_TEST

Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("matrix");
    tcase_add_loop_test(tc, misuse_row, 0, NUM_ROWS);
    tcase_add_test(tc, every_function_has_a_row);
    suite_add_tcase(s, tc);
    return s;
}
