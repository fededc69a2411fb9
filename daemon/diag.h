/* diag.h — collected diagnostics: every config error in one run, each as
 * "FILE:LINE: message", warnings alongside. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct Diags {
        char **lines;
        unsigned *line_nos; /* for printing in file order */
        size_t n, alloc;
        size_t n_errors, n_warnings;
} Diags;

void diag_error(Diags *d, const char *file, unsigned line, const char *fmt, ...) _printf_(4, 5);
void diag_warning(Diags *d, const char *file, unsigned line, const char *fmt, ...) _printf_(4, 5);
/* Prints in line order (a stable sort: same-line messages keep theirs). */
void diag_print(const Diags *d, FILE *f);
void diag_free(Diags *d);
