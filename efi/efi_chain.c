/* SPDX-License-Identifier: MIT */
/*
 * efi_chain.c - parents of a differencing image in the UEFI shell, for the
 * core's chain policy (vhdx_read.h): a locator path is opened on the
 * child's own volume, relative_path from the child's folder and a rooted
 * path (\vm\base.vhdx) from the volume's root.  Windows forms (C:\...,
 * \\?\Volume{...}\...) name nothing here and are not followed; a child on
 * a block device has no folder, so its parents cannot be looked up.
 */
#include "efi_app.h"
#include "vhdx_url.h"

/* A path on the volume: as long as a level's name (VHDX_NAME_SIZE bytes
 * of UTF-8, so never more CHAR16 units), pooled rather than on the stack. */
#define EFI_CHAIN_PATH_UNITS VHDX_NAME_SIZE

/* A parent file and its source: the source's ctx is this struct. */
struct efi_parent_file {
	struct efi_source src;
};

/* A URL child's parent: relative_path resolved against the child's URL
 * (vhdx_url_resolve); the other forms name nothing on a web server. */
static enum vhdx_parent_open efi_chain_open_url(struct efi_chain_ops *c, const char *child_name,
						const char *path, enum vhdx_path_kind kind,
						struct vhdx_source *ret_src, char *name, size_t name_len,
						char *why, size_t why_len)
{
	struct vhdx_text nt, wt;
	struct vhdx_url u;
	struct efi_parent_file *pf;
	struct efi_http *h = NULL;
	const char *rwhy = NULL;
	size_t n, pn;
	EFI_STATUS st;

	vhdx_text_init(&wt, why, why_len);
	for (n = 0; child_name[n]; n++)
		;
	for (pn = 0; path[pn]; pn++)
		;
	if (kind != VHDX_PATH_RELATIVE || vhdx_url_parse(&u, child_name, n, &rwhy) != VHDX_OK ||
	    vhdx_url_resolve(&u, child_name, path, pn, name, name_len, NULL, &rwhy) != VHDX_OK) {
		vhdx_text_init(&nt, name, name_len);
		vhdx_text_str(&nt, path);
		vhdx_text_str(&wt, kind != VHDX_PATH_RELATIVE ?
			       "not a relative path: a URL's parent is looked up by relative_path only" :
			       rwhy ? rwhy : "no URL for it (too long)");
		return VHDX_PARENT_CANNOT;
	}
	pf = AllocateZeroPool(sizeof(*pf));
	if (!pf) {
		vhdx_text_str(&wt, "out of memory");
		return VHDX_PARENT_FAILED;
	}
	st = efi_http_open(&h, name, c->nic);
	if (EFI_ERROR(st)) {
		efi_http_close(h);
		FreePool(pf);
		vhdx_text_str(&wt, st == EFI_NOT_FOUND ? "No such file or directory (HTTP 404)" :
						       "cannot be read over the network (see the line above)");
		return st == EFI_NOT_FOUND ? VHDX_PARENT_ABSENT : VHDX_PARENT_FAILED;
	}
	efi_http_chain_add(c->http, h);
	efi_source_url(&pf->src, h, ret_src);
	pf->src.also = &c->status;
	return VHDX_PARENT_OPENED;
}

static enum vhdx_parent_open efi_chain_open(void *ctx, const char *child_name, const char *key,
					    const char *path, enum vhdx_path_kind kind,
					    struct vhdx_source *ret_src, char *name, size_t name_len,
					    char *why, size_t why_len)
{
	struct efi_chain_ops *c = ctx;
	struct vhdx_text nt, wt;
	char *folder;
	CHAR16 *vpath;
	const char *colon = NULL, *slash = NULL, *p;
	struct efi_parent_file *pf;
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *fi;
	EFI_STATUS st;
	UINTN k;
	int err;

	(void)key;
	if (vhdx_url_is_url(child_name))
		return efi_chain_open_url(c, child_name, path, kind, ret_src, name, name_len, why, why_len);
	vhdx_text_init(&nt, name, name_len);
	vhdx_text_init(&wt, why, why_len);
	for (p = child_name; *p; p++) {
		if (*p == ':' && !colon)
			colon = p;
		if (*p == '\\')
			slash = p;
	}
	if (kind == VHDX_PATH_DRIVE || kind == VHDX_PATH_VOLUME) {
		vhdx_text_str(&nt, path);
		vhdx_text_str(&wt, kind == VHDX_PATH_DRIVE ? "a Windows drive path, not followed here" :
							     "a Windows volume or network path, not followed here");
		return VHDX_PARENT_CANNOT;
	}
	if (!c->root || !colon || !slash || slash < colon) {
		vhdx_text_str(&nt, path);
		vhdx_text_str(&wt, "the child is not a file on a volume: no folder to start from");
		return VHDX_PARENT_CANNOT;
	}
	/* the folder: "fs0:\vm\" for a relative path, "fs0:\" for a rooted one */
	k = (UINTN)((kind == VHDX_PATH_RELATIVE ? slash : colon + 1) - child_name) + 1;
	if (k + 2 >= EFI_CHAIN_PATH_UNITS) {
		vhdx_text_str(&nt, path);
		vhdx_text_str(&wt, "path too long");
		return VHDX_PARENT_CANNOT;
	}
	folder = AllocatePool(EFI_CHAIN_PATH_UNITS);
	if (!folder) {
		vhdx_text_str(&nt, path);
		vhdx_text_str(&wt, "out of memory");
		return VHDX_PARENT_FAILED;
	}
	CopyMem(folder, child_name, k);
	folder[k] = 0;
	/* the root "fs0:\\" is never folded away */
	err = vhdx_path_join(folder, (UINTN)(colon - child_name) + 2, '\\', path, &nt);
	FreePool(folder);
	if (err != VHDX_OK) {
		vhdx_text_str(&wt, "path too long");
		return VHDX_PARENT_CANNOT;
	}
	vpath = AllocatePool(EFI_CHAIN_PATH_UNITS * sizeof(*vpath));
	if (!vpath) {
		vhdx_text_str(&wt, "out of memory");
		return VHDX_PARENT_FAILED;
	}
	for (p = name; *p && *p != ':'; p++)
		;
	efi_text_from_utf8(p + 1, vpath, EFI_CHAIN_PATH_UNITS);
	st = c->root->Open(c->root, &f, vpath, EFI_FILE_MODE_READ, 0);
	FreePool(vpath);
	if (EFI_ERROR(st)) {
		vhdx_text_str(&wt, st == EFI_NOT_FOUND ? "No such file or directory" : "cannot open it");
		return st == EFI_NOT_FOUND ? VHDX_PARENT_ABSENT : VHDX_PARENT_FAILED;
	}
	fi = LibFileInfo(f);
	pf = AllocateZeroPool(sizeof(*pf));
	if (!fi || !pf || (fi->Attribute & EFI_FILE_DIRECTORY)) {
		/* the host's words: a parent is a regular file (or a block device) */
		vhdx_text_str(&wt, !fi || !pf ? "out of memory" :
						"not a regular file or block device: Is a directory");
		if (fi)
			FreePool(fi);
		if (pf)
			FreePool(pf);
		f->Close(f);
		return VHDX_PARENT_FAILED;
	}
	efi_source_file(&pf->src, f, fi->FileSize, ret_src);
	pf->src.also = &c->status;
	FreePool(fi);
	return VHDX_PARENT_OPENED;
}

static void efi_chain_close(void *ctx, struct vhdx_source *src)
{
	struct efi_parent_file *pf = src->ctx;

	(void)ctx;
	efi_source_close(&pf->src);
	efi_http_close(pf->src.http);
	FreePool(pf);
}

/* A log's index (vhdx_log_view_index): at most 36 bytes per 4 KiB of log
 * and a 64 KiB read window (36 MiB for the largest, 4095 MiB); without it,
 * reads walk the log. */
static void *efi_index_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return AllocatePool(len);
}

static void efi_index_free(void *ctx, void *mem, size_t len)
{
	(void)ctx;
	(void)len;
	FreePool(mem);
}

void efi_chain_ops_init(struct efi_chain_ops *c, const struct efi_target *child)
{
	ZeroMem(c, sizeof(*c));
	c->root = child->kind == EFI_TARGET_FILE ? child->root : NULL;
	c->nic = child->kind == EFI_TARGET_URL ? efi_http_nic(child->http) : NULL;
	c->http = child->kind == EFI_TARGET_URL ? child->http : NULL;
	c->ops.ctx = c;
	c->ops.open = efi_chain_open;
	c->ops.close = efi_chain_close;
	c->ops.index_alloc = efi_index_alloc;
	c->ops.index_free = efi_index_free;
}

char *efi_chain_name(const struct efi_target *t)
{
	char *map, *path, *out;
	UINTN i, n, m;

	if (t->kind != EFI_TARGET_FILE)
		return efi_text_to_utf8(t->name);
	map = efi_text_to_utf8(t->name);
	path = efi_text_to_utf8(t->path);
	if (!map || !path) {
		if (map)
			FreePool(map);
		if (path)
			FreePool(path);
		return NULL;
	}
	for (m = 0; map[m] && map[m] != ':'; m++)
		;
	for (n = 0; path[n]; n++)
		;
	out = AllocatePool(m + 1 + n + 2);
	if (out) {
		CopyMem(out, map, m);
		out[m] = ':';
		i = m + 1;
		if (path[0] != '\\')
			out[i++] = '\\';
		CopyMem(out + i, path, n + 1);
	}
	FreePool(map);
	FreePool(path);
	return out;
}
