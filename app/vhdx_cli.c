/* SPDX-License-Identifier: MIT */
/*
 * vhdx_cli.c - the command line of DESIGN.md, shared by the host tool and
 * the UEFI app.  Every error is one line naming the option and the rule.
 */
#include "vhdx_cli.h"
#include "vhdx_internal.h"

/*
 * The help text, in pieces: the whole page (vhdx help) and each verb's page
 * (vhdx help VERB, vhdx VERB --help) are put together from the same
 * strings, so the two cannot say different things.  Lines fit 80 columns.
 */
#define SYN_CREATE  "vhdx create [options] TARGET\n"
#define SYN_INFO    "vhdx info [--json] TARGET\n"
#define SYN_CHECK   "vhdx check TARGET\n"
#define SYN_CONVERT "vhdx convert [-O vhdx|raw] [-t dynamic|fixed] [-b SIZE] [options]\n" \
		    "             SOURCE TARGET\n"
#define SYN_COMPARE "vhdx compare [--source-format vhdx|raw] [-q] IMAGE1 IMAGE2\n"
#define SYN_REPAIR  "vhdx repair [-n] [-q] TARGET\n"
#define SYN_BMAP    "vhdx bmap SOURCE OUT.bmap\n"
#define SYN_VERIFY  "vhdx verify --bmap F.bmap [--bmap-sha256 HEX] [--zeros] TARGET\n"
#define SYN_LIST    "vhdx list\n"
#define SYN_HELP    "vhdx help [VERB] | VERB --help | --version\n"

#define TEXT_CREATE \
	"create options:\n" \
	"  -t, --type dynamic|fixed|differencing   image type (dynamic)\n" \
	"  -s, --size SIZE              virtual size: bytes or K, M, G, T (KiB..TiB)\n" \
	"  -b, --block-size SIZE        power of two, 1M..256M (32M; differencing 2M)\n" \
	"      --logical-sector-size 512|4096    (512)\n" \
	"      --physical-sector-size 512|4096   (4096)\n" \
	"      --log-size SIZE          multiple of 1M, 1M..4095M (1M)\n" \
	"      --parent PATH            parent image of a differencing image\n" \
	"      --parent-win32-path PATH Windows path recorded as absolute_win32_path\n" \
	"      --zero-blocks            dynamic: blocks read as zero (ZERO state)\n" \
	"      --no-zero                fixed: leave the payload as found (fast, stale\n" \
	"                               data shows)\n" \
	"      --creator TEXT           creator string (\"vhdx " VHDX_VERSION "\")\n" \
	"  -f, --force                  overwrite a target that is not blank\n" \
	"  -y, --yes                    do not ask for confirmation\n" \
	"  -n, --dry-run                print the plan, write nothing\n" \
	"  -q, --quiet                  no plan, no progress\n"
#define TEXT_INFO \
	"info: what the image is (--json: as one JSON object)\n"
#define TEXT_CHECK \
	"check: every structure against the specification's rules; exit 0 consistent\n" \
	"  (warnings allowed), 1 errors found (not a VHDX included)\n"
#define TEXT_CONVERT \
	"convert: the virtual disk of SOURCE (a VHDX, a child read through its chain,\n" \
	"  a dirty log through its overlay; or raw) written to TARGET as a raw disk or\n" \
	"  a VHDX\n" \
	"  -O, --output-format vhdx|raw what TARGET gets (a *.vhdx/*.avhdx name: vhdx;\n" \
	"                               else raw)\n" \
	"  -t, -b, --logical-sector-size, --physical-sector-size, --log-size, --creator,\n" \
	"  -f, -y, -n, -q:              as for create (a VHDX source's own sizes by\n" \
	"                               default; a new logical sector size needs -f)\n" \
	"      --source-format vhdx|raw read SOURCE as this (by its signature)\n" \
	"      --sparse                 TARGET reads as zeros already: zero ranges are\n" \
	"                               skipped\n" \
	"      --allow-sector-mismatch  raw onto a device: write an image whose\n" \
	"                               partition table counts other sectors\n" \
	"                               (512/4096) than the device's\n" \
	"      --bmap F.bmap            each range of the manifest read, hashed and\n" \
	"                               compared before it is written; a mismatch\n" \
	"                               stops the deploy (the first MiB stays zero)\n" \
	"      --bmap-sha256 HEX        the manifest file's own SHA-256 must be HEX\n" \
	"      --resume                 with --bmap: ranges whose bytes on TARGET\n" \
	"                               already hash right are not written again\n" \
	"      --json                   the outcome as one JSON object\n"
#define TEXT_COMPARE \
	"compare: exit 0 same content, 1 different (first differing offset), 2 could\n" \
	"  not run\n"
#define TEXT_URL \
	"info, check, convert, compare: an http:// or https:// URL reads like a file\n" \
	"      --cacert FILE            HTTPS: trust the CAs in FILE (PEM), not the\n" \
	"                               system's\n" \
	"      --nic N                  (UEFI) the network interface, 0, 1, ...\n"
#define TEXT_REPAIR \
	"repair: replays the log in place; -n says what it would do\n"
#define TEXT_BMAP \
	"bmap: a bmap 2.0 manifest (bmaptool's) of SOURCE's virtual disk: the\n" \
	"  4096-byte blocks that hold data, in ranges of at most 1 MiB, a SHA-256\n" \
	"  each; OUT.bmap written whole beside its name, then renamed\n"
#define TEXT_VERIFY \
	"verify: TARGET read back against a bmap: exit 0 every range matches, 1 the\n" \
	"  first bad range named (UEFI: 0x21), 2 could not run (UEFI: 0x2)\n" \
	"      --bmap F.bmap            the manifest\n" \
	"      --bmap-sha256 HEX        the manifest file's own SHA-256 must be HEX\n" \
	"      --zeros                  unmapped blocks must read as zeros too\n"
#define TEXT_LIST \
	"list: (UEFI) every block device: mapping, size, flags, device path, contents\n"
#define TEXT_EXIT \
	"exit status: 0 done; 1 failed part-way (check: errors found); 2 bad invocation\n" \
	"  or refused\n"

#define HELP_ALL \
	"usage: " SYN_CREATE \
	"       " SYN_INFO \
	"       " SYN_CHECK \
	"       " SYN_CONVERT \
	"       " SYN_COMPARE \
	"       " SYN_REPAIR \
	"       " SYN_BMAP \
	"       " SYN_VERIFY \
	"       " SYN_LIST \
	"       " SYN_HELP \
	TEXT_CREATE TEXT_CONVERT TEXT_COMPARE TEXT_URL TEXT_REPAIR TEXT_BMAP TEXT_VERIFY TEXT_EXIT

/*
 * One verb's page: its synopsis, what it does, its options, exit status.
 * The pages are arrays in one struct and found by offset, not through
 * pointers: a table of pointers (which a switch over them becomes) needs
 * load-time relocation (see options[] below).
 */
#define HELP_CREATE  "usage: " SYN_CREATE TEXT_CREATE TEXT_EXIT
#define HELP_INFO    "usage: " SYN_INFO TEXT_INFO TEXT_URL TEXT_EXIT
#define HELP_CHECK   "usage: " SYN_CHECK TEXT_CHECK TEXT_URL TEXT_EXIT
#define HELP_CONVERT "usage: " SYN_CONVERT TEXT_CONVERT TEXT_URL TEXT_EXIT
#define HELP_COMPARE "usage: " SYN_COMPARE TEXT_COMPARE TEXT_URL
#define HELP_REPAIR  "usage: " SYN_REPAIR TEXT_REPAIR TEXT_EXIT
#define HELP_BMAP    "usage: " SYN_BMAP TEXT_BMAP TEXT_EXIT
#define HELP_VERIFY  "usage: " SYN_VERIFY TEXT_VERIFY
#define HELP_LIST    "usage: " SYN_LIST TEXT_LIST TEXT_EXIT

static const struct help_pages {
	char all[sizeof(HELP_ALL)];
	char create[sizeof(HELP_CREATE)];
	char info[sizeof(HELP_INFO)];
	char check[sizeof(HELP_CHECK)];
	char convert[sizeof(HELP_CONVERT)];
	char compare[sizeof(HELP_COMPARE)];
	char repair[sizeof(HELP_REPAIR)];
	char bmap[sizeof(HELP_BMAP)];
	char verify[sizeof(HELP_VERIFY)];
	char list[sizeof(HELP_LIST)];
} help_pages = {
	.all = HELP_ALL, .create = HELP_CREATE, .info = HELP_INFO, .check = HELP_CHECK, .convert = HELP_CONVERT,
	.compare = HELP_COMPARE, .repair = HELP_REPAIR, .bmap = HELP_BMAP, .verify = HELP_VERIFY, .list = HELP_LIST,
};

_Static_assert(sizeof(struct help_pages) <= UINT16_MAX, "help_offset[] holds 16-bit offsets");

/* byte offset in help_pages of each verb's page; 0: the whole page */
static const uint16_t help_offset[] = {
	[VHDX_CMD_CREATE] = offsetof(struct help_pages, create),
	[VHDX_CMD_INFO] = offsetof(struct help_pages, info),
	[VHDX_CMD_CHECK] = offsetof(struct help_pages, check),
	[VHDX_CMD_CONVERT] = offsetof(struct help_pages, convert),
	[VHDX_CMD_COMPARE] = offsetof(struct help_pages, compare),
	[VHDX_CMD_REPAIR] = offsetof(struct help_pages, repair),
	[VHDX_CMD_BMAP] = offsetof(struct help_pages, bmap),
	[VHDX_CMD_VERIFY] = offsetof(struct help_pages, verify),
	[VHDX_CMD_LIST] = offsetof(struct help_pages, list),
	[VHDX_CMD_HELP] = 0,
	[VHDX_CMD_VERSION] = 0,
};

const char *vhdx_cli_usage(void)
{
	return help_pages.all;
}

const char *vhdx_cli_help(enum vhdx_cli_cmd verb)
{
	if ((unsigned)verb >= VHDX_ARRAY_SIZE(help_offset) || !help_offset[verb])
		return help_pages.all;
	return (const char *)&help_pages + help_offset[verb];
}

const char *vhdx_cli_version(void)
{
	return "vhdx " VHDX_VERSION "\n";
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool str_ieq(const char *a, const char *b)
{
	while (*a && lower(*a) == lower(*b)) {
		a++;
		b++;
	}
	return *a == *b;
}

int vhdx_parse_size(const char *text, uint64_t *ret)
{
	/* char arrays, not pointers: no load-time relocation (see options[]) */
	static const struct {
		char suffix[4];  /* NUL-terminated: every suffix is at most 3 chars */
		unsigned shift;
	} suffixes[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gib", 30 }, { "t", 40 }, { "tib", 40 },
	};
	uint64_t v = 0;
	const char *s = text;
	size_t i;

	if (!text || *s < '0' || *s > '9')
		return VHDX_ERR_INVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		/* UINT64_MAX = 18446744073709551615: folded constants, no runtime division */
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return VHDX_ERR_RANGE;
		v = v * 10 + d;
	}
	for (i = 0; i < VHDX_ARRAY_SIZE(suffixes); i++) {
		if (!str_ieq(s, suffixes[i].suffix))
			continue;
		if (suffixes[i].shift && v > (UINT64_MAX >> suffixes[i].shift))
			return VHDX_ERR_RANGE;
		*ret = v << suffixes[i].shift;
		return VHDX_OK;
	}
	return VHDX_ERR_INVAL;
}

struct parser {
	int argc;
	char *const *argv;
	int i;
	struct vhdx_text why;
};

static int error2(struct parser *ps, int err, const char *a, const char *b, const char *c)
{
	vhdx_text_str(&ps->why, a);
	vhdx_text_str(&ps->why, b);
	if (c)
		vhdx_text_str(&ps->why, c);
	return err;
}

enum opt_id {
	OPT_TYPE, OPT_SIZE, OPT_BLOCK, OPT_LSS, OPT_PSS, OPT_LOG, OPT_PARENT, OPT_PARENT_WIN32,
	OPT_ZERO_BLOCKS, OPT_NO_ZERO, OPT_CREATOR, OPT_FORCE, OPT_YES, OPT_DRY_RUN, OPT_QUIET,
	OPT_JSON, OPT_BENCH, OPT_OUTPUT_FORMAT, OPT_SOURCE_FORMAT, OPT_SPARSE,
	OPT_ALLOW_SECTOR_MISMATCH, OPT_BMAP, OPT_ZEROS, OPT_CACERT, OPT_NIC, OPT_BMAP_SHA256, OPT_RESUME,
};

#define CMD_BIT(c) (1u << (c))
#define CMDS_WRITING (CMD_BIT(VHDX_CMD_CREATE) | CMD_BIT(VHDX_CMD_CONVERT))

/*
 * The names are arrays inside the entries, not pointers to literals: a table
 * of pointers lands in .data.rel.ro under -fPIE/-fPIC, which a loader must
 * patch, and a core running from flash or ROM has none
 * (tests/freestanding.sh checks).  A name may fill its array without a NUL;
 * read it with long_name_len().  A longer one does not compile (-Werror).
 */
static const struct option {
	char long_name[sizeof("physical-sector-size")];
	char short_name;
	bool has_value;
	enum opt_id id;
	unsigned commands;  /* bit per enum vhdx_cli_cmd */
} options[] = {
	{ "type", 't', true, OPT_TYPE, CMDS_WRITING },
	{ "size", 's', true, OPT_SIZE, 1u << VHDX_CMD_CREATE },
	{ "block-size", 'b', true, OPT_BLOCK, CMDS_WRITING },
	{ "logical-sector-size", 0, true, OPT_LSS, CMDS_WRITING },
	{ "physical-sector-size", 0, true, OPT_PSS, CMDS_WRITING },
	{ "log-size", 0, true, OPT_LOG, CMDS_WRITING },
	{ "parent", 0, true, OPT_PARENT, 1u << VHDX_CMD_CREATE },
	{ "parent-win32-path", 0, true, OPT_PARENT_WIN32, 1u << VHDX_CMD_CREATE },
	{ "zero-blocks", 0, false, OPT_ZERO_BLOCKS, 1u << VHDX_CMD_CREATE },
	{ "no-zero", 0, false, OPT_NO_ZERO, 1u << VHDX_CMD_CREATE },
	{ "creator", 0, true, OPT_CREATOR, CMDS_WRITING },
	{ "force", 'f', false, OPT_FORCE, CMDS_WRITING },
	{ "yes", 'y', false, OPT_YES, CMDS_WRITING },
	{ "dry-run", 'n', false, OPT_DRY_RUN, CMDS_WRITING | CMD_BIT(VHDX_CMD_REPAIR) },
	{ "quiet", 'q', false, OPT_QUIET,
	  CMDS_WRITING | CMD_BIT(VHDX_CMD_CHECK) | CMD_BIT(VHDX_CMD_COMPARE) | CMD_BIT(VHDX_CMD_REPAIR) },
	{ "json", 0, false, OPT_JSON, CMD_BIT(VHDX_CMD_INFO) | CMD_BIT(VHDX_CMD_CONVERT) },
	{ "bench-raw", 0, true, OPT_BENCH, CMD_BIT(VHDX_CMD_CREATE) | CMD_BIT(VHDX_CMD_CONVERT) },
	{ "output-format", 'O', true, OPT_OUTPUT_FORMAT, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "source-format", 0, true, OPT_SOURCE_FORMAT, CMD_BIT(VHDX_CMD_CONVERT) | CMD_BIT(VHDX_CMD_COMPARE) },
	{ "sparse", 0, false, OPT_SPARSE, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "allow-sector-mismatch", 0, false, OPT_ALLOW_SECTOR_MISMATCH, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "bmap", 0, true, OPT_BMAP, CMD_BIT(VHDX_CMD_VERIFY) | CMD_BIT(VHDX_CMD_CONVERT) },
	{ "bmap-sha256", 0, true, OPT_BMAP_SHA256, CMD_BIT(VHDX_CMD_VERIFY) | CMD_BIT(VHDX_CMD_CONVERT) },
	{ "resume", 0, false, OPT_RESUME, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "zeros", 0, false, OPT_ZEROS, CMD_BIT(VHDX_CMD_VERIFY) },
	{ "cacert", 0, true, OPT_CACERT,
	  CMD_BIT(VHDX_CMD_INFO) | CMD_BIT(VHDX_CMD_CHECK) | CMD_BIT(VHDX_CMD_CONVERT) | CMD_BIT(VHDX_CMD_COMPARE) },
	{ "nic", 0, true, OPT_NIC,
	  CMD_BIT(VHDX_CMD_INFO) | CMD_BIT(VHDX_CMD_CHECK) | CMD_BIT(VHDX_CMD_CONVERT) | CMD_BIT(VHDX_CMD_COMPARE) },
};

static size_t long_name_len(const struct option *o)
{
	size_t n = 0;

	while (n < sizeof(o->long_name) && o->long_name[n])
		n++;
	return n;
}

static int parse_u32_size(struct parser *ps, const char *opt, const char *val, uint32_t *ret)
{
	uint64_t v;
	int err = vhdx_parse_size(val, &v);

	if (err == VHDX_ERR_INVAL)
		return error2(ps, err, opt, ": not a size: ", val);
	if (err || v > UINT32_MAX || v == 0)
		return error2(ps, VHDX_ERR_RANGE, opt, ": out of range: ", val);
	*ret = (uint32_t)v;
	return VHDX_OK;
}

static int parse_sector(struct parser *ps, const char *opt, const char *val, uint32_t *ret)
{
	if (str_eq(val, "512"))
		*ret = 512;
	else if (str_eq(val, "4096") || str_ieq(val, "4k"))
		*ret = 4096;
	else
		return error2(ps, VHDX_ERR_INVAL, opt, " must be 512 or 4096, not ", val);
	return VHDX_OK;
}

static int apply(struct parser *ps, struct vhdx_cli *cli, const struct option *o, const char *name,
		 const char *val)
{
	struct vhdx_params *p = &cli->params;

	switch (o->id) {
	case OPT_TYPE:
		cli->type_given = true;
		if (str_eq(val, "dynamic"))
			p->type = VHDX_TYPE_DYNAMIC;
		else if (str_eq(val, "fixed"))
			p->type = VHDX_TYPE_FIXED;
		else if (str_eq(val, "differencing"))
			p->type = VHDX_TYPE_DIFFERENCING;
		else
			return error2(ps, VHDX_ERR_INVAL, name,
				      " must be dynamic, fixed or differencing, not ", val);
		return VHDX_OK;
	case OPT_SIZE: {
		int err = vhdx_parse_size(val, &p->virtual_size);

		if (err == VHDX_ERR_INVAL)
			return error2(ps, err, name, ": not a size (bytes, or K, M, G, T suffix): ", val);
		if (err)
			return error2(ps, err, name, ": number too large: ", val);
		cli->size_given = true;
		return VHDX_OK;
	}
	case OPT_BLOCK:
		cli->block_size_given = true;
		return parse_u32_size(ps, name, val, &p->block_size);
	case OPT_LSS:
		cli->logical_sector_given = true;
		return parse_sector(ps, name, val, &p->logical_sector_size);
	case OPT_PSS:
		cli->physical_sector_given = true;
		return parse_sector(ps, name, val, &p->physical_sector_size);
	case OPT_LOG:
		return parse_u32_size(ps, name, val, &p->log_size);
	case OPT_PARENT:
		cli->parent = val;
		return VHDX_OK;
	case OPT_PARENT_WIN32:
		cli->parent_win32_path = val;
		return VHDX_OK;
	case OPT_ZERO_BLOCKS:
		p->zero_blocks = true;
		return VHDX_OK;
	case OPT_NO_ZERO:
		p->leave_payload = true;
		return VHDX_OK;
	case OPT_CREATOR:
		p->creator = val;
		return VHDX_OK;
	case OPT_FORCE:
		cli->force = true;
		return VHDX_OK;
	case OPT_YES:
		cli->yes = true;
		return VHDX_OK;
	case OPT_DRY_RUN:
		cli->dry_run = true;
		return VHDX_OK;
	case OPT_QUIET:
		cli->quiet = true;
		return VHDX_OK;
	case OPT_JSON:
		cli->json = true;
		return VHDX_OK;
	case OPT_BENCH:
		cli->bench = val;
		return VHDX_OK;
	case OPT_OUTPUT_FORMAT:
	case OPT_SOURCE_FORMAT: {
		enum vhdx_format *f = o->id == OPT_OUTPUT_FORMAT ? &cli->output_format : &cli->source_format;

		if (str_eq(val, "vhdx"))
			*f = VHDX_FORMAT_VHDX;
		else if (str_eq(val, "raw"))
			*f = VHDX_FORMAT_RAW;
		else
			return error2(ps, VHDX_ERR_INVAL, name, " must be vhdx or raw, not ", val);
		return VHDX_OK;
	}
	case OPT_SPARSE:
		cli->sparse = true;
		return VHDX_OK;
	case OPT_ALLOW_SECTOR_MISMATCH:
		cli->allow_sector_mismatch = true;
		return VHDX_OK;
	case OPT_BMAP:
		cli->bmap = val;
		return VHDX_OK;
	case OPT_ZEROS:
		cli->zeros = true;
		return VHDX_OK;
	case OPT_CACERT:
		cli->cacert = val;
		return VHDX_OK;
	case OPT_NIC:
		cli->nic = val;
		return VHDX_OK;
	case OPT_BMAP_SHA256: {
		size_t n = 0;

		while (val[n] && ((val[n] >= '0' && val[n] <= '9') || ((val[n] | 0x20) >= 'a' && (val[n] | 0x20) <= 'f')))
			n++;
		if (val[n] || n != VHDX_BMAP_SHA256_HEX)
			return error2(ps, VHDX_ERR_INVAL, name, " must be 64 hexadecimal digits, not ", val);
		cli->bmap_sha256 = val;
		return VHDX_OK;
	}
	case OPT_RESUME:
		cli->resume = true;
		return VHDX_OK;
	}
	return VHDX_ERR_INVAL;
}

/* One option at argv[ps->i]: --name, --name=value, --name value, -x, -x value, -xvalue. */
static int parse_option(struct parser *ps, struct vhdx_cli *cli)
{
	const char *arg = ps->argv[ps->i];
	const char *value = NULL;
	const struct option *o = NULL;
	char name[40];
	size_t i, n = 0;

	if (arg[1] == '-') {
		const char *s = arg + 2;

		while (s[n] && s[n] != '=' && n + 1 < sizeof(name))
			n++;
		for (i = 0; i < VHDX_ARRAY_SIZE(options); i++) {
			const char *l = options[i].long_name;

			if (long_name_len(&options[i]) == n && vhdx_mem_equal_(l, s, n) &&
			    (s[n] == '=' || !s[n])) {
				o = &options[i];
				break;
			}
		}
		if (o && s[n] == '=')
			value = s + n + 1;
	} else if (arg[1]) {
		for (i = 0; i < VHDX_ARRAY_SIZE(options); i++)
			if (options[i].short_name == arg[1])
				o = &options[i];
		if (o && arg[2]) {
			if (!o->has_value)
				return error2(ps, VHDX_ERR_INVAL, "unknown option ", arg,
					      " (short options cannot be combined)");
			value = arg + 2;
		}
	}
	if (!o)
		return error2(ps, VHDX_ERR_INVAL, "unknown option ", arg, NULL);
	/* the name as the user should see it in messages */
	n = 0;
	name[n++] = '-';
	if (arg[1] == '-') {
		size_t len = long_name_len(o);

		name[n++] = '-';
		for (i = 0; i < len && n + 1 < sizeof(name); i++)
			name[n++] = o->long_name[i];
	} else {
		name[n++] = arg[1];
	}
	name[n] = '\0';
	if (!(o->commands & (1u << cli->cmd)))
		return error2(ps, VHDX_ERR_INVAL, "option ", name, " does not apply to this command");
	if (o->has_value && !value) {
		if (ps->i + 1 >= ps->argc)
			return error2(ps, VHDX_ERR_INVAL, "option ", name, " needs a value");
		value = ps->argv[++ps->i];
	} else if (!o->has_value && value) {
		return error2(ps, VHDX_ERR_INVAL, "option ", name, " takes no value");
	}
	return apply(ps, cli, o, name, value);
}

/* Cross-option rules that do not need the target. */
static int check_create(struct parser *ps, struct vhdx_cli *cli)
{
	struct vhdx_params *p = &cli->params;

	if (!cli->target)
		return error2(ps, VHDX_ERR_INVAL, "create: missing TARGET", "", NULL);
	if (p->type == VHDX_TYPE_DIFFERENCING) {
		if (!cli->parent)
			return error2(ps, VHDX_ERR_INVAL, "--type differencing needs --parent PATH", "", NULL);
		if (cli->size_given)
			return error2(ps, VHDX_ERR_INVAL,
				      "--size contradicts --type differencing: the size comes from the parent", "",
				      NULL);
		if (cli->logical_sector_given || cli->physical_sector_given)
			return error2(ps, VHDX_ERR_INVAL,
				      "sector sizes contradict --type differencing: they come from the parent", "",
				      NULL);
	} else {
		if (cli->parent)
			return error2(ps, VHDX_ERR_INVAL, "--parent needs --type differencing", "", NULL);
		if (cli->parent_win32_path)
			return error2(ps, VHDX_ERR_INVAL, "--parent-win32-path needs --type differencing", "",
				      NULL);
	}
	if (p->zero_blocks && p->type != VHDX_TYPE_DYNAMIC)
		return error2(ps, VHDX_ERR_INVAL, "--zero-blocks applies to dynamic images only", "", NULL);
	if (p->leave_payload && p->type != VHDX_TYPE_FIXED)
		return error2(ps, VHDX_ERR_INVAL, "--no-zero applies to fixed images only", "", NULL);
	if (!cli->size_given && p->type == VHDX_TYPE_DYNAMIC)
		return error2(ps, VHDX_ERR_INVAL, "create: --size is required for a dynamic image", "", NULL);
	if (cli->size_given || p->type == VHDX_TYPE_FIXED) {
		struct vhdx_plan plan;
		struct vhdx_params probe;
		int err;

		vhdx_mem_copy_(&probe, p, sizeof(probe));
		if (!cli->size_given) /* fixed without a size: check the rest with one sector */
			probe.virtual_size = probe.logical_sector_size ? probe.logical_sector_size : 512;
		err = vhdx_plan_init(&plan, &probe, ps->why.buf + ps->why.pos, ps->why.len - ps->why.pos);
		if (err)
			return err;
	}
	return VHDX_OK;
}

#define VERBS " (create, info, check, convert, compare, repair, bmap, verify, list, help)"

static bool is_help_option(const char *arg)
{
	return str_eq(arg, "--help") || str_eq(arg, "-h") || str_eq(arg, "-?");
}

/* The verb NAME names, in *ret (help: the whole page); false if none. */
static bool verb_of(const char *name, enum vhdx_cli_cmd *ret)
{
	if (str_eq(name, "create"))
		*ret = VHDX_CMD_CREATE;
	else if (str_eq(name, "info"))
		*ret = VHDX_CMD_INFO;
	else if (str_eq(name, "check"))
		*ret = VHDX_CMD_CHECK;
	else if (str_eq(name, "list"))
		*ret = VHDX_CMD_LIST;
	else if (str_eq(name, "convert"))
		*ret = VHDX_CMD_CONVERT;
	else if (str_eq(name, "compare"))
		*ret = VHDX_CMD_COMPARE;
	else if (str_eq(name, "repair"))
		*ret = VHDX_CMD_REPAIR;
	else if (str_eq(name, "bmap"))
		*ret = VHDX_CMD_BMAP;
	else if (str_eq(name, "verify"))
		*ret = VHDX_CMD_VERIFY;
	else if (str_eq(name, "help"))
		*ret = VHDX_CMD_HELP;
	else
		return false;
	return true;
}

int vhdx_cli_parse(struct vhdx_cli *ret, int argc, char *const *argv, char *why, size_t why_len)
{
	struct parser ps;
	struct vhdx_cli cli;
	const char *cmd;
	bool options_done = false;
	int err;

	vhdx_text_init(&ps.why, why, why_len);
	ps.argc = argc;
	ps.argv = argv;
	vhdx_mem_zero_(&cli, sizeof(cli));
	if (argc < 2) {
		vhdx_mem_copy_(ret, &cli, sizeof(cli)); /* VHDX_CMD_HELP */
		return error2(&ps, VHDX_ERR_INVAL, "missing command", VERBS, NULL);
	}
	cmd = argv[1];
	if (str_eq(cmd, "--version")) {
		if (argc > 2)
			return error2(&ps, VHDX_ERR_INVAL, "extra argument ", argv[2], " (--version takes none)");
		cli.cmd = VHDX_CMD_VERSION;
		vhdx_mem_copy_(ret, &cli, sizeof(cli));
		return VHDX_OK;
	}
	if (str_eq(cmd, "help") || is_help_option(cmd)) {
		/* help [VERB]: the whole page, or VERB's */
		cli.help_verb = VHDX_CMD_HELP;
		if (argc > 2 && !verb_of(argv[2], &cli.help_verb))
			return error2(&ps, VHDX_ERR_INVAL, "help: unknown command ", argv[2], VERBS);
		if (argc > 3)
			return error2(&ps, VHDX_ERR_INVAL, "extra argument ", argv[3], " (help takes one VERB)");
		vhdx_mem_copy_(ret, &cli, sizeof(cli));
		return VHDX_OK;
	}
	if (!verb_of(cmd, &cli.cmd))
		return error2(&ps, VHDX_ERR_INVAL, "unknown command ", cmd, VERBS);

	for (ps.i = 2; ps.i < argc; ps.i++) {
		const char *arg = argv[ps.i];

		if (!options_done && is_help_option(arg)) {
			cli.help_verb = cli.cmd;
			cli.cmd = VHDX_CMD_HELP;
			vhdx_mem_copy_(ret, &cli, sizeof(cli));
			return VHDX_OK;
		}
		if (!options_done && str_eq(arg, "--")) {
			options_done = true;
			continue;
		}
		if (!options_done && arg[0] == '-' && arg[1]) {
			err = parse_option(&ps, &cli);
			if (err)
				return err;
			continue;
		}
		if (cli.cmd == VHDX_CMD_LIST)
			return error2(&ps, VHDX_ERR_INVAL, "list takes no TARGET: ", arg, NULL);
		if (!arg[0])
			return error2(&ps, VHDX_ERR_INVAL,
				      (cli.cmd == VHDX_CMD_CONVERT || cli.cmd == VHDX_CMD_COMPARE) && !cli.source ?
				      "empty SOURCE" : "empty TARGET", "", NULL);
		if (cli.cmd == VHDX_CMD_CONVERT || cli.cmd == VHDX_CMD_COMPARE || cli.cmd == VHDX_CMD_BMAP) {
			/* two images: SOURCE TARGET, or IMAGE1 IMAGE2; bmap: SOURCE OUT.bmap */
			if (cli.target)
				return error2(&ps, VHDX_ERR_INVAL, "extra argument ", arg,
					      cli.cmd == VHDX_CMD_CONVERT ? " (SOURCE and TARGET only)" :
									    " (two images only)");
			if (cli.source)
				cli.target = arg;
			else
				cli.source = arg;
			continue;
		}
		if (cli.target)
			return error2(&ps, VHDX_ERR_INVAL, "extra argument ", arg, " (one TARGET only)");
		cli.target = arg;
	}
	if (cli.cmd == VHDX_CMD_CREATE) {
		err = check_create(&ps, &cli);
		if (err)
			return err;
	} else if ((cli.cmd == VHDX_CMD_INFO || cli.cmd == VHDX_CMD_CHECK || cli.cmd == VHDX_CMD_REPAIR) &&
		   !cli.target) {
		return error2(&ps, VHDX_ERR_INVAL, cmd, ": missing TARGET", NULL);
	} else if (cli.cmd == VHDX_CMD_CONVERT && cli.type_given && cli.params.type == VHDX_TYPE_DIFFERENCING) {
		return error2(&ps, VHDX_ERR_INVAL, "convert: -t differencing: the output is a whole disk (dynamic or fixed)",
			      "", NULL);
	} else if (cli.cmd == VHDX_CMD_CONVERT && !cli.target) {
		return error2(&ps, VHDX_ERR_INVAL, "convert: ", cli.source ? "missing TARGET" : "missing SOURCE and TARGET",
			      NULL);
	} else if (cli.cmd == VHDX_CMD_COMPARE && !cli.target) {
		return error2(&ps, VHDX_ERR_INVAL, "compare: two images needed (IMAGE1 IMAGE2)", "", NULL);
	} else if (cli.cmd == VHDX_CMD_BMAP && !cli.target) {
		return error2(&ps, VHDX_ERR_INVAL, "bmap: SOURCE and OUT.bmap needed", "", NULL);
	} else if (cli.cmd == VHDX_CMD_VERIFY && (!cli.bmap || !cli.target)) {
		return error2(&ps, VHDX_ERR_INVAL, "verify: ", cli.bmap ? "missing TARGET" : "--bmap FILE needed", NULL);
	}
	if (!cli.bmap && (cli.resume || cli.bmap_sha256))
		return error2(&ps, VHDX_ERR_INVAL, cli.resume ? "--resume" : "--bmap-sha256", " needs --bmap FILE", NULL);
	vhdx_mem_copy_(ret, &cli, sizeof(cli));
	return VHDX_OK;
}
