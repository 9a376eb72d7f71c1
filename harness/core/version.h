/* torn: the release, as `torn --version`, reports (tool_version) and the
 * Toxiproxy-compatible API's /version show it. */
#ifndef TORN_VERSION_H
#define TORN_VERSION_H

#define TORN_VERSION "0.1.0"

#endif
