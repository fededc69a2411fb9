/* log.c — journald-friendly logging to standard error. */
#include "log.h"

#include <errno.h>

static int max_priority = LOG_INFO;

void log_set_max_priority(int priority)
{
        max_priority = priority;
}

void log_msg(int priority, const char *fmt, ...)
{
        int saved = errno;
        if (priority > max_priority)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        /* One write per line, so lines from a crash never interleave. */
        _cleanup_free_ char *line = xasprintf("<%d>%s\n", priority, msg);
        if (write(STDERR_FILENO, line, strlen(line)) < 0) {
                /* nothing sensible to do */
        }
        errno = saved;
}

const char *log_url_host(const char *url, char buf[static 256])
{
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        /* skip user:password@ */
        const char *at = strchr(p, '@'), *slash = strchr(p, '/');
        if (at && (!slash || at < slash))
                p = at + 1;
        size_t n = strcspn(p, "/?#");
        snprintf(buf, 256, "%.*s", (int)n, p);
        return buf;
}
