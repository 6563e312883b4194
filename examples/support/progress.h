/*
 * progress.h - a Keras-like training progress line for the examples.
 *
 * On a terminal the line is redrawn in place with '\r' (at most about 20
 * times a second, the last step always):
 *
 *   Epoch 2/5
 *   412/938 [============>.................] - 3s 7ms/step - loss: 0.1234
 *   - accuracy: 0.9630 - ETA: 4s
 *
 * (one line on screen), and progress_end_epoch() leaves the final state:
 *
 *   938/938 [==============================] - 5s 5ms/step - loss: 0.0812
 *   - accuracy: 0.9751 - val_loss: 0.0790 - val_accuracy: 0.9760
 *
 * Into a file or pipe nothing is drawn during the epoch, and its end
 * prints one plain line:
 *
 *   Epoch 2/5 - 938/938 - 5.1s 5ms/step - loss: 0.0812 - accuracy: 0.9751
 *   - val_loss: 0.0790 - val_accuracy: 0.9760
 *
 * Metrics given as NaN (accuracy of a regression, missing validation data)
 * are left out.  Times come from the caller's clock as seconds since the
 * start of the epoch, so this code reads no clock and is deterministic.
 * Plain C11 + POSIX (isatty, ioctl); independent of libtinynn.
 */
#ifndef TINYNN_EXAMPLES_PROGRESS_H
#define TINYNN_EXAMPLES_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

/* State of one progress line; filled in by progress_begin_epoch(). */
typedef struct progress {
    FILE *stream;
    int interactive; /* redraw in place: the stream is a terminal */
    int epoch, epochs;
    long steps;         /* steps (batches) in this epoch */
    int columns;        /* terminal width, 0 when unknown */
    double last_draw;   /* elapsed seconds at the last redraw, < 0: none */
    size_t drawn_chars; /* length of the line now on screen */
} progress;

/* Starts epoch `epoch` of `epochs` (both counted from 1) with `steps`
 * steps, writing to `stream`.  On a terminal, prints "Epoch e/E". */
void progress_begin_epoch(progress *p, FILE *stream, int epoch, int epochs,
                          long steps);

/* Reports that `step` steps (1..steps) are done after `elapsed` seconds,
 * with the running loss and accuracy (NaN to omit).  Cheap to call on
 * every step: redraws are throttled and only happen on a terminal. */
void progress_update(progress *p, long step, double loss, double accuracy,
                     double elapsed);

/* Ends the epoch after `elapsed` seconds with its final metrics (NaN to
 * omit) and finishes the line with '\n'. */
void progress_end_epoch(progress *p, double elapsed, double loss,
                        double accuracy, double val_loss, double val_accuracy);

/* Overrides the terminal detection of progress_begin_epoch(), for tests
 * and for forcing one behaviour; columns 0 means "no width limit". */
void progress_set_interactive(progress *p, int interactive, int columns);

#endif
