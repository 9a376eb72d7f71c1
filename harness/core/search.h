/* torn: binary search for a position in a sorted array, the one copy every
 * checker uses (C++'s std::lower_bound / std::upper_bound with bsearch(3)'s
 * arguments).  base[0..n) holds elements of size bytes sorted so that
 * cmp(key, elem) is > 0 on a prefix, then == 0, then < 0 (e.g. the qsort
 * comparator the array was sorted with, given a key of the element type, or
 * one comparing a bare key with an element's field).
 *
 * torn_lower_bound: the index of the first element not before key
 * (cmp(key, elem) <= 0); torn_upper_bound: of the first element after it
 * (cmp(key, elem) < 0).  Both n when there is none; never fail.  Inline so
 * a constant cmp is inlined in the checkers' inner loops. */
#ifndef TORN_SEARCH_H
#define TORN_SEARCH_H

#include <stddef.h>

static inline size_t torn_search_bound(const void *base, size_t n, size_t size, const void *key,
                                       int (*cmp)(const void *key, const void *elem), int upper)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(key, (const char *)base + mid * size);
        if (c > 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline size_t torn_lower_bound(const void *base, size_t n, size_t size, const void *key,
                                      int (*cmp)(const void *key, const void *elem))
{
    return torn_search_bound(base, n, size, key, cmp, 0);
}

static inline size_t torn_upper_bound(const void *base, size_t n, size_t size, const void *key,
                                      int (*cmp)(const void *key, const void *elem))
{
    return torn_search_bound(base, n, size, key, cmp, 1);
}

#endif
