/* suggest.c — Levenshtein distance, case-insensitive, for "did you mean". */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

/* Optimal string alignment distance: insertions, deletions,
 * substitutions and swaps of two neighbours ("titel" is one edit from
 * "title"), ignoring case. */
size_t suggest_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), w = lb + 1;
        _cleanup_free_ size_t *d = xcalloc((la + 1) * w, sizeof(size_t));
#define D(i, j) d[(i) * w + (j)]
        for (size_t i = 0; i <= la; i++)
                D(i, 0) = i;
        for (size_t j = 0; j <= lb; j++)
                D(0, j) = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
                        size_t best = D(i - 1, j - 1) + (ca != cb);
                        if (D(i - 1, j) + 1 < best)
                                best = D(i - 1, j) + 1;
                        if (D(i, j - 1) + 1 < best)
                                best = D(i, j - 1) + 1;
                        if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                            tolower((unsigned char)a[i - 2]) == cb && D(i - 2, j - 2) + 1 < best)
                                best = D(i - 2, j - 2) + 1;
                        D(i, j) = best;
                }
        size_t r = D(la, lb);
#undef D
        return r;
}

const char *suggest(const char *word, const char *const *candidates)
{
        const char *best = NULL;
        size_t best_d = (size_t)-1, n = strlen(word);
        /* A third of the word, from one to three edits, so "tusday" finds
         * "tuesday"; words of one or two letters only by their case. */
        size_t limit = n < 3 ? 0 : n / 3 < 1 ? 1 : n / 3 > 3 ? 3 : n / 3;
        for (size_t i = 0; candidates && candidates[i]; i++) {
                if (strcmp(word, candidates[i]) == 0)
                        return NULL; /* the word is right: nothing to suggest */
                /* The lengths' difference is a lower bound of the distance:
                 * a candidate beyond the limit by it alone is not measured
                 * (the table is length x length: an 18 KB "timezone" against
                 * 600 zone names took 14 s in fuzz_config). */
                size_t m = strlen(candidates[i]);
                if ((m > n ? m - n : n - m) > limit)
                        continue;
                size_t d = suggest_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        /* Distance 0 here means only the case differs ("Slack"). */
        return best && best_d <= limit ? best : NULL;
}
