/*
 * scan.h - what a checkpoint's pickles would import and call, and a verdict.
 *
 * ptfs never runs pickle code; this says what torch.load (without
 * weights_only) would run. Every global the pickles name (GLOBAL,
 * STACK_GLOBAL, INST, EXT*) is listed with how it is used (called by
 * REDUCE/NEWOBJ/OBJ/INST, built by BUILD, or only named) and a verdict:
 * allowed (torch's weights_only allowlist: what torch.save writes),
 * dangerous (security.md §3, matched on parent packages too, and the
 * always-dangerous shapes: dotted or dunder names, EXT codes), or unknown.
 * The allowlist decides; the blocklist only raises severity.
 */
#ifndef PT_SCAN_H
#define PT_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * The exit statuses of `ptfs --scan`. UNREADABLE is a file's verdict, never a
 * global's: a pickle or container that could not be read to its end and
 * named nothing dangerous before that point (a corrupt file is not "unknown").
 */
enum pt_verdict {
	PT_VERDICT_ALLOWED = 0,
	PT_VERDICT_UNKNOWN = 1,
	PT_VERDICT_DANGEROUS = 2,
	PT_VERDICT_UNREADABLE = 3,
};

/* The verdict for one global, and the blocklist class as the reason (or NULL). */
enum pt_verdict pt_scan_classify(const char *module, const char *name, const char **reason);

struct pt_scan;

/*
 * Scans every pickle of the file at path without executing anything: the
 * main pickle and every zip member that is a pickle (by content, not name;
 * a storage record, ARCHIVE/data/KEY, only when it parses as a whole one),
 * all pickles of a legacy stream, or every pickle of a bare pickle stream.
 * A malformed pickle does not stop the scan: the globals seen before the
 * error are kept and the error is noted. Returns NULL with err only when
 * the file cannot be read or is not a pickle or checkpoint at all
 * (PT_ERR_FORMAT: "not a PyTorch checkpoint (7z archive)").
 */
struct pt_scan *pt_scan_file(const char *path, struct pt_error *err);

/*
 * The verdict over all globals and notes: dangerous when any global is,
 * else unreadable when any pickle or the container is malformed, else the
 * worst of the globals (a TorchScript archive is at least unknown).
 */
enum pt_verdict pt_scan_verdict(const struct pt_scan *s);

/*
 * The report as text into a malloc'd *buf: one line per global
 * "MEMBER: VERDICT MODULE.NAME USE OPCODES[ (reason)]", then "note: ..." lines,
 * then "verdict: allowed|unknown|dangerous". prefix (may be "") starts every
 * line. Returns 0, or -1 on ENOMEM.
 */
int pt_scan_report(const struct pt_scan *s, const char *prefix, char **buf, size_t *len);

/*
 * Makes the report name zip members below the archive's top folder
 * ("data.pkl", not "model/data.pkl") when every member is under one: that
 * folder is torch.save's file name, so reports of equal checkpoints saved
 * under other names then read the same (.ptfs/globals, diff -r).
 */
void pt_scan_relative(struct pt_scan *s);

void pt_scan_free(struct pt_scan *s);

const char *pt_verdict_name(enum pt_verdict v);

#endif
