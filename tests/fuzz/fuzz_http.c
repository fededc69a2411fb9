/* fuzz_http.c — libFuzzer target: the feed server's request routing and
 * header parsing (paths, query strings, If-None-Match, Accept-Encoding).
 * The input is split at the first two NUL bytes into path, header and a
 * second header. A route must only ever name a known feed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        http_etag_matches(h1, "\"0123456789abcdef-af0\"");
        http_accepts_gzip(h2);
        http_token_equal(h1, "s3cret-token");
        free(buf);
        return 0;
}
