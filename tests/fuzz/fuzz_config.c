/* fuzz_config.c — libFuzzer target: the INI reader, the validator and the
 * schedule builder (every rule is checked by expanding it) on arbitrary
 * bytes. Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fd = memfd_create("tandem.ini", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        Config *c = NULL;
        Schedule *s = NULL;
        Diags diags = {0};
        if (schedule_load(path, 1767225600 /* 2026-01-01 */, &c, &s, &diags) == 0) {
                /* A valid config also expands over a year. */
                Occurrence *occ = NULL;
                schedule_occurrences(s, 1767225600, 1767225600 + 366 * 86400, NULL, &occ);
                free(occ);
                schedule_free(s);
                config_free(c);
        }
        diag_free(&diags);
        close(fd);
        return 0;
}
