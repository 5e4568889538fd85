/* SPDX-License-Identifier: MIT */
/*
 * vhdx_parent.c - what a new differencing child takes from its parent, one
 * policy for both frontends: the parent must check clean with an empty
 * log; the child copies its virtual size, sector sizes and Page 83 ID; the
 * locator is built like Hyper-V's [2.6.2.6]: parent_linkage (the parent's
 * DataWriteGuid, braced, lower case), absolute_win32_path when given,
 * relative_path, and parent_linkage2 zero, in that order.
 */
#include "vhdx_internal.h"

static bool is_sep(char c)
{
	return c == '/' || c == '\\';
}

static char fold(char c, bool fold_case)
{
	return fold_case && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Length of the component at @p (up to a separator or the end). */
static size_t component(const char *p)
{
	size_t n = 0;

	while (p[n] && !is_sep(p[n]))
		n++;
	return n;
}

static const char *skip_seps(const char *p)
{
	while (is_sep(*p))
		p++;
	return p;
}

int vhdx_relative_path(const char *from_dir, const char *to_file, bool fold_case, struct vhdx_text *out)
{
	const char *a, *b, *p;
	size_t i, na, nb;
	bool up = false;

	if (!from_dir || !to_file || !out || !is_sep(from_dir[0]) || !is_sep(to_file[0]))
		return VHDX_ERR_INVAL;
	a = skip_seps(from_dir);
	b = skip_seps(to_file);
	/* the common folders: a component of @to_file's folder (not its name) */
	for (;;) {
		na = component(a);
		nb = component(b);
		if (!na || !b[nb] || na != nb)
			break;
		for (i = 0; i < na && fold(a[i], fold_case) == fold(b[i], fold_case); i++)
			;
		if (i < na)
			break;
		a = skip_seps(a + na);
		b = skip_seps(b + nb);
	}
	/* one ".." for each folder of @from_dir below the common ones */
	for (p = a; *p; p = skip_seps(p + component(p))) {
		vhdx_text_str(out, "..\\");
		up = true;
	}
	if (!up)
		vhdx_text_str(out, ".\\");
	if (!*b)
		return VHDX_ERR_INVAL; /* @to_file names a folder */
	for (p = b; *p; p++) {
		char c[2] = { is_sep(*p) ? '\\' : *p, '\0' };

		vhdx_text_str(out, c);
	}
	return vhdx_text_full(out) ? VHDX_ERR_NOSPACE : VHDX_OK;
}

int vhdx_parent_accept(const struct vhdx_source *src, const char *name, void *scratch,
		       size_t scratch_len, struct vhdx_info *info, struct vhdx_disk *ret, char *why,
		       size_t why_len)
{
	struct vhdx_text t;
	int err;

	vhdx_text_init(&t, why, why_len);
	err = vhdx_check(src, scratch, scratch_len, info, NULL, NULL);
	if (err)
		return err;
	if (!info->is_vhdx) {
		vhdx_text_str(&t, "not a VHDX image");
		return VHDX_ERR_CORRUPT;
	}
	if (info->log_replay_needed) {
		vhdx_text_str(&t, "its log must be replayed first (LogGuid is not zero, [MS-VHDX] 2.3)");
		return VHDX_ERR_UNSUPPORTED;
	}
	if (info->errors || !info->geometry_ok || !info->has_page83) {
		vhdx_text_str(&t, "does not check clean (");
		vhdx_text_u64(&t, info->errors);
		vhdx_text_str(&t, " errors; see 'vhdx check ");
		vhdx_text_str(&t, name ? name : "");
		vhdx_text_str(&t, "')");
		return VHDX_ERR_CORRUPT;
	}
	return vhdx_disk_open(ret, src, scratch, scratch_len, why, why_len);
}

int vhdx_parent_depth(const struct vhdx_chain *parent_chain, unsigned max_levels, char *why,
		      size_t why_len)
{
	struct vhdx_text t;

	if (!parent_chain || max_levels < 2)
		return VHDX_ERR_INVAL;
	if (parent_chain->verdict != VHDX_CHAIN_TOO_DEEP && parent_chain->depth < max_levels)
		return VHDX_OK;
	vhdx_text_init(&t, why, why_len);
	vhdx_chain_too_deep_text_(&t, max_levels);
	return VHDX_ERR_UNSUPPORTED;
}

int vhdx_child_params(struct vhdx_params *p, struct vhdx_child_link *link,
		      const struct vhdx_disk *parent, const char *relative_path, const char *win32_path)
{
	if (!p || !link || !parent || !relative_path || !relative_path[0])
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(link, sizeof(*link));
	p->virtual_size = parent->geom.virtual_size;
	p->logical_sector_size = parent->geom.logical_sector_size;
	p->physical_sector_size = parent->physical_sector_size;
	vhdx_mem_copy_(&p->page83, &parent->page83, sizeof(p->page83));
	link->linkage[0] = '{';
	vhdx_guid_to_text(&parent->data_write_guid, link->linkage + 1, false);
	link->linkage[VHDX_GUID_TEXT_SIZE] = '}';
	link->linkage[VHDX_GUID_TEXT_SIZE + 1] = '\0';
	link->kv[link->count].key = "parent_linkage";
	link->kv[link->count++].value = link->linkage;
	if (win32_path && win32_path[0]) {
		link->kv[link->count].key = "absolute_win32_path";
		link->kv[link->count++].value = win32_path;
	}
	link->kv[link->count].key = "relative_path";
	link->kv[link->count++].value = relative_path;
	link->kv[link->count].key = "parent_linkage2";
	link->kv[link->count++].value = "{00000000-0000-0000-0000-000000000000}";
	p->parent_locator = link->kv;
	p->parent_locator_count = link->count;
	return VHDX_OK;
}

int vhdx_path_join(const char *folder, size_t root_len, char sep, const char *path, struct vhdx_text *out)
{
	size_t start = out->pos, i = 0, n;

	vhdx_text_str(out, folder);
	if (out->pos - start < root_len)
		return VHDX_ERR_INVAL;
	if (out->pos > start && out->buf[out->pos - 1] != sep) {
		char s[2] = { sep, '\0' };

		vhdx_text_str(out, s);
	}
	while (path[i]) {
		n = component(path + i);
		if (n == 1 && path[i] == '.') {
			/* the same folder */
		} else if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
			/* up one folder, never above the root */
			if (out->pos - start > root_len) {
				out->pos--;
				while (out->pos - start > root_len && out->buf[out->pos - 1] != sep)
					out->pos--;
				out->buf[out->pos] = '\0';
			}
		} else if (n) {
			size_t k;

			for (k = 0; k < n; k++) {
				char c[2] = { path[i + k], '\0' };

				vhdx_text_str(out, c);
			}
			if (path[i + n]) {
				char s[2] = { sep, '\0' };

				vhdx_text_str(out, s);
			}
		}
		i += n;
		while (is_sep(path[i]))
			i++;
	}
	return vhdx_text_full(out) ? VHDX_ERR_NOSPACE : VHDX_OK;
}
