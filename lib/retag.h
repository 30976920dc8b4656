/*
 * retag.h - the main pickle with new location tags, byte for byte otherwise.
 */
#ifndef PT_RETAG_H
#define PT_RETAG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "torch.h"

/*
 * Rewrites pk[0..len) (a pickle the torch layer ran, so every storage has
 * its location sites) so that storage i's persistent ids carry locs[i], and,
 * with drop_views, without the legacy 6th item (a legacy pickle saved in the
 * zip layout needs 5-item ids). Bytes outside the rewritten opcodes are
 * kept; FRAME lengths are adjusted. Returns 0 with a malloc'd *out of *outlen
 * bytes, or -1 with err (PT_ERR_UNSUPPORTED when a tag cannot be located in
 * the bytes, PT_ERR_NOMEM).
 */
int pt_retag(const unsigned char *pk, size_t len, const struct pt_torch *t, const char *const *locs,
	     bool drop_views, unsigned char **out, size_t *outlen, struct pt_error *err);

#endif
