/*
 * rules.h - torch.load's map_location as rules over a checkpoint's storages,
 * and the commands of the control file.
 *
 * Each `map_location` command adds one rule; for every storage the
 * effective location is its per-storage override if set, else the target of
 * the last rule that matches it, else its saved tag (docs/control.md). One
 * rule behaves exactly as torch.load(map_location=...) does with the same
 * value (format.md §5.2): a single tag moves every storage; `A=B` pairs
 * match saved tags exactly and leave unmatched ones alone; `/glob=B` pairs
 * (ptfs's own, in place of a Python callable) match storages with a tensor
 * whose path in the tree matches the glob.
 *
 * Rules are changed by one writer at a time (the caller serializes), while
 * readers load each storage's `location` pointer at any moment: strings are
 * interned and live until pt_rules_free, so a pointer read once stays valid.
 */
#ifndef PT_RULES_H
#define PT_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "checkpoint.h"
#include "error.h"

/* True when torch.load accepts tag as a location: cpu, meta, mps, cuda, cuda:N, xla:N, ... */
bool pt_location_valid(const char *tag);

struct pt_rules;

/* Rules for ck (which must outlive them), with none set. NULL on ENOMEM. */
struct pt_rules *pt_rules_new(struct pt_checkpoint *ck, struct pt_error *err);

/* Frees r; the storages' location pointers go back to NULL. r may be NULL. */
void pt_rules_free(struct pt_rules *r);

enum pt_cmd_kind {
	PT_CMD_MAP,
	PT_CMD_RESET,
	PT_CMD_SAVE,
	PT_CMD_WAIT,
	PT_CMD_RELOAD,
	PT_CMD_EXPORT,
	PT_CMD_MATERIALIZE,
	PT_CMD_RELEASE,
};

struct pt_cmd {
	enum pt_cmd_kind kind;
	char *arg; /* MAP: the pairs or tag as written; SAVE, EXPORT: the path;
		      MATERIALIZE, RELEASE: the /globs, separated by blanks, or "" */
	uint64_t shard_size; /* EXPORT: --shard-size in bytes, or 0 for one file */
};

/*
 * Parses control-file text: one command per line, blank lines and lines
 * starting with '#' ignored. Every line is validated (tags as torch
 * validates them, absolute save paths); on the first bad line returns -1
 * with PT_ERR_INVAL and a message naming the line, and *cmds is NULL. On
 * success *cmds is a malloc'd array of *n commands the caller frees with
 * pt_cmds_free.
 */
int pt_cmds_parse(const char *text, size_t len, struct pt_cmd **cmds, size_t *n,
		  struct pt_error *err);
void pt_cmds_free(struct pt_cmd *cmds, size_t n);

/*
 * Applies a parsed map_location or reset command, recomputing every
 * storage's location. Returns -1 on ENOMEM, or with PT_ERR_BUSY when a
 * pinned storage would move (the message names it); nothing changed then.
 */
int pt_rules_apply(struct pt_rules *r, const struct pt_cmd *cmd, struct pt_error *err);

/*
 * Pins (or unpins) storage s: while pinned, a rule, reset or override that
 * would change its effective location fails with PT_ERR_BUSY. The daemon
 * pins the storages whose bytes it holds on a device.
 */
void pt_rules_pin(struct pt_rules *r, const struct pt_storage *s, bool pinned);

/*
 * Marks in sel (one bool per storage index) the storages of the tensors
 * whose tree path ("/layer1/weight") matches one of the /globs in globs
 * (separated by blanks; fnmatch without FNM_PATHNAME, as map_location's
 * /glob pairs), or every storage when globs is NULL or has none. Returns 1
 * when globs were given, 0 when all were selected. Pure but for sel.
 */
int pt_rules_select(struct pt_rules *r, const char *globs, bool *sel);

/* Adds a rule from a mount option value ("cpu", "cuda:1=cuda:0;cuda:2=cpu"). */
int pt_rules_add_option(struct pt_rules *r, const char *value, struct pt_error *err);

/*
 * Sets (tag non-NULL) or drops (tag NULL) the override of storage s. An
 * invalid tag gives -1 with PT_ERR_INVAL and changes nothing; so does
 * PT_ERR_NOMEM from the first override, which indexes the tree's tensors,
 * and PT_ERR_BUSY when s is pinned and would move.
 */
int pt_rules_override(struct pt_rules *r, struct pt_storage *s, const char *tag,
		      struct pt_error *err);

/*
 * Appends the rules and overrides as text, one per line, in the order they
 * apply ("map_location cpu\n", "override 3 cpu # fc2/bias\n") to a malloc'd
 * *buf of *len bytes (both updated). Returns -1 on ENOMEM.
 */
int pt_rules_describe(const struct pt_rules *r, char **buf, size_t *len);

/* The effective location of s right now (never NULL). */
const char *pt_storage_location(const struct pt_storage *s);

#endif
