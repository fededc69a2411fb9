/* test_chat.c — reminder text and payloads (chat.c), with the regressions
 * the fuzzers found. */
#include <jansson.h>

#include "helpers.h"

#include "chat.h"

static Department dept(ChatKind kind, const char *name)
{
        return (Department){.id = (char *)"sales", .name = (char *)name, .zone = tz_lookup("Europe/Berlin"),
                            .chat = kind, .webhook = (char *)"https://example.invalid/x"};
}

/* Invalid UTF-8 in a title once made jansson refuse the payload, and the
 * daemon abort (fuzz_chat). Every kind must still give valid JSON. */
static void test_invalid_utf8_payloads(void **state)
{
        (void)state;
        for (int k = CHAT_SLACK; k < _CHAT_MAX; k++) {
                Department d[2] = {dept((ChatKind)k, "Sales \xff"), dept(CHAT_CONSOLE, "M\xc3")};
                d[1].id = (char *)"marketing";
                Department *dp[2] = {&d[0], &d[1]};
                Reminder rem = {900, (char *)"15m"};
                Meeting m = {.id = (char *)"m", .title = (char *)"T\xff\xfeitle", .departments = dp, .n_departments = 2,
                             .description = (char *)"\xed\xa0\x80 surrogate", .zone = d[0].zone};
                Occurrence o = {&m, 1796140800, 1796144400};
                ChatMessage msg;
                chat_reminder(&m, &d[0], &o, &rem, o.start - 900, &msg);
                assert_non_null(msg.body);
                if (k != CHAT_NTFY) {
                        json_t *j = json_loads(msg.body, 0, NULL);
                        assert_non_null(j);
                        json_decref(j);
                }
                assert_true(utf8_valid(msg.body));
                assert_non_null(strstr(msg.body, "T\xef\xbf\xbd\xef\xbf\xbditle"));
                chat_message_free(&msg);
        }
}

static void test_generic_payload(void **state)
{
        (void)state;
        Department d[2] = {dept(CHAT_GENERIC, "Sales"), dept(CHAT_CONSOLE, "Marketing")};
        d[1].id = (char *)"marketing";
        d[1].zone = tz_lookup("America/New_York");
        Department *dp[2] = {&d[0], &d[1]};
        Reminder rem = {900, (char *)"15m"};
        Meeting m = {.id = (char *)"sync", .title = (char *)"Weekly sync", .departments = dp, .n_departments = 2,
                     .location = (char *)"Room 1", .zone = d[0].zone};
        Occurrence o = {&m, 1796140800, 1796144400}; /* 2026-12-01T16:00:00Z */
        ChatMessage msg;
        chat_reminder(&m, &d[0], &o, &rem, o.start - 900, &msg);
        json_t *j = json_loads(msg.body, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "type")), "reminder");
        assert_string_equal(json_string_value(json_object_get(j, "meeting")), "sync");
        assert_string_equal(json_string_value(json_object_get(j, "department")), "sales");
        assert_string_equal(json_string_value(json_object_get(j, "start")), "2026-12-01T16:00:00Z");
        assert_string_equal(json_string_value(json_object_get(j, "end")), "2026-12-01T17:00:00Z");
        assert_string_equal(json_string_value(json_object_get(j, "before")), "15m");
        const char *text = json_string_value(json_object_get(j, "text"));
        assert_non_null(strstr(text, "Weekly sync, in 15 minutes"));
        assert_non_null(strstr(text, "Tue 1 Dec 2026, 17:00-18:00 CET"));
        assert_non_null(strstr(text, "With: Marketing"));
        json_decref(j);
        chat_message_free(&msg);
}

static void test_truncate(void **state)
{
        (void)state;
        char *s = chat_truncate("h\xc3\xa9llo world", 5, 100);
        assert_string_equal(s, "h\xc3\xa9ll\xe2\x80\xa6");
        free(s);
        s = chat_truncate("short", 10, 100);
        assert_string_equal(s, "short");
        free(s);
        s = chat_truncate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 100, 6); /* bytes: never split a sequence */
        assert_true(utf8_valid(s));
        assert_true(strlen(s) <= 6);
        free(s);
}

/* tz_all_names() once kept pointers that libical frees when it loads a
 * zone, and "did you mean" read freed memory (fuzz_config, under ASan). */
static void test_zone_names_survive_loading(void **state)
{
        (void)state;
        const char *const *names = tz_all_names();
        icalarray *zones = icaltimezone_get_builtin_timezones();
        for (size_t i = 0; i < zones->num_elements; i++)
                assert_non_null(icaltimezone_get_component(icalarray_element_at(zones, i)));
        size_t n = 0;
        for (; names[n]; n++)
                assert_true(strlen(names[n]) > 0);
        assert_true(n > 300);
        /* every zone libical lists is among them (tzdata.zi adds the links) */
        for (size_t i = 0; i < zones->num_elements; i++) {
                const char *loc = icaltimezone_get_location(icalarray_element_at(zones, i));
                size_t k = 0;
                while (names[k] && strcmp(names[k], loc) != 0)
                        k++;
                if (!names[k])
                        fail_msg("%s is not among tz_all_names()", loc);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid_utf8_payloads),
                cmocka_unit_test(test_generic_payload),
                cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_zone_names_survive_loading),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
