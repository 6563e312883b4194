/*
 * Tests of callback lists: the progress printer, early stopping and
 * reduce-lr-on-plateau against sequences worked out by hand, what a
 * callback may change during a fit, and allocation failures.
 *
 * Most tests train a model whose monitored values a callback steers:
 *  - the regressor: batch-norm over one constant input gives beta (0), a
 *    dense layer with weight 0 adds its bias b, so the prediction is b, the
 *    target 0 makes the loss b^2 / 2 and SGD steps b -= lr * b; the
 *    batch-norm's running statistics move at every step;
 *  - the classifier: a dense layer with weight 0 on inputs 0 gives logits
 *    (b0, b1) for each of three rows labelled 1, 1, 0, so the accuracy is
 *    2/3 when delta = b1 - b0 > 0 and 1/3 when delta < 0; a step moves
 *    delta by -lr * (2 sigmoid(delta) - 4/3).
 * After each epoch the steering callback picks the rate of the next step
 * so that b (delta) goes where the test's sequence says.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream() */

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "testutil.h"

#define MAX_EPOCHS 16

/* ---- the steered models ---------------------------------------------------
 */

struct steer {
    /* d[k]: b (delta) at the start of epoch k; d[0] when the fit starts.
     * After the last one the rate stays. */
    const double *d;
    int n;
    bool classifier;
    /* Ask to stop at the end of this epoch, or after its batch (-1: no). */
    int stop_epoch;
    int stop_batch_epoch;
    /* Recorded at each epoch end, before the rate is changed. */
    int epoch_ends;
    float b[MAX_EPOCHS];
    float running_mean[MAX_EPOCHS];
    float running_var[MAX_EPOCHS];
    double loss[MAX_EPOCHS];
    double val_loss[MAX_EPOCHS];
    float lr_seen[MAX_EPOCHS]; /* the rate as the steer found it */
    float lr_set[MAX_EPOCHS];  /* the rate the steer had set before */
    float last_set;
};

static tnn_model *regressor(float b0)
{
    tnn_model *m = tnn_model_new(1);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(1)), TNN_OK);
    tnn_layer *dense = tnn_dense_new(1, 1);
    ck_assert_int_eq(tnn_dense_set_init(dense, TNN_INIT_CONSTANT, 0.0f),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, dense), TNN_OK);
    tnn_tensor_data(tnn_layer_param(dense, 1))[0] = b0;
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(1.0f)), TNN_OK);
    return m;
}

static tnn_model *classifier(float delta0)
{
    tnn_model *m = tnn_model_new(1);
    ck_assert_ptr_nonnull(m);
    tnn_layer *dense = tnn_dense_new(1, 2);
    ck_assert_int_eq(tnn_dense_set_init(dense, TNN_INIT_CONSTANT, 0.0f),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, dense), TNN_OK);
    tnn_tensor_data(tnn_layer_param(dense, 1))[1] = delta0;
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(1.0f)), TNN_OK);
    return m;
}

/* The regressor's data: one row, input 3, target 0. */
static void regressor_data(tnn_tensor **x, tnn_tensor **y)
{
    *x = tnn_tensor_new_2d(1, 1);
    *y = tnn_tensor_new_2d(1, 1);
    tnn_tensor_data(*x)[0] = 3.0f;
}

/* The classifier's data: three rows of input 0, labels 1, 1, 0. */
static void classifier_data(tnn_tensor **x, tnn_tensor **y)
{
    size_t three = 3;
    *x = tnn_tensor_new_2d(3, 1);
    *y = tnn_tensor_new(1, &three);
    tnn_tensor_data(*y)[0] = 1.0f;
    tnn_tensor_data(*y)[1] = 1.0f;
}

static float *bias(tnn_model *m)
{
    return tnn_tensor_data(
        tnn_layer_param(tnn_model_layer(m, tnn_model_num_layers(m) - 1), 1));
}

/* b for the regressor, delta for the classifier. */
static double state_of(const struct steer *s, tnn_model *m)
{
    float *b = bias(m);
    return s->classifier ? (double)b[1] - (double)b[0] : (double)b[0];
}

/* The rate whose step takes the model from where it is to target. */
static float rate_towards(const struct steer *s, tnn_model *m, double target)
{
    double now = state_of(s, m), lr;
    if (s->classifier) {
        double g = 2.0 / (1.0 + exp(-now)) - 4.0 / 3.0;
        lr = (now - target) / g;
    } else {
        lr = 1.0 - target / now;
    }
    ck_assert_msg(lr > 0.0, "the sequence asks for a rate of %g", lr);
    return (float)lr;
}

static void set_rate(struct steer *s, tnn_model *m, float lr)
{
    ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), lr), TNN_OK);
    s->last_set = lr;
}

/* Put the model at d[0] and set the rate of the first step. */
static void steer_start(struct steer *s, tnn_model *m, const double *d, int n,
                        bool is_classifier)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->n = n;
    s->classifier = is_classifier;
    s->stop_epoch = -1;
    s->stop_batch_epoch = -1;
    float *b = bias(m);
    if (is_classifier) {
        b[0] = 0.0f;
        b[1] = (float)d[0];
    } else {
        b[0] = (float)d[0];
    }
    set_rate(s, m, rate_towards(s, m, d[1]));
}

static int steer_cb(const tnn_progress *p, void *user)
{
    struct steer *s = user;
    tnn_model *m = tnn_progress_model(p);
    int e = tnn_progress_epoch(p);
    ck_assert_int_lt(e, MAX_EPOCHS);
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END)
        return e == s->stop_batch_epoch;
    s->epoch_ends++;
    s->b[e] = (float)state_of(s, m);
    if (!s->classifier) {
        tnn_layer *bn = tnn_model_layer(m, 0);
        s->running_mean[e] =
            tnn_tensor_data(tnn_batchnorm_running_mean(bn))[0];
        s->running_var[e] = tnn_tensor_data(tnn_batchnorm_running_var(bn))[0];
    }
    s->loss[e] = tnn_progress_loss(p);
    s->val_loss[e] = tnn_progress_val_loss(p);
    s->lr_seen[e] = tnn_optim_lr(tnn_model_optim(m));
    s->lr_set[e] = s->last_set;
    if (e + 2 < s->n)
        set_rate(s, m, rate_towards(s, m, s->d[e + 2]));
    return e == s->stop_epoch;
}

/* The model holds what it held at the end of epoch e. */
static void assert_restored(const struct steer *s, tnn_model *m, int e)
{
    ck_assert_float_eq((float)state_of(s, m), s->b[e]);
    if (!s->classifier) {
        tnn_layer *bn = tnn_model_layer(m, 0);
        ck_assert_float_eq(tnn_tensor_data(tnn_batchnorm_running_mean(bn))[0],
                           s->running_mean[e]);
        ck_assert_float_eq(tnn_tensor_data(tnn_batchnorm_running_var(bn))[0],
                           s->running_var[e]);
    }
}

/* Counts the events it sees. */
struct counter {
    int batches;
    int epochs;
};

static int count_cb(const tnn_progress *p, void *user)
{
    struct counter *c = user;
    if (tnn_progress_event(p) == TNN_EVENT_EPOCH_END)
        c->epochs++;
    else
        c->batches++;
    return 0;
}

/* ---- the list
 * ---------------------------------------------------------------
 */

START_TEST(list_life_and_arguments)
{
    tnn_callbacks_free(NULL);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(NULL), -1);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    struct counter c = {0};

    ck_assert_int_eq(tnn_callbacks_add(NULL, count_cb, &c), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_callbacks_add");
    ck_assert_int_eq(tnn_callbacks_add(list, NULL, &c), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "fn"));
    ck_assert_int_eq(tnn_callbacks_add(list, count_cb, NULL), TNN_OK);

    ck_assert_int_eq(tnn_callbacks_add_progress(NULL, stdout), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_callbacks_add_progress");
    ck_assert_int_eq(tnn_callbacks_add_progress(list, NULL), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "stream"));

    const char *es = "tnn_callbacks_add_early_stopping";
    ck_assert_int_eq(
        tnn_callbacks_add_early_stopping(NULL, TNN_MONITOR_LOSS, 0, 0.0, 0),
        TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, es);
    int bad_monitors[] = {0, 5, -1};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(
            tnn_callbacks_add_early_stopping(list, bad_monitors[i], 0, 0.0, 0),
            TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, es);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "monitor"));
        ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, bad_monitors[i],
                                                     0.5, 0, 0.0, 0.0),
                         TNN_E_INVALID);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "monitor"));
    }
    ck_assert_int_eq(
        tnn_callbacks_add_early_stopping(list, TNN_MONITOR_LOSS, -1, 0.0, 0),
        TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "patience"));
    double bad_deltas[] = {-0.1, NAN, -INFINITY};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tnn_callbacks_add_early_stopping(
                             list, TNN_MONITOR_LOSS, 0, bad_deltas[i], 0),
                         TNN_E_INVALID);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "min_delta"));
        ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS,
                                                     0.5, 0, bad_deltas[i],
                                                     0.0),
                         TNN_E_INVALID);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "min_delta"));
    }
    ck_assert_int_eq(
        tnn_callbacks_add_early_stopping(list, TNN_MONITOR_LOSS, 0, 0.0, 2),
        TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "restore_best"));
    ck_assert_int_eq(tnn_callbacks_add_early_stopping(
                         list, TNN_MONITOR_VAL_ACCURACY, 3, INFINITY, 1),
                     TNN_OK);

    const char *rl = "tnn_callbacks_add_reduce_lr";
    ck_assert_int_eq(
        tnn_callbacks_add_reduce_lr(NULL, TNN_MONITOR_LOSS, 0.5, 0, 0.0, 0.0),
        TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, rl);
    double bad_factors[] = {0.0, 1.0, -0.5, 1.5, NAN, INFINITY};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS,
                                                     bad_factors[i], 0, 0.0,
                                                     0.0),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, rl);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "factor"));
    }
    ck_assert_int_eq(
        tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS, 0.5, -1, 0.0, 0.0),
        TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "patience"));
    double bad_floors[] = {-1e-9, NAN, -INFINITY};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS,
                                                     0.5, 0, 0.0,
                                                     bad_floors[i]),
                         TNN_E_INVALID);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "min_lr"));
    }
    ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_VAL_LOSS,
                                                 0.1, 0, 0.0, 0.0),
                     TNN_OK);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    tnn_callbacks_free(list);
}
END_TEST

/* tnn_callbacks_run() without a progress or a list records the misuse and
 * stops the fit. */
static int run_without_list(const tnn_progress *p, void *user)
{
    int *calls = user;
    ++*calls;
    tnn_clear_error();
    ck_assert_int_eq(tnn_callbacks_run(p, NULL), 1);
    assert_failed_with(TNN_E_INVALID, "tnn_callbacks_run");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "list"));
    return 0;
}

START_TEST(run_refuses_null)
{
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_run(NULL, list), 1);
    assert_failed_with(TNN_E_INVALID, "tnn_callbacks_run");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "progress"));
    ck_assert_int_eq(tnn_callbacks_run(NULL, NULL), 1);
    tnn_callbacks_free(list);

    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(1.0f);
    int calls = 0;
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 1, 1, 0, run_without_list, &calls),
        TNN_OK);
    ck_assert_int_eq(calls, 2);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Every callback sees every event, in the order added, also the event at
 * which one of them stops training. */
struct order_log {
    char seen[64];
    int n;
};

struct tagged {
    struct order_log *log;
    char tag;
    int stop_at_epoch;
};

static int tagged_cb(const tnn_progress *p, void *user)
{
    struct tagged *t = user;
    if (tnn_progress_event(p) != TNN_EVENT_EPOCH_END)
        return 0;
    ck_assert_int_lt(t->log->n, 63);
    t->log->seen[t->log->n++] = t->tag;
    return tnn_progress_epoch(p) == t->stop_at_epoch;
}

START_TEST(every_callback_sees_every_event)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(1.0f);
    tnn_optim_set_lr(tnn_model_optim(m), 0.5f);
    struct order_log log = {{0}, 0};
    struct tagged a = {&log, 'a', -1}, b = {&log, 'b', 1}, c = {&log, 'c', 2};
    struct counter count = {0};
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add(list, tagged_cb, &a), TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, tagged_cb, &b), TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, tagged_cb, &c), TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, count_cb, &count), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 5, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    /* b stops after epoch 1; c and the counter still see that epoch's end. */
    ck_assert_str_eq(log.seen, "abcabc");
    ck_assert_int_eq(count.epochs, 2);
    ck_assert_int_eq(count.batches, 2);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- the progress printer
 * ---------------------------------------------------
 */

/* The text with each line's seconds field ("1.2s", the third) written
 * as "#s", after checking its form. */
static void mask_seconds(const char *text, char *out, size_t size)
{
    size_t o = 0;
    while (*text) {
        const char *end = strchr(text, '\n');
        ck_assert_ptr_nonnull(end);
        const char *first = strstr(text, " - ");
        ck_assert_ptr_nonnull(first);
        const char *second = strstr(first + 3, " - ");
        ck_assert_ptr_nonnull(second);
        const char *field = second + 3, *after = strstr(field, "s - ");
        ck_assert_ptr_nonnull(after);
        ck_assert(after < end);
        const char *dot = field;
        while (*dot >= '0' && *dot <= '9')
            dot++;
        ck_assert_msg(dot > field && dot[0] == '.' && dot[1] >= '0' &&
                          dot[1] <= '9' && dot + 2 == after,
                      "bad seconds field in \"%.*s\"", (int)(end - text),
                      text);
        int n = snprintf(out + o, size - o, "%.*s#%.*s", (int)(field - text),
                         text, (int)(end + 1 - after), after);
        ck_assert(n > 0 && (size_t)n < size - o);
        o += (size_t)n;
        text = end + 1;
    }
    out[o] = '\0';
}

/* Fit with a progress printer into memory; the printed text, masked. */
static void printed_fit(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                        const tnn_tensor *xv, const tnn_tensor *yv, int epochs,
                        size_t batch, char *masked, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *stream = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(stream);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_progress(list, stream), TNN_OK);
    ck_assert_int_eq(tnn_model_fit(m, x, y, xv, yv, epochs, batch, 0,
                                   tnn_callbacks_run, list),
                     TNN_OK);
    tnn_callbacks_free(list);
    ck_assert_int_eq(fclose(stream), 0);
    mask_seconds(text, masked, size);
    free(text);
}

/* Two rows (input 3, target 0) for the regressor, batches of one. */
static void two_rows(tnn_tensor **x, tnn_tensor **y)
{
    *x = tnn_tensor_new_2d(2, 1);
    *y = tnn_tensor_new_2d(2, 1);
    tnn_tensor_fill(*x, 3.0f);
}

START_TEST(progress_regression_lines)
{
    /* b starts at 2 and halves at each step (lr 0.5), two steps an epoch:
     * epoch 1 losses 2 and 0.5, mean 1.25, then b = 0.5 and the
     * validation loss 0.125; epoch 2: 0.125, 0.03125 -> 0.078125, val
     * 0.0078125; epoch 3: 0.0078125, 0.001953125 -> 0.0048828125, val
     * 0.00048828125. */
    tnn_tensor *x, *y, *xv, *yv;
    two_rows(&x, &y);
    regressor_data(&xv, &yv);
    char masked[1024];

    tnn_model *m = regressor(2.0f);
    tnn_optim_set_lr(tnn_model_optim(m), 0.5f);
    printed_fit(m, x, y, NULL, NULL, 3, 1, masked, sizeof masked);
    ck_assert_str_eq(masked, "Epoch 1/3 - 2/2 - #s - loss: 1.2500\n"
                             "Epoch 2/3 - 2/2 - #s - loss: 0.0781\n"
                             "Epoch 3/3 - 2/2 - #s - loss: 0.0049\n");
    tnn_model_free(m);

    m = regressor(2.0f);
    tnn_optim_set_lr(tnn_model_optim(m), 0.5f);
    printed_fit(m, x, y, xv, yv, 3, 1, masked, sizeof masked);
    ck_assert_str_eq(masked,
                     "Epoch 1/3 - 2/2 - #s - loss: 1.2500 - val_loss: 0.1250\n"
                     "Epoch 2/3 - 2/2 - #s - loss: 0.0781 - val_loss: 0.0078\n"
                     "Epoch 3/3 - 2/2 - #s - loss: 0.0049 - val_loss: "
                     "0.0005\n");
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(xv);
    tnn_tensor_free(yv);
}
END_TEST

START_TEST(progress_classifier_lines)
{
    /* A frozen classifier with logits (0, 1) on every row: loss
     * log(1 + e) - 2/3 = 0.64659..., accuracy 2/3, the same each epoch. */
    tnn_tensor *x, *y;
    classifier_data(&x, &y);
    tnn_model *m = classifier(1.0f);
    ck_assert_int_eq(tnn_layer_set_trainable(tnn_model_layer(m, 0), 0),
                     TNN_OK);
    char masked[1024];
    printed_fit(m, x, y, x, y, 2, 3, masked, sizeof masked);
    ck_assert_str_eq(masked, "Epoch 1/2 - 1/1 - #s - loss: 0.6466 - "
                             "accuracy: 0.6667 - val_loss: 0.6466 - "
                             "val_accuracy: 0.6667\n"
                             "Epoch 2/2 - 1/1 - #s - loss: 0.6466 - "
                             "accuracy: 0.6667 - val_loss: 0.6466 - "
                             "val_accuracy: 0.6667\n");
    printed_fit(m, x, y, NULL, NULL, 1, 2, masked, sizeof masked);
    ck_assert_str_eq(masked, "Epoch 1/1 - 2/2 - #s - loss: 0.6466 - "
                             "accuracy: 0.6667\n");
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* A stream that cannot be written is recorded as TNN_E_IO; training goes
 * on. */
START_TEST(progress_write_failure)
{
    FILE *stream = fopen("/dev/null", "r");
    ck_assert_ptr_nonnull(stream);
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(1.0f);
    tnn_optim_set_lr(tnn_model_optim(m), 0.5f);
    struct counter count = {0};
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_progress(list, stream), TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, count_cb, &count), TNN_OK);
    tnn_clear_error();
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 3, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(count.epochs, 3);
    assert_failed_with(TNN_E_IO, "tnn_callbacks_run");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "progress"));
    tnn_callbacks_free(list);
    fclose(stream);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- early stopping
 * ---------------------------------------------------------
 */

/* A fit of the steered model with early stopping before the steer: the
 * steer's record in *s. */
static void early_fit(struct steer *s, bool is_classifier, const double *d,
                      int n, int monitor, int patience, double min_delta,
                      int restore_best, bool validation, int epochs,
                      tnn_model **out, tnn_callbacks **list_out)
{
    tnn_tensor *x, *y;
    if (is_classifier)
        classifier_data(&x, &y);
    else
        regressor_data(&x, &y);
    tnn_model *m = is_classifier ? classifier(0.0f) : regressor(0.0f);
    steer_start(s, m, d, n, is_classifier);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_early_stopping(list, monitor, patience,
                                                      min_delta, restore_best),
                     TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, steer_cb, s), TNN_OK);
    ck_assert_int_eq(tnn_model_fit(m, x, y, validation ? x : NULL,
                                   validation ? y : NULL, epochs,
                                   tnn_tensor_dim(x, 0), 0, tnn_callbacks_run,
                                   list),
                     TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    *out = m;
    *list_out = list;
}

START_TEST(early_stopping_patience)
{
    /* Losses b^2/2 at each epoch: 8, 2, 2, 0.5, 0.5, 0.5. Patience 2:
     * epoch 2 is the first without improvement, 3 improves, 4 and 5 do
     * not: stop after epoch 5. The best epoch is 3, after which b was
     * -1; b ends at 0.5. */
    static const double d[] = {4, 2, -2, 1, -1, 1, 0.5, -0.5, 0.5, -0.5, 0.5};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    for (int restore = 0; restore <= 1; restore++) {
        early_fit(&s, false, d, 11, TNN_MONITOR_LOSS, 2, 0.0, restore, false,
                  10, &m, &list);
        ck_assert_int_eq(s.epoch_ends, 6);
        ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 5);
        for (int e = 0; e < 6; e++)
            ck_assert_double_eq(s.loss[e], d[e] * d[e] / 2);
        ck_assert_float_eq(s.b[3], -1.0f);
        ck_assert_float_eq(s.b[5], 0.5f);
        if (restore) {
            assert_restored(&s, m, 3);
            ck_assert_float_ne(s.running_var[3], s.running_var[5]);
        } else {
            assert_restored(&s, m, 5);
        }
        tnn_callbacks_free(list);
        tnn_model_free(m);
    }
}
END_TEST

START_TEST(early_stopping_patience_zero)
{
    /* Losses 8, 2, 2: patience 0 (and 1, the same in Keras) stops at the
     * first epoch without improvement, 2; the best is epoch 1 (b = -2). */
    static const double d[] = {4, 2, -2, 1, 0.5, 0.25};
    for (int patience = 0; patience <= 1; patience++) {
        struct steer s;
        tnn_model *m;
        tnn_callbacks *list;
        early_fit(&s, false, d, 6, TNN_MONITOR_LOSS, patience, 0.0, 1, false,
                  5, &m, &list);
        ck_assert_int_eq(s.epoch_ends, 3);
        ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 2);
        ck_assert_float_eq(s.b[1], -2.0f);
        ck_assert_float_eq(s.b[2], 1.0f);
        assert_restored(&s, m, 1);
        tnn_callbacks_free(list);
        tnn_model_free(m);
    }
}
END_TEST

START_TEST(early_stopping_min_delta)
{
    /* min_delta 0.25, losses 2, 1.7578, 1.5313, 1.4238, 1.3203: epoch 1
     * falls by 0.24 only (no improvement), epoch 2 by 0.47 below the best,
     * 2 (an improvement, although only 0.23 below epoch 1), epochs 3 and 4
     * by 0.11 and 0.21 below it (no): patience 2 stops after epoch 4, the
     * best being epoch 2 (b = 1.6875 after it). */
    static const double d[] = {2, 1.875, 1.75, 1.6875, 1.625, 1.5, 1};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    early_fit(&s, false, d, 7, TNN_MONITOR_LOSS, 2, 0.25, 1, false, 6, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 5);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 4);
    for (int e = 0; e < 5; e++)
        ck_assert_double_eq_tol(s.loss[e], d[e] * d[e] / 2, 1e-5);
    assert_restored(&s, m, 2);
    ck_assert_float_eq_tol(s.b[2], 1.6875f, 1e-5f);
    tnn_callbacks_free(list);
    tnn_model_free(m);
}
END_TEST

START_TEST(early_stopping_restores_at_the_last_epoch)
{
    /* Losses 8, 2, 0.5, 0.5: no stop with patience 5, but the best epoch,
     * 2 (b = -1 after it), is put back when the fit ends. */
    static const double d[] = {4, 2, 1, -1, 0.5};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    early_fit(&s, false, d, 5, TNN_MONITOR_LOSS, 5, 0.0, 1, false, 4, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    ck_assert_float_eq(s.b[3], 0.5f);
    assert_restored(&s, m, 2);
    ck_assert_float_eq(bias(m)[0], -1.0f);
    tnn_callbacks_free(list);
    tnn_model_free(m);
}
END_TEST

START_TEST(early_stopping_val_loss)
{
    /* Validation losses (b after each epoch)^2 / 2: 2, 0.5, 0.78, 0.63:
     * patience 2 stops after epoch 3; the best is epoch 1 (b = 1). */
    static const double d[] = {4, 2, 1, -1.25, 1.125, 0.5, 0.25};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    early_fit(&s, false, d, 7, TNN_MONITOR_VAL_LOSS, 2, 0.0, 1, true, 6, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 3);
    for (int e = 0; e < 4; e++)
        ck_assert_double_eq_tol(s.val_loss[e], d[e + 1] * d[e + 1] / 2, 1e-5);
    assert_restored(&s, m, 1);
    ck_assert_float_eq(bias(m)[0], 1.0f);
    tnn_callbacks_free(list);
    tnn_model_free(m);
}
END_TEST

START_TEST(early_stopping_accuracy)
{
    /* Training accuracy at each epoch (delta before its step): 1/3, 2/3,
     * 2/3, 2/3: equal is no improvement, so patience 2 stops after epoch
     * 3; the best epoch is 1, after which delta was 0.5. */
    static const double d[] = {-1, 1, 0.5, 1, 0.5, 1, 0.5};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    early_fit(&s, true, d, 7, TNN_MONITOR_ACCURACY, 2, 0.0, 1, false, 6, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 3);
    ck_assert_float_eq_tol(s.b[1], 0.5f, 1e-5f);
    assert_restored(&s, m, 1);
    tnn_callbacks_free(list);
    tnn_model_free(m);

    /* min_delta 0.5: the rise from 1/3 to 2/3 is no improvement, and
     * patience 0 stops after epoch 1. */
    early_fit(&s, true, d, 7, TNN_MONITOR_ACCURACY, 0, 0.5, 1, false, 6, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 2);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 1);
    assert_restored(&s, m, 0);
    tnn_callbacks_free(list);
    tnn_model_free(m);
}
END_TEST

START_TEST(early_stopping_val_accuracy)
{
    /* Validation accuracy (delta after each epoch's step): 1/3, 2/3, 1/3,
     * 1/3: a fall is no improvement; patience 2 stops after epoch 3 and
     * the best, epoch 1 (delta 1), comes back. */
    static const double d[] = {1, -1, 1, -1, -0.5, 1, 0.5};
    struct steer s;
    tnn_model *m;
    tnn_callbacks *list;
    early_fit(&s, true, d, 7, TNN_MONITOR_VAL_ACCURACY, 2, 0.0, 1, true, 6, &m,
              &list);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 3);
    ck_assert_float_eq_tol(s.b[1], 1.0f, 1e-5f);
    ck_assert_float_eq_tol(s.b[3], -0.5f, 1e-5f);
    assert_restored(&s, m, 1);
    tnn_callbacks_free(list);
    tnn_model_free(m);
}
END_TEST

/* Another callback stops training, at an epoch's end or after a batch:
 * early stopping still puts the best epoch back. */
START_TEST(early_stopping_restores_when_another_stops)
{
    /* Losses 8, 2, 0.5, 1.125, 0.78: the best is epoch 2 (b = -1.5). */
    static const double d[] = {4, 2, 1, -1.5, 1.25, 0.5, 0.25};
    for (int at_batch = 0; at_batch <= 1; at_batch++) {
        tnn_tensor *x, *y;
        regressor_data(&x, &y);
        tnn_model *m = regressor(0.0f);
        struct steer s;
        steer_start(&s, m, d, 7, false);
        if (at_batch)
            s.stop_batch_epoch = 4;
        else
            s.stop_epoch = 3;
        struct counter count = {0};
        tnn_callbacks *list = tnn_callbacks_new();
        ck_assert_int_eq(tnn_callbacks_add_early_stopping(
                             list, TNN_MONITOR_LOSS, 10, 0.0, 1),
                         TNN_OK);
        ck_assert_int_eq(tnn_callbacks_add(list, steer_cb, &s), TNN_OK);
        ck_assert_int_eq(tnn_callbacks_add(list, count_cb, &count), TNN_OK);
        ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 6, 1, 0,
                                       tnn_callbacks_run, list),
                         TNN_OK);
        ck_assert_int_eq(s.epoch_ends, 4);
        ck_assert_int_eq(count.epochs, 4);
        ck_assert_int_eq(count.batches, at_batch ? 5 : 4);
        ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
        ck_assert_float_eq(s.b[2], -1.5f);
        assert_restored(&s, m, 2);
        tnn_callbacks_free(list);
        tnn_model_free(m);
        tnn_tensor_free(x);
        tnn_tensor_free(y);
    }
}
END_TEST

/* A list kept across fits starts afresh at each: another fit of the same
 * model, and a fit of another model that has made as many fits. */
START_TEST(callbacks_start_afresh_each_fit)
{
    static const double plateau[] = {4, 2, -2, 1, 0.5, 0.25};
    static const double falling[] = {4, 2, 1, 0.5, 0.25, 0.125};
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *a = regressor(0.0f), *b = regressor(0.0f);
    struct steer s;
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(
        tnn_callbacks_add_early_stopping(list, TNN_MONITOR_LOSS, 1, 0.0, 1),
        TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, steer_cb, &s), TNN_OK);

    /* a's first fit: losses 8, 2, 2 stop after epoch 2 with best 2. */
    steer_start(&s, a, plateau, 6, false);
    ck_assert_int_eq(
        tnn_model_fit(a, x, y, NULL, NULL, 5, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(s.epoch_ends, 3);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 2);

    /* b's first fit (the same fit count, 1): losses 8, 2, 0.5, 0.125 all
     * improve, although 8 and 2 are not below a's best. */
    steer_start(&s, b, falling, 6, false);
    ck_assert_int_eq(
        tnn_model_fit(b, x, y, NULL, NULL, 4, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    ck_assert_float_eq(bias(b)[0], 0.25f); /* the last epoch is the best */

    /* a's second fit, the same. */
    steer_start(&s, a, falling, 6, false);
    ck_assert_int_eq(
        tnn_model_fit(a, x, y, NULL, NULL, 4, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(s.epoch_ends, 4);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    ck_assert_float_eq(bias(a)[0], 0.25f);

    /* And a's third, on the plateau again: stopped as the first. */
    steer_start(&s, a, plateau, 6, false);
    ck_assert_int_eq(
        tnn_model_fit(a, x, y, NULL, NULL, 5, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(s.epoch_ends, 3);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), 2);
    assert_restored(&s, a, 1);

    tnn_callbacks_free(list);
    tnn_model_free(a);
    tnn_model_free(b);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- values that do not exist -------------------------------------------
 */

/* A monitored value that is NaN at the fit's first epoch end (an accuracy
 * under MSE, validation values without validation data) stops training
 * with TNN_E_STATE recorded; the next fit starts afresh. */
START_TEST(missing_monitor_is_reported)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    static const struct {
        int monitor;
        bool validation;
        bool early;
    } cases[] = {
        {TNN_MONITOR_ACCURACY, true, true},
        {TNN_MONITOR_VAL_LOSS, false, true},
        {TNN_MONITOR_VAL_ACCURACY, true, true},
        {TNN_MONITOR_VAL_ACCURACY, false, false},
        {TNN_MONITOR_ACCURACY, false, false},
        {TNN_MONITOR_VAL_LOSS, false, false},
    };
    static const char *names[] = {"", "loss", "accuracy", "val_loss",
                                  "val_accuracy"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tnn_model *m = regressor(1.0f);
        ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), 0.5f), TNN_OK);
        struct counter count = {0};
        tnn_callbacks *list = tnn_callbacks_new();
        int monitor = cases[i].monitor;
        if (cases[i].early)
            ck_assert_int_eq(
                tnn_callbacks_add_early_stopping(list, monitor, 3, 0.0, 1),
                TNN_OK);
        else
            ck_assert_int_eq(
                tnn_callbacks_add_reduce_lr(list, monitor, 0.5, 0, 0.0, 0.0),
                TNN_OK);
        ck_assert_int_eq(tnn_callbacks_add(list, count_cb, &count), TNN_OK);
        tnn_clear_error();
        const tnn_tensor *xv = cases[i].validation ? x : NULL;
        const tnn_tensor *yv = cases[i].validation ? y : NULL;
        ck_assert_int_eq(
            tnn_model_fit(m, x, y, xv, yv, 5, 1, 0, tnn_callbacks_run, list),
            TNN_OK);
        /* Stopped at the first epoch end, which the others still saw. */
        ck_assert_int_eq(count.epochs, 1);
        assert_failed_with(TNN_E_STATE, "tnn_callbacks_run");
        ck_assert_msg(strstr(tnn_last_error(), names[monitor]),
                      "\"%s\" does not name %s", tnn_last_error(),
                      names[monitor]);
        ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
        /* One step taken (b 1 -> 0.5), nothing restored, the rate kept. */
        ck_assert_float_eq(bias(m)[0], 0.5f);
        ck_assert_float_eq(tnn_optim_lr(tnn_model_optim(m)), 0.5f);

        /* The same list in the next fit starts afresh, and reports the
         * missing value again. */
        count.epochs = 0;
        tnn_clear_error();
        ck_assert_int_eq(
            tnn_model_fit(m, x, y, xv, yv, 5, 1, 0, tnn_callbacks_run, list),
            TNN_OK);
        ck_assert_int_eq(count.epochs, 1);
        assert_failed_with(TNN_E_STATE, "tnn_callbacks_run");
        ck_assert_float_eq(bias(m)[0], 0.25f);
        tnn_callbacks_free(list);
        tnn_model_free(m);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

static int go_on(const tnn_progress *p, void *user)
{
    (void)p;
    (void)user;
    return 0;
}

/* A list that failed in one fit starts afresh in the next. */
START_TEST(failed_callback_recovers_next_fit)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(1.0f);
    tnn_optim_set_lr(tnn_model_optim(m), 0.5f);
    struct counter count = {0};
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_early_stopping(
                         list, TNN_MONITOR_VAL_LOSS, 5, 0.0, 1),
                     TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, go_on, NULL), TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, count_cb, &count), TNN_OK);
    tnn_clear_error();
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 4, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(count.epochs, 1);
    assert_failed_with(TNN_E_STATE, "tnn_callbacks_run");
    /* Now with validation data: the whole fit, no error. */
    tnn_clear_error();
    count.epochs = 0;
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, x, y, 4, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(count.epochs, 4);
    ck_assert_int_eq(tnn_last_error_code(), TNN_OK);
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- reduce-lr-on-plateau ----------------------------------------------
 */

/* Records the optimizer's base rate at each epoch end. */
struct rates {
    int n;
    float lr[MAX_EPOCHS];
};

static int rate_cb(const tnn_progress *p, void *user)
{
    struct rates *r = user;
    if (tnn_progress_event(p) == TNN_EVENT_EPOCH_END && r->n < MAX_EPOCHS)
        r->lr[r->n++] = tnn_optim_lr(tnn_model_optim(tnn_progress_model(p)));
    return 0;
}

/* A regressor at b = 0 learns nothing: its loss is 0 at every epoch, a
 * plateau from epoch 1 on. */
static void plateau_rates(double factor, int patience, double min_lr,
                          int epochs, struct rates *r)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(0.0f);
    ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), 0.1f), TNN_OK);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS,
                                                 factor, patience, 0.0,
                                                 min_lr),
                     TNN_OK);
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(tnn_callbacks_add(list, rate_cb, r), TNN_OK);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, epochs, 1, 0,
                                   tnn_callbacks_run, list),
                     TNN_OK);
    ck_assert_int_eq(r->n, epochs);
    ck_assert_int_eq(tnn_callbacks_stopped_epoch(list), -1);
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}

START_TEST(reduce_lr_on_plateau)
{
    struct rates r;
    /* Patience 2: epochs 1 and 2 without improvement, halve after 2; then
     * wait two epochs again (no cooldown): after 4, after 6. */
    plateau_rates(0.5, 2, 0.0, 8, &r);
    const float two[] = {0.1f,   0.1f,   0.05f,   0.05f,
                         0.025f, 0.025f, 0.0125f, 0.0125f};
    for (int e = 0; e < 8; e++)
        ck_assert_float_eq(r.lr[e], two[e]);

    /* Patience 0, floor 0.02: 0.1, 0.05, 0.025, then 0.0125 is raised to
     * the floor, 0.02, and stays there. */
    plateau_rates(0.5, 0, 0.02, 6, &r);
    const float floored[] = {0.1f, 0.05f, 0.025f, 0.02f, 0.02f, 0.02f};
    for (int e = 0; e < 6; e++)
        ck_assert_float_eq(r.lr[e], floored[e]);

    /* A floor above the rate: nothing changes. */
    plateau_rates(0.5, 0, 1.0, 3, &r);
    for (int e = 0; e < 3; e++)
        ck_assert_float_eq(r.lr[e], 0.1f);
    plateau_rates(0.1, 0, 1e300, 3, &r);
    for (int e = 0; e < 3; e++)
        ck_assert_float_eq(r.lr[e], 0.1f);
}
END_TEST

/* Reductions on a steered sequence, the steer (after reduce-lr in the list)
 * noting whether the rate it had set was halved. */
static void steered_reductions(const double *d, int n, int patience,
                               double min_delta, int epochs,
                               const bool *expected)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(0.0f);
    struct steer s;
    steer_start(&s, m, d, n, false);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS, 0.5,
                                                 patience, min_delta, 0.0),
                     TNN_OK);
    ck_assert_int_eq(tnn_callbacks_add(list, steer_cb, &s), TNN_OK);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, epochs, 1, 0,
                                   tnn_callbacks_run, list),
                     TNN_OK);
    ck_assert_int_eq(s.epoch_ends, epochs);
    for (int e = 0; e < epochs; e++) {
        float want =
            expected[e] ? (float)((double)s.lr_set[e] * 0.5) : s.lr_set[e];
        ck_assert_msg(s.lr_seen[e] == want,
                      "epoch %d: rate %g, expected %g (%s)", e,
                      (double)s.lr_seen[e], (double)want,
                      expected[e] ? "reduced" : "kept");
    }
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}

START_TEST(reduce_lr_steered)
{
    /* Losses 8, 2, 2, 0.5, 0.5, 0.5, 0.125 with patience 1: reduced at
     * epoch 2, improved at 3, reduced at 4 and again at 5 (patience 1
     * waits one epoch), improved at 6. */
    static const double d[] = {4, 2, -2, 1, -1, 1, 0.5, 0.25};
    static const bool reduced[] = {false, false, true, false,
                                   true,  true,  false};
    steered_reductions(d, 8, 1, 0.0, 7, reduced);

    /* min_delta 0.25 on losses 2, 1.76, 1.53, 1.32, 1.125, 1.125, 1.125
     * with patience 1: the falls by less than 0.25 below the best (epochs
     * 1, 3) and the plateau (5, 6) reduce. */
    static const double slow[] = {2, 1.875, 1.75, 1.625, 1.5, -1.5, 1.5, 1};
    static const bool slow_reduced[] = {false, true, false, true,
                                        false, true, true};
    steered_reductions(slow, 8, 1, 0.25, 7, slow_reduced);

    /* Patience 2 on the first sequence: reduced only at epoch 5. */
    static const bool two[] = {false, false, false, false, false, true, false};
    steered_reductions(d, 8, 2, 0.0, 7, two);
}
END_TEST

/* A plateau's count starts afresh with each fit. */
START_TEST(reduce_lr_starts_afresh)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(0.0f);
    ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), 0.1f), TNN_OK);
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(
        tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS, 0.5, 2, 0.0, 0.0),
        TNN_OK);
    /* Two fits of two epochs: each has one epoch without improvement. */
    for (int fit = 0; fit < 3; fit++) {
        ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 1, 0,
                                       tnn_callbacks_run, list),
                         TNN_OK);
        ck_assert_float_eq(tnn_optim_lr(tnn_model_optim(m)), 0.1f);
    }
    /* One fit of three: reduced after its third epoch. */
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 3, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_float_eq(tnn_optim_lr(tnn_model_optim(m)), 0.05f);
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- what a callback may change -----------------------------------------
 */

#define ASSERT_REFUSED(call, func)                                            \
    do {                                                                      \
        tnn_clear_error();                                                    \
        ck_assert_int_eq((call), TNN_E_STATE);                                \
        assert_failed_with(TNN_E_STATE, func);                                \
        ck_assert_msg(strstr(tnn_last_error(), "training"),                   \
                      "\"%s\" does not say the model is training",            \
                      tnn_last_error());                                      \
    } while (0)

struct meddling {
    const float *rates; /* the rate for each next epoch */
    int epochs;
    float b[MAX_EPOCHS];
};

static int meddle_cb(const tnn_progress *p, void *user)
{
    struct meddling *md = user;
    if (tnn_progress_event(p) != TNN_EVENT_EPOCH_END)
        return 0;
    tnn_model *m = tnn_progress_model(p);
    tnn_optim *opt = tnn_model_optim(m);
    int e = tnn_progress_epoch(p);
    md->b[e] = bias(m)[0];
    md->epochs++;

    /* The model: layers, optimizer, loss, seed, mode, evaluation. */
    ASSERT_REFUSED(tnn_model_add(m, tnn_relu_new()), "tnn_model_add");
    tnn_optim *other = tnn_sgd_new(1.0f);
    ASSERT_REFUSED(tnn_model_set_optim(m, other), "tnn_model_set_optim");
    ASSERT_REFUSED(tnn_model_set_optim(m, NULL), "tnn_model_set_optim");
    ASSERT_REFUSED(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY),
                   "tnn_model_set_loss");
    ASSERT_REFUSED(tnn_model_set_seed(m, 7), "tnn_model_set_seed");
    ASSERT_REFUSED(tnn_model_set_mode(m, TNN_MODE_TRAIN),
                   "tnn_model_set_mode");
    ASSERT_REFUSED(tnn_model_set_check_finite(m, 1),
                   "tnn_model_set_check_finite");
    ASSERT_REFUSED(tnn_model_set_huber_delta(m, 2.0f),
                   "tnn_model_set_huber_delta");
    ASSERT_REFUSED(tnn_model_set_max_sample_values(m, 100),
                   "tnn_model_set_max_sample_values");
    tnn_tensor *x = tnn_tensor_new_2d(1, 1), *out = tnn_tensor_new_2d(1, 1);
    ASSERT_REFUSED(tnn_model_predict(m, x, out), "tnn_model_predict");
    double loss;
    ASSERT_REFUSED(tnn_model_evaluate(m, x, out, &loss, NULL),
                   "tnn_model_evaluate");
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    ck_assert_uint_eq(tnn_model_num_layers(m), 2);
    ck_assert_ptr_eq(tnn_model_optim(m), opt);
    ck_assert_float_eq(tnn_model_huber_delta(m), 1.0f);
    ck_assert_uint_eq(tnn_model_max_sample_values(m),
                      TNN_DEFAULT_MAX_SAMPLE_VALUES);
    ck_assert_int_eq(tnn_model_mode(m), TNN_MODE_EVAL);

    /* The optimizer's settings other than the rate. */
    ASSERT_REFUSED(tnn_optim_set_weight_decay(opt, 0.1f),
                   "tnn_optim_set_weight_decay");
    ASSERT_REFUSED(tnn_optim_set_decay_all(opt, 1), "tnn_optim_set_decay_all");
    ASSERT_REFUSED(tnn_optim_set_clip_norm(opt, 1.0f),
                   "tnn_optim_set_clip_norm");
    ASSERT_REFUSED(tnn_optim_set_clip_value(opt, 1.0f),
                   "tnn_optim_set_clip_value");
    ASSERT_REFUSED(tnn_sgd_set_momentum(opt, 0.9f), "tnn_sgd_set_momentum");
    ASSERT_REFUSED(tnn_sgd_set_nesterov(opt, 1), "tnn_sgd_set_nesterov");
    /* Refused as training before being refused as the wrong kind. */
    ASSERT_REFUSED(tnn_adam_set_betas(opt, 0.5f, 0.5f), "tnn_adam_set_betas");
    ck_assert_float_eq(tnn_optim_weight_decay(opt), 0.0f);
    ck_assert_float_eq(tnn_optim_clip_norm(opt), 0.0f);
    ck_assert_float_eq(tnn_optim_clip_value(opt), 0.0f);
    /* A value refused anyway is still refused as training. */
    ASSERT_REFUSED(tnn_optim_set_weight_decay(opt, -1.0f),
                   "tnn_optim_set_weight_decay");

    /* The rate and its schedules are allowed. */
    ck_assert_int_eq(tnn_optim_set_step_schedule(opt, 1000, 1.0f), TNN_OK);
    ck_assert_int_eq(tnn_optim_clear_schedule(opt), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(opt, 1000, 0.0f), TNN_OK);
    ck_assert_int_eq(tnn_optim_clear_schedule(opt), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_lr(opt, md->rates[e]), TNN_OK);
    return 0;
}

START_TEST(callback_may_change_only_the_rate)
{
    /* b = 4 with lr 0.5: b = 2 after epoch 0; the callback sets 0.25:
     * b = 2 - 0.25 * 2 = 1.5 after epoch 1; then 0.75: b = 1.5 - 1.125 =
     * 0.375 after epoch 2. */
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *m = regressor(4.0f);
    tnn_optim *opt = tnn_model_optim(m);
    ck_assert_int_eq(tnn_optim_set_lr(opt, 0.5f), TNN_OK);
    static const float rates[] = {0.25f, 0.75f, 0.125f};
    struct meddling md = {rates, 0, {0}};
    tnn_callbacks *list = tnn_callbacks_new();
    ck_assert_int_eq(tnn_callbacks_add(list, meddle_cb, &md), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 3, 1, 0, tnn_callbacks_run, list),
        TNN_OK);
    ck_assert_int_eq(md.epochs, 3);
    ck_assert_float_eq(md.b[0], 2.0f);
    ck_assert_float_eq(md.b[1], 1.5f);
    ck_assert_float_eq(md.b[2], 0.375f);
    ck_assert_float_eq(bias(m)[0], 0.375f);
    ck_assert_float_eq(tnn_optim_lr(opt), 0.125f);
    ck_assert_uint_eq(tnn_model_num_layers(m), 2);
    ck_assert_ptr_eq(tnn_model_optim(m), opt);

    /* After the fit every setter works again. */
    ck_assert_int_eq(tnn_optim_set_weight_decay(opt, 0.1f), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_clip_norm(opt, 1.0f), TNN_OK);
    ck_assert_int_eq(tnn_sgd_set_momentum(opt, 0.9f), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MAE), TNN_OK);
    /* And an optimizer no model owns is never busy. */
    tnn_optim *alone = tnn_adam_new(0.1f);
    ck_assert_int_eq(tnn_adam_set_betas(alone, 0.5f, 0.5f), TNN_OK);
    tnn_optim_free(alone);
    tnn_callbacks_free(list);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

static int adam_meddle_cb(const tnn_progress *p, void *user)
{
    int *calls = user;
    tnn_optim *opt = tnn_model_optim(tnn_progress_model(p));
    ++*calls;
    ASSERT_REFUSED(tnn_adam_set_betas(opt, 0.5f, 0.5f), "tnn_adam_set_betas");
    ASSERT_REFUSED(tnn_adam_set_eps(opt, 1e-3f), "tnn_adam_set_eps");
    ASSERT_REFUSED(tnn_adam_set_decoupled(opt, 1), "tnn_adam_set_decoupled");
    ASSERT_REFUSED(tnn_sgd_set_momentum(opt, 0.5f), "tnn_sgd_set_momentum");
    ck_assert_int_eq(tnn_optim_set_lr(opt, 0.01f), TNN_OK);
    return 0;
}

/* Adam's settings are refused too; the trajectory is the one of an Adam
 * whose settings nothing changed. */
START_TEST(callback_cannot_change_adam)
{
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    tnn_model *a = regressor(4.0f), *b = regressor(4.0f);
    ck_assert_int_eq(tnn_model_set_optim(a, tnn_adam_new(0.01f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(b, tnn_adam_new(0.01f)), TNN_OK);
    int calls = 0;
    ck_assert_int_eq(
        tnn_model_fit(a, x, y, NULL, NULL, 3, 1, 0, adam_meddle_cb, &calls),
        TNN_OK);
    ck_assert_int_eq(calls, 6);
    ck_assert_int_eq(tnn_model_fit(b, x, y, NULL, NULL, 3, 1, 0, NULL, NULL),
                     TNN_OK);
    ck_assert_float_eq(bias(a)[0], bias(b)[0]);
    tnn_model_free(a);
    tnn_model_free(b);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------
 */

/* Make the regressor under a failing allocator: TNN_OK or the failure. */
static int build_regressor(tnn_model **out)
{
    *out = NULL;
    tnn_model *m = tnn_model_new(1);
    if (!m)
        return tnn_last_error_code();
    tnn_layer *bn = tnn_batchnorm_new(1);
    int rc = bn ? tnn_model_add(m, bn) : tnn_last_error_code();
    tnn_layer *dense = rc == TNN_OK ? tnn_dense_new(1, 1) : NULL;
    if (rc == TNN_OK && !dense)
        rc = tnn_last_error_code();
    if (rc == TNN_OK)
        rc = tnn_dense_set_init(dense, TNN_INIT_CONSTANT, 0.0f);
    if (rc == TNN_OK) {
        rc = tnn_model_add(m, dense);
        dense = NULL;
    }
    tnn_layer_free(dense);
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, tnn_sgd_new(0.5f));
    if (rc == TNN_OK && !tnn_model_optim(m))
        rc = TNN_E_NOMEM;
    if (rc == TNN_OK)
        bias(m)[0] = 2.0f;
    *out = m;
    return rc;
}

/* Fail every allocation in turn while making a list with every kind of
 * callback and training with it: each failure is reported (by a call, or
 * by the list in tnn_last_error() after a fit that it stopped), and
 * nothing leaks. */
START_TEST(allocation_failure_sweep)
{
    struct counting_allocator a;
    tnn_tensor *x, *y;
    regressor_data(&x, &y);
    FILE *sink = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(sink);
    struct counter count;
    int reported_by_list = 0;
    for (long n = 1;; n++) {
        counting_install(&a, n);
        tnn_clear_error();
        memset(&count, 0, sizeof count);
        tnn_callbacks *list = tnn_callbacks_new();
        int rc = list ? TNN_OK : tnn_last_error_code();
        if (rc == TNN_OK)
            rc = tnn_callbacks_add(list, count_cb, &count);
        if (rc == TNN_OK)
            rc = tnn_callbacks_add_progress(list, sink);
        if (rc == TNN_OK)
            rc = tnn_callbacks_add_early_stopping(list, TNN_MONITOR_VAL_LOSS,
                                                  1, 0.0, 1);
        if (rc == TNN_OK)
            rc = tnn_callbacks_add_reduce_lr(list, TNN_MONITOR_LOSS, 0.5, 1,
                                             0.0, 0.0);
        if (rc == TNN_OK)
            rc = tnn_callbacks_add_early_stopping(list, TNN_MONITOR_LOSS, 2,
                                                  0.0, 1);
        tnn_model *m = NULL;
        if (rc == TNN_OK)
            rc = build_regressor(&m);
        if (rc == TNN_OK) {
            rc =
                tnn_model_fit(m, x, y, x, y, 3, 1, 0, tnn_callbacks_run, list);
            if (rc == TNN_OK && tnn_last_error_code() != TNN_OK) {
                rc = tnn_last_error_code();
                reported_by_list++;
                ck_assert_int_eq(count.epochs, 0); /* stopped at once */
            }
        }
        tnn_model_free(m);
        tnn_callbacks_free(list);
        long calls = a.calls;
        ck_assert_int_eq(a.live, 0);
        counting_remove();
        if (calls < n) { /* every allocation succeeded */
            ck_assert_int_eq(rc, TNN_OK);
            ck_assert_int_eq(count.epochs, 3);
            break;
        }
        ck_assert_msg(rc == TNN_E_NOMEM, "failing allocation %ld gave %d (%s)",
                      n, rc, tnn_last_error());
    }
    /* The two snapshots of early stopping were among them. */
    ck_assert_int_eq(reported_by_list, 2);
    fclose(sink);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

Suite *callbacks_suite(void)
{
    Suite *s = suite_create("callbacks");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, list_life_and_arguments);
    tcase_add_test(tc, run_refuses_null);
    tcase_add_test(tc, every_callback_sees_every_event);
    tcase_add_test(tc, progress_regression_lines);
    tcase_add_test(tc, progress_classifier_lines);
    tcase_add_test(tc, progress_write_failure);
    tcase_add_test(tc, early_stopping_patience);
    tcase_add_test(tc, early_stopping_patience_zero);
    tcase_add_test(tc, early_stopping_min_delta);
    tcase_add_test(tc, early_stopping_restores_at_the_last_epoch);
    tcase_add_test(tc, early_stopping_val_loss);
    tcase_add_test(tc, early_stopping_accuracy);
    tcase_add_test(tc, early_stopping_val_accuracy);
    tcase_add_test(tc, early_stopping_restores_when_another_stops);
    tcase_add_test(tc, callbacks_start_afresh_each_fit);
    tcase_add_test(tc, missing_monitor_is_reported);
    tcase_add_test(tc, failed_callback_recovers_next_fit);
    tcase_add_test(tc, reduce_lr_on_plateau);
    tcase_add_test(tc, reduce_lr_steered);
    tcase_add_test(tc, reduce_lr_starts_afresh);
    tcase_add_test(tc, callback_may_change_only_the_rate);
    tcase_add_test(tc, callback_cannot_change_adam);
    tcase_add_test(tc, allocation_failure_sweep);
    suite_add_tcase(s, tc);
    return s;
}
