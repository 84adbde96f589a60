/*
 * sink_dir: what the sinks that write one file per window share: the
 * file's path and an all-or-nothing write.
 *
 *   DIR/SERVICE/INSTANCE/KIND/START-END.EXT
 *
 * INSTANCE is "all" when the window merged instances (origin.instance is
 * ""); START and END are the window's bounds in unix seconds (UTC, floor),
 * so names sort by time, need no quoting in any shell and hold no ':' (a
 * host:port instance becomes host_port). Every component comes from the
 * wire, so it is reduced to [A-Za-z0-9._-] (anything else becomes '_', a
 * leading '.' too, so no component is "." or ".."), at most 128 bytes: no
 * origin can name a file outside DIR.
 *
 * A file is written to a temporary name beside it and renamed into place,
 * so a reader never sees half a file and a retried window replaces what
 * an earlier attempt wrote.
 */
#ifndef PROFPIPE_EXPORT_SINK_DIR_H
#define PROFPIPE_EXPORT_SINK_DIR_H

#include <stddef.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"

/* mkdir -p dir (0755) and check it is a writable directory. 0, or -1 with
 * the reason in err. */
int sink_dir_mkdirs(const char *dir, char *err, size_t errlen);

/* The window's path with extension ext (".pb.gz") into path (cleared
 * first). 0, or -1 past path's cap. */
int sink_dir_window_path(struct buf *path, const char *dir,
    const Profpipe__Origin *o, const char *ext);

/* Write data to path atomically, creating its directory. 0, or -1 with
 * err naming the file and the reason; nothing is left behind then. */
int sink_dir_write(
    const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
