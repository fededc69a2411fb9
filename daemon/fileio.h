/* fileio.h — writing files so that a reader never sees half of one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes data to a temporary file beside path and renames it over path:
 * readers see the old file or the new one, never half. durable: also sync
 * the file and the directory, so the new file survives a power cut.
 * Returns 0 or -errno. */
int fileio_write_atomic(const char *path, const char *data, size_t len, unsigned mode, bool durable);
/* The same, not durable, unless the file holds these bytes already (then
 * it is not touched: no new inode, no new mtime for readers to notice).
 * Returns 1 when written, 0 when unchanged, or -errno. */
int fileio_write_if_changed(const char *path, const char *data, size_t len, unsigned mode);
/* mkdir -p, mode 0750 for what it creates. Returns 0 or -errno. */
int fileio_mkdir_p(const char *path);
