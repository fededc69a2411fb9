/* ledger.c — SQLite in WAL mode with synchronous=FULL: a recorded outcome
 * survives a crash or a power cut. */
#include "ledger.h"

#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

struct Ledger {
        sqlite3 *db;
        char *path;
        unsigned depth; /* of ledger_begin() */
};

static const char schema[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS reminders("
        "  meeting TEXT NOT NULL, start INTEGER NOT NULL, offset_s INTEGER NOT NULL, department TEXT NOT NULL,"
        "  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'missed')),"
        "  attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, error TEXT, updated INTEGER NOT NULL,"
        "  PRIMARY KEY (meeting, start, offset_s, department)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS meetings("
        "  id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, sequence INTEGER NOT NULL, modified INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);";

static const char *const status_names[] = {
        [LEDGER_NONE] = "none", [LEDGER_SENDING] = "sending", [LEDGER_SENT] = "sent",
        [LEDGER_FAILED] = "failed", [LEDGER_MISSED] = "missed",
};

static int mkdir_p(const char *path)
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

int ledger_open(const char *state_dir, Ledger **ret)
{
        int r = mkdir_p(state_dir);
        if (r < 0) {
                log_error("cannot create state directory %s: %s", state_dir, strerror(-r));
                return r;
        }
        Ledger *l = xcalloc(1, sizeof(Ledger));
        l->path = xasprintf("%s/ledger.sqlite", state_dir);
        char *err = NULL;
        if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK || sqlite3_exec(l->db, schema, NULL, NULL, &err) != SQLITE_OK) {
                log_error("cannot open ledger %s: %s", l->path, err ? err : sqlite3_errmsg(l->db));
                sqlite3_free(err);
                ledger_close(l);
                return -EIO;
        }
        *ret = l;
        return 0;
}

Ledger *ledger_close(Ledger *l)
{
        if (!l)
                return NULL;
        sqlite3_close(l->db);
        free(l->path);
        free(l);
        return NULL;
}

static sqlite3_stmt *prepare(Ledger *l, const char *sql)
{
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
                log_error("ledger: %s", sqlite3_errmsg(l->db));
        return st;
}

static void bind_key(sqlite3_stmt *st, const ReminderKey *k)
{
        sqlite3_bind_text(st, 1, k->meeting, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, k->start);
        sqlite3_bind_int64(st, 3, k->offset);
        sqlite3_bind_text(st, 4, k->department, -1, SQLITE_STATIC);
}

/* Runs a statement to completion; logs and returns -EIO on failure. */
static int finish(Ledger *l, sqlite3_stmt *st)
{
        int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                log_error("ledger %s: %s", l->path, sqlite3_errmsg(l->db));
        sqlite3_finalize(st);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

void ledger_begin(Ledger *l)
{
        if (l->depth++ == 0 && sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                log_error("ledger %s: cannot begin a transaction: %s", l->path, sqlite3_errmsg(l->db));
}

void ledger_commit(Ledger *l)
{
        if (l->depth == 0 || --l->depth > 0)
                return;
        if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                log_error("ledger %s: cannot commit: %s", l->path, sqlite3_errmsg(l->db));
}

LedgerStatus ledger_status(Ledger *l, const ReminderKey *k)
{
        sqlite3_stmt *st = prepare(l, "SELECT status FROM reminders WHERE meeting=?1 AND start=?2 AND offset_s=?3 AND department=?4");
        LedgerStatus s = LEDGER_NONE;
        if (!st)
                return s;
        bind_key(st, k);
        if (sqlite3_step(st) == SQLITE_ROW) {
                const char *v = (const char *)sqlite3_column_text(st, 0);
                for (size_t i = 0; i < ELEMENTSOF(status_names); i++)
                        if (v && streq(v, status_names[i]))
                                s = (LedgerStatus)i;
        }
        sqlite3_finalize(st);
        return s;
}

int ledger_attempt(Ledger *l, const ReminderKey *k, int64_t now)
{
        sqlite3_stmt *st = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, status, attempts, updated)"
                " VALUES (?1, ?2, ?3, ?4, 'sending', 1, ?5)"
                " ON CONFLICT DO UPDATE SET attempts = attempts + 1, updated = ?5 WHERE status = 'sending'");
        if (!st)
                return -EIO;
        bind_key(st, k);
        sqlite3_bind_int64(st, 5, now);
        return finish(l, st);
}

static int record(Ledger *l, const ReminderKey *k, const char *status, int http_status, const char *error, int64_t now)
{
        /* A final outcome is never overwritten: sent stays sent. */
        sqlite3_stmt *st = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, status, http_status, error, updated)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT DO UPDATE SET status = ?5, http_status = ?6, error = ?7, updated = ?8"
                " WHERE status = 'sending'");
        if (!st)
                return -EIO;
        bind_key(st, k);
        sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
        if (http_status > 0)
                sqlite3_bind_int(st, 6, http_status);
        if (error)
                sqlite3_bind_text(st, 7, error, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 8, now);
        return finish(l, st);
}

int ledger_sent(Ledger *l, const ReminderKey *k, int http_status, int64_t now)
{
        return record(l, k, "sent", http_status, NULL, now);
}

int ledger_failed(Ledger *l, const ReminderKey *k, int http_status, const char *error, int64_t now)
{
        return record(l, k, "failed", http_status, error, now);
}

int ledger_missed(Ledger *l, const ReminderKey *k, int64_t now)
{
        sqlite3_stmt *st = prepare(l,
                "INSERT OR IGNORE INTO reminders(meeting, start, offset_s, department, status, updated)"
                " VALUES (?1, ?2, ?3, ?4, 'missed', ?5)");
        if (!st)
                return -EIO;
        bind_key(st, k);
        sqlite3_bind_int64(st, 5, now);
        return finish(l, st);
}

int ledger_meeting(Ledger *l, const char *id, const char *fingerprint, int64_t now, FeedMeta *ret)
{
        sqlite3_stmt *st = prepare(l, "SELECT fingerprint, sequence, modified FROM meetings WHERE id = ?1");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        bool known = sqlite3_step(st) == SQLITE_ROW;
        bool same = known && streq((const char *)sqlite3_column_text(st, 0), fingerprint);
        FeedMeta m = {known ? sqlite3_column_int(st, 1) : 0, known ? sqlite3_column_int64(st, 2) : now};
        sqlite3_finalize(st);
        if (same) {
                *ret = m;
                return 0;
        }
        if (known)
                m = (FeedMeta){m.sequence + 1, now};
        st = prepare(l, "INSERT INTO meetings(id, fingerprint, sequence, modified) VALUES (?1, ?2, ?3, ?4)"
                        " ON CONFLICT DO UPDATE SET fingerprint = ?2, sequence = ?3, modified = ?4");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, m.sequence);
        sqlite3_bind_int64(st, 4, m.modified);
        *ret = m;
        return finish(l, st);
}

int ledger_get_alive(Ledger *l, int64_t *ret)
{
        sqlite3_stmt *st = prepare(l, "SELECT value FROM meta WHERE key = 'alive'");
        int r = -ENOENT;
        if (st && sqlite3_step(st) == SQLITE_ROW) {
                *ret = sqlite3_column_int64(st, 0);
                r = 0;
        }
        sqlite3_finalize(st);
        return r;
}

int ledger_set_alive(Ledger *l, int64_t now)
{
        sqlite3_stmt *st = prepare(l, "INSERT INTO meta(key, value) VALUES ('alive', ?1)"
                                      " ON CONFLICT DO UPDATE SET value = ?1");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        return finish(l, st);
}

int64_t ledger_count(Ledger *l, LedgerStatus s)
{
        sqlite3_stmt *st = prepare(l, "SELECT count(*) FROM reminders WHERE status = ?1");
        int64_t n = 0;
        if (!st)
                return 0;
        sqlite3_bind_text(st, 1, status_names[s], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}
