/*
 * Lists of tnn_model_fit() callbacks: the caller's own and three
 * ready-made ones (a progress printer, early stopping, reducing the
 * learning rate on a plateau), run in the order added.
 *
 * A callback cannot return a status through tnn_model_fit(), which ends
 * with TNN_OK whenever a callback stops it. So a ready-made callback that
 * fails (no memory for its snapshot, a monitored value that does not
 * exist) records the failure as every function does, in tnn_last_error(),
 * and stops training; a printer that cannot write records it and lets
 * training go on.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The name failures inside a fit are recorded under: the function the
 * caller gave tnn_model_fit(). */
#define RUN_FUNC "tnn_callbacks_run"

enum kind { USER, PROGRESS, EARLY_STOPPING, REDUCE_LR };

/* A monitored value and the epochs since it last improved. */
struct watch {
    int monitor;
    int patience;
    double min_delta;
    /* For the current fit: */
    bool seen_epoch; /* an epoch end was judged */
    bool have_best;
    double best;
    int wait; /* epoch ends in a row without improvement */
};

struct early_stopping {
    struct watch watch;
    bool restore_best;
    int best_epoch;    /* -1: none yet */
    int stopped_epoch; /* -1: did not stop the fit */
    /* The parameters and saved state of every layer at the best epoch
     * end, in the order kept_tensor() gives them; sized when a fit
     * begins, kept for the next one. */
    float *snapshot;
    size_t snapshot_cap;
    size_t snapshot_len;
};

struct reduce_lr {
    struct watch watch;
    double factor;
    double min_lr;
};

struct entry {
    enum kind kind;
    /* The list's fit serial this entry last saw: it starts afresh when
     * the list's moves on. */
    unsigned long serial;
    /* Failed in this fit (recorded once): asks to stop at every event. */
    bool failed;
    union {
        struct {
            tnn_fit_callback fn;
            void *user;
        } user;
        struct {
            FILE *stream;
            bool write_failed; /* recorded in this fit */
        } progress;
        struct early_stopping early;
        struct reduce_lr reduce;
    } u;
};

struct tnn_callbacks {
    struct entry *entries;
    size_t count;
    size_t cap;
    /* Counts the fits the list has seen (0: none yet). A new fit is one
     * of another model, or another of the model's fit calls, or an event
     * that does not come after the last one seen (the first event of any
     * fit comes after none). */
    unsigned long serial;
    const tnn_model *model;
    unsigned long model_fit;
    int last_epoch;
    int last_phase; /* 0 after a batch, 1 at the epoch's end */
    size_t last_batch;
};

/* ---- the list ------------------------------------------------------------
 */

tnn_callbacks *tnn_callbacks_new(void)
{
    tnn_callbacks *list = tnn__calloc(1, sizeof *list);
    if (!list)
        tnn__fail(TNN_E_NOMEM, __func__, "cannot allocate a callback list");
    return list;
}

void tnn_callbacks_free(tnn_callbacks *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        if (list->entries[i].kind == EARLY_STOPPING)
            tnn__free(list->entries[i].u.early.snapshot);
    tnn__free(list->entries);
    tnn__free(list);
}

/* A new zeroed entry of kind at the end of the list, or NULL (recorded). */
static struct entry *append(tnn_callbacks *list, const char *func,
                            enum kind kind)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 4;
        struct entry *grown = NULL;
        size_t bytes;
        if (tnn__mul_size(cap, sizeof *grown, &bytes))
            grown = tnn__realloc(list->entries, bytes);
        if (!grown) {
            tnn__fail(TNN_E_NOMEM, func,
                      "cannot grow the callback list to %zu entries", cap);
            return NULL;
        }
        list->entries = grown;
        list->cap = cap;
    }
    struct entry *e = &list->entries[list->count++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static int check_list(const char *func, const tnn_callbacks *list)
{
    if (!list)
        return tnn__fail(TNN_E_INVALID, func, "list is NULL");
    return TNN_OK;
}

int tnn_callbacks_add(tnn_callbacks *list, tnn_fit_callback fn, void *user)
{
    int rc = check_list(__func__, list);
    if (rc != TNN_OK)
        return rc;
    if (!fn)
        return tnn__fail(TNN_E_INVALID, __func__, "fn is NULL");
    struct entry *e = append(list, __func__, USER);
    if (!e)
        return TNN_E_NOMEM;
    e->u.user.fn = fn;
    e->u.user.user = user;
    return TNN_OK;
}

int tnn_callbacks_add_progress(tnn_callbacks *list, FILE *stream)
{
    int rc = check_list(__func__, list);
    if (rc != TNN_OK)
        return rc;
    if (!stream)
        return tnn__fail(TNN_E_INVALID, __func__, "stream is NULL");
    struct entry *e = append(list, __func__, PROGRESS);
    if (!e)
        return TNN_E_NOMEM;
    e->u.progress.stream = stream;
    return TNN_OK;
}

/* The arguments that early stopping and reduce-lr share. */
static int check_watch(const char *func, int monitor, int patience,
                       double min_delta)
{
    if (monitor < TNN_MONITOR_LOSS || monitor > TNN_MONITOR_VAL_ACCURACY)
        return tnn__fail(TNN_E_INVALID, func,
                         "monitor is %d; not an enum tnn_monitor value",
                         monitor);
    if (patience < 0)
        return tnn__fail(TNN_E_INVALID, func,
                         "patience is %d; it must be >= 0", patience);
    if (!(min_delta >= 0.0))
        return tnn__fail(TNN_E_INVALID, func,
                         "min_delta is %g; it must be >= 0", min_delta);
    return TNN_OK;
}

int tnn_callbacks_add_early_stopping(tnn_callbacks *list, int monitor,
                                     int patience, double min_delta,
                                     int restore_best)
{
    int rc = check_list(__func__, list);
    if (rc == TNN_OK)
        rc = check_watch(__func__, monitor, patience, min_delta);
    if (rc == TNN_OK && restore_best != 0 && restore_best != 1)
        rc = tnn__fail(TNN_E_INVALID, __func__,
                       "restore_best is %d; it must be 0 or 1", restore_best);
    if (rc != TNN_OK)
        return rc;
    struct entry *e = append(list, __func__, EARLY_STOPPING);
    if (!e)
        return TNN_E_NOMEM;
    struct early_stopping *es = &e->u.early;
    es->watch.monitor = monitor;
    es->watch.patience = patience;
    es->watch.min_delta = min_delta;
    es->restore_best = restore_best == 1;
    es->best_epoch = -1;
    es->stopped_epoch = -1;
    return TNN_OK;
}

int tnn_callbacks_add_reduce_lr(tnn_callbacks *list, int monitor,
                                double factor, int patience, double min_delta,
                                double min_lr)
{
    int rc = check_list(__func__, list);
    if (rc == TNN_OK)
        rc = check_watch(__func__, monitor, patience, min_delta);
    if (rc == TNN_OK && !(factor > 0.0 && factor < 1.0))
        rc = tnn__fail(TNN_E_INVALID, __func__,
                       "factor is %g; it must be in (0, 1)", factor);
    if (rc == TNN_OK && !(min_lr >= 0.0))
        rc = tnn__fail(TNN_E_INVALID, __func__,
                       "min_lr is %g; it must be >= 0", min_lr);
    if (rc != TNN_OK)
        return rc;
    struct entry *e = append(list, __func__, REDUCE_LR);
    if (!e)
        return TNN_E_NOMEM;
    struct reduce_lr *r = &e->u.reduce;
    r->watch.monitor = monitor;
    r->watch.patience = patience;
    r->watch.min_delta = min_delta;
    r->factor = factor;
    r->min_lr = min_lr;
    return TNN_OK;
}

int tnn_callbacks_stopped_epoch(const tnn_callbacks *list)
{
    if (!list)
        return -1;
    for (size_t i = 0; i < list->count; i++) {
        const struct entry *e = &list->entries[i];
        if (e->kind == EARLY_STOPPING && e->u.early.stopped_epoch >= 0)
            return e->u.early.stopped_epoch;
    }
    return -1;
}

/* ---- monitored values ----------------------------------------------------
 */

static double monitored(int monitor, const tnn_progress *p)
{
    switch (monitor) {
    case TNN_MONITOR_LOSS: return tnn_progress_loss(p);
    case TNN_MONITOR_ACCURACY: return tnn_progress_accuracy(p);
    case TNN_MONITOR_VAL_LOSS: return tnn_progress_val_loss(p);
    default: return tnn_progress_val_accuracy(p);
    }
}

static const char *monitor_name(int monitor)
{
    switch (monitor) {
    case TNN_MONITOR_LOSS: return "loss";
    case TNN_MONITOR_ACCURACY: return "accuracy";
    case TNN_MONITOR_VAL_LOSS: return "val_loss";
    default: return "val_accuracy";
    }
}

/* Why a monitored value can be missing (NaN at a fit's first epoch end). */
static const char *missing_reason(int monitor)
{
    switch (monitor) {
    case TNN_MONITOR_LOSS: return "the loss is NaN";
    case TNN_MONITOR_ACCURACY: return "the model's loss gives no accuracy";
    case TNN_MONITOR_VAL_LOSS: return "the fit has no validation data";
    default:
        return "the fit has no validation data, or the model's loss gives "
               "no accuracy";
    }
}

static void watch_begin(struct watch *w)
{
    w->seen_epoch = false;
    w->have_best = false;
    w->best = 0.0;
    w->wait = 0;
}

enum verdict { IMPROVED, NOT_IMPROVED, MISSING };

/* Judge the value at an epoch end: a loss must fall below the best so far
 * by more than min_delta, an accuracy rise above it; the first value of a
 * fit always improves. NaN never improves, and at the fit's first epoch
 * end it means that the value does not exist. */
static enum verdict judge(struct watch *w, const tnn_progress *p)
{
    double v = monitored(w->monitor, p);
    bool first = !w->seen_epoch;
    w->seen_epoch = true;
    if (isnan(v) && first)
        return MISSING;
    bool falls =
        w->monitor == TNN_MONITOR_LOSS || w->monitor == TNN_MONITOR_VAL_LOSS;
    bool better;
    if (isnan(v))
        better = false;
    else if (!w->have_best)
        better = true;
    else if (falls)
        better = v < w->best - w->min_delta;
    else
        better = v > w->best + w->min_delta;
    if (better) {
        w->best = v;
        w->have_best = true;
        w->wait = 0;
        return IMPROVED;
    }
    if (w->wait < INT_MAX)
        w->wait++;
    return NOT_IMPROVED;
}

/* Record that the watched value is missing; the entry then stops
 * training. */
static void report_missing(struct entry *e, const char *who,
                           const struct watch *w)
{
    tnn__fail(TNN_E_STATE, RUN_FUNC,
              "%s monitors %s, which is NaN at the end of the fit's first "
              "epoch: %s; training stopped",
              who, monitor_name(w->monitor), missing_reason(w->monitor));
    e->failed = true;
}

/* ---- early stopping ------------------------------------------------------
 */

/* Tensor k of those kept for the layers of m, in order: each layer's
 * parameters, then its saved state (batch-norm's running statistics);
 * NULL past the last. */
static tnn_tensor *kept_tensor(tnn_model *m, size_t *layer, int *k)
{
    while (*layer < tnn_model_num_layers(m)) {
        tnn_layer *l = tnn_model_layer(m, *layer);
        int params = tnn_layer_num_params(l);
        int state = tnn__layer_state_count(l);
        if (*k < params)
            return tnn_layer_param(l, (*k)++);
        if (*k < params + state) {
            int s = *k - params;
            (*k)++;
            return tnn__layer_state(l, s);
        }
        (*layer)++;
        *k = 0;
    }
    return NULL;
}

/* Values kept for m; false if the count overflows. */
static bool kept_values(tnn_model *m, size_t *total)
{
    size_t layer = 0, sum = 0;
    int k = 0;
    for (tnn_tensor *t; (t = kept_tensor(m, &layer, &k));) {
        if (t->size > SIZE_MAX - sum)
            return false;
        sum += t->size;
    }
    *total = sum;
    return true;
}

/* Copy the kept values of m into the snapshot (save) or back. */
static void move_kept(struct early_stopping *es, tnn_model *m, bool save)
{
    size_t layer = 0, at = 0;
    int k = 0;
    for (tnn_tensor *t; (t = kept_tensor(m, &layer, &k));) {
        if (t->size > es->snapshot_len - at)
            return; /* not the model the snapshot was made for */
        float *data = tnn_tensor_data(t);
        if (save)
            memcpy(es->snapshot + at, data, t->size * sizeof *data);
        else
            memcpy(data, es->snapshot + at, t->size * sizeof *data);
        at += t->size;
    }
}

/* A new fit: forget the last one and make room for the snapshot. */
static void early_begin(struct entry *e, const tnn_progress *p)
{
    struct early_stopping *es = &e->u.early;
    watch_begin(&es->watch);
    es->best_epoch = -1;
    es->stopped_epoch = -1;
    es->snapshot_len = 0;
    if (!es->restore_best)
        return;
    tnn_model *m = tnn_progress_model(p);
    size_t total = 0, bytes = 0;
    bool fits =
        kept_values(m, &total) && tnn__mul_size(total, sizeof(float), &bytes);
    if (fits && total <= es->snapshot_cap) {
        es->snapshot_len = total;
        return;
    }
    tnn__free(es->snapshot);
    es->snapshot = NULL;
    es->snapshot_cap = 0;
    if (fits)
        es->snapshot = tnn__malloc(bytes);
    if (!es->snapshot) {
        tnn__fail(TNN_E_NOMEM, RUN_FUNC,
                  "early stopping cannot allocate its copy of the best "
                  "epoch's %zu parameter values; training stopped",
                  total);
        e->failed = true;
        return;
    }
    es->snapshot_cap = total;
    es->snapshot_len = total;
}

static bool early_event(struct entry *e, const tnn_progress *p)
{
    struct early_stopping *es = &e->u.early;
    if (tnn_progress_event(p) != TNN_EVENT_EPOCH_END)
        return false;
    switch (judge(&es->watch, p)) {
    case MISSING: report_missing(e, "early stopping", &es->watch); return true;
    case IMPROVED:
        es->best_epoch = tnn_progress_epoch(p);
        if (es->restore_best)
            move_kept(es, tnn_progress_model(p), true);
        return false;
    case NOT_IMPROVED: break;
    }
    if (es->watch.wait < es->watch.patience)
        return false;
    es->stopped_epoch = tnn_progress_epoch(p);
    return true;
}

/* Training ends, whoever stopped it: put the best epoch back. */
static void early_end(struct entry *e, const tnn_progress *p)
{
    struct early_stopping *es = &e->u.early;
    if (es->restore_best && !e->failed && es->best_epoch >= 0)
        move_kept(es, tnn_progress_model(p), false);
}

/* ---- reducing the learning rate ------------------------------------------
 */

static bool reduce_event(struct entry *e, const tnn_progress *p)
{
    struct reduce_lr *r = &e->u.reduce;
    if (tnn_progress_event(p) != TNN_EVENT_EPOCH_END)
        return false;
    switch (judge(&r->watch, p)) {
    case MISSING: report_missing(e, "reduce-lr", &r->watch); return true;
    case IMPROVED: return false;
    case NOT_IMPROVED: break;
    }
    if (r->watch.wait < r->watch.patience)
        return false;
    tnn_optim *opt = tnn_model_optim(tnn_progress_model(p));
    if (!opt)
        return false;
    /* The floor as the optimizer holds rates (and a floor above every
     * float as infinity, which no rate exceeds). */
    float floor_lr = r->min_lr > FLT_MAX ? INFINITY : (float)r->min_lr;
    float old = tnn_optim_lr(opt);
    if (!(old > floor_lr))
        return false; /* at the floor: nothing to reduce */
    double lowered = (double)old * r->factor;
    float lr = (float)(lowered > r->min_lr ? lowered : r->min_lr);
    /* A rate that rounds to 0 is no rate: stay. A refusal (below a cosine
     * schedule's floor) is recorded by the setter; training goes on at
     * the rate it had. */
    if (lr > 0.0f)
        tnn_optim_set_lr(opt, lr);
    r->watch.wait = 0;
    return false;
}

/* ---- the progress printer ------------------------------------------------
 */

/* v with decimals digits after a '.', whatever the locale's decimal point
 * (the format is Keras', not the program's locale). */
static void format_fixed(char *out, size_t size, double v, int decimals)
{
    if (isnan(v)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v < 0 ? "-inf" : "inf");
        return;
    }
    char raw[400];
    int n = snprintf(raw, sizeof raw, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= sizeof raw) {
        snprintf(out, size, "%g", v);
        return;
    }
    /* A sign, the integer's digits, the locale's decimal point (any
     * bytes), then exactly decimals digits. */
    size_t digits = raw[0] == '-' ? 1 : 0;
    while (raw[digits] >= '0' && raw[digits] <= '9')
        digits++;
    size_t tail = (size_t)n - (size_t)decimals;
    if (decimals == 0 || tail <= digits)
        snprintf(out, size, "%s", raw);
    else
        snprintf(out, size, "%.*s.%s", (int)digits, raw, raw + tail);
}

/* One field of the line: " - name: value". */
static bool put_field(FILE *stream, const char *name, double v)
{
    char text[400];
    format_fixed(text, sizeof text, v, 4);
    return fprintf(stream, " - %s: %s", name, text) >= 0;
}

static bool progress_event(struct entry *e, const tnn_progress *p)
{
    if (tnn_progress_event(p) != TNN_EVENT_EPOCH_END)
        return false;
    FILE *stream = e->u.progress.stream;
    double acc = tnn_progress_accuracy(p);
    double val_loss = tnn_progress_val_loss(p);
    double val_acc = tnn_progress_val_accuracy(p);
    bool validated = !isnan(val_loss) || !isnan(val_acc);
    char seconds[400];
    format_fixed(seconds, sizeof seconds, tnn_progress_seconds(p), 1);
    bool ok = fprintf(stream, "Epoch %d/%d - %zu/%zu - %ss",
                      tnn_progress_epoch(p) + 1, tnn_progress_epochs(p),
                      tnn_progress_batch(p) + 1, tnn_progress_batches(p),
                      seconds) >= 0;
    ok = ok && put_field(stream, "loss", tnn_progress_loss(p));
    if (!isnan(acc))
        ok = ok && put_field(stream, "accuracy", acc);
    if (validated) {
        ok = ok && put_field(stream, "val_loss", val_loss);
        if (!isnan(acc) || !isnan(val_acc))
            ok = ok && put_field(stream, "val_accuracy", val_acc);
    }
    ok = ok && fputc('\n', stream) != EOF;
    ok = ok && fflush(stream) == 0;
    if (!ok && !e->u.progress.write_failed) {
        e->u.progress.write_failed = true;
        tnn__fail(TNN_E_IO, RUN_FUNC,
                  "the progress printer cannot write to its stream; "
                  "training goes on");
    }
    return false;
}

/* ---- running the list ----------------------------------------------------
 */

/* Whether p is the first event of a fit the list has not seen yet. */
static bool begins_fit(const tnn_callbacks *list, const tnn_progress *p)
{
    if (list->serial == 0 || p->model != list->model ||
        p->fit != list->model_fit)
        return true;
    int phase = p->event == TNN_EVENT_EPOCH_END ? 1 : 0;
    size_t batch = phase ? 0 : p->batch;
    if (p->epoch != list->last_epoch)
        return p->epoch < list->last_epoch;
    if (phase != list->last_phase)
        return phase < list->last_phase;
    return batch <= list->last_batch;
}

static void entry_begin(struct entry *e, const tnn_progress *p)
{
    e->failed = false;
    switch (e->kind) {
    case PROGRESS: e->u.progress.write_failed = false; break;
    case EARLY_STOPPING: early_begin(e, p); break;
    case REDUCE_LR: watch_begin(&e->u.reduce.watch); break;
    case USER: break;
    }
}

int tnn_callbacks_run(const tnn_progress *progress, void *list_ptr)
{
    tnn_callbacks *list = list_ptr;
    if (!progress || !list) {
        tnn__fail(TNN_E_INVALID, __func__, "%s is NULL; training stopped",
                  progress ? "list" : "progress");
        return 1;
    }
    const tnn_progress *p = progress;
    if (begins_fit(list, p)) {
        list->serial++;
        list->model = p->model;
        list->model_fit = p->fit;
    }
    list->last_epoch = p->epoch;
    list->last_phase = p->event == TNN_EVENT_EPOCH_END ? 1 : 0;
    list->last_batch = list->last_phase ? 0 : p->batch;

    /* Every callback sees the event, also after one asked to stop. The
     * caller's callbacks may add to the list, which may move it: the
     * entry is looked up again after each. */
    bool stop = false;
    for (size_t i = 0; i < list->count; i++) {
        struct entry *e = &list->entries[i];
        if (e->serial != list->serial) {
            e->serial = list->serial;
            entry_begin(e, p);
        }
        if (e->failed) {
            stop = true;
            continue;
        }
        bool asks = false;
        switch (e->kind) {
        case USER: asks = e->u.user.fn(p, e->u.user.user) != 0; break;
        case PROGRESS: asks = progress_event(e, p); break;
        case EARLY_STOPPING: asks = early_event(e, p); break;
        case REDUCE_LR: asks = reduce_event(e, p); break;
        }
        stop = stop || asks;
    }
    /* Training ends now if anyone stopped it or the last epoch is over. */
    bool ends =
        stop || (p->event == TNN_EVENT_EPOCH_END && p->epoch + 1 >= p->epochs);
    for (size_t i = 0; ends && i < list->count; i++)
        if (list->entries[i].kind == EARLY_STOPPING &&
            list->entries[i].serial == list->serial)
            early_end(&list->entries[i], p);
    return stop ? 1 : 0;
}
