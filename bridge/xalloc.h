/* xalloc: allocation that never returns NULL. On out-of-memory it logs the
 * call site (file:line) and aborts: a bridge that cannot allocate a few bytes
 * cannot serve anyone. Check input sizes against limits *before* calling. */
#ifndef TB_XALLOC_H
#define TB_XALLOC_H

#include <stddef.h>

#define xmalloc(n) xalloc_malloc((n), __FILE__, __LINE__)
#define xcalloc(n, size) xalloc_calloc((n), (size), __FILE__, __LINE__)
#define xrealloc(p, n) xalloc_realloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xalloc_strdup((s), __FILE__, __LINE__)
#define xstrndup(s, n) xalloc_strndup((s), (n), __FILE__, __LINE__)

void *xalloc_malloc(size_t n, const char *file, int line);
void *xalloc_calloc(size_t n, size_t size, const char *file, int line);
void *xalloc_realloc(void *p, size_t n, const char *file, int line);
char *xalloc_strdup(const char *s, const char *file, int line);
char *xalloc_strndup(const char *s, size_t n, const char *file, int line);

#endif
