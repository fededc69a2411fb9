/* fileio.c — atomic replacement of a file: temporary file + rename(2). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "util.h"

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

int fileio_write_atomic(const char *path, const char *data, size_t len, unsigned mode, bool durable)
{
        _cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        if (!durable)
                return 0;
        /* Make the rename itself durable. */
        _cleanup_free_ char *dir = xstrdup(path);
        _cleanup_close_ int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                fsync(dfd);
        return 0;
}

/* Does the file at path hold exactly data? */
static bool same_bytes(const char *path, const char *data, size_t len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
                return false;
        char buf[65536];
        for (size_t done = 0; done < len;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || memcmp(buf, data + done, (size_t)n) != 0)
                        return false;
                done += (size_t)n;
        }
        return true;
}

int fileio_write_if_changed(const char *path, const char *data, size_t len, unsigned mode)
{
        if (same_bytes(path, data, len))
                return 0;
        int r = fileio_write_atomic(path, data, len, mode, false);
        return r < 0 ? r : 1;
}

int fileio_mkdir_p(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        if (mkdir(p, 0750) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        return mkdir(p, 0750) < 0 && errno != EEXIST ? -errno : 0;
}
