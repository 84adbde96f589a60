/*
 * flame_svg: a flame tree (exporter/flame.h) drawn as a self-contained
 * SVG flame graph a person opens in a browser: the root at the bottom,
 * callees above their callers, each frame as wide as its share of the
 * root's total value, labelled with as much of its codeSignature as fits,
 * coloured by its Go package (a hash of the package path picks a colour
 * from a warm palette, so one package has one colour in every graph), a
 * <title> tooltip per frame with the full signature, value and share, and
 * a title line with the totals. Frames narrower than a tenth of a pixel
 * (and everything above them) are left out, which bounds the output by
 * the width, not by the tree.
 *
 * Pure: text into a buf. Names come from profiled binaries: bytes that
 * are not printable ASCII are drawn as '?', and XML's specials escape.
 */
#ifndef PROFPIPE_EXPORT_FLAME_SVG_H
#define PROFPIPE_EXPORT_FLAME_SVG_H

#include "common/buf.h"
#include "exporter/flame.h"

#define FLAME_SVG_WIDTH 1200

/* Draw f, built with value (and count, or NULL), under title. 0, or -1
 * out of memory or past out's cap. */
int flame_svg(const struct flame *f, const char *title,
    const struct export_col *value, const struct export_col *count,
    struct buf *out);

/* The package of a Go function name: "net/http.(*conn).serve" is
 * "net/http", "main.main" is "main". Into pkg (size n). */
void flame_svg_package(const char *function, char *pkg, size_t n);

#endif
