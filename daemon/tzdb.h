/* tzdb.h — the names the tz database knows, read from the system's tzdata
 * (the files libical reads its zones from): zone and link names from
 * tzdata.zi, countries from iso3166.tab, each country's zones and their
 * comments from zone.tab. Loaded once, on first use; never freed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Is name, exactly as written, an IANA zone or link name ("Europe/Berlin",
 * "Asia/Calcutta", "UTC")? Paths that reach a zone file another way
 * ("Europe/../Europe/Berlin", "right/UTC", "localtime", "posixrules") are
 * not names. */
bool tzdb_is_name(const char *name);
/* Every zone and link name, sorted, NULL-terminated. */
const char *const *tzdb_names(void);

enum { TZDB_SUGGEST_MAX = 4 };
/* The zones a user probably meant by an unknown name, best first, at most
 * TZDB_SUGGEST_MAX of them in out (static strings); returns how many there
 * are in all (0: no idea). Tried in order: the name in another case; the
 * last part of the name as a zone's city ("Europe/Berlin" for
 * "Germany/Berlin"), a city tzdata does not name ("Asia/Kolkata" for
 * "Asia/Bangalore"), a country of iso3166.tab or a place in zone.tab's
 * comments; then the closest spelling. */
size_t tzdb_suggest(const char *name, const char *out[static TZDB_SUGGEST_MAX]);
