/*
 * svg.c - what the SVG charts share (see svg.h): files written whole or not
 * at all, the document's frame, escaped text and lines, text widths.
 *
 * Layout is computed from estimated text widths: there is no font engine
 * here, so every estimate errs on the wide side.
 */
#define _POSIX_C_SOURCE 200809L

#include "svg.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Files and XML                                                            */
/* ------------------------------------------------------------------------ */

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
int svg_write_atomically(const char *path, svg_body_writer body,
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

void svg_put_escaped(FILE *out, const char *text)
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
void svg_put_text(FILE *out, double x, double y, const char *attrs,
                  const char *text)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    svg_put_escaped(out, text);
    fputs("</text>\n", out);
}

/* Text rotated to read bottom-to-top, centred on (x, y). */
void svg_put_vertical_text(FILE *out, double x, double y, const char *attrs,
                           const char *text)
{
    fprintf(out,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
            "text-anchor=\"middle\" %s>",
            x, y, attrs);
    svg_put_escaped(out, text);
    fputs("</text>\n", out);
}

void svg_put_line(FILE *out, double x1, double y1, double x2, double y2,
                  const char *stroke)
{
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\"/>\n",
            x1, y1, x2, y2, stroke);
}

void svg_begin_document(FILE *out, double width, double height)
{
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\" fill=\"#222222\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            width, height, width, height);
}

void svg_end_document(FILE *out)
{
    fputs("</svg>\n", out);
}

/* Estimated width of UTF-8 text: 0.62 em per character is the width of a
 * digit in DejaVu Sans, the widest common sans-serif default. */
double svg_text_width(const char *text, double font_size)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        if ((*p & 0xC0) != 0x80) /* skip UTF-8 continuation bytes */
            chars++;
    return (double)chars * 0.62 * font_size;
}
