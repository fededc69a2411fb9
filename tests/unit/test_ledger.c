/* test_ledger.c — the ledger's promises (README "Delivery guarantees"):
 * one daemon per state directory, simulated and real time kept apart, the
 * 0.1 schema upgraded in place, and failing closed: an attempt that cannot
 * be written is not recorded (so nothing may be sent), an outcome that
 * cannot be written is kept and seen, and a read error is an error. */
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "helpers.h"
#include "ledger.h"
#include "log.h"

static char *state_dir(const char *name)
{
        char *dir = xasprintf("%s/%s", tmp_dir_get(), name);
        return dir;
}

static const MessageKey key = {MESSAGE_REMINDER, "sync", 1796223600, 900, "sales", 1796223600};

static LedgerStatus status_of(Ledger *l, const MessageKey *k)
{
        LedgerRow row;
        assert_int_equal(ledger_get(l, k, &row), 0);
        return row.status;
}

static void test_lock(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("lock");
        Ledger *a = NULL, *b = NULL;
        assert_int_equal(ledger_open(dir, false, &a), 0);
        assert_int_equal(ledger_open(dir, false, &b), -EBUSY);
        ledger_close(a);
        /* The lock goes with its holder. */
        assert_int_equal(ledger_open(dir, false, &b), 0);
        ledger_close(b);
}

static void test_clock_kind(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("clock");
        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, true, &l), 0);
        ledger_close(l);
        assert_int_equal(ledger_open(dir, false, &l), -EXDEV);
        assert_int_equal(ledger_open(dir, true, &l), 0);
        ledger_close(l);
}

static void test_upgrade_from_0_1(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("old");
        assert_int_equal(mkdir(dir, 0700), 0);
        _cleanup_free_ char *path = xasprintf("%s/ledger.sqlite", dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        /* The schema of tandem 0.1, with one delivered reminder. */
        assert_int_equal(sqlite3_exec(db,
                "CREATE TABLE reminders(meeting TEXT NOT NULL, start INTEGER NOT NULL, offset_s INTEGER NOT NULL,"
                " department TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'missed')),"
                " attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, error TEXT, updated INTEGER NOT NULL,"
                " PRIMARY KEY (meeting, start, offset_s, department)) WITHOUT ROWID;"
                "CREATE TABLE meetings(id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, sequence INTEGER NOT NULL,"
                " modified INTEGER NOT NULL);"
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER);"
                "INSERT INTO reminders VALUES ('sync', 1796223600, 900, 'sales', 'sent', 1, 200, NULL, 1796222700);"
                "INSERT INTO meta VALUES ('alive', 1796222700);",
                NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        /* A reminder of 0.1 announced its occurrence's start. */
        Told *t;
        size_t n;
        assert_int_equal(ledger_told(l, 0, &t, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(t[0].told, 1796223600);
        ledger_told_free(t, n);
        int64_t alive;
        assert_int_equal(ledger_get_alive(l, &alive), 0);
        assert_int_equal(alive, 1796222700);
        MessageKey other = {MESSAGE_REMINDER, "sync", 1796223600, 86400, "sales", 1796223600};
        ledger_record(l, &other, LEDGER_SUPERSEDED, 0, NULL, 1796222800);
        assert_int_equal(ledger_flush(l, 1796222800), 0);
        ledger_close(l);
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(status_of(l, &other), LEDGER_SUPERSEDED);
        ledger_close(l);
}

/* Version 2 (notices beside reminders) gains the hosts and epochs tables
 * and keeps its rows as they are: a notice stays a notice. */
static void test_upgrade_from_2(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("v2");
        assert_int_equal(mkdir(dir, 0700), 0);
        _cleanup_free_ char *path = xasprintf("%s/ledger.sqlite", dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                "CREATE TABLE reminders("
                "  kind TEXT NOT NULL DEFAULT 'reminder' CHECK (kind IN ('reminder', 'cancelled', 'moved')),"
                "  meeting TEXT NOT NULL, start INTEGER NOT NULL, offset_s INTEGER NOT NULL, department TEXT NOT NULL,"
                "  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'missed', 'superseded')),"
                "  attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, error TEXT, updated INTEGER NOT NULL,"
                "  told INTEGER, PRIMARY KEY (meeting, start, kind, offset_s, department)) WITHOUT ROWID;"
                "CREATE TABLE meetings(id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, sequence INTEGER NOT NULL,"
                " modified INTEGER NOT NULL);"
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
                "INSERT INTO reminders VALUES ('cancelled', 'sync', 1796223600, 0, 'sales', 'sent', 1, 200, NULL,"
                " 1796137200, 0);"
                "INSERT INTO meta VALUES ('clock', 'real');"
                "PRAGMA user_version = 2;",
                NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, false, &l), 0);
        MessageKey notice = {MESSAGE_CANCELLED, "sync", 1796223600, 0, "sales", 0};
        assert_int_equal(status_of(l, &notice), LEDGER_SENT);
        History h = {0};
        assert_int_equal(ledger_history(l, &h), 0);
        assert_int_equal(h.n_hosts + h.n_epochs, 0);
        ledger_close(l);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 3);
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* Who hosted: the first record stands. Epochs: fresh ones are written, a
 * fresh epoch n replaces the recorded n. */
static void test_history(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("history");
        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, false, &l), 0);
        History h = {0};
        history_add_host(&h, "sync", 200, "sales");
        history_add_host(&h, "sync", 100, "marketing");
        history_add_host(&h, "lunch.a.b", 100, "a");
        assert_int_equal(ledger_record_hosts(l, &h, 50), 0);
        history_clear(&h);
        history_add_host(&h, "sync", 200, "support"); /* too late: sales hosted */
        history_add_host(&h, "sync", 300, "support");
        assert_int_equal(ledger_record_hosts(l, &h, 60), 0);
        history_clear(&h);

        char *abc[] = {(char *)"a", (char *)"b", (char *)"c"}, *abcd[] = {(char *)"a", (char *)"b", (char *)"c", (char *)"d"};
        history_add_epoch(&h, "lunch", 1, 100, abc, 3)->fresh = true;
        history_add_epoch(&h, "lunch", 2, 500, abcd, 4); /* not fresh: not written */
        assert_int_equal(ledger_record_epochs(l, &h, 70), 0);
        history_clear(&h);

        assert_int_equal(ledger_history(l, &h), 0);
        assert_int_equal(h.n_hosts, 4);
        assert_string_equal(history_host(&h, "sync", 100), "marketing");
        assert_string_equal(history_host(&h, "sync", 200), "sales");
        assert_string_equal(history_host(&h, "sync", 300), "support");
        assert_string_equal(history_host(&h, "lunch.a.b", 100), "a");
        assert_null(history_host(&h, "sync", 400));
        assert_int_equal(h.n_epochs, 1);
        assert_int_equal(h.epochs[0].n_departments, 3);
        assert_string_equal(h.epochs[0].departments[2], "c");
        /* redefined before anybody heard of it */
        strv_free(h.epochs[0].departments, h.epochs[0].n_departments);
        h.epochs[0].departments = xcalloc(5, sizeof(char *));
        for (size_t i = 0; i < 4; i++)
                h.epochs[0].departments[i] = xstrdup(abcd[i]);
        h.epochs[0].n_departments = 4;
        h.epochs[0].fresh = true;
        assert_int_equal(ledger_record_epochs(l, &h, 80), 0);
        history_clear(&h);
        assert_int_equal(ledger_history(l, &h), 0);
        assert_int_equal(h.n_epochs, 1);
        assert_int_equal(h.epochs[0].n_departments, 4);
        history_clear(&h);
        ledger_close(l);
}

static void set_fsize(rlim_t max)
{
        struct rlimit r = {max, RLIM_INFINITY};
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

static void test_fail_closed(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("full");
        Ledger *l = NULL;
        const MessageKey *keys[] = {&key};
        assert_int_equal(ledger_open(dir, false, &l), 0);

        /* A file-size limit makes every write fail, as a full disk does. */
        signal(SIGXFSZ, SIG_IGN);
        set_fsize(1);
        assert_int_equal(ledger_attempts(l, keys, 1, true, 1796222700), -EIO);
        assert_non_null(ledger_error(l));
        /* Not recorded: no request may leave for it. */
        set_fsize(RLIM_INFINITY);
        assert_int_equal(status_of(l, &key), LEDGER_NONE);

        assert_int_equal(ledger_attempts(l, keys, 1, true, 1796222700), 0);
        assert_null(ledger_error(l));
        assert_int_equal(status_of(l, &key), LEDGER_SENDING);

        /* An outcome that cannot be written is kept, and seen. */
        set_fsize(1);
        ledger_record(l, &key, LEDGER_SENT, 200, NULL, 1796222701);
        assert_int_equal(ledger_flush(l, 1796222701), -EIO);
        assert_int_equal(ledger_backlog(l), 1);
        set_fsize(RLIM_INFINITY);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        /* ... and written at the next try. */
        assert_int_equal(ledger_flush(l, 1796222702), 0);
        assert_int_equal(ledger_backlog(l), 0);
        ledger_close(l);
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        ledger_close(l);
}

static void test_sent_stays_sent(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("sent");
        Ledger *l = NULL;
        const MessageKey *keys[] = {&key};
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(ledger_attempts(l, keys, 1, false, 1), 0);
        ledger_record(l, &key, LEDGER_SENT, 200, NULL, 2);
        ledger_record(l, &key, LEDGER_MISSED, 0, NULL, 3);
        assert_int_equal(ledger_flush(l, 3), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        assert_int_equal(ledger_attempts(l, keys, 1, true, 4), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        ledger_close(l);
}

/* Notices share the table with reminders, under keys of their own, and
 * what the last message sent announced is what people were told. */
static void test_notices_and_told(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("told");
        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, false, &l), 0);
        const int64_t rid = 1796223600, moved = rid + 1800;
        MessageKey day = {MESSAGE_REMINDER, "sync", rid, 86400, "sales", rid};
        MessageKey notice = {MESSAGE_MOVED, "sync", rid, moved, "sales", moved};
        MessageKey other = {MESSAGE_REMINDER, "sync", rid, 86400, "marketing", rid};
        MessageKey gone = {MESSAGE_CANCELLED, "sync", rid + 7 * 86400, 0, "sales", 0};
        const MessageKey *keys[] = {&day, &other};
        assert_int_equal(ledger_attempts(l, keys, 2, true, rid - 86400), 0);
        ledger_record(l, &day, LEDGER_SENT, 200, NULL, rid - 86400);
        ledger_record(l, &other, LEDGER_SENT, 200, NULL, rid - 86400);
        assert_int_equal(ledger_flush(l, rid - 86400), 0);
        /* The notice is not the reminder. */
        assert_int_equal(status_of(l, &notice), LEDGER_NONE);
        const MessageKey *nkeys[] = {&notice, &gone};
        assert_int_equal(ledger_attempts(l, nkeys, 2, true, rid - 3600), 0);
        ledger_record(l, &notice, LEDGER_SENT, 200, NULL, rid - 3600);
        ledger_record(l, &gone, LEDGER_SENT, 200, NULL, rid - 3600);
        assert_int_equal(ledger_flush(l, rid - 3600), 0);
        assert_int_equal(status_of(l, &day), LEDGER_SENT);
        assert_int_equal(ledger_count(l, LEDGER_SENT), 2); /* reminders only */

        Told *t;
        size_t n;
        assert_int_equal(ledger_told(l, rid - 7200, &t, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(t[0].department, "marketing");
        assert_int_equal(t[0].told, rid);
        assert_string_equal(t[1].department, "sales");
        assert_int_equal(t[1].told, moved); /* the notice came last */
        assert_int_equal(t[2].start, rid + 7 * 86400);
        assert_int_equal(t[2].told, 0);
        ledger_told_free(t, n);
        /* Only what is still ahead. */
        assert_int_equal(ledger_told(l, rid + 86400, &t, &n), 0);
        assert_int_equal(n, 1);
        ledger_told_free(t, n);
        ledger_close(l);
}

static void test_read_error_is_not_absent(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("broken");
        Ledger *l = NULL;
        assert_int_equal(ledger_open(dir, false, &l), 0);
        _cleanup_free_ char *path = xasprintf("%s/ledger.sqlite", dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DROP TABLE reminders", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        LedgerRow row;
        assert_int_equal(ledger_get(l, &key, &row), -EIO);
        assert_non_null(ledger_error(l));
        ledger_close(l);
}

/* A VFS in front of SQLite's own that counts the syncs of the files it
 * opens: what reaches the disk, and when. */
typedef struct CountedFile {
        sqlite3_file base;
        sqlite3_file *real; /* follows this struct */
} CountedFile;
static sqlite3_vfs counting_vfs, *real_vfs;
static sqlite3_io_methods counted_methods;
static int syncs;

static int counted_sync(sqlite3_file *f, int flags)
{
        syncs++;
        return ((CountedFile *)f)->real->pMethods->xSync(((CountedFile *)f)->real, flags);
}

/* Every other method passes the real file on. */
#define PASS(name, type, args, call) \
        static int counted_##name type { sqlite3_file *r = ((CountedFile *)f)->real; return r->pMethods->x##name call; }
PASS(Close, (sqlite3_file *f), f, (r))
PASS(Read, (sqlite3_file *f, void *b, int n, sqlite3_int64 o), f, (r, b, n, o))
PASS(Write, (sqlite3_file *f, const void *b, int n, sqlite3_int64 o), f, (r, b, n, o))
PASS(Truncate, (sqlite3_file *f, sqlite3_int64 n), f, (r, n))
PASS(FileSize, (sqlite3_file *f, sqlite3_int64 *n), f, (r, n))
PASS(Lock, (sqlite3_file *f, int l), f, (r, l))
PASS(Unlock, (sqlite3_file *f, int l), f, (r, l))
PASS(CheckReservedLock, (sqlite3_file *f, int *o), f, (r, o))
PASS(FileControl, (sqlite3_file *f, int op, void *a), f, (r, op, a))
PASS(SectorSize, (sqlite3_file *f), f, (r))
PASS(DeviceCharacteristics, (sqlite3_file *f), f, (r))
PASS(ShmMap, (sqlite3_file *f, int i, int n, int w, void volatile **p), f, (r, i, n, w, p))
PASS(ShmLock, (sqlite3_file *f, int o, int n, int fl), f, (r, o, n, fl))
PASS(ShmUnmap, (sqlite3_file *f, int d), f, (r, d))
static void counted_ShmBarrier(sqlite3_file *f)
{
        sqlite3_file *r = ((CountedFile *)f)->real;
        r->pMethods->xShmBarrier(r);
}
#undef PASS

static int counted_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
        (void)vfs;
        CountedFile *c = (CountedFile *)f;
        c->real = (sqlite3_file *)(c + 1);
        int rc = real_vfs->xOpen(real_vfs, name, c->real, flags, out);
        c->base.pMethods = rc == SQLITE_OK ? &counted_methods : NULL;
        return rc;
}

static void counting_vfs_install(void)
{
        real_vfs = sqlite3_vfs_find(NULL);
        counting_vfs = *real_vfs;
        counting_vfs.zName = "counting";
        counting_vfs.szOsFile = (int)sizeof(CountedFile) + real_vfs->szOsFile;
        counting_vfs.xOpen = counted_open;
        /* version 2: no xFetch and xUnfetch (memory-mapped I/O is off) */
        counted_methods = (sqlite3_io_methods){
                .iVersion = 2, .xClose = counted_Close, .xRead = counted_Read, .xWrite = counted_Write,
                .xTruncate = counted_Truncate, .xSync = counted_sync, .xFileSize = counted_FileSize,
                .xLock = counted_Lock, .xUnlock = counted_Unlock, .xCheckReservedLock = counted_CheckReservedLock,
                .xFileControl = counted_FileControl, .xSectorSize = counted_SectorSize,
                .xDeviceCharacteristics = counted_DeviceCharacteristics, .xShmMap = counted_ShmMap,
                .xShmLock = counted_ShmLock, .xShmBarrier = counted_ShmBarrier, .xShmUnmap = counted_ShmUnmap,
        };
        sqlite3_vfs_register(&counting_vfs, 1);
}

/* Attempts are committed without a sync (synchronous=NORMAL: in the WAL,
 * safe from a crash of tandem), outcomes with one (FULL: safe from a power
 * cut), and the sync of an outcome covers the attempts before it. */
static void test_attempts_unsynced_outcomes_synced(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = state_dir("sync");
        Ledger *l = NULL;
        const MessageKey *keys[] = {&key};
        counting_vfs_install();
        assert_int_equal(ledger_open(dir, false, &l), 0);
        syncs = 0;
        assert_int_equal(ledger_attempts(l, keys, 1, false, 1), 0);
        assert_int_equal(syncs, 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENDING);
        assert_int_equal(ledger_flush(l, 2), 0); /* nothing to record: the alive mark alone */
        assert_int_equal(syncs, 0);
        ledger_record(l, &key, LEDGER_SENT, 200, NULL, 3);
        assert_int_equal(ledger_flush(l, 3), 0);
        assert_true(syncs > 0);
        /* An outcome waiting beside an attempt to another URL: the attempt
         * alone, unsynced; the outcome stays queued (and seen). */
        MessageKey answered = key, other = key;
        answered.department = "support";
        other.department = "marketing";
        const MessageKey *first[] = {&answered}, *others[] = {&other};
        assert_int_equal(ledger_attempts(l, first, 1, false, 4), 0);
        syncs = 0;
        ledger_record(l, &answered, LEDGER_SENT, 200, NULL, 5);
        assert_int_equal(ledger_attempts(l, others, 1, false, 5), 0);
        assert_int_equal(syncs, 0);
        assert_int_equal(ledger_backlog(l), 1);
        assert_int_equal(status_of(l, &answered), LEDGER_SENT);
        /* Beside an attempt to its own URL: written first, synced. */
        answered.start += 86400;
        assert_int_equal(ledger_attempts(l, first, 1, true, 6), 0);
        assert_true(syncs > 0);
        assert_int_equal(ledger_backlog(l), 0);
        /* Attempts alone never checkpoint the log into the database (which
         * syncs it), however long the log grows: SQLite would after 1000
         * pages, with a request waiting. */
        syncs = 0;
        for (int i = 0; i < 1200; i++) {
                MessageKey k = key;
                k.start += 86400 * (i + 1);
                const MessageKey *one[] = {&k};
                assert_int_equal(ledger_attempts(l, one, 1, false, 5 + i), 0);
        }
        assert_int_equal(syncs, 0);
        ledger_close(l);
        sqlite3_vfs_unregister(&counting_vfs);
}

int main(void)
{
        log_set_max_priority(LOG_CRIT); /* the expected errors */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock),
                cmocka_unit_test(test_clock_kind),
                cmocka_unit_test(test_upgrade_from_0_1),
                cmocka_unit_test(test_upgrade_from_2),
                cmocka_unit_test(test_history),
                cmocka_unit_test(test_fail_closed),
                cmocka_unit_test(test_sent_stays_sent),
                cmocka_unit_test(test_notices_and_told),
                cmocka_unit_test(test_read_error_is_not_absent),
                cmocka_unit_test(test_attempts_unsynced_outcomes_synced),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
