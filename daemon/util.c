/* util.c — allocation, growable strings and string lists. */
#include "util.h"

#include <ctype.h>

static void *oom(void)
{
        fputs("tandem: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        return p ? p : oom();
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);
        return q ? q : oom();
}

char *xstrdup(const char *s)
{
        return s ? strcpy(xmalloc(strlen(s) + 1), s) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        return p ? p : oom();
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                return oom();
        return s;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = xvasprintf(fmt, ap);
        va_end(ap);
        return s;
}

void buf_append(Buf *b, const char *s)
{
        buf_append_n(b, s, strlen(s));
}

void buf_append_n(Buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->alloc) {
                b->alloc = (b->len + n + 1) * 2;
                b->s = xrealloc(b->s, b->alloc);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void buf_printf(Buf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = xvasprintf(fmt, ap);
        va_end(ap);
        buf_append(b, s);
}

void buf_free(Buf *b)
{
        free(b->s);
        *b = (Buf){0};
}

char *buf_steal(Buf *b)
{
        char *s = b->s ? b->s : xstrdup("");
        *b = (Buf){0};
        return s;
}

uint64_t fnv1a64(const char *data, size_t len)
{
        uint64_t h = 14695981039346656037ULL;
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
        return h;
}

static StrMapSlot *strmap_slot(StrMapSlot *slots, size_t cap, const char *key)
{
        size_t i = fnv1a64(key, strlen(key)) & (cap - 1);
        while (slots[i].key && !streq(slots[i].key, key))
                i = (i + 1) & (cap - 1);
        return &slots[i];
}

void *strmap_get(const StrMap *m, const char *key)
{
        return m->cap ? strmap_slot(m->slots, m->cap, key)->value : NULL;
}

void *strmap_put(StrMap *m, const char *key, void *value)
{
        /* At most half full, so that probes stay short. */
        if (2 * (m->n + 1) > m->cap) {
                size_t cap = m->cap ? 2 * m->cap : 16;
                StrMapSlot *slots = xcalloc(cap, sizeof(StrMapSlot));
                for (size_t i = 0; i < m->cap; i++)
                        if (m->slots[i].key)
                                *strmap_slot(slots, cap, m->slots[i].key) = m->slots[i];
                free(m->slots);
                m->slots = slots;
                m->cap = cap;
        }
        StrMapSlot *s = strmap_slot(m->slots, m->cap, key);
        if (s->key)
                return s->value;
        *s = (StrMapSlot){key, value};
        m->n++;
        return NULL;
}

void strmap_free(StrMap *m)
{
        free(m->slots);
        *m = (StrMap){0};
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
        if (s[0] < 0x80)
                return 1;
        size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] > 0x8f))
                return 0;
        return n;
}

bool utf8_valid(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                size_t n = utf8_sequence(p);
                if (!n)
                        return false;
                p += n;
        }
        return true;
}

char *utf8_sanitize(const char *s)
{
        Buf b = {0};
        buf_append(&b, "");
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                size_t n = utf8_sequence(p);
                if (!n) {
                        buf_append(&b, "\xef\xbf\xbd");
                        p++;
                        continue;
                }
                char one[5] = {0};
                memcpy(one, p, n);
                buf_append(&b, one);
                p += n;
        }
        return buf_steal(&b);
}

char *strstrip(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

bool str_is_blank(const char *s)
{
        for (; *s; s++)
                if (!isspace((unsigned char)*s))
                        return false;
        return true;
}

size_t str_split_commas(const char *s, char ***items)
{
        _cleanup_free_ char *copy = xstrdup(s);
        char **v = NULL;
        size_t n = 0, alloc = 0;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *t = strstrip(tok);
                if (!*t)
                        continue;
                GROW(v, n, alloc);
                v[n++] = xstrdup(t);
        }
        *items = v;
        return n;
}

void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}
