/* fuzz_holiday.c — libFuzzer target: the holiday-calendar reader
 * (holiday_parse) on arbitrary bytes, and, when it accepts them, the
 * expansion of a few years and the queries. Any crash, leak, sanitizer
 * report or slow input (libFuzzer's -timeout) is a bug. */
#include <libical/ical.h>
#include <stdint.h>

#include "holiday.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Holidays *h = NULL;
        Diags diags = {0};
        if (holiday_parse((const char *)data, size, "fuzz.ics", &h, &diags) == 0) {
                /* The years a 400-day horizon touches, and both ends. */
                static const int years[] = {HOLIDAY_YEAR_MIN, 2026, 2027, HOLIDAY_YEAR_MAX};
                for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
                        const HolidayDate *v = NULL;
                        size_t n = holiday_year(h, years[i], &v);
                        for (size_t k = 0; k < n; k++)
                                if (!holiday_name(h, v[k].date))
                                        __builtin_trap(); /* listed but not found */
                }
                holiday_name(h, (Date){2026, 12, 25});
                holiday_calendar_name(h);
                holiday_free(h);
        }
        diag_free(&diags);
        /* libical keeps its temporary strings in a ring until it wraps:
         * empty it, so that every input frees what it allocated and
         * libFuzzer's leak check has nothing to scan. */
        icalmemory_free_ring();
        return 0;
}
