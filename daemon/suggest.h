/* suggest.h — "did you mean" for near-miss names. */
#pragma once

#include <stddef.h>

/* The candidate closest to word by edit distance, if close enough to be a
 * plausible typo; NULL otherwise. candidates ends with NULL. */
const char *suggest(const char *word, const char *const *candidates);
size_t suggest_distance(const char *a, const char *b);
