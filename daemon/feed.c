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

/* One VTIMEZONE per zone the feed's events use (RFC 5545 section 3.6.5),
 * holding the observances from the zone's earliest event on. */
static void add_timezones(icalcomponent *cal, const Schedule *s, const Department *dept)
{
        icaltimezone **zones = xcalloc(s->n_events + 1, sizeof(icaltimezone *));
        int64_t *earliest = xcalloc(s->n_events + 1, sizeof(int64_t));
        size_t n = 0;
        for (size_t i = 0; i < s->n_events; i++) {
                const Meeting *m = &s->config->meetings[i];
                /* single events only (a pair's rounds) are all in UTC */
                if ((dept && !meeting_has_department(m, dept)) || !s->events[i])
                        continue;
                int64_t first = s->first_starts[i];
                size_t k = 0;
                while (k < n && zones[k] != m->zone)
                        k++;
                if (k == n) {
                        zones[n] = m->zone;
                        earliest[n++] = first;
                } else if (first < earliest[k])
                        earliest[k] = first;
        }
        /* Sorted by name, so the order does not depend on the config's. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(tz_name(zones[j - 1]), tz_name(zones[j])) > 0; j--) {
                        icaltimezone *z = zones[j];
                        int64_t e = earliest[j];
                        zones[j] = zones[j - 1], earliest[j] = earliest[j - 1];
                        zones[j - 1] = z, earliest[j - 1] = e;
                }
        for (size_t i = 0; i < n; i++) {
                icalcomponent *vtz = tz_vtimezone(zones[i], earliest[i]);
                if (vtz)
                        icalcomponent_add_component(cal, vtz);
        }
        free(zones);
        free(earliest);
}

static void add_component(icalcomponent *cal, icalcomponent *event, FeedMeta fm)
{
        icalcomponent *ev = icalcomponent_new_clone(event);
        /* DTSTAMP is required (RFC 5545 section 3.6.1); it follows the
         * definition's change time rather than "now", so that an unchanged
         * config gives byte-identical feeds. */
        icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc_time(fm.modified)));
        icalcomponent_add_property(ev, icalproperty_new_lastmodified(utc_time(fm.modified)));
        icalcomponent_add_property(ev, icalproperty_new_sequence(fm.sequence));
        icalcomponent_add_component(cal, ev);
}

/* The meeting's VEVENT (a pair published as single events has none), then
 * those published with it, which share its revision. */
static void add_event(icalcomponent *cal, const Schedule *s, size_t i, const FeedMeta *meta)
{
        const Meeting *m = &s->config->meetings[i];
        FeedMeta fm = meta ? meta[i] : (FeedMeta){0, date_to_days(m->start) * 86400};
        if (s->events[i])
                add_component(cal, s->events[i], fm);
        for (size_t k = 0; k < s->n_exceptions[i]; k++)
                add_component(cal, s->exceptions[i][k], fm);
}

char *feed_render(const Schedule *s, const Department *dept, const FeedMeta *meta)
{
        icalcomponent *cal = icalcomponent_new_vcalendar();
        add_calendar_properties(cal, s->config, dept);
        add_timezones(cal, s, dept);
        for (size_t i = 0; i < s->n_events; i++)
                if (!dept || meeting_has_department(&s->config->meetings[i], dept))
                        add_event(cal, s, i, meta);
        char *text = icalcomponent_as_ical_string_r(cal);
        icalcomponent_free(cal);
        return text;
}
