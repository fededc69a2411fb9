/* ledger.c — SQLite in WAL mode. An outcome is committed with
 * synchronous=FULL: it survives a crash or a power cut. Attempts alone are
 * committed with synchronous=NORMAL: in the WAL before any request leaves,
 * so a crash of tandem keeps them, without the fsync that made up most of
 * a reminder's latency. A power cut can lose only the "sending" marks not
 * yet followed by a synced commit (the WAL is one sequence: syncing an
 * outcome syncs every attempt before it), that is of requests whose
 * outcome was not on disk yet; such a request may be repeated, as a
 * request in flight at a crash may be under FULL too. The state directory's lock is an
 * flock(2) on <state_dir>/lock, held for the daemon's life: the kernel
 * drops it when the process dies, however it dies. */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

#define SCHEMA_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* An outcome waiting to be written. */
typedef struct Outcome {
        MessageKind kind;
        char *meeting, *department;
        int64_t start, offset, told, at;
        LedgerStatus status;
        int http_status;
        char *error;
} Outcome;

struct Ledger {
        sqlite3 *db;
        char *path;
        int lock_fd;
        sqlite3_stmt *get, *attempt, *record, *alive, *revision, *revise;
        bool synced;    /* synchronous=FULL in effect, else NORMAL */
        int wal_pages;  /* in the write-ahead log after the last commit */
        Outcome *queue;
        size_t n_queue, alloc_queue;
        char error[256];
};

const char *const ledger_kind_names[_MESSAGE_KIND_MAX] = {
        [MESSAGE_REMINDER] = "reminder", [MESSAGE_CANCELLED] = "cancelled", [MESSAGE_MOVED] = "moved",
};

const char *const ledger_status_names[_LEDGER_STATUS_MAX] = {
        [LEDGER_NONE] = "none",     [LEDGER_SENDING] = "sending", [LEDGER_SENT] = "sent",
        [LEDGER_FAILED] = "failed", [LEDGER_MISSED] = "missed",   [LEDGER_SUPERSEDED] = "superseded",
};

/* One row per message. The table keeps its first name, "reminders"; since
 * version 2 it holds notices too (kind), and what each message announced
 * (told). */
static const char reminders_table[] =
        "CREATE TABLE IF NOT EXISTS reminders("
        "  kind TEXT NOT NULL DEFAULT 'reminder' CHECK (kind IN ('reminder', 'cancelled', 'moved')),"
        "  meeting TEXT NOT NULL, start INTEGER NOT NULL, offset_s INTEGER NOT NULL, department TEXT NOT NULL,"
        "  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'missed', 'superseded')),"
        "  attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, error TEXT, updated INTEGER NOT NULL,"
        "  told INTEGER,"
        "  PRIMARY KEY (meeting, start, kind, offset_s, department)) WITHOUT ROWID;";

/* Since version 3 (README "Host rotation and pairings"): who hosted each
 * held occurrence of a rotating meeting, once its first message was due;
 * and each pairing's department lists (epochs), comma-separated, with the
 * instant from which each applies. Version 2 gains them as they are: new
 * tables. */
static const char other_tables[] =
        "CREATE TABLE IF NOT EXISTS meetings("
        "  id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, sequence INTEGER NOT NULL, modified INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
        "CREATE TABLE IF NOT EXISTS hosts("
        "  meeting TEXT NOT NULL, start INTEGER NOT NULL, host TEXT NOT NULL, recorded INTEGER NOT NULL,"
        "  PRIMARY KEY (meeting, start)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS epochs("
        "  pairing TEXT NOT NULL, n INTEGER NOT NULL CHECK (n >= 1), start INTEGER NOT NULL,"
        "  departments TEXT NOT NULL, recorded INTEGER NOT NULL,"
        "  PRIMARY KEY (pairing, n)) WITHOUT ROWID;";

/* Versions 0 (tandem 0.1) and 1 had reminders only, and a status CHECK
 * SQLite cannot alter: copy the rows into the new table. A reminder
 * announced its occurrence's start. */
static const char migrate_v1[] =
        "ALTER TABLE reminders RENAME TO reminders_v1;"
        "%s"
        "INSERT INTO reminders(kind, meeting, start, offset_s, department, status, attempts, http_status, error,"
        "  updated, told)"
        " SELECT 'reminder', meeting, start, offset_s, department, status, attempts, http_status, error, updated,"
        "  start FROM reminders_v1;"
        "DROP TABLE reminders_v1;";

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
        bool existed = table_exists(l, "reminders");
        if (v < 2 && existed) {
                _cleanup_free_ char *sql = xasprintf(migrate_v1, reminders_table);
                r = exec(l, sql);
        } else if (v > SCHEMA_VERSION) {
                snprintf(l->error, sizeof l->error, "written by a newer tandem (version %d)", v);
                r = -EIO;
        }
        if (r == 0)
                r = exec(l, reminders_table);
        if (r == 0)
                r = exec(l, other_tables);
        if (r == 0)
                r = exec(l, "PRAGMA user_version = " STRINGIFY(SCHEMA_VERSION) "; COMMIT");
        if (r == 0 && v < SCHEMA_VERSION && existed)
                log_info("ledger %s: upgraded from version %d to %d", l->path, v, SCHEMA_VERSION);
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

/* SQLite gives each b-tree it opens a first page cache of 20 pages in one
 * 88 KB allocation, and an INSERT into the reminders table opens up to
 * three in-memory ones (two for its CHECK (x IN (...)) lists, one for the
 * upsert): writing the attempts of a burst could allocate and free 260 KB
 * per row at the top of the heap, which glibc gave back and took again
 * each time. 1000 attempts in one transaction: 14,382 page faults and
 * 2,004 brk() calls, 0.32 s; pages allocated one by one as needed instead:
 * 26 faults, 0.02 s. Set before SQLite is first used (it refuses later,
 * and keeps its default then). */
static void sqlite_setup(void)
{
        (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
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
                            " WHERE meeting = ?1 AND start = ?2 AND offset_s = ?3 AND department = ?4 AND kind = ?5");
        /* A sent message stays sent: nothing overwrites it. */
        l->attempt = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, kind, status, attempts, updated, told)"
                " VALUES (?1, ?2, ?3, ?4, ?5, 'sending', 1, ?6, ?7)"
                " ON CONFLICT DO UPDATE SET status = 'sending', attempts = attempts + 1, updated = ?6, told = ?7"
                " WHERE status <> 'sent'");
        l->record = prepare(l,
                "INSERT INTO reminders(meeting, start, offset_s, department, kind, status, http_status, error, updated,"
                "  told)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                " ON CONFLICT DO UPDATE SET status = ?6, http_status = ?7, error = ?8, updated = ?9, told = ?10"
                " WHERE status <> 'sent'");
        l->alive = prepare(l, "INSERT INTO meta(key, value) VALUES ('alive', ?1) ON CONFLICT DO UPDATE SET value = ?1");
        l->revision = prepare(l, "SELECT fingerprint, sequence, modified FROM meetings WHERE id = ?1");
        l->revise = prepare(l, "INSERT INTO meetings(id, fingerprint, sequence, modified) VALUES (?1, ?2, ?3, ?4)"
                               " ON CONFLICT DO UPDATE SET fingerprint = ?2, sequence = ?3, modified = ?4");
        return l->get && l->attempt && l->record && l->alive && l->revision && l->revise ? 0 : -EIO;
}

/* SQLite checkpoints the write-ahead log into the database by itself
 * after the commit that takes it past 1000 pages, syncing the database:
 * when that commit was a reminder's attempt, the request waited for it
 * (a 267 ms outlier among 200 single reminders). The checkpoints are ours
 * instead, after a commit of outcomes (the requests are answered then),
 * and PASSIVE: they never wait for a reader. */
#define CHECKPOINT_PAGES 1000

static int on_wal(void *userdata, sqlite3 *db, const char *name, int pages)
{
        Ledger *l = userdata;
        (void)db, (void)name;
        l->wal_pages = pages;
        return SQLITE_OK;
}

static void checkpoint(Ledger *l)
{
        if (l->wal_pages < CHECKPOINT_PAGES)
                return;
        if (sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
                l->wal_pages = 0;
}

int ledger_open(const char *state_dir, bool simulated, Ledger **ret)
{
        int r = fileio_mkdir_p(state_dir);
        if (r < 0) {
                log_error("cannot create state directory %s: %s", state_dir, strerror(-r));
                return r;
        }
        int fd = -1;
        if ((r = lock_take(state_dir, &fd)) < 0)
                return r;
        sqlite_setup();
        Ledger *l = xcalloc(1, sizeof(Ledger));
        l->lock_fd = fd;
        l->synced = true; /* schema() */
        l->path = xasprintf("%s/ledger.sqlite", state_dir);
        if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK || schema(l) < 0 || prepare_all(l) < 0) {
                log_error("cannot open ledger %s: %s", l->path, l->error[0] ? l->error : sqlite3_errmsg(l->db));
                ledger_close(l);
                return -EIO;
        }
        sqlite3_wal_hook(l->db, on_wal, l);
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
        sqlite3_finalize(l->revision);
        sqlite3_finalize(l->revise);
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

static void bind_key(sqlite3_stmt *st, MessageKind kind, const char *meeting, int64_t start, int64_t offset,
                     const char *department)
{
        sqlite3_bind_text(st, 1, meeting, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, start);
        sqlite3_bind_int64(st, 3, offset);
        sqlite3_bind_text(st, 4, department, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, ledger_kind_names[kind], -1, SQLITE_STATIC);
}

static bool outcome_is(const Outcome *o, const MessageKey *k)
{
        return o->kind == k->kind && o->start == k->start && o->offset == k->offset && streq(o->meeting, k->meeting) &&
               streq(o->department, k->department);
}

static LedgerStatus status_from(const char *name)
{
        for (int i = 0; name && i < _LEDGER_STATUS_MAX; i++)
                if (streq(name, ledger_status_names[i]))
                        return (LedgerStatus)i;
        return LEDGER_NONE;
}

int ledger_get(Ledger *l, const MessageKey *k, LedgerRow *ret)
{
        /* The newest outcome not yet written wins, as it will on disk
         * (unless what is on disk is "sent", which nothing overwrites). */
        const Outcome *queued = NULL;
        for (size_t i = l->n_queue; i > 0 && !queued; i--)
                if (outcome_is(&l->queue[i - 1], k))
                        queued = &l->queue[i - 1];

        sqlite3_stmt *st = l->get;
        sqlite3_reset(st);
        bind_key(st, k->kind, k->meeting, k->start, k->offset, k->department);
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
        bind_key(st, o->kind, o->meeting, o->start, o->offset, o->department);
        sqlite3_bind_text(st, 6, ledger_status_names[o->status], -1, SQLITE_STATIC);
        if (o->http_status > 0)
                sqlite3_bind_int(st, 7, o->http_status);
        else
                sqlite3_bind_null(st, 7);
        sqlite3_bind_text(st, 8, o->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, o->at);
        sqlite3_bind_int64(st, 10, o->told);
        return step(l, st);
}

static int write_attempt(Ledger *l, const MessageKey *k, int64_t now)
{
        bind_key(l->attempt, k->kind, k->meeting, k->start, k->offset, k->department);
        sqlite3_bind_int64(l->attempt, 6, now);
        sqlite3_bind_int64(l->attempt, 7, k->told);
        return step(l, l->attempt);
}

/* FULL when outcomes are written, NORMAL for attempts and the alive mark
 * alone (see the top of this file). */
static int sync_level(Ledger *l, bool full)
{
        if (l->synced == full)
                return 0;
        int r = exec(l, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        if (r == 0)
                l->synced = full;
        return r;
}

/* One transaction: the queued outcomes (if outcomes), the attempts, the
 * alive mark. */
static int transaction(Ledger *l, const MessageKey *const *keys, size_t n, bool outcomes, int64_t now)
{
        char before[sizeof l->error];
        snprintf(before, sizeof before, "%s", l->error);
        size_t n_queue = outcomes ? l->n_queue : 0;
        int r = sync_level(l, n_queue > 0);
        if (r == 0)
                r = exec(l, "BEGIN IMMEDIATE");
        for (size_t i = 0; r == 0 && i < n_queue; i++)
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
        if (l->synced)
                checkpoint(l);
        if (n_queue == 0)
                return 0;
        for (size_t i = 0; i < l->n_queue; i++)
                outcome_free(&l->queue[i]);
        l->n_queue = 0;
        return 0;
}

int ledger_attempts(Ledger *l, const MessageKey *const *keys, size_t n, bool outcomes, int64_t now)
{
        return transaction(l, keys, n, outcomes, now);
}

int ledger_flush(Ledger *l, int64_t now)
{
        return transaction(l, NULL, 0, true, now);
}

void ledger_record(Ledger *l, const MessageKey *k, LedgerStatus status, int http_status, const char *error,
                   int64_t now)
{
        GROW(l->queue, l->n_queue, l->alloc_queue);
        l->queue[l->n_queue++] = (Outcome){
                .kind = k->kind, .meeting = xstrdup(k->meeting), .department = xstrdup(k->department),
                .start = k->start, .offset = k->offset, .told = k->told, .at = now,
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

/* Ends the transaction begun: COMMIT if r is 0, else (or if that fails)
 * ROLLBACK with the reason in l->error. */
static int commit(Ledger *l, int r)
{
        if (r == 0)
                r = exec(l, "COMMIT");
        if (r < 0) {
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
                if (!sqlite3_get_autocommit(l->db))
                        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        }
        return r;
}

static int meeting_revision(Ledger *l, const char *id, const char *fingerprint, int64_t now, FeedMeta *ret)
{
        sqlite3_stmt *st = l->revision;
        *ret = (FeedMeta){0, now};
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        bool known = rc == SQLITE_ROW;
        bool same = known && streq((const char *)sqlite3_column_text(st, 0), fingerprint);
        if (known)
                *ret = (FeedMeta){sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2)};
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return -EIO;
        if (same)
                return 0;
        if (known)
                *ret = (FeedMeta){ret->sequence + 1, now};
        st = l->revise;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, ret->sequence);
        sqlite3_bind_int64(st, 4, ret->modified);
        return step(l, st);
}

int ledger_meetings(Ledger *l, const char *const *ids, const char *const *fingerprints, size_t n, int64_t now,
                    FeedMeta *ret)
{
        int r = sync_level(l, true);
        if (r == 0)
                r = exec(l, "BEGIN IMMEDIATE");
        for (size_t i = 0; i < n; i++)
                if (r < 0 || meeting_revision(l, ids[i], fingerprints[i], now, &ret[i]) < 0)
                        r = -EIO;
        if ((r = commit(l, r)) == 0)
                checkpoint(l);
        if (r < 0)
                log_error("ledger %s: cannot record meeting revisions: %s; SEQUENCE may not rise this time", l->path,
                          l->error);
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
        if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM reminders WHERE status = ?1 AND kind = 'reminder'", -1, &st,
                               NULL) != SQLITE_OK)
                return 0;
        sqlite3_bind_text(st, 1, ledger_status_names[s], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

int ledger_told(Ledger *l, int64_t after, Told **ret, size_t *n)
{
        /* The last message sent about each occurrence and department: by
         * time, and a notice after a reminder of the same second. */
        sqlite3_stmt *st = NULL;
        Told *v = NULL;
        size_t count = 0, alloc = 0;
        *ret = NULL;
        *n = 0;
        if (sqlite3_prepare_v2(l->db,
                               "SELECT meeting, start, department, told FROM reminders"
                               " WHERE status = 'sent' AND (start > ?1 OR told > ?1)"
                               " ORDER BY meeting, start, department, updated, kind <> 'reminder'",
                               -1, &st, NULL) != SQLITE_OK) {
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
                return -EIO;
        }
        sqlite3_bind_int64(st, 1, after);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *meeting = (const char *)sqlite3_column_text(st, 0);
                const char *dept = (const char *)sqlite3_column_text(st, 2);
                int64_t start = sqlite3_column_int64(st, 1), told = sqlite3_column_int64(st, 3);
                Told *last = count ? &v[count - 1] : NULL;
                if (last && last->start == start && streq(last->meeting, meeting) && streq(last->department, dept)) {
                        last->told = told;
                        continue;
                }
                GROW(v, count, alloc);
                v[count++] = (Told){xstrdup(meeting), xstrdup(dept), start, told};
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
                ledger_told_free(v, count);
                return -EIO;
        }
        *ret = v;
        *n = count;
        return 0;
}

void ledger_told_free(Told *t, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(t[i].meeting), free(t[i].department);
        free(t);
}

/* ---- hosts and pairing epochs (history.h) -------------------------------- */

int ledger_history(Ledger *l, History *h)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(l->db, "SELECT meeting, start, host FROM hosts ORDER BY meeting, start", -1, &st, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                history_add_host(h, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                                 (const char *)sqlite3_column_text(st, 2));
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                goto fail;
        rc = sqlite3_prepare_v2(l->db, "SELECT pairing, n, start, departments FROM epochs ORDER BY pairing, n", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                goto fail;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char **ids;
                size_t n = str_split_commas((const char *)sqlite3_column_text(st, 3), &ids);
                history_add_epoch(h, (const char *)sqlite3_column_text(st, 0), (unsigned)sqlite3_column_int(st, 1),
                                  sqlite3_column_int64(st, 2), ids, n);
                strv_free(ids, n);
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
                return 0;
fail:
        snprintf(l->error, sizeof l->error, "%s", sqlite3_errmsg(l->db));
        log_error("ledger %s: cannot read the hosts and pairings it remembers: %s", l->path, l->error);
        history_clear(h);
        return -EIO;
}

/* Runs sql once per item in one transaction. */
static int write_all(Ledger *l, const char *sql, const History *h, bool epochs, int64_t now)
{
        sqlite3_stmt *st = NULL;
        int r = exec(l, "BEGIN IMMEDIATE");
        if (r == 0 && sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
                r = -EIO;
        for (size_t i = 0; r == 0 && i < (epochs ? h->n_epochs : h->n_hosts); i++) {
                sqlite3_reset(st);
                if (epochs) {
                        const Epoch *e = &h->epochs[i];
                        if (!e->fresh)
                                continue;
                        Buf ids = {0};
                        for (size_t k = 0; k < e->n_departments; k++)
                                buf_printf(&ids, "%s%s", k ? "," : "", e->departments[k]);
                        sqlite3_bind_text(st, 1, e->pairing, -1, SQLITE_TRANSIENT);
                        sqlite3_bind_int(st, 2, (int)e->n);
                        sqlite3_bind_int64(st, 3, e->from);
                        sqlite3_bind_text(st, 4, ids.s ? ids.s : "", -1, SQLITE_TRANSIENT);
                        buf_free(&ids);
                } else {
                        sqlite3_bind_text(st, 1, h->hosts[i].meeting, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(st, 2, h->hosts[i].start);
                        sqlite3_bind_text(st, 3, h->hosts[i].host, -1, SQLITE_STATIC);
                }
                sqlite3_bind_int64(st, epochs ? 5 : 4, now);
                if (sqlite3_step(st) != SQLITE_DONE)
                        r = -EIO;
        }
        sqlite3_finalize(st);
        if ((r = commit(l, r)) == 0)
                checkpoint(l);
        return r;
}

int ledger_record_hosts(Ledger *l, const History *h, int64_t now)
{
        if (h->n_hosts == 0)
                return 0;
        /* The first record of an occurrence's host stands: history does
         * not change. */
        return write_all(l, "INSERT INTO hosts(meeting, start, host, recorded) VALUES (?1, ?2, ?3, ?4)"
                            " ON CONFLICT DO NOTHING", h, false, now);
}

int ledger_record_epochs(Ledger *l, const History *h, int64_t now)
{
        bool any = false;
        for (size_t i = 0; i < h->n_epochs; i++)
                any |= h->epochs[i].fresh;
        if (!any)
                return 0;
        int r = write_all(l, "INSERT INTO epochs(pairing, n, start, departments, recorded) VALUES (?1, ?2, ?3, ?4, ?5)"
                             " ON CONFLICT DO UPDATE SET start = ?3, departments = ?4, recorded = ?5", h, true, now);
        if (r < 0)
                log_error("ledger %s: cannot record the pairings' department lists: %s; the next reload decides again",
                          l->path, l->error);
        return r;
}
