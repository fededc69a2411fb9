/* suggest.c — Levenshtein distance, case-insensitive, for "did you mean". */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

size_t suggest_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        _cleanup_free_ size_t *row = xcalloc(lb + 1, sizeof(size_t));
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
                        size_t best = diag + cost;
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

const char *suggest(const char *word, const char *const *candidates)
{
        const char *best = NULL;
        size_t best_d = (size_t)-1;
        /* A third of the word, at least one and at most three edits: "tusday"
         * finds "tuesday", "x" does not find "y". */
        size_t limit = strlen(word) / 3;
        if (limit < 1)
                limit = 1;
        if (limit > 3)
                limit = 3;
        for (size_t i = 0; candidates && candidates[i]; i++) {
                size_t d = suggest_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best && best_d <= limit && best_d > 0 ? best : NULL;
}
