/*
 * confusion_chart.c - confusion-matrix heatmaps (see confusion_chart.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "confusion_chart.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "svg.h"

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
        widest = fmax(widest,
                      svg_text_width(class_label(cm, i, buf), CM_LABEL_FONT));
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
        svg_text_width("0", 11.0) * decimal_digits(cm->max_count);
    /* Room for the labels, then the rotated scale title and a margin. */
    l->width = l->bar_label_x + bar_labels_w + 16.0 + 8.0 + 12.0;
    double title_w = svg_text_width(cm->title, 16.0) + 32.0;
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
    svg_put_escaped(out, class_label(cm, row, row_buf));
    fputs(", predicted ", out);
    svg_put_escaped(out, class_label(cm, col, col_buf));
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
        svg_put_text(out, l->grid_x - 8.0, l->grid_y + centre,
                     "text-anchor=\"end\" dy=\"0.35em\"", label);
        if (!l->slanted_columns) {
            svg_put_text(out, l->grid_x + centre, below + 17.0,
                         "text-anchor=\"middle\"", label);
            continue;
        }
        double x = l->grid_x + centre + 4.0, y = below + 10.0;
        fprintf(out,
                "<text transform=\"translate(%.1f %.1f) rotate(-45)\" "
                "text-anchor=\"end\">",
                x, y);
        svg_put_escaped(out, label);
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
        svg_put_text(out, centre_x, l->grid_y + ((double)row + 0.5) * l->cell,
                     "text-anchor=\"middle\" dy=\"0.35em\"", text);
    }
    svg_put_text(out, centre_x, l->grid_y + l->grid_size + 17.0,
                 "text-anchor=\"middle\" font-style=\"italic\"", "Recall");

    char summary[96];
    if (total > 0)
        snprintf(summary, sizeof summary, "Accuracy %.2f%% (%ld of %ld)",
                 100.0 * (double)correct / (double)total, correct, total);
    else
        snprintf(summary, sizeof summary, "No samples");
    svg_put_text(out, l->width / 2, 46.0,
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
        svg_put_line(out, l->bar_x + BAR_W, y, l->bar_x + BAR_W + 4.0, y,
                     "#444444");
        char text[16];
        snprintf(text, sizeof text, "%d", values[i]);
        svg_put_text(out, l->bar_label_x, y, "dy=\"0.35em\" font-size=\"11\"",
                     text);
    }
    double widest = svg_text_width("0", 11.0) * decimal_digits(cm->max_count);
    svg_put_vertical_text(out, l->bar_label_x + widest + 16.0, top + bar_h / 2,
                          "font-size=\"12\" fill=\"#555555\"",
                          "count (log scale)");
}

static int write_confusion(FILE *out, const void *ctx)
{
    const confusion *cm = ctx;
    cm_layout l;
    layout_confusion(cm, &l);
    svg_begin_document(out, ceil(l.width), ceil(l.height));

    svg_put_text(
        out, l.width / 2, 28.0,
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
    svg_put_text(
        out, l.grid_x + grid_mid,
        l.grid_y + l.grid_size + l.column_label_h + 20.0,
        "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\"",
        "Predicted");
    svg_put_vertical_text(out, 20.0, l.grid_y + grid_mid,
                          "font-size=\"13\" font-weight=\"bold\"", "Actual");
    svg_end_document(out);
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
    return svg_write_atomically(path, write_confusion, &cm);
}
