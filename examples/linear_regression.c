/*
 * linear_regression - batch gradient descent on h(x) = t0 + t1 * x with
 * libtinynn (a dense 1 -> 1 layer, MSE of convention 1/(2m), plain SGD),
 * checked against the closed-form solution.
 *
 * Cost, with the textbook regularisation that includes t0:
 *     J = 1/(2m) * [ sum_i (h(x_i) - y_i)^2 + lambda * (t0^2 + t1^2) ]
 * Update, for j = 0, 1:
 *     t_j := t_j - alpha * [ 1/m * sum_i (h(x_i) - y_i) x_ij + lambda/m t_j ]
 * The library's MSE gives the first term; its coupled weight decay, set to
 * lambda / m on every parameter, gives the second. Gradient descent stops
 * at the t that solves (X^T X + lambda I) t = X^T y (x_i0 = 1), which is
 * what the program compares it with.
 *
 * J is quadratic, with Hessian H = (X^T X + lambda I) / m. With l and L the
 * smallest and largest eigenvalues of H, gradient descent converges for
 * alpha < 2/L, fastest at alpha = 2/(l + L); above 2/L, J grows without
 * bound. Below 2/L every step lowers J, so a J above its starting value
 * shows divergence: the program stops there, at the first such iteration.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn.h>

#include "support/cli.h"
#include "support/svg.h"

struct options {
    double alpha;
    long iterations;
    double lambda;
    unsigned long long seed;
    long samples;
    long every;
    double tolerance;
    const char *out_dir;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: linear_regression [options]\n"
            "  -a, --alpha A       learning rate (default 0.1)\n"
            "  -i, --iterations N  gradient steps (default 3000)\n"
            "  -l, --lambda L      L2 strength as in J above (default 0)\n"
            "  -s, --seed N        seed of the synthetic data (default 7)\n"
            "  -m, --samples N     number of points (default 1000)\n"
            "  -e, --every N       print every N iterations (default 500)\n"
            "  -t, --tolerance T   largest accepted |t_gd - t_closed| "
            "(default 1e-3)\n"
            "  -o, --out DIR       where cost.svg goes (default "
            "out/linear_regression)\n"
            "  -h, --help          this text\n"
            "Data: y = 4 + 3x + N(0, 1) noise, x uniform in [0, 2).\n"
            "Exit status 1 if gradient descent diverges or ends further "
            "than the\ntolerance from the closed form.\n");
}

/* Name the option by its long name, whichever form was typed. */
static void bad_value(const struct option *longopts, int c, const char *text)
{
    while (longopts->name && longopts->val != c)
        longopts++;
    fprintf(stderr, "linear_regression: invalid value '%s' for --%s\n", text,
            longopts->name);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"alpha", required_argument, NULL, 'a'},
        {"iterations", required_argument, NULL, 'i'},
        {"lambda", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"samples", required_argument, NULL, 'm'},
        {"every", required_argument, NULL, 'e'},
        {"tolerance", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct options){0.1,  3000, 0.0,  7,
                          1000, 500,  1e-3, "out/linear_regression"};
    int c;
    long v = 0;
    while ((c = getopt_long(argc, argv, "a:i:l:s:m:e:t:o:h", longopts,
                            NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': bad = cli_parse_double(optarg, 1e-9, 10, &o->alpha); break;
        case 'i':
            bad = cli_parse_long(optarg, 1, 100000000, &o->iterations);
            break;
        case 'l': bad = cli_parse_double(optarg, 0, 1e9, &o->lambda); break;
        case 's':
            bad = cli_parse_long(optarg, 0, 0x7fffffffL, &v);
            if (!bad)
                o->seed = (unsigned long long)v;
            break;
        case 'm':
            bad = cli_parse_long(optarg, 2, 10000000, &o->samples);
            break;
        case 'e': bad = cli_parse_long(optarg, 1, 100000000, &o->every); break;
        case 't': bad = cli_parse_double(optarg, 0, 1e9, &o->tolerance); break;
        case 'o': o->out_dir = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (bad) {
            bad_value(longopts, c, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linear_regression: unexpected argument '%s'\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

/* y = 4 + 3x + N(0, 1), reproducible from the seed. */
static int make_data(const struct options *o, tnn_tensor **x, tnn_tensor **y)
{
    size_t m = (size_t)o->samples;
    tnn_rng *rng = tnn_rng_new(o->seed);
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
 * X^T X + lambda I = [a b; b d] and X^T y = (r0, r1). */
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
    return (struct normal){n + lambda, sx, sxx + lambda, sy, sxy};
}

static void closed_form(const struct normal *e, double t[2])
{
    double det = e->a * e->d - e->b * e->b;
    t[0] = (e->d * e->r0 - e->b * e->r1) / det;
    t[1] = (e->a * e->r1 - e->b * e->r0) / det;
}

/* The step sizes of the header comment, from the eigenvalues of the 2x2
 * Hessian [a b; b d] / m. */
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
    return (sum + lambda * (t0 * t0 + t1 * t1)) / (2.0 * (double)m);
}

static tnn_model *build_model(const struct options *o, tnn_layer **dense)
{
    tnn_model *m = tnn_model_new(1);
    *dense = tnn_dense_new(1, 1);
    tnn_optim *sgd = tnn_sgd_new((float)o->alpha);
    int rc = m && *dense && sgd ? TNN_OK : TNN_E_NOMEM;
    /* theta starts at 0, as in the textbook. */
    if (rc == TNN_OK)
        rc = tnn_dense_set_init(*dense, TNN_INIT_ZEROS, 0.0f);
    if (rc == TNN_OK)
        rc = tnn_optim_set_weight_decay(
            sgd, (float)(o->lambda / (double)o->samples));
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
        fprintf(stderr, "linear_regression: %s\n", tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

/* Two panels: the cost over the first iterations, where it falls, and its
 * excess over the closed-form optimum J* on a log scale, which shows the
 * linear convergence down to float rounding. */
static int write_curve(const char *dir, const double *iters,
                       const double *costs, size_t n, double best)
{
    if (cli_make_dirs(dir)) {
        fprintf(stderr, "linear_regression: cannot create %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    double *excess = malloc(n * sizeof *excess);
    if (!excess)
        return -1;
    for (size_t i = 0; i < n; i++)
        excess[i] = costs[i] - best; /* <= 0 points are left out */
    size_t head = n < 201 ? n : 201;
    svg_series cost_series = {"J", iters, costs, head, NULL};
    svg_series excess_series = {"J - J*", iters, excess, n, "#d62728"};
    svg_panel panels[2] = {{.title = "Cost, first iterations",
                            .x_label = "iteration",
                            .y_label = "J",
                            .series = &cost_series,
                            .n_series = 1},
                           {.title = "Distance to the optimum",
                            .x_label = "iteration",
                            .y_label = "J - J* (log scale)",
                            .series = &excess_series,
                            .n_series = 1,
                            .log_y = 1}};
    char path[4096];
    snprintf(path, sizeof path, "%s/cost.svg", dir);
    int rc = svg_write_line_chart(path, panels, 2);
    free(excess);
    if (rc) {
        fprintf(stderr, "linear_regression: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    printf("Cost curve: %s\n", path);
    return 0;
}

/* What one run works on; t0 and t1 are the dense layer's bias and weight,
 * which the library updates in place. */
struct run {
    tnn_tensor *x, *y;
    tnn_model *model;
    const float *t0, *t1;
    double *iters, *costs; /* J at iterations 0 to o->iterations */
};

static void say_diverges(const struct options *o, const struct limits *lim,
                         long it, const char *how)
{
    fflush(stdout); /* the table first, also when both go to one file */
    fprintf(stderr,
            "linear_regression: gradient descent diverges at iteration "
            "%ld: %s\nlinear_regression: alpha = %g is too large for these "
            "data; try a smaller alpha (below 2/L = %.4g)\n",
            it, how, o->alpha, lim->diverges);
}

/* Gradient descent from t = 0, printing every o->every iterations. 0 when
 * every iteration ran; 1 when it diverged, -1 on other failures, both said
 * and with nothing printed of the values that diverged. */
static int descend(const struct options *o, const struct limits *lim,
                   struct run *r)
{
    for (long it = 0; it <= o->iterations; it++) {
        double j = cost(r->x, r->y, *r->t0, *r->t1, o->lambda);
        r->costs[it] = j;
        r->iters[it] = (double)it;
        /* A J that is not finite covers parameters that are not. */
        if (!isfinite(j)) {
            say_diverges(o, lim, it, "J is no longer finite");
            return 1;
        }
        if (j > r->costs[0]) {
            char how[96];
            snprintf(how, sizeof how, "J = %.6g, above its start %.6g", j,
                     r->costs[0]);
            say_diverges(o, lim, it, how);
            return 1;
        }
        if (it % o->every == 0 || it == o->iterations)
            printf("%10ld %12.6f %12.6f %14.8f\n", it, *r->t0, *r->t1, j);
        if (it == o->iterations)
            break;
        int rc = tnn_model_train_batch(r->model, r->x, r->y, NULL);
        /* The library's own check of the loss and the parameters: its
         * float values can overflow before the double J above does. */
        if (rc == TNN_E_NUMERIC) {
            say_diverges(o, lim, it + 1,
                         "the library found values that are not finite");
            return 1;
        }
        if (rc != TNN_OK) {
            fprintf(stderr, "linear_regression: %s\n", tnn_last_error());
            return -1;
        }
    }
    return 0;
}

/* Why a run that kept finite ended away from the optimum: too few
 * iterations, or a step on the wrong side of the fastest one. */
static void say_disagree(double alpha, const struct limits *lim)
{
    printf("result: DISAGREE (more iterations or a %s alpha? It is fastest "
           "at %.4g)\n",
           alpha > lim->fastest ? "smaller" : "larger", lim->fastest);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o))
        return 2;
    tnn_layer *dense = NULL;
    struct run r = {.iters = calloc((size_t)o.iterations + 1, sizeof *r.iters),
                    .costs =
                        calloc((size_t)o.iterations + 1, sizeof *r.costs)};
    int status = 2;
    if (!r.iters || !r.costs || make_data(&o, &r.x, &r.y) ||
        !(r.model = build_model(&o, &dense)))
        goto done;
    r.t1 = tnn_tensor_cdata(tnn_layer_param(dense, 0));
    r.t0 = tnn_tensor_cdata(tnn_layer_param(dense, 1));

    struct normal eq = normal_equations(r.x, r.y, o.lambda);
    struct limits lim = step_limits(&eq, (double)o.samples);
    printf("Linear regression by gradient descent: m = %ld, alpha = %g, "
           "lambda = %g, seed %llu\n\n%10s %12s %12s %14s\n",
           o.samples, o.alpha, o.lambda, o.seed, "iteration", "t0", "t1", "J");
    int rc = descend(&o, &lim, &r);
    if (rc) {
        status = rc > 0 ? 1 : 2;
        goto done;
    }

    double t[2];
    closed_form(&eq, t);
    double d0 = fabs(*r.t0 - t[0]), d1 = fabs(*r.t1 - t[1]);
    printf("\n%-18s %12s %12s\n", "", "t0", "t1");
    printf("%-18s %12.6f %12.6f\n", "gradient descent", *r.t0, *r.t1);
    printf("%-18s %12.6f %12.6f\n", "closed form", t[0], t[1]);
    printf("%-18s %12.2e %12.2e   (tolerance %g)\n", "difference", d0, d1,
           o.tolerance);
    if (write_curve(o.out_dir, r.iters, r.costs, (size_t)o.iterations + 1,
                    cost(r.x, r.y, t[0], t[1], o.lambda)))
        goto done;
    if (d0 <= o.tolerance && d1 <= o.tolerance) {
        printf("result: agree\n");
        status = 0;
    } else {
        say_disagree(o.alpha, &lim);
        status = 1;
    }
done:
    tnn_model_free(r.model);
    tnn_tensor_free(r.x);
    tnn_tensor_free(r.y);
    free(r.iters);
    free(r.costs);
    return status;
}
