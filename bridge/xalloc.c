#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "error xalloc: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *xalloc_malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom(n, file, line);
    return p;
}

void *xalloc_calloc(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_oom(n * size, file, line);
    return p;
}

void *xalloc_realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom(n, file, line);
    return q;
}

char *xalloc_strdup(const char *s, const char *file, int line)
{
    return xalloc_strndup(s, strlen(s), file, line);
}

char *xalloc_strndup(const char *s, size_t n, const char *file, int line)
{
    char *p = xalloc_malloc(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
