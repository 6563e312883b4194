/*
 * linear_regression - batch gradient descent on h(x) = t0 + t1 * x with
 * libtinynn (a dense 1 -> 1 layer, MSE of convention 1/(2m), plain SGD),
 * checked against the closed-form solution.
 *
 * Update, for j = 0 and 1 (x_i0 = 1), the regularised rule of the
 * textbook exercise, t0 included:
 *     t_j := t_j - alpha * [ 1/m * sum_i (h(x_i) - y_i) x_ij + lambda * t_j ]
 * which is gradient descent on
 *     J = 1/(2m) * sum_i (h(x_i) - y_i)^2 + lambda/2 * (t0^2 + t1^2).
 * The library's MSE gives the first term; its coupled weight decay, set to
 * lambda on every parameter, gives the second. Gradient descent stops at
 * the t where the bracket is 0, the solution of
 *     (X^T X + m lambda I) t = X^T y,
 * which is what the program compares it with. (The form with lambda/(2m)
 * on the penalty is the same rule with lambda / m in place of lambda.)
 *
 * J is quadratic, with Hessian H = (X^T X + m lambda I) / m. With l and L the
 * smallest and largest eigenvalues of H, gradient descent converges for
 * alpha < 2/L, fastest at alpha = 2/(l + L); above 2/L, J grows without
 * bound. Below 2/L every step lowers J, so a J above its starting value
 * shows divergence: the program stops there, at the first such iteration.
 *
 * main() reads top to bottom: make the data, solve the normal equations,
 * build the model, descend, compare, draw. The command line and the chart
 * are in support/.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tinynn.h>

#include "support/cost_curves.h"
#include "support/linreg_options.h"

#define PROG "linear_regression"

/* m points of y = 4 + 3x + N(0, 1), x uniform in [0, 2), as (m, 1)
 * tensors; the seed's generator makes them the same on every run. */
static int make_data(size_t m, unsigned long long seed, tnn_tensor **x,
                     tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(seed);
    *x = tnn_tensor_new_2d(m, 1);
    *y = tnn_tensor_new_2d(m, 1);
    if (!rng || !*x || !*y) {
        tnn_rng_free(rng);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        double xi = 2.0 * tnn_rng_uniform(rng);
        tnn_tensor_data(*x)[i] = (float)xi;
        tnn_tensor_data(*y)[i] = (float)(4.0 + 3.0 * xi + tnn_rng_normal(rng));
    }
    tnn_rng_free(rng);
    return 0;
}

/* The normal equations for the columns (1, x), in double:
 * X^T X + m lambda I = [a b; b d] and X^T y = (r0, r1). */
struct normal {
    double a, b, d, r0, r1;
};

static struct normal normal_equations(const tnn_tensor *x, const tnn_tensor *y,
                                      double lambda)
{
    double n = 0, sx = 0, sxx = 0, sy = 0, sxy = 0;
    for (size_t i = 0; i < tnn_tensor_size(x); i++) {
        double xi = tnn_tensor_cdata(x)[i], yi = tnn_tensor_cdata(y)[i];
        n += 1;
        sx += xi;
        sxx += xi * xi;
        sy += yi;
        sxy += xi * yi;
    }
    return (struct normal){n + n * lambda, sx, sxx + n * lambda, sy, sxy};
}

/* Their solution t = (t0, t1), by Cramer's rule. */
static void closed_form(const struct normal *e, double t[2])
{
    double det = e->a * e->d - e->b * e->b;
    t[0] = (e->d * e->r0 - e->b * e->r1) / det;
    t[1] = (e->a * e->r1 - e->b * e->r0) / det;
}

/* The step sizes of the header comment, from the eigenvalues of the 2x2
 * Hessian [a b; b d] / m; they only go into the advice printed when the
 * descent fails. */
struct limits {
    double diverges; /* 2/L: from here on gradient descent diverges */
    double fastest;  /* 2/(l + L) */
};

static struct limits step_limits(const struct normal *e, double m)
{
    double mean = (e->a + e->d) / 2, half = (e->a - e->d) / 2;
    double large = mean + sqrt(half * half + e->b * e->b);
    /* The small one as det / large, without mean - root's cancellation. */
    double small = (e->a * e->d - e->b * e->b) / large;
    return (struct limits){2 * m / large, 2 * m / (small + large)};
}

/* The regularised cost J of the header comment, in double. */
static double cost(const tnn_tensor *x, const tnn_tensor *y, double t0,
                   double t1, double lambda)
{
    double sum = 0;
    size_t m = tnn_tensor_size(x);
    for (size_t i = 0; i < m; i++) {
        double e = t0 + t1 * tnn_tensor_cdata(x)[i] - tnn_tensor_cdata(y)[i];
        sum += e * e;
    }
    return sum / (2.0 * (double)m) + lambda / 2.0 * (t0 * t0 + t1 * t1);
}

/* h(x) = t0 + t1 x is a dense layer of one input and one output: t1 is its
 * weight, t0 its bias. Its loss is the MSE (the model's default), its
 * optimizer plain SGD with the L2 term as weight decay. *dense is the
 * layer, which the model owns. */
static tnn_model *build_model(const struct linreg_options *o,
                              tnn_layer **dense)
{
    tnn_model *m = tnn_model_new(1);
    *dense = tnn_dense_new(1, 1);
    tnn_optim *sgd = tnn_sgd_new((float)o->alpha);
    int rc = m && *dense && sgd ? TNN_OK : TNN_E_NOMEM;
    /* theta starts at 0, as in the textbook. */
    if (rc == TNN_OK)
        rc = tnn_dense_set_init(*dense, TNN_INIT_ZEROS, 0.0f);
    /* Coupled decay adds lambda * t_j to each gradient, the update of
     * the header comment. */
    if (rc == TNN_OK)
        rc = tnn_optim_set_weight_decay(sgd, (float)o->lambda);
    if (rc == TNN_OK)
        rc = tnn_optim_set_decay_all(sgd, 1); /* t0 is regularised too */
    if (rc == TNN_OK) {
        rc = tnn_model_add(m, *dense); /* owned by the model from here */
        *dense = rc == TNN_OK ? *dense : NULL;
    } else {
        tnn_layer_free(*dense);
    }
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, sgd);
    else
        tnn_optim_free(sgd);
    if (rc != TNN_OK) {
        fprintf(stderr, PROG ": %s\n", tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

static void say_diverges(const struct linreg_options *o,
                         const struct limits *lim, long it, const char *how)
{
    fflush(stdout); /* the table first, also when both go to one file */
    fprintf(stderr,
            PROG ": gradient descent diverges at iteration %ld: %s\n" PROG
                 ": alpha = %g is too large for these data; try a smaller "
                 "alpha (below 2/L = %.4g)\n",
            it, how, o->alpha, lim->diverges);
}

/* Gradient descent from t = 0: one tnn_model_train_batch() on all the data
 * per iteration, costs[it] = J before step it + 1, a line printed every
 * o->every iterations. 0 when every iteration ran; 1 when it diverged, -1
 * on other failures, both said, with nothing printed of the values that
 * diverged. t0 and t1 point into the layer's parameters, which the
 * library updates in place. */
static int descend(const struct linreg_options *o, const struct limits *lim,
                   tnn_model *model, const tnn_tensor *x, const tnn_tensor *y,
                   const float *t0, const float *t1, double *costs)
{
    for (long it = 0; it <= o->iterations; it++) {
        double j = cost(x, y, *t0, *t1, o->lambda);
        costs[it] = j;
        /* A J that is not finite covers parameters that are not. */
        if (!isfinite(j)) {
            say_diverges(o, lim, it, "J is no longer finite");
            return 1;
        }
        if (j > costs[0]) {
            char how[96];
            snprintf(how, sizeof how, "J = %.6g, above its start %.6g", j,
                     costs[0]);
            say_diverges(o, lim, it, how);
            return 1;
        }
        if (it % o->every == 0 || it == o->iterations)
            printf("%10ld %12.6f %12.6f %14.8f\n", it, *t0, *t1, j);
        if (it == o->iterations)
            break;
        int rc = tnn_model_train_batch(model, x, y, NULL);
        /* The library's own check of the loss and the parameters: its
         * float values can overflow before the double J above does. */
        if (rc == TNN_E_NUMERIC) {
            say_diverges(o, lim, it + 1,
                         "the library found values that are not finite");
            return 1;
        }
        if (rc != TNN_OK) {
            fprintf(stderr, PROG ": %s\n", tnn_last_error());
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct linreg_options o;
    if (linreg_parse_options(argc, argv, &o))
        return 2;
    size_t m = (size_t)o.samples, n = (size_t)o.iterations + 1;
    tnn_tensor *x = NULL, *y = NULL;
    tnn_model *model = NULL;
    double *costs = calloc(n, sizeof *costs); /* J by iteration */
    int status = 2;

    /* 1. The data, the closed-form solution t of the normal equations,
     * which gradient descent should reach, and the limits of alpha. */
    if (!costs || make_data(m, o.seed, &x, &y))
        goto done;
    struct normal eq = normal_equations(x, y, o.lambda);
    double t[2];
    closed_form(&eq, t);
    struct limits lim = step_limits(&eq, (double)m);

    /* 2. The model, and where its parameters are. */
    tnn_layer *dense;
    if (!(model = build_model(&o, &dense)))
        goto done;
    const float *t1 = tnn_tensor_cdata(tnn_layer_param(dense, 0));
    const float *t0 = tnn_tensor_cdata(tnn_layer_param(dense, 1));

    /* 3. Gradient descent. */
    printf("Linear regression by gradient descent: m = %ld, alpha = %g, "
           "lambda = %g, seed %llu\n"
           "update: t_j := t_j - alpha * (1/m * sum((h(x) - y) * x_j) + "
           "lambda * t_j), j = 0, 1\n"
           "which converges to the t of (X^T X + m * lambda * I) t = X^T y\n\n"
           "%10s %12s %12s %14s\n",
           o.samples, o.alpha, o.lambda, o.seed, "iteration", "t0", "t1", "J");
    int rc = descend(&o, &lim, model, x, y, t0, t1, costs);
    if (rc) {
        status = rc > 0 ? 1 : 2;
        goto done;
    }

    /* 4. Where it ended against the closed form, and the cost curve. */
    double d0 = fabs(*t0 - t[0]), d1 = fabs(*t1 - t[1]);
    printf("\n%-18s %12s %12s\n", "", "t0", "t1");
    printf("%-18s %12.6f %12.6f\n", "gradient descent", *t0, *t1);
    printf("%-18s %12.6f %12.6f\n", "closed form", t[0], t[1]);
    printf("%-18s %12.2e %12.2e   (tolerance %g)\n", "difference", d0, d1,
           o.tolerance);
    if (draw_cost_curves(PROG, o.out_dir, costs, n,
                         cost(x, y, t[0], t[1], o.lambda)))
        goto done;
    if (d0 <= o.tolerance && d1 <= o.tolerance) {
        printf("result: agree\n");
        status = 0;
    } else {
        /* Still finite, but away from the optimum: too few iterations, or
         * a step on the wrong side of the fastest one. */
        printf("result: DISAGREE (more iterations or a %s alpha? It is "
               "fastest at %.4g)\n",
               o.alpha > lim.fastest ? "smaller" : "larger", lim.fastest);
        status = 1;
    }
done:
    tnn_model_free(model);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    free(costs);
    return status;
}
