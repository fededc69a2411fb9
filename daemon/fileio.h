/* fileio.h — writing files so that a reader never sees half of one. */
#pragma once

#include <stddef.h>

/* Writes data to a temporary file beside path, syncs it, and renames it
 * over path. Returns 0 or -errno. */
int fileio_write_atomic(const char *path, const char *data, size_t len, unsigned mode);
