/*
 * selftest.c - exercises the charts (svg.c, line_chart.c,
 * confusion_chart.c) and the progress line (progress.c); not part of any
 * example and not built by the Makefile.
 *
 *   cc -std=c11 -Iexamples/support examples/support/selftest.c \
 *      examples/support/svg.c examples/support/line_chart.c \
 *      examples/support/confusion_chart.c examples/support/progress.c \
 *      -lm -o selftest
 *   ./selftest OUT_DIR [--live]
 *
 * Writes sample charts into OUT_DIR (which must exist), checks the error
 * paths and the exact text of the progress line, and with --live (or when
 * stdout is a terminal) animates two epochs on stdout.  Exit status 0
 * means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "confusion_chart.h"
#include "line_chart.h"
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

static void join_path(char *out, size_t size, const char *dir,
                      const char *file)
{
    snprintf(out, size, "%s/%s", dir, file);
}

/* ---- charts -------------------------------------------------------------
 */

static void write_training_chart(const char *dir)
{
    static const double epochs[] = {1, 2, 3, 4, 5};
    static const double train_loss[] = {0.3412, 0.1523, 0.1085, 0.0841,
                                        0.0677};
    static const double test_loss[] = {0.1821, 0.1297, 0.1034, 0.0921, 0.0868};
    static const double train_acc[] = {0.9012, 0.9551, 0.9683, 0.9752, 0.9801};
    static const double test_acc[] = {0.9448, 0.9612, 0.9688, 0.9721, 0.9738};
    const svg_series loss[] = {
        {"train", epochs, train_loss, 5, "#1f77b4"},
        {"test", epochs, test_loss, 5, "#ff7f0e"},
    };
    const svg_series accuracy[] = {
        {"train", epochs, train_acc, 5, "#1f77b4"},
        {"test", epochs, test_acc, 5, "#ff7f0e"},
    };
    const svg_panel panels[] = {
        {.title = "Loss",
         .x_label = "epoch",
         .y_label = "cross-entropy",
         .series = loss,
         .n_series = 2},
        {.title = "Accuracy",
         .x_label = "epoch",
         .y_label = "accuracy",
         .series = accuracy,
         .n_series = 2},
    };
    char path[1024];
    join_path(path, sizeof path, dir, "training.svg");
    check(svg_write_line_chart(path, panels, 2) == 0, "training.svg");
}

/* Gradient descent on a least-squares cost: a fast then a slow mode
 * decaying towards the noise floor, as with badly scaled features. */
static double regression_cost(double iteration)
{
    return 0.0213 + 38.0 * exp(-iteration / 40.0) +
           2.5 * exp(-iteration / 450.0);
}

static void write_cost_charts(const char *dir)
{
    enum { ITERATIONS = 2000 };
    static double iteration[ITERATIONS], cost[ITERATIONS];
    for (int i = 0; i < ITERATIONS; i++) {
        iteration[i] = i;
        cost[i] = regression_cost(i);
    }
    const svg_series series = {"J", iteration, cost, ITERATIONS, NULL};
    svg_panel panel = {.title = "Cost J(\u03b8) during gradient descent",
                       .x_label = "iteration",
                       .y_label = "J(\u03b8)",
                       .series = &series,
                       .n_series = 1,
                       .log_y = 1};
    char path[1024];
    join_path(path, sizeof path, dir, "cost_log.svg");
    check(svg_write_line_chart(path, &panel, 1) == 0, "cost_log.svg");
    panel.log_y = 0;
    join_path(path, sizeof path, dir, "cost_linear.svg");
    check(svg_write_line_chart(path, &panel, 1) == 0, "cost_linear.svg");
}

/* Awkward input: markup in text, NaN gaps, negative and constant data,
 * a lone point, an empty series, a fixed range and many decades. */
static void write_edge_case_chart(const char *dir)
{
    static double x[40], wave[40], flat[40], tiny[40];
    for (int i = 0; i < 40; i++) {
        x[i] = -2.0 + 0.1 * i;
        wave[i] = i == 17 ? NAN : sin(x[i] * 2.0) * 1500.0;
        flat[i] = 42.0;
        tiny[i] = pow(10.0, -8.0 + 0.3 * i);
    }
    static const double lone_x[] = {3.0}, lone_y[] = {-0.25};
    const svg_series mixed[] = {
        {"sin <2x> & \"friends\"", x, wave, 40, NULL},
        {"lone point", lone_x, lone_y, 1, NULL},
        {"empty", NULL, NULL, 0, NULL},
        {NULL, x, wave, 5, "green"},
    };
    const svg_series constant[] = {{"flat 42", x, flat, 40, "#9467bd"}};
    const svg_series decades[] = {{"10^(0.3i - 8)", x, tiny, 40, NULL}};
    const svg_panel panels[] = {
        {.title = "Escaping <&> 'quotes' \u2013 \u00b5",
         .x_label = "x < 0 & x > 0",
         .y_label = "value",
         .series = mixed,
         .n_series = 4},
        {.title = "Constant, fixed x range",
         .x_label = "x",
         .y_label = "y",
         .series = constant,
         .n_series = 1,
         .x_min = -1.0,
         .x_max = 1.0},
        {.title = "Eleven decades",
         .x_label = "x",
         .y_label = "y (log)",
         .series = decades,
         .n_series = 1,
         .log_y = 1},
    };
    char path[1024];
    join_path(path, sizeof path, dir, "edge_cases.svg");
    check(svg_write_line_chart(path, panels, 3) == 0, "edge_cases.svg");
}

/* MNIST test-set class sizes with a plausible ~97.6% accurate model. */
static void write_mnist_confusion(const char *dir)
{
    static const int class_size[10] = {980, 1135, 1032, 1010, 982,
                                       892, 958,  1028, 974,  1009};
    /* Off-diagonal errors, rows = actual, columns = predicted. */
    static const int errors[10][10] = {
        {0, 0, 1, 1, 0, 2, 4, 1, 3, 0},  {0, 0, 3, 1, 0, 1, 2, 1, 4, 0},
        {5, 2, 0, 5, 2, 0, 3, 8, 7, 1},  {0, 0, 4, 0, 0, 9, 0, 5, 6, 3},
        {1, 0, 3, 0, 0, 0, 5, 2, 2, 14}, {2, 0, 0, 11, 1, 0, 6, 1, 5, 2},
        {6, 3, 1, 0, 4, 7, 0, 0, 3, 0},  {1, 6, 11, 2, 1, 0, 0, 0, 2, 7},
        {4, 1, 4, 8, 3, 6, 3, 4, 0, 4},  {3, 5, 0, 6, 12, 3, 1, 7, 4, 0},
    };
    int counts[100];
    for (int row = 0; row < 10; row++) {
        int wrong = 0;
        for (int col = 0; col < 10; col++) {
            counts[row * 10 + col] = errors[row][col];
            wrong += errors[row][col];
        }
        counts[row * 10 + row] = class_size[row] - wrong;
    }
    static const char *const digits[] = {"0", "1", "2", "3", "4",
                                         "5", "6", "7", "8", "9"};
    char path[1024];
    join_path(path, sizeof path, dir, "confusion.svg");
    check(svg_write_confusion_matrix(path, "MNIST test set", counts, digits,
                                     10, 1) == 0,
          "confusion.svg");

    /* Same counts with long names: the column labels must slant. */
    static const char *const fashion[] = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    join_path(path, sizeof path, dir, "confusion_names.svg");
    check(svg_write_confusion_matrix(path, "Long <class> names & no recall",
                                     counts, fashion, 10, 0) == 0,
          "confusion_names.svg");

    static const int small[9] = {50, 3, 0, 7, 41, 2, 0, 0, 0};
    join_path(path, sizeof path, dir, "confusion_small.svg");
    check(svg_write_confusion_matrix(path, "3 classes, empty last row", small,
                                     NULL, 3, 1) == 0,
          "confusion_small.svg");
}

static void check_svg_errors(const char *dir)
{
    static const double v[] = {1.0};
    const svg_series s = {"s", v, v, 1, NULL};
    const svg_panel panel = {.title = "t", .series = &s, .n_series = 1};
    errno = 0;
    check(svg_write_line_chart("/nonexistent-dir/x.svg", &panel, 1) == -1 &&
              errno == ENOENT,
          "missing directory gives -1/ENOENT");
    errno = 0;
    check(svg_write_line_chart(NULL, &panel, 1) == -1 && errno == EINVAL,
          "NULL path gives -1/EINVAL");
    char path[1024];
    join_path(path, sizeof path, dir, "never.svg");
    errno = 0;
    check(svg_write_confusion_matrix(path, "t", NULL, NULL, 0, 0) == -1 &&
              errno == EINVAL,
          "empty confusion matrix gives -1/EINVAL");
    static const int negative[1] = {-1};
    errno = 0;
    check(svg_write_confusion_matrix(path, "t", negative, NULL, 1, 0) == -1 &&
              errno == EINVAL,
          "negative count gives -1/EINVAL");
    check(access(path, F_OK) != 0, "failed write leaves no file");
}

/* ---- progress line ------------------------------------------------------
 */

/* Everything written to a temporary stream, as one string. */
static char *contents(FILE *f)
{
    long size = ftell(f);
    char *text = calloc((size_t)size + 1, 1);
    if (!text)
        return NULL;
    rewind(f);
    size_t got = fread(text, 1, (size_t)size, f);
    text[got] = '\0';
    return text;
}

static void run_epoch(progress *p, long steps, double seconds_per_step)
{
    for (long step = 1; step <= steps; step++) {
        double fraction = (double)step / (double)steps;
        progress_update(p, step, 0.35 - 0.2 * fraction, 0.90 + 0.07 * fraction,
                        seconds_per_step * (double)step);
    }
}

static void check_plain_progress(void)
{
    FILE *f = tmpfile();
    if (!f) {
        check(0, "tmpfile");
        return;
    }
    progress p;
    progress_begin_epoch(&p, f, 2, 5, 938);
    run_epoch(&p, 938, 0.0054);
    progress_end_epoch(&p, 5.1, 0.0812, 0.9751, 0.0790, 0.9760);
    progress_begin_epoch(&p, f, 1, 1, 100);
    run_epoch(&p, 100, 0.0026);
    progress_end_epoch(&p, 0.26, 1.234e-5, NAN, NAN, NAN);
    char *text = contents(f);
    const char *expected =
        "Epoch 2/5 - 938/938 - 5.1s 5ms/step - loss: 0.0812 - "
        "accuracy: 0.9751 - val_loss: 0.0790 - val_accuracy: 0.9760\n"
        "Epoch 1/1 - 100/100 - 0.3s 3ms/step - loss: 1.2340e-05\n";
    check(text && strcmp(text, expected) == 0, "plain progress lines");
    if (text && strcmp(text, expected) != 0)
        fprintf(stderr, "got:\n%s", text);
    free(text);
    fclose(f);
}

static void check_interactive_progress(void)
{
    FILE *f = tmpfile();
    if (!f) {
        check(0, "tmpfile");
        return;
    }
    progress p;
    progress_begin_epoch(&p, f, 1, 3, 938);
    progress_set_interactive(&p, 1, 70);
    run_epoch(&p, 938, 0.001); /* 0.94 s: about 19 redraws */
    progress_end_epoch(&p, 0.938, 0.15, 0.97, NAN, 0.968);
    char *text = contents(f);
    int redraws = 0;
    size_t longest = 0;
    for (char *seg = text ? strtok(text, "\r") : NULL; seg;
         seg = strtok(NULL, "\r")) {
        redraws++;
        if (strchr(seg, '\n') == NULL)
            longest = strlen(seg) > longest ? strlen(seg) : longest;
    }
    check(redraws >= 15 && redraws <= 25, "redraws are throttled");
    check(longest <= 69, "mid-epoch lines fit the terminal width");
    free(text);
    fclose(f);

    f = tmpfile();
    if (!f)
        return;
    progress_begin_epoch(&p, f, 1, 3, 938);
    progress_set_interactive(&p, 1, 0);
    progress_update(&p, 412, 0.1234, 0.963, 412 * 0.0073);
    progress_end_epoch(&p, 5.2, 0.0812, 0.9751, NAN, NAN);
    text = contents(f);
    const char *expected =
        "\r412/938 [============>.................] - 3s 7ms/step - "
        "loss: 0.1234 - accuracy: 0.9630 - ETA: 4s"
        "\r938/938 [==============================] - 5s 6ms/step - "
        "loss: 0.0812 - accuracy: 0.9751" /* then blanks the old ETA */
        "          \n";
    check(text && strcmp(text, expected) == 0, "interactive progress text");
    if (text && strcmp(text, expected) != 0)
        fprintf(stderr, "got:\n%s\n", text);
    free(text);
    fclose(f);
}

static void sleep_seconds(double seconds)
{
    struct timespec pause = {0, (long)(seconds * 1e9)};
    nanosleep(&pause, NULL);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) * 1e-9;
}

/* Two real-time epochs on stdout, to watch the in-place redraw. */
static void live_demo(void)
{
    progress p;
    for (int epoch = 1; epoch <= 2; epoch++) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        progress_begin_epoch(&p, stdout, epoch, 2, 300);
        for (long step = 1; step <= 300; step++) {
            sleep_seconds(0.004);
            progress_update(&p, step, 0.5 / (double)(epoch * step + 10),
                            1.0 - 0.3 / (double)step, seconds_since(&start));
        }
        progress_end_epoch(&p, seconds_since(&start), 0.0123, 0.981, 0.0151,
                           epoch == 1 ? NAN : 0.977);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [--live]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    write_training_chart(dir);
    write_cost_charts(dir);
    write_edge_case_chart(dir);
    write_mnist_confusion(dir);
    check_svg_errors(dir);
    check_plain_progress();
    check_interactive_progress();
    if ((argc > 2 && strcmp(argv[2], "--live") == 0) || isatty(STDOUT_FILENO))
        live_demo();
    if (failures == 0)
        printf("selftest: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
