/*
 * svg.h - standalone SVG charts for the libtinynn examples.
 *
 * Plain C11 + libm + POSIX; independent of libtinynn.  Every writer builds
 * the file under a temporary name next to `path` and renames it into place,
 * so a reader never sees half a chart.  Each returns 0 on success and -1 on
 * failure with errno set (EINVAL for bad arguments); nothing is printed.
 *
 * Text (titles, labels, series names) must be UTF-8; it is XML-escaped.
 * Numbers are written with printf, so LC_NUMERIC must be the "C" locale
 * (the default unless the program calls setlocale).
 */
#ifndef TINYNN_EXAMPLES_SVG_H
#define TINYNN_EXAMPLES_SVG_H

#include <stddef.h>

/* One named line in a panel.  Non-finite points (and, on a log axis,
 * points with y <= 0) are skipped and break the line. */
typedef struct svg_series {
    const char *name; /* legend text; NULL leaves it out of the legend */
    const double *x;  /* n values */
    const double *y;  /* n values */
    size_t n;
    const char *colour; /* any SVG colour ("#1f77b4", "red"); NULL = auto */
} svg_series;

/* One chart: title, axes, grid, series and legend.  Markers are drawn at
 * the points of series with at most SVG_MARKER_MAX_POINTS points.  Axis
 * ranges are automatic unless x_min < x_max (or y_min < y_max), so a
 * zero-initialised range means "fit the data". */
typedef struct svg_panel {
    const char *title;
    const char *x_label;
    const char *y_label;
    const svg_series *series;
    size_t n_series;
    int log_y; /* nonzero: logarithmic y axis, ticks at powers of ten */
    double x_min, x_max;
    double y_min, y_max;
} svg_panel;

#define SVG_MARKER_MAX_POINTS 30

/* Writes n_panels panels side by side (each 460 x 340 px) to `path`. */
int svg_write_line_chart(const char *path, const svg_panel *panels,
                         size_t n_panels);

/* Writes a k x k confusion-matrix heatmap to `path`.  counts is row-major,
 * counts[actual * k + predicted], all >= 0.  labels holds k class names
 * (NULL: "0", "1", ...).  Cells are shaded on a logarithmic white-to-blue
 * scale, so that a handful of errors shows up next to a thousand hits.
 * row_accuracy nonzero adds a column with each row's share of correct
 * predictions (recall) and the overall accuracy under the title. */
int svg_write_confusion_matrix(const char *path, const char *title,
                               const int *counts, const char *const *labels,
                               size_t k, int row_accuracy);

#endif
