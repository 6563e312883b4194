/*
 * mnist_lstm - MNIST read as sequences with libtinynn: each image is 28
 * time steps of one row of 28 pixels, top to bottom,
 *
 *   (28 steps, 28 features) -> LSTM 128 (last step) -> Dense 10 softmax,
 *   Adam from 2e-3 down to 0 on a cosine, categorical cross-entropy,
 *   epochs of shuffled batches of 64,
 *
 * then test accuracy (at least 98%), per-class accuracy and the confusion
 * matrix, printed and drawn (training.svg, confusion.svg). The network
 * sees one row at a time and must carry what it saw in its state to the
 * last row, where the dense layer reads the last hidden state.
 *
 * main() reads top to bottom as mnist_cnn.c does: load the data, build
 * the model, fit, evaluate, predict, report; support/ holds what is not
 * about the library. --help lists the options.
 */
#include <stdio.h>

#include <tinynn.h>

#include "support/classifier_report.h"
#include "support/mnist_inputs.h"
#include "support/mnist_options.h"
#include "support/progress.h"
#include "support/replicas.h"

#define PROG "mnist_lstm"
enum { CLASSES = 10, ROWS = 28, COLUMNS = 28, HIDDEN = 128 };

/* A failed libtinynn call leaves a message in tnn_last_error() naming the
 * function and the value it refused. */
static void say_error(void)
{
    fprintf(stderr, PROG ": %s\n", tnn_last_error());
}

/* One of MNIST's sets ("train" or "t10k"): the images as rows of 784
 * values in [0, 1] (TNN_IDX_FLATTEN makes each 28x28 image one row,
 * TNN_IDX_SCALE divides the bytes by 255), and the labels as they are in
 * the file: class indices 0.0f to 9.0f, which cross-entropy takes. */
static int load_set(const char *dir, const char *set, tnn_tensor **x,
                    tnn_tensor **y)
{
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte", dir, set);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte", dir, set);
    if (tnn_idx_load(images, TNN_IDX_SCALE | TNN_IDX_FLATTEN, x) != TNN_OK ||
        tnn_idx_load(labels, 0, y) != TNN_OK)
        say_error();
    return mnist_check_set(PROG, dir, images, labels, *x, *y);
}

/* Adam (beta1 0.9, beta2 0.999, eps 1e-7: tnn_adam_new()'s defaults) from
 * 2e-3 down to 0 on a cosine over the total_steps >= 1 of the run. */
static tnn_optim *new_optimizer(long total_steps)
{
    tnn_optim *adam = tnn_adam_new(2e-3f);
    if (adam && tnn_optim_set_cosine_schedule(adam, total_steps, 0.0f)) {
        tnn_optim_free(adam);
        return NULL;
    }
    return adam;
}

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    /* A model of sequences: its layers see (time, features), 28 rows of
     * 28 pixels, while its input rows are the 784 values of load_set(),
     * which hold the image's rows one after the other. */
    tnn_model *m = tnn_model_new_sequence(ROWS, COLUMNS);
    /* Initial weights and shuffling draw from the model's generator: the
     * same seed, the same run. */
    int rc = m ? tnn_model_set_seed(m, seed) : TNN_E_NOMEM;
    /* The model owns each layer it is given, and frees one that fails.
     * The LSTM returns its last step's hidden state only (0): 128 values
     * for the dense layer. */
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_lstm_new(COLUMNS, HIDDEN, 0));
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dense_new(HIDDEN, CLASSES));
    if (rc == TNN_OK) /* fused with the loss: training skips it */
        rc = tnn_model_add(m, tnn_softmax_new());
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    if (rc == TNN_OK) { /* the model owns its optimizer too */
        tnn_optim *adam = new_optimizer(total_steps);
        rc = adam ? tnn_model_set_optim(m, adam) : TNN_E_NOMEM;
    }
    if (rc != TNN_OK) {
        say_error();
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

struct training_log {
    progress bar;    /* the Keras-like progress line (support/progress.h) */
    int epochs;      /* of the whole run */
    history history; /* each epoch's figures, for training.svg */
};

/* tnn_model_fit() calls this after every batch and every epoch; 0 means
 * "go on". Loss and accuracy are running means over the epoch so far. */
static int on_progress(const tnn_progress *p, void *user)
{
    struct training_log *log = user;
    double loss = tnn_progress_loss(p), accuracy = tnn_progress_accuracy(p);
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END) {
        size_t batch = tnn_progress_batch(p); /* from 0 */
        if (batch == 0) /* the epoch's number: those finished, plus one */
            progress_begin_epoch(&log->bar, stdout, log->history.epochs + 1,
                                 log->epochs, (long)tnn_progress_batches(p));
        progress_update(&log->bar, (long)batch + 1, loss, accuracy,
                        tnn_progress_seconds(p));
        return 0;
    }
    /* TNN_EVENT_EPOCH_END, after the validation data was evaluated */
    double val_loss = tnn_progress_val_loss(p);
    double val_accuracy = tnn_progress_val_accuracy(p);
    progress_end_epoch(&log->bar, tnn_progress_seconds(p), loss, accuracy,
                       val_loss, val_accuracy);
    history_add(&log->history, loss, accuracy, val_loss, val_accuracy);
    return 0;
}

/* counts[actual * CLASSES + predicted]: tnn_model_predict() gives each
 * image's 10 probabilities, and the library's confusion matrix takes the
 * most probable as the model's answer. */
static int count_confusion(tnn_model *m, const tnn_tensor *x,
                           const tnn_tensor *y, size_t *counts)
{
    tnn_tensor *probs = tnn_tensor_new_2d(tnn_tensor_dim(x, 0), CLASSES);
    int rc = probs ? tnn_model_predict(m, x, probs) : TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = tnn_confusion_matrix(probs, y, CLASSES, counts);
    tnn_tensor_free(probs);
    return rc == TNN_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct mnist_defaults defaults = {PROG, "out/mnist_lstm", 6,
                                                   64, 0};
    struct mnist_options o;
    if (mnist_parse_options(&defaults, argc, argv, &o))
        return 2;
    if (o.max_shift > 0) { /* the shared options have it; this run not */
        fprintf(stderr, PROG ": --shift is not supported here\n");
        return 2;
    }
    /* --mpi: every rank of mpirun runs this program on all the data and
     * trains its slice of each batch; rank 0 reports. */
    if (replicas_begin(PROG, o.mpi, &argc, &argv))
        return 2;
    if (o.threads && tnn_set_num_threads(o.threads) != TNN_OK) {
        say_error();
        return 2;
    }
    tnn_tensor *x_train = NULL, *y_train = NULL, *x_eval = NULL,
               *y_eval = NULL;
    tnn_model *model = NULL;
    struct training_log log = {.epochs = o.epochs};
    int status = 1;

    /* 1. The data: 60,000 training and 10,000 test images. --validation N
     * evaluates on the last N training images instead (and trains on the
     * others), so that choices about training never look at the test set. */
    if (load_set(o.data_dir, "train", &x_train, &y_train) ||
        load_set(o.data_dir, "t10k", &x_eval, &y_eval) ||
        (o.holdout > 0 && mnist_hold_out(PROG, &x_train, &y_train, &x_eval,
                                         &y_eval, (size_t)o.holdout)))
        goto done;
    const char *set = o.holdout > 0 ? "validation" : "test";
    const char *Set = o.holdout > 0 ? "Validation" : "Test";

    /* 2. The model: a new one, or one that --save wrote. The learning rate
     * follows its cosine over the optimizer steps of the whole run. */
    size_t rows = tnn_tensor_dim(x_train, 0), batch = (size_t)o.batch;
    long steps = (long)((rows + batch - 1) / batch) * o.epochs;
    model = o.load_path
                ? mnist_load_model(PROG, o.load_path, steps, new_optimizer)
                : build_model(o.seed, steps);
    if (!model || replicas_attach(PROG, model))
        goto done;
    char summary[2048];
    tnn_model_summary(model, summary, sizeof summary, NULL);
    printf("libtinynn %s, %d BLAS thread(s), seed %llu\n%zu training and "
           "%zu %s images\n\n%s\n",
           tnn_version_string(), tnn_get_num_threads(), o.seed, rows,
           tnn_tensor_dim(x_eval, 0), set, summary);
    fflush(stdout);

    /* 3. Training: each epoch shuffles the rows (shuffle 1), trains on
     * batches of 64 (--batch), the last one smaller, then evaluates the
     * evaluation set, which only reports. */
    int rc = TNN_OK;
    if (o.epochs > 0) /* --epochs 0 only evaluates a --load'ed model */
        rc = replicas_fit(model, x_train, y_train, x_eval, y_eval, o.epochs,
                          batch, 1, on_progress, &log);
    /* Saved with the optimizer's state (Adam's moments, the step count that
     * places it on the schedule), --load trains on where this run stopped;
     * a schedule that ended at 0 gets a new one (support/mnist_inputs.c). */
    if (rc == TNN_OK && o.save_path && replicas_root()) {
        rc = tnn_model_save(model, o.save_path, TNN_SAVE_OPTIMIZER);
        if (rc == TNN_OK)
            printf("\nModel saved to %s\n", o.save_path);
    }
    if (rc != TNN_OK) {
        say_error();
        goto done;
    }

    /* 4. Evaluation and prediction, in eval mode: no dropout. */
    double loss, accuracy;
    size_t counts[CLASSES * CLASSES];
    if (tnn_model_evaluate(model, x_eval, y_eval, &loss, &accuracy) !=
            TNN_OK ||
        count_confusion(model, x_eval, y_eval, counts)) {
        say_error();
        goto done;
    }

    /* 5. The report, printed and drawn. */
    printf("\n%s loss: %.4f\n%s accuracy: %.2f%%\n", Set, loss, Set,
           100.0 * accuracy);
    if (print_class_report(counts, CLASSES)) {
        say_error();
        goto done;
    }
    if (replicas_root() && draw_pictures(PROG, o.out_dir, "MNIST", set,
                                         &log.history, counts, CLASSES))
        goto done;
    status = accuracy < o.min_accuracy;
    if (status)
        fprintf(stderr,
                PROG ": %s accuracy %.2f%% is below the required %.2f%%\n",
                set, 100.0 * accuracy, 100.0 * o.min_accuracy);
done:
    replicas_end();
    tnn_model_free(model);
    tnn_tensor_free(x_train);
    tnn_tensor_free(y_train);
    tnn_tensor_free(x_eval);
    tnn_tensor_free(y_eval);
    return status;
}
