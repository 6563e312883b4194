/*
 * The MNIST experiments' shared driver: options, data, training with a
 * progress line, evaluation, confusion matrix, pictures, save and load.
 * Each example only says how to build its model.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn.h>

#include "augment.h"
#include "cli.h"
#include "mnist_run.h"
#include "progress.h"
#include "svg.h"

#define MAX_EPOCHS 1000

/* The running example, for messages and defaults. */
static const struct mnist_experiment *exp_;

/* A message on stderr after the program's name. */
static void complain(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", exp_->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

struct options {
    const char *data_dir;
    const char *out_dir;
    int epochs;
    long batch;
    unsigned long long seed;
    int threads;
    double min_accuracy;
    const char *save_path;
    const char *load_path;
    long holdout;
    int max_shift;
};

/* Per-epoch figures for training.svg, filled by the fit callback. */
struct history {
    progress bar;
    int epoch_offset; /* epochs run by earlier tnn_model_fit() calls */
    int epochs_total;
    int epochs_done;
    double train_loss[MAX_EPOCHS], train_acc[MAX_EPOCHS];
    double test_loss[MAX_EPOCHS], test_acc[MAX_EPOCHS];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [options]\n"
            "  -d, --data DIR        MNIST IDX files (default data/mnist)\n"
            "  -o, --out DIR         where the pictures go (default %s)\n"
            "  -e, --epochs N        epochs (default %d)\n"
            "  -b, --batch N         batch size (default %ld)\n"
            "  -s, --seed N          seed of all randomness (default 42)\n"
            "  -t, --threads N       BLAS threads (default: the BLAS's)\n"
            "  -m, --min-accuracy A  exit 1 if test accuracy < A (0..1)\n"
            "  -S, --save PATH       save the trained model (with the "
            "optimizer)\n"
            "  -L, --load PATH       start from a saved model instead of "
            "a new one\n"
            "                        (-e 0: only evaluate it)\n"
            "  -a, --shift N         move training images by up to N pixels "
            "(0 to 8),\n"
            "                        anew each epoch (default %d; 0: as they "
            "are)\n"
            "  -v, --validation N    hold out the last N >= 1 training images "
            "and report\n"
            "                        on them instead of the test set (to tune "
            "without it)\n"
            "  -h, --help            this text\n",
            exp_->name, exp_->default_out, exp_->default_epochs,
            exp_->default_batch, exp_->max_shift);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, 'e'},
        {"batch", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"min-accuracy", required_argument, NULL, 'm'},
        {"save", required_argument, NULL, 'S'},
        {"load", required_argument, NULL, 'L'},
        {"validation", required_argument, NULL, 'v'},
        {"shift", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct options){.data_dir = "data/mnist",
                          .out_dir = exp_->default_out,
                          .epochs = exp_->default_epochs,
                          .batch = exp_->default_batch,
                          .seed = 42,
                          .max_shift = exp_->max_shift};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "d:o:e:b:s:t:m:S:L:v:a:h", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'd': o->data_dir = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'e':
            if (cli_parse_long(optarg, 0, MAX_EPOCHS, &v))
                goto bad;
            o->epochs = (int)v;
            break;
        case 'b':
            if (cli_parse_long(optarg, 1, 60000, &o->batch))
                goto bad;
            break;
        case 's':
            if (cli_parse_long(optarg, 0, 0x7fffffffL, &v))
                goto bad;
            o->seed = (unsigned long long)v;
            break;
        case 't':
            if (cli_parse_long(optarg, 1, 1024, &v))
                goto bad;
            o->threads = (int)v;
            break;
        case 'm':
            if (cli_parse_double(optarg, 0, 1, &o->min_accuracy))
                goto bad;
            break;
        case 'S': o->save_path = optarg; break;
        case 'L': o->load_path = optarg; break;
        case 'a':
            if (cli_parse_long(optarg, 0, 8, &v))
                goto bad;
            o->max_shift = (int)v;
            break;
        case 'v':
            /* Up to the training set's size, which hold_out() checks. */
            if (cli_parse_long(optarg, 1, LONG_MAX, &o->holdout))
                goto bad;
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (o->epochs == 0 && !o->load_path) {
        complain("-e 0 needs a model to --load\n");
        return -1;
    }
    if (optind == argc)
        return 0;
    complain("unexpected argument '%s'\n", argv[optind]);
    return -1;
bad:
    for (const struct option *lo = longopts; lo->name; lo++)
        if (lo->val == c)
            complain("invalid value '%s' for --%s\n", optarg, lo->name);
    return -1;
}

static void advise_fetch(const char *dir)
{
    complain("the MNIST files are missing or damaged; run 'make demo' or "
             "'scripts/fetch-mnist.sh %s' first\n",
             dir);
}

/* Load one of the four files; on failure say how to get them. */
static tnn_tensor *load(const char *dir, const char *name, int flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tnn_tensor *t = NULL;
    if (tnn_idx_load(path, flags, &t) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        advise_fetch(dir);
        return NULL;
    }
    return t;
}

/* Whether x holds 28x28 images and y one class label for each: the
 * hold-out split, the shifts and the confusion matrix index both files by
 * row and trust these sizes. */
static int pair_fits(const char *dir, const char *images, const char *labels,
                     const tnn_tensor *x, const tnn_tensor *y)
{
    size_t n = tnn_tensor_dim(x, 0), width = tnn_tensor_size(x) / n;
    size_t n_labels = tnn_tensor_dim(y, 0);
    if (width != IMAGE_SIDE * IMAGE_SIDE) {
        complain("%s/%s holds images of %zu pixels, not %dx%d\n", dir, images,
                 width, IMAGE_SIDE, IMAGE_SIDE);
    } else if (tnn_tensor_ndim(y) != 1) {
        complain("%s/%s holds a %d-dimensional array, not a list of "
                 "labels\n",
                 dir, labels, tnn_tensor_ndim(y));
    } else if (n_labels != n) {
        complain("%s/%s holds %zu images but %s/%s holds %zu labels\n", dir,
                 images, n, dir, labels, n_labels);
    } else {
        return 1;
    }
    return 0;
}

/* Images (scaled to [0, 1], one row each) and their labels, checked
 * against each other; both NULL after saying why. */
static int load_pair(const char *dir, const char *images, const char *labels,
                     tnn_tensor **x, tnn_tensor **y)
{
    *x = load(dir, images, TNN_IDX_SCALE | TNN_IDX_FLATTEN);
    *y = *x ? load(dir, labels, 0) : NULL;
    if (*y && pair_fits(dir, images, labels, *x, *y))
        return 0;
    if (*y)
        advise_fetch(dir);
    tnn_tensor_free(*x);
    tnn_tensor_free(*y);
    *x = *y = NULL;
    return -1;
}

static int on_progress(const tnn_progress *p, void *user)
{
    struct history *h = user;
    int epoch = h->epoch_offset + tnn_progress_epoch(p);
    double loss = tnn_progress_loss(p), acc = tnn_progress_accuracy(p);
    double seconds = tnn_progress_seconds(p);
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END) {
        size_t batch = tnn_progress_batch(p);
        if (batch == 0)
            progress_begin_epoch(&h->bar, stdout, epoch + 1, h->epochs_total,
                                 (long)tnn_progress_batches(p));
        progress_update(&h->bar, (long)batch + 1, loss, acc, seconds);
        return 0;
    }
    progress_end_epoch(&h->bar, seconds, loss, acc, tnn_progress_val_loss(p),
                       tnn_progress_val_accuracy(p));
    h->train_loss[epoch] = loss;
    h->train_acc[epoch] = acc;
    h->test_loss[epoch] = tnn_progress_val_loss(p);
    h->test_acc[epoch] = tnn_progress_val_accuracy(p);
    h->epochs_done = epoch + 1;
    return 0;
}

/* A saved model of the right shape. To be trained further (total_steps >
 * 0) it keeps its saved optimizer, whose state makes the run continue where
 * it stopped, unless there is none or its learning rate has decayed to 0
 * (a finished schedule would train nothing): then it gets the experiment's
 * optimizer for the new run. */
static tnn_model *load_model(const char *path, long total_steps)
{
    tnn_model *m = NULL;
    if (tnn_model_load(path, &m) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        return NULL;
    }
    if (tnn_model_in_features(m) != IMAGE_SIDE * IMAGE_SIDE ||
        tnn_model_out_features(m) != CLASSES) {
        complain("%s maps %zu inputs to %zu outputs, not "
                 "%d to %d\n",
                 path, tnn_model_in_features(m), tnn_model_out_features(m),
                 IMAGE_SIDE * IMAGE_SIDE, CLASSES);
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
    tnn_optim *fresh = exp_->optimizer(total_steps);
    if (!fresh || tnn_model_set_optim(m, fresh) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
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

/* The last n training rows become the evaluation set, in place of the
 * test set, so that choices about training never look at the test set. */
static int hold_out(tnn_tensor **x_train, tnn_tensor **y_train,
                    tnn_tensor **x_eval, tnn_tensor **y_eval, size_t n)
{
    size_t rows = tnn_tensor_dim(*x_train, 0);
    if (n >= rows) {
        complain("cannot hold out %zu of %zu training images\n", n, rows);
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
        complain("%s\n", tnn_last_error());
    return ok ? 0 : -1;
}

/* Fit for the requested epochs; with augmentation, one epoch at a time on
 * freshly shifted images (the model's optimizer and generator carry over
 * from call to call, so this is one run). */
static int train(tnn_model *m, const struct options *o, const tnn_tensor *x,
                 const tnn_tensor *y, const tnn_tensor *x_eval,
                 const tnn_tensor *y_eval, struct history *h)
{
    h->epochs_total = o->epochs;
    if (o->max_shift == 0)
        return tnn_model_fit(m, x, y, x_eval, y_eval, o->epochs,
                             (size_t)o->batch, 1, on_progress, h);
    /* Its own stream, so the shuffling and dropout are as without it. */
    tnn_rng *rng = tnn_rng_new(o->seed ^ 0x5348494654ULL);
    tnn_tensor *moved = rng ? tnn_tensor_clone(x) : NULL;
    int rc = moved ? TNN_OK : TNN_E_NOMEM;
    for (int e = 0; e < o->epochs && rc == TNN_OK; e++) {
        augment_shift_images(x, moved, IMAGE_SIDE, o->max_shift, rng);
        h->epoch_offset = e;
        rc = tnn_model_fit(m, moved, y, x_eval, y_eval, 1, (size_t)o->batch, 1,
                           on_progress, h);
    }
    tnn_tensor_free(moved);
    tnn_rng_free(rng);
    return rc;
}

/* counts[actual * CLASSES + predicted] over the test set. */
static int confusion(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                     int *counts)
{
    size_t n = tnn_tensor_dim(x, 0);
    tnn_tensor *probs = tnn_tensor_new_2d(n, CLASSES);
    if (!probs || tnn_model_predict(m, x, probs) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        tnn_tensor_free(probs);
        return -1;
    }
    memset(counts, 0, CLASSES * CLASSES * sizeof *counts);
    const float *p = tnn_tensor_cdata(probs), *labels = tnn_tensor_cdata(y);
    for (size_t r = 0; r < n; r++) {
        size_t best = 0;
        for (size_t j = 1; j < CLASSES; j++)
            if (p[r * CLASSES + j] > p[r * CLASSES + best])
                best = j;
        counts[(size_t)labels[r] * CLASSES + best]++;
    }
    tnn_tensor_free(probs);
    return 0;
}

static void print_confusion(const int *counts)
{
    printf("\nConfusion matrix (rows: actual, columns: predicted)\n      ");
    for (int j = 0; j < CLASSES; j++)
        printf("%6d", j);
    printf("\n");
    for (int i = 0; i < CLASSES; i++) {
        printf("%6d", i);
        for (int j = 0; j < CLASSES; j++)
            printf("%6d", counts[i * CLASSES + j]);
        printf("\n");
    }
    printf("\nPer-class accuracy\n");
    for (int i = 0; i < CLASSES; i++) {
        int total = 0;
        for (int j = 0; j < CLASSES; j++)
            total += counts[i * CLASSES + j];
        printf("  %d: %6.2f%%  (%d of %d)\n", i,
               total ? 100.0 * counts[i * CLASSES + i] / total : 0.0,
               counts[i * CLASSES + i], total);
    }
}

static int draw(const char *dir, const char *set, const struct history *h,
                const int *counts)
{
    char title[64];
    snprintf(title, sizeof title, "MNIST %s set: confusion matrix", set);
    char path[4096];
    if (cli_make_dirs(dir)) {
        complain("cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    double epochs[MAX_EPOCHS];
    for (int e = 0; e < h->epochs_done; e++)
        epochs[e] = e + 1;
    size_t n = (size_t)h->epochs_done;
    svg_series loss[] = {{"train", epochs, h->train_loss, n, NULL},
                         {set, epochs, h->test_loss, n, NULL}};
    svg_series acc[] = {{"train", epochs, h->train_acc, n, NULL},
                        {set, epochs, h->test_acc, n, NULL}};
    svg_panel panels[] = {
        {"Loss", "epoch", "cross-entropy", loss, 2, 0, 0, 0, 0, 0},
        {"Accuracy", "epoch", "accuracy", acc, 2, 0, 0, 0, 0, 0}};
    snprintf(path, sizeof path, "%s/training.svg", dir);
    if (n > 0 && svg_write_line_chart(path, panels, 2)) {
        complain("cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/confusion.svg", dir);
    if (svg_write_confusion_matrix(path, title, counts, NULL, CLASSES, 1)) {
        complain("cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (n > 0)
        printf("\nPictures: %s/training.svg, %s/confusion.svg\n", dir, dir);
    else
        printf("\nPicture: %s/confusion.svg\n", dir);
    return 0;
}

tnn_model *mnist_model(const char *name, tnn_model *m, unsigned long long seed,
                       tnn_layer *const *layers, size_t count, tnn_optim *opt)
{
    int rc = m ? tnn_model_set_seed(m, seed) : TNN_E_NOMEM;
    for (size_t i = 0; i < count; i++)
        if (rc == TNN_OK)
            rc = layers[i] ? tnn_model_add(m, layers[i]) : TNN_E_NOMEM;
        else
            tnn_layer_free(layers[i]);
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    if (rc == TNN_OK)
        rc = opt ? tnn_model_set_optim(m, opt) : TNN_E_NOMEM;
    else
        tnn_optim_free(opt);
    if (rc != TNN_OK) {
        fprintf(stderr, "%s: %s\n", name, tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

/* Optimizer steps of the whole training: batches per epoch times epochs
 * (0 when there is no training). */
static long steps_of(const struct options *opt, size_t rows)
{
    long batches =
        (long)((rows + (size_t)opt->batch - 1) / (size_t)opt->batch);
    return batches * opt->epochs;
}

int mnist_main(const struct mnist_experiment *experiment, int argc,
               char **argv)
{
    exp_ = experiment;
    struct options opt;
    if (parse_options(argc, argv, &opt))
        return 2;
    if (opt.threads && tnn_set_num_threads(opt.threads) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        return 2;
    }
    tnn_tensor *x_train = NULL, *y_train = NULL, *x_test = NULL,
               *y_test = NULL;
    tnn_model *model = NULL;
    int status = 1;
    if (load_pair(opt.data_dir, "train-images-idx3-ubyte",
                  "train-labels-idx1-ubyte", &x_train, &y_train) ||
        load_pair(opt.data_dir, "t10k-images-idx3-ubyte",
                  "t10k-labels-idx1-ubyte", &x_test, &y_test) ||
        (opt.holdout > 0 &&
         hold_out(&x_train, &y_train, &x_test, &y_test, (size_t)opt.holdout)))
        goto done;
    long steps = steps_of(&opt, tnn_tensor_dim(x_train, 0));
    model = opt.load_path ? load_model(opt.load_path, steps)
                          : exp_->build(opt.seed, steps);
    if (!model)
        goto done;
    /* What the model is evaluated on, in messages and pictures. */
    const char *eval_set = opt.holdout > 0 ? "validation" : "test";
    const char *eval_name = opt.holdout > 0 ? "Validation" : "Test";

    char summary[2048];
    tnn_model_summary(model, summary, sizeof summary, NULL);
    printf("libtinynn %s, %d BLAS thread(s), seed %llu\n%zu training and "
           "%zu %s images\n\n%s\n",
           tnn_version_string(), tnn_get_num_threads(), opt.seed,
           tnn_tensor_dim(x_train, 0), tnn_tensor_dim(x_test, 0), eval_set,
           summary);
    fflush(stdout);

    static struct history history;
    if (opt.epochs > 0 && train(model, &opt, x_train, y_train, x_test, y_test,
                                &history) != TNN_OK) {
        complain("%s\n", tnn_last_error());
        goto done;
    }
    if (opt.save_path) {
        if (tnn_model_save(model, opt.save_path, TNN_SAVE_OPTIMIZER) !=
            TNN_OK) {
            complain("%s\n", tnn_last_error());
            goto done;
        }
        printf("\nModel saved to %s\n", opt.save_path);
    }
    double loss, accuracy;
    int counts[CLASSES * CLASSES];
    if (tnn_model_evaluate(model, x_test, y_test, &loss, &accuracy) !=
            TNN_OK ||
        confusion(model, x_test, y_test, counts)) {
        complain("%s\n", tnn_last_error());
        goto done;
    }
    printf("\n%s loss: %.4f\n%s accuracy: %.2f%%\n", eval_name, loss,
           eval_name, 100.0 * accuracy);
    print_confusion(counts);
    if (draw(opt.out_dir, eval_set, &history, counts))
        goto done;
    status = 0;
    if (accuracy < opt.min_accuracy) {
        complain("%s accuracy %.2f%% is below the required "
                 "%.2f%%\n",
                 eval_set, 100.0 * accuracy, 100.0 * opt.min_accuracy);
        status = 1;
    }
done:
    tnn_model_free(model);
    tnn_tensor_free(x_train);
    tnn_tensor_free(y_train);
    tnn_tensor_free(x_test);
    tnn_tensor_free(y_test);
    return status;
}
