/*
 * svg.c - standalone SVG charts for the libtinynn examples (see svg.h).
 *
 * Layout is computed from estimated text widths: there is no font engine
 * here, so every estimate errs on the wide side.
 */
#define _POSIX_C_SOURCE 200809L

#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Files and XML                                                            */
/* ------------------------------------------------------------------------ */

typedef int (*body_writer)(FILE *out, const void *ctx);

/* Removes the temporary file without losing the errno of the failure. */
static int discard_temp(const char *tmp_path)
{
    int saved = errno;
    remove(tmp_path);
    errno = saved ? saved : EIO;
    return -1;
}

/* Writes the file under a temporary name in the same directory and renames
 * it, so that readers see either the old chart or the complete new one. */
static int write_atomically(const char *path, body_writer body,
                            const void *ctx)
{
    char tmp_path[4096];
    int len = snprintf(tmp_path, sizeof tmp_path, "%s.%ld.tmp", path,
                       (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* "x": never clobber a file we did not create. */
    FILE *out = fopen(tmp_path, "wx");
    if (!out)
        return -1;
    errno = 0;
    int failed = body(out, ctx) != 0;
    failed |= fflush(out) != 0 || ferror(out);
    if (failed) {
        int saved = errno;
        fclose(out);
        errno = saved;
        return discard_temp(tmp_path);
    }
    if (fclose(out) != 0 || rename(tmp_path, path) != 0)
        return discard_temp(tmp_path);
    return 0;
}

static void put_escaped(FILE *out, const char *text)
{
    if (!text)
        return;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default:
            /* XML 1.0 forbids these control characters outright. */
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                fputc('?', out);
            else
                fputc(*p, out);
        }
    }
}

/* A <text> element; attrs is a literal attribute list or "". */
static void put_text(FILE *out, double x, double y, const char *attrs,
                     const char *text)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    put_escaped(out, text);
    fputs("</text>\n", out);
}

/* Text rotated to read bottom-to-top, centred on (x, y). */
static void put_vertical_text(FILE *out, double x, double y, const char *attrs,
                              const char *text)
{
    fprintf(out,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
            "text-anchor=\"middle\" %s>",
            x, y, attrs);
    put_escaped(out, text);
    fputs("</text>\n", out);
}

static void put_line(FILE *out, double x1, double y1, double x2, double y2,
                     const char *stroke)
{
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\"/>\n",
            x1, y1, x2, y2, stroke);
}

static void begin_document(FILE *out, double width, double height)
{
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\" fill=\"#222222\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            width, height, width, height);
}

static void end_document(FILE *out)
{
    fputs("</svg>\n", out);
}

/* Estimated width of UTF-8 text: 0.62 em per character is the width of a
 * digit in DejaVu Sans, the widest common sans-serif default. */
static double text_width(const char *text, double font_size)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        if ((*p & 0xC0) != 0x80) /* skip UTF-8 continuation bytes */
            chars++;
    return (double)chars * 0.62 * font_size;
}

/* ------------------------------------------------------------------------ */
/* Axes and ticks                                                           */
/* ------------------------------------------------------------------------ */

enum { MAX_TICKS = 96 };

typedef struct tick {
    double value;   /* in data units */
    int labelled;   /* 0: a minor grid line without a label */
    char text[24];  /* the label, or its base ("10", "2×10") */
    char power[12]; /* superscript exponent after text, or "" */
} tick;

typedef struct axis {
    int log;               /* positions are log10 of the data */
    double lo, hi;         /* ends of the axis, in positions */
    double pix_lo, pix_hi; /* where lo and hi are drawn */
    tick ticks[MAX_TICKS];
    size_t n_ticks;
    int scale_exp; /* labels are in units of 10^scale_exp (0: plain) */
} axis;

typedef struct range {
    double lo, hi;
    int empty;
    int integral; /* every value is a whole number, e.g. epochs */
} range;

static double axis_pixel(const axis *a, double value)
{
    double pos = a->log ? log10(value) : value;
    double t = (pos - a->lo) / (a->hi - a->lo);
    return a->pix_lo + t * (a->pix_hi - a->pix_lo);
}

static double tick_label_width(const tick *t, double font_size)
{
    return text_width(t->text, font_size) +
           0.75 * text_width(t->power, font_size);
}

static double widest_label(const axis *a, double font_size)
{
    double widest = 0.0;
    for (size_t i = 0; i < a->n_ticks; i++)
        if (a->ticks[i].labelled)
            widest = fmax(widest, tick_label_width(&a->ticks[i], font_size));
    return widest;
}

static tick *add_tick(axis *a, double value, int labelled)
{
    if (a->n_ticks == MAX_TICKS)
        return NULL;
    tick *t = &a->ticks[a->n_ticks++];
    t->value = value;
    t->labelled = labelled;
    t->text[0] = '\0';
    t->power[0] = '\0';
    return t;
}

/* The 1-2-5 step that cuts span into about `parts` intervals. */
static double nice_step(double span, int parts)
{
    double raw = span / parts;
    double magnitude = pow(10.0, floor(log10(raw)));
    double f = raw / magnitude;
    double mantissa = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
    return mantissa * magnitude;
}

/* Decimals needed to tell ticks `step` apart: 0.05 needs 2, 20 needs 0. */
static int step_decimals(double step)
{
    double d = ceil(-log10(step) - 1e-9);
    return d > 0.0 ? (int)d : 0;
}

/* Gives a degenerate range (one value, or none) some room. */
static range widen(range r)
{
    if (r.empty) {
        r.lo = 0.0;
        r.hi = 1.0;
    } else if (!(r.hi > r.lo)) {
        double pad = r.lo != 0.0 ? fabs(r.lo) * 0.1 : 1.0;
        r.lo -= pad;
        r.hi += pad;
    }
    r.empty = 0;
    return r;
}

/* Below 0.001 or from a million up, labels like "0.0000025" or "5000000"
 * are hard to read; they become "2.5" and "5" with a "x10^-6" (or 10^6)
 * written once next to the axis.  Multiples of three, as with SI units. */
static int scale_exponent(double largest)
{
    if (largest == 0.0 || (largest >= 1e-3 && largest < 1e6))
        return 0;
    return 3 * (int)floor(floor(log10(largest)) / 3.0);
}

static void label_linear_ticks(axis *a, double step, double largest)
{
    a->scale_exp = scale_exponent(largest);
    double unit = pow(10.0, a->scale_exp);
    int decimals = step_decimals(step / unit);
    for (size_t i = 0; i < a->n_ticks; i++)
        snprintf(a->ticks[i].text, sizeof a->ticks[i].text, "%.*f", decimals,
                 a->ticks[i].value / unit);
}

/* A linear axis.  Automatic ranges grow outwards to whole steps so that
 * both ends carry a label; fixed ranges are kept as given. */
static void linear_axis(axis *a, range r, int fixed, int parts)
{
    r = widen(r);
    double step = nice_step(r.hi - r.lo, parts);
    if (r.integral && step < 1.0)
        step = 1.0; /* no "epoch 1.5" */
    double first = ceil(r.lo / step - 1e-9);
    double last = floor(r.hi / step + 1e-9);
    if (!fixed) {
        first = floor(r.lo / step + 1e-9);
        last = ceil(r.hi / step - 1e-9);
        r.lo = first * step;
        r.hi = last * step;
    }
    a->log = 0;
    a->lo = r.lo;
    a->hi = r.hi;
    a->n_ticks = 0;
    double largest = 0.0;
    for (double i = first; i <= last; i++) {
        double v = i * step;
        if (fabs(v) < step * 1e-6)
            v = 0.0; /* no "-0.00" */
        if (!add_tick(a, v, 1))
            break;
        largest = fmax(largest, fabs(v));
    }
    label_linear_ticks(a, step, largest);
}

/* Labels mantissa * 10^exponent, as plain digits or with a superscript
 * exponent; one axis uses one style throughout. */
static void label_power(tick *t, int mantissa, int exponent, int plain)
{
    if (plain) {
        int decimals = exponent < 0 ? -exponent : 0;
        snprintf(t->text, sizeof t->text, "%.*f", decimals,
                 mantissa * pow(10.0, exponent));
        return;
    }
    if (mantissa == 1)
        snprintf(t->text, sizeof t->text, "10");
    else
        snprintf(t->text, sizeof t->text, "%d\u00d710", mantissa);
    snprintf(t->power, sizeof t->power, "%d", exponent);
}

/* A log10 axis spanning whole decades.  Over one or two decades 1, 2 and
 * 5 are labelled; over more only powers of ten, thinned to about seven. */
static void log_axis(axis *a, range r)
{
    if (r.empty || !(r.lo > 0.0)) {
        r.lo = 0.1;
        r.hi = 1.0;
    }
    int e_lo = (int)floor(log10(r.lo) + 1e-9);
    int e_hi = (int)ceil(log10(r.hi) - 1e-9);
    if (e_hi <= e_lo)
        e_hi = e_lo + 1;
    int decades = e_hi - e_lo;
    int stride = (decades + 6) / 7;
    int plain = e_lo >= -3 && e_hi <= 4; /* from 0.001 to 10000 */
    a->log = 1;
    a->scale_exp = 0;
    a->lo = e_lo;
    a->hi = e_hi;
    a->n_ticks = 0;
    for (int e = e_lo; e <= e_hi; e++) {
        for (int m = 1; m <= 9; m++) {
            if (e == e_hi && m > 1)
                break;
            int labelled = decades <= 2 ? (m == 1 || m == 2 || m == 5)
                                        : (m == 1 && (e - e_lo) % stride == 0);
            /* Minor lines would crowd each other on a long axis. */
            if (!labelled && decades > 6 && (m > 1 || decades > 40))
                continue;
            tick *t = add_tick(a, m * pow(10.0, e), labelled);
            if (t && labelled)
                label_power(t, m, e, plain);
        }
    }
}

/* Draws a tick label; the exponent, if any, as a superscript. */
static void put_tick_label(FILE *out, const tick *t, double x, double y,
                           const char *attrs)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    put_escaped(out, t->text);
    if (t->power[0]) {
        fputs("<tspan dy=\"-0.45em\" font-size=\"0.75em\">", out);
        put_escaped(out, t->power);
        fputs("</tspan>", out);
    }
    fputs("</text>\n", out);
}

/* ------------------------------------------------------------------------ */
/* Line charts                                                              */
/* ------------------------------------------------------------------------ */

enum { PANEL_W = 460, PANEL_H = 340 };
static const double TICK_FONT = 12.0;
static const double LEGEND_ROW_H = 18.0, LEGEND_SAMPLE_W = 22.0;

static const char *const PALETTE[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                      "#d62728", "#9467bd", "#8c564b"};

static const char *series_colour(const svg_series *s, size_t index)
{
    if (s->colour)
        return s->colour;
    return PALETTE[index % (sizeof PALETTE / sizeof PALETTE[0])];
}

static int has_markers(const svg_series *s)
{
    return s->n <= SVG_MARKER_MAX_POINTS;
}

static int point_usable(const svg_panel *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->log_y || y > 0.0);
}

static void extend(range *r, double v)
{
    r->integral = r->integral && v == floor(v);
    if (r->empty) {
        r->lo = r->hi = v;
        r->empty = 0;
    } else {
        r->lo = fmin(r->lo, v);
        r->hi = fmax(r->hi, v);
    }
}

static void data_ranges(const svg_panel *p, range *xr, range *yr)
{
    *xr = *yr = (range){0.0, 0.0, 1, 1};
    for (size_t s = 0; s < p->n_series; s++) {
        const svg_series *ser = &p->series[s];
        for (size_t i = 0; i < ser->n; i++) {
            if (!point_usable(p, ser->x[i], ser->y[i]))
                continue;
            extend(xr, ser->x[i]);
            extend(yr, ser->y[i]);
        }
    }
    if (p->x_min < p->x_max)
        *xr = (range){p->x_min, p->x_max, 0, 0};
    if (p->y_min < p->y_max)
        *yr = (range){p->y_min, p->y_max, 0, 0};
}

/* Where a panel draws its plot, in pixels of the whole document. */
typedef struct plot_box {
    double left, right, top, bottom;
} plot_box;

static double legend_entry_width(const svg_series *s)
{
    return LEGEND_SAMPLE_W + 6.0 + text_width(s->name, TICK_FONT) + 16.0;
}

/* Number of legend rows when entries wrap within `width`. */
static int legend_rows(const svg_panel *p, double width)
{
    int rows = 0;
    double used = width; /* forces a new row at the first entry */
    for (size_t s = 0; s < p->n_series; s++) {
        if (!p->series[s].name)
            continue;
        double w = legend_entry_width(&p->series[s]);
        if (used + w > width) {
            rows++;
            used = 0.0;
        }
        used += w;
    }
    return rows;
}

/* The x axis with as many ticks as fit without labels touching. */
static void fit_x_axis(axis *x, range xr, int fixed, double width)
{
    /* Two parts or more: a step no longer than the range always puts at
     * least one tick inside it. */
    for (int parts = 6; parts >= 2; parts--) {
        linear_axis(x, xr, fixed, parts);
        double pixels_per_unit = width / (x->hi - x->lo);
        double gap = x->n_ticks > 1 ? (x->ticks[1].value - x->ticks[0].value) *
                                          pixels_per_unit
                                    : width;
        if (gap >= widest_label(x, TICK_FONT) + 12.0)
            return;
    }
}

/* Lays out one panel: the left margin follows the y labels, the top the
 * legend, the right the half of the last x label that overhangs. */
static void layout_panel(const svg_panel *p, double origin, axis *x, axis *y,
                         plot_box *box)
{
    range xr, yr;
    data_ranges(p, &xr, &yr);
    if (p->log_y)
        log_axis(y, yr);
    else
        linear_axis(y, yr, p->y_min < p->y_max, 5);

    box->left = origin + 42.0 + widest_label(y, TICK_FONT);
    double right_margin = 20.0;
    for (int pass = 0; pass < 2; pass++) {
        box->right = origin + PANEL_W - right_margin;
        fit_x_axis(x, xr, p->x_min < p->x_max, box->right - box->left);
        const tick *last = &x->ticks[x->n_ticks - 1];
        right_margin =
            fmax(right_margin, tick_label_width(last, TICK_FONT) / 2 + 8.0);
    }
    int rows = legend_rows(p, box->right - box->left);
    box->top = 36.0 + rows * LEGEND_ROW_H + 14.0;
    box->bottom = PANEL_H - 50.0;

    x->pix_lo = box->left;
    x->pix_hi = box->right;
    y->pix_lo = box->bottom;
    y->pix_hi = box->top;
}

static void put_grid(FILE *out, const axis *x, const axis *y,
                     const plot_box *box)
{
    fputs("<g stroke-width=\"1\" shape-rendering=\"crispEdges\">\n", out);
    for (size_t i = 0; i < y->n_ticks; i++) {
        double py = axis_pixel(y, y->ticks[i].value);
        const char *colour = y->ticks[i].labelled ? "#dddddd" : "#f0f0f0";
        put_line(out, box->left, py, box->right, py, colour);
    }
    for (size_t i = 0; i < x->n_ticks; i++) {
        double px = axis_pixel(x, x->ticks[i].value);
        put_line(out, px, box->top, px, box->bottom, "#dddddd");
    }
    fputs("</g>\n", out);
}

static void put_axes(FILE *out, const axis *x, const axis *y,
                     const plot_box *box)
{
    fputs("<g stroke-width=\"1\" shape-rendering=\"crispEdges\">\n", out);
    put_line(out, box->left, box->top, box->left, box->bottom, "#444444");
    put_line(out, box->left, box->bottom, box->right, box->bottom, "#444444");
    for (size_t i = 0; i < y->n_ticks; i++) {
        if (!y->ticks[i].labelled)
            continue;
        double py = axis_pixel(y, y->ticks[i].value);
        put_line(out, box->left - 5.0, py, box->left, py, "#444444");
    }
    for (size_t i = 0; i < x->n_ticks; i++) {
        double px = axis_pixel(x, x->ticks[i].value);
        put_line(out, px, box->bottom, px, box->bottom + 5.0, "#444444");
    }
    fputs("</g>\n", out);

    for (size_t i = 0; i < y->n_ticks; i++) {
        if (y->ticks[i].labelled)
            put_tick_label(out, &y->ticks[i], box->left - 8.0,
                           axis_pixel(y, y->ticks[i].value),
                           "text-anchor=\"end\" dy=\"0.35em\"");
    }
    for (size_t i = 0; i < x->n_ticks; i++)
        put_tick_label(out, &x->ticks[i], axis_pixel(x, x->ticks[i].value),
                       box->bottom + 19.0, "text-anchor=\"middle\"");
}

/* The "x10^n" unit of a scaled axis's labels. */
static void put_scale_note(FILE *out, const axis *a, double x, double y)
{
    if (a->scale_exp == 0)
        return;
    tick note = {.text = "\u00d710"};
    snprintf(note.power, sizeof note.power, "%d", a->scale_exp);
    put_tick_label(out, &note, x, y, "text-anchor=\"end\"");
}

static void put_marker(FILE *out, double x, double y, const char *colour)
{
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"", x, y);
    put_escaped(out, colour);
    fputs("\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n", out);
}

/* One series as a path that lifts the pen over unusable points. */
static void put_series(FILE *out, const svg_panel *p, const svg_series *s,
                       const char *colour, const axis *x, const axis *y)
{
    fputs("<path fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" "
          "stroke-linecap=\"round\" stroke=\"",
          out);
    put_escaped(out, colour);
    fputs("\" d=\"", out);
    int pen_down = 0, started = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!point_usable(p, s->x[i], s->y[i])) {
            pen_down = 0;
            continue;
        }
        fprintf(out, "%s%c%.1f %.1f", started ? " " : "", pen_down ? 'L' : 'M',
                axis_pixel(x, s->x[i]), axis_pixel(y, s->y[i]));
        pen_down = started = 1;
    }
    fputs("\"/>\n", out);
    if (!has_markers(s))
        return;
    for (size_t i = 0; i < s->n; i++)
        if (point_usable(p, s->x[i], s->y[i]))
            put_marker(out, axis_pixel(x, s->x[i]), axis_pixel(y, s->y[i]),
                       colour);
}

/* The legend sits between the title and the plot, right-aligned, so it
 * never hides data whichever way the curves run. */
static void put_legend(FILE *out, const svg_panel *p, const plot_box *box)
{
    double width = box->right - box->left;
    size_t s = 0;
    for (double cy = 44.0; s < p->n_series; cy += LEGEND_ROW_H) {
        /* Gather one row, then draw it from its right-aligned start. */
        size_t row_end = s;
        double row_w = 0.0;
        while (row_end < p->n_series) {
            const svg_series *e = &p->series[row_end];
            double w = e->name ? legend_entry_width(e) : 0.0;
            if (row_w > 0.0 && row_w + w > width)
                break;
            row_w += w;
            row_end++;
        }
        double px = box->right - row_w + 16.0; /* no gap after the last */
        for (; s < row_end; s++) {
            const svg_series *e = &p->series[s];
            if (!e->name)
                continue;
            const char *colour = series_colour(e, s);
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke-width=\"2\" stroke=\"",
                    px, cy, px + LEGEND_SAMPLE_W, cy);
            put_escaped(out, colour);
            fputs("\"/>\n", out);
            if (has_markers(e))
                put_marker(out, px + LEGEND_SAMPLE_W / 2, cy, colour);
            put_text(out, px + LEGEND_SAMPLE_W + 6.0, cy, "dy=\"0.35em\"",
                     e->name);
            px += legend_entry_width(e);
        }
    }
}

static void put_panel(FILE *out, const svg_panel *p, size_t index)
{
    axis x, y;
    plot_box box;
    double origin = (double)index * PANEL_W;
    layout_panel(p, origin, &x, &y, &box);

    put_grid(out, &x, &y, &box);
    put_axes(out, &x, &y, &box);

    /* Automatic axes hold all the data, so the clip only needs to spare
     * markers on the edge; a fixed range cuts the data at the axes. */
    int fixed = p->x_min < p->x_max || p->y_min < p->y_max;
    double slack = fixed ? 0.0 : 5.0;
    fprintf(out,
            "<clipPath id=\"plot%zu\"><rect x=\"%.1f\" y=\"%.1f\" "
            "width=\"%.1f\" height=\"%.1f\"/></clipPath>\n"
            "<g clip-path=\"url(#plot%zu)\">\n",
            index, box.left - slack, box.top - slack,
            box.right - box.left + 2 * slack, box.bottom - box.top + 2 * slack,
            index);
    for (size_t s = 0; s < p->n_series; s++)
        put_series(out, p, &p->series[s], series_colour(&p->series[s], s), &x,
                   &y);
    fputs("</g>\n", out);

    put_legend(out, p, &box);
    put_scale_note(out, &y, box.left - 8.0, box.top - 14.0);
    put_scale_note(out, &x, box.right, PANEL_H - 12.0);
    double mid_x = (box.left + box.right) / 2;
    put_text(out, mid_x, 24.0,
             "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"",
             p->title);
    put_text(out, mid_x, PANEL_H - 12.0,
             "text-anchor=\"middle\" font-size=\"13\"", p->x_label);
    put_vertical_text(out, origin + 20.0, (box.top + box.bottom) / 2,
                      "font-size=\"13\"", p->y_label);
}

typedef struct line_chart {
    const svg_panel *panels;
    size_t n_panels;
} line_chart;

static int write_line_chart(FILE *out, const void *ctx)
{
    const line_chart *chart = ctx;
    begin_document(out, (double)chart->n_panels * PANEL_W, PANEL_H);
    for (size_t i = 0; i < chart->n_panels; i++)
        put_panel(out, &chart->panels[i], i);
    end_document(out);
    return 0;
}

static int panel_is_valid(const svg_panel *p)
{
    if (p->n_series > 0 && !p->series)
        return 0;
    for (size_t s = 0; s < p->n_series; s++)
        if (p->series[s].n > 0 && (!p->series[s].x || !p->series[s].y))
            return 0;
    return 1;
}

int svg_write_line_chart(const char *path, const svg_panel *panels,
                         size_t n_panels)
{
    int valid = path && panels && n_panels > 0 && n_panels <= 16;
    for (size_t i = 0; valid && i < n_panels; i++)
        valid = panel_is_valid(&panels[i]);
    if (!valid) {
        errno = EINVAL;
        return -1;
    }
    line_chart chart = {panels, n_panels};
    return write_atomically(path, write_line_chart, &chart);
}

/* ------------------------------------------------------------------------ */
/* Confusion matrix                                                         */
/* ------------------------------------------------------------------------ */

typedef struct rgb {
    double r, g, b; /* 0..255 */
} rgb;

/* White to dark blue; lightness falls steadily so order reads at a glance.
 * The colour bar uses the same stops, so it matches the cells exactly. */
static const struct {
    double at;
    rgb colour;
} RAMP[] = {
    {0.00, {255, 255, 255}}, {0.25, {206, 224, 242}}, {0.50, {126, 180, 220}},
    {0.75, {46, 120, 184}},  {1.00, {10, 44, 100}},
};
enum { RAMP_STOPS = sizeof RAMP / sizeof RAMP[0] };

static rgb ramp_colour(double t)
{
    t = fmin(fmax(t, 0.0), 1.0);
    size_t i = 1;
    while (i < RAMP_STOPS - 1 && t > RAMP[i].at)
        i++;
    double f = (t - RAMP[i - 1].at) / (RAMP[i].at - RAMP[i - 1].at);
    rgb a = RAMP[i - 1].colour, b = RAMP[i].colour;
    return (rgb){a.r + f * (b.r - a.r), a.g + f * (b.g - a.g),
                 a.b + f * (b.b - a.b)};
}

static void format_rgb(char out[8], rgb c)
{
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround(c.r) & 0xffu,
             (unsigned)lround(c.g) & 0xffu, (unsigned)lround(c.b) & 0xffu);
}

static double linear_channel(double c)
{
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* Black or white, whichever contrasts more (WCAG relative luminance). */
static const char *text_colour_on(rgb c)
{
    double lum = 0.2126 * linear_channel(c.r) + 0.7152 * linear_channel(c.g) +
                 0.0722 * linear_channel(c.b);
    double with_white = 1.05 / (lum + 0.05);
    double with_black = (lum + 0.05) / 0.05;
    return with_white > with_black ? "#ffffff" : "#111111";
}

typedef struct confusion {
    const char *title;
    const int *counts;
    const char *const *labels;
    size_t k;
    int row_accuracy;
    int max_count;
} confusion;

typedef struct cm_layout {
    double cell, count_font;
    double grid_x, grid_y; /* top-left corner of the matrix */
    double grid_size;      /* k * cell */
    int slanted_columns;   /* column labels too wide to stand upright */
    double column_label_h;
    double accuracy_x; /* left edge of the accuracy column */
    double bar_x;      /* left edge of the colour bar */
    double bar_label_x;
    double width, height;
} cm_layout;

static const double CM_LABEL_FONT = 12.0, BAR_W = 14.0, ACCURACY_W = 58.0;

static const char *class_label(const confusion *cm, size_t i, char buf[24])
{
    if (cm->labels && cm->labels[i])
        return cm->labels[i];
    snprintf(buf, 24, "%zu", i);
    return buf;
}

/* Position of a count on the colour scale.  log1p keeps 0 white, makes a
 * single error clearly tinted and still separates 900 from 1100. */
static double scale_position(const confusion *cm, int count)
{
    if (cm->max_count <= 0)
        return 0.0;
    return log1p(count) / log1p(cm->max_count);
}

static int decimal_digits(int v)
{
    int digits = 1;
    while (v >= 10) {
        v /= 10;
        digits++;
    }
    return digits;
}

static double widest_class_label(const confusion *cm)
{
    double widest = 0.0;
    char buf[24];
    for (size_t i = 0; i < cm->k; i++)
        widest =
            fmax(widest, text_width(class_label(cm, i, buf), CM_LABEL_FONT));
    return widest;
}

static void layout_confusion(const confusion *cm, cm_layout *l)
{
    double k = (double)cm->k;
    /* About 480 px for the matrix, but never cells too small for their
     * widest count at a readable 9 px. */
    double digits = decimal_digits(cm->max_count);
    double min_cell = ceil(digits * 0.62 * 9.0 / 0.8) + 2.0;
    l->cell = fmax(cm->k <= 10 ? 48.0 : floor(480.0 / k), min_cell);
    l->count_font = fmin(13.0, l->cell * 0.8 / (digits * 0.62));
    double label_w = widest_class_label(cm);

    l->grid_x = 46.0 + label_w;
    l->grid_y = cm->row_accuracy ? 64.0 : 46.0;
    l->grid_size = k * l->cell;
    l->slanted_columns = label_w > l->cell - 6.0;
    l->column_label_h = l->slanted_columns ? label_w * 0.72 + 14.0 : 20.0;

    double right = l->grid_x + l->grid_size;
    l->accuracy_x = right + 10.0;
    if (cm->row_accuracy)
        right = l->accuracy_x + ACCURACY_W;
    l->bar_x = right + 22.0;
    l->bar_label_x = l->bar_x + BAR_W + 8.0;
    double bar_labels_w =
        text_width("0", 11.0) * decimal_digits(cm->max_count);
    /* Room for the labels, then the rotated scale title and a margin. */
    l->width = l->bar_label_x + bar_labels_w + 16.0 + 8.0 + 12.0;
    double title_w = text_width(cm->title, 16.0) + 32.0;
    l->width = fmax(l->width, title_w);
    l->height = l->grid_y + l->grid_size + l->column_label_h + 36.0;
}

static void put_cell(FILE *out, const confusion *cm, const cm_layout *l,
                     size_t row, size_t col)
{
    int count = cm->counts[row * cm->k + col];
    rgb fill = ramp_colour(scale_position(cm, count));
    char fill_hex[8], row_buf[24], col_buf[24];
    format_rgb(fill_hex, fill);
    double x = l->grid_x + (double)col * l->cell;
    double y = l->grid_y + (double)row * l->cell;

    /* A <title> gives a hover tooltip in browsers. */
    fputs("<g><title>actual ", out);
    put_escaped(out, class_label(cm, row, row_buf));
    fputs(", predicted ", out);
    put_escaped(out, class_label(cm, col, col_buf));
    fprintf(out, ": %d</title>\n", count);
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\" stroke=\"#e4e4e4\"/>\n",
            x, y, l->cell, l->cell, fill_hex);
    /* Zeros are greyed: they are the background the errors stand out on. */
    const char *ink = count == 0 ? "#b8b8b8" : text_colour_on(fill);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "dy=\"0.35em\" font-size=\"%.1f\" fill=\"%s\">%d</text></g>\n",
            x + l->cell / 2, y + l->cell / 2, l->count_font, ink, count);
}

static void put_class_labels(FILE *out, const confusion *cm,
                             const cm_layout *l)
{
    char buf[24];
    double below = l->grid_y + l->grid_size;
    for (size_t i = 0; i < cm->k; i++) {
        double centre = (double)i * l->cell + l->cell / 2;
        const char *label = class_label(cm, i, buf);
        put_text(out, l->grid_x - 8.0, l->grid_y + centre,
                 "text-anchor=\"end\" dy=\"0.35em\"", label);
        if (!l->slanted_columns) {
            put_text(out, l->grid_x + centre, below + 17.0,
                     "text-anchor=\"middle\"", label);
            continue;
        }
        double x = l->grid_x + centre + 4.0, y = below + 10.0;
        fprintf(out,
                "<text transform=\"translate(%.1f %.1f) rotate(-45)\" "
                "text-anchor=\"end\">",
                x, y);
        put_escaped(out, label);
        fputs("</text>\n", out);
    }
}

/* "97.3%"; never "100.0%" while there are errors, and an en dash for an
 * empty row. */
static void format_share(char *text, size_t size, long hits, long total)
{
    double percent = total > 0 ? 100.0 * (double)hits / (double)total : 0;
    if (total <= 0)
        snprintf(text, size, "\u2013");
    else if (hits < total && percent >= 99.95)
        snprintf(text, size, ">99.9%%");
    else
        snprintf(text, size, "%.1f%%", percent);
}

static void put_accuracy_column(FILE *out, const confusion *cm,
                                const cm_layout *l)
{
    long correct = 0, total = 0;
    double centre_x = l->accuracy_x + ACCURACY_W / 2;
    for (size_t row = 0; row < cm->k; row++) {
        long row_total = 0;
        for (size_t col = 0; col < cm->k; col++)
            row_total += cm->counts[row * cm->k + col];
        long hits = cm->counts[row * cm->k + row];
        correct += hits;
        total += row_total;
        char text[16];
        format_share(text, sizeof text, hits, row_total);
        put_text(out, centre_x, l->grid_y + ((double)row + 0.5) * l->cell,
                 "text-anchor=\"middle\" dy=\"0.35em\"", text);
    }
    put_text(out, centre_x, l->grid_y + l->grid_size + 17.0,
             "text-anchor=\"middle\" font-style=\"italic\"", "Recall");

    char summary[96];
    if (total > 0)
        snprintf(summary, sizeof summary, "Accuracy %.2f%% (%ld of %ld)",
                 100.0 * (double)correct / (double)total, correct, total);
    else
        snprintf(summary, sizeof summary, "No samples");
    put_text(out, l->width / 2, 46.0,
             "text-anchor=\"middle\" fill=\"#555555\"", summary);
}

/* Values for the colour bar: 0, the powers of ten, then 5s and 2s where
 * they keep labels at least min_gap pixels apart. */
static size_t colour_bar_ticks(const confusion *cm, double bar_h, int values[],
                               size_t capacity)
{
    const double min_gap = 15.0;
    size_t n = 0;
    static const int mantissas[] = {1, 5, 2};
    values[n++] = 0;
    for (size_t m = 0; m < 3; m++) {
        for (long v = mantissas[m]; v <= cm->max_count && n < capacity;
             v *= 10) {
            double pos = scale_position(cm, (int)v) * bar_h;
            int crowded = 0;
            for (size_t i = 0; i < n; i++)
                crowded |= fabs(scale_position(cm, values[i]) * bar_h - pos) <
                           min_gap;
            if (!crowded)
                values[n++] = (int)v;
        }
    }
    return n;
}

static void put_colour_bar(FILE *out, const confusion *cm, const cm_layout *l)
{
    fputs("<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" "
          "y2=\"0\">\n",
          out);
    for (size_t i = 0; i < RAMP_STOPS; i++) {
        char hex[8];
        format_rgb(hex, RAMP[i].colour);
        fprintf(out, "<stop offset=\"%.2f\" stop-color=\"%s\"/>\n", RAMP[i].at,
                hex);
    }
    fputs("</linearGradient></defs>\n", out);
    double top = l->grid_y, bar_h = l->grid_size;
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"url(#scale)\" stroke=\"#999999\"/>\n",
            l->bar_x, top, BAR_W, bar_h);

    int values[64];
    size_t n = colour_bar_ticks(cm, bar_h, values, 64);
    for (size_t i = 0; i < n; i++) {
        double y = top + bar_h - scale_position(cm, values[i]) * bar_h;
        put_line(out, l->bar_x + BAR_W, y, l->bar_x + BAR_W + 4.0, y,
                 "#444444");
        char text[16];
        snprintf(text, sizeof text, "%d", values[i]);
        put_text(out, l->bar_label_x, y, "dy=\"0.35em\" font-size=\"11\"",
                 text);
    }
    double widest = text_width("0", 11.0) * decimal_digits(cm->max_count);
    put_vertical_text(out, l->bar_label_x + widest + 16.0, top + bar_h / 2,
                      "font-size=\"12\" fill=\"#555555\"",
                      "count (log scale)");
}

static int write_confusion(FILE *out, const void *ctx)
{
    const confusion *cm = ctx;
    cm_layout l;
    layout_confusion(cm, &l);
    begin_document(out, ceil(l.width), ceil(l.height));

    put_text(out, l.width / 2, 28.0,
             "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\"",
             cm->title);
    for (size_t row = 0; row < cm->k; row++)
        for (size_t col = 0; col < cm->k; col++)
            put_cell(out, cm, &l, row, col);
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"none\" stroke=\"#999999\"/>\n",
            l.grid_x, l.grid_y, l.grid_size, l.grid_size);
    put_class_labels(out, cm, &l);
    if (cm->row_accuracy)
        put_accuracy_column(out, cm, &l);
    put_colour_bar(out, cm, &l);

    double grid_mid = l.grid_size / 2;
    put_text(out, l.grid_x + grid_mid,
             l.grid_y + l.grid_size + l.column_label_h + 20.0,
             "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\"",
             "Predicted");
    put_vertical_text(out, 20.0, l.grid_y + grid_mid,
                      "font-size=\"13\" font-weight=\"bold\"", "Actual");
    end_document(out);
    return 0;
}

int svg_write_confusion_matrix(const char *path, const char *title,
                               const int *counts, const char *const *labels,
                               size_t k, int row_accuracy)
{
    if (!path || !counts || k == 0 || k > 256) {
        errno = EINVAL;
        return -1;
    }
    int max_count = 0;
    for (size_t i = 0; i < k * k; i++) {
        if (counts[i] < 0) {
            errno = EINVAL;
            return -1;
        }
        if (counts[i] > max_count)
            max_count = counts[i];
    }
    confusion cm = {title, counts, labels, k, row_accuracy, max_count};
    return write_atomically(path, write_confusion, &cm);
}
