/*
 * ONNX import and export: models that PyTorch 1.13 exported
 * (tests/data/onnx, written by tests/onnx/gen_models.py, with PyTorch's
 * outputs on fixed inputs) predict what PyTorch predicted; refused graphs
 * are refused with the node named and the reason; export then import
 * predicts bit-identically (embeddings, LSTM and GRU layers too); hostile
 * bytes never crash the reader nor make it allocate much more than the
 * file's size.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "onnx/models.h"
#include "testutil.h"

#define ONNX_DIR "tests/data/onnx"

/* ---- files ----------------------------------------------------------- */

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* A case file: "transform none|exp", then "input ndim dims..." and its
 * values, then "output ndim dims..." and its values. */
struct onnx_case {
    int exp_output;
    int ndim;
    size_t dims[4];
    tnn_tensor *input;
    size_t rows, cols;
    float *expected;
};

static void read_block(FILE *f, const char *word, int *ndim, size_t *dims,
                       float **values, size_t *count)
{
    char line[256];
    while (fgets(line, sizeof line, f) && line[0] == '#')
        ;
    char *p = line;
    ck_assert_msg(strncmp(p, word, strlen(word)) == 0, "expected %s: %s", word,
                  line);
    p += strlen(word);
    *ndim = (int)strtol(p, &p, 10);
    ck_assert(*ndim >= 1 && *ndim <= 4);
    *count = 1;
    for (int d = 0; d < *ndim; d++) {
        dims[d] = (size_t)strtoul(p, &p, 10);
        *count *= dims[d];
    }
    *values = malloc(*count * sizeof **values);
    for (size_t i = 0; i < *count; i++) {
        ck_assert(fgets(line, sizeof line, f) != NULL);
        (*values)[i] = strtof(line, NULL);
    }
}

static void read_case(const char *path, struct onnx_case *c)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[256];
    while (fgets(line, sizeof line, f) && line[0] == '#')
        ;
    ck_assert(strncmp(line, "transform ", 10) == 0);
    c->exp_output = strncmp(line + 10, "exp", 3) == 0;
    float *in, *out;
    size_t n_in, n_out, odims[4];
    int ondim;
    read_block(f, "input", &c->ndim, c->dims, &in, &n_in);
    read_block(f, "output", &ondim, odims, &out, &n_out);
    fclose(f);
    ck_assert_int_eq(ondim, 2);
    c->input = tnn_tensor_new(c->ndim, c->dims);
    memcpy(tnn_tensor_data(c->input), in, n_in * sizeof *in);
    c->rows = odims[0];
    c->cols = odims[1];
    c->expected = out;
    if (c->exp_output)
        for (size_t i = 0; i < n_out; i++)
            c->expected[i] = expf(c->expected[i]);
    free(in);
}

static void free_case(struct onnx_case *c)
{
    tnn_tensor_free(c->input);
    free(c->expected);
}

/* ---- PyTorch's exports ----------------------------------------------- */

static void check_prediction(const char *name, tnn_model *m,
                             const struct onnx_case *c)
{
    tnn_tensor *y = tnn_tensor_new_2d(c->rows, c->cols);
    ck_assert_int_eq(tnn_model_predict(m, c->input, y), TNN_OK);
    const float *got = tnn_tensor_cdata(y);
    for (size_t i = 0; i < c->rows * c->cols; i++) {
        double want = c->expected[i];
        ck_assert_msg(fabs(got[i] - want) <= 1e-5 + 1e-4 * fabs(want),
                      "%s: value %zu is %.9g, PyTorch gives %.9g", name, i,
                      (double)got[i], want);
    }
    tnn_tensor_free(y);
}

/* Call check with the name of every case of the manifest of kind ("good"
 * or "bad"); returns how many there were. */
static int each_case(const char *kind, void (*check)(const char *name))
{
    FILE *manifest = fopen(ONNX_DIR "/MANIFEST", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[256], word[16], name[200];
    int count = 0;
    while (fgets(line, sizeof line, manifest))
        if (sscanf(line, "%15s %199s", word, name) == 2 &&
            strcmp(word, kind) == 0) {
            check(name);
            count++;
        }
    fclose(manifest);
    return count;
}

/* A good model predicts what PyTorch did, from its file and its bytes. */
static void check_good(const char *name)
{
    char path[512];
    struct onnx_case c;
    snprintf(path, sizeof path, ONNX_DIR "/%s.txt", name);
    read_case(path, &c);
    snprintf(path, sizeof path, ONNX_DIR "/%s.onnx", name);
    tnn_model *m = NULL;
    ck_assert_msg(tnn_model_load_onnx(path, &m) == TNN_OK, "%s: %s", name,
                  tnn_last_error());
    check_prediction(name, m, &c);
    tnn_model_free(m);
    size_t size;
    unsigned char *bytes = read_all(path, &size);
    ck_assert_int_eq(tnn_model_load_onnx_buffer(bytes, size, &m), TNN_OK);
    check_prediction(name, m, &c);
    tnn_model_free(m);
    free(bytes);
    free_case(&c);
}

START_TEST(pytorch_exports_predict_as_pytorch)
{
    ck_assert_int_ge(each_case("good", check_good), 84);
}
END_TEST

/* A bad model is refused with the code its case file gives ("error"), and
 * a message that names what it says ("names": the node's operator, or the
 * data type; "says": the rest of the line, the reason) and ends with the
 * path; *out is NULL. */
static void check_bad(const char *name)
{
    char path[512], line[256], names[64] = "", says[192] = "";
    snprintf(path, sizeof path, ONNX_DIR "/%s.txt", name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int code = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *value = strchr(line, ' ');
        if (!value)
            continue;
        *value++ = '\0';
        if (strcmp(line, "error") == 0)
            code =
                strcmp(value, "VERSION") == 0 ? TNN_E_VERSION : TNN_E_FORMAT;
        else if (strcmp(line, "names") == 0)
            snprintf(names, sizeof names, "%s", value);
        else if (strcmp(line, "says") == 0)
            snprintf(says, sizeof says, "%s", value);
    }
    fclose(f);
    snprintf(path, sizeof path, ONNX_DIR "/%s.onnx", name);
    tnn_model *m = (tnn_model *)path;
    ck_assert_int_eq(tnn_model_load_onnx(path, &m), code);
    ck_assert_ptr_null(m);
    assert_failed_with(code, "tnn_model_load_onnx");
    ck_assert_msg(strstr(tnn_last_error(), names) != NULL,
                  "%s: message \"%s\" does not name %s", name,
                  tnn_last_error(), names);
    ck_assert_msg(strstr(tnn_last_error(), says) != NULL,
                  "%s: message \"%s\" does not say \"%s\"", name,
                  tnn_last_error(), says);
    ck_assert_msg(strstr(tnn_last_error(), path) != NULL,
                  "%s: message \"%s\" does not end with the path", name,
                  tnn_last_error());
}

START_TEST(unsupported_graphs_are_refused_naming_the_node)
{
    ck_assert_int_ge(each_case("bad", check_bad), 20);
}
END_TEST

/* An imported model trains: a few steps of Adam on its own predictions
 * of a perturbed input lower the loss, and every parameter moves. */
START_TEST(imported_model_fine_tunes)
{
    struct onnx_case c;
    read_case(ONNX_DIR "/cnn-opset13.txt", &c);
    tnn_model *m = NULL;
    ck_assert_int_eq(tnn_model_load_onnx(ONNX_DIR "/cnn-opset13.onnx", &m),
                     TNN_OK);
    tnn_tensor *labels = tnn_tensor_new(1, &c.rows);
    for (size_t i = 0; i < c.rows; i++)
        tnn_tensor_data(labels)[i] = (float)(i % c.cols);
    /* cross-entropy after the softmax: class labels, and an accuracy */
    double accuracy = NAN;
    ck_assert_msg(tnn_model_evaluate(m, c.input, labels, NULL, &accuracy) ==
                      TNN_OK,
                  "%s", tnn_last_error());
    ck_assert(!isnan(accuracy));
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(1e-2f)), TNN_OK);
    double first = 0, last = 0;
    for (int step = 0; step < 100; step++) {
        double loss;
        ck_assert_int_eq(tnn_model_train_batch(m, c.input, labels, &loss),
                         TNN_OK);
        if (step == 0)
            first = loss;
        last = loss;
    }
    ck_assert_msg(last < 0.8 * first, "loss %g -> %g", first, last);
    tnn_tensor_free(labels);
    tnn_model_free(m);
    free_case(&c);
}
END_TEST

/* ---- export ---------------------------------------------------------- */

/* Every layer kind the exporter writes, in one image model. */
static tnn_model *every_kind_image_model(void)
{
    tnn_model *m = onnx_every_kind_model();
    ck_assert_msg(m != NULL, "%s", tnn_last_error());
    return m;
}

static void assert_same_predictions(tnn_model *a, tnn_model *b,
                                    const tnn_tensor *x, size_t outputs)
{
    size_t rows = tnn_tensor_dim(x, 0);
    tnn_tensor *ya = tnn_tensor_new_2d(rows, outputs);
    tnn_tensor *yb = tnn_tensor_new_2d(rows, outputs);
    ck_assert_int_eq(tnn_model_predict(a, x, ya), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(b, x, yb), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_cdata(ya), tnn_tensor_cdata(yb),
                     rows * outputs * sizeof(float));
    tnn_tensor_free(ya);
    tnn_tensor_free(yb);
}

START_TEST(export_then_import_is_bit_identical)
{
    tnn_model *m = every_kind_image_model();
    size_t needed = 0;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &needed), TNN_OK);
    ck_assert_uint_gt(needed, 0);
    unsigned char *buf = malloc(needed);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, buf, needed - 1, NULL),
                     TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, buf, needed, NULL), TNN_OK);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(buf, needed, &back), TNN_OK);
    /* dropout is not written, nor read back */
    ck_assert_uint_eq(tnn_model_num_layers(back), tnn_model_num_layers(m) - 1);
    size_t dims[4] = {5, 2, 9, 9};
    tnn_tensor *x = tnn_tensor_new(4, dims);
    onnx_fill(x, 3, 0.0f);
    assert_same_predictions(m, back, x, 4);
    size_t five = 5;
    tnn_tensor *labels = tnn_tensor_new(1, &five);
    double accuracy = NAN;
    ck_assert_int_eq(tnn_model_evaluate(back, x, labels, NULL, &accuracy),
                     TNN_OK);
    ck_assert(!isnan(accuracy)); /* cross-entropy */
    tnn_tensor_free(labels);

    /* The file holds the same bytes as the buffer. */
    char path[] = "/tmp/tinynn-onnx-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(tnn_model_save_onnx(m, path), TNN_OK);
    size_t size;
    unsigned char *file = read_all(path, &size);
    ck_assert_uint_eq(size, needed);
    ck_assert_mem_eq(file, buf, size);
    unlink(path);
    free(file);
    free(buf);
    tnn_tensor_free(x);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* Rows models too, and a re-export of an import gives the same bytes. */
START_TEST(rows_model_round_trip_and_stable_bytes)
{
    tnn_model *m = tnn_model_new(7);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(7, 5)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(5, 1)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_sigmoid_new()), TNN_OK);
    size_t n1, n2;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &n1), TNN_OK);
    unsigned char *a = malloc(n1);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, a, n1, NULL), TNN_OK);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(a, n1, &back), TNN_OK);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(back, NULL, 0, &n2), TNN_OK);
    ck_assert_uint_eq(n1, n2);
    unsigned char *b = malloc(n2);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(back, b, n2, NULL), TNN_OK);
    ck_assert_mem_eq(a, b, n1);
    tnn_tensor *x = tnn_tensor_new_2d(9, 7);
    onnx_fill(x, 5, 0.0f);
    assert_same_predictions(m, back, x, 1);
    /* binary cross-entropy after the sigmoid: targets 0 and 1, the same
     * loss as the original model set to it */
    tnn_tensor *y = tnn_tensor_new_2d(9, 1);
    for (size_t i = 0; i < 9; i++)
        tnn_tensor_data(y)[i] = (float)(i % 2);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_BINARY_CROSS_ENTROPY),
                     TNN_OK);
    double la, lb;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &la, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(back, x, y, &lb, NULL), TNN_OK);
    ck_assert(la == lb);
    tnn_tensor_free(y);
    tnn_tensor_free(x);
    free(a);
    free(b);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* ---- hostile input --------------------------------------------------- */

/* An allocator that keeps the largest total of live bytes. */
struct peak_allocator {
    size_t live, peak;
};

static void *peak_malloc(size_t size, void *ctx)
{
    struct peak_allocator *a = ctx;
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    p[0] = size;
    a->live += size;
    if (a->live > a->peak)
        a->peak = a->live;
    return (char *)p + 16;
}

static void peak_free(void *ptr, void *ctx)
{
    struct peak_allocator *a = ctx;
    if (!ptr)
        return;
    size_t *p = (size_t *)((char *)ptr - 16);
    a->live -= p[0];
    free(p);
}

static void *peak_realloc(void *ptr, size_t size, void *ctx)
{
    void *q = peak_malloc(size, ctx);
    if (q && ptr) {
        size_t old = ((size_t *)((char *)ptr - 16))[0];
        memcpy(q, ptr, old < size ? old : size);
        peak_free(ptr, ctx);
    }
    return q;
}

/* Load from bytes; on success the model is freed again. The peak of live
 * bytes during the load, model included, is returned. */
static size_t load_peak(const unsigned char *data, size_t size, int *rc)
{
    struct peak_allocator a = {0, 0};
    ck_assert_int_eq(
        tnn_set_allocator(peak_malloc, peak_realloc, peak_free, &a), TNN_OK);
    tnn_model *m = NULL;
    *rc = tnn_model_load_onnx_buffer(data, size, &m);
    tnn_model_free(m);
    ck_assert_int_eq(tnn_set_allocator(NULL, NULL, NULL, NULL), TNN_OK);
    ck_assert_uint_eq(a.live, 0);
    return a.peak;
}

/* Every prefix of a real export is refused or loads, never crashes. */
START_TEST(truncated_files_are_refused)
{
    size_t size;
    unsigned char *data = read_all(ONNX_DIR "/cnn-opset13.onnx", &size);
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        tnn_model *m = NULL;
        int rc = tnn_model_load_onnx_buffer(copy, n, &m);
        ck_assert_msg(rc == TNN_E_FORMAT || rc == TNN_E_VERSION ||
                          (rc == TNN_OK && m != NULL),
                      "prefix %zu: %d %s", n, rc, tnn_last_error());
        tnn_model_free(m);
        free(copy);
    }
    free(data);
}
END_TEST

/* Flipped bytes: whatever comes out, no crash, no leak (the sanitizer
 * and valgrind builds check), and a clear code. */
START_TEST(corrupted_bytes_never_crash)
{
    size_t size;
    unsigned char *data = read_all(ONNX_DIR "/cnn_bn-opset17.onnx", &size);
    unsigned seed = 1;
    for (int trial = 0; trial < 3000; trial++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, data, size);
        for (int k = 0; k < 1 + trial % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % size] ^= (unsigned char)(1u << (seed % 8));
        }
        int rc;
        load_peak(copy, size, &rc);
        ck_assert_msg(rc == TNN_OK || rc == TNN_E_FORMAT ||
                          rc == TNN_E_VERSION,
                      "trial %d: %d %s", trial, rc, tnn_last_error());
        free(copy);
    }
    free(data);
}
END_TEST

/* Bytes of a varint field, for hand-made graphs. */
struct bytes {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n);
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_varint(struct bytes *b, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void put_len(struct bytes *b, unsigned field, const void *p, size_t n)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, n);
    put(b, p, n);
}

static void put_str(struct bytes *b, unsigned field, const char *s)
{
    put_len(b, field, s, strlen(s));
}

/* A model whose graph has a rows input of width 4 and count Relu nodes
 * a -> b -> ... (the cheapest chain there is), or a MatMul by an
 * initializer that claims a huge tensor with no data. */
static struct bytes relu_chain(size_t count, int claim_huge)
{
    struct bytes g = {0}, m = {0};
    char in[32], out[32];
    for (size_t i = 0; i < count; i++) {
        struct bytes node = {0};
        snprintf(in, sizeof in, "%zx", i);
        snprintf(out, sizeof out, "%zx", i + 1);
        put_str(&node, 1, in);
        if (claim_huge)
            put_str(&node, 1, "w");
        put_str(&node, 2, out);
        put_str(&node, 4, claim_huge ? "MatMul" : "Relu");
        put_len(&g, 1, node.p, node.n);
        free(node.p);
    }
    if (claim_huge) {
        /* dims 2^31 x 2^31 of FLOAT, no data */
        struct bytes t = {0};
        unsigned char dims[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x08,
                                0x08, 0x80, 0x80, 0x80, 0x80, 0x08};
        put(&t, dims, sizeof dims);
        put_varint(&t, 2 << 3);
        put_varint(&t, 1);
        put_str(&t, 8, "w");
        put_len(&g, 5, t.p, t.n);
        free(t.p);
    }
    /* input "0": float (N, 4) */
    struct bytes dim0 = {0}, dim1 = {0}, shape = {0}, tensor = {0}, type = {0},
                 info = {0};
    put_str(&dim0, 2, "N");
    put_varint(&dim1, 1 << 3);
    put_varint(&dim1, 4);
    put_len(&shape, 1, dim0.p, dim0.n);
    put_len(&shape, 1, dim1.p, dim1.n);
    put_varint(&tensor, 1 << 3);
    put_varint(&tensor, 1);
    put_len(&tensor, 2, shape.p, shape.n);
    put_len(&type, 1, tensor.p, tensor.n);
    put_str(&info, 1, "0");
    put_len(&info, 2, type.p, type.n);
    put_len(&g, 11, info.p, info.n);
    info.n = 0;
    snprintf(out, sizeof out, "%zx", count);
    put_str(&info, 1, out);
    put_len(&g, 12, info.p, info.n);
    struct bytes opset = {0};
    put_varint(&opset, 2 << 3);
    put_varint(&opset, 13);
    put_varint(&m, 1 << 3);
    put_varint(&m, 7);
    put_len(&m, 7, g.p, g.n);
    put_len(&m, 8, opset.p, opset.n);
    free(g.p);
    free(dim0.p);
    free(dim1.p);
    free(shape.p);
    free(tensor.p);
    free(type.p);
    free(info.p);
    free(opset.p);
    return m;
}

/* docs/onnx.md: a file of n bytes makes the reader allocate at most about
 * 32 n bytes, model included, whatever the file claims. */
START_TEST(allocation_is_bounded_by_the_file_size)
{
    size_t counts[] = {1, 10, 1000, 20000};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        struct bytes b = relu_chain(counts[i], 0);
        int rc;
        size_t peak = load_peak(b.p, b.n, &rc);
        ck_assert_msg(rc == TNN_OK, "%s", tnn_last_error());
        ck_assert_msg(peak <= 32 * b.n + 65536,
                      "%zu Relu nodes: %zu bytes of file, peak %zu bytes",
                      counts[i], b.n, peak);
        free(b.p);
    }
    struct bytes huge = relu_chain(1, 1);
    int rc;
    size_t peak = load_peak(huge.p, huge.n, &rc);
    ck_assert_int_eq(rc, TNN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "should hold"));
    ck_assert_uint_le(peak, 65536);
    free(huge.p);
    size_t size;
    unsigned char *data = read_all(ONNX_DIR "/cnn-opset13.onnx", &size);
    peak = load_peak(data, size, &rc);
    ck_assert_int_eq(rc, TNN_OK);
    ck_assert_msg(peak <= 32 * size + 65536, "cnn: %zu bytes, peak %zu", size,
                  peak);
    free(data);
}
END_TEST

/* Versions outside those read are TNN_E_VERSION; no model at all is
 * TNN_E_FORMAT. */
START_TEST(versions_and_non_models)
{
    struct bytes b = relu_chain(2, 0);
    tnn_model *m = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(b.p, b.n, &m), TNN_OK);
    tnn_model_free(m);
    /* the opset's varint is the file's last byte */
    b.p[b.n - 1] = 19;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(b.p, b.n, &m), TNN_E_VERSION);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "operator set 19"));
    b.p[b.n - 1] = 8;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(b.p, b.n, &m), TNN_E_VERSION);
    free(b.p);
    const char text[] = "not a model at all";
    ck_assert_int_eq(tnn_model_load_onnx_buffer(text, sizeof text, &m),
                     TNN_E_FORMAT);
    ck_assert_int_eq(tnn_model_load_onnx_buffer(text, 0, &m), TNN_E_FORMAT);
    /* The library's own model files are not ONNX. */
    size_t size;
    unsigned char *own = read_all("tests/data/golden-v2.tnn", &size);
    ck_assert_int_eq(tnn_model_load_onnx_buffer(own, size, &m), TNN_E_FORMAT);
    ck_assert_ptr_null(m);
    free(own);
}
END_TEST

/* ---- layer normalisation and GELU (since 1.9) ------------------------ */

/* The image of m as ONNX, from malloc. */
static unsigned char *onnx_image(const tnn_model *m, size_t *size)
{
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, size), TNN_OK);
    unsigned char *buf = malloc(*size);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, buf, *size, NULL), TNN_OK);
    return buf;
}

/* Export, import, export: the layer-norms come back with their eps and
 * parameters, predict bit for bit, and the second export has the first's
 * bytes. The file declares operator set 17 (its last byte) and IR
 * version 8 (its second), where a model without layer-norm keeps 13 and
 * 7. */
static void layernorm_round_trip(tnn_model *m, int ndim, const size_t *dims)
{
    size_t n1, n2;
    unsigned char *a = onnx_image(m, &n1);
    ck_assert_uint_eq(a[0], 0x08);
    ck_assert_uint_eq(a[1], 8);
    ck_assert_uint_eq(a[n1 - 1], 17);
    tnn_model *back = NULL;
    ck_assert_msg(tnn_model_load_onnx_buffer(a, n1, &back) == TNN_OK, "%s",
                  tnn_last_error());
    ck_assert_uint_eq(tnn_model_num_layers(back), tnn_model_num_layers(m));
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *la = tnn_model_layer(m, i), *lb = tnn_model_layer(back, i);
        ck_assert_int_eq(tnn_layer_kind(lb), tnn_layer_kind(la));
        if (tnn_layer_kind(la) != TNN_LAYER_LAYERNORM)
            continue;
        ck_assert_float_eq(tnn_layernorm_eps(lb), tnn_layernorm_eps(la));
        for (int p = 0; p < 2; p++)
            ck_assert_mem_eq(tnn_tensor_cdata(tnn_layer_param(la, p)),
                             tnn_tensor_cdata(tnn_layer_param(lb, p)),
                             tnn_tensor_size(tnn_layer_param(la, p)) * 4);
    }
    tnn_tensor *x = tnn_tensor_new(ndim, dims);
    onnx_fill(x, 5, 0.5f);
    assert_same_predictions(m, back, x, tnn_model_out_features(m));
    unsigned char *b = onnx_image(back, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1);
    /* The same file claiming operator set 13 is refused at the node. */
    a[n1 - 1] = 13;
    tnn_model *old = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(a, n1, &old), TNN_E_FORMAT);
    ck_assert_ptr_null(old);
    ck_assert_msg(strstr(tnn_last_error(), "LayerNormalization needs "
                                           "operator set 17") != NULL,
                  "%s", tnn_last_error());
    tnn_tensor_free(x);
    free(a);
    free(b);
    tnn_model_free(back);
}

START_TEST(layernorm_round_trip_in_opset_17)
{
    tnn_model *rows = onnx_layernorm_model();
    ck_assert_msg(rows != NULL, "%s", tnn_last_error());
    const size_t rows_dims[2] = {6, 7};
    layernorm_round_trip(rows, 2, rows_dims);
    tnn_model_free(rows);
    tnn_model *img = onnx_layernorm_image_model();
    ck_assert_msg(img != NULL, "%s", tnn_last_error());
    const size_t img_dims[4] = {4, 2, 5, 6};
    layernorm_round_trip(img, 4, img_dims);
    tnn_model_free(img);
    /* Without a layer-norm: operator set 13, IR version 7. */
    tnn_model *plain = onnx_rows_model();
    size_t n;
    unsigned char *c = onnx_image(plain, &n);
    ck_assert_uint_eq(c[1], 7);
    ck_assert_uint_eq(c[n - 1], 13);
    free(c);
    tnn_model_free(plain);
}
END_TEST

/* A GELU cannot be written (no Gelu before operator set 20), nor a
 * layer-norm whose groups are not the input's last axis: TNN_E_FORMAT
 * naming the layer's index and kind, nothing written. */
START_TEST(gelu_and_inner_groups_are_refused)
{
    tnn_model *m = tnn_model_new(6);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(6, 4)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dropout_new(0.5f)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_gelu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 2)), TNN_OK);
    size_t needed = 77;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &needed),
                     TNN_E_FORMAT);
    ck_assert_uint_eq(needed, 77);
    assert_failed_with(TNN_E_FORMAT, "tnn_model_save_onnx_buffer");
    ck_assert_msg(strstr(tnn_last_error(), "layer 2 (gelu)") != NULL &&
                      strstr(tnn_last_error(), "operator set 20") != NULL,
                  "%s", tnn_last_error());
    char path[] = "/tmp/tinynn-onnx-XXXXXX";
    int fd = mkdtemp(path) ? 0 : -1;
    ck_assert_int_eq(fd, 0);
    char file[64];
    snprintf(file, sizeof file, "%s/m.onnx", path);
    ck_assert_int_eq(tnn_model_save_onnx(m, file), TNN_E_FORMAT);
    assert_failed_with(TNN_E_FORMAT, "tnn_model_save_onnx");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "gelu"));
    ck_assert_int_ne(access(file, F_OK), 0);
    ck_assert_int_eq(rmdir(path), 0);
    tnn_model_free(m);

    tnn_model *groups = tnn_model_new(8);
    ck_assert_int_eq(tnn_model_add(groups, tnn_layernorm_new(4)), TNN_OK);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(groups, NULL, 0, &needed),
                     TNN_E_FORMAT);
    ck_assert_msg(strstr(tnn_last_error(), "layer 0 (layernorm)") != NULL,
                  "%s", tnn_last_error());
    tnn_model_free(groups);
    tnn_model *planes = tnn_model_new_image(2, 3, 4);
    ck_assert_int_eq(tnn_model_add(planes, tnn_layernorm_new(12)), TNN_OK);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(planes, NULL, 0, &needed),
                     TNN_E_FORMAT);
    tnn_model_free(planes);
}
END_TEST

/* ---- embeddings, LSTM and GRU ------------------------------------------ */

/* An input of rows samples for m: token ids of its vocabulary for a model
 * of tokens, values otherwise. */
static tnn_tensor *sequence_input(tnn_model *m, size_t rows, size_t vocabulary)
{
    tnn_layer *first = tnn_model_layer(m, 0);
    tnn_tensor *x;
    if (vocabulary) {
        size_t dims[2] = {rows, tnn_model_in_features(m)};
        x = tnn_tensor_new(2, dims);
        onnx_fill_ids(x, 9, vocabulary);
    } else {
        size_t features = tnn_tensor_dim(tnn_layer_param(first, 0), 1);
        size_t dims[3] = {rows, tnn_model_in_features(m) / features, features};
        x = tnn_tensor_new(3, dims);
        onnx_fill(x, 9, 0.25f);
    }
    return x;
}

/* Export, import, export: the same kinds with the same parameters, bit
 * for bit, the same predictions and the same bytes again; operator set
 * 13, IR version 7, whose LSTM and GRU nodes every runtime reads. */
static void sequence_round_trip(tnn_model *m, size_t vocabulary)
{
    ck_assert_msg(m != NULL, "%s", tnn_last_error());
    size_t n1, n2;
    unsigned char *a = onnx_image(m, &n1);
    ck_assert_uint_eq(a[1], 7);
    ck_assert_uint_eq(a[n1 - 1], 13);
    tnn_model *back = NULL;
    ck_assert_msg(tnn_model_load_onnx_buffer(a, n1, &back) == TNN_OK, "%s",
                  tnn_last_error());
    ck_assert_uint_eq(tnn_model_in_features(back), tnn_model_in_features(m));
    ck_assert_uint_eq(tnn_model_num_layers(back), tnn_model_num_layers(m));
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *la = tnn_model_layer(m, i), *lb = tnn_model_layer(back, i);
        ck_assert_int_eq(tnn_layer_kind(lb), tnn_layer_kind(la));
        ck_assert_uint_eq(tnn_layer_out_features(lb),
                          tnn_layer_out_features(la));
        ck_assert_int_eq(tnn_layer_num_params(lb), tnn_layer_num_params(la));
        for (int p = 0; p < tnn_layer_num_params(la); p++) {
            const tnn_tensor *pa = tnn_layer_param(la, p);
            const tnn_tensor *pb = tnn_layer_param(lb, p);
            ck_assert_uint_eq(tnn_tensor_size(pb), tnn_tensor_size(pa));
            ck_assert_mem_eq(tnn_tensor_cdata(pa), tnn_tensor_cdata(pb),
                             tnn_tensor_size(pa) * sizeof(float));
        }
    }
    tnn_tensor *x = sequence_input(m, 7, vocabulary);
    assert_same_predictions(m, back, x, tnn_model_out_features(m));
    unsigned char *b = onnx_image(back, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1);
    tnn_tensor_free(x);
    free(a);
    free(b);
    tnn_model_free(back);
    tnn_model_free(m);
}

START_TEST(embedding_lstm_and_gru_round_trip)
{
    sequence_round_trip(onnx_embedding_model(), ONNX_TOKENS_VOCABULARY);
    for (int gru = 0; gru < 2; gru++)
        for (int sequences = 0; sequences < 2; sequences++)
            sequence_round_trip(onnx_recurrent_model(gru, sequences), 0);
    sequence_round_trip(onnx_text_model(), ONNX_TOKENS_VOCABULARY);
    /* Stacked, a recurrent layer last: every step's states or the
     * last's. */
    for (int sequences = 0; sequences < 2; sequences++) {
        tnn_model *m = tnn_model_new_sequence(4, 2);
        ck_assert_int_eq(tnn_model_add(m, tnn_gru_new(2, 3, 1)), TNN_OK);
        ck_assert_int_eq(tnn_model_add(m, tnn_lstm_new(3, 2, sequences)),
                         TNN_OK);
        sequence_round_trip(m, 0);
    }
}
END_TEST

/* A model of tokens: its ONNX input is INT64 (batch, time), read back as
 * a model of tokens of the table's vocabulary, which checks the ids. */
START_TEST(token_ids_are_int64_and_checked_after_import)
{
    tnn_model *m = onnx_embedding_model();
    ck_assert_msg(m != NULL, "%s", tnn_last_error());
    size_t n;
    unsigned char *a = onnx_image(m, &n);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(a, n, &back), TNN_OK);
    /* the table has 13 rows: ids 11 and 12 are the embedding's too */
    size_t dims[2] = {1, ONNX_TOKENS_TIME};
    tnn_tensor *x = tnn_tensor_new(2, dims);
    tnn_tensor *y = tnn_tensor_new_2d(1, 3);
    tnn_tensor_fill(x, 12.0f);
    ck_assert_int_eq(tnn_model_predict(back, x, y), TNN_OK);
    tnn_tensor_fill(x, 13.0f);
    ck_assert_int_eq(tnn_model_predict(back, x, y), TNN_E_INVALID);
    tnn_tensor_fill(x, 0.5f);
    ck_assert_int_eq(tnn_model_predict(back, x, y), TNN_E_INVALID);
    /* the graph input's element type, INT64 (7), follows "input" */
    const unsigned char input[] = {'i', 'n', 'p', 'u', 't', 0x12};
    size_t at = 0;
    for (size_t i = 0; i + sizeof input < n; i++)
        if (memcmp(a + i, input, sizeof input) == 0)
            at = i;
    ck_assert_uint_gt(at, 0);
    /* ValueInfoProto.type { tensor_type { elem_type 7 ... */
    const unsigned char *type = a + at + sizeof input;
    ck_assert_uint_eq(type[1], 0x0a);
    ck_assert_uint_eq(type[3], 0x08);
    ck_assert_uint_eq(type[4], 7);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    free(a);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* An embedding reading float values (a model not of tokens) has no ids
 * to give ONNX's Gather: refused, naming the layer, nothing written. */
START_TEST(embedding_of_float_values_is_refused)
{
    tnn_model *m = tnn_model_new(5);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(10, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    size_t needed = 77;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &needed),
                     TNN_E_FORMAT);
    ck_assert_uint_eq(needed, 77);
    assert_failed_with(TNN_E_FORMAT, "tnn_model_save_onnx_buffer");
    ck_assert_msg(strstr(tnn_last_error(), "layer 0 (embedding)") != NULL &&
                      strstr(tnn_last_error(), "tnn_model_new_tokens") != NULL,
                  "%s", tnn_last_error());
    tnn_model_free(m);
}
END_TEST

/* Every allocation of an export and of an import of the text model
 * (embedding, GRU, LSTM) failing in turn: TNN_E_NOMEM, nothing leaked,
 * nothing made. */
START_TEST(sequence_export_and_import_without_memory)
{
    tnn_model *m = onnx_text_model();
    ck_assert_msg(m != NULL, "%s", tnn_last_error());
    size_t n;
    unsigned char *image = onnx_image(m, &n);
    unsigned char *buf = malloc(n);
    struct counting_allocator a;
    int rc = TNN_E_NOMEM;
    long fail_at;
    for (fail_at = 1; rc != TNN_OK; fail_at++) {
        counting_install(&a, fail_at);
        rc = tnn_model_save_onnx_buffer(m, buf, n, NULL);
        long live = a.live;
        counting_remove();
        ck_assert_int_eq(live, 0);
        ck_assert_msg(rc == TNN_OK || rc == TNN_E_NOMEM, "%d: %s", rc,
                      tnn_last_error());
    }
    ck_assert_int_gt(fail_at, 3);
    ck_assert_mem_eq(buf, image, n);
    rc = TNN_E_NOMEM;
    for (fail_at = 1; rc != TNN_OK; fail_at++) {
        tnn_model *back = (tnn_model *)buf;
        counting_install(&a, fail_at);
        rc = tnn_model_load_onnx_buffer(image, n, &back);
        tnn_model_free(back);
        long live = a.live;
        counting_remove();
        ck_assert_int_eq(live, 0);
        ck_assert_msg(rc == TNN_OK || (rc == TNN_E_NOMEM && back == NULL),
                      "%d: %s", rc, tnn_last_error());
    }
    ck_assert_int_gt(fail_at, 10);
    free(buf);
    free(image);
    tnn_model_free(m);
}
END_TEST

/* docs/onnx.md's bound holds for the new nodes too: the reader's copies
 * of the weights and the layers made from them stay within 32 bytes per
 * byte of the file. */
START_TEST(sequence_imports_allocate_within_the_bound)
{
    static const char *const names[] = {
        "lstm_seq-opset13",     "lstm_hn-opset11", "gru_last-opset17",
        "gru_hn-opset13-fixed", "emb_mlp-opset13", "emb_gru-opset17"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, ONNX_DIR "/%s.onnx", names[i]);
        size_t size;
        unsigned char *data = read_all(path, &size);
        int rc;
        size_t peak = load_peak(data, size, &rc);
        ck_assert_msg(rc == TNN_OK, "%s: %s", names[i], tnn_last_error());
        ck_assert_msg(peak <= 32 * size + 65536, "%s: %zu bytes, peak %zu",
                      names[i], size, peak);
        free(data);
    }
}
END_TEST

/* An imported recurrent model trains: its GRU and dense layers learn
 * (the embedding's table too), and the loss falls. */
START_TEST(imported_recurrent_model_fine_tunes)
{
    struct onnx_case c;
    read_case(ONNX_DIR "/emb_gru-opset13.txt", &c);
    tnn_model *m = NULL;
    ck_assert_int_eq(tnn_model_load_onnx(ONNX_DIR "/emb_gru-opset13.onnx", &m),
                     TNN_OK);
    ck_assert_uint_eq(tnn_model_num_layers(m), 4);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(m, 1)), TNN_LAYER_GRU);
    tnn_tensor *labels = tnn_tensor_new(1, &c.rows);
    for (size_t i = 0; i < c.rows; i++)
        tnn_tensor_data(labels)[i] = (float)(i % c.cols);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(1e-2f)), TNN_OK);
    double first = 0, last = 0;
    for (int step = 0; step < 60; step++) {
        double loss;
        ck_assert_msg(tnn_model_train_batch(m, c.input, labels, &loss) ==
                          TNN_OK,
                      "%s", tnn_last_error());
        if (step == 0)
            first = loss;
        last = loss;
    }
    ck_assert_msg(last < 0.5 * first, "loss %g -> %g", first, last);
    tnn_tensor_free(labels);
    tnn_model_free(m);
    free_case(&c);
}
END_TEST

Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("onnx");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pytorch_exports_predict_as_pytorch);
    tcase_add_test(tc, unsupported_graphs_are_refused_naming_the_node);
    tcase_add_test(tc, imported_model_fine_tunes);
    tcase_add_test(tc, export_then_import_is_bit_identical);
    tcase_add_test(tc, rows_model_round_trip_and_stable_bytes);
    tcase_add_test(tc, truncated_files_are_refused);
    tcase_add_test(tc, corrupted_bytes_never_crash);
    tcase_add_test(tc, allocation_is_bounded_by_the_file_size);
    tcase_add_test(tc, versions_and_non_models);
    tcase_add_test(tc, layernorm_round_trip_in_opset_17);
    tcase_add_test(tc, gelu_and_inner_groups_are_refused);
    tcase_add_test(tc, embedding_lstm_and_gru_round_trip);
    tcase_add_test(tc, token_ids_are_int64_and_checked_after_import);
    tcase_add_test(tc, embedding_of_float_values_is_refused);
    tcase_add_test(tc, sequence_export_and_import_without_memory);
    tcase_add_test(tc, imported_recurrent_model_fine_tunes);
    tcase_add_test(tc, sequence_imports_allocate_within_the_bound);
    suite_add_tcase(s, tc);
    return s;
}
