/* ledger.c — SQLite in WAL mode with synchronous=FULL: a recorded attempt or
 * outcome survives a crash or a power cut. The state directory's lock is an
 * flock(2) on <state_dir>/lock, held for the daemon's life: the kernel
 * drops it when the process dies, however it dies. */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

#define SCHEMA_VERSION 1

/* An outcome waiting to be written. */
typedef struct Outcome {
        char *meeting, *department;
        int64_t start, offset, at;
        LedgerStatus status;
        int http_status;
        char *error;
} Outcome;

struct Ledger {
        sqlite3 *db;
        char *path;
        int lock_fd;
        sqlite3_stmt *get, *attempt, *record, *alive;
        Outcome *queue;
        size_t n_queue, alloc_queue;
        char error[256];
};

const char *const ledger_status_names[_LEDGER_STATUS_MAX] = {
        [LEDGER_NONE] = "none",     [LEDGER_SENDING] = "sending", [LEDGER_SENT] = "sent",
        [LEDGER_FAILED] = "failed", [LEDGER_MISSED] = "missed",   [LEDGER_SUPERSEDED] = "superseded",
};

static const char reminders_table[] =
        "CREATE TABLE IF NOT EXISTS reminders("
        "  meeting TEXT NOT NULL, start INTEGER NOT NULL, offset_s INTEGER NOT NULL, department TEXT NOT NULL,"
        "  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'missed', 'superseded')),"
        "  attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, error TEXT, updated INTEGER NOT NULL,"
        "  PRIMARY KEY (meeting, start, offset_s, department)) WITHOUT ROWID;";

static const char other_tables[] =
        "CREATE TABLE IF NOT EXISTS meetings("
        "  id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, sequence INTEGER NOT NULL, modified INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);";

/* Version 0 (tandem 0.1) had no 'superseded' in the status CHECK, which
 * SQLite cannot alter: copy the rows into the new table. */
static const char migrate_v0[] =
        "ALTER TABLE reminders RENAME TO reminders_v0;"
        "%s"
        "INSERT INTO reminders SELECT * FROM reminders_v0;"
        "DROP TABLE reminders_v0;";

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

/* ---- the state directory's lock --------------------------------------- */

static int lock_take(const char *state_dir, int *ret)
{
        _cleanup_free_ char *path = xasprintf("%s/lock", state_dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0) {
                int r = -errno;
                log_error("cannot open %s: %s", path, strerror(-r));
                return r;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                char pid[32] = "";
                ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
                pid[n > 0 ? n : 0] = '\0';
                if (r == -EBUSY)
                        log_error("state directory %s is in use by another tandem (pid %s); refusing to start: two "
                                  "daemons on one ledger would post every reminder twice",
                                  state_dir, *strstrip(pid) ? strstrip(pid) : "unknown");
                else
                        log_error("cannot lock %s: %s", path, strerror(-r));
                close(fd);
                return r;
        }
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
                log_warning("cannot write the pid to %s: %m, ignoring", path);
        *ret = fd;
        return 0;
}

/* ---- opening ------------------------------------------------------------ */

static int exec(Ledger *l, const char *sql)
{
        char *err = NULL;
        if (sqlite3_exec(l->db, sql, NULL, NULL, &err) == SQLITE_OK)
                return 0;
        snprintf(l->error, sizeof l->error, "%s", err ? err : sqlite3_errmsg(l->db));
        sqlite3_free(err);
        return -EIO;
}

static int user_version(Ledger *l)
{
        sqlite3_stmt *st = NULL;
        int v = -1;
        if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return v;
}

static bool table_exists(Ledger *l, const char *name)
{
        sqlite3_stmt *st = NULL;
        bool found = false;
        if (sqlite3_prepare_v2(l->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                found = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        return found;
}

static int schema(Ledger *l)
{
        if (exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN IMMEDIATE") < 0)
                return -EIO;
        int v = user_version(l);
        int r = 0;
        if (v == 0 && table_exists(l, "reminders")) {
                _cleanup_free_ char *sql = xasprintf(migrate_v0, reminders_table);
                r = exec(l, sql);
                if (r == 0)
                        log_info("ledger %s: upgraded to version %d", l->path, SCHEMA_VERSION);
        } else if (v > SCHEMA_VERSION) {
                snprintf(l->error, sizeof l->error, "written by a newer tandem (version %d)", v);
                r = -EIO;
        }
        if (r == 0)
                r = exec(l, reminders_table);
        if (r == 0)
                r = exec(l, other_tables);
        if (r == 0)
                r = exec(l, "PRAGMA user_version = 1; COMMIT");
        if (r < 0)
                sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

/* The clock the ledger was written on: simulated time must never mark
 * real reminders as sent or missed, nor the other way round. */
static int clock_kind(Ledger *l, bool simulated)
{
        const char *want = simulated ? "simulated" : "real";
        sqlite3_stmt *st = NULL;
        _cleanup_free_ char *have = NULL;
        if (sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'clock'", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                have = xstrdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (have && !streq(have, want)) {
                log_error("ledger %s was written on the %s clock; refusing to use it on the %s one (a simulated run "
                          "keeps its own state directory)", l->path, have, want);
                return -EXDEV;
        }
        if (have)
                return 0;
        _cleanup_free_ char *sql = xasprintf("INSERT INTO meta(key, value) VALUES ('clock', '%s')", want);
        return exec(l, sql);
}

static sqlite3_stmt *prepare(Ledger *l, const char *sql)
{
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
        return st;
}

static int prepare_all(Ledger *l)
{
        l->get = prepare(l, "SELECT status, http_status FROM reminders"
                            " WHERE meeting = ?1 AND start = ?2 AND offset_s = ?3 AND department = ?4");
        /* A sent reminder stays sent: nothing overwrites it. */
        l->attempt = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, status, attempts, updated)"
                " VALUES (?1, ?2, ?3, ?4, 'sending', 1, ?5)"
                " ON CONFLICT DO UPDATE SET status = 'sending', attempts = attempts + 1, updated = ?5"
                " WHERE status <> 'sent'");
        l->record = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, status, http_status, error, updated)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT DO UPDATE SET status = ?5, http_status = ?6, error = ?7, updated = ?8"
                " WHERE status <> 'sent'");
        l->alive = prepare(l, "INSERT INTO meta(key, value) VALUES ('alive', ?1) ON CONFLICT DO UPDATE SET value = ?1");
        return l->get && l->attempt && l->record && l->alive ? 0 : -EIO;
}

int ledger_open(const char *state_dir, bool simulated, Ledger **ret)
{
        int r = mkdir_p(state_dir);
        if (r < 0) {
                log_error("cannot create state directory %s: %s", state_dir, strerror(-r));
                return r;
        }
        int fd = -1;
        if ((r = lock_take(state_dir, &fd)) < 0)
                return r;
        Ledger *l = xcalloc(1, sizeof(Ledger));
        l->lock_fd = fd;
        l->path = xasprintf("%s/ledger.sqlite", state_dir);
        if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK || schema(l) < 0 || prepare_all(l) < 0) {
                log_error("cannot open ledger %s: %s", l->path, l->error[0] ? l->error : sqlite3_errmsg(l->db));
                ledger_close(l);
                return -EIO;
        }
        if ((r = clock_kind(l, simulated)) < 0) {
                if (r == -EIO)
                        log_error("cannot open ledger %s: %s", l->path, l->error);
                ledger_close(l);
                return r;
        }
        l->error[0] = '\0';
        *ret = l;
        return 0;
}

static void outcome_free(Outcome *o)
{
        free(o->meeting);
        free(o->department);
        free(o->error);
}

Ledger *ledger_close(Ledger *l)
{
        if (!l)
                return NULL;
        sqlite3_finalize(l->get);
        sqlite3_finalize(l->attempt);
        sqlite3_finalize(l->record);
        sqlite3_finalize(l->alive);
        sqlite3_close(l->db);
        for (size_t i = 0; i < l->n_queue; i++)
                outcome_free(&l->queue[i]);
        free(l->queue);
        if (l->lock_fd >= 0)
                close(l->lock_fd);
        free(l->path);
        free(l);
        return NULL;
}

/* ---- reading -------------------------------------------------------------- */

static void bind_key(sqlite3_stmt *st, const char *meeting, int64_t start, int64_t offset, const char *department)
{
        sqlite3_bind_text(st, 1, meeting, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, start);
        sqlite3_bind_int64(st, 3, offset);
        sqlite3_bind_text(st, 4, department, -1, SQLITE_STATIC);
}

static bool outcome_is(const Outcome *o, const ReminderKey *k)
{
        return o->start == k->start && o->offset == k->offset && streq(o->meeting, k->meeting) &&
               streq(o->department, k->department);
}

static LedgerStatus status_from(const char *name)
{
        for (int i = 0; name && i < _LEDGER_STATUS_MAX; i++)
                if (streq(name, ledger_status_names[i]))
                        return (LedgerStatus)i;
        return LEDGER_NONE;
}

int ledger_get(Ledger *l, const ReminderKey *k, LedgerRow *ret)
{
        /* The newest outcome not yet written wins, as it will on disk
         * (unless what is on disk is "sent", which nothing overwrites). */
        const Outcome *queued = NULL;
        for (size_t i = l->n_queue; i > 0 && !queued; i--)
                if (outcome_is(&l->queue[i - 1], k))
                        queued = &l->queue[i - 1];

        sqlite3_stmt *st = l->get;
        sqlite3_reset(st);
        bind_key(st, k->meeting, k->start, k->offset, k->department);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
                sqlite3_reset(st);
                return -EIO;
        }
        *ret = (LedgerRow){LEDGER_NONE, 0};
        if (rc == SQLITE_ROW)
                *ret = (LedgerRow){status_from((const char *)sqlite3_column_text(st, 0)), sqlite3_column_int(st, 1)};
        sqlite3_reset(st);
        if (queued && ret->status != LEDGER_SENT)
                *ret = (LedgerRow){queued->status, queued->http_status};
        return 0;
}

/* ---- writing -------------------------------------------------------------- */

static int step(Ledger *l, sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
        return -EIO;
}

static int write_outcome(Ledger *l, const Outcome *o)
{
        sqlite3_stmt *st = l->record;
        bind_key(st, o->meeting, o->start, o->offset, o->department);
        sqlite3_bind_text(st, 5, ledger_status_names[o->status], -1, SQLITE_STATIC);
        if (o->http_status > 0)
                sqlite3_bind_int(st, 6, o->http_status);
        else
                sqlite3_bind_null(st, 6);
        sqlite3_bind_text(st, 7, o->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, o->at);
        return step(l, st);
}

static int write_attempt(Ledger *l, const ReminderKey *k, int64_t now)
{
        bind_key(l->attempt, k->meeting, k->start, k->offset, k->department);
        sqlite3_bind_int64(l->attempt, 5, now);
        return step(l, l->attempt);
}

/* One transaction: the queued outcomes, the attempts, the alive mark. */
static int transaction(Ledger *l, const ReminderKey *const *keys, size_t n, int64_t now)
{
        char before[sizeof l->error];
        snprintf(before, sizeof before, "%s", l->error);
        int r = exec(l, "BEGIN IMMEDIATE");
        for (size_t i = 0; r == 0 && i < l->n_queue; i++)
                r = write_outcome(l, &l->queue[i]);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = write_attempt(l, keys[i], now);
        if (r == 0) {
                sqlite3_bind_int64(l->alive, 1, now);
                r = step(l, l->alive);
        }
        if (r == 0)
                r = exec(l, "COMMIT");
        if (r < 0) {
                if (!sqlite3_get_autocommit(l->db))
                        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
                /* Logged when it starts or changes, not at every retry. */
                if (!streq(before, l->error))
                        log_error("ledger %s: cannot write: %s; nothing is sent until it can be", l->path, l->error);
                return -EIO;
        }
        if (before[0])
                log_info("ledger %s: writable again", l->path);
        l->error[0] = '\0';
        for (size_t i = 0; i < l->n_queue; i++)
                outcome_free(&l->queue[i]);
        l->n_queue = 0;
        return 0;
}

int ledger_attempts(Ledger *l, const ReminderKey *const *keys, size_t n, int64_t now)
{
        return transaction(l, keys, n, now);
}

int ledger_flush(Ledger *l, int64_t now)
{
        return transaction(l, NULL, 0, now);
}

void ledger_record(Ledger *l, const ReminderKey *k, LedgerStatus status, int http_status, const char *error,
                   int64_t now)
{
        GROW(l->queue, l->n_queue, l->alloc_queue);
        l->queue[l->n_queue++] = (Outcome){
                .meeting = xstrdup(k->meeting), .department = xstrdup(k->department),
                .start = k->start, .offset = k->offset, .at = now,
                .status = status, .http_status = http_status, .error = error ? xstrdup(error) : NULL,
        };
}

size_t ledger_backlog(const Ledger *l)
{
        return l->n_queue;
}

const char *ledger_error(const Ledger *l)
{
        return l->error[0] ? l->error : NULL;
}

/* ---- meetings and the rest ---------------------------------------------- */

static int meeting_revision(Ledger *l, const char *id, const char *fingerprint, int64_t now, FeedMeta *ret)
{
        sqlite3_stmt *st = NULL;
        *ret = (FeedMeta){0, now};
        if (sqlite3_prepare_v2(l->db, "SELECT fingerprint, sequence, modified FROM meetings WHERE id = ?1", -1, &st,
                               NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        bool known = rc == SQLITE_ROW;
        bool same = known && streq((const char *)sqlite3_column_text(st, 0), fingerprint);
        if (known)
                *ret = (FeedMeta){sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2)};
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return -EIO;
        if (same)
                return 0;
        if (known)
                *ret = (FeedMeta){ret->sequence + 1, now};
        if (sqlite3_prepare_v2(l->db, "INSERT INTO meetings(id, fingerprint, sequence, modified) VALUES (?1, ?2, ?3, ?4)"
                                      " ON CONFLICT DO UPDATE SET fingerprint = ?2, sequence = ?3, modified = ?4",
                               -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, ret->sequence);
        sqlite3_bind_int64(st, 4, ret->modified);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : -EIO;
}

int ledger_meetings(Ledger *l, const char *const *ids, const char *const *fingerprints, size_t n, int64_t now,
                    FeedMeta *ret)
{
        int r = exec(l, "BEGIN IMMEDIATE");
        for (size_t i = 0; i < n; i++)
                if (r < 0 || meeting_revision(l, ids[i], fingerprints[i], now, &ret[i]) < 0)
                        r = -EIO;
        if (r == 0)
                r = exec(l, "COMMIT");
        if (r < 0) {
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
                if (!sqlite3_get_autocommit(l->db))
                        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
                log_error("ledger %s: cannot record meeting revisions: %s; SEQUENCE may not rise this time", l->path,
                          l->error);
        }
        return r;
}

int ledger_get_alive(Ledger *l, int64_t *ret)
{
        sqlite3_stmt *st = NULL;
        int r = -ENOENT;
        if (sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'alive'", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret = sqlite3_column_int64(st, 0);
                r = 0;
        } else if (rc != SQLITE_DONE)
                r = -EIO;
        sqlite3_finalize(st);
        return r;
}

int64_t ledger_count(Ledger *l, LedgerStatus s)
{
        sqlite3_stmt *st = NULL;
        int64_t n = 0;
        if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM reminders WHERE status = ?1", -1, &st, NULL) != SQLITE_OK)
                return 0;
        sqlite3_bind_text(st, 1, ledger_status_names[s], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}
