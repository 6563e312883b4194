/*
 * svg.h - the plumbing the examples' SVG charts share (line_chart.c,
 * confusion_chart.c): a file written whole or not at all, the document's
 * frame, XML-escaped text, lines, and text widths estimated without a font
 * engine.
 *
 * Plain C11 + POSIX; independent of libtinynn.  Text must be UTF-8.
 * Numbers are written with printf, so LC_NUMERIC must be the "C" locale
 * (the default unless the program calls setlocale).
 */
#ifndef TINYNN_EXAMPLES_SVG_H
#define TINYNN_EXAMPLES_SVG_H

#include <stdio.h>

/* Writes a document's content to out; 0 on success. */
typedef int (*svg_body_writer)(FILE *out, const void *ctx);

/* Writes path through body(out, ctx) under a temporary name next to it,
 * then renames it into place, so that a reader sees either the old file or
 * the complete new one.  0, or -1 with errno set (the temporary file is
 * removed). */
int svg_write_atomically(const char *path, svg_body_writer body,
                         const void *ctx);

/* The <svg> element of a width x height document on white, and its end. */
void svg_begin_document(FILE *out, double width, double height);
void svg_end_document(FILE *out);

/* text with &, <, >, quotes and XML's forbidden control characters
 * replaced; NULL writes nothing. */
void svg_put_escaped(FILE *out, const char *text);

/* A <text> element at (x, y); attrs is a literal attribute list or "". */
void svg_put_text(FILE *out, double x, double y, const char *attrs,
                  const char *text);

/* Text rotated to read bottom-to-top, centred on (x, y). */
void svg_put_vertical_text(FILE *out, double x, double y, const char *attrs,
                           const char *text);

void svg_put_line(FILE *out, double x1, double y1, double x2, double y2,
                  const char *stroke);

/* Estimated width in pixels of UTF-8 text at font_size, on the wide side. */
double svg_text_width(const char *text, double font_size);

#endif
