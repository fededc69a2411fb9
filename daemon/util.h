/* util.h — small helpers every file uses: allocation that aborts on
 * exhaustion (a daemon that cannot allocate a few bytes cannot do anything
 * useful), cleanup attributes in the style of systemd, and string lists. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))

/* Hand ownership on: returns the pointer and leaves NULL behind. */
#define TAKE_PTR(p)                          \
        ({                                   \
                __typeof__(p) _p_ = (p);     \
                (p) = NULL;                  \
                _p_;                         \
        })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

static inline void freep(void *p) { free(*(void **)p); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Grow an array of n_used elements by one, doubling its capacity. */
#define GROW(arr, n_used, n_alloc)                                                \
        do {                                                                      \
                if ((n_used) >= (n_alloc)) {                                      \
                        (n_alloc) = (n_alloc) ? (n_alloc) * 2 : 8;                \
                        (arr) = xrealloc((arr), (n_alloc) * sizeof(*(arr)));     \
                }                                                                 \
        } while (0)

/* A growable string, for building text that libraries do not build for us
 * (log lines, the preview table, chat text). */
typedef struct Buf {
        char *s;
        size_t len, alloc;
} Buf;
void buf_append(Buf *b, const char *s);
void buf_append_n(Buf *b, const char *s, size_t n);
void buf_printf(Buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_free(Buf *b);
char *buf_steal(Buf *b);

/* FNV-1a, 64 bits: a fingerprint of bytes (not a cryptographic hash). */
uint64_t fnv1a64(const char *data, size_t len);

/* A map from strings to pointers, for lookups by name where a list would
 * be walked once per item (sections, departments, webhook URLs): open
 * addressing on fnv1a64. Keys are not copied and must outlive the map;
 * values are never NULL. */
typedef struct StrMapSlot {
        const char *key;
        void *value;
} StrMapSlot;
typedef struct StrMap {
        StrMapSlot *slots;
        size_t n, cap;
} StrMap;
void *strmap_get(const StrMap *m, const char *key);
/* Adds key -> value unless key is there; returns what was there, or NULL
 * when value went in. */
void *strmap_put(StrMap *m, const char *key, void *value);
void strmap_free(StrMap *m);

/* Is s valid UTF-8 (RFC 3629: no overlong forms, surrogates or values
 * past U+10FFFF)? */
bool utf8_valid(const char *s);
/* A copy of s with every invalid sequence replaced by U+FFFD. */
char *utf8_sanitize(const char *s);

char *strstrip(char *s);
bool str_is_blank(const char *s);
/* Split a comma list into trimmed, non-empty items; returns their count. */
size_t str_split_commas(const char *s, char ***items);
void strv_free(char **v, size_t n);
