/* helpers.h — shared by the unit tests: temporary config files, collected
 * diagnostics as text, and UTC instants computed independently of tz.c.
 * Everything is static inline so that a test that does not use a helper
 * does not warn. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "diag.h"
#include "schedule.h"

/* The "now" the tests build schedules at: 2026-01-01T00:00:00Z. Occurrences
 * at DST edges are published apart from the meeting's start up to this +
 * [tandem] feed_horizon (400 days unless a test sets it). */
#define TEST_NOW INT64_C(1767225600)

/* A directory of this run's config files, made on first use; a failing
 * test leaves its files there and tmp_cleanup removes them all. */
static char tmp_dir[64] _unused_;

static inline const char *tmp_dir_get(void)
{
        if (!tmp_dir[0]) {
                snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tandem-unit-XXXXXX");
                if (!mkdtemp(tmp_dir))
                        fail_msg("mkdtemp: %s", strerror(errno));
        }
        return tmp_dir;
}

/* The group teardown of every test program. */
static inline int tmp_cleanup(void **state)
{
        (void)state;
        if (!tmp_dir[0])
                return 0;
        DIR *d = opendir(tmp_dir);
        if (d) {
                for (struct dirent *e = readdir(d); e; e = readdir(d)) {
                        if (e->d_name[0] == '.')
                                continue;
                        char path[512];
                        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
                        unlink(path);
                }
                closedir(d);
        }
        rmdir(tmp_dir);
        tmp_dir[0] = '\0';
        return 0;
}

/* Writes text to a fresh mode-0600 file; returns its path (malloc'd). */
static inline char *tmp_write(const char *text)
{
        char *path = NULL;
        assert_true(asprintf(&path, "%s/XXXXXX.ini", tmp_dir_get()) > 0);
        int fd = mkstemps(path, 4);
        assert_true(fd >= 0);
        size_t n = strlen(text);
        assert_int_equal(write(fd, text, n), (ssize_t)n);
        close(fd);
        return path;
}

/* All diagnostics as diag_print writes them (sorted by line). */
static inline char *diags_text(const Diags *d)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        diag_print(d, f);
        fclose(f);
        return buf;
}

/* The 1-based number of the first line of text that contains needle. */
static inline unsigned line_of(const char *text, const char *needle)
{
        const char *hit = strstr(text, needle);
        if (!hit)
                fail_msg("test bug: \"%s\" is not in the config text", needle);
        unsigned line = 1;
        for (const char *p = text; p < hit; p++)
                line += *p == '\n';
        return line;
}

/* A loaded config together with its file and diagnostics. */
typedef struct Loaded {
        char *path;
        Config *config;
        Diags diags;
        int r;
        char *text; /* the diagnostics, as printed */
} Loaded;

static inline Loaded load_text(const char *text)
{
        Loaded l = {0};
        l.path = tmp_write(text);
        l.r = config_load(l.path, &l.config, &l.diags);
        l.text = diags_text(&l.diags);
        return l;
}

static inline void loaded_free(Loaded *l)
{
        if (l->path)
                unlink(l->path);
        free(l->path);
        config_free(l->config);
        diag_free(&l->diags);
        free(l->text);
        *l = (Loaded){0};
}

/* Asserts that some diagnostic begins with exactly "PATH:LINE: " and
 * contains every needle (a NULL-terminated list). */
static inline void expect_diag_(const Diags *d, const char *path, unsigned line, const char *where, ...)
{
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
        for (size_t i = 0; i < d->n; i++) {
                const char *s = d->lines[i];
                if (strncmp(s, prefix, strlen(prefix)) != 0)
                        continue;
                va_list ap;
                va_start(ap, where);
                bool all = true;
                for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
                        if (!strstr(s, needle))
                                all = false;
                va_end(ap);
                if (all)
                        return;
        }
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        diag_print(d, f);
        fclose(f);
        print_error("%s: no diagnostic \"%s...\" with all of:", where, prefix);
        va_list ap;
        va_start(ap, where);
        for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
                print_error(" [%s]", needle);
        va_end(ap);
        print_error("\ngot:\n%s", text ? text : "");
        free(text);
        fail();
}
#define STR_(x) #x
#define STR(x) STR_(x)
#define expect_diag(d, path, line, ...) expect_diag_((d), (path), (line), __FILE__ ":" STR(__LINE__), __VA_ARGS__, (const char *)NULL)

/* Asserts that no diagnostic contains needle. */
static inline void expect_no_diag_with(const Diags *d, const char *needle)
{
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->lines[i], needle))
                        fail_msg("unexpected diagnostic: %s", d->lines[i]);
}

/* A UTC instant from its parts, by the C library, not by tz.c. */
static inline int64_t utc(int y, int mo, int d, int h, int mi)
{
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
        return (int64_t)timegm(&tm);
}

static inline void fmt_utc(int64_t t, char buf[static 32])
{
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Compares two instants and shows both as UTC text on mismatch. */
#define assert_instant(got, want)                                                       \
        do {                                                                            \
                int64_t g_ = (got), w_ = (want);                                        \
                if (g_ != w_) {                                                         \
                        char gb_[32], wb_[32];                                          \
                        fmt_utc(g_, gb_);                                               \
                        fmt_utc(w_, wb_);                                               \
                        fail_msg("instant: got %s (%lld), want %s (%lld)", gb_, (long long)g_, wb_, \
                                 (long long)w_);                                        \
                }                                                                       \
        } while (0)
