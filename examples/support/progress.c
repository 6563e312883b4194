/*
 * progress.c - a Keras-like training progress line (see progress.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Redrawing more often than this only costs time: nobody reads it. */
static const double MIN_REDRAW_SECONDS = 0.05;
enum { BAR_WIDTH = 30 };

/* A line being assembled; text that does not fit is cut off. */
typedef struct line {
    char text[512];
    size_t len;
} line;

static void append(line *l, const char *format, ...)
{
    size_t room = sizeof l->text - l->len;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(l->text + l->len, room, format, args);
    va_end(args);
    if (n > 0)
        l->len += (size_t)n < room ? (size_t)n : room - 1;
}

static int digits_of(long v)
{
    int digits = 1;
    while (v >= 10) {
        v /= 10;
        digits++;
    }
    return digits;
}

static int terminal_columns(FILE *stream)
{
    struct winsize size;
    if (ioctl(fileno(stream), TIOCGWINSZ, &size) != 0)
        return 0;
    return size.ws_col;
}

void progress_begin_epoch(progress *p, FILE *stream, int epoch, int epochs,
                          long steps)
{
    p->stream = stream;
    p->epoch = epoch;
    p->epochs = epochs;
    p->steps = steps > 0 ? steps : 0;
    p->last_draw = -1.0;
    p->drawn_chars = 0;
    p->interactive = isatty(fileno(stream));
    p->columns = p->interactive ? terminal_columns(stream) : 0;
    if (p->interactive) {
        fprintf(stream, "Epoch %d/%d\n", epoch, epochs);
        fflush(stream);
    }
}

void progress_set_interactive(progress *p, int interactive, int columns)
{
    p->interactive = interactive != 0;
    p->columns = columns > 0 ? columns : 0;
}

/* " - loss: 0.1234"; tiny or huge values switch to exponent notation so
 * that a converging regression loss does not turn into 0.0000. */
static void append_metric(line *l, const char *name, double value)
{
    if (isnan(value))
        return;
    double magnitude = fabs(value);
    int plain = magnitude == 0.0 || (magnitude >= 1e-3 && magnitude < 1e6) ||
                isinf(value);
    append(l, plain ? " - %s: %.4f" : " - %s: %.4e", name, value);
}

static void append_metrics(line *l, double loss, double accuracy)
{
    append_metric(l, "loss", loss);
    append_metric(l, "accuracy", accuracy);
}

static void append_counter(line *l, long step, long steps)
{
    append(l, "%*ld/%ld", digits_of(steps), step, steps);
}

/* "[=====>....]": the arrow marks an epoch still under way. */
static void append_bar(line *l, long step, long steps)
{
    long filled = steps > 0 ? step * BAR_WIDTH / steps : BAR_WIDTH;
    filled = filled < 0 ? 0 : filled > BAR_WIDTH ? BAR_WIDTH : filled;
    char bar[BAR_WIDTH + 3];
    bar[0] = '[';
    for (long i = 0; i < BAR_WIDTH; i++) {
        char c = '.';
        if (i < filled - 1)
            c = '=';
        else if (i == filled - 1)
            c = step < steps ? '>' : '=';
        bar[i + 1] = c;
    }
    bar[BAR_WIDTH + 1] = ']';
    bar[BAR_WIDTH + 2] = '\0';
    append(l, " %s", bar);
}

/* " - 3s 7ms/step" (whole seconds, as on a terminal) or " - 5.1s ...". */
static void append_timing(line *l, double elapsed, long steps_done,
                          int whole_seconds)
{
    if (!(elapsed >= 0.0))
        elapsed = 0.0; /* also catches NaN */
    if (whole_seconds)
        append(l, " - %.0fs", floor(elapsed));
    else
        append(l, " - %.1fs", elapsed);
    if (steps_done <= 0)
        return;
    double per_step = elapsed / (double)steps_done;
    if (per_step >= 1.0)
        append(l, " %.1fs/step", per_step);
    else if (per_step >= 1e-3)
        append(l, " %.0fms/step", per_step * 1e3);
    else
        append(l, " %.0fus/step", per_step * 1e6);
}

/* " - ETA: 4s", " - ETA: 2:05" or " - ETA: 1:02:05". */
static void append_eta(line *l, double seconds)
{
    long s = (long)ceil(seconds);
    if (s < 60)
        append(l, " - ETA: %lds", s);
    else if (s < 3600)
        append(l, " - ETA: %ld:%02ld", s / 60, s % 60);
    else
        append(l, " - ETA: %ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

/* Overwrites the line on screen.  Mid-epoch lines are cut to the terminal
 * width, because a wrapped line cannot be overwritten with '\r'. */
static void redraw(progress *p, const line *l, int fit_width)
{
    size_t shown = l->len;
    if (fit_width && p->columns > 1 && shown > (size_t)p->columns - 1)
        shown = (size_t)p->columns - 1;
    fputc('\r', p->stream);
    fwrite(l->text, 1, shown, p->stream);
    for (size_t i = shown; i < p->drawn_chars; i++)
        fputc(' ', p->stream); /* blank what the longer old line left */
    p->drawn_chars = shown;
}

void progress_update(progress *p, long step, double loss, double accuracy,
                     double elapsed)
{
    if (!p->interactive)
        return;
    int last_step = step >= p->steps;
    int too_soon = p->last_draw >= 0.0 && elapsed >= p->last_draw &&
                   elapsed - p->last_draw < MIN_REDRAW_SECONDS;
    if (too_soon && !last_step)
        return;
    line l = {.len = 0};
    append_counter(&l, step, p->steps);
    append_bar(&l, step, p->steps);
    append_timing(&l, elapsed, step, 1);
    append_metrics(&l, loss, accuracy);
    if (!last_step && step > 0 && elapsed >= 0.0)
        append_eta(&l, elapsed / (double)step * (double)(p->steps - step));
    redraw(p, &l, 1);
    fflush(p->stream);
    p->last_draw = elapsed;
}

void progress_end_epoch(progress *p, double elapsed, double loss,
                        double accuracy, double val_loss, double val_accuracy)
{
    line l = {.len = 0};
    if (!p->interactive)
        append(&l, "Epoch %d/%d - ", p->epoch, p->epochs);
    append_counter(&l, p->steps, p->steps);
    if (p->interactive)
        append_bar(&l, p->steps, p->steps);
    append_timing(&l, elapsed, p->steps, p->interactive);
    append_metrics(&l, loss, accuracy);
    append_metric(&l, "val_loss", val_loss);
    append_metric(&l, "val_accuracy", val_accuracy);
    if (p->interactive)
        redraw(p, &l, 0);
    else
        fwrite(l.text, 1, l.len, p->stream);
    fputc('\n', p->stream);
    fflush(p->stream);
    p->drawn_chars = 0;
}
