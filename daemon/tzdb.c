/* tzdb.c — zone names from the system's tzdata, and "did you mean" for
 * names that are none.
 *
 * libical loads a zone by opening <zone directory>/<name>, so any path that
 * reaches a zone file loads: "Europe/../Europe/Berlin", "right/UTC" (a
 * leap-second zone), "localtime". tandem publishes the name as TZID, and
 * clients look it up in their own copy of the database, where such paths
 * are not names. tzdata.zi lists every zone ("Z name ...") and link
 * ("L target name"); only those are names. */
#include "tzdb.h"

#include <ctype.h>
#include <libical/ical.h>
#include <limits.h>
#include <strings.h>

#include "suggest.h"
#include "util.h"

typedef struct Name {
        char *name;
        const char *target; /* a link's zone; the name itself for a zone */
} Name;

typedef struct Place {
        char country[3];
        char *zone, *comment; /* a zone.tab line */
} Place;

typedef struct Country {
        char code[3];
        char *name; /* iso3166.tab: "India", "Britain (UK)" */
} Country;

static struct {
        bool loaded;
        Name *names;
        size_t n_names, alloc_names;
        const char **list; /* the names, NULL-terminated, for suggest() */
        Place *places;
        size_t n_places, alloc_places;
        Country *countries;
        size_t n_countries, alloc_countries;
} db;

/* Big cities people write that tzdata does not name (it names a zone after
 * one city per region), with the zone they are in. */
static const struct {
        const char *city, *zone;
} cities[] = {
        {"Bangalore", "Asia/Kolkata"},       {"Bengaluru", "Asia/Kolkata"},      {"Mumbai", "Asia/Kolkata"},
        {"Bombay", "Asia/Kolkata"},          {"Delhi", "Asia/Kolkata"},          {"New Delhi", "Asia/Kolkata"},
        {"Chennai", "Asia/Kolkata"},         {"Madras", "Asia/Kolkata"},         {"Hyderabad", "Asia/Kolkata"},
        {"Pune", "Asia/Kolkata"},            {"Ahmedabad", "Asia/Kolkata"},      {"Beijing", "Asia/Shanghai"},
        {"Peking", "Asia/Shanghai"},         {"Shenzhen", "Asia/Shanghai"},      {"Guangzhou", "Asia/Shanghai"},
        {"Hangzhou", "Asia/Shanghai"},       {"Chengdu", "Asia/Shanghai"},       {"Wuhan", "Asia/Shanghai"},
        {"Osaka", "Asia/Tokyo"},             {"Kyoto", "Asia/Tokyo"},            {"Yokohama", "Asia/Tokyo"},
        {"Busan", "Asia/Seoul"},             {"Hanoi", "Asia/Ho_Chi_Minh"},      {"Lahore", "Asia/Karachi"},
        {"Islamabad", "Asia/Karachi"},       {"Abu Dhabi", "Asia/Dubai"},        {"Jeddah", "Asia/Riyadh"},
        {"Tel Aviv", "Asia/Jerusalem"},      {"Haifa", "Asia/Jerusalem"},        {"Ankara", "Europe/Istanbul"},
        {"Munich", "Europe/Berlin"},         {"München", "Europe/Berlin"},       {"Frankfurt", "Europe/Berlin"},
        {"Hamburg", "Europe/Berlin"},        {"Cologne", "Europe/Berlin"},       {"Stuttgart", "Europe/Berlin"},
        {"Düsseldorf", "Europe/Berlin"},     {"Dusseldorf", "Europe/Berlin"},    {"Geneva", "Europe/Zurich"},
        {"Basel", "Europe/Zurich"},          {"Bern", "Europe/Zurich"},          {"Milan", "Europe/Rome"},
        {"Naples", "Europe/Rome"},           {"Turin", "Europe/Rome"},           {"Barcelona", "Europe/Madrid"},
        {"Valencia", "Europe/Madrid"},       {"Lyon", "Europe/Paris"},           {"Marseille", "Europe/Paris"},
        {"Rotterdam", "Europe/Amsterdam"},   {"The Hague", "Europe/Amsterdam"},  {"Manchester", "Europe/London"},
        {"Birmingham", "Europe/London"},     {"Edinburgh", "Europe/London"},     {"Glasgow", "Europe/London"},
        {"Krakow", "Europe/Warsaw"},         {"Kraków", "Europe/Warsaw"},        {"Wroclaw", "Europe/Warsaw"},
        {"Saint Petersburg", "Europe/Moscow"}, {"St Petersburg", "Europe/Moscow"}, {"Kharkiv", "Europe/Kyiv"},
        {"Lviv", "Europe/Kyiv"},             {"Gothenburg", "Europe/Stockholm"}, {"San Francisco", "America/Los_Angeles"},
        {"Seattle", "America/Los_Angeles"},  {"San Jose", "America/Los_Angeles"}, {"San Diego", "America/Los_Angeles"},
        {"Las Vegas", "America/Los_Angeles"}, {"Boston", "America/New_York"},    {"Washington", "America/New_York"},
        {"Atlanta", "America/New_York"},     {"Miami", "America/New_York"},      {"Philadelphia", "America/New_York"},
        {"Pittsburgh", "America/New_York"},  {"Dallas", "America/Chicago"},      {"Houston", "America/Chicago"},
        {"Austin", "America/Chicago"},       {"Minneapolis", "America/Chicago"}, {"Salt Lake City", "America/Denver"},
        {"Ottawa", "America/Toronto"},       {"Calgary", "America/Edmonton"},    {"Rio de Janeiro", "America/Sao_Paulo"},
        {"Brasilia", "America/Sao_Paulo"},   {"Guadalajara", "America/Mexico_City"}, {"Canberra", "Australia/Sydney"},
        {"Wellington", "Pacific/Auckland"},  {"Cape Town", "Africa/Johannesburg"}, {"Pretoria", "Africa/Johannesburg"},
        {"Abuja", "Africa/Lagos"},           {"Alexandria", "Africa/Cairo"},
};

/* Other names of countries than iso3166.tab's. */
static const struct {
        const char *name, *code;
} country_aliases[] = {
        {"USA", "US"},     {"United States of America", "US"}, {"UK", "GB"},         {"United Kingdom", "GB"},
        {"England", "GB"}, {"Scotland", "GB"},                 {"Wales", "GB"},      {"Holland", "NL"},
        {"UAE", "AE"},     {"Czechia", "CZ"},                  {"Türkiye", "TR"},    {"South Korea", "KR"},
};

/* The zone directory libical reads; tzdata.zi and the tables are there. */
static FILE *open_table(const char *file)
{
        const char *dir = icaltzutil_get_zone_directory();
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo", file);
        return fopen(path, "re");
}

static void add_name(const char *name, const char *target)
{
        GROW(db.names, db.n_names, db.alloc_names);
        db.names[db.n_names++] = (Name){xstrdup(name), target ? xstrdup(target) : NULL};
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(((const Name *)a)->name, ((const Name *)b)->name);
}

/* "Z Europe/Berlin 0:53:28 - LMT 1893 Ap" and "L Europe/Berlin Arctic/Longyearbyen". */
static bool load_tzdata_zi(void)
{
        _cleanup_fclose_ FILE *f = open_table("tzdata.zi");
        _cleanup_free_ char *line = NULL;
        size_t alloc = 0;
        if (!f)
                return false;
        while (getline(&line, &alloc, f) > 0) {
                char a[256], b[256];
                if (line[0] == 'Z' && sscanf(line, "Z %255s", a) == 1 && !streq(a, "Factory"))
                        add_name(a, NULL);
                else if (line[0] == 'L' && sscanf(line, "L %255s %255s", a, b) == 2)
                        add_name(b, a);
        }
        return db.n_names > 0;
}

/* Without tzdata.zi: the zones libical lists (from zone.tab). */
static void load_libical_names(void)
{
        icalarray *zones = icaltimezone_get_builtin_timezones();
        for (size_t i = 0; i < zones->num_elements; i++)
                add_name(icaltimezone_get_location(icalarray_element_at(zones, i)), NULL);
}

static void load_tables(void)
{
        _cleanup_free_ char *line = NULL;
        size_t alloc = 0;
        _cleanup_fclose_ FILE *iso = open_table("iso3166.tab");
        while (iso && getline(&line, &alloc, iso) > 0) {
                char *tab = strchr(line, '\t');
                if (line[0] == '#' || !tab || tab - line != 2)
                        continue;
                GROW(db.countries, db.n_countries, db.alloc_countries);
                Country *c = &db.countries[db.n_countries++];
                memcpy(c->code, line, 2);
                c->code[2] = '\0';
                c->name = xstrndup(tab + 1, strcspn(tab + 1, "\r\n"));
        }
        _cleanup_fclose_ FILE *zones = open_table("zone.tab");
        while (zones && getline(&line, &alloc, zones) > 0) {
                char *field[4] = {line};
                size_t n = 1;
                line[strcspn(line, "\r\n")] = '\0';
                for (char *p = line; *p && n < 4; p++)
                        if (*p == '\t')
                                *p = '\0', field[n++] = p + 1;
                if (line[0] == '#' || n < 3 || strlen(field[0]) != 2)
                        continue;
                GROW(db.places, db.n_places, db.alloc_places);
                Place *pl = &db.places[db.n_places++];
                memcpy(pl->country, field[0], 3);
                pl->zone = xstrdup(field[2]);
                pl->comment = xstrdup(n > 3 ? field[3] : "");
        }
}

static void load(void)
{
        if (db.loaded)
                return;
        db.loaded = true;
        if (!load_tzdata_zi())
                load_libical_names();
        add_name("UTC", NULL); /* libical's own, whatever the files say */
        qsort(db.names, db.n_names, sizeof(Name), name_cmp);
        size_t k = 0;
        for (size_t i = 0; i < db.n_names; i++) {
                if (k > 0 && streq(db.names[k - 1].name, db.names[i].name)) {
                        free(db.names[i].name);
                        free((char *)db.names[i].target);
                        continue;
                }
                db.names[k++] = db.names[i];
        }
        db.n_names = k;
        db.list = xcalloc(k + 1, sizeof(char *));
        for (size_t i = 0; i < k; i++) {
                db.list[i] = db.names[i].name;
                if (!db.names[i].target)
                        db.names[i].target = db.names[i].name;
        }
        load_tables();
}

static const Name *find(const char *name)
{
        load();
        Name key = {.name = (char *)name};
        return bsearch(&key, db.names, db.n_names, sizeof(Name), name_cmp);
}

bool tzdb_is_name(const char *name)
{
        return find(name) != NULL;
}

const char *const *tzdb_names(void)
{
        load();
        return db.list;
}

/* ------------------------------------------------------------------ */
/* Did you mean                                                        */

/* The next character of a place name as people write it: ASCII letters in
 * lower case, a run of ' ', '_' and '-' as one ' ', '.' dropped ("new_york"
 * = "New York", "St. Petersburg" = "St Petersburg"); 0 at the end. */
static int place_char(const char *s, size_t n, size_t *i)
{
        while (*i < n && s[*i] == '.')
                (*i)++;
        if (*i >= n)
                return 0;
        unsigned char c = (unsigned char)s[(*i)++];
        if (c != ' ' && c != '_' && c != '-')
                return tolower(c);
        while (*i < n && (s[*i] == ' ' || s[*i] == '_' || s[*i] == '-' || s[*i] == '.'))
                (*i)++;
        return ' ';
}

static bool same_place(const char *a, size_t na, const char *b, size_t nb)
{
        size_t i = 0, j = 0;
        for (;;) {
                int x = place_char(a, na, &i), y = place_char(b, nb, &j);
                if (x != y)
                        return false;
                if (!x)
                        return true;
        }
}

static bool same_place_str(const char *a, const char *b, size_t nb)
{
        return same_place(a, strlen(a), b, nb);
}

typedef struct Found {
        const char **out;
        size_t n;
} Found;

static void found_add(Found *f, const char *zone)
{
        for (size_t i = 0; i < f->n && i < TZDB_SUGGEST_MAX; i++)
                if (streq(f->out[i], zone))
                        return;
        if (f->n < TZDB_SUGGEST_MAX)
                f->out[f->n] = zone;
        f->n++;
}

/* Is `place` one of the parts of a zone.tab comment, separated by commas,
 * parentheses or " - " ("Hawaii", "Buenos Aires (BA, CF)", "Eastern - ON
 * & QC (most areas)")? */
static bool comment_names(const char *comment, const char *place, size_t n)
{
        for (const char *p = comment; *p;) {
                p += strspn(p, ",;()& ");
                size_t len = strcspn(p, ",;()&");
                const char *dash = strstr(p, " - ");
                if (dash && (size_t)(dash - p) < len)
                        len = (size_t)(dash - p);
                size_t trimmed = len;
                while (trimmed > 0 && p[trimmed - 1] == ' ')
                        trimmed--;
                if (trimmed && same_place(p, trimmed, place, n))
                        return true;
                p += len;
                if (strncmp(p, " - ", 3) == 0)
                        p += 3;
        }
        return false;
}

static const char *country_code(const char *place, size_t n)
{
        for (size_t i = 0; i < ELEMENTSOF(country_aliases); i++)
                if (same_place_str(country_aliases[i].name, place, n))
                        return country_aliases[i].code;
        for (size_t i = 0; i < db.n_countries; i++) {
                const char *name = db.countries[i].name, *paren = strstr(name, " (");
                if (same_place_str(name, place, n) || (paren && same_place(name, (size_t)(paren - name), place, n)))
                        return db.countries[i].code;
        }
        return NULL;
}

/* The last part of the name read as a place: a zone's city, a big city,
 * a country, a place in zone.tab's comments. */
static void suggest_by_place(const char *place, size_t n, Found *f)
{
        for (size_t i = 0; i < db.n_names; i++) {
                const char *slash = strrchr(db.names[i].name, '/');
                if (same_place_str(slash ? slash + 1 : db.names[i].name, place, n))
                        found_add(f, db.names[i].target);
        }
        for (size_t i = 0; i < ELEMENTSOF(cities); i++)
                if (same_place_str(cities[i].city, place, n) && tzdb_is_name(cities[i].zone))
                        found_add(f, cities[i].zone);
        if (f->n)
                return;
        const char *code = country_code(place, n);
        for (size_t i = 0; code && i < db.n_places; i++)
                if (streq(db.places[i].country, code))
                        found_add(f, db.places[i].zone);
        for (size_t i = 0; !code && i < db.n_places; i++)
                if (comment_names(db.places[i].comment, place, n))
                        found_add(f, db.places[i].zone);
}

size_t tzdb_suggest(const char *name, const char *out[static TZDB_SUGGEST_MAX])
{
        Found f = {out, 0};
        load();
        /* "europe/berlin" */
        for (size_t i = 0; i < db.n_names; i++)
                if (strcasecmp(db.names[i].name, name) == 0)
                        found_add(&f, db.names[i].name);
        if (f.n)
                return f.n;
        /* "./UTC", "right/UTC", "Europe//Berlin": a name after the last '/' */
        const char *slash = strrchr(name, '/'), *last = slash ? slash + 1 : name;
        const Name *whole = find(last);
        if (whole) {
                found_add(&f, whole->name);
                return f.n;
        }
        /* "localtime": the zone /etc/localtime links to, if it is a name */
        char target[PATH_MAX];
        ssize_t k = streq(last, "localtime") ? readlink("/etc/localtime", target, sizeof target - 1) : -1;
        const char *zi = k > 0 ? (target[k] = '\0', strstr(target, "zoneinfo/")) : NULL;
        if (zi && (whole = find(zi + strlen("zoneinfo/")))) {
                found_add(&f, whole->name);
                return f.n;
        }
        suggest_by_place(last, strlen(last), &f);
        if (f.n)
                return f.n;
        const char *near = suggest(name, db.list);
        if (near)
                found_add(&f, near);
        return f.n;
}
