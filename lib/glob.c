/*
 * glob.c - match a test name against a pattern with '*' and '?'.
 *
 * Greedy scan with one backtrack point: on a mismatch, go back to the most
 * recent '*' and let it swallow one more character. Remembering only the
 * latest star is enough because a later '*' can absorb anything an earlier
 * one could, so the match is O(len(pattern) * len(text)) in the worst case
 * rather than exponential as with naive recursion.
 */
#include <stddef.h>

#include "glob.h"
#include "string.h"

int glob_match(const char *pattern, const char *text)
{
    const char *star = NULL;  /* pattern just past the last '*' seen */
    const char *resume = NULL; /* text position that '*' will absorb next */

    while (*text) {
        if (*pattern == '*') {
            star = ++pattern;
            resume = text;          /* first try: '*' matches nothing */
        } else if (*pattern == '?' || *pattern == *text) {
            pattern++;
            text++;
        } else if (star) {
            pattern = star;         /* retry with '*' taking one more char */
            text = ++resume;
        } else {
            return 0;
        }
    }
    /* Text is used up: only trailing stars may remain in the pattern. */
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

int glob_match_list(const char *list, const char *text)
{
    char glob[128];

    if (strcmp(list, "all") == 0)
        return 1;
    while (*list) {
        size_t n = 0;
        for (; *list && *list != ','; list++)
            if (n + 1 < sizeof(glob))
                glob[n++] = *list;
        glob[n] = '\0';
        if (*list == ',')
            list++;
        if (n && glob_match(glob, text))
            return 1;
    }
    return 0;
}
