/*
 * line_chart.c - line charts of one or more panels (see line_chart.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "line_chart.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "svg.h"

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
    return svg_text_width(t->text, font_size) +
           0.75 * svg_text_width(t->power, font_size);
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
    svg_put_escaped(out, t->text);
    if (t->power[0]) {
        fputs("<tspan dy=\"-0.45em\" font-size=\"0.75em\">", out);
        svg_put_escaped(out, t->power);
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
    return LEGEND_SAMPLE_W + 6.0 + svg_text_width(s->name, TICK_FONT) + 16.0;
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
        svg_put_line(out, box->left, py, box->right, py, colour);
    }
    for (size_t i = 0; i < x->n_ticks; i++) {
        double px = axis_pixel(x, x->ticks[i].value);
        svg_put_line(out, px, box->top, px, box->bottom, "#dddddd");
    }
    fputs("</g>\n", out);
}

static void put_axes(FILE *out, const axis *x, const axis *y,
                     const plot_box *box)
{
    fputs("<g stroke-width=\"1\" shape-rendering=\"crispEdges\">\n", out);
    svg_put_line(out, box->left, box->top, box->left, box->bottom, "#444444");
    svg_put_line(out, box->left, box->bottom, box->right, box->bottom,
                 "#444444");
    for (size_t i = 0; i < y->n_ticks; i++) {
        if (!y->ticks[i].labelled)
            continue;
        double py = axis_pixel(y, y->ticks[i].value);
        svg_put_line(out, box->left - 5.0, py, box->left, py, "#444444");
    }
    for (size_t i = 0; i < x->n_ticks; i++) {
        double px = axis_pixel(x, x->ticks[i].value);
        svg_put_line(out, px, box->bottom, px, box->bottom + 5.0, "#444444");
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
    svg_put_escaped(out, colour);
    fputs("\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n", out);
}

/* One series as a path that lifts the pen over unusable points. */
static void put_series(FILE *out, const svg_panel *p, const svg_series *s,
                       const char *colour, const axis *x, const axis *y)
{
    fputs("<path fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" "
          "stroke-linecap=\"round\" stroke=\"",
          out);
    svg_put_escaped(out, colour);
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
            svg_put_escaped(out, colour);
            fputs("\"/>\n", out);
            if (has_markers(e))
                put_marker(out, px + LEGEND_SAMPLE_W / 2, cy, colour);
            svg_put_text(out, px + LEGEND_SAMPLE_W + 6.0, cy, "dy=\"0.35em\"",
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
    svg_put_text(
        out, mid_x, 24.0,
        "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"",
        p->title);
    svg_put_text(out, mid_x, PANEL_H - 12.0,
                 "text-anchor=\"middle\" font-size=\"13\"", p->x_label);
    svg_put_vertical_text(out, origin + 20.0, (box.top + box.bottom) / 2,
                          "font-size=\"13\"", p->y_label);
}

typedef struct line_chart {
    const svg_panel *panels;
    size_t n_panels;
} line_chart;

static int write_line_chart(FILE *out, const void *ctx)
{
    const line_chart *chart = ctx;
    svg_begin_document(out, (double)chart->n_panels * PANEL_W, PANEL_H);
    for (size_t i = 0; i < chart->n_panels; i++)
        put_panel(out, &chart->panels[i], i);
    svg_end_document(out);
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
    return svg_write_atomically(path, write_line_chart, &chart);
}
