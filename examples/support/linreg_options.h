/*
 * linreg_options.h - the command line of the linear_regression example.
 */
#ifndef TINYNN_EXAMPLES_LINREG_OPTIONS_H
#define TINYNN_EXAMPLES_LINREG_OPTIONS_H

struct linreg_options {
    double alpha;            /* -a, learning rate, 1e-9 to 10; 0.1 */
    long iterations;         /* -i, gradient steps, >= 1; 3000 */
    double lambda;           /* -l, L2 strength, >= 0; 0 */
    unsigned long long seed; /* -s, of the synthetic data; 7 */
    long samples;            /* -m, number of points, >= 2; 1000 */
    long every;              /* -e, print every N iterations; 500 */
    double tolerance;        /* -t, largest accepted |t_gd - t_closed| */
    const char *out_dir;     /* -o, where cost.svg goes */
};

/* Fills *o from argv over the defaults. 0 on success; -1 after saying on
 * stderr what is wrong (exit status 2). --help prints the usage and exits
 * with status 0. */
int linreg_parse_options(int argc, char **argv, struct linreg_options *o);

#endif
