/* holiday.c — holiday calendars: reading an iCalendar text of all-day
 * events with libical, and answering "is this date a holiday?".
 *
 * Line numbers. libical's parser reports errors as X-LIC-ERROR properties
 * inside the component where they happened, without a line. We hand libical
 * the text one content line at a time (icalparser_get_line() unfolds, a
 * line generator of ours counts physical lines) and put a marker property
 * X-TANDEM-LINE:<n> into the component before each line, and one right after
 * each BEGIN. Every property, and every X-LIC-ERROR, then follows the marker
 * of the line it came from, so one walk over the finished tree knows the
 * source line of everything. A pre-scan of the text would have to find
 * content lines and component boundaries itself, that is, parse iCalendar
 * by hand; the markers leave all parsing to libical.
 *
 * Expansion. Each event's recurrence set (RFC 5545 section 3.8.5: DTSTART,
 * RRULE, RDATE, less EXDATE and overridden instances) is expanded one year
 * at a time, on the first question about that year, into a sorted array of
 * dates: later questions cost a binary search. */
#include "holiday.h"

#include <errno.h>
#include <libical/ical.h>
#include <strings.h>

#include "util.h"

#define MARKER "X-TANDEM-LINE"
#define MAX_NESTING 8         /* VCALENDAR > VEVENT > VALARM is 3 */
#define MAX_REPORTED 50       /* errors, then warnings, shown per file */
#define NAME_MAX_BYTES 200    /* a holiday's name, cut on a character */
#define N_YEARS (HOLIDAY_YEAR_MAX - HOLIDAY_YEAR_MIN + 1)

typedef struct Event {
        char *name, *uid;
        unsigned line;
        int64_t start;  /* days since 1970-01-01 of DTSTART */
        int days;       /* length: every date in [start, start + days) */
        bool cancelled; /* STATUS:CANCELLED */
        bool named;     /* has a SUMMARY of its own */
        bool has_rid;   /* an overridden instance: RECURRENCE-ID */
        int64_t rid;
        struct icalrecurrencetype *rule; /* NULL: no RRULE; rscale owned */
        int64_t *rdates, *exdates;       /* exdates sorted by events_resolve() */
        size_t n_rdates, a_rdates, n_exdates, a_exdates;
        /* A rule with COUNT cannot start anywhere but DTSTART: its starts
         * are expanded once, in full (to HOLIDAY_YEAR_MAX). */
        int64_t *counted;
        size_t n_counted;
        bool counted_done;
} Event;

typedef struct Year {
        HolidayDate *dates;
        size_t n;
        char **joined; /* names of dates with several holidays */
        size_t n_joined;
} Year;

struct Holidays {
        char *calendar_name;
        Event *events;
        size_t n_events;
        size_t observances;
        Year **years; /* [year - HOLIDAY_YEAR_MIN], NULL until asked for */
};

/* ------------------------------------------------------------------ */
/* Reporting                                                           */

typedef struct Parse {
        const char *label;
        Diags *diags;
        size_t n_errors, n_warnings, n_unreported;
        size_t n_timed; /* timed events skipped */
        size_t n_rules;
        int64_t count_steps; /* estimated, of the rules with COUNT so far */
} Parse;

/* Shows the first MAX_REPORTED errors and warnings; counts every error. */
_printf_(4, 0) static void report(Parse *p, bool warning, unsigned line, const char *fmt, va_list ap)
{
        size_t *n = warning ? &p->n_warnings : &p->n_errors;
        if (++*n > MAX_REPORTED) {
                p->n_unreported += !warning;
                return;
        }
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        (warning ? diag_warning : diag_error)(p->diags, p->label, line, "%s", msg);
}

_printf_(3, 4) static void parse_error(Parse *p, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(p, false, line, fmt, ap);
        va_end(ap);
}

_printf_(3, 4) static void parse_warning(Parse *p, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(p, true, line, fmt, ap);
        va_end(ap);
}

/* A short, printable quote of untrusted text for a message. */
static char *quote(const char *s)
{
        size_t n = strlen(s), len = n > 60 ? 60 : n;
        /* Never cut inside a UTF-8 sequence. */
        while (len > 0 && len < n && ((unsigned char)s[len] & 0xc0) == 0x80)
                len--;
        _cleanup_free_ char *cut = xstrndup(s, len);
        for (char *c = cut; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        *c = '?';
        return xasprintf("\"%s%s\"", cut, len < n ? "..." : "");
}

/* ------------------------------------------------------------------ */
/* The text, before libical sees it                                    */

static unsigned line_at(const char *text, size_t offset)
{
        unsigned line = 1;
        for (size_t i = 0; i < offset; i++)
                line += text[i] == '\n';
        return line;
}

/* Sizes, NUL bytes and UTF-8 (RFC 5545 section 3.1.4: the default charset
 * is UTF-8, and we accept no other). */
static int text_check(Parse *p, const char *text, size_t len)
{
        if (len > HOLIDAY_MAX_BYTES) {
                parse_error(p, 0, "larger than %u bytes (%zu bytes): not a holiday calendar", HOLIDAY_MAX_BYTES, len);
                return -EFBIG;
        }
        const char *nul = memchr(text, '\0', len);
        if (nul) {
                parse_error(p, line_at(text, (size_t)(nul - text)), "a NUL byte: not an iCalendar text");
                return -EINVAL;
        }
        _cleanup_free_ char *copy = xstrndup(text, len);
        if (utf8_valid(copy))
                return 0;
        /* Find the first line that is not valid on its own. */
        unsigned line = 1;
        for (char *s = copy, *nl; s; s = nl ? nl + 1 : NULL, line++) {
                nl = strchr(s, '\n');
                if (nl)
                        *nl = '\0';
                if (!utf8_valid(s))
                        break;
        }
        parse_error(p, line, "invalid UTF-8 (iCalendar text is UTF-8, RFC 5545 section 3.1.4)");
        return -EINVAL;
}

/* Hands libical one physical line at a time (or a piece of a long one, as
 * icalparser_string_line_generator does) and remembers where it was. */
typedef struct Reader {
        const char *pos, *end;
        unsigned line;       /* physical line of the next piece */
        unsigned piece_line; /* physical line of the piece handed out last */
} Reader;

static char *reader_next(char *out, size_t size, void *userdata)
{
        Reader *r = userdata;
        if (r->pos >= r->end || size < 2)
                return NULL;
        const char *nl = memchr(r->pos, '\n', (size_t)(r->end - r->pos));
        size_t n = nl ? (size_t)(nl + 1 - r->pos) : (size_t)(r->end - r->pos);
        if (n > size - 1)
                n = size - 1;
        memcpy(out, r->pos, n);
        out[n] = '\0';
        r->piece_line = r->line;
        r->pos += n;
        if (out[n - 1] == '\n')
                r->line++;
        return out;
}

/* ------------------------------------------------------------------ */
/* Feeding libical, with line markers                                  */

typedef struct Open {
        unsigned line;
        char *text; /* the BEGIN line, for messages */
} Open;

/* The VCALENDAR and its own properties go to one parser; each component
 * inside it (VEVENT, VTIMEZONE) to a parser of its own, handed to
 * child_done as soon as it ends and freed then: libical's tree of a 4 MiB
 * file would take a hundred megabytes at once. */
typedef struct Feed {
        Parse *p;
        icalparser *top, *child;
        Open stack[MAX_NESTING];
        size_t depth;
        icalcomponent **roots; /* the VCALENDARs, without their children */
        size_t n_roots, a_roots;
        void (*child_done)(void *userdata, icalcomponent *c);
        void *userdata;
        bool outside_reported, stop;
} Feed;

static bool starts_with_word(const char *line, const char *word)
{
        size_t n = strlen(word);
        return strncasecmp(line, word, n) == 0 && (line[n] == ':' || line[n] == ';');
}

static void feed_marker(icalparser *parser, unsigned line)
{
        char marker[64];
        snprintf(marker, sizeof marker, MARKER ":%u", line);
        /* A marker is a plain x-prop: it never completes a component. */
        icalparser_add_line(parser, marker);
}

/* The component name of a BEGIN or END line, for comparing the two. */
static const char *component_word(const char *line)
{
        const char *colon = strchr(line, ':');
        return colon ? colon + 1 : "";
}

/* Outside every component only BEGIN:VCALENDAR may come (the first line
 * of an HTML error page lands here). */
static bool feed_outside(Feed *f, unsigned line, const char *text)
{
        if (starts_with_word(text, "BEGIN") && strcasecmp(component_word(text), "VCALENDAR") == 0)
                return true;
        if (!f->outside_reported) {
                _cleanup_free_ char *q = quote(text);
                parse_error(f->p, line, "expected BEGIN:VCALENDAR, got %s", q);
        }
        f->outside_reported = true;
        if (f->n_roots == 0)
                f->stop = true; /* not iCalendar at all */
        return false;
}

static void feed_end(Feed *f, unsigned line, const char *text)
{
        Open *o = &f->stack[--f->depth];
        if (strcasecmp(component_word(o->text), component_word(text)) != 0) {
                _cleanup_free_ char *q = quote(text), *qb = quote(o->text);
                parse_error(f->p, line, "%s ends %s of line %u", q, qb, o->line);
        }
        free(o->text);
}

static void feed_line(Feed *f, unsigned line, char *text)
{
        /* A marker in the text itself would lie about lines: drop it (an
         * x-prop, which nothing reads). */
        if (str_is_blank(text) || starts_with_word(text, MARKER))
                return;
        if (f->depth == 0 && !feed_outside(f, line, text))
                return;
        bool begin = starts_with_word(text, "BEGIN");
        if (f->depth == 1 && begin)
                f->child = icalparser_new();
        icalparser *parser = f->depth >= 2 || (f->depth == 1 && begin) ? f->child : f->top;
        if (!parser) {
                /* libical ended the component before its END came (it took
                 * an earlier line for the END, or never took the BEGIN for
                 * one): the nesting is lost, and so is the rest of the file. */
                _cleanup_free_ char *q = quote(text);
                parse_error(f->p, line, "%s is inside a component whose BEGIN or END lines above do not match", q);
                f->stop = true;
                return;
        }
        if (f->depth > 0)
                feed_marker(parser, line);
        icalcomponent *done = icalparser_add_line(parser, text);
        icalparser_state state = icalparser_get_state(parser);
        if (state == ICALPARSER_BEGIN_COMP) {
                if (f->depth == MAX_NESTING) {
                        parse_error(f->p, line, "components nested deeper than %d", MAX_NESTING);
                        f->stop = true;
                        return;
                }
                f->stack[f->depth++] = (Open){line, xstrdup(text)};
                feed_marker(parser, line);
                return;
        }
        if (!done && state != ICALPARSER_END_COMP)
                return;
        feed_end(f, line, text);
        if (done && parser == f->child) {
                f->child_done(f->userdata, done);
                icalcomponent_free(done);
                icalparser_free(TAKE_PTR(f->child));
        } else if (done) {
                GROW(f->roots, f->n_roots, f->a_roots);
                f->roots[f->n_roots++] = done;
        }
}

static void feed_free(Feed *f)
{
        for (size_t i = 0; i < f->depth; i++)
                free(f->stack[i].text);
        for (size_t i = 0; i < f->n_roots; i++)
                icalcomponent_free(f->roots[i]);
        free(f->roots);
        if (f->child)
                icalparser_free(f->child);
        if (f->top)
                icalparser_free(f->top);
}

/* Every VCALENDAR of the text into f->roots, each component inside one to
 * f->child_done; errors to f->p. */
static void feed_text(Feed *f, const char *text, size_t len)
{
        Reader r = {text, text + len, 1, 1};
        /* A UTF-8 byte order mark is no part of the first line. */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                r.pos += 3;
        f->top = icalparser_new();
        icalparser_set_gen_data(f->top, &r);
        icalerrorstate es = icalerror_get_error_state(ICAL_MALFORMEDDATA_ERROR);
        icalerror_set_error_state(ICAL_MALFORMEDDATA_ERROR, ICAL_ERROR_NONFATAL);
        /* icalparser_get_line() reads one piece ahead, to see whether the
         * next line continues this one: the line it returns began where the
         * piece read ahead last time began. */
        unsigned start = 1;
        for (char *line; !f->stop && (line = icalparser_get_line(f->top, reader_next));) {
                unsigned here = start;
                start = r.piece_line;
                feed_line(f, here, line);
                icalmemory_free_buffer(line);
        }
        icalerror_set_error_state(ICAL_MALFORMEDDATA_ERROR, es);
        if (f->stop)
                return;
        for (size_t i = f->depth; i > 0; i--) {
                _cleanup_free_ char *q = quote(f->stack[i - 1].text);
                parse_error(f->p, f->stack[i - 1].line, "%s is never ended (the file is cut short?)", q);
        }
        if (f->n_roots == 0 && f->p->n_errors == 0)
                parse_error(f->p, 0, "no BEGIN:VCALENDAR: not an iCalendar file");
}

/* ------------------------------------------------------------------ */
/* Walking the tree with line numbers                                  */

static bool is_marker(icalproperty *prop, unsigned *line)
{
        if (icalproperty_isa(prop) != ICAL_X_PROPERTY)
                return false;
        const char *name = icalproperty_get_x_name(prop);
        if (!name || strcasecmp(name, MARKER) != 0)
                return false;
        const char *v = icalproperty_get_x(prop);
        unsigned n = 0;
        if (v && parse_uint(v, 1, UINT32_MAX, &n) == 0)
                *line = n;
        return true;
}

/* The line of a component's BEGIN: its first marker. */
static unsigned component_line(icalcomponent *c)
{
        unsigned line = 0;
        for (icalproperty *prop = icalcomponent_get_first_property(c, ICAL_X_PROPERTY); prop;
             prop = icalcomponent_get_next_property(c, ICAL_X_PROPERTY))
                if (is_marker(prop, &line))
                        return line;
        return 0;
}

/* libical's message, without its advice to the program. */
static void report_libical_error(Parse *p, unsigned line, icalproperty *prop)
{
        static const char advice[] = ". Removing entire property";
        const char *raw = icalproperty_get_xlicerror(prop) ? icalproperty_get_xlicerror(prop) : "";
        const char *cut = strstr(raw, advice);
        _cleanup_free_ char *msg = cut ? xasprintf("%.*s%s", (int)(cut - raw), raw, cut + strlen(advice)) : xstrdup(raw);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == ':' || msg[n - 1] == ' '))
                msg[--n] = '\0';
        icalparameter *type = icalproperty_get_first_parameter(prop, ICAL_XLICERRORTYPE_PARAMETER);
        /* iCalendar admits properties a program does not know (iana-prop
         * and x-prop, RFC 5545 section 3.8.8); libical reports every name
         * it does not know as an error. */
        if (type && icalparameter_get_xlicerrortype(type) == ICAL_XLICERRORTYPE_PROPERTYPARSEERROR)
                parse_warning(p, line, "%s, ignoring it", msg);
        else
                parse_error(p, line, "%s", msg);
}

/* Reports every X-LIC-ERROR in c and below, at its line. */
static void report_errors(Parse *p, icalcomponent *c)
{
        unsigned line = component_line(c);
        for (icalproperty *prop = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); prop;
             prop = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
                if (is_marker(prop, &line))
                        continue;
                if (icalproperty_isa(prop) == ICAL_XLICERROR_PROPERTY)
                        report_libical_error(p, line, prop);
        }
        for (icalcomponent *sub = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); sub;
             sub = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
                report_errors(p, sub);
}

/* ------------------------------------------------------------------ */
/* One VEVENT                                                          */

static int64_t ical_days(struct icaltimetype t)
{
        return date_to_days((Date){t.year, t.month, t.day});
}

/* Not from icaltime_null_date(): its hour, minute and second are -1, and
 * libical 3.0.16's iterator, given such a DATE, returns one day forever. */
static struct icaltimetype days_ical(int64_t days)
{
        Date d = date_from_days(days);
        return (struct icaltimetype){.year = d.year, .month = d.month, .day = d.day, .is_date = 1};
}

static bool at_midnight(struct icaltimetype t)
{
        return t.is_date || (t.hour == 0 && t.minute == 0 && t.second == 0);
}

/* The zone a DATE-TIME is written in: UTC, a TZID, or floating. Whole days
 * need the start and the end read in the same one. */
static const char *prop_zone_text(icalproperty *prop, struct icaltimetype t)
{
        icalparameter *tzid = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
        if (tzid)
                return icalparameter_get_tzid(tzid);
        return icaltime_is_utc(t) ? "Z" : "";
}

/* Printable, one line, at most NAME_MAX_BYTES, never cut in a character. */
static char *clean_name(const char *s)
{
        Buf b = {0};
        buf_append(&b, "");
        bool space = false;
        for (const char *c = s; *c; c++) {
                bool ctl = (unsigned char)*c < 0x20 || *c == 0x7f;
                if (ctl || *c == ' ') {
                        space = b.len > 0;
                        continue;
                }
                if (space)
                        buf_append(&b, " ");
                space = false;
                char one[2] = {*c, '\0'};
                buf_append(&b, one);
        }
        if (b.len > NAME_MAX_BYTES) {
                size_t n = NAME_MAX_BYTES;
                while (n > 0 && ((unsigned char)b.s[n] & 0xc0) == 0x80)
                        n--;
                b.s[n] = '\0';
                b.len = n;
        }
        return buf_steal(&b);
}

typedef struct Props {
        icalproperty *dtstart, *dtend, *duration, *rrule, *rid, *summary, *description, *uid, *status;
        unsigned l_dtstart, l_dtend, l_duration, l_rrule, l_rid;
} Props;

static void add_day(int64_t **v, size_t *n, size_t *alloc, int64_t day)
{
        GROW(*v, *n, *alloc);
        (*v)[(*n)++] = day;
}

/* DTSTART, DTEND/DURATION: the first day and the length. Returns 0, 1 for
 * "not an all-day event, skip it", or -EINVAL. */
static int event_span(Parse *p, Event *e, const Props *x)
{
        struct icaltimetype start = icalproperty_get_dtstart(x->dtstart);
        if (x->dtend && x->duration) {
                parse_error(p, x->l_duration, "DTEND and DURATION together (RFC 5545 section 3.6.1 allows one)");
                return -EINVAL;
        }
        int64_t days = 1; /* RFC 5545 section 3.6.1: a DATE without an end lasts a day */
        bool whole = at_midnight(start);
        if (x->dtend) {
                struct icaltimetype end = icalproperty_get_dtend(x->dtend);
                if (end.is_date != start.is_date) {
                        parse_error(p, x->l_dtend, "DTEND is a %s but DTSTART is a %s", end.is_date ? "DATE" : "DATE-TIME",
                                    start.is_date ? "DATE" : "DATE-TIME");
                        return -EINVAL;
                }
                days = ical_days(end) - ical_days(start);
                whole = whole && at_midnight(end) &&
                        streq(prop_zone_text(x->dtstart, start), prop_zone_text(x->dtend, end));
                if (days < 0 || (days == 0 && !start.is_date && icaltime_compare(end, start) < 0)) {
                        parse_error(p, x->l_dtend, "DTEND is before DTSTART");
                        return -EINVAL;
                }
                if (days == 0 && start.is_date) {
                        /* Seen in the wild; calendars show one day. */
                        parse_warning(p, x->l_dtend, "DTEND is DTSTART: taken as one day");
                        days = 1;
                }
        } else if (x->duration) {
                struct icaldurationtype d = icalproperty_get_duration(x->duration);
                int64_t secs = ((int64_t)d.hours * 60 + d.minutes) * 60 + d.seconds;
                days = (int64_t)d.weeks * 7 + d.days;
                if (start.is_date && (d.is_neg || secs != 0 || days == 0)) {
                        parse_error(p, x->l_duration, "DURATION of an all-day event must be whole days (P1D, P2W)");
                        return -EINVAL;
                }
                whole = whole && !d.is_neg && secs == 0 && days > 0;
        } else if (!start.is_date) {
                whole = false; /* an instant (RFC 5545 section 3.6.1) */
        }
        if (!whole) {
                if (++p->n_timed <= 10) {
                        _cleanup_free_ char *q = quote(e->name);
                        parse_warning(p, x->l_dtstart, "event %s has a time of day, not whole days: not a holiday, ignoring it", q);
                }
                return 1;
        }
        if (days > HOLIDAY_MAX_DAYS) {
                parse_error(p, x->dtend ? x->l_dtend : x->l_duration, "an event of %lld days (at most %d)", (long long)days,
                            HOLIDAY_MAX_DAYS);
                return -EINVAL;
        }
        e->start = ical_days(start);
        e->days = (int)days;
        return 0;
}

/* Is there a date for a yearly or monthly rule with BYMONTHDAY in BYMONTH?
 * libical looks for one up to the year 20000 before it gives up, which
 * takes a tenth of a second per rule: refuse the impossible ones (30
 * February) here. */
static bool rule_month_days_possible(const struct icalrecurrencetype *r)
{
        static const int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (r->by_month_day[0] == ICAL_RECURRENCE_ARRAY_MAX || r->by_month[0] == ICAL_RECURRENCE_ARRAY_MAX)
                return true;
        for (int i = 0; i < ICAL_BY_MONTH_SIZE && r->by_month[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
                int m = icalrecurrencetype_month_month(r->by_month[i]);
                if (m < 1 || m > 12 || r->rscale)
                        return true; /* libical's business */
                for (int j = 0; j < ICAL_BY_MONTHDAY_SIZE && r->by_month_day[j] != ICAL_RECURRENCE_ARRAY_MAX; j++)
                        if (abs(r->by_month_day[j]) <= longest[m])
                                return true;
        }
        return false;
}

static bool has_part(const short *by)
{
        return by[0] != ICAL_RECURRENCE_ARRAY_MAX;
}

/* An upper bound of the steps libical takes to walk a rule with COUNT from
 * DTSTART to the end of HOLIDAY_YEAR_MAX: one per day, week, month or year
 * (more for a WEEKLY BYDAY list). Without a part that can leave a step
 * empty (libical's "contracting" parts) every step but a few is an
 * instance, and COUNT ends the walk sooner. */
static int64_t rule_count_steps(const struct icalrecurrencetype *r, int64_t start)
{
        static const int period[] = {[ICAL_DAILY_RECURRENCE] = 1, [ICAL_WEEKLY_RECURRENCE] = 7,
                                     [ICAL_MONTHLY_RECURRENCE] = 28, [ICAL_YEARLY_RECURRENCE] = 365};
        int64_t span = date_to_days((Date){HOLIDAY_YEAR_MAX, 12, 31}) - start;
        int64_t steps = (span > 0 ? span : 0) / period[r->freq] + 1;
        int days = 0;
        while (r->freq == ICAL_WEEKLY_RECURRENCE && days < ICAL_BY_DAY_SIZE && r->by_day[days] != ICAL_RECURRENCE_ARRAY_MAX)
                days++;
        steps *= days > 1 ? days : 1;
        bool contracting = has_part(r->by_set_pos) ||
                           (r->freq <= ICAL_MONTHLY_RECURRENCE && has_part(r->by_month)) ||
                           (r->freq == ICAL_DAILY_RECURRENCE && (has_part(r->by_day) || has_part(r->by_month_day)));
        int64_t plain = 4 * (int64_t)r->count; /* a month without a 31st, a 5th Monday */
        return contracting || plain > steps ? steps : plain;
}

/* What expanding the file's rules may cost is bounded before libical runs. */
static int rule_cost(Parse *p, const struct icalrecurrencetype *r, int64_t start, unsigned line)
{
        if (++p->n_rules > HOLIDAY_MAX_RULES) {
                parse_error(p, line, "more than %u recurring events: not a holiday calendar", HOLIDAY_MAX_RULES);
                return -EINVAL;
        }
        if (r->count == 0)
                return 0; /* expanded a year at a time, from that year */
        p->count_steps += rule_count_steps(r, start);
        if (p->count_steps > HOLIDAY_MAX_COUNT_STEPS) {
                parse_error(p, line, "the rules with COUNT in this file would take too long to expand "
                                     "(write UNTIL instead of COUNT, or start them later)");
                return -EINVAL;
        }
        return 0;
}

static int event_rule(Parse *p, Event *e, const Props *x, struct icaltimetype dtstart)
{
        struct icalrecurrencetype r = icalproperty_get_rrule(x->rrule);
        if (r.freq < ICAL_DAILY_RECURRENCE || r.freq > ICAL_YEARLY_RECURRENCE) {
                parse_error(p, x->l_rrule, "a holiday repeats DAILY, WEEKLY, MONTHLY or YEARLY");
                return -EINVAL;
        }
        if (r.by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX || r.by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
            r.by_second[0] != ICAL_RECURRENCE_ARRAY_MAX) {
                parse_error(p, x->l_rrule, "BYHOUR, BYMINUTE or BYSECOND in a rule of whole days");
                return -EINVAL;
        }
        if (r.count > HOLIDAY_MAX_COUNT) {
                parse_error(p, x->l_rrule, "COUNT=%d (at most %d)", r.count, HOLIDAY_MAX_COUNT);
                return -EINVAL;
        }
        if (!rule_month_days_possible(&r)) {
                parse_error(p, x->l_rrule, "BYMONTHDAY names no day of BYMONTH: the rule never happens");
                return -EINVAL;
        }
        /* UNTIL as a date: a DATE-TIME UNTIL (RFC 5545 wants a DATE with a
         * DATE DTSTART) bounds the same day. */
        if (!icaltime_is_null_time(r.until))
                r.until = days_ical(ical_days(r.until));
        if (rule_cost(p, &r, e->start, x->l_rrule) < 0)
                return -EINVAL;
        /* Can libical expand it? For a rule that never happens it looks
         * for a first date up to the year 20000 (a second of work for
         * FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1): once the file has an error
         * it is refused anyway, so no further rule is tried. */
        if (p->n_errors > 0)
                return 0;
        icalrecur_iterator *it = icalrecur_iterator_new(r, dtstart);
        if (!it) {
                parse_error(p, x->l_rrule, "libical cannot expand this RRULE (a rule that never happens?)");
                return -EINVAL;
        }
        icalrecur_iterator_free(it);
        e->rule = xmalloc(sizeof(*e->rule));
        *e->rule = r;
        e->rule->rscale = r.rscale ? xstrdup(r.rscale) : NULL;
        return 0;
}

/* The date of an RDATE, EXDATE or RECURRENCE-ID. A DATE-TIME there (only
 * right when DTSTART is one too) names the day it falls on as written. */
static int64_t prop_day(icalproperty *prop)
{
        switch (icalproperty_isa(prop)) {
        case ICAL_RDATE_PROPERTY: {
                struct icaldatetimeperiodtype v = icalproperty_get_rdate(prop);
                return ical_days(icaltime_is_null_time(v.time) ? v.period.start : v.time);
        }
        case ICAL_EXDATE_PROPERTY:
                return ical_days(icalproperty_get_exdate(prop));
        default:
                return ical_days(icalproperty_get_recurrenceid(prop));
        }
}

static void event_free(Event *e)
{
        free(e->name);
        free(e->uid);
        if (e->rule)
                free(e->rule->rscale);
        free(e->rule);
        free(e->rdates);
        free(e->exdates);
        free(e->counted);
}

static int day_cmp(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Google's holiday calendars mark days that are not days off ("Valentine's
 * Day", "Daylight Saving Time starts") with this first line. */
static bool is_observance(icalproperty *description)
{
        const char *d = description ? icalproperty_get_description(description) : NULL;
        return d && strncmp(d, "Observance", 10) == 0 && (d[10] == '\0' || d[10] == '\n' || d[10] == '\r');
}

/* Reads one VEVENT into e. Returns 0, 1 to leave it out, or -EINVAL. */
static int event_read(Parse *p, icalcomponent *c, Event *e, Holidays *h)
{
        Props x = {0};
        unsigned line = component_line(c);
        e->line = line;
        for (icalproperty *prop = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); prop;
             prop = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
                if (is_marker(prop, &line))
                        continue;
                switch (icalproperty_isa(prop)) {
                case ICAL_DTSTART_PROPERTY:
                        x.dtstart = prop, x.l_dtstart = line;
                        break;
                case ICAL_DTEND_PROPERTY:
                        x.dtend = prop, x.l_dtend = line;
                        break;
                case ICAL_DURATION_PROPERTY:
                        x.duration = prop, x.l_duration = line;
                        break;
                case ICAL_RECURRENCEID_PROPERTY:
                        x.rid = prop, x.l_rid = line;
                        break;
                case ICAL_SUMMARY_PROPERTY: /* the first, of several languages */
                        x.summary = x.summary ? x.summary : prop;
                        break;
                case ICAL_DESCRIPTION_PROPERTY:
                        x.description = x.description ? x.description : prop;
                        break;
                case ICAL_UID_PROPERTY:
                        x.uid = prop;
                        break;
                case ICAL_STATUS_PROPERTY:
                        x.status = prop;
                        break;
                case ICAL_RRULE_PROPERTY:
                        if (x.rrule)
                                parse_warning(p, line, "a second RRULE (RFC 5545 section 3.6.1: at most one), ignoring it");
                        else
                                x.rrule = prop, x.l_rrule = line;
                        break;
                case ICAL_RDATE_PROPERTY:
                        add_day(&e->rdates, &e->n_rdates, &e->a_rdates, prop_day(prop));
                        break;
                case ICAL_EXDATE_PROPERTY:
                        add_day(&e->exdates, &e->n_exdates, &e->a_exdates, prop_day(prop));
                        break;
                default:
                        break;
                }
        }
        const char *summary = x.summary ? icalproperty_get_summary(x.summary) : NULL;
        e->named = summary && *summary;
        e->name = clean_name(e->named ? summary : "Holiday");
        e->uid = x.uid && icalproperty_get_uid(x.uid) ? xstrdup(icalproperty_get_uid(x.uid)) : NULL;
        e->cancelled = x.status && icalproperty_get_status(x.status) == ICAL_STATUS_CANCELLED;
        if (!x.dtstart) {
                parse_error(p, e->line, "an event without DTSTART");
                return -EINVAL;
        }
        int r = event_span(p, e, &x);
        if (r != 0)
                return r;
        if (x.rid) {
                icalparameter *range = icalproperty_get_first_parameter(x.rid, ICAL_RANGE_PARAMETER);
                if (range && icalparameter_get_range(range) == ICAL_RANGE_THISANDFUTURE)
                        parse_warning(p, x.l_rid, "RANGE=THISANDFUTURE: only this instance is changed");
                e->has_rid = true;
                e->rid = prop_day(x.rid);
        }
        struct icaltimetype start = days_ical(e->start);
        if (x.rrule && event_rule(p, e, &x, start) < 0)
                return -EINVAL;
        if (is_observance(x.description)) {
                h->observances++;
                return 1;
        }
        return 0;
}

/* ------------------------------------------------------------------ */
/* The calendar                                                        */

static int uid_cmp(const void *a, const void *b)
{
        const Event *x = *(Event *const *)a, *y = *(Event *const *)b;
        return strcmp(x->uid ? x->uid : "", y->uid ? y->uid : "");
}

/* The first event of a run of equal UIDs that is a series (no
 * RECURRENCE-ID), in file order, or NULL. */
static Event *series_of(Event **run, size_t n)
{
        Event *m = NULL;
        for (size_t i = 0; i < n; i++)
                if (!run[i]->has_rid && (!m || run[i] < m))
                        m = run[i];
        return m;
}

/* RFC 5545 section 3.8.4.4: an instance with a RECURRENCE-ID replaces the
 * instance of its series (same UID) that starts on that date: the series
 * loses the date, the instance stands on its own (or is gone if cancelled)
 * and keeps the series' name if it has none. A cancelled series takes its
 * instances with it. Keeps what remains. */
static void events_resolve(Holidays *h)
{
        size_t n = h->n_events;
        _cleanup_free_ Event **byuid = xcalloc(n ? n : 1, sizeof(Event *));
        for (size_t i = 0; i < n; i++)
                byuid[i] = &h->events[i];
        qsort(byuid, n, sizeof(Event *), uid_cmp);
        for (size_t i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && uid_cmp(&byuid[i], &byuid[j]) == 0;)
                        j++;
                Event *m = byuid[i]->uid ? series_of(byuid + i, j - i) : NULL;
                for (size_t k = i; m && k < j; k++) {
                        Event *o = byuid[k];
                        if (!o->has_rid)
                                continue;
                        o->cancelled |= m->cancelled;
                        if (!o->named && m->named) {
                                /* What clients show for an instance that
                                 * only moves the date. */
                                free(o->name);
                                o->name = xstrdup(m->name);
                                o->named = true;
                        }
                        add_day(&m->exdates, &m->n_exdates, &m->a_exdates, o->rid);
                }
        }
        /* Once, after every override is in: expansion looks them up. */
        for (size_t i = 0; i < n; i++)
                if (h->events[i].n_exdates > 1)
                        qsort(h->events[i].exdates, h->events[i].n_exdates, sizeof(int64_t), day_cmp);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
                if (h->events[i].cancelled)
                        event_free(&h->events[i]);
                else
                        h->events[kept++] = h->events[i];
        }
        h->n_events = kept;
}

static void calendar_name(Holidays *h, icalcomponent *cal)
{
        if (h->calendar_name)
                return;
        for (icalproperty *prop = icalcomponent_get_first_property(cal, ICAL_ANY_PROPERTY); prop;
             prop = icalcomponent_get_next_property(cal, ICAL_ANY_PROPERTY)) {
                const char *name = NULL;
                if (icalproperty_isa(prop) == ICAL_X_PROPERTY && icalproperty_get_x_name(prop) &&
                    strcasecmp(icalproperty_get_x_name(prop), "X-WR-CALNAME") == 0)
                        name = icalproperty_get_x(prop);
                else if (icalproperty_isa(prop) == ICAL_NAME_PROPERTY)
                        name = icalproperty_get_name(prop);
                if (name && *name) {
                        h->calendar_name = clean_name(name);
                        return;
                }
        }
}

typedef struct Read {
        Parse *p;
        Holidays *h;
        size_t alloc;
        bool too_many;
} Read;

/* A component inside a VCALENDAR, as soon as it ends: its errors, and if
 * it is a VEVENT without any, the event. */
static void calendar_child(void *userdata, icalcomponent *c)
{
        Read *rd = userdata;
        Holidays *h = rd->h;
        size_t errors = rd->p->n_errors;
        report_errors(rd->p, c);
        if (icalcomponent_isa(c) != ICAL_VEVENT_COMPONENT || rd->p->n_errors > errors)
                return;
        if (h->n_events >= HOLIDAY_MAX_EVENTS) {
                if (!rd->too_many)
                        parse_error(rd->p, component_line(c), "more than %u events: not a holiday calendar", HOLIDAY_MAX_EVENTS);
                rd->too_many = true;
                return;
        }
        GROW(h->events, h->n_events, rd->alloc);
        Event *e = &h->events[h->n_events];
        *e = (Event){0};
        if (event_read(rd->p, c, e, h) == 0)
                h->n_events++;
        else
                event_free(e);
}

int holiday_parse(const char *text, size_t len, const char *label, Holidays **ret, Diags *diags)
{
        Parse p = {.label = label, .diags = diags};
        *ret = NULL;
        int r = text_check(&p, text, len);
        if (r < 0)
                return -EINVAL;
        _cleanup_(holiday_freep) Holidays *h = xcalloc(1, sizeof(Holidays));
        Read rd = {.p = &p, .h = h};
        Feed f = {.p = &p, .child_done = calendar_child, .userdata = &rd};
        feed_text(&f, text, len);
        for (size_t i = 0; i < f.n_roots; i++) {
                report_errors(&p, f.roots[i]);
                calendar_name(h, f.roots[i]);
        }
        feed_free(&f);
        if (p.n_timed > 10)
                parse_warning(&p, 0, "%zu more events with a time of day ignored", p.n_timed - 10);
        if (p.n_unreported > 0)
                diag_error(diags, label, 0, "%zu more errors", p.n_unreported);
        if (p.n_errors > 0)
                return -EINVAL;
        events_resolve(h);
        h->years = xcalloc(N_YEARS, sizeof(Year *));
        *ret = TAKE_PTR(h);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Expansion, one year at a time                                       */

static bool is_excluded(const Event *e, int64_t day)
{
        return e->n_exdates && bsearch(&day, e->exdates, e->n_exdates, sizeof(int64_t), day_cmp);
}

/* Calls add(start) for each start of the rule in [from, to], at most
 * libical's answer, bounded by UNTIL set to `to`. */
static void rule_walk(const Event *e, int64_t from, int64_t to, int64_t **v, size_t *n, size_t *alloc)
{
        struct icalrecurrencetype r = *e->rule;
        if (icaltime_is_null_time(r.until) || ical_days(r.until) > to)
                r.until = days_ical(to);
        icalrecur_iterator *it = icalrecur_iterator_new(r, days_ical(e->start));
        if (!it)
                return;
        /* Jump to the window instead of walking from DTSTART (impossible
         * with COUNT, which counts from DTSTART). */
        if (r.count == 0 && from > e->start)
                icalrecur_iterator_set_start(it, days_ical(from));
        int64_t prev = INT64_MIN;
        for (struct icaltimetype t = icalrecur_iterator_next(it); !icaltime_is_null_time(t); t = icalrecur_iterator_next(it)) {
                int64_t d = ical_days(t);
                /* Days only rise; anything else would never end. */
                if (d > to || d <= prev)
                        break;
                prev = d;
                if (d >= from)
                        add_day(v, n, alloc, d);
        }
        icalrecur_iterator_free(it);
}

static void event_starts(Event *e, int64_t from, int64_t to, int64_t **v, size_t *n, size_t *alloc)
{
        /* RFC 5545 section 3.8.5.3: DTSTART is always the first instance. */
        if (e->start >= from && e->start <= to)
                add_day(v, n, alloc, e->start);
        for (size_t i = 0; i < e->n_rdates; i++)
                if (e->rdates[i] >= from && e->rdates[i] <= to)
                        add_day(v, n, alloc, e->rdates[i]);
        if (!e->rule)
                return;
        if (e->rule->count == 0) {
                rule_walk(e, from, to, v, n, alloc);
                return;
        }
        if (!e->counted_done) {
                size_t a = 0;
                int64_t last = date_to_days((Date){HOLIDAY_YEAR_MAX, 12, 31});
                rule_walk(e, INT64_MIN, last, &e->counted, &e->n_counted, &a);
                /* RFC 5545 section 3.3.10: DTSTART counts as the first of
                 * COUNT even where the rule does not match it; libical
                 * counts only the dates that match. */
                if (e->n_counted == (size_t)e->rule->count && e->counted[0] != e->start)
                        e->n_counted--;
                e->counted_done = true;
        }
        for (size_t i = 0; i < e->n_counted; i++)
                if (e->counted[i] >= from && e->counted[i] <= to)
                        add_day(v, n, alloc, e->counted[i]);
}

/* The holidays of one date: the first few distinct names, in file order. */
#define NAMES_PER_DATE 3
typedef struct Slot {
        size_t event[NAMES_PER_DATE];
        unsigned n;
        bool more; /* names beyond those */
} Slot;

static void slot_add(Slot *s, const Holidays *h, size_t event)
{
        for (unsigned i = 0; i < s->n; i++)
                if (streq(h->events[s->event[i]].name, h->events[event].name))
                        return;
        if (s->n < NAMES_PER_DATE)
                s->event[s->n++] = event;
        else
                s->more = true;
}

static const char *slot_name(Year *y, const Holidays *h, const Slot *s)
{
        if (s->n == 1 && !s->more)
                return h->events[s->event[0]].name;
        Buf b = {0};
        for (unsigned i = 0; i < s->n; i++)
                buf_printf(&b, "%s%s", i ? " / " : "", h->events[s->event[i]].name);
        if (s->more)
                buf_append(&b, " / …");
        y->joined = xrealloc(y->joined, (y->n_joined + 1) * sizeof(char *));
        return y->joined[y->n_joined++] = buf_steal(&b);
}

static Year *year_expand(const Holidays *h, int year)
{
        int64_t first = date_to_days((Date){year, 1, 1}), last = date_to_days((Date){year, 12, 31});
        size_t n_days = (size_t)(last - first + 1);
        _cleanup_free_ Slot *slots = xcalloc(n_days, sizeof(Slot));
        _cleanup_free_ int64_t *starts = NULL;
        size_t a = 0;
        for (size_t i = 0; i < h->n_events; i++) {
                Event *e = &h->events[i];
                size_t n = 0;
                /* Occurrences that began up to days - 1 earlier reach in. */
                event_starts(e, first - (e->days - 1), last, &starts, &n, &a);
                for (size_t k = 0; k < n; k++) {
                        if (is_excluded(e, starts[k]))
                                continue;
                        int64_t from = starts[k] > first ? starts[k] : first;
                        int64_t to = starts[k] + e->days - 1 < last ? starts[k] + e->days - 1 : last;
                        for (int64_t d = from; d <= to; d++)
                                slot_add(&slots[d - first], h, i);
                }
        }
        Year *y = xcalloc(1, sizeof(Year));
        y->dates = xcalloc(n_days, sizeof(HolidayDate));
        for (size_t d = 0; d < n_days; d++)
                if (slots[d].n > 0)
                        y->dates[y->n++] = (HolidayDate){date_from_days(first + (int64_t)d), slot_name(y, h, &slots[d])};
        return y;
}

static Year *year_get(const Holidays *h, int year)
{
        if (!h || year < HOLIDAY_YEAR_MIN || year > HOLIDAY_YEAR_MAX)
                return NULL;
        Year **slot = &h->years[year - HOLIDAY_YEAR_MIN];
        if (!*slot)
                *slot = year_expand(h, year);
        return *slot;
}

static int date_cmp(const void *key, const void *elem)
{
        int64_t a = date_to_days(*(const Date *)key), b = date_to_days(((const HolidayDate *)elem)->date);
        return (a > b) - (a < b);
}

const char *holiday_name(const Holidays *h, Date d)
{
        Year *y = year_get(h, d.year);
        if (!y)
                return NULL;
        const HolidayDate *hit = bsearch(&d, y->dates, y->n, sizeof(HolidayDate), date_cmp);
        return hit ? hit->name : NULL;
}

size_t holiday_year(const Holidays *h, int year, const HolidayDate **ret)
{
        Year *y = year_get(h, year);
        if (ret)
                *ret = y ? y->dates : NULL;
        return y ? y->n : 0;
}

const char *holiday_calendar_name(const Holidays *h)
{
        return h ? h->calendar_name : NULL;
}

size_t holiday_observances(const Holidays *h)
{
        return h ? h->observances : 0;
}

Holidays *holiday_free(Holidays *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_events; i++)
                event_free(&h->events[i]);
        free(h->events);
        if (h->years)
                for (size_t i = 0; i < N_YEARS; i++) {
                        Year *y = h->years[i];
                        if (!y)
                                continue;
                        strv_free(y->joined, y->n_joined);
                        free(y->dates);
                        free(y);
                }
        free(h->years);
        free(h->calendar_name);
        free(h);
        return NULL;
}
