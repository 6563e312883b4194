/*
 * Optimizers: SGD (momentum, Nesterov) and Adam (AdamW), coupled or
 * decoupled weight decay, step and cosine schedules. Each update is one
 * pass over each parameter buffer.
 */
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static tnn_optim *optim_new(const char *func, enum tnn__optim_kind kind,
                            float lr)
{
    if (!(lr > 0.0f) || !isfinite(lr)) {
        tnn__fail(TNN_E_INVALID, func,
                  "lr is %g; it must be positive and finite", (double)lr);
        return NULL;
    }
    tnn_optim *opt = tnn__calloc(1, sizeof *opt);
    if (!opt) {
        tnn__fail(TNN_E_NOMEM, func, "cannot allocate an optimizer");
        return NULL;
    }
    opt->kind = kind;
    opt->lr = lr;
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->eps = 1e-7f;
    return opt;
}

tnn_optim *tnn_sgd_new(float lr)
{
    return optim_new(__func__, TNN__OPTIM_SGD, lr);
}

tnn_optim *tnn_adam_new(float lr)
{
    return optim_new(__func__, TNN__OPTIM_ADAM, lr);
}

static void free_state(tnn_optim *opt)
{
    for (size_t i = 0; i < opt->num_slots; i++)
        tnn__free_lines(opt->state[i]);
    tnn__free(opt->state);
    tnn__free(opt->state_size);
    opt->state = NULL;
    opt->state_size = NULL;
    opt->num_slots = 0;
}

void tnn_optim_free(tnn_optim *opt)
{
    /* A model frees its own optimizer; freeing it here would leave the
     * model holding a dangling pointer. */
    if (opt && opt->owner) {
        tnn__fail(TNN_E_STATE, __func__,
                  "the optimizer belongs to a model, which frees it");
        return;
    }
    tnn__optim_destroy(opt);
}

void tnn__optim_destroy(tnn_optim *opt)
{
    if (!opt)
        return;
    free_state(opt);
    tnn__free(opt);
}

static int check_optim(const char *func, const tnn_optim *opt)
{
    if (!opt)
        return tnn__fail(TNN_E_INVALID, func, "optimizer is NULL");
    return TNN_OK;
}

/* While the model that owns the optimizer trains, its tnn_model_fit()
 * callbacks may change the learning rate and its schedule, and nothing
 * else: the setters of every other setting call this. */
static int check_idle(const char *func, const tnn_optim *opt)
{
    int rc = check_optim(func, opt);
    if (rc == TNN_OK)
        rc = tnn__check_not_training(func, opt->owner, NULL);
    return rc;
}

static int check_kind(const char *func, const tnn_optim *opt,
                      enum tnn__optim_kind kind)
{
    int rc = check_idle(func, opt);
    if (rc == TNN_OK && opt->kind != kind)
        rc = tnn__fail(TNN_E_INVALID, func, "optimizer is %s, not %s",
                       opt->kind == TNN__OPTIM_SGD ? "sgd" : "adam",
                       kind == TNN__OPTIM_SGD ? "sgd" : "adam");
    return rc;
}

static bool in_unit_interval(float x)
{
    return x >= 0.0f && x < 1.0f;
}

int tnn_sgd_set_momentum(tnn_optim *sgd, float momentum)
{
    int rc = check_kind(__func__, sgd, TNN__OPTIM_SGD);
    if (rc != TNN_OK)
        return rc;
    if (!in_unit_interval(momentum))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "momentum is %g; it must be in [0, 1)",
                         (double)momentum);
    sgd->momentum = momentum;
    return TNN_OK;
}

int tnn_sgd_set_nesterov(tnn_optim *sgd, int nesterov)
{
    int rc = check_kind(__func__, sgd, TNN__OPTIM_SGD);
    if (rc != TNN_OK)
        return rc;
    if (nesterov != 0 && nesterov != 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "nesterov is %d; it must be 0 or 1", nesterov);
    sgd->nesterov = nesterov == 1;
    return TNN_OK;
}

int tnn_adam_set_betas(tnn_optim *adam, float beta1, float beta2)
{
    int rc = check_kind(__func__, adam, TNN__OPTIM_ADAM);
    if (rc != TNN_OK)
        return rc;
    if (!in_unit_interval(beta1) || !in_unit_interval(beta2))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "beta1 %g and beta2 %g must be in [0, 1)",
                         (double)beta1, (double)beta2);
    adam->beta1 = beta1;
    adam->beta2 = beta2;
    return TNN_OK;
}

int tnn_adam_set_eps(tnn_optim *adam, float eps)
{
    int rc = check_kind(__func__, adam, TNN__OPTIM_ADAM);
    if (rc != TNN_OK)
        return rc;
    if (!(eps > 0.0f) || !isfinite(eps))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "eps is %g; it must be positive and finite",
                         (double)eps);
    adam->eps = eps;
    return TNN_OK;
}

int tnn_adam_set_decoupled(tnn_optim *adam, int decoupled)
{
    int rc = check_kind(__func__, adam, TNN__OPTIM_ADAM);
    if (rc != TNN_OK)
        return rc;
    if (decoupled != 0 && decoupled != 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "decoupled is %d; it must be 0 or 1", decoupled);
    adam->decoupled = decoupled == 1;
    return TNN_OK;
}

int tnn_optim_set_weight_decay(tnn_optim *opt, float lambda)
{
    int rc = check_idle(__func__, opt);
    if (rc != TNN_OK)
        return rc;
    if (!(lambda >= 0.0f) || !isfinite(lambda))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "lambda is %g; it must be finite and >= 0",
                         (double)lambda);
    opt->weight_decay = lambda;
    return TNN_OK;
}

float tnn_optim_weight_decay(const tnn_optim *opt)
{
    return opt ? opt->weight_decay : 0.0f;
}

int tnn_optim_set_decay_all(tnn_optim *opt, int all)
{
    int rc = check_idle(__func__, opt);
    if (rc != TNN_OK)
        return rc;
    if (all != 0 && all != 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "all is %d; it must be 0 or 1", all);
    opt->decay_all = all == 1;
    return TNN_OK;
}

int tnn_optim_set_lr(tnn_optim *opt, float lr)
{
    int rc = check_optim(__func__, opt);
    if (rc != TNN_OK)
        return rc;
    if (!(lr > 0.0f) || !isfinite(lr))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "lr is %g; it must be positive and finite",
                         (double)lr);
    if (opt->schedule == TNN__SCHEDULE_COSINE && opt->schedule_value > lr)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "lr %g is below the cosine schedule's min_lr %g",
                         (double)lr, (double)opt->schedule_value);
    opt->lr = lr;
    return TNN_OK;
}

float tnn_optim_lr(const tnn_optim *opt)
{
    return opt ? opt->lr : 0.0f;
}

long tnn_optim_steps(const tnn_optim *opt)
{
    return opt ? opt->steps : 0;
}

float tnn_optim_current_lr(const tnn_optim *opt)
{
    if (!opt)
        return 0.0f;
    double lr = opt->lr, t = (double)opt->steps;
    switch (opt->schedule) {
    case TNN__SCHEDULE_STEP:
        return (float)(lr * pow(opt->schedule_value,
                                floor(t / (double)opt->schedule_steps)));
    case TNN__SCHEDULE_COSINE: {
        double total = (double)opt->schedule_steps;
        double s = (t < total ? t : total) / total;
        double min = opt->schedule_value;
        return (float)(min + (lr - min) *
                                 (1.0 + cos(3.14159265358979323846 * s)) /
                                 2.0);
    }
    default: return opt->lr;
    }
}

int tnn_optim_set_step_schedule(tnn_optim *opt, long step_size, float gamma)
{
    int rc = check_optim(__func__, opt);
    if (rc != TNN_OK)
        return rc;
    if (step_size < 1 || !(gamma > 0.0f && gamma <= 1.0f))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "step_size %ld must be >= 1 and gamma %g in (0, 1]",
                         step_size, (double)gamma);
    opt->schedule = TNN__SCHEDULE_STEP;
    opt->schedule_steps = step_size;
    opt->schedule_value = gamma;
    return TNN_OK;
}

int tnn_optim_set_cosine_schedule(tnn_optim *opt, long total_steps,
                                  float min_lr)
{
    int rc = check_optim(__func__, opt);
    if (rc != TNN_OK)
        return rc;
    if (total_steps < 1 || !(min_lr >= 0.0f && min_lr <= opt->lr))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "total_steps %ld must be >= 1 and min_lr %g in "
                         "[0, lr = %g]",
                         total_steps, (double)min_lr, (double)opt->lr);
    opt->schedule = TNN__SCHEDULE_COSINE;
    opt->schedule_steps = total_steps;
    opt->schedule_value = min_lr;
    return TNN_OK;
}

int tnn_optim_clear_schedule(tnn_optim *opt)
{
    int rc = check_optim(__func__, opt);
    if (rc == TNN_OK)
        opt->schedule = TNN__SCHEDULE_NONE;
    return rc;
}

/* ---- gradient clipping -------------------------------------------------- */

/* A clipping setting: finite and >= 0, 0 being off. */
static int set_clip(const char *func, float *setting, const char *name,
                    float value)
{
    if (!(value >= 0.0f && isfinite(value)))
        return tnn__fail(TNN_E_INVALID, func,
                         "%s is %g; it must be finite and >= 0 (0: off)", name,
                         (double)value);
    *setting = value;
    return TNN_OK;
}

int tnn_optim_set_clip_value(tnn_optim *opt, float clip)
{
    int rc = check_idle(__func__, opt);
    return rc == TNN_OK ? set_clip(__func__, &opt->clip_value, "clip", clip)
                        : rc;
}

float tnn_optim_clip_value(const tnn_optim *opt)
{
    return opt ? opt->clip_value : 0.0f;
}

int tnn_optim_set_clip_norm(tnn_optim *opt, float max_norm)
{
    int rc = check_idle(__func__, opt);
    return rc == TNN_OK
               ? set_clip(__func__, &opt->clip_norm, "max_norm", max_norm)
               : rc;
}

float tnn_optim_clip_norm(const tnn_optim *opt)
{
    return opt ? opt->clip_norm : 0.0f;
}

/* A NaN stays NaN, as in PyTorch's clamp. */
static void clamp_values(float *g, size_t n, float clip)
{
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] > clip ? clip : g[i] < -clip ? -clip : g[i];
}

static double squared_sum(const float *g, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)g[i] * g[i];
    return sum;
}

static void scale_values(float *g, size_t n, float k)
{
    for (size_t i = 0; i < n; i++)
        g[i] *= k;
}

/* PyTorch's clip_grad_norm_ (1.13): coefficient max_norm / (norm + 1e-6),
 * at most 1, multiplied into every gradient whatever its value: a
 * non-finite norm makes the gradients 0 or NaN, which the finiteness
 * check then reports. The norm is summed in double. */
void tnn__optim_clip(const tnn_optim *opt, tnn_layer *const *layers,
                     size_t count)
{
    if (opt->clip_value > 0.0f)
        for (size_t i = 0; i < count; i++)
            for (int p = 0; layers[i]->trainable && p < layers[i]->num_params;
                 p++)
                clamp_values(layers[i]->grad[p]->data,
                             layers[i]->grad[p]->size, opt->clip_value);
    if (opt->clip_norm <= 0.0f)
        return;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        for (int p = 0; layers[i]->trainable && p < layers[i]->num_params; p++)
            sum += squared_sum(layers[i]->grad[p]->data,
                               layers[i]->grad[p]->size);
    double coef = (double)opt->clip_norm / (sqrt(sum) + 1e-6);
    if (coef >= 1.0)
        return;
    float k = (float)coef;
    for (size_t i = 0; i < count; i++)
        for (int p = 0; layers[i]->trainable && p < layers[i]->num_params; p++)
            scale_values(layers[i]->grad[p]->data, layers[i]->grad[p]->size,
                         k);
}

/* Make one state buffer per parameter slot, sized for SGD's velocity or
 * Adam's two moments. Rebuilt (state reset) only if the model's parameter
 * list changed since the last step. */
int tnn__optim_prepare(tnn_optim *opt, const char *func,
                       tnn_layer *const *layers, size_t count)
{
    size_t slots = 0;
    for (size_t i = 0; i < count; i++)
        slots += (size_t)layers[i]->num_params;
    size_t per = opt->kind == TNN__OPTIM_ADAM ? 2 : 1;
    bool same = slots == opt->num_slots;
    for (size_t i = 0, s = 0; same && i < count; i++)
        for (int p = 0; p < layers[i]->num_params; p++, s++)
            same = opt->state_size[s] == per * layers[i]->param[p]->size;
    if (same)
        return TNN_OK;
    free_state(opt);
    opt->state_steps = 0;
    opt->state = tnn__calloc(slots, sizeof *opt->state);
    opt->state_size = tnn__calloc(slots, sizeof *opt->state_size);
    if (!opt->state || !opt->state_size)
        goto nomem;
    opt->num_slots = slots;
    for (size_t i = 0, s = 0; i < count; i++)
        for (int p = 0; p < layers[i]->num_params; p++, s++) {
            opt->state_size[s] = per * layers[i]->param[p]->size;
            opt->state[s] =
                tnn__calloc_lines(opt->state_size[s], sizeof(float));
            if (!opt->state[s])
                goto nomem;
        }
    return TNN_OK;
nomem:
    free_state(opt);
    return tnn__fail(TNN_E_NOMEM, func, "cannot allocate the optimizer state");
}

/* One element of each update, shared by the update loops and by the check
 * of what they would write, so that both compute the same bits. */
struct sgd_coef {
    float lr, decay, mu, g_coef, v_coef;
};

static inline void sgd_element(const struct sgd_coef *k, float w, float g,
                               float v, float *w_out, float *v_out)
{
    float gi = g + k->decay * w;
    if (k->mu == 0.0f) {
        *v_out = v;
        *w_out = w - k->lr * gi;
        return;
    }
    /* Nesterov steps along g + mu v, classical momentum along v. */
    float vi = k->mu * v + gi;
    *v_out = vi;
    *w_out = w - k->lr * (k->g_coef * gi + k->v_coef * vi);
}

static struct sgd_coef sgd_coef_of(const tnn_optim *opt, float lr, float decay)
{
    const float mu = opt->momentum;
    return (struct sgd_coef){lr, decay, mu, opt->nesterov ? 1.0f : 0.0f,
                             opt->nesterov ? mu : 1.0f};
}

struct adam_coef {
    float b1, b2, eps, step, c2, coupled, shrink;
};

/* Adam's bias corrections of the coming step, 1 - b1^t and 1 - b2^t:
 * the same for every parameter, so worked out once a step rather than
 * for every buffer and slice (pow takes 10 ns or so, much longer once
 * b1^t underflows; it was a fifth of a small model's step). */
struct adam_bias {
    double c1, c2;
};

static struct adam_bias adam_bias_of(const tnn_optim *opt)
{
    const double t = (double)(opt->state_steps + 1);
    return (struct adam_bias){1.0 - pow(opt->beta1, t),
                              1.0 - pow(opt->beta2, t)};
}

static struct adam_coef adam_coef_of(const tnn_optim *opt,
                                     const struct adam_bias *bias, float lr,
                                     float decay)
{
    /* lr * m_hat = (lr / (1 - b1^t)) * m; v_hat = v / (1 - b2^t). */
    return (struct adam_coef){.b1 = opt->beta1,
                              .b2 = opt->beta2,
                              .eps = opt->eps,
                              .step = (float)(lr / bias->c1),
                              .c2 = (float)(1.0 / bias->c2),
                              .coupled = opt->decoupled ? 0.0f : decay,
                              .shrink = opt->decoupled ? lr * decay : 0.0f};
}

static inline void adam_element(const struct adam_coef *k, float w, float g,
                                float m, float v, float *w_out, float *m_out,
                                float *v_out)
{
    float gi = g + k->coupled * w;
    float mi = k->b1 * m + (1.0f - k->b1) * gi;
    float vi = k->b2 * v + (1.0f - k->b2) * gi * gi;
    *m_out = mi;
    *v_out = vi;
    *w_out = w - k->step * mi / (sqrtf(vi * k->c2) + k->eps) - k->shrink * w;
}

/* The update loops take restrict pointers and keep every scalar in a local
 * so that the compiler can vectorise them: they run over every parameter
 * at every step. TNN_VECTOR_CLONES builds them for wider vector units
 * too, picked at load time by the CPU. */
TNN_VECTOR_CLONES
static void sgd_update(const tnn_optim *opt, float *restrict w,
                       float *restrict g, float *restrict v, size_t n,
                       float lr, float decay)
{
    const struct sgd_coef k = sgd_coef_of(opt, lr, decay);
    if (k.mu == 0.0f) {
        /* No velocity buffer is read or written without momentum. */
        for (size_t i = 0; i < n; i++) {
            float unused;
            sgd_element(&k, w[i], g[i], 0.0f, &w[i], &unused);
            g[i] = 0.0f;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sgd_element(&k, w[i], g[i], v[i], &w[i], &v[i]);
        g[i] = 0.0f;
    }
}

TNN_VECTOR_CLONES
static void adam_update(const struct adam_coef *coef, float *restrict w,
                        float *restrict g, float *restrict m,
                        float *restrict v, size_t n)
{
    const struct adam_coef k = *coef;
    for (size_t i = 0; i < n; i++) {
        adam_element(&k, w[i], g[i], m[i], v[i], &w[i], &m[i], &v[i]);
        g[i] = 0.0f;
    }
}

/* x * 0 is 0 for finite x and NaN otherwise: a sum of such products stays
 * 0 exactly while every value is finite. */
static bool update_finite(const tnn_optim *opt, const float *w, const float *g,
                          const float *state, size_t size, float lr,
                          float decay)
{
    float zero = 0.0f;
    if (opt->kind == TNN__OPTIM_SGD) {
        const struct sgd_coef k = sgd_coef_of(opt, lr, decay);
        for (size_t i = 0; i < size; i++) {
            float wo, vo;
            sgd_element(&k, w[i], g[i], k.mu == 0.0f ? 0.0f : state[i], &wo,
                        &vo);
            zero += wo * 0.0f + vo * 0.0f;
        }
    } else {
        const struct adam_bias bias = adam_bias_of(opt);
        const struct adam_coef k = adam_coef_of(opt, &bias, lr, decay);
        for (size_t i = 0; i < size; i++) {
            float wo, mo, vo;
            adam_element(&k, w[i], g[i], state[i], state[size + i], &wo, &mo,
                         &vo);
            zero += wo * 0.0f + mo * 0.0f + vo * 0.0f;
        }
    }
    return zero == 0.0f;
}

static float decay_of(const tnn_optim *opt, const tnn_layer *layer, int p)
{
    return layer->is_weight[p] || opt->decay_all ? opt->weight_decay : 0.0f;
}

bool tnn__optim_step_finite(const tnn_optim *opt, tnn_layer *const *layers,
                            size_t count, size_t *slot)
{
    const float lr = tnn_optim_current_lr(opt);
    /* In the update's floating-point mode, so that it judges the values
     * the update would write. */
    unsigned own = tnn__fp_enter(tnn__fp_mode());
    bool finite = true;
    size_t s = 0;
    for (size_t i = 0; finite && i < count; i++) {
        const tnn_layer *layer = layers[i];
        for (int p = 0; finite && p < layer->num_params; p++, s++) {
            if (!layer->trainable)
                continue;
            const tnn_tensor *w = layer->param[p];
            finite = update_finite(opt, w->data, layer->grad[p]->data,
                                   opt->state[s], w->size, lr,
                                   decay_of(opt, layer, p));
            if (!finite)
                *slot = s;
        }
    }
    tnn__fp_leave(own);
    return finite;
}

/* The update is cut into STEP_SLICES slices, each the same share of every
 * parameter buffer. On the library's own pool, whose workers sleep, the
 * threads take slices from a shared counter until none is left: a thread
 * the OS keeps off a core (the BLAS's own threads spin on the other cores
 * for a while after each product) then delays nothing, since the threads
 * that run take its slices. On OpenMP's threads, which spin and start
 * together, each takes a fixed run of slices instead, the same at every
 * step, so that the optimizer's state of a slice stays in one core's
 * caches (the MNIST MLP's epoch: 0.69-0.70 s against 0.76-0.87 s with the
 * counter, in turns). Which thread updates a slice does not change the
 * result. */
enum { STEP_SLICES = 32 };

struct step_job {
    const tnn_optim *opt;
    tnn_layer *const *layers;
    size_t count;
    float lr;
    struct adam_bias bias; /* for Adam */
    /* The caller's floating-point mode with flushing, for every thread. */
    unsigned fp_mode;
    bool fixed_runs; /* each part its own run of slices */
    atomic_int next_slice;
};

/* Slice `slice` of `slices` of the update: the same share of every parameter
 * buffer, cut at multiples of 16 floats (64 bytes, a cache line). Each
 * gradient is reset to zero as it is used, so that the next backward pass
 * can add into it: cheaper than having the BLAS clear it first. */
static void update_slice(const struct step_job *job, int slice, int slices)
{
    const tnn_optim *opt = job->opt;
    size_t slot = 0;
    for (size_t i = 0; i < job->count; i++) {
        const tnn_layer *layer = job->layers[i];
        for (int p = 0; p < layer->num_params; p++, slot++) {
            if (!layer->trainable)
                continue;
            size_t size = layer->param[p]->size;
            size_t begin =
                (size * (size_t)slice / (size_t)slices) & ~(size_t)15;
            size_t end = slice + 1 == slices
                             ? size
                             : (size * (size_t)(slice + 1) / (size_t)slices) &
                                   ~(size_t)15;
            if (begin >= end)
                continue;
            float *w = layer->param[p]->data + begin;
            float *g = layer->grad[p]->data + begin;
            float decay = decay_of(opt, layer, p);
            float *state = opt->state[slot];
            if (opt->kind == TNN__OPTIM_SGD)
                sgd_update(opt, w, g, state + begin, end - begin, job->lr,
                           decay);
            else {
                const struct adam_coef k =
                    adam_coef_of(opt, &job->bias, job->lr, decay);
                adam_update(&k, w, g, state + begin, state + size + begin,
                            end - begin);
            }
        }
    }
}

static void step_part(void *arg, int part, int parts)
{
    struct step_job *job = arg;
    /* Each thread has its own MXCSR; all take the caller's mode. */
    unsigned own = tnn__fp_enter(job->fp_mode);
    if (parts == 1) {
        /* Alone, in one pass over each buffer: the slices only share
         * the work out. */
        update_slice(job, 0, 1);
    } else if (job->fixed_runs) {
        for (int slice = STEP_SLICES * part / parts;
             slice < STEP_SLICES * (part + 1) / parts; slice++)
            update_slice(job, slice, STEP_SLICES);
    } else {
        int slice;
        while ((slice = atomic_fetch_add_explicit(
                    &job->next_slice, 1, memory_order_relaxed)) < STEP_SLICES)
            update_slice(job, slice, STEP_SLICES);
    }
    tnn__fp_leave(own);
}

/* Below this many parameters the update runs on the calling thread alone:
 * waking a worker (often kept off its core for a while by the BLAS's
 * spinning threads) costs 20-80 us here, more than the update's share it
 * would take (about 0.35 ns per parameter). The result is the same. */
#define PARALLEL_MIN_PARAMS ((size_t)1 << 18)

/* Nor is it split when the batch's rows times all the trainable
 * parameters stay below the threshold under which dense_dnnl.c runs a
 * product on the calling thread. That bounds every dense layer's
 * weight-gradient product (rows times its weights), so with oneDNN those
 * products ran on the calling thread: the gradients, and the weights that
 * the forward read, are in its caches, and a second thread would first
 * have to fetch half of them from there (bench_sweep, width 1024 at batch
 * 1 on 2 threads, in turns: a step took 2048-2155 us before this rule,
 * 1564-1853 us after, 1583-1960 us on 1 thread). Rows of 0 mean not
 * known (tnn_model_apply_gradients()); a replica whose slice of the
 * batch is empty passes 0 too, and splits, which changes no value. */
#define PARALLEL_MIN_MACS TNN_PARALLEL_MIN_MACS

/* But from this many parameters the update is split in a step whose
 * products ran on OpenMP's threads (tnn__products_spread()): their
 * gradients are then half in each thread's caches, the calling thread
 * alone would first fetch the other half, and the other threads are
 * awake (width 256 at batch 256, 131,584 parameters, 2 threads, in
 * turns: a step took 770-845 us updating on one thread, 720-780 us
 * split). Not for a pool's own workers, which sleep between tasks. */
#define SPREAD_MIN_PARAMS ((size_t)1 << 16)

struct param_sizes {
    size_t trainable; /* values of the trainable parameters */
    size_t largest;   /* of any parameter tensor, trainable or not */
};

static struct param_sizes param_sizes(tnn_layer *const *layers, size_t count)
{
    struct param_sizes sizes = {0, 0};
    for (size_t i = 0; i < count; i++)
        for (int p = 0; p < layers[i]->num_params; p++) {
            size_t size = layers[i]->param[p]->size;
            if (layers[i]->trainable)
                sizes.trainable += size;
            if (size > sizes.largest)
                sizes.largest = size;
        }
    return sizes;
}

size_t tnn__trainable_values(tnn_layer *const *layers, size_t count)
{
    return param_sizes(layers, count).trainable;
}

static bool spread(size_t rows, size_t largest)
{
    size_t macs;
    return rows > 0 && largest > 0 &&
           (!tnn__mul_size(rows, largest, &macs) || macs >= PARALLEL_MIN_MACS);
}

bool tnn__products_spread(size_t rows, tnn_layer *const *layers, size_t count)
{
    return spread(rows, param_sizes(layers, count).largest);
}

bool tnn__update_splits(size_t rows, tnn_layer *const *layers, size_t count,
                        const struct tnn__pool *pool)
{
    const struct param_sizes sizes = param_sizes(layers, count);
    size_t macs;
    if (sizes.trainable >= PARALLEL_MIN_PARAMS &&
        !(rows > 0 && tnn__mul_size(rows, sizes.trainable, &macs) &&
          macs < PARALLEL_MIN_MACS))
        return true;
    return sizes.trainable >= SPREAD_MIN_PARAMS && tnn__pool_spins(pool) &&
           spread(rows, sizes.largest);
}

void tnn__optim_step(tnn_optim *opt, tnn_layer *const *layers, size_t count,
                     size_t rows, struct tnn__pool *pool)
{
    if (!tnn__update_splits(rows, layers, count, pool))
        pool = NULL;
    struct step_job job = {.opt = opt,
                           .layers = layers,
                           .count = count,
                           .lr = tnn_optim_current_lr(opt),
                           .fp_mode = tnn__fp_mode()};
    if (opt->kind == TNN__OPTIM_ADAM) {
        /* In the update's mode, where it was always worked out. */
        unsigned own = tnn__fp_enter(job.fp_mode);
        job.bias = adam_bias_of(opt);
        tnn__fp_leave(own);
    }
    job.fixed_runs = tnn__pool_spins(pool);
    atomic_init(&job.next_slice, 0);
    tnn__pool_run(pool, step_part, &job);
    opt->steps++;
    opt->state_steps++;
}

void tnn__optim_forget_state(tnn_optim *opt)
{
    free_state(opt);
    opt->state_steps = 0;
}

void tnn__optim_reset(tnn_optim *opt)
{
    free_state(opt);
    opt->steps = 0;
    opt->state_steps = 0;
}

/* ---- the optimizer in model files ----------------------------------------
 * The section's fields in order (docs/format.md); the state itself is
 * stored as tensors "optim.slot.N", one per parameter slot. */

uint32_t tnn__optim_format_needed(const tnn_optim *o)
{
    return o->clip_value > 0.0f || o->clip_norm > 0.0f ? 4 : 1;
}

void tnn__optim_write(struct tnn__writer *w, const tnn_optim *o,
                      uint32_t version)
{
    tnn__put_u32(w, (uint32_t)o->kind);
    tnn__put_f32(w, o->lr);
    tnn__put_f32(w, o->momentum);
    tnn__put_u32(w, o->nesterov);
    tnn__put_f32(w, o->beta1);
    tnn__put_f32(w, o->beta2);
    tnn__put_f32(w, o->eps);
    tnn__put_u32(w, o->decoupled);
    tnn__put_f32(w, o->weight_decay);
    tnn__put_u32(w, o->decay_all);
    tnn__put_u32(w, (uint32_t)o->schedule);
    tnn__put_u64(w, (uint64_t)o->schedule_steps);
    tnn__put_f32(w, o->schedule_value);
    tnn__put_u64(w, (uint64_t)o->steps);
    tnn__put_u64(w, (uint64_t)o->state_steps);
    tnn__put_u32(w, (uint32_t)o->num_slots);
    if (version >= 4) {
        tnn__put_f32(w, o->clip_value);
        tnn__put_f32(w, o->clip_norm);
    }
}

struct optim_record {
    uint32_t kind;
    float lr, momentum;
    uint32_t nesterov;
    float beta1, beta2, eps;
    uint32_t decoupled;
    float weight_decay;
    uint32_t decay_all;
    uint32_t schedule;
    uint64_t schedule_steps;
    float schedule_value;
    uint64_t steps;
    uint64_t state_steps;
    uint32_t num_slots;
    float clip_value, clip_norm;
};

static void get_record(struct tnn__reader *r, uint32_t version,
                       struct optim_record *d)
{
    d->kind = tnn__get_u32(r);
    d->lr = tnn__get_f32(r);
    d->momentum = tnn__get_f32(r);
    d->nesterov = tnn__get_u32(r);
    d->beta1 = tnn__get_f32(r);
    d->beta2 = tnn__get_f32(r);
    d->eps = tnn__get_f32(r);
    d->decoupled = tnn__get_u32(r);
    d->weight_decay = tnn__get_f32(r);
    d->decay_all = tnn__get_u32(r);
    d->schedule = tnn__get_u32(r);
    d->schedule_steps = tnn__get_u64(r);
    d->schedule_value = tnn__get_f32(r);
    d->steps = tnn__get_u64(r);
    d->state_steps = tnn__get_u64(r);
    d->num_slots = tnn__get_u32(r);
    d->clip_value = version >= 4 ? tnn__get_f32(r) : 0.0f;
    d->clip_norm = version >= 4 ? tnn__get_f32(r) : 0.0f;
}

static bool record_consistent(const struct optim_record *d)
{
    return (d->kind == TNN__OPTIM_SGD || d->kind == TNN__OPTIM_ADAM) &&
           d->nesterov <= 1 && d->decoupled <= 1 && d->decay_all <= 1 &&
           d->schedule <= TNN__SCHEDULE_COSINE &&
           d->steps <= (uint64_t)LONG_MAX && d->state_steps <= d->steps &&
           d->schedule_steps <= (uint64_t)LONG_MAX &&
           !(d->num_slots == 0 && d->state_steps != 0);
}

/* The settings go through the public setters, so that a file cannot give
 * an optimizer a value a program could not. */
static int apply_settings(tnn_optim *o, const struct optim_record *d)
{
    bool adam = d->kind == TNN__OPTIM_ADAM;
    int rc = TNN_OK;
    if (adam) {
        rc = tnn_adam_set_betas(o, d->beta1, d->beta2);
        if (rc == TNN_OK)
            rc = tnn_adam_set_eps(o, d->eps);
        if (rc == TNN_OK)
            rc = tnn_adam_set_decoupled(o, (int)d->decoupled);
    } else {
        rc = tnn_sgd_set_momentum(o, d->momentum);
        if (rc == TNN_OK)
            rc = tnn_sgd_set_nesterov(o, (int)d->nesterov);
    }
    if (rc == TNN_OK)
        rc = tnn_optim_set_weight_decay(o, d->weight_decay);
    if (rc == TNN_OK)
        rc = tnn_optim_set_decay_all(o, (int)d->decay_all);
    if (rc == TNN_OK && d->schedule == TNN__SCHEDULE_STEP)
        rc = tnn_optim_set_step_schedule(o, (long)d->schedule_steps,
                                         d->schedule_value);
    if (rc == TNN_OK && d->schedule == TNN__SCHEDULE_COSINE)
        rc = tnn_optim_set_cosine_schedule(o, (long)d->schedule_steps,
                                           d->schedule_value);
    if (rc == TNN_OK)
        rc = tnn_optim_set_clip_value(o, d->clip_value);
    if (rc == TNN_OK)
        rc = tnn_optim_set_clip_norm(o, d->clip_norm);
    return rc;
}

int tnn__optim_read(const char *func, struct tnn__reader *r, uint32_t version,
                    tnn_optim **out, struct tnn__optim_saved *saved)
{
    *out = NULL;
    struct optim_record d;
    get_record(r, version, &d);
    if (!tnn__reader_done(r))
        return tnn__fail(TNN_E_CORRUPT, func,
                         "optimizer section has the wrong length");
    if (!record_consistent(&d))
        return tnn__fail(TNN_E_CORRUPT, func,
                         "optimizer record is inconsistent");
    tnn_optim *o =
        d.kind == TNN__OPTIM_ADAM ? tnn_adam_new(d.lr) : tnn_sgd_new(d.lr);
    if (!o || apply_settings(o, &d) != TNN_OK) {
        int rc = tnn__refused_in_file(func, "optimizer");
        tnn__optim_destroy(o);
        return rc;
    }
    o->steps = (long)d.steps;
    *saved = (struct tnn__optim_saved){d.num_slots, d.state_steps};
    *out = o;
    return TNN_OK;
}

int tnn__optim_restore(const char *func, tnn_optim *opt,
                       tnn_layer *const *layers, size_t count,
                       const struct tnn__optim_saved *saved)
{
    if (saved->num_slots == 0)
        return TNN_OK;
    if (tnn__optim_prepare(opt, func, layers, count) != TNN_OK)
        return tnn__refused_in_file(func, "optimizer");
    opt->state_steps = (long)saved->state_steps;
    if (opt->num_slots != saved->num_slots)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "optimizer state has %u slots; the model has %zu "
                         "parameters",
                         saved->num_slots, opt->num_slots);
    return TNN_OK;
}

size_t tnn__optim_slots(const tnn_optim *opt)
{
    return opt->num_slots;
}

float *tnn__optim_slot(const tnn_optim *opt, size_t s, size_t *count)
{
    *count = opt->state_size[s];
    return opt->state[s];
}
