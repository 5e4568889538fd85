/* SPDX-License-Identifier: MIT */
/*
 * test_chain.c - the parent policy of the core: chains walked and judged
 * (complete, absent, mismatch naming the rejected candidate, Windows paths
 * not followed, cycle, too deep), the chain's finding and lines, a child's
 * parameters and locator, relative_path.
 */
#include <stdio.h>

#include "mem_sink.h"
#include "test_util.h"
#include "vhdx_internal.h"
#include "vhdx_print.h"

#define M (1024u * 1024u)
#define IMAGES 20

struct image {
	char name[32];
	struct mem_sink m;
	struct vhdx_source src;
};

static struct image images[IMAGES];
static unsigned image_count;
static unsigned opens, closes;

static int mem_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	const struct image *im = s->ctx;

	assert_true(off <= s->size && len <= s->size - off);
	memcpy(buf, im->m.data + off, len);
	return VHDX_OK;
}

/* A differencing image's locator: linkage to @parent_dwg, relative_path
 * @rel, and absolute_win32_path @win32 when not NULL. */
static struct image *make(const char *name, enum vhdx_type type, uint64_t size, uint8_t dwg_seed,
			  uint8_t parent_seed, const char *rel, const char *win32)
{
	struct image *im = &images[image_count++];
	struct vhdx_params p = test_params(type, size);
	struct vhdx_plan plan;
	char linkage[VHDX_GUID_TEXT_SIZE + 2];
	struct vhdx_guid pg = test_guid(parent_seed);
	struct vhdx_kv kv[3];
	size_t n = 0;
	void *scratch = malloc(M);

	assert_true(image_count <= IMAGES);
	snprintf(im->name, sizeof(im->name), "%s", name);
	p.block_size = M;
	p.data_write_guid = test_guid(dwg_seed);
	if (type == VHDX_TYPE_DIFFERENCING) {
		linkage[0] = '{';
		vhdx_guid_to_text(&pg, linkage + 1, false);
		strcat(linkage, "}");
		kv[n++] = (struct vhdx_kv){ "parent_linkage", linkage };
		if (win32)
			kv[n++] = (struct vhdx_kv){ "absolute_win32_path", win32 };
		kv[n++] = (struct vhdx_kv){ "relative_path", rel };
		p.parent_locator = kv;
		p.parent_locator_count = n;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	mem_sink_init(&im->m, plan.file_size, 0, 4096);
	assert_int_equal(vhdx_image_write(&plan, &im->m.sink, scratch, M), VHDX_OK);
	free(scratch);
	im->src.ctx = im;
	im->src.read = mem_read;
	im->src.size = plan.file_size;
	return im;
}

static void reset(void)
{
	unsigned i;

	for (i = 0; i < image_count; i++)
		mem_sink_free(&images[i].m);
	image_count = 0;
	opens = closes = 0;
}

static char last_kind_path[64];

/* Resolves ".\name" and "name" in one flat folder; Windows forms CANNOT. */
static enum vhdx_parent_open open_cb(void *ctx, const char *child_name, const char *key,
				     const char *path, enum vhdx_path_kind kind,
				     struct vhdx_source *ret_src, char *name, size_t name_len,
				     char *why, size_t why_len)
{
	const char *base = path;
	unsigned i;

	(void)ctx;
	(void)child_name;
	(void)key;
	snprintf(name, name_len, "%s", path);
	if (kind == VHDX_PATH_DRIVE || kind == VHDX_PATH_VOLUME) {
		snprintf(last_kind_path, sizeof(last_kind_path), "%s", path);
		snprintf(why, why_len, "a Windows path, not followed here");
		return VHDX_PARENT_CANNOT;
	}
	if (base[0] == '.' && base[1] == '\\')
		base += 2;
	for (i = 0; i < image_count; i++) {
		if (!strcmp(images[i].name, base)) {
			*ret_src = images[i].src;
			snprintf(name, name_len, "%s", images[i].name);
			opens++;
			return VHDX_PARENT_OPENED;
		}
	}
	snprintf(why, why_len, "No such file or directory");
	return VHDX_PARENT_ABSENT;
}

static void close_cb(void *ctx, struct vhdx_source *src)
{
	(void)ctx;
	(void)src;
	closes++;
}

static const struct vhdx_parent_ops ops = { .open = open_cb, .close = close_cb };

struct walk {
	struct vhdx_chain chain;
	struct vhdx_chain_level levels[VHDX_CHAIN_DEPTH_MAX];
	char why[VHDX_WHY_SIZE];
	void *scratch;
};

static void walk(struct walk *w, const struct image *child, unsigned max_levels)
{
	w->scratch = malloc(VHDX_OPEN_SCRATCH_MIN);
	assert_int_equal(vhdx_chain_open(&w->chain, w->levels, max_levels, &child->src, child->name, &ops,
					 w->scratch, VHDX_OPEN_SCRATCH_MIN, w->why, sizeof(w->why)),
			 VHDX_OK);
}

static void unwalk(struct walk *w)
{
	vhdx_chain_close(&w->chain, &ops);
	assert_int_equal(opens, closes); /* every parent opened was closed once */
	free(w->scratch);
	reset();
}

static void test_complete_chain_of_three(void **state)
{
	struct walk w;

	(void)state;
	make("base.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x40, 0, NULL, NULL);
	make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\base.vhdx", NULL);
	walk(&w, make("c2.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x60, 0x50, ".\\c1.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_COMPLETE);
	assert_int_equal(w.chain.depth, 3);
	assert_string_equal(w.levels[0].name, "c2.vhdx");
	assert_string_equal(w.levels[1].name, "c1.vhdx");
	assert_string_equal(w.levels[1].key, "relative_path");
	assert_string_equal(w.levels[2].name, "base.vhdx");
	assert_int_equal(w.levels[2].disk.type, VHDX_TYPE_DYNAMIC);
	unwalk(&w);
}

static void test_absent_parent(void **state)
{
	struct walk w;

	(void)state;
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\gone.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_ABSENT);
	assert_int_equal(w.chain.depth, 1);
	assert_int_equal(w.chain.failed_level, 0);
	assert_non_null(strstr(w.chain.why, "relative_path .\\gone.vhdx: No such file"));
	unwalk(&w);
}

/* The message names the candidate that was there and refused, not the
 * last path tried (a stale absolute_win32_path). */
static void test_mismatch_names_the_rejected_parent(void **state)
{
	struct walk w;

	(void)state;
	make("base.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x41, 0, NULL, NULL); /* another DWG */
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\base.vhdx",
		      "C:\\vms\\base.vhdx"),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_MISMATCH);
	assert_int_equal(strncmp(w.chain.why, "base.vhdx: its DataWriteGuid is not", 35), 0);
	/* the Windows path was handed over as a drive path, and named after */
	assert_string_equal(last_kind_path, "C:\\vms\\base.vhdx");
	assert_non_null(strstr(w.chain.why, "also tried absolute_win32_path C:\\vms\\base.vhdx"));
	unwalk(&w);
}

static void test_size_mismatch(void **state)
{
	struct walk w;

	(void)state;
	make("base.vhdx", VHDX_TYPE_FIXED, 8 * M, 0x40, 0, NULL, NULL);
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\base.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_MISMATCH);
	assert_non_null(strstr(w.chain.why, "base.vhdx: its virtual size differs"));
	unwalk(&w);
}

static void test_cycle(void **state)
{
	struct walk w;

	(void)state;
	make("b.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x70, 0x80, ".\\a.vhdx", NULL);
	walk(&w, make("a.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x80, 0x70, ".\\b.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_CYCLE);
	assert_int_equal(w.chain.depth, 2);
	assert_int_equal(w.chain.failed_level, 1);
	assert_non_null(strstr(w.chain.why, "a.vhdx: already in the chain as level 0"));
	unwalk(&w);
}

static void test_too_deep(void **state)
{
	struct walk w;
	char name[16], rel[20];
	unsigned i;

	(void)state;
	make("c0.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x10, 0, NULL, NULL);
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "c%u.vhdx", i);
		snprintf(rel, sizeof(rel), ".\\c%u.vhdx", i - 1);
		make(name, VHDX_TYPE_DIFFERENCING, 40 * M, (uint8_t)(0x10 + i), (uint8_t)(0x10 + i - 1), rel,
		     NULL);
	}
	/* c4 -> c3 -> c2 -> c1 -> c0: five levels, an array of four */
	walk(&w, &images[4], 4);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_TOO_DEEP);
	assert_int_equal(w.chain.depth, 4);
	assert_non_null(strstr(w.chain.why, "more than 3 parents"));
	unwalk(&w);
	/* the same chain fits an array of five */
	make("c0.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x10, 0, NULL, NULL);
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "c%u.vhdx", i);
		snprintf(rel, sizeof(rel), ".\\c%u.vhdx", i - 1);
		make(name, VHDX_TYPE_DIFFERENCING, 40 * M, (uint8_t)(0x10 + i), (uint8_t)(0x10 + i - 1), rel,
		     NULL);
	}
	walk(&w, &images[4], 5);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_COMPLETE);
	assert_int_equal(w.chain.depth, 5);
	unwalk(&w);
}

/* A path far longer than the chain's notes: the note keeps the path's
 * start and end around "..." and the reason whole (it was cut). */
static void test_long_path_keeps_the_reason(void **state)
{
	static char rel[3100];
	const char *tail = ".vhdx: No such file or directory";
	size_t n;
	struct walk w;

	(void)state;
	memset(rel, 'x', sizeof(rel));
	memcpy(rel, ".\\", 2);
	memcpy(rel + sizeof(rel) - 10, "end.vhdx", 9);
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, rel, NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_ABSENT);
	n = strlen(w.chain.why);
	assert_true(n < sizeof(w.chain.why) - 1);
	assert_true(n > strlen(tail));
	assert_string_equal(w.chain.why + n - strlen(tail), tail);
	assert_non_null(strstr(w.chain.why, "relative_path .\\xxx"));
	assert_non_null(strstr(w.chain.why, "...xxx"));
	assert_non_null(strstr(w.chain.why, "xend.vhdx: No such"));
	unwalk(&w);
}

/* create's depth rule: a parent chain as deep as the readers' limit, or
 * refused as deeper, leaves no room for a child; in the readers' words. */
static void test_parent_depth(void **state)
{
	struct walk w;
	char name[16], rel[20], why[VHDX_WHY_SIZE];
	unsigned i;

	(void)state;
	make("c0.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x10, 0, NULL, NULL);
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "c%u.vhdx", i);
		snprintf(rel, sizeof(rel), ".\\c%u.vhdx", i - 1);
		make(name, VHDX_TYPE_DIFFERENCING, 40 * M, (uint8_t)(0x10 + i), (uint8_t)(0x10 + i - 1), rel,
		     NULL);
	}
	walk(&w, &images[4], 5); /* five levels, complete */
	assert_int_equal(vhdx_parent_depth(&w.chain, 6, why, sizeof(why)), VHDX_OK);
	assert_int_equal(vhdx_parent_depth(&w.chain, 5, why, sizeof(why)), VHDX_ERR_UNSUPPORTED);
	assert_string_equal(why, "more than 4 parents: a chain this deep is refused");
	vhdx_chain_close(&w.chain, &ops);
	free(w.scratch);
	walk(&w, &images[4], 4); /* refused as too deep */
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_TOO_DEEP);
	assert_int_equal(vhdx_parent_depth(&w.chain, 4, why, sizeof(why)), VHDX_ERR_UNSUPPORTED);
	assert_string_equal(why, w.chain.why);
	unwalk(&w);
}

struct lines {
	char text[4096];
	struct vhdx_finding f;
	char found[600];
	unsigned count;
};

static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;

	strncat(l->text, line, sizeof(l->text) - strlen(l->text) - 2);
	strcat(l->text, "\n");
}

static void finding(void *ctx, const struct vhdx_finding *f)
{
	struct lines *l = ctx;

	l->f = *f;
	snprintf(l->found, sizeof(l->found), "%s", f->found);
	l->count++;
}

static void test_report_and_print(void **state)
{
	struct walk w;
	struct vhdx_info info;
	struct lines l;

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(&info, 0, sizeof(info));
	make("base.vhdx", VHDX_TYPE_DYNAMIC, 40 * M, 0x40, 0, NULL, NULL);
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\base.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	vhdx_chain_report(&w.chain, &info, finding, &l);
	assert_int_equal(l.count, 0); /* a complete chain: no finding */
	vhdx_chain_print(&w.chain, false, true, collect, &l);
	assert_non_null(strstr(l.text, "parent chain:\n  1: base.vhdx (relative_path): VHDX (dynamic, 40 MiB), "
				       "DataWriteGuid matches parent_linkage\n"));
	memset(l.text, 0, sizeof(l.text));
	vhdx_chain_print(&w.chain, true, true, collect, &l);
	assert_non_null(strstr(l.text, "\"verdict\": \"complete\""));
	assert_non_null(strstr(l.text, "\"path\": \"base.vhdx\", \"key\": \"relative_path\""));
	unwalk(&w);

	memset(&l, 0, sizeof(l));
	walk(&w, make("c1.vhdx", VHDX_TYPE_DIFFERENCING, 40 * M, 0x50, 0x40, ".\\gone.vhdx", NULL),
	     VHDX_CHAIN_DEPTH_MAX);
	vhdx_chain_report(&w.chain, &info, finding, &l);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.f.rule, VHDX_R_PARENT_ABSENT);
	assert_int_equal(l.f.severity, VHDX_SEV_WARNING);
	assert_int_equal(info.warnings, 1);
	assert_true(l.f.offset > 0); /* the child's locator item */
	assert_int_equal(l.f.offset, w.levels[0].disk.locator_offset);
	vhdx_chain_print(&w.chain, false, true, collect, &l);
	assert_non_null(strstr(l.text, "  1: not found (relative_path .\\gone.vhdx: No such file or directory)"));
	memset(l.text, 0, sizeof(l.text));
	vhdx_chain_print(&w.chain, true, false, collect, &l);
	assert_non_null(strstr(l.text, "\"verdict\": \"parent absent\""));
	assert_non_null(strstr(l.text, "  },\n"));
	unwalk(&w);
}

static void test_not_differencing(void **state)
{
	struct walk w;
	struct lines l;

	(void)state;
	memset(&l, 0, sizeof(l));
	walk(&w, make("base.vhdx", VHDX_TYPE_FIXED, 8 * M, 0x40, 0, NULL, NULL), VHDX_CHAIN_DEPTH_MAX);
	assert_int_equal(w.chain.verdict, VHDX_CHAIN_COMPLETE);
	assert_int_equal(w.chain.depth, 1);
	vhdx_chain_print(&w.chain, false, true, collect, &l);
	assert_string_equal(l.text, "");
	unwalk(&w);
}

static void test_path_kind(void **state)
{
	(void)state;
	assert_int_equal(vhdx_path_kind(".\\base.vhdx"), VHDX_PATH_RELATIVE);
	assert_int_equal(vhdx_path_kind("..\\a\\base.vhdx"), VHDX_PATH_RELATIVE);
	assert_int_equal(vhdx_path_kind("base.vhdx"), VHDX_PATH_RELATIVE);
	assert_int_equal(vhdx_path_kind("\\vm\\base.vhdx"), VHDX_PATH_ROOTED);
	assert_int_equal(vhdx_path_kind("/srv/base.vhdx"), VHDX_PATH_ROOTED);
	assert_int_equal(vhdx_path_kind("C:\\Users\\x\\base.vhdx"), VHDX_PATH_DRIVE);
	assert_int_equal(vhdx_path_kind("d:/x.vhdx"), VHDX_PATH_DRIVE);
	assert_int_equal(vhdx_path_kind("\\\\?\\Volume{0ab}\\x.vhdx"), VHDX_PATH_VOLUME);
	assert_int_equal(vhdx_path_kind("\\\\server\\share\\x.vhdx"), VHDX_PATH_VOLUME);
}

static void rel_is(const char *from, const char *to, bool fold, const char *want)
{
	char buf[128];
	struct vhdx_text t;

	vhdx_text_init(&t, buf, sizeof(buf));
	assert_int_equal(vhdx_relative_path(from, to, fold, &t), VHDX_OK);
	assert_string_equal(buf, want);
}

static void test_relative_path(void **state)
{
	char small[8];
	struct vhdx_text t;

	(void)state;
	rel_is("/", "/x.vhdx", false, ".\\x.vhdx");
	rel_is("/tmp/a", "/tmp/a/x.vhdx", false, ".\\x.vhdx");
	rel_is("/tmp/a/", "/tmp/a/x.vhdx", false, ".\\x.vhdx");
	rel_is("/tmp/a", "/tmp/b/x.vhdx", false, "..\\b\\x.vhdx");
	rel_is("/tmp/a/b", "/tmp/x.vhdx", false, "..\\..\\x.vhdx");
	rel_is("/tmp", "/tmp/d/e/x.vhdx", false, ".\\d\\e\\x.vhdx");
	rel_is("/tm", "/tmp/x.vhdx", false, "..\\tmp\\x.vhdx"); /* a prefix is not a folder */
	rel_is("\\A\\b\\", "\\a\\B\\x.vhdx", true, ".\\x.vhdx");  /* FAT: case folded */
	rel_is("\\A\\b\\", "\\a\\B\\x.vhdx", false, "..\\..\\a\\B\\x.vhdx");
	rel_is("\\", "\\vm\\base.vhdx", true, ".\\vm\\base.vhdx");
	vhdx_text_init(&t, small, sizeof(small));
	assert_int_equal(vhdx_relative_path("/a", "/a/long-name.vhdx", false, &t), VHDX_ERR_NOSPACE);
	vhdx_text_init(&t, small, sizeof(small));
	assert_int_equal(vhdx_relative_path("a", "/a/x", false, &t), VHDX_ERR_INVAL);
	vhdx_text_init(&t, small, sizeof(small));
	assert_int_equal(vhdx_relative_path("/a", "/a/", false, &t), VHDX_ERR_INVAL);
}

static void join_is(const char *folder, size_t root, char sep, const char *path, const char *want)
{
	char buf[128];
	struct vhdx_text t;

	vhdx_text_init(&t, buf, sizeof(buf));
	assert_int_equal(vhdx_path_join(folder, root, sep, path, &t), VHDX_OK);
	assert_string_equal(buf, want);
}

static void test_path_join(void **state)
{
	char small[8];
	struct vhdx_text t;

	(void)state;
	join_is("/a/b/", 1, '/', ".\\x.vhdx", "/a/b/x.vhdx");
	join_is("/a/b", 1, '/', "..\\x.vhdx", "/a/x.vhdx");
	join_is("/a/b/", 1, '/', "..\\..\\..\\x.vhdx", "/x.vhdx"); /* never above the root */
	join_is("/", 1, '/', "\\vm\\base.vhdx", "/vm/base.vhdx");
	join_is("fs0:\\w\\", 5, '\\', "..\\d\\.\\c2.vhdx", "fs0:\\d\\c2.vhdx");
	join_is("fs0:\\", 5, '\\', "..\\x.vhdx", "fs0:\\x.vhdx");
	join_is("fs0:\\a\\", 5, '\\', "b/c.vhdx", "fs0:\\a\\b\\c.vhdx");
	vhdx_text_init(&t, small, sizeof(small));
	assert_int_equal(vhdx_path_join("/a/", 1, '/', "long-name.vhdx", &t), VHDX_ERR_NOSPACE);
	vhdx_text_init(&t, small, sizeof(small));
	assert_int_equal(vhdx_path_join("", 1, '/', "x", &t), VHDX_ERR_INVAL);
}

static void test_child_params(void **state)
{
	struct image *parent;
	struct vhdx_info *info = malloc(sizeof(*info));
	struct vhdx_disk disk;
	struct vhdx_params p;
	struct vhdx_child_link link;
	char why[VHDX_WHY_SIZE];
	void *scratch = malloc(VHDX_READ_SCRATCH_MIN);

	(void)state;
	parent = make("base.vhdx", VHDX_TYPE_FIXED, 8 * M, 0x40, 0, NULL, NULL);
	assert_int_equal(vhdx_parent_accept(&parent->src, "base.vhdx", scratch, VHDX_READ_SCRATCH_MIN, info,
					    &disk, why, sizeof(why)),
			 VHDX_OK);
	memset(&p, 0, sizeof(p));
	assert_int_equal(vhdx_child_params(&p, &link, &disk, ".\\base.vhdx", "D:\\vm\\base.vhdx"), VHDX_OK);
	assert_int_equal(p.virtual_size, 8 * M);
	assert_int_equal(p.logical_sector_size, 512);
	assert_int_equal(p.physical_sector_size, 4096);
	assert_memory_equal(&p.page83, &disk.page83, 16);
	assert_int_equal(p.parent_locator_count, 4);
	assert_string_equal(p.parent_locator[0].key, "parent_linkage");
	assert_string_equal(p.parent_locator[0].value, "{43424140-4544-4746-4849-4a4b4c4d4e4f}");
	assert_string_equal(p.parent_locator[1].key, "absolute_win32_path");
	assert_string_equal(p.parent_locator[2].key, "relative_path");
	assert_string_equal(p.parent_locator[2].value, ".\\base.vhdx");
	assert_string_equal(p.parent_locator[3].key, "parent_linkage2");
	assert_int_equal(vhdx_child_params(&p, &link, &disk, ".\\base.vhdx", NULL), VHDX_OK);
	assert_int_equal(p.parent_locator_count, 3);
	assert_string_equal(p.parent_locator[1].key, "relative_path");

	/* a parent whose current header has a LogGuid: refused with the reason */
	set_le32(parent->m.data + 128 * 1024 + 48, 0x12345678); /* header 2 (current) LogGuid */
	set_le32(parent->m.data + 128 * 1024 + 4, 0);
	set_le32(parent->m.data + 128 * 1024 + 4, ref_crc32c(parent->m.data + 128 * 1024, 4096));
	/* an entry carrying it (checksum wrong): replay pending, not log.guid_unused */
	memcpy(parent->m.data + le64(parent->m.data + 128 * 1024 + 72), "loge", 4);
	memcpy(parent->m.data + le64(parent->m.data + 128 * 1024 + 72) + 32, parent->m.data + 128 * 1024 + 48, 16);
	assert_int_equal(vhdx_parent_accept(&parent->src, "base.vhdx", scratch, VHDX_READ_SCRATCH_MIN, info,
					    &disk, why, sizeof(why)),
			 VHDX_ERR_UNSUPPORTED);
	assert_non_null(strstr(why, "log must be replayed"));
	/* one that does not check clean */
	reset();
	parent = make("base.vhdx", VHDX_TYPE_FIXED, 8 * M, 0x40, 0, NULL, NULL);
	memset(parent->m.data + 192 * 1024, 'X', 4);
	memset(parent->m.data + 256 * 1024, 'X', 4);
	assert_int_equal(vhdx_parent_accept(&parent->src, "base.vhdx", scratch, VHDX_READ_SCRATCH_MIN, info,
					    &disk, why, sizeof(why)),
			 VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "does not check clean"));
	free(info);
	free(scratch);
	reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_chain_of_three),
		cmocka_unit_test(test_absent_parent),
		cmocka_unit_test(test_mismatch_names_the_rejected_parent),
		cmocka_unit_test(test_size_mismatch),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_long_path_keeps_the_reason),
		cmocka_unit_test(test_parent_depth),
		cmocka_unit_test(test_report_and_print),
		cmocka_unit_test(test_not_differencing),
		cmocka_unit_test(test_path_kind),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_child_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
