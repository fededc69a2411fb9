/* diag.c — collected diagnostics. */
#include "diag.h"

_printf_(5, 0) static void add(Diags *d, bool warning, const char *file, unsigned line, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        size_t alloc = d->alloc;
        GROW(d->lines, d->n, d->alloc);
        if (alloc != d->alloc)
                d->line_nos = xrealloc(d->line_nos, d->alloc * sizeof(unsigned));
        /* File-wide notes (line 0) go last. */
        d->line_nos[d->n] = line ? line : (unsigned)-1;
        if (line)
                d->lines[d->n++] = xasprintf("%s:%u: %s%s", file, line, warning ? "warning: " : "", msg);
        else
                d->lines[d->n++] = xasprintf("%s: %s%s", file, warning ? "warning: " : "", msg);
        if (warning)
                d->n_warnings++;
        else
                d->n_errors++;
}

void diag_error(Diags *d, const char *file, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        add(d, false, file, line, fmt, ap);
        va_end(ap);
}

void diag_warning(Diags *d, const char *file, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        add(d, true, file, line, fmt, ap);
        va_end(ap);
}

void diag_print(const Diags *d, FILE *f)
{
        _cleanup_free_ size_t *order = xcalloc(d->n, sizeof(size_t));
        for (size_t i = 0; i < d->n; i++) {
                size_t j = i;
                for (; j > 0 && d->line_nos[order[j - 1]] > d->line_nos[i]; j--)
                        order[j] = order[j - 1];
                order[j] = i;
        }
        for (size_t i = 0; i < d->n; i++)
                fprintf(f, "%s\n", d->lines[order[i]]);
}

void diag_free(Diags *d)
{
        strv_free(d->lines, d->n);
        free(d->line_nos);
        *d = (Diags){0};
}
