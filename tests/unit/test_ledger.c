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

static const ReminderKey key = {"sync", 1796223600, 900, "sales"};

static LedgerStatus status_of(Ledger *l, const ReminderKey *k)
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
        int64_t alive;
        assert_int_equal(ledger_get_alive(l, &alive), 0);
        assert_int_equal(alive, 1796222700);
        ReminderKey other = {"sync", 1796223600, 86400, "sales"};
        ledger_record(l, &other, LEDGER_SUPERSEDED, 0, NULL, 1796222800);
        assert_int_equal(ledger_flush(l, 1796222800), 0);
        ledger_close(l);
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(status_of(l, &other), LEDGER_SUPERSEDED);
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
        const ReminderKey *keys[] = {&key};
        assert_int_equal(ledger_open(dir, false, &l), 0);

        /* A file-size limit makes every write fail, as a full disk does. */
        signal(SIGXFSZ, SIG_IGN);
        set_fsize(1);
        assert_int_equal(ledger_attempts(l, keys, 1, 1796222700), -EIO);
        assert_non_null(ledger_error(l));
        /* Not recorded: no request may leave for it. */
        set_fsize(RLIM_INFINITY);
        assert_int_equal(status_of(l, &key), LEDGER_NONE);

        assert_int_equal(ledger_attempts(l, keys, 1, 1796222700), 0);
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
        const ReminderKey *keys[] = {&key};
        assert_int_equal(ledger_open(dir, false, &l), 0);
        assert_int_equal(ledger_attempts(l, keys, 1, 1), 0);
        ledger_record(l, &key, LEDGER_SENT, 200, NULL, 2);
        ledger_record(l, &key, LEDGER_MISSED, 0, NULL, 3);
        assert_int_equal(ledger_flush(l, 3), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
        assert_int_equal(ledger_attempts(l, keys, 1, 4), 0);
        assert_int_equal(status_of(l, &key), LEDGER_SENT);
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

int main(void)
{
        log_set_max_priority(LOG_CRIT); /* the expected errors */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock),
                cmocka_unit_test(test_clock_kind),
                cmocka_unit_test(test_upgrade_from_0_1),
                cmocka_unit_test(test_fail_closed),
                cmocka_unit_test(test_sent_stays_sent),
                cmocka_unit_test(test_read_error_is_not_absent),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
