/* feed.c — renders VCALENDARs with libical: the same bytes for the same
 * config, so ETags stay put and clients see no phantom changes. */
#include "feed.h"

#include "util.h"
#include "version.h"

char *feed_title(const Config *c, const Department *dept)
{
        return dept ? xasprintf("%s: %s", c->calendar_name, dept->name) : xstrdup(c->calendar_name);
}

char *feed_url_at(const char *base, const char *name, const char *token, bool webcal)
{
        const char *rest = strstr(base, "://");
        rest = rest ? rest + 3 : base;
        return xasprintf("%s%s/feeds/%s.ics%s%s", webcal ? "webcal://" : "", webcal ? rest : base, name,
                         token ? "?token=" : "", token ? token : "");
}

char *feed_url(const Config *c, const char *name, bool webcal)
{
        return feed_url_at(c->public_url, name, c->feed_token, webcal);
}

char *feed_url_masked(const Config *c, const char *name, bool webcal)
{
        return feed_url_at(c->public_url, name, c->feed_token ? FEED_TOKEN_MASK : NULL, webcal);
}

static void add_x(icalcomponent *c, const char *name, const char *value)
{
        icalproperty *p = icalproperty_new_x(value);
        icalproperty_set_x_name(p, name);
        icalcomponent_add_property(c, p);
}

static struct icaltimetype utc_time(int64_t instant)
{
        struct icaltimetype t = wall_to_ical(wall_from_seconds(instant));
        t.zone = icaltimezone_get_utc_timezone();
        return t;
}

static void add_calendar_properties(icalcomponent *cal, const Config *c, const Department *dept)
{
        _cleanup_free_ char *title = feed_title(c, dept);
        _cleanup_free_ char *desc = dept ? xasprintf("Joint meetings of %s", dept->name) : NULL;
        icalcomponent_add_property(cal, icalproperty_new_prodid("-//tandem//tandem " TANDEM_VERSION "//EN"));
        icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
        icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
        icalcomponent_add_property(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
        icalcomponent_add_property(cal, icalproperty_new_name(title));
        add_x(cal, "X-WR-CALNAME", title);
        if (desc)
                add_x(cal, "X-WR-CALDESC", desc);
        /* Clients poll hourly: a changed meeting shows up within the hour. */
        icalcomponent_add_property(cal, icalproperty_new_refreshinterval(icaldurationtype_from_string("PT1H")));
        add_x(cal, "X-PUBLISHED-TTL", "PT1H");
}

/* The feed's text is libical's: its VCALENDAR's lines (calendar_head),
 * then the VTIMEZONEs of its zones (tz.h) and each meeting's VEVENTs
 * (feed_event_text, or what the schedule keeps of it), as libical writes
 * them, then the VCALENDAR's END line. libical writes any component that
 * way - its BEGIN line, its properties, its components' texts, its END line
 * - so these are the bytes it writes for the whole calendar, without a
 * calendar of 5000 VEVENTs being put together again for every feed. */
#define CALENDAR_END "END:VCALENDAR\r\n"

/* libical's text of the calendar without components; *end is where its
 * END line starts. */
static char *calendar_head(const Config *c, const Department *dept, size_t *end)
{
        icalcomponent *cal = icalcomponent_new_vcalendar();
        add_calendar_properties(cal, c, dept);
        char *text = icalcomponent_as_ical_string_r(cal);
        icalcomponent_free(cal);
        size_t n = strlen(text);
        *end = n >= strlen(CALENDAR_END) ? n - strlen(CALENDAR_END) : 0;
        return text;
}

/* One VTIMEZONE per zone the feed's events use (RFC 5545 section 3.6.5),
 * holding the observances from the zone's earliest event on, in an order
 * that does not depend on the config's: by name, last first, as libical
 * lays them out when they are added by name (it puts each VTIMEZONE it is
 * given in front of the calendar's components). */
static void add_timezones(Buf *b, const Schedule *s, const size_t *meetings, size_t n_meetings)
{
        icaltimezone **zones = xcalloc(n_meetings + 1, sizeof(icaltimezone *));
        int64_t *earliest = xcalloc(n_meetings + 1, sizeof(int64_t));
        size_t n = 0;
        for (size_t j = 0; j < n_meetings; j++) {
                const Meeting *m = &s->config->meetings[meetings[j]];
                /* single events only (a pair's rounds) are all in UTC */
                if (m->pair.explicit_rounds)
                        continue;
                int64_t first = s->first_starts[meetings[j]];
                size_t k = 0;
                while (k < n && zones[k] != m->zone)
                        k++;
                if (k == n) {
                        zones[n] = m->zone;
                        earliest[n++] = first;
                } else if (first < earliest[k])
                        earliest[k] = first;
        }
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(tz_name(zones[j - 1]), tz_name(zones[j])) > 0; j--) {
                        icaltimezone *z = zones[j];
                        int64_t e = earliest[j];
                        zones[j] = zones[j - 1], earliest[j] = earliest[j - 1];
                        zones[j - 1] = z, earliest[j - 1] = e;
                }
        for (size_t i = n; i-- > 0;) {
                const char *vtz = tz_vtimezone_text(zones[i], earliest[i]);
                if (vtz)
                        buf_append(b, vtz);
        }
        free(zones);
        free(earliest);
}

/* libical's text of one VEVENT with its revision: DTSTAMP is required (RFC
 * 5545 section 3.6.1); it follows the definition's change time rather than
 * "now", so that an unchanged config gives byte-identical feeds. The
 * properties are added to the schedule's own VEVENT for the time of the
 * writing rather than to a copy (a copy of 10,000 VEVENTs doubled the
 * memory of an export), and taken out again. */
static void append_event(Buf *b, icalcomponent *event, FeedMeta fm)
{
        icalproperty *added[] = {
                icalproperty_new_dtstamp(utc_time(fm.modified)),
                icalproperty_new_lastmodified(utc_time(fm.modified)),
                icalproperty_new_sequence(fm.sequence),
        };
        for (size_t i = 0; i < ELEMENTSOF(added); i++)
                icalcomponent_add_property(event, added[i]);
        _cleanup_free_ char *text = icalcomponent_as_ical_string_r(event);
        buf_append(b, text);
        for (size_t i = 0; i < ELEMENTSOF(added); i++) {
                icalcomponent_remove_property(event, added[i]);
                icalproperty_free(added[i]);
        }
}

char *feed_event_text(const Schedule *s, size_t i, const FeedMeta *meta)
{
        const Meeting *m = &s->config->meetings[i];
        FeedMeta fm = meta ? meta[i] : (FeedMeta){0, date_to_days(m->start) * 86400};
        Buf b = {0};
        /* the meeting's VEVENT (a pair published as single events has
         * none), then those of its occurrences at DST edges and its moved
         * ones, which share its revision */
        icalcomponent *ev = schedule_event(s, i);
        if (ev)
                append_event(&b, ev, fm);
        for (size_t k = 0; k < s->n_exceptions[i]; k++)
                append_event(&b, s->exceptions[i][k], fm);
        return buf_steal(&b);
}

char *feed_assemble(const Schedule *s, const Department *dept, const size_t *meetings, size_t n, const FeedMeta *meta)
{
        size_t end;
        _cleanup_free_ char *head = calendar_head(s->config, dept, &end);
        Buf b = {0};
        buf_append_n(&b, head, end);
        add_timezones(&b, s, meetings, n);
        for (size_t j = 0; j < n; j++) {
                const char *kept = schedule_text(s, meetings[j]);
                if (kept) {
                        buf_append(&b, kept);
                        continue;
                }
                _cleanup_free_ char *text = feed_event_text(s, meetings[j], meta);
                buf_append(&b, text);
        }
        buf_append(&b, head + end);
        /* kept while served: not at the doubled size it grew to */
        b.s = xrealloc(b.s, b.len + 1);
        return buf_steal(&b);
}

char *feed_render(const Schedule *s, const Department *dept, const FeedMeta *meta)
{
        _cleanup_free_ size_t *meetings = xcalloc(s->n_events + 1, sizeof(size_t));
        size_t n = 0;
        for (size_t i = 0; i < s->n_events; i++)
                if (!dept || meeting_has_department(&s->config->meetings[i], dept))
                        meetings[n++] = i;
        return feed_assemble(s, dept, meetings, n, meta);
}
