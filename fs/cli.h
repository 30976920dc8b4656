/*
 * cli.h - the git-style subcommands beside the mount form (docs/cli.md):
 * `ptfs ls|cat|info|scan|convert ...`. They open the checkpoint with the
 * library alone and never mount; cli.c holds the dispatch, the shared
 * option parsing and the progress line, cli_tree.c the commands that read
 * the tree (ls, cat, info).
 */
#ifndef PTFS_CLI_H
#define PTFS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "checkpoint.h"
#include "progress.h"
#include "rules.h"

/* Exit statuses of every subcommand but scan (whose are its verdicts). */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/*
 * The whole command line when argv[1] names a subcommand:
 * runs it and returns its exit status. -1 when argv is the mount form,
 * which main() then parses as before.
 */
int ptfs_cli_main(int argc, char **argv);

/* What the options of one subcommand said. */
struct cli_args {
	const char *cmd;       /* "ls", "cat", ... */
	char **maps;           /* -o map_location=... values, in order (into argv; the array is malloc'd) */
	size_t nmaps;
	struct pt_open_opts oo;
	bool recursive;        /* ls -R */
	const char *shard_size; /* export --shard-size SIZE, or NULL */
	char **ops;            /* the operands, in order (point into argv) */
	size_t nops;
};

/*
 * An opened checkpoint with the map_location rules of args applied; the
 * caller frees both with cli_close. Returns 0, or CLI_FAIL / CLI_USAGE
 * after printing one line on stderr.
 */
int cli_open(const struct cli_args *a, const char *file, struct pt_checkpoint **ck,
	     struct pt_rules **rules);
void cli_close(struct pt_checkpoint *ck, struct pt_rules *rules);

/*
 * The node at path (the mount's names, '/'-separated; "" or "/" is the
 * root), following symbolic links on the way and, when follow_last, at
 * the end too. NULL with a reason in *why ("no such entry", "not a
 * directory", "too many levels of symbolic links").
 */
const struct pt_node *cli_lookup(const struct pt_checkpoint *ck, const char *path,
				 bool follow_last, const char **why);

/* The node's path from the root ("layer1/weight"), into buf; "" for the root. */
void cli_node_path(const struct pt_node *n, char *buf, size_t cap);

/* The tree commands (cli_tree.c); each returns its exit status. */
int cli_ls(const struct cli_args *a);
int cli_cat(const struct cli_args *a);
int cli_info(const struct cli_args *a);

/*
 * The progress line on stderr (only when it is a terminal): redrawn at most
 * ten times a second from its own thread while the work updates p.
 */
struct cli_meter;
struct cli_meter *cli_meter_start(struct pt_progress *p);
/* Writes len bytes to f without tearing the line (erased, then redrawn); m may be NULL. */
void cli_meter_write(struct cli_meter *m, FILE *f, const char *buf, size_t len);
/* Draws the last state and ends the line; m may be NULL. Frees m. */
void cli_meter_stop(struct cli_meter *m);

#endif
