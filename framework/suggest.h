/* suggest.h - "did you mean" for misspelled keys and plugin names. */
#ifndef NL_SUGGEST_H
#define NL_SUGGEST_H

#include <stddef.h>

/* Feed candidates one by one; `best` is then the closest candidate within
 * a small edit distance (or NULL).  `best` points at the caller's string,
 * copied into `buf`. */
typedef struct nl_suggester {
    const char *word;
    size_t best_distance;
    char best[128];
} nl_suggester;

void nl_suggest_init(nl_suggester *s, const char *word);
void nl_suggest_offer(nl_suggester *s, const char *candidate);

/* nl_suggest_offer as a visitor (suggester: an nl_suggester). */
void nl_suggest_visit(const char *candidate, void *suggester);

/* Returns the closest of n candidates, or NULL when none is close. */
const char *nl_suggest(const char *word, const char *const *candidates,
                       size_t n, nl_suggester *s);

/* Optimal-string-alignment distance (Levenshtein plus adjacent swaps). */
size_t nl_edit_distance(const char *a, const char *b);

#endif
