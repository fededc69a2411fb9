/* config.h — the INI file as validated C structs (README "Config reference", tandem.ini(5)).
 * Every value remembers the line it came from, so later stages can point
 * back at the cause of a problem. */
#pragma once

#include <libical/ical.h>
#include <stdint.h>

#include "diag.h"
#include "parse.h"
#include "util.h"

typedef enum ChatKind {
        CHAT_CONSOLE,
        CHAT_SLACK,
        CHAT_MATTERMOST,
        CHAT_ROCKETCHAT,
        CHAT_DISCORD,
        CHAT_TEAMS,
        CHAT_GOOGLECHAT,
        CHAT_NTFY,
        CHAT_GENERIC,
        _CHAT_MAX,
} ChatKind;
extern const char *const config_chat_names[_CHAT_MAX + 1];

/* What a config may hold (README "Config reference"): it describes
 * departments and meetings, and reading it must never stall a reload. */
#define CONFIG_MAX_FILE_BYTES (16u << 20)  /* the whole file: 16 MiB */
#define CONFIG_MAX_VALUE_BYTES (64u << 10) /* one value, continuations joined: 64 KiB */

/* One "key = value" as read, continuation lines joined. */
typedef struct Setting {
        char *key, *value;
        uint32_t len, alloc; /* of value, which grows by continuation lines; alloc 0: in Config.strings */
        unsigned line;
        bool comment;       /* an inline comment was cut from one of its lines */
} Setting;

/* Where a setting was, once the config is parsed (config_line). */
typedef struct KeyLine {
        const char *key;
        unsigned line;
} KeyLine;

/* One [kind:id] section as read. */
typedef struct Section {
        char *kind, *id;
        unsigned line;
        Setting *settings; /* as read; NULL once parsed, when keys says where each was */
        size_t n_settings, alloc;
        KeyLine *keys; /* n_settings of them, once parsed */
} Section;

/* Holiday calendars: absolute paths or http(s) URLs. */
typedef struct Sources {
        char **v;
        size_t n;
} Sources;

typedef struct Department {
        char *id, *name;
        icaltimezone *zone;
        ChatKind chat;
        char *webhook, *mention;
        char *manager_name, *manager_email; /* from "Name <email>" */
        char *email;
        Sources holidays;      /* its own holiday calendars */
        unsigned working_days; /* bit (1 << libical weekday); mon-fri by default */
        const Section *src;
} Department;

typedef enum CadenceKind { CADENCE_WEEKLY, CADENCE_MONTHLY, CADENCE_RRULE } CadenceKind;
typedef enum Attendees { ATTENDEES_EVERYONE, ATTENDEES_MANAGERS, ATTENDEES_NONE } Attendees;

/* What happens to a meeting on a holiday of one of its departments
 * (README "Holidays and changes"). */
typedef enum OnHoliday { ON_HOLIDAY_SKIP, ON_HOLIDAY_BEFORE, ON_HOLIDAY_AFTER, ON_HOLIDAY_KEEP } OnHoliday;
extern const char *const config_on_holiday_names[];

/* A change by hand: one occurrence skipped or moved. */
typedef struct Change {
        Date date;              /* the occurrence, by its date in the meeting's zone */
        bool move;              /* else a skip */
        Date to;                /* a move: the new date (the same for a new time only) */
        int to_hour, to_minute; /* a move: the new time; -1 for the meeting's own */
        char *reason;           /* NULL when none is given */
        unsigned line;
} Change;

typedef struct Reminder {
        int64_t before;  /* seconds */
        char *text;      /* as configured: "15m", "1d2h" */
} Reminder;

struct Pairing;

/* A meeting generated from a [pairing:ID] for one pair of its departments
 * in one epoch (README "Host rotation and pairings"): the pair meets in
 * round `offset` of every cycle of `cycle` rounds, a round being one
 * occurrence of the pairing's cadence, counted from the epoch's first. */
typedef struct PairSlot {
        const struct Pairing *pairing; /* NULL: an ordinary meeting */
        unsigned epoch;                /* 1, 2, ...: the department list it was paired from */
        int64_t from, until;           /* the epoch's rounds start in [from, until) */
        unsigned offset, cycle;
        bool explicit_rounds;          /* published as single events, not as one rule */
} PairSlot;

typedef struct Meeting {
        char *id, *title;
        Department **departments;
        size_t n_departments;
        CadenceKind cadence;
        unsigned interval;     /* weeks, for CADENCE_WEEKLY; months for a pair's CADENCE_MONTHLY */
        unsigned weekdays;     /* bit (1 << libical weekday) for CADENCE_WEEKLY */
        int month_ordinal;     /* 1..4 or -1 (last), 0 when month_day is used */
        int month_weekday;     /* libical weekday, with month_ordinal */
        int month_day;         /* 1..31, or 0 */
        char *rrule;           /* the RRULE value, for CADENCE_RRULE */
        int hour, minute;
        int64_t duration;      /* seconds */
        icaltimezone *zone;
        Date start, end;
        bool has_end;
        char *location, *description;
        Department *host;      /* a fixed host */
        Department **rotation; /* host = rotate: the order of the turns, else NULL */
        size_t n_rotation;
        Attendees attendees;
        Reminder *reminders;
        size_t n_reminders;
        Date *skip;            /* the dates of the skips among changes */
        size_t n_skip;
        Change *changes;       /* skip and move, in the order written */
        size_t n_changes;
        OnHoliday on_holiday;
        PairSlot pair;         /* generated from a pairing */
        const Section *src;
        bool valid; /* no error in its section */
} Meeting;

/* A [pairing:ID]: its departments meet two by two, every pair once per
 * cycle of rounds, by the circle method (rotation.h). */
typedef struct Pairing {
        Meeting template;     /* the section as one meeting of all its departments: its rule gives the rounds */
        bool explicit_rounds; /* no single rule per pair can say the rounds (README): single events */
        size_t first, n;      /* its generated meetings: config->meetings[first .. first + n) */
} Pairing;

typedef struct Config {
        char *path;
        icaltimezone *zone;
        char *calendar_name, *domain, *state_dir, *feed_dir, *listen, *public_url, *feed_token;
        /* state_dir and feed_dir are absolute: as written, relative ones
         * read from the config file's directory. Where state_dir came
         * from: */
        enum { STATE_DIR_CONFIG, STATE_DIR_SYSTEMD, STATE_DIR_NEXT_TO_CONFIG } state_dir_from;
        Sources holidays;      /* everyone's holiday calendars */
        int64_t feed_horizon; /* seconds: how far ahead DST-edge occurrences are published apart */
        Department *departments;
        size_t n_departments;
        StrMap department_ids; /* id -> Department, for config_department() */
        Meeting *meetings;     /* the [meeting:ID]s, then the pairs generated from the pairings */
        size_t n_meetings;
        size_t n_own_meetings; /* the [meeting:ID]s */
        Pairing *pairings;
        size_t n_pairings;
        Section *sections;
        size_t n_sections, alloc_sections;
        char *strings; /* the sections' names and settings' keys (and values until parsed), once read */
} Config;

/* Reads and validates path. Returns 0, or -EINVAL with the errors in
 * diags (warnings may be there either way), or another -errno when the file
 * cannot be read. */
int config_load(const char *path, Config **ret, Diags *diags);
/* The same, but the config comes back even with errors (-EINVAL), its
 * meetings marked valid or not, so later checks can still run on the valid
 * ones and report everything in one run. Caller frees. */
int config_parse(const char *path, Config **ret, Diags *diags);
Config *config_free(Config *c);
static inline void config_freep(Config **c) { config_free(*c); }

Department *config_department(const Config *c, const char *id);
bool meeting_has_department(const Meeting *m, const Department *d);
/* How long before an occurrence its first reminder is due (the largest
 * offset); 0 for a meeting without reminders. */
int64_t meeting_first_reminder(const Meeting *m);
/* Does any holiday calendar apply to the meeting (its departments' or
 * everyone's)? */
bool meeting_has_holidays(const Config *c, const Meeting *m);
/* The meeting's change of the occurrence on date d, or NULL. */
const Change *meeting_change(const Meeting *m, Date d);
/* Under a simulated clock everything tandem writes goes to
 * <state_dir>/simulated: simulated time must never mark real reminders as
 * sent or missed, nor date the real feeds (tandem(8), --clock). */
void config_use_simulated_state(Config *c);
/* The line of key in the section, or the section's own line. */
unsigned config_line(const Section *s, const char *key);
/* Frees what a meeting owns (not the struct itself). */
void meeting_clear(Meeting *m);
/* "[meeting:sync]", "[pairing:lunches]": the section a meeting came from. */
char *meeting_label(const Meeting *m);
