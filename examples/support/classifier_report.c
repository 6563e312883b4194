/*
 * Reporting pieces of the classifiers (classifier_report.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn.h>

#include "classifier_report.h"
#include "cli.h"
#include "confusion_chart.h"
#include "line_chart.h"

void history_add(history *h, double loss, double accuracy, double val_loss,
                 double val_accuracy)
{
    if (h->epochs >= HISTORY_MAX_EPOCHS)
        return;
    h->loss[h->epochs] = loss;
    h->accuracy[h->epochs] = accuracy;
    h->val_loss[h->epochs] = val_loss;
    h->val_accuracy[h->epochs] = val_accuracy;
    h->epochs++;
}

int draw_training_curves(const char *path, const history *h,
                         const char *loss_name, const char *val_name)
{
    if (h->epochs == 0) {
        errno = EINVAL;
        return -1;
    }
    double epoch[HISTORY_MAX_EPOCHS];
    for (int e = 0; e < h->epochs; e++)
        epoch[e] = e + 1;
    size_t n = (size_t)h->epochs;
    svg_series loss[] = {{"train", epoch, h->loss, n, NULL},
                         {val_name, epoch, h->val_loss, n, NULL}};
    svg_series accuracy[] = {{"train", epoch, h->accuracy, n, NULL},
                             {val_name, epoch, h->val_accuracy, n, NULL}};
    svg_panel panels[] = {
        {"Loss", "epoch", loss_name, loss, 2, 0, 0, 0, 0, 0},
        {"Accuracy", "epoch", "accuracy", accuracy, 2, 0, 0, 0, 0, 0}};
    return svg_write_line_chart(path, panels, 2);
}

/* The chart takes int counts; the library's are size_t. */
static int *int_counts(const size_t *counts, int classes)
{
    size_t n = (size_t)classes * (size_t)classes;
    int *shown = malloc(n * sizeof *shown);
    for (size_t i = 0; shown && i < n; i++)
        shown[i] = counts[i] > 2147483647u ? 2147483647 : (int)counts[i];
    return shown;
}

int draw_pictures(const char *prog, const char *dir, const char *dataset,
                  const char *val_name, const history *h, const size_t *counts,
                  int classes)
{
    char path[4096], title[128];
    if (cli_make_dirs(dir)) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/training.svg", dir);
    int rc = h->epochs > 0
                 ? draw_training_curves(path, h, "cross-entropy", val_name)
                 : 0;
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/confusion.svg", dir);
        snprintf(title, sizeof title, "%s %s set: confusion matrix", dataset,
                 val_name);
        int *shown = int_counts(counts, classes);
        rc = shown ? svg_write_confusion_matrix(path, title, shown, NULL,
                                                (size_t)classes, 1)
                   : -1;
        free(shown);
    }
    if (rc) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        return -1;
    }
    if (h->epochs > 0)
        printf("\nPictures: %s/training.svg, %s\n", dir, path);
    else
        printf("\nPicture: %s\n", path);
    return 0;
}

int print_class_report(const size_t *counts, int classes)
{
    double precision[256], recall[256], f1[256];
    size_t support[256];
    size_t k = (size_t)classes;
    printf("\nConfusion matrix (rows: actual, columns: predicted)\n");
    if (classes > 256 || tnn_confusion_matrix_print(stdout, counts, k) ||
        tnn_class_scores(counts, k, precision, recall, f1, support))
        return -1;
    /* A class's accuracy is its recall: its share of correct answers. */
    printf("\nPer-class accuracy (recall), precision and F1\n");
    for (size_t i = 0; i < k; i++)
        printf("  %zu: %6.2f%%  (%zu of %zu)  precision %6.2f%%  F1 %.4f\n", i,
               100.0 * recall[i], counts[i * k + i], support[i],
               100.0 * precision[i], f1[i]);
    double macro, weighted;
    if (tnn_f1_score(counts, k, TNN_AVERAGE_MACRO, &macro) ||
        tnn_f1_score(counts, k, TNN_AVERAGE_WEIGHTED, &weighted))
        return -1;
    printf("  F1: macro %.4f, weighted %.4f\n", macro, weighted);
    return 0;
}
