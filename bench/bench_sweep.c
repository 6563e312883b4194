/*
 * bench_sweep - training steps and predictions against their GEMM floor
 * over a grid of widths, batch sizes and thread counts.
 *
 * The model is input w -> dense w ReLU -> dense w, MSE, Adam. Its floor is
 * the time of the same products a step makes (two forward products, the
 * second layer's weight and input gradients, the first layer's weight
 * gradient) on the engine the library's dense layers use (products.c),
 * timed alone in this process on buffers of the same shapes; its floors
 * with the update are those products plus one Adam pass over as many
 * parameters timed on its own, and those products followed, every step,
 * by an Adam pass over the gradients they just wrote (on weight copies
 * of its own, so that every floor's products read the same weights);
 * predict's floor is the two forward products.
 * Each figure is
 * the fastest of a few repetitions, taken in turns with its floor, since
 * this kind of machine's speed drifts from minute to minute.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn.h>

#include "common.h"
#include "products.h"

/* Multiply-adds of one training step above which a point is skipped, so
 * that the sweep takes a few minutes. */
#define MAX_STEP_MACS 12e9
#define REPEATS 5

struct buffers {
    float *x, *w1, *w2, *h, *o, *dh, *dw1, *dw2;
    /* What the Adam passes of "then upd." update: weights of their own,
     * so that the products of every floor read fixed weights. */
    float *uw1, *uw2, *m1, *v1, *m2, *v2;
};

static float *filled(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_sweep: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (float)((int)(i % 13) - 6);
    return p;
}

static void buffers_new(struct buffers *b, int n, int w)
{
    size_t nw = (size_t)n * (size_t)w, ww = (size_t)w * (size_t)w;
    b->x = filled(nw, 0.01f);
    b->h = filled(nw, 0.0f);
    b->o = filled(nw, 0.0f);
    b->dh = filled(nw, 0.0f);
    b->w1 = filled(ww, 0.001f);
    b->w2 = filled(ww, 0.001f);
    b->dw1 = filled(ww, 0.0f);
    b->dw2 = filled(ww, 0.0f);
    b->uw1 = filled(ww, 0.001f);
    b->uw2 = filled(ww, 0.001f);
    b->m1 = floats(ww);
    b->v1 = floats(ww);
    b->m2 = floats(ww);
    b->v2 = floats(ww);
}

static void buffers_free(struct buffers *b)
{
    free(b->x);
    free(b->h);
    free(b->o);
    free(b->dh);
    free(b->w1);
    free(b->w2);
    free(b->dw1);
    free(b->dw2);
    free(b->uw1);
    free(b->uw2);
    free(b->m1);
    free(b->v1);
    free(b->m2);
    free(b->v2);
}

static void forward_products(struct buffers *b, int n, int w)
{
    product(false, false, n, w, w, b->x, w, b->w1, w, 1.0f, b->h, w);
    product(false, false, n, w, w, b->h, w, b->w2, w, 1.0f, b->o, w);
}

/* The weight gradients overwrite theirs (beta 0), or add to them (beta
 * 1) as the library's dense layers add into the gradients its update
 * leaves at zero. */
static void step_products_beta(struct buffers *b, int n, int w, float beta)
{
    forward_products(b, n, w);
    product(true, false, w, w, n, b->h, w, b->o, w, beta, b->dw2, w);
    product(false, true, n, w, w, b->o, w, b->w2, w, 0.0f, b->dh, w);
    product(true, false, w, w, n, b->x, w, b->dh, w, beta, b->dw1, w);
}

static void step_products(struct buffers *b, int n, int w)
{
    step_products_beta(b, n, w, 0.0f);
}

/* The products, then the update of both weight matrices, split over the
 * threads as the library splits the model's update (update_parts). */
static void step_then_update(struct buffers *b, int n, int w, int parts)
{
    size_t ww = (size_t)w * (size_t)w;
    step_products_beta(b, n, w, 1.0f);
    adam_pass(b->uw1, b->dw1, b->m1, b->v1, ww, parts);
    adam_pass(b->uw2, b->dw2, b->m2, b->v2, ww, parts);
}

static tnn_model *build(int w)
{
    tnn_model *m = tnn_model_new((size_t)w);
    int rc = m ? TNN_OK : TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dense_new((size_t)w, (size_t)w));
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_relu_new());
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dense_new((size_t)w, (size_t)w));
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, tnn_adam_new(1e-4f));
    if (rc != TNN_OK) {
        fprintf(stderr, "bench_sweep: %s\n", tnn_last_error());
        exit(1);
    }
    return m;
}

/* Calls per timing so that one takes about 50 ms. */
static int calls_for(double macs)
{
    double calls = 50e-3 * 100e9 / (macs > 1.0 ? macs : 1.0);
    return calls < 1.0 ? 1 : calls > 2000.0 ? 2000 : (int)calls;
}

struct point {
    /* update_alone: one Adam pass over the parameters timed on its own,
     * its arrays in the caches; then_update: the step's products, then
     * the update, each step. */
    double step, step_floor, update_alone, then_update, predict, predict_floor;
};

static void measure(int w, int n, struct point *p)
{
    struct buffers b;
    buffers_new(&b, n, w);
    tnn_model *m = build(w);
    tnn_tensor *x = tnn_tensor_new_2d((size_t)n, (size_t)w);
    tnn_tensor *y = tnn_tensor_new_2d((size_t)n, (size_t)w);
    tnn_tensor *out = tnn_tensor_new_2d((size_t)n, (size_t)w);
    tnn_tensor_copy_from(x, b.x, (size_t)n * (size_t)w);
    tnn_tensor_fill(y, 0.1f);
    double macs = 5.0 * n * (double)w * w;
    int calls = calls_for(macs);
    /* Two w x w weights and two w biases. */
    int parts = update_parts(2 * (size_t)w * ((size_t)w + 1), (size_t)n,
                             tnn_get_num_threads());
    /* Warm up: buffers, the pool, the BLAS's threads. */
    tnn_model_train_batch(m, x, y, NULL);
    tnn_model_predict(m, x, out);
    step_products(&b, n, w);
    step_then_update(&b, n, w, parts);
    *p = (struct point){1e30, 1e30, 1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < REPEATS; r++) {
        double t = now();
        for (int c = 0; c < calls; c++)
            tnn_model_train_batch(m, x, y, NULL);
        double step = (now() - t) / calls;
        t = now();
        for (int c = 0; c < calls; c++)
            step_products(&b, n, w);
        double floor = (now() - t) / calls;
        t = now();
        for (int c = 0; c < calls; c++)
            step_then_update(&b, n, w, parts);
        double whole = (now() - t) / calls;
        t = now();
        for (int c = 0; c < calls; c++)
            tnn_model_predict(m, x, out);
        double predict = (now() - t) / calls;
        t = now();
        for (int c = 0; c < calls; c++)
            forward_products(&b, n, w);
        double pfloor = (now() - t) / calls;
        p->step = step < p->step ? step : p->step;
        p->step_floor = floor < p->step_floor ? floor : p->step_floor;
        p->then_update = whole < p->then_update ? whole : p->then_update;
        p->predict = predict < p->predict ? predict : p->predict;
        p->predict_floor =
            pfloor < p->predict_floor ? pfloor : p->predict_floor;
    }
    p->update_alone = update_floor(2 * (size_t)w * ((size_t)w + 1), (size_t)n,
                                   tnn_get_num_threads(), REPEATS);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(out);
    tnn_model_free(m);
    buffers_free(&b);
    product_reset();
}

int main(int argc, char **argv)
{
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    int max_width = argc > 2 ? atoi(argv[2]) : 4096;
    if (max_threads < 1 || max_width < 1) {
        fprintf(stderr, "usage: bench_sweep [MAX_THREADS [MAX_WIDTH]]\n");
        return 2;
    }
    static const int widths[] = {64, 256, 1024, 4096};
    static const int batches[] = {1, 16, 64, 256, 1024, 4096};
    printf("libtinynn %s, %s\nCPU: %s\n", tnn_version_string(), blas_name(),
           cpu_name());
    printf("dense w -> ReLU -> dense w, MSE, Adam; times in microseconds, "
           "fastest of %d\n",
           REPEATS);
    printf("step: against its products (floor), those and one Adam pass "
           "timed alone (+update), and those products each followed by an "
           "Adam pass over their gradients (then upd.)\n");
    printf("%6s %6s %3s | %9s %9s %5s %9s %5s %9s %5s | %9s %9s %5s\n",
           "width", "batch", "thr", "step", "floor", "ratio", "+update",
           "ratio", "then upd.", "ratio", "predict", "floor", "ratio");
    double worst[4] = {0.0, 0.0, 0.0, 0.0};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++)
            for (int threads = 1; threads <= max_threads; threads++) {
                int w = widths[wi], n = batches[bi];
                if (w > max_width || 5.0 * n * (double)w * w > MAX_STEP_MACS)
                    continue;
                tnn_set_num_threads(threads);
                struct point p;
                measure(w, n, &p);
                double alone = p.step_floor + p.update_alone;
                double r[4] = {p.step / p.step_floor, p.step / alone,
                               p.step / p.then_update,
                               p.predict / p.predict_floor};
                for (int i = 0; i < 4; i++)
                    worst[i] = r[i] > worst[i] ? r[i] : worst[i];
                printf("%6d %6d %3d | %9.1f %9.1f %5.2f %9.1f %5.2f %9.1f "
                       "%5.2f | %9.1f %9.1f %5.2f\n",
                       w, n, threads, 1e6 * p.step, 1e6 * p.step_floor, r[0],
                       1e6 * alone, r[1], 1e6 * p.then_update, r[2],
                       1e6 * p.predict, 1e6 * p.predict_floor, r[3]);
                fflush(stdout);
            }
    printf("floor products on %s\n", product_engine());
    printf("largest ratio: training step %.2f (%.2f with the update alone, "
           "%.2f with it after the products), predict %.2f\n",
           worst[0], worst[1], worst[2], worst[3]);
    return 0;
}
