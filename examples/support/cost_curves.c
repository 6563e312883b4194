/*
 * Cost curves of a minimisation (cost_curves.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost_curves.h"
#include "line_chart.h"

int draw_cost_curves(const char *prog, const char *dir, const double *costs,
                     size_t n, double best)
{
    if (cli_make_dirs(dir)) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir,
                strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cost.svg", dir);
    double *iters = malloc(n * sizeof *iters);
    double *excess = malloc(n * sizeof *excess);
    if (!iters || !excess) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        free(iters);
        free(excess);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        iters[i] = (double)i;
        excess[i] = costs[i] - best;
    }
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
    int rc = svg_write_line_chart(path, panels, 2);
    free(iters);
    free(excess);
    if (rc) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        return -1;
    }
    printf("Cost curve: %s\n", path);
    return 0;
}
