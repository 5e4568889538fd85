/* SPDX-License-Identifier: MIT */
/*
 * vhdx_chain.c - the parent chain of a differencing disk [2.6.2.6], one
 * policy for every frontend: which locator paths are tried and in what
 * order, what makes a candidate the parent (DataWriteGuid = parent_linkage,
 * the child's virtual size and logical sector size), how deep a chain may
 * go and what a cycle is.  The frontend only opens files by path text.
 *
 * Built on the decoder (vhdx_disk_open, vhdx_disk_locator_get); the
 * checker's findings about a chain are here too (its lines for `info`:
 * app/vhdx_chain_print.c).
 */
#include "vhdx_internal.h"

/* Locator keys holding a path, in the order they are tried (DESIGN.md). */
#define KEY_COUNT 3u
static const char path_keys[KEY_COUNT][20] = { "relative_path", "volume_path", "absolute_win32_path" };

/*
 * Scratch while a parent is looked for: the path text at +0, the locator
 * look-up's window after it; then vhdx_disk_open takes all of it (the path
 * is no longer needed once the frontend has opened the file).
 */
#define PATH_TEXT_SIZE (8u * 1024u)   /* [byte] UTF-8 path, NUL included */
#define LOOKUP_SIZE    (4u * 1024u)   /* [byte] vhdx_disk_locator_get's window */
#define LINKAGE_SIZE   80u            /* [byte] "{guid}" and then some */

enum vhdx_path_kind vhdx_path_kind(const char *path)
{
	if ((path[0] == '\\' || path[0] == '/') && (path[1] == '\\' || path[1] == '/'))
		return VHDX_PATH_VOLUME; /* \\?\Volume{...}\, \\server\share\ */
	if (path[0] == '\\' || path[0] == '/')
		return VHDX_PATH_ROOTED;
	if (((path[0] | 0x20) >= 'a' && (path[0] | 0x20) <= 'z') && path[1] == ':')
		return VHDX_PATH_DRIVE;
	return VHDX_PATH_RELATIVE;
}

static void copy_text(char *dst, size_t len, const char *src)
{
	struct vhdx_text t;

	vhdx_text_init(&t, dst, len);
	vhdx_text_str(&t, src);
}

/*
 * Appends path @s leaving @room bytes for what follows it: a path too
 * long for the rest keeps its start and its end (the file's name) around
 * "...", so that the reason after it is never the part cut off.
 */
static void put_path(struct vhdx_text *t, const char *s, size_t room)
{
	size_t n = vhdx_str_len_(s), avail, head, tail, i;

	if (!t->buf || !t->len)
		return;
	avail = t->len > t->pos + 1 + room ? t->len - t->pos - 1 - room : 0;
	if (n <= avail) {
		vhdx_text_str(t, s);
		return;
	}
	if (avail < 16)
		avail = 16 < t->len - t->pos - 1 ? 16 : t->len - t->pos - 1;
	if (avail < 4)
		return;
	head = (avail - 3) / 3;
	tail = avail - 3 - head;
	/* never inside a UTF-8 sequence: continuation bytes are 10xxxxxx */
	while (head && ((unsigned char)s[head] & 0xC0) == 0x80)
		head--;
	for (i = 0; i < head; i++)
		t->buf[t->pos++] = s[i];
	for (i = 0; i < 3; i++)
		t->buf[t->pos++] = '.';
	for (i = n - tail; i < n && ((unsigned char)s[i] & 0xC0) == 0x80; i++)
		;
	for (; i < n; i++)
		t->buf[t->pos++] = s[i];
	t->buf[t->pos] = '\0';
}

/* "key path what: why" appended to one of the chain's notes (@key,
 * @path, @what may be NULL); a long @path shortened in the middle
 * (put_path) so that the rest fits. */
static void note(struct vhdx_text *t, const char *key, const char *path, const char *what,
		 const char *why)
{
	if (t->pos)
		vhdx_text_str(t, "; ");
	if (key) {
		vhdx_text_str(t, key);
		if (path)
			vhdx_text_str(t, " ");
	}
	if (path)
		put_path(t, path, (what ? vhdx_str_len_(what) + 1 : 0) + vhdx_str_len_(why) + 2);
	if (what) {
		vhdx_text_str(t, " ");
		vhdx_text_str(t, what);
	}
	vhdx_text_str(t, ": ");
	vhdx_text_str(t, why);
}

/*
 * Opens level @lv from lv->src: the decoder, and when the log is active a
 * view through which the disk is decoded again as it is after replay
 * [2.3.3].  The errors of vhdx_disk_open / vhdx_log_find, @why filled.
 */
static int open_level(struct vhdx_chain_level *lv, const struct vhdx_parent_ops *ops, void *scratch,
		      size_t scratch_len, char *why, size_t why_len)
{
	struct vhdx_log log;
	int err;

	lv->through_log = false;
	lv->log_index = NULL;
	lv->log_index_len = 0;
	err = vhdx_disk_open(&lv->disk, &lv->src, scratch, scratch_len, why, why_len);
	if (err || !lv->disk.log_replay_needed)
		return err;
	err = vhdx_log_find(&log, &lv->disk, &lv->src, scratch, scratch_len, why, why_len);
	if (!err && log.guid_unused)
		lv->disk.log_replay_needed = false; /* no entry carries LogGuid: the file is the disk */
	if (err || !log.active)
		return err;
	vhdx_log_view_init(&lv->view, &log, &lv->src);
	lv->through_log = true;
	/* before the disk is decoded through the view: every read then uses it */
	if (ops->index_alloc && ops->index_free) {
		size_t len = vhdx_log_view_index_size(&lv->view);
		void *mem = ops->index_alloc(ops->ctx, len);

		if (mem && vhdx_log_view_index(&lv->view, mem, len))
			ops->index_free(ops->ctx, mem, len);
		else if (mem) {
			lv->log_index = mem;
			lv->log_index_len = len;
		}
	}
	return vhdx_disk_open(&lv->disk, &lv->view.source, scratch, scratch_len, why, why_len);
}

/* Gives back level @lv's log index, then (parents) its source. */
static void release_level(const struct vhdx_parent_ops *ops, struct vhdx_chain_level *lv, bool close_src)
{
	if (lv->log_index && ops->index_free)
		ops->index_free(ops->ctx, lv->log_index, lv->log_index_len);
	lv->log_index = NULL;
	lv->log_index_len = 0;
	lv->view.data = NULL; /* reads after this walk the log again */
	if (close_src && ops->close)
		ops->close(ops->ctx, &lv->src);
}

/* The source a level's data and structures are read through. */
static const struct vhdx_source *level_source(const struct vhdx_chain_level *lv)
{
	return lv->through_log ? &lv->view.source : &lv->src;
}

struct search {
	struct vhdx_chain *chain;
	const struct vhdx_parent_ops *ops;
	uint8_t *scratch;
	size_t scratch_len;
	struct vhdx_guid linkage;
	struct vhdx_text tried;     /* paths with nothing there */
	struct vhdx_text rejected;  /* candidates that were there and refused */
	char tried_buf[(VHDX_CHAIN_WHY_SIZE - 16) / 2];
	char rejected_buf[(VHDX_CHAIN_WHY_SIZE - 16) / 2];
	char why[VHDX_WHY_SIZE];
};

/* Why candidate @d is not the parent of @child, or NULL when it is. */
static const char *refusal(const struct search *s, const struct vhdx_disk *child,
			   const struct vhdx_disk *d)
{
	if (!vhdx_guid_equal(&d->data_write_guid, &s->linkage))
		return "its DataWriteGuid is not the child's parent_linkage [2.6.2.6.3]";
	if (d->geom.virtual_size != child->geom.virtual_size)
		return "its virtual size differs from the child's";
	if (d->geom.logical_sector_size != child->geom.logical_sector_size)
		return "its logical sector size differs from the child's";
	return NULL;
}

/* Level @k already holds the disk @d (same DataWriteGuid): a cycle. */
static int in_chain(const struct vhdx_chain *chain, const struct vhdx_disk *d)
{
	unsigned k;

	for (k = 0; k < chain->depth; k++)
		if (vhdx_guid_equal(&chain->levels[k].disk.data_write_guid, &d->data_write_guid))
			return (int)k;
	return -1;
}

/*
 * Tries one locator path of level @cur.  1: the parent was accepted into
 * level cur + 1; 0: not this one (noted); < 0: an I/O error of the child,
 * or the chain ended (verdict set).
 */
static int try_path(struct search *s, unsigned cur, const char *key)
{
	struct vhdx_chain *chain = s->chain;
	struct vhdx_chain_level *child = &chain->levels[cur];
	struct vhdx_chain_level *cand = &chain->levels[cur + 1];
	char *path = (char *)s->scratch;
	enum vhdx_parent_open res;
	const char *no;
	int err, k;

	err = vhdx_disk_locator_get(&child->disk, level_source(child), key, path, PATH_TEXT_SIZE,
				    s->scratch + PATH_TEXT_SIZE, LOOKUP_SIZE);
	if (err == VHDX_ERR_RANGE)
		return 0; /* no such key */
	if (err == VHDX_ERR_NOSPACE) {
		note(&s->tried, key, NULL, NULL, "longer than this reader follows");
		return 0;
	}
	if (err)
		return err;
	if (!path[0])
		return 0;
	vhdx_mem_zero_(cand, sizeof(*cand));
	s->why[0] = '\0';
	res = s->ops->open(s->ops->ctx, child->name, key, path, vhdx_path_kind(path), &cand->src,
			   cand->name, sizeof(cand->name), s->why, sizeof(s->why));
	if (!cand->name[0])
		copy_text(cand->name, sizeof(cand->name), path);
	switch (res) {
	case VHDX_PARENT_OPENED:
		break;
	case VHDX_PARENT_FAILED:
		note(&s->rejected, NULL, cand->name, NULL, s->why[0] ? s->why : "cannot be read");
		return 0;
	default: /* ABSENT, CANNOT */
		note(&s->tried, key, cand->name, NULL, s->why[0] ? s->why : "not found");
		return 0;
	}
	err = open_level(cand, s->ops, s->scratch, s->scratch_len, s->why, sizeof(s->why));
	if (err == VHDX_ERR_IO) {
		/* a parent that cannot be read is a failed read, not a mismatch:
		 * the chain cannot be opened at all */
		struct vhdx_text t;

		vhdx_text_init(&t, chain->why, sizeof(chain->why));
		put_path(&t, cand->name, 16);
		vhdx_text_str(&t, ": a read failed");
		release_level(s->ops, cand, true);
		return VHDX_ERR_IO;
	} else if (err) {
		note(&s->rejected, NULL, cand->name, "is not a VHDX that opens", s->why);
	} else if ((no = refusal(s, &child->disk, &cand->disk)) != NULL) {
		note(&s->rejected, NULL, cand->name, NULL, no);
	} else if ((k = in_chain(chain, &cand->disk)) >= 0) {
		struct vhdx_text t;

		vhdx_text_init(&t, chain->why, sizeof(chain->why));
		put_path(&t, cand->name, 48);
		vhdx_text_str(&t, ": already in the chain as level ");
		vhdx_text_u64(&t, (uint64_t)k);
		vhdx_text_str(&t, " (a cycle)");
		chain->verdict = VHDX_CHAIN_CYCLE;
		release_level(s->ops, cand, true);
		return -1;
	} else {
		cand->key = key;
		return 1;
	}
	release_level(s->ops, cand, true);
	return 0;
}

void vhdx_chain_too_deep_text_(struct vhdx_text *t, unsigned max_levels)
{
	vhdx_text_str(t, "more than ");
	vhdx_text_u64(t, max_levels - 1);
	vhdx_text_str(t, " parents: a chain this deep is refused");
}

/* Finds the parent of level @cur.  0: found; < 0: the walk ends. */
static int find_parent(struct search *s, unsigned cur)
{
	struct vhdx_chain *chain = s->chain;
	struct vhdx_chain_level *child = &chain->levels[cur];
	char *linkage = (char *)s->scratch;
	unsigned k;
	int err;

	chain->failed_level = cur;
	if (cur + 1 >= chain->max_levels) {
		struct vhdx_text t;

		vhdx_text_init(&t, chain->why, sizeof(chain->why));
		vhdx_chain_too_deep_text_(&t, chain->max_levels);
		chain->verdict = VHDX_CHAIN_TOO_DEEP;
		return -1;
	}
	err = vhdx_disk_locator_get(&child->disk, level_source(child), "parent_linkage", linkage, LINKAGE_SIZE,
				    s->scratch + PATH_TEXT_SIZE, LOOKUP_SIZE);
	if (err == VHDX_ERR_IO)
		return err;
	if (err || vhdx_guid_from_text(&s->linkage, linkage, vhdx_str_len_(linkage))) {
		copy_text(chain->why, sizeof(chain->why),
			  "its parent locator has no parent_linkage GUID [2.6.2.6.3]");
		chain->verdict = VHDX_CHAIN_BAD_LOCATOR;
		return -1;
	}
	vhdx_text_init(&s->tried, s->tried_buf, sizeof(s->tried_buf));
	vhdx_text_init(&s->rejected, s->rejected_buf, sizeof(s->rejected_buf));
	for (k = 0; k < KEY_COUNT; k++) {
		err = try_path(s, cur, path_keys[k]);
		if (err > 0)
			return 0;
		if (err < 0)
			return err;
	}
	/* a candidate that was there and refused is what the message names;
	 * the paths where nothing was follow */
	{
		struct vhdx_text t;

		vhdx_text_init(&t, chain->why, sizeof(chain->why));
		if (s->rejected.pos) {
			chain->verdict = VHDX_CHAIN_MISMATCH;
			vhdx_text_str(&t, s->rejected_buf);
			if (s->tried.pos) {
				vhdx_text_str(&t, "; also tried ");
				vhdx_text_str(&t, s->tried_buf);
			}
		} else {
			chain->verdict = VHDX_CHAIN_ABSENT;
			vhdx_text_str(&t, s->tried.pos ? s->tried_buf :
				      "the parent locator holds no path to follow");
		}
	}
	return -1;
}

int vhdx_chain_open(struct vhdx_chain *chain, struct vhdx_chain_level *levels, unsigned max_levels,
		    const struct vhdx_source *src, const char *name, const struct vhdx_parent_ops *ops,
		    void *scratch, size_t scratch_len, char *why, size_t why_len)
{
	struct search s;
	unsigned cur;
	int err;

	if (!chain || !levels || !max_levels || !src || !ops || !ops->open || !scratch ||
	    scratch_len < VHDX_OPEN_SCRATCH_MIN)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(chain, sizeof(*chain));
	vhdx_mem_zero_(&levels[0], sizeof(levels[0]));
	chain->levels = levels;
	chain->max_levels = max_levels;
	vhdx_mem_copy_(&levels[0].src, src, sizeof(*src));
	err = open_level(&levels[0], ops, scratch, scratch_len, why, why_len);
	if (err) {
		release_level(ops, &levels[0], false);
		return err;
	}
	copy_text(levels[0].name, sizeof(levels[0].name), name ? name : "");
	chain->depth = 1;
	chain->verdict = VHDX_CHAIN_COMPLETE;
	vhdx_mem_zero_(&s, sizeof(s));
	s.chain = chain;
	s.ops = ops;
	s.scratch = scratch;
	s.scratch_len = scratch_len;
	for (cur = 0; levels[cur].disk.type == VHDX_TYPE_DIFFERENCING; cur++) {
		err = find_parent(&s, cur);
		if (err == VHDX_ERR_IO) {
			if (why && why_len)
				copy_text(why, why_len, chain->why);
			vhdx_chain_close(chain, ops);
			return err;
		}
		if (err)
			break;
		chain->depth++;
	}
	return VHDX_OK;
}

void vhdx_chain_close(struct vhdx_chain *chain, const struct vhdx_parent_ops *ops)
{
	unsigned k;

	if (!chain || !chain->levels || !ops)
		return;
	for (k = 0; k < chain->depth; k++)
		release_level(ops, &chain->levels[k], k > 0);
}

void vhdx_chain_report(const struct vhdx_chain *chain, struct vhdx_info *info, vhdx_finding_fn fn,
		       void *ctx)
{
	const struct vhdx_chain_level *lv;
	struct vhdx_finding f;
	struct vhdx_text t;
	char found[sizeof(chain->why) + 1024];

	/* a locator without parent_linkage is the checker's pl.parent_linkage */
	if (!chain || !chain->depth || chain->verdict == VHDX_CHAIN_COMPLETE ||
	    chain->verdict == VHDX_CHAIN_BAD_LOCATOR)
		return;
	lv = &chain->levels[chain->failed_level];
	vhdx_text_init(&t, found, sizeof(found));
	if (chain->failed_level) {
		put_path(&t, lv->name, sizeof(chain->why) + 2);
		vhdx_text_str(&t, ": ");
	}
	vhdx_text_str(&t, chain->why);
	f.rule = chain->verdict == VHDX_CHAIN_ABSENT ? VHDX_R_PARENT_ABSENT : VHDX_R_PARENT_MISMATCH;
	f.severity = vhdx_rule_severity(f.rule);
	f.offset = lv->disk.locator_offset;
	f.where = "parent locator";
	f.found = found;
	if (info) {
		if (f.severity == VHDX_SEV_ERROR)
			info->errors++;
		else
			info->warnings++;
	}
	if (fn)
		fn(ctx, &f);
}

/*
 * The log of an image the chain could not open: when the image decodes
 * but its log cannot be replayed, one log.corrupt finding saying why
 * (the checker itself only sees that LogGuid is set).
 */
static int report_log(const struct vhdx_source *src, void *scratch, size_t scratch_len, struct vhdx_info *info,
		      vhdx_finding_fn fn, void *ctx)
{
	struct vhdx_disk d;
	struct vhdx_log log;
	struct vhdx_finding f;
	char why[VHDX_WHY_SIZE];
	int err;

	if (vhdx_disk_open(&d, src, scratch, scratch_len, why, sizeof(why)) || !d.log_replay_needed)
		return VHDX_OK;
	err = vhdx_log_find(&log, &d, src, scratch, scratch_len, why, sizeof(why));
	if (err != VHDX_ERR_CORRUPT)
		return err == VHDX_ERR_IO ? err : VHDX_OK;
	f.rule = VHDX_R_LOG_CORRUPT;
	f.severity = vhdx_rule_severity(f.rule);
	f.offset = d.log_offset;
	f.where = "log";
	f.found = why;
	info->errors++;
	if (fn)
		fn(ctx, &f);
	return VHDX_OK;
}

int vhdx_examine(const struct vhdx_source *src, const char *name, struct vhdx_chain *chain,
		 struct vhdx_chain_level *levels, unsigned max_levels, const struct vhdx_parent_ops *ops,
		 void *scratch, size_t scratch_len, struct vhdx_info *info, vhdx_finding_fn fn, void *ctx,
		 bool *ret_walked)
{
	const struct vhdx_source *checked = src;
	char why[VHDX_WHY_SIZE];
	int err;

	if (!ret_walked)
		return VHDX_ERR_INVAL;
	*ret_walked = false;
	err = vhdx_chain_open(chain, levels, max_levels, src, name, ops, scratch, scratch_len, why,
			      sizeof(why));
	if (err == VHDX_ERR_IO || err == VHDX_ERR_INVAL)
		return err;
	/* an image the decoder refuses is checked as it is: the checker says why */
	if (!err) {
		*ret_walked = true;
		checked = level_source(&levels[0]);
	}
	err = vhdx_check(checked, scratch, scratch_len, info, fn, ctx);
	if (!err && !*ret_walked && info->log_replay_needed)
		err = report_log(src, scratch, scratch_len, info, fn, ctx);
	if (*ret_walked) {
		if (!err)
			vhdx_chain_report(chain, info, fn, ctx);
		vhdx_chain_close(chain, ops);
	}
	return err;
}
