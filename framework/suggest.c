/* suggest.c - edit distance and the closest-candidate pick. */
#include "suggest.h"

#include <stdio.h>
#include <string.h>

#define MAX_LEN 64

size_t nl_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_LEN || m > MAX_LEN)
        return (size_t)-1;
    size_t dist[MAX_LEN + 1][MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++)
        dist[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        dist[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = dist[i - 1][j - 1] + cost;
            if (dist[i - 1][j] + 1 < best)
                best = dist[i - 1][j] + 1;
            if (dist[i][j - 1] + 1 < best)
                best = dist[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                dist[i - 2][j - 2] + 1 < best)
                best = dist[i - 2][j - 2] + 1;
            dist[i][j] = best;
        }
    return dist[n][m];
}

void nl_suggest_init(nl_suggester *s, const char *word)
{
    s->word = word;
    s->best_distance = (size_t)-1;
    s->best[0] = '\0';
}

void nl_suggest_offer(nl_suggester *s, const char *candidate)
{
    /* Close enough: a third of the word's length, at least 1, at most 3. */
    size_t len = strlen(s->word);
    size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
    size_t d = nl_edit_distance(s->word, candidate);
    if (d == 0 || d > limit || d >= s->best_distance)
        return;
    s->best_distance = d;
    snprintf(s->best, sizeof(s->best), "%s", candidate);
}

void nl_suggest_visit(const char *candidate, void *suggester)
{
    nl_suggest_offer(suggester, candidate);
}

const char *nl_suggest(const char *word, const char *const *candidates,
                       size_t n, nl_suggester *s)
{
    nl_suggest_init(s, word);
    for (size_t i = 0; i < n; i++)
        nl_suggest_offer(s, candidates[i]);
    return s->best[0] ? s->best : NULL;
}
