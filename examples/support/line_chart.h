/*
 * line_chart.h - line charts for the libtinynn examples ("draw a training
 * curve"): one or more panels side by side, each with its axes, grid,
 * series and legend.
 *
 * Plain C11 + libm + POSIX; independent of libtinynn.  The file is built
 * under a temporary name next to `path` and renamed into place, so a reader
 * never sees half a chart (svg.h).  Returns 0 on success and -1 on failure
 * with errno set (EINVAL for bad arguments); nothing is printed.  Text
 * (titles, labels, series names) must be UTF-8; it is XML-escaped.
 */
#ifndef TINYNN_EXAMPLES_LINE_CHART_H
#define TINYNN_EXAMPLES_LINE_CHART_H

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

#endif
