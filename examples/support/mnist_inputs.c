/*
 * Checks and plumbing around the MNIST examples' inputs (mnist_inputs.h).
 */
#include <stdio.h>
#include <string.h>

#include <tinynn.h>

#include "mnist_inputs.h"

int mnist_check_set(const char *prog, const char *dir, const char *images_path,
                    const char *labels_path, const tnn_tensor *x,
                    const tnn_tensor *y)
{
    size_t n = tnn_tensor_dim(x, 0), width = n ? tnn_tensor_size(x) / n : 0;
    size_t n_labels = tnn_tensor_dim(y, 0);
    if (!x || !y) {
        /* tnn_idx_load() failed; the caller said why. */
    } else if (width != MNIST_PIXELS) {
        fprintf(stderr, "%s: %s holds images of %zu pixels, not %dx%d\n", prog,
                images_path, width, MNIST_SIDE, MNIST_SIDE);
    } else if (tnn_tensor_ndim(y) != 1) {
        fprintf(stderr,
                "%s: %s holds a %d-dimensional array, not a list of "
                "labels\n",
                prog, labels_path, tnn_tensor_ndim(y));
    } else if (n_labels != n) {
        fprintf(stderr, "%s: %s holds %zu images but %s holds %zu labels\n",
                prog, images_path, n, labels_path, n_labels);
    } else {
        return 0;
    }
    fprintf(stderr,
            "%s: the MNIST files are missing or damaged; run 'make demo' or "
            "'scripts/fetch-mnist.sh %s' first\n",
            prog, dir);
    return -1;
}

/* Rows [first, first + n) of t, in a tensor of their own. */
static tnn_tensor *rows_of(const tnn_tensor *t, size_t first, size_t n)
{
    size_t dims[TNN_MAX_DIMS];
    int ndim = tnn_tensor_ndim(t);
    for (int i = 0; i < ndim; i++)
        dims[i] = tnn_tensor_dim(t, i);
    size_t per_row = tnn_tensor_size(t) / dims[0];
    dims[0] = n;
    tnn_tensor *part = tnn_tensor_new(ndim, dims);
    if (part)
        memcpy(tnn_tensor_data(part), tnn_tensor_cdata(t) + first * per_row,
               n * per_row * sizeof(float));
    return part;
}

int mnist_hold_out(const char *prog, tnn_tensor **x_train,
                   tnn_tensor **y_train, tnn_tensor **x_eval,
                   tnn_tensor **y_eval, size_t n)
{
    size_t rows = tnn_tensor_dim(*x_train, 0);
    if (n >= rows) {
        fprintf(stderr, "%s: cannot hold out %zu of %zu training images\n",
                prog, n, rows);
        return -1;
    }
    size_t keep = rows - n;
    tnn_tensor *parts[4] = {
        rows_of(*x_train, 0, keep), rows_of(*y_train, 0, keep),
        rows_of(*x_train, keep, n), rows_of(*y_train, keep, n)};
    tnn_tensor **slots[4] = {x_train, y_train, x_eval, y_eval};
    int ok = parts[0] && parts[1] && parts[2] && parts[3];
    for (int i = 0; i < 4; i++) {
        tnn_tensor *gone = ok ? *slots[i] : parts[i];
        if (ok)
            *slots[i] = parts[i];
        tnn_tensor_free(gone);
    }
    if (!ok)
        fprintf(stderr, "%s: %s\n", prog, tnn_last_error());
    return ok ? 0 : -1;
}

tnn_model *mnist_load_model(const char *prog, const char *path,
                            long total_steps,
                            tnn_optim *(*new_optimizer)(long total_steps))
{
    tnn_model *m = NULL;
    if (tnn_model_load(path, &m) != TNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, tnn_last_error());
        return NULL;
    }
    if (tnn_model_in_features(m) != MNIST_PIXELS ||
        tnn_model_out_features(m) != MNIST_CLASSES) {
        fprintf(stderr,
                "%s: %s maps %zu inputs to %zu outputs, not %d to %d\n", prog,
                path, tnn_model_in_features(m), tnn_model_out_features(m),
                MNIST_PIXELS, MNIST_CLASSES);
        tnn_model_free(m);
        return NULL;
    }
    const tnn_optim *saved = tnn_model_optim(m);
    const char *why = !saved ? "it was saved without one"
                      : tnn_optim_current_lr(saved) == 0.0f
                          ? "the saved one's learning rate has decayed to 0"
                          : NULL;
    if (total_steps == 0 || !why)
        return m;
    printf("A new optimizer for this run: %s.\n", why);
    tnn_optim *fresh = new_optimizer(total_steps);
    if (!fresh || tnn_model_set_optim(m, fresh) != TNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}
