/* torn: RFC 6901 JSON pointers, how specs name a field inside a JSON
 * document ("/a/b", "" for the root; ~0 is ~ and ~1 is /), used by the
 * HTTP target's spec and by the read-path comparison (paths.h). */
#ifndef TORN_JSONPTR_H
#define TORN_JSONPTR_H

struct cJSON;

/* 1 if ptr is a syntactically valid JSON pointer ("" or "/..."; every ~
 * followed by 0 or 1); NULL is not. */
int torn_json_pointer_valid(const char *ptr);
/* The value at ptr in root (array members by decimal index), or NULL when
 * absent or ptr is invalid.  Borrowed from root. */
const struct cJSON *torn_json_pointer(const struct cJSON *root, const char *ptr);

#endif
