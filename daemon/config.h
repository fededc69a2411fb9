/* config.h — the INI file as validated C structs (SPEC.md section 1).
 * Every value remembers the line it came from, so later stages can point
 * back at the cause of a problem. */
#pragma once

#include <libical/ical.h>
#include <stdint.h>

#include "diag.h"
#include "parse.h"

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
        size_t len, alloc;  /* of value, which grows by continuation lines */
        unsigned line;
        bool comment;       /* an inline comment was cut from one of its lines */
} Setting;

/* One [kind:id] section as read. */
typedef struct Section {
        char *kind, *id;
        unsigned line;
        Setting *settings;
        size_t n_settings, alloc;
} Section;

typedef struct Department {
        char *id, *name;
        icaltimezone *zone;
        ChatKind chat;
        char *webhook, *mention;
        char *manager_name, *manager_email; /* from "Name <email>" */
        char *email;
        const Section *src;
} Department;

typedef enum CadenceKind { CADENCE_WEEKLY, CADENCE_MONTHLY, CADENCE_RRULE } CadenceKind;
typedef enum Attendees { ATTENDEES_EVERYONE, ATTENDEES_MANAGERS, ATTENDEES_NONE } Attendees;

typedef struct Reminder {
        int64_t before;  /* seconds */
        char *text;      /* as configured: "15m", "1d2h" */
} Reminder;

typedef struct Meeting {
        char *id, *title;
        Department **departments;
        size_t n_departments;
        CadenceKind cadence;
        unsigned interval;     /* weeks, for CADENCE_WEEKLY */
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
        Department *host;
        Attendees attendees;
        Reminder *reminders;
        size_t n_reminders;
        Date *skip;
        size_t n_skip;
        const Section *src;
        bool valid; /* no error in its section */
} Meeting;

typedef struct Config {
        char *path;
        icaltimezone *zone;
        char *calendar_name, *domain, *state_dir, *feed_dir, *listen, *public_url, *feed_token;
        /* state_dir and feed_dir are absolute: as written, relative ones
         * read from the config file's directory. Where state_dir came
         * from: */
        enum { STATE_DIR_CONFIG, STATE_DIR_SYSTEMD, STATE_DIR_NEXT_TO_CONFIG } state_dir_from;
        int64_t feed_horizon; /* seconds: how far ahead DST-edge occurrences are published apart */
        Department *departments;
        size_t n_departments;
        Meeting *meetings;
        size_t n_meetings;
        Section *sections;
        size_t n_sections, alloc_sections;
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
/* The line of key in the section, or the section's own line. */
unsigned config_line(const Section *s, const char *key);
