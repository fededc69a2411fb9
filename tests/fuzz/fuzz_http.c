/* fuzz_http.c — libFuzzer target: the feed server's request routing and
 * header parsing (paths, query strings, If-None-Match, Accept-Encoding),
 * and the index page's escaping. The input is split at the first two NUL
 * bytes into path, header and a second header. A route must only ever name
 * a known feed or the index; no markup may come from a config value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_char(const char *s, char c)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == c;
        return n;
}

/* Escaped text has no markup characters, only the five references. */
static void check_escaped(const char *in)
{
        static const char *const refs[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
        char *e = http_html_escape(in);
        size_t specials = 0;
        for (const char *p = e; *p; p++) {
                if (strchr("<>\"'", *p))
                        abort();
                if (*p != '&')
                        continue;
                size_t i = 0;
                while (i < 5 && strncmp(p, refs[i], strlen(refs[i])) != 0)
                        i++;
                if (i == 5)
                        abort();
                specials++;
        }
        if (specials != count_char(in, '&') + count_char(in, '<') + count_char(in, '>') +
                            count_char(in, '"') + count_char(in, '\''))
                abort();
        free(e);
}

/* The page from hostile values has exactly the tags and quotes of the page
 * from harmless ones. */
static void check_index(const char *a, const char *b)
{
        HttpFeed feeds[] = {{.name = "all"}, {.name = "sales", .title = a}};
        HttpSite hostile = {a, b, NULL}, plain = {"x", "https://x", NULL};
        HttpFeed plain_feeds[] = {{.name = "all"}, {.name = "sales", .title = "x"}};
        char *page = http_index_html(&hostile, feeds, 2), *ref = http_index_html(&plain, plain_feeds, 2);
        if (count_char(page, '<') != count_char(ref, '<') || count_char(page, '"') != count_char(ref, '"') ||
            count_char(page, '>') != count_char(ref, '>'))
                abort();
        free(page);
        free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const names[] = {"all", "sales", "marketing", "r-and-d_2"};
        char *buf = malloc(size + 3);
        memcpy(buf, data, size);
        buf[size] = buf[size + 1] = buf[size + 2] = '\0';
        const char *path = buf;
        const char *h1 = path + strlen(path) + 1;
        const char *h2 = h1 <= buf + size ? h1 + strlen(h1) + 1 : buf + size + 2;

        size_t feed = (size_t)-1;
        HttpRoute r = http_route(path, names, 4, &feed);
        if (r == HTTP_ROUTE_FEED) {
                if (feed >= 4)
                        abort();
                /* The path is exactly /feeds/<name>.ics. */
                char want[64];
                snprintf(want, sizeof want, "/feeds/%s.ics", names[feed]);
                if (strcmp(path, want) != 0)
                        abort();
        }
        if (r == HTTP_ROUTE_INDEX && strcmp(path, "/") != 0 && strcmp(path, "/feeds") != 0 &&
            strcmp(path, "/feeds/") != 0)
                abort();
        http_etag_matches(h1, "\"0123456789abcdef-af0\"");
        http_accepts_gzip(h2);
        http_token_equal(h1, "s3cret-token");
        check_escaped(path);
        check_index(h1, h2);
        free(buf);
        return 0;
}
