/*
 * confusion_chart.h - a confusion matrix drawn as an SVG heatmap, for the
 * libtinynn examples ("draw a confusion matrix").
 *
 * Plain C11 + libm + POSIX; independent of libtinynn.  The file is built
 * under a temporary name next to `path` and renamed into place (svg.h).
 * Returns 0 on success and -1 on failure with errno set (EINVAL for bad
 * arguments); nothing is printed.  Text must be UTF-8; it is XML-escaped.
 */
#ifndef TINYNN_EXAMPLES_CONFUSION_CHART_H
#define TINYNN_EXAMPLES_CONFUSION_CHART_H

#include <stddef.h>

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
