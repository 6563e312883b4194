/*
 * classifier_report.h - reporting pieces for the examples' classifiers:
 * the per-epoch figures of a training run and their curves, a confusion
 * matrix drawn, and printed with each class's figures from libtinynn's
 * metrics.
 */
#ifndef TINYNN_EXAMPLES_CLASSIFIER_REPORT_H
#define TINYNN_EXAMPLES_CLASSIFIER_REPORT_H

#include <stddef.h>

#define HISTORY_MAX_EPOCHS 1000

/* Loss and accuracy after each epoch, on the training data and on the
 * data evaluated after it (NaN where there was none). Zero-initialise. */
typedef struct history {
    int epochs; /* epochs recorded */
    double loss[HISTORY_MAX_EPOCHS], accuracy[HISTORY_MAX_EPOCHS];
    double val_loss[HISTORY_MAX_EPOCHS], val_accuracy[HISTORY_MAX_EPOCHS];
} history;

/* Records the next epoch's figures; beyond HISTORY_MAX_EPOCHS they are
 * dropped. */
void history_add(history *h, double loss, double accuracy, double val_loss,
                 double val_accuracy);

/* Draws the training curves, loss and accuracy by epoch in two panels,
 * each with a "train" line and one named val_name, into the SVG file path.
 * loss_name labels the loss axis. 0, or -1 with errno set (EINVAL when
 * no epoch was recorded). */
int draw_training_curves(const char *path, const history *h,
                         const char *loss_name, const char *val_name);

/* The pictures of a classifier's run, in dir (created if missing):
 * training.svg, the curves of h with a cross-entropy loss (when h holds an
 * epoch), and confusion.svg, the classes x classes counts titled
 * "<dataset> <val_name> set: confusion matrix" with each row's recall.
 * Prints where they are; -1 after saying why on stderr, after prog. */
int draw_pictures(const char *prog, const char *dir, const char *dataset,
                  const char *val_name, const history *h, const size_t *counts,
                  int classes);

/* Prints the confusion matrix counts[actual * classes + predicted] (at
 * most 256 classes) as libtinynn's table, then each class's accuracy (its
 * recall), precision and F1 and the averaged F1, from libtinynn's
 * metrics. 0, or -1 with the library's error recorded. */
int print_class_report(const size_t *counts, int classes);

#endif
