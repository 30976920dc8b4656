/*
 * cli.c - `ptfs SUBCOMMAND ...`: the dispatch, the options every
 * subcommand shares, the progress line, and the two long commands (convert
 * and scan). docs/cli.md is the user's side of this file.
 *
 * A subcommand is recognised only by argv[1] being exactly its name, so
 * `ptfs FILE DIR` keeps meaning a mount for every other FILE; a checkpoint
 * that is literally called `ls` mounts as `ptfs ./ls DIR`. Options are
 * parsed by hand rather than by getopt: they may come anywhere until `--`,
 * and a usage error must speak the subcommand's name and exit 2, which
 * getopt's own messages would not.
 *
 * The progress line is drawn by a thread of its own rather than from the
 * copy's callback: the copy runs in copy_file_range chunks that can take
 * long on a slow disk, and the line should still move (its rate falls)
 * while one chunk is in flight.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "ptfs.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct subcommand {
	const char *name;
	const char *usage; /* after "usage: ptfs " */
	const char *help;  /* the rest of --help */
	size_t min_ops, max_ops;
	bool recursive_flag; /* takes -R */
	bool takes_o;        /* takes -o */
	int (*run)(const struct cli_args *a);
};

static int cmd_convert(const struct cli_args *a);
static int cmd_scan(const struct cli_args *a);
static int cmd_export(const struct cli_args *a);

#define OPT_HELP                                                                              \
	"    -o map_location=RULE   locations as after this map_location rule, as written\n" \
	"                           to .ptfs/control: cpu, cuda:1=cuda:0;cuda:2=cpu,\n"       \
	"                           /glob=cpu (may be repeated; applied in order)\n"          \
	"    -o encoding=NAME       decode Python 2 str as NAME: utf-8 (default), ascii,\n"   \
	"                           latin1 or bytes\n"                                        \
	"    -h, --help             print this help\n"                                        \
	"\n"                                                                                  \
	"Exit status: 0 success; 1 failure, with one line on stderr naming the file\n"       \
	"(and the key): `ptfs: FILE: [PATH: ]reason`; 2 usage error.\n"

static const struct subcommand commands[] = {
	{ "ls", "ls [-R] [-o OPT[,OPT]...] CHECKPOINT [PATH]",
	  "Lists the entry at PATH of the checkpoint's tree (the root by default) as\n"
	  "the mount would show it, one line per entry, like ls -l:\n"
	  "    KIND TYPE SHAPE LOCATION SIZE NAME\n"
	  "KIND is d (directory), t (tensor), - (other file) or l (symbolic link);\n"
	  "TYPE the dtype of a tensor or numpy array, else the Python type; SHAPE\n"
	  "and LOCATION (effective, after -o map_location) are - where they do not\n"
	  "apply; SIZE the file's size in bytes. A directory lists its entries.\n"
	  "\n"
	  "    -R                     list everything below PATH, NAME as a path\n" OPT_HELP,
	  1, 2, true, true, cli_ls },
	{ "cat", "cat [-o OPT[,OPT]...] CHECKPOINT PATH",
	  "Writes the content of the file at PATH to stdout: exactly the bytes the\n"
	  "mounted file holds (a tensor's elements in row-major order, a value's\n"
	  "text and newline, raw bytes).\n"
	  "\n" OPT_HELP,
	  2, 2, false, true, cli_cat },
	{ "info", "info [-o OPT[,OPT]...] CHECKPOINT",
	  "Summarises the checkpoint: its format and the torch that wrote it, its\n"
	  "tensors and storages with their bytes by dtype and by location, and the\n"
	  "verdict of `ptfs scan` on its globals.\n"
	  "\n" OPT_HELP,
	  1, 1, false, true, cli_info },
	{ "scan", "scan FILE...",
	  "Prints what each file's pickles would import and call, without running\n"
	  "any of it (the same as `ptfs --scan FILE...`). Exit status: 0 clean,\n"
	  "1 unknown globals, 2 dangerous ones, 3 unreadable (damaged, or not a\n"
	  "pickle or checkpoint); the worst over all files.\n"
	  "\n"
	  "    -h, --help             print this help\n",
	  1, SIZE_MAX, false, false, cmd_scan },
	{ "convert", "convert [-o OPT[,OPT]...] SRC DST",
	  "Writes a copy of checkpoint SRC to DST with every storage tagged with its\n"
	  "location after the -o map_location rules, as `save` of .ptfs/control\n"
	  "does: torch.load(DST) then needs no map_location. The write is atomic\n"
	  "(a temporary file beside DST, fsync, rename): on failure DST is as it\n"
	  "was. DST may not be SRC.\n"
	  "\n" OPT_HELP,
	  2, 2, false, true, cmd_convert },
	{ "export", "export [-o OPT[,OPT]...] [--shard-size SIZE] SRC DST",
	  "Writes the tensors of checkpoint SRC as the safetensors file DST, as\n"
	  "`export safetensors` of .ptfs/control does (docs/export.md): names from\n"
	  "the tree, str values as metadata, tied tensors kept once. With\n"
	  "--shard-size SIZE (5GB, 500MB, 2GiB) DST is a folder of Hugging Face\n"
	  "shards and their model.safetensors.index.json. Atomic; what was left\n"
	  "out is printed on stderr.\n"
	  "\n"
	  "    --shard-size SIZE      write shards of at most SIZE bytes into DST\n" OPT_HELP,
	  2, 2, false, true, cmd_export },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int usage_error(const struct subcommand *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "ptfs %s: ", c->name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: ptfs %s\n", c->usage);
	return CLI_USAGE;
}

/* One -o value, possibly several options separated by commas (as the mount's -o). */
static int parse_o(const struct subcommand *c, char *value, struct cli_args *a)
{
	char *save = NULL, *opt;
	struct pt_error err;

	for (opt = strtok_r(value, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strncmp(opt, "map_location=", 13) == 0) {
			char **n = realloc(a->maps, (a->nmaps + 1) * sizeof(*n));

			if (!n) {
				fprintf(stderr, "ptfs: out of memory\n");
				return CLI_FAIL;
			}
			a->maps = n;
			a->maps[a->nmaps++] = opt + 13;
		} else if (strncmp(opt, "encoding=", 9) == 0) {
			pt_error_clear(&err);
			if (pt_str_encoding_parse(opt + 9, &a->oo.encoding, &err) < 0) {
				fprintf(stderr, "ptfs: -o %s: %s\n", opt, err.msg);
				return CLI_USAGE;
			}
		} else {
			return usage_error(c, "-o %s: unknown option (map_location=RULE, encoding=NAME)",
					   opt);
		}
	}
	return 0;
}

/* Parses argv[2...] for c into a; -1 when --help was printed, else 0 or an exit status. */
static int parse_args(const struct subcommand *c, int argc, char **argv, struct cli_args *a)
{
	bool options = true;
	int i, rc;

	a->cmd = c->name;
	pt_open_opts_default(&a->oo);
	a->ops = calloc((size_t)argc, sizeof(*a->ops));
	if (!a->ops) {
		fprintf(stderr, "ptfs: out of memory\n");
		return CLI_FAIL;
	}
	for (i = 2; i < argc; i++) {
		char *arg = argv[i];

		if (!options || arg[0] != '-' || arg[1] == '\0') {
			a->ops[a->nops++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options = false;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			printf("usage: ptfs %s\n\n%s", c->usage, c->help);
			return -1;
		} else if (c->run == cmd_export && strcmp(arg, "--shard-size") == 0) {
			if (i + 1 >= argc)
				return usage_error(c, "%s needs a value", arg);
			a->shard_size = argv[++i];
		} else if (c->recursive_flag && strcmp(arg, "-R") == 0) {
			a->recursive = true;
		} else if (c->takes_o && strncmp(arg, "-o", 2) == 0) {
			char *v = arg[2] ? arg + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v)
				return usage_error(c, "%s needs a value", "-o");
			if ((rc = parse_o(c, v, a)) != 0)
				return rc;
		} else {
			return usage_error(c, "unknown option %s", arg);
		}
	}
	if (a->nops < c->min_ops)
		return usage_error(c, "%s", a->nops ? "too few operands" : "missing operands");
	if (a->nops > c->max_ops)
		return usage_error(c, "%s", "too many operands");
	return 0;
}

int ptfs_cli_main(int argc, char **argv)
{
	const struct subcommand *c = NULL;
	struct cli_args a = { 0 };
	size_t i;
	int rc;

	for (i = 0; argc >= 2 && i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			c = &commands[i];
	if (!c)
		return -1;
	rc = parse_args(c, argc, argv, &a);
	if (rc == -1)
		rc = CLI_OK;
	else if (rc == 0)
		rc = c->run(&a);
	free(a.maps);
	free(a.ops);
	return rc;
}

int cli_open(const struct cli_args *a, const char *file, struct pt_checkpoint **ck,
	     struct pt_rules **rules)
{
	struct pt_error err;
	int rc = CLI_FAIL;
	size_t i;

	pt_error_clear(&err);
	*rules = NULL;
	*ck = pt_checkpoint_open(file, &a->oo, &err);
	if (!*ck) {
		fprintf(stderr, "ptfs: %s\n", err.msg); /* the message starts with the file */
		return CLI_FAIL;
	}
	*rules = pt_rules_new(*ck, &err);
	if (!*rules) {
		fprintf(stderr, "ptfs: %s: %s\n", file, err.msg);
		goto fail;
	}
	for (i = 0; i < a->nmaps; i++) {
		if (pt_rules_add_option(*rules, a->maps[i], &err) < 0) {
			const char *m = strncmp(err.msg, "line 1: ", 8) == 0 ? err.msg + 8 : err.msg;

			fprintf(stderr, "ptfs: -o map_location=%s: %s\n", a->maps[i], m);
			rc = CLI_USAGE; /* as the mount's -o: a bad rule is a usage error */
			goto fail;
		}
	}
	return 0;

fail:
	cli_close(*ck, *rules);
	*ck = NULL;
	*rules = NULL;
	return rc;
}

void cli_close(struct pt_checkpoint *ck, struct pt_rules *rules)
{
	pt_rules_free(rules); /* before ck: it points into ck's storages */
	pt_checkpoint_close(ck);
}

/* ---- the progress line ---- */

struct cli_meter {
	struct pt_progress *p;
	pthread_t thread;
	pthread_mutex_t lock; /* stop, drawn, and the terminal's line */
	pthread_cond_t wake;
	bool stop;
};

/* Called with m->lock held. */
static void meter_draw(struct cli_meter *m)
{
	char line[200];

	pt_progress_format(m->p, pt_progress_now_ns(), line, sizeof(line));
	/* \033[K: a shorter line must not leave the tail of a longer one */
	fprintf(stderr, "\r%s\033[K", line);
}

static void *meter_main(void *arg)
{
	struct cli_meter *m = arg;
	struct timespec until;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		meter_draw(m);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

struct cli_meter *cli_meter_start(struct pt_progress *p)
{
	struct cli_meter *m;

	if (!isatty(STDERR_FILENO))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL; /* the work goes on without its line */
	m->p = p;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if (pthread_create(&m->thread, NULL, meter_main, m) != 0) {
		pthread_cond_destroy(&m->wake);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return NULL;
	}
	return m;
}

void cli_meter_write(struct cli_meter *m, FILE *f, const char *buf, size_t len)
{
	if (!m) {
		fwrite(buf, 1, len, f);
		return;
	}
	pthread_mutex_lock(&m->lock);
	fputs("\r\033[K", stderr);
	fwrite(buf, 1, len, f);
	fflush(f);
	meter_draw(m);
	pthread_mutex_unlock(&m->lock);
}

void cli_meter_stop(struct cli_meter *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	meter_draw(m);
	fputc('\n', stderr);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- convert and scan ---- */

/* The save's message without its "save: " (the command line already says what runs). */
static const char *save_msg(const struct pt_error *err)
{
	return strncmp(err->msg, "save: ", 6) == 0 ? err->msg + 6 : err->msg;
}

/* path made absolute against the working folder (the writer wants one); malloc'd, NULL on ENOMEM. */
static char *absolute(const char *path)
{
	char *cwd, *abs = NULL;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd || asprintf(&abs, "%s/%s", cwd, path) < 0)
		abs = NULL;
	free(cwd);
	return abs;
}

static int cmd_convert(const struct cli_args *a)
{
	const char *src = a->ops[0], *dst = a->ops[1];
	struct pt_checkpoint *ck = NULL;
	struct pt_rules *rules = NULL;
	struct pt_save_job *job = NULL;
	struct pt_progress prog = { 0 };
	struct cli_meter *meter;
	const char **locs = NULL;
	char *abs = NULL;
	struct pt_error err;
	struct stat st;
	size_t i, n;
	int rc;

	rc = cli_open(a, src, &ck, &rules);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	pt_error_clear(&err);
	if (stat(dst, &st) == 0 && st.st_dev == ck->src->dev && st.st_ino == ck->src->ino) {
		fprintf(stderr, "ptfs: %s: is the checkpoint being converted; choose another DST\n",
			dst);
		goto out;
	}
	abs = absolute(dst);
	n = ck->torch.nstorages;
	locs = malloc((n ? n : 1) * sizeof(*locs));
	if (!abs || !locs) {
		fprintf(stderr, "ptfs: %s: out of memory\n", dst);
		goto out;
	}
	for (i = 0; i < n; i++)
		locs[i] = pt_storage_location(ck->torch.storages[i]);
	job = pt_save_begin(ck, abs, locs, NULL, &prog, &err);
	if (!job) {
		/* unsupported is the source's kind (TorchScript), not the destination's fault */
		fprintf(stderr, "ptfs: %s: %s\n", err.code == PT_ERR_UNSUPPORTED ? src : dst,
			save_msg(&err));
		goto out;
	}
	meter = cli_meter_start(&prog);
	if (pt_save_run(job, &prog, &err) == 0)
		rc = CLI_OK;
	cli_meter_stop(meter);
	if (rc != CLI_OK)
		fprintf(stderr, "ptfs: %s: %s\n", dst, save_msg(&err));
out:
	pt_save_free(job);
	free(locs);
	free(abs);
	cli_close(ck, rules);
	return rc;
}

static int cmd_export(const struct cli_args *a)
{
	const char *src = a->ops[0], *dst = a->ops[1];
	struct pt_export_opts eo = { 0 };
	struct pt_checkpoint *ck = NULL;
	struct pt_rules *rules = NULL;
	struct pt_export_job *job = NULL;
	struct pt_progress prog = { 0 };
	struct cli_meter *meter;
	char *abs = NULL;
	struct pt_error err;
	int rc;

	pt_error_clear(&err);
	if (a->shard_size && pt_size_parse(a->shard_size, &eo.shard_size, &err) < 0) {
		fprintf(stderr, "ptfs export: --shard-size %s\n", err.msg);
		return CLI_USAGE;
	}
	rc = cli_open(a, src, &ck, &rules);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	abs = absolute(dst);
	if (!abs) {
		fprintf(stderr, "ptfs: %s: out of memory\n", dst);
		goto out;
	}
	job = pt_export_begin(ck, abs, &eo, &prog, &err);
	if (!job) {
		fprintf(stderr, "ptfs: %s: %s\n", dst, err.msg);
		goto out;
	}
	meter = cli_meter_start(&prog);
	if (pt_export_run(job, &prog, &err) == 0)
		rc = CLI_OK;
	cli_meter_stop(meter);
	if (rc != CLI_OK)
		fprintf(stderr, "ptfs: %s: %s\n", dst, err.msg);
	else
		fprintf(stderr, "ptfs: %s: %s\n", dst, pt_export_summary(job));
out:
	pt_export_free(job);
	free(abs);
	cli_close(ck, rules);
	return rc;
}

static int cmd_scan(const struct cli_args *a)
{
	return ptfs_scan_main((int)a->nops, a->ops);
}

/*
 * Progress counts the files' sizes, each when its scan ends: a scan reads
 * the pickles, whose share of a file is unknown until it is read.
 */
int ptfs_scan_main(int argc, char **argv)
{
	struct pt_progress prog = { 0 };
	struct cli_meter *meter;
	uint64_t total = 0;
	int worst = 0, i;
	struct stat st;

	if (argc < 1) {
		fprintf(stderr, "ptfs: --scan needs at least one FILE\n");
		return 2;
	}
	for (i = 0; i < argc; i++)
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	pt_progress_start(&prog, total);
	meter = cli_meter_start(&prog);
	for (i = 0; i < argc; i++) {
		struct pt_error err;
		struct pt_scan *s;
		char *buf = NULL, prefix[4200];
		size_t len = 0;
		int v;

		pt_error_clear(&err);
		s = pt_scan_file(argv[i], &err);
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
			pt_progress_add(&prog, (uint64_t)st.st_size);
		if (!s) {
			char line[PT_ERROR_MSG_MAX + 8];
			int k = snprintf(line, sizeof(line), "ptfs: %s\n", err.msg);

			fflush(stdout); /* the reports so far come before this line */
			cli_meter_write(meter, stderr, line, (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1);
			worst = 3;
			continue;
		}
		snprintf(prefix, sizeof(prefix), "%s: ", argv[i]);
		if (pt_scan_report(s, argc > 1 ? prefix : "", &buf, &len) == 0)
			cli_meter_write(meter, stdout, buf, len);
		free(buf);
		v = (int)pt_scan_verdict(s);
		if (v > worst)
			worst = v;
		pt_scan_free(s);
	}
	cli_meter_stop(meter);
	return worst;
}
