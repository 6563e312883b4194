/*
 * cost_curves.h - the cost of a minimisation by iteration, drawn as SVG:
 * how it falls, and how its distance to the known optimum shrinks.
 * Independent of libtinynn.
 */
#ifndef TINYNN_EXAMPLES_COST_CURVES_H
#define TINYNN_EXAMPLES_COST_CURVES_H

#include <stddef.h>

/* Writes dir/cost.svg (creating dir if missing) with two panels: the cost
 * costs[i] after i iterations over the first 201, where it falls, and its
 * excess over the optimum best on a log scale, which shows linear convergence
 * down to float rounding (points <= 0 are left out). Prints where it is; -1
 * after saying why on stderr, after prog. */
int draw_cost_curves(const char *prog, const char *dir, const double *costs,
                     size_t n, double best);

#endif
