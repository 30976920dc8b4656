/*
 * digest.c - file hashes and the SHA256SUMS listing (digest.h).
 *
 * The listing is laid out when made: each regular file's line has a known
 * length (64 + 2 + its path, escaped), so line starts are a prefix sum and
 * a read at any offset finds its first line by binary search. The hashes
 * its lines need are computed outside the lock (two readers may hash the
 * same file once each; the answer is the same) and kept.
 */
#include "digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

#define HASH_CHUNK (1u << 20)

int pt_node_sha256(const struct pt_checkpoint *ck, const struct pt_node *n,
		   unsigned char out[32], struct pt_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = NULL;
	uint64_t off = 0;
	int ret = -1;

	if (!md)
		return pt_error_set(err, PT_ERR_NOMEM, "sha256: out of memory");
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		pt_error_set(err, PT_ERR_NOMEM, "sha256: cannot start a digest");
		goto out;
	}
	if (n->kind == PT_NODE_DATA) {
		if (EVP_DigestUpdate(md, n->u.data.p, n->u.data.len) != 1)
			goto out_digest;
	} else if (n->kind == PT_NODE_TENSOR) {
		buf = malloc(HASH_CHUNK);
		if (!buf) {
			pt_error_set(err, PT_ERR_NOMEM, "sha256: out of memory");
			goto out;
		}
		while (off < n->u.tensor->nbytes) {
			int64_t got = pt_tensor_read(ck, n->u.tensor, buf, HASH_CHUNK, off, err);

			if (got < 0)
				goto out;
			if (got == 0) {
				pt_error_set(err, PT_ERR_IO, "sha256: %s: short read at byte %llu", n->name,
					     (unsigned long long)off);
				goto out;
			}
			if (EVP_DigestUpdate(md, buf, (size_t)got) != 1)
				goto out_digest;
			off += (uint64_t)got;
		}
	} else {
		pt_error_set(err, PT_ERR_INVAL, "sha256: %s is not a regular file", n->name);
		goto out;
	}
	if (EVP_DigestFinal_ex(md, out, NULL) != 1)
		goto out_digest;
	ret = 0;
	goto out;
out_digest:
	pt_error_set(err, PT_ERR_NOMEM, "sha256: the digest failed");
out:
	free(buf);
	EVP_MD_CTX_free(md);
	return ret;
}

/* The index of n among its tree's nodes (the root is 0). */
static size_t node_index(const struct pt_tree *t, const struct pt_node *n)
{
	return n->ino == 1 ? 0 : (size_t)(n->ino - t->ino_base - 1);
}

/* Bytes of n's path as sha256sum writes it (backslash and newline escaped); *esc when any is. */
static size_t line_path(const struct pt_node *n, char *buf, size_t cap, bool *esc)
{
	size_t len = pt_node_path(n, buf, cap), extra = 0;

	*esc = false;
	for (size_t i = 0; i < len && i < cap; i++)
		if (buf[i] == '\\' || buf[i] == '\n')
			extra++;
	*esc = extra > 0;
	return len + extra;
}

struct pt_sums *pt_sums_new(const struct pt_checkpoint *ck, struct pt_error *err)
{
	const struct pt_tree *t = ck->tree;
	struct pt_sums *s = calloc(1, sizeof(*s));
	const struct pt_node *n;
	size_t cap = 0, i;
	char *path = NULL;

	if (!s)
		goto out_nomem;
	s->ck = ck;
	pthread_mutex_init(&s->lock, NULL);
	for (n = pt_tree_next(t, NULL); n; n = pt_tree_next(t, n))
		if (n->kind == PT_NODE_TENSOR || n->kind == PT_NODE_DATA)
			s->n++;
	s->nindex = t->nnodes;
	s->nodes = malloc((s->n ? s->n : 1) * sizeof(*s->nodes));
	s->off = malloc((s->n + 1) * sizeof(*s->off));
	s->pos = malloc((s->nindex ? s->nindex : 1) * sizeof(*s->pos));
	s->sum = malloc((s->n ? s->n : 1) * sizeof(*s->sum));
	s->have = calloc(s->n ? s->n : 1, 1);
	if (!s->nodes || !s->off || !s->pos || !s->sum || !s->have)
		goto out_nomem;
	for (i = 0; i < s->nindex; i++)
		s->pos[i] = -1;
	s->off[0] = 0;
	i = 0;
	for (n = pt_tree_next(t, NULL); n; n = pt_tree_next(t, n)) {
		size_t need = pt_node_path(n, NULL, 0) + 1;
		bool esc;

		if (n->kind != PT_NODE_TENSOR && n->kind != PT_NODE_DATA)
			continue;
		if (need > cap) {
			char *p = realloc(path, need);

			if (!p)
				goto out_nomem;
			path = p;
			cap = need;
		}
		s->nodes[i] = n;
		s->pos[node_index(t, n)] = (int64_t)i;
		need = line_path(n, path, cap, &esc);
		s->off[i + 1] = s->off[i] + esc + 64 + 2 + need + 1;
		i++;
	}
	free(path);
	return s;

out_nomem:
	free(path);
	pt_sums_free(s);
	return pt_error_set(err, PT_ERR_NOMEM, "SHA256SUMS: out of memory"), NULL;
}

uint64_t pt_sums_size(const struct pt_sums *s)
{
	return s->off[s->n];
}

/* Hash i, from the cache or computed now and kept. */
static int sum_of(struct pt_sums *s, size_t i, unsigned char out[32], struct pt_error *err)
{
	bool have;

	pthread_mutex_lock(&s->lock);
	have = s->have[i];
	if (have)
		memcpy(out, s->sum[i], 32);
	pthread_mutex_unlock(&s->lock);
	if (have)
		return 0;
	if (pt_node_sha256(s->ck, s->nodes[i], out, err) < 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	memcpy(s->sum[i], out, 32);
	s->have[i] = 1;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int pt_sums_get(struct pt_sums *s, const struct pt_node *n, unsigned char out[32],
		struct pt_error *err)
{
	size_t k = node_index(s->ck->tree, n);

	if (k >= s->nindex || s->pos[k] < 0 || s->nodes[s->pos[k]] != n)
		return pt_error_set(err, PT_ERR_INVAL, "sha256: %s is not a regular file", n->name);
	return sum_of(s, (size_t)s->pos[k], out, err);
}

/* Writes line i (its hash known) into line, which has room for it; returns its length. */
static size_t format_line(const struct pt_sums *s, size_t i, const unsigned char sum[32], char *line)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = (size_t)(s->off[i + 1] - s->off[i]), at = 0, plen, k;
	bool esc = s->off[i + 1] - s->off[i] != 64 + 2 + 1 + pt_node_path(s->nodes[i], NULL, 0);
	char *p;

	if (esc)
		line[at++] = '\\';
	for (k = 0; k < 32; k++) {
		line[at++] = hex[sum[k] >> 4];
		line[at++] = hex[sum[k] & 15];
	}
	line[at++] = ' ';
	line[at++] = ' ';
	plen = pt_node_path(s->nodes[i], line + at, len - at);
	if (esc) { /* escape in place, from the end */
		p = line + at;
		size_t extra = len - 1 - at - plen, w = at + plen + extra;

		for (k = plen; k-- > 0;) {
			char c = p[k];

			if (c == '\\' || c == '\n') {
				line[--w] = c == '\n' ? 'n' : '\\';
				line[--w] = '\\';
			} else {
				line[--w] = c;
			}
		}
	}
	line[len - 1] = '\n';
	return len;
}

int64_t pt_sums_read(struct pt_sums *s, void *buf, size_t size, uint64_t off,
		     struct pt_error *err)
{
	uint64_t total = pt_sums_size(s), end;
	size_t lo = 0, hi = s->n, i, done = 0, lcap = 0;
	char *line = NULL;

	if (off >= total)
		return 0;
	end = off + size < total ? off + size : total;
	while (lo + 1 < hi) { /* the last line starting at or before off */
		size_t mid = (lo + hi) / 2;

		if (s->off[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (i = lo; i < s->n && s->off[i] < end; i++) {
		size_t len = (size_t)(s->off[i + 1] - s->off[i]), from, to;
		unsigned char sum[32];

		if (len + 1 > lcap) {
			char *l = realloc(line, len + 1);

			if (!l) {
				free(line);
				return pt_error_set(err, PT_ERR_NOMEM, "SHA256SUMS: out of memory");
			}
			line = l;
			lcap = len + 1;
		}
		if (sum_of(s, i, sum, err) < 0) {
			free(line);
			return -1;
		}
		format_line(s, i, sum, line);
		from = off > s->off[i] ? (size_t)(off - s->off[i]) : 0;
		to = end < s->off[i + 1] ? (size_t)(end - s->off[i]) : len;
		memcpy((char *)buf + done, line + from, to - from);
		done += to - from;
	}
	free(line);
	return (int64_t)done;
}

void pt_sums_free(struct pt_sums *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->nodes);
	free(s->off);
	free(s->pos);
	free(s->sum);
	free(s->have);
	free(s);
}
