/* calendars.c — each distinct source once, however many departments name it. */
#include "calendars.h"

#include <errno.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

/* How long `tandem check` or a first start waits for a calendar with no
 * cached copy yet. */
#define FETCH_TIMEOUT_MS 15000

typedef struct Source {
        char *name;    /* path or URL, as resolved */
        Holidays *h;   /* NULL when it could not be had */
} Source;

struct Calendars {
        Source *v;
        size_t n, alloc;
        const char **urls;
        size_t n_urls;
        /* per department, in config order: indexes of its sources (its
         * own and everyone's) */
        size_t **dept_sources;
        size_t *n_dept_sources;
        const Config *config;
};

/* URLs are secrets when private (a Google calendar's "secret address"):
 * show their host only. */
static char *source_label(const char *name)
{
        char host[256];
        return holiday_source_is_url(name) ? xasprintf("holidays at %s", log_url_host(name, host)) : xstrdup(name);
}

static int load_one(Calendars *cal, const char *name, bool fetch, int64_t now, Diags *diags, size_t *ret)
{
        for (size_t i = 0; i < cal->n; i++)
                if (streq(cal->v[i].name, name)) {
                        *ret = i;
                        return 0;
                }
        GROW(cal->v, cal->n, cal->alloc);
        Source *s = &cal->v[cal->n];
        *s = (Source){xstrdup(name), NULL};
        *ret = cal->n++;
        const Config *c = cal->config;
        int r = holiday_source_load(name, c->state_dir, &s->h, diags);
        if (r == -ENOENT && holiday_source_is_url(name) && fetch) {
                _cleanup_free_ char *error = NULL;
                (void)fileio_mkdir_p(c->state_dir); /* a first start: the cache goes there */
                if (holiday_fetch(name, c->state_dir, FETCH_TIMEOUT_MS, now, &error) >= 0)
                        r = holiday_source_load(name, c->state_dir, &s->h, diags);
                else {
                        _cleanup_free_ char *label = source_label(name);
                        diag_warning(diags, c->path, 0, "cannot fetch %s: %s; its holidays are left out until it can be",
                                     label, error ? error : "failed");
                        return 0;
                }
        }
        if (r == -ENOENT && holiday_source_is_url(name)) {
                _cleanup_free_ char *label = source_label(name);
                diag_warning(diags, c->path, 0, "no copy of %s yet; its holidays are left out until it is fetched", label);
                return 0;
        }
        /* A file with errors, or none at all: holiday.c said so, at the
         * file's own line or name. */
        return r < 0 ? -EINVAL : 0;
}

static int load_list(Calendars *cal, const Sources *src, bool fetch, int64_t now, Diags *diags, size_t **idx, size_t *n)
{
        int r = 0;
        for (size_t i = 0; i < src->n; i++) {
                size_t k;
                if (load_one(cal, src->v[i], fetch, now, diags, &k) < 0)
                        r = -EINVAL;
                *idx = xrealloc(*idx, (*n + 1) * sizeof(size_t));
                (*idx)[(*n)++] = k;
        }
        return r;
}

int calendars_load(const Config *c, bool fetch, int64_t now, Calendars **ret, Diags *diags)
{
        Calendars *cal = xcalloc(1, sizeof(Calendars));
        cal->config = c;
        cal->dept_sources = xcalloc(c->n_departments + 1, sizeof(size_t *));
        cal->n_dept_sources = xcalloc(c->n_departments + 1, sizeof(size_t));
        int r = 0;
        for (size_t d = 0; d < c->n_departments; d++) {
                if (load_list(cal, &c->departments[d].holidays, fetch, now, diags, &cal->dept_sources[d],
                              &cal->n_dept_sources[d]) < 0)
                        r = -EINVAL;
                if (load_list(cal, &c->holidays, fetch, now, diags, &cal->dept_sources[d], &cal->n_dept_sources[d]) < 0)
                        r = -EINVAL;
        }
        if (c->n_departments == 0) {
                size_t *none = NULL, n = 0;
                r = load_list(cal, &c->holidays, fetch, now, diags, &none, &n);
                free(none);
        }
        cal->urls = xcalloc(cal->n + 1, sizeof(char *));
        for (size_t i = 0; i < cal->n; i++)
                if (holiday_source_is_url(cal->v[i].name))
                        cal->urls[cal->n_urls++] = cal->v[i].name;
        *ret = cal;
        return r;
}

Calendars *calendars_free(Calendars *cal)
{
        if (!cal)
                return NULL;
        for (size_t i = 0; i < cal->n; i++) {
                free(cal->v[i].name);
                holiday_free(cal->v[i].h);
        }
        for (size_t d = 0; d < cal->config->n_departments; d++)
                free(cal->dept_sources[d]);
        free(cal->dept_sources);
        free(cal->n_dept_sources);
        free(cal->urls);
        free(cal->v);
        free(cal);
        return NULL;
}

const char *calendars_holiday(void *calendars, const Department *dept, Date d)
{
        const Calendars *cal = calendars;
        size_t di = (size_t)(dept - cal->config->departments);
        if (di >= cal->config->n_departments)
                return NULL;
        for (size_t i = 0; i < cal->n_dept_sources[di]; i++) {
                const Holidays *h = cal->v[cal->dept_sources[di][i]].h;
                const char *name = h ? holiday_name(h, d) : NULL;
                if (name)
                        return name;
        }
        return NULL;
}

bool calendars_any(const Calendars *cal)
{
        for (size_t i = 0; cal && i < cal->n; i++)
                if (cal->v[i].h)
                        return true;
        return false;
}

bool calendars_missing(const Calendars *cal)
{
        for (size_t i = 0; i < cal->n; i++)
                if (!cal->v[i].h && holiday_source_is_url(cal->v[i].name))
                        return true;
        return false;
}

size_t calendars_urls(const Calendars *cal, const char *const **ret)
{
        *ret = cal->urls;
        return cal->n_urls;
}

char *calendars_summary(const Calendars *cal, int year)
{
        Buf b = {0};
        for (size_t i = 0; i < cal->n; i++) {
                _cleanup_free_ char *label = source_label(cal->v[i].name);
                if (!cal->v[i].h) {
                        buf_printf(&b, "  %s: not loaded\n", label);
                        continue;
                }
                const HolidayDate *dates;
                size_t n = holiday_year(cal->v[i].h, year, &dates);
                const char *name = holiday_calendar_name(cal->v[i].h);
                buf_printf(&b, "  %s%s%s%s: %zu holiday%s in %d\n", label, name ? " (" : "", name ? name : "",
                           name ? ")" : "", n, n == 1 ? "" : "s", year);
        }
        return buf_steal(&b);
}
