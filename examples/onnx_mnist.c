/*
 * Models trained in PyTorch, run and fine-tuned in C through ONNX.
 *
 *   onnx_mnist DIR [MNIST_DIR]
 *
 * DIR holds what examples/onnx_train.py wrote: mlp.onnx and cnn.onnx,
 * PyTorch's models after one epoch, and mlp-probs.f32 and cnn-probs.f32,
 * PyTorch's own probabilities for the 10,000 test images (float32,
 * little-endian, 10000 x 10). For each model this program loads the ONNX
 * file, reports its test accuracy and how far its predictions are from
 * PyTorch's (the same class for every image, probabilities within 1e-5),
 * trains it for one more epoch in C, reports the accuracy again and exports
 * the result as DIR/NAME-finetuned.onnx, with DIR/NAME-finetuned.txt
 * holding 16 test images and the C model's outputs for them, for
 * tests/onnx/check_export.py to compare against an independent reader.
 *
 * Exits with 1 when the C predictions disagree with PyTorch's, 2 on an
 * error.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn.h>

#define CLASSES 10
#define CHECKED_ROWS 16

struct mnist {
    tnn_tensor *x, *y, *x_test, *y_test;
};

static int load_mnist(const char *dir, struct mnist *d)
{
    const int images = TNN_IDX_SCALE | TNN_IDX_FLATTEN;
    char path[4][1024];
    const char *names[4] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++)
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    return tnn_idx_load(path[0], images, &d->x) ||
           tnn_idx_load(path[1], 0, &d->y) ||
           tnn_idx_load(path[2], images, &d->x_test) ||
           tnn_idx_load(path[3], 0, &d->y_test);
}

/* PyTorch's probabilities: rows x CLASSES little-endian floats. */
static float *load_probs(const char *path, size_t rows)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = rows * CLASSES;
    float *p = malloc(n * sizeof *p);
    unsigned char b[4];
    for (size_t i = 0; p && i < n; i++) {
        if (fread(b, 1, 4, f) != 4) {
            free(p);
            p = NULL;
            break;
        }
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&p[i], &u, 4);
    }
    fclose(f);
    return p;
}

/* How the C model's probabilities compare with PyTorch's. */
struct agreement {
    size_t same_class;
    double max_diff;
};

static struct agreement compare(const tnn_tensor *probs, const float *torch,
                                size_t rows)
{
    const float *p = tnn_tensor_cdata(probs);
    struct agreement a = {0, 0.0};
    for (size_t r = 0; r < rows; r++) {
        size_t best_c = 0, best_t = 0;
        for (size_t c = 0; c < CLASSES; c++) {
            double d = fabs((double)p[r * CLASSES + c] -
                            (double)torch[r * CLASSES + c]);
            a.max_diff = d > a.max_diff ? d : a.max_diff;
            best_c = p[r * CLASSES + c] > p[r * CLASSES + best_c] ? c : best_c;
            best_t = torch[r * CLASSES + c] > torch[r * CLASSES + best_t]
                         ? c
                         : best_t;
        }
        a.same_class += best_c == best_t;
    }
    return a;
}

/* The first CHECKED_ROWS test images and the model's outputs for them, in
 * the case format of tests/onnx/check_export.py. */
static int write_case(const char *path, tnn_model *m, tnn_tensor *x, int image)
{
    size_t width = tnn_tensor_dim(x, 1);
    tnn_tensor *rows = tnn_tensor_view_rows(x, 0, CHECKED_ROWS);
    tnn_tensor *out = tnn_tensor_new_2d(CHECKED_ROWS, CLASSES);
    FILE *f = fopen(path, "w");
    int rc = !rows || !out || !f || tnn_model_predict(m, rows, out);
    if (!rc) {
        fprintf(f,
                "# libtinynn's outputs for %d MNIST test images\n"
                "transform none\n",
                CHECKED_ROWS);
        if (image)
            fprintf(f, "input 4 %d 1 28 28\n", CHECKED_ROWS);
        else
            fprintf(f, "input 2 %d %zu\n", CHECKED_ROWS, width);
        const float *v = tnn_tensor_cdata(rows);
        for (size_t i = 0; i < CHECKED_ROWS * width; i++)
            fprintf(f, "%.9g\n", (double)v[i]);
        fprintf(f, "output 2 %d %d\n", CHECKED_ROWS, CLASSES);
        v = tnn_tensor_cdata(out);
        for (size_t i = 0; i < CHECKED_ROWS * CLASSES; i++)
            fprintf(f, "%.9g\n", (double)v[i]);
    }
    if (f && fclose(f) != 0)
        rc = 1;
    tnn_tensor_free(rows);
    tnn_tensor_free(out);
    return rc;
}

/* Load, compare, fine-tune, export one model; 0 when it agrees with
 * PyTorch, 1 when it does not, 2 on an error. */
static int run(const char *dir, const char *name, size_t batch, int image,
               struct mnist *d)
{
    char path[1024], out[1024];
    size_t rows = tnn_tensor_dim(d->x_test, 0);
    tnn_model *m = NULL;
    double accuracy = 0, tuned = 0;

    snprintf(path, sizeof path, "%s/%s-probs.f32", dir, name);
    float *torch = load_probs(path, rows);
    if (!torch) {
        fprintf(stderr, "onnx_mnist: cannot read %s\n", path);
        return 2;
    }
    tnn_tensor *probs = tnn_tensor_new_2d(rows, CLASSES);
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (tnn_model_load_onnx(path, &m) ||
        tnn_model_predict(m, d->x_test, probs) ||
        tnn_accuracy(probs, d->y_test, &accuracy))
        goto error;
    struct agreement a = compare(probs, torch, rows);
    printf("%s: %zu layers from %s\n", name, tnn_model_num_layers(m), path);
    printf("%s: test accuracy %.2f%%; the same class as PyTorch for %zu of "
           "%zu images, probabilities within %.2g of PyTorch's\n",
           name, 100 * accuracy, a.same_class, rows, a.max_diff);

    /* One more epoch, in C. */
    if (tnn_model_set_optim(m, tnn_adam_new(1e-3f)) ||
        tnn_model_fit(m, d->x, d->y, NULL, NULL, 1, batch, 1, NULL, NULL) ||
        tnn_model_evaluate(m, d->x_test, d->y_test, NULL, &tuned))
        goto error;
    snprintf(out, sizeof out, "%s/%s-finetuned.onnx", dir, name);
    if (tnn_model_save_onnx(m, out))
        goto error;
    snprintf(path, sizeof path, "%s/%s-finetuned.txt", dir, name);
    if (write_case(path, m, d->x_test, image)) {
        fprintf(stderr, "onnx_mnist: cannot write %s\n", path);
        tnn_model_free(m);
        tnn_tensor_free(probs);
        free(torch);
        return 2;
    }
    printf("%s: after one more epoch in C, test accuracy %.2f%%; exported "
           "to %s\n",
           name, 100 * tuned, out);
    tnn_model_free(m);
    tnn_tensor_free(probs);
    free(torch);
    return a.same_class == rows && a.max_diff <= 1e-5 ? 0 : 1;
error:
    fprintf(stderr, "onnx_mnist: %s\n", tnn_last_error());
    tnn_model_free(m);
    tnn_tensor_free(probs);
    free(torch);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: onnx_mnist DIR [MNIST_DIR]\n");
        return 2;
    }
    struct mnist d = {0};
    int rc = 2, rc_cnn = 2;
    if (load_mnist(argc > 2 ? argv[2] : "data/mnist", &d)) {
        fprintf(stderr, "onnx_mnist: %s\n", tnn_last_error());
    } else {
        rc = run(argv[1], "mlp", 64, 0, &d);
        rc_cnn = rc == 2 ? 2 : run(argv[1], "cnn", 128, 1, &d);
    }
    tnn_tensor_free(d.x);
    tnn_tensor_free(d.y);
    tnn_tensor_free(d.x_test);
    tnn_tensor_free(d.y_test);
    return rc > rc_cnn ? rc : rc_cnn;
}
