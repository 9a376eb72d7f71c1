/* torn: a Redis address, as --target redis://... and the failover
 * scenario's user-run primary and standby give it:
 * redis://[[USER]:PASS@]HOST[:PORT][/DB] or HOST[:PORT][/DB] (port 6379,
 * database 0 by default; percent-escapes decoded; an IPv6 literal bare). */
#ifndef TORN_REDIS_URL_H
#define TORN_REDIS_URL_H

struct torn_err;

struct torn_redis_url {
    char host[256];
    int port;
    int db;
    char user[128];
    char pass[256];              /* never printed */
};

/* Parse loc into *out.  0, or TORN_E_CONFIG naming `display` (loc with any
 * password hidden: loc itself is never quoted). */
int torn_redis_url_parse(const char *loc, const char *display, struct torn_redis_url *out,
                         struct torn_err *err);

#endif
