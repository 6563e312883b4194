/*
 * Reporting pieces of the classifiers (classifier_report.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int draw_pictures(const char *prog, const char *dir, const char *dataset,
                  const char *val_name, const history *h, const int *counts,
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
        rc = svg_write_confusion_matrix(path, title, counts, NULL,
                                        (size_t)classes, 1);
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

void print_confusion_matrix(const int *counts, int classes)
{
    printf("\nConfusion matrix (rows: actual, columns: predicted)\n      ");
    for (int j = 0; j < classes; j++)
        printf("%6d", j);
    printf("\n");
    for (int i = 0; i < classes; i++) {
        printf("%6d", i);
        for (int j = 0; j < classes; j++)
            printf("%6d", counts[i * classes + j]);
        printf("\n");
    }
}

void print_class_accuracy(const int *counts, int classes)
{
    printf("\nPer-class accuracy\n");
    for (int i = 0; i < classes; i++) {
        int total = 0;
        for (int j = 0; j < classes; j++)
            total += counts[i * classes + j];
        printf("  %d: %6.2f%%  (%d of %d)\n", i,
               total ? 100.0 * counts[i * classes + i] / total : 0.0,
               counts[i * classes + i], total);
    }
}
