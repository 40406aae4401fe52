/* srv_assets.h -- the support engineers' web page, embedded in the binary (private to server/).
 *
 * Design
 * ------
 * The page (server/assets/: index.html, app.js, style.css, favicon.svg) must work on closed
 * support networks and from a single installed binary, so its files are compiled in: at build
 * time server/assets/embed.cmake turns each file into a byte array in a generated C file
 * (build/<dir>/server/srv_assets_data.c) that also defines srv_asset_lookup(). Editing an asset
 * re-runs the generator; nothing is read from disk at run time.
 *
 * The bodies are static, read-only and live as long as the process: callers never free them,
 * and may hand them to evbuffer_add_reference() without copying.
 */
#ifndef SRV_ASSETS_H
#define SRV_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

/* Looks up the asset served at the URL path `path` (without query string): "/" (and
 * "/index.html") is the page, "/assets/app.js", "/assets/style.css", "/assets/favicon.svg" its
 * parts. On success sets *body / *len to the file's bytes (NUL-terminated, the NUL not counted)
 * and *content_type to its media type with charset, and returns true; returns false for any
 * other path (the caller answers 404). */
bool srv_asset_lookup(const char *path, const char **body, size_t *len, const char **content_type);

#endif /* SRV_ASSETS_H */
