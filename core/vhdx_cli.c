/* SPDX-License-Identifier: MIT */
/*
 * vhdx_cli.c - the command line of DESIGN.md, shared by the host tool and
 * the UEFI app.  Every error is one line naming the option and the rule.
 */
#include "vhdx_cli.h"
#include "vhdx_internal.h"

static const char usage_text[] =
	"usage: vhdx create [options] TARGET\n"
	"       vhdx info [--json] TARGET\n"
	"       vhdx check TARGET\n"
	"       vhdx convert [-O vhdx|raw] [-t dynamic|fixed] [-b SIZE] [options] SOURCE TARGET\n"
	"       vhdx compare [--source-format vhdx|raw] [-q] IMAGE1 IMAGE2\n"
	"       vhdx repair [-n] [-q] TARGET\n"
	"       vhdx bmap SOURCE OUT.bmap\n"
	"       vhdx verify --bmap F.bmap [--zeros] TARGET\n"
	"       vhdx list\n"
	"       vhdx help\n"
	"create options:\n"
	"  -t, --type dynamic|fixed|differencing   image type (dynamic)\n"
	"  -s, --size SIZE              virtual size: bytes or K, M, G, T (KiB..TiB)\n"
	"  -b, --block-size SIZE        power of two, 1M..256M (32M; differencing 2M)\n"
	"      --logical-sector-size 512|4096    (512)\n"
	"      --physical-sector-size 512|4096   (4096)\n"
	"      --log-size SIZE          multiple of 1M, 1M..4095M (1M)\n"
	"      --parent PATH            parent image of a differencing image\n"
	"      --parent-win32-path PATH Windows path recorded as absolute_win32_path\n"
	"      --zero-blocks            dynamic: blocks read as zero (ZERO state)\n"
	"      --no-zero                fixed: leave the payload as found (fast, stale data shows)\n"
	"      --creator TEXT           creator string (\"vhdx " VHDX_VERSION "\")\n"
	"  -f, --force                  overwrite a target that is not blank\n"
	"  -y, --yes                    do not ask for confirmation\n"
	"  -n, --dry-run                print the plan, write nothing\n"
	"  -q, --quiet                  no plan, no progress\n"
	"convert: the virtual disk of SOURCE (a VHDX, a child read through its chain, a\n"
	"  dirty log through its overlay; or raw) written to TARGET as a raw disk or a VHDX\n"
	"  -O, --output-format vhdx|raw what TARGET gets (a *.vhdx/*.avhdx name: vhdx; else raw)\n"
	"  -t, -b, --logical-sector-size, --physical-sector-size, --log-size, --creator:\n"
	"                               as for create (a VHDX source's own sizes by default;\n"
	"                               a new logical sector size needs -f)\n"
	"      --source-format vhdx|raw read SOURCE as this (by its signature)\n"
	"      --sparse                 TARGET reads as zeros already: zero ranges are skipped\n"
	"      --allow-sector-mismatch  raw onto a device: write an image whose partition table\n"
	"                               counts other sectors (512/4096) than the device's\n"
	"compare: exit 0 same content, 1 different (first differing offset), 2 could not run\n"
	"repair: replays the log in place; -n says what it would do\n"
	"bmap: a bmap 2.0 manifest (bmaptool's) of SOURCE's virtual disk: the 4096-byte blocks\n"
	"  that hold data, in ranges of at most 1 MiB, a SHA-256 each (host)\n"
	"verify: TARGET read back against a bmap: exit 0 every range matches, 1 the first bad\n"
	"  range named, 2 could not run; --zeros: unmapped blocks must read as zeros (host)\n"
	"exit status: 0 done; 1 failed part-way (check: errors found); 2 bad invocation or refused\n";

const char *vhdx_cli_usage(void)
{
	return usage_text;
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
	OPT_ALLOW_SECTOR_MISMATCH, OPT_BMAP, OPT_ZEROS,
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
	{ "json", 0, false, OPT_JSON, 1u << VHDX_CMD_INFO },
	{ "bench-raw", 0, true, OPT_BENCH, CMD_BIT(VHDX_CMD_CREATE) | CMD_BIT(VHDX_CMD_CONVERT) },
	{ "output-format", 'O', true, OPT_OUTPUT_FORMAT, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "source-format", 0, true, OPT_SOURCE_FORMAT, CMD_BIT(VHDX_CMD_CONVERT) | CMD_BIT(VHDX_CMD_COMPARE) },
	{ "sparse", 0, false, OPT_SPARSE, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "allow-sector-mismatch", 0, false, OPT_ALLOW_SECTOR_MISMATCH, CMD_BIT(VHDX_CMD_CONVERT) },
	{ "bmap", 0, true, OPT_BMAP, CMD_BIT(VHDX_CMD_VERIFY) },
	{ "zeros", 0, false, OPT_ZEROS, CMD_BIT(VHDX_CMD_VERIFY) },
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
		return error2(&ps, VHDX_ERR_INVAL, "missing command (create, info, check, convert, compare, repair, list, help)", "",
			      NULL);
	}
	cmd = argv[1];
	if (str_eq(cmd, "create"))
		cli.cmd = VHDX_CMD_CREATE;
	else if (str_eq(cmd, "info"))
		cli.cmd = VHDX_CMD_INFO;
	else if (str_eq(cmd, "check"))
		cli.cmd = VHDX_CMD_CHECK;
	else if (str_eq(cmd, "list"))
		cli.cmd = VHDX_CMD_LIST;
	else if (str_eq(cmd, "convert"))
		cli.cmd = VHDX_CMD_CONVERT;
	else if (str_eq(cmd, "compare"))
		cli.cmd = VHDX_CMD_COMPARE;
	else if (str_eq(cmd, "repair"))
		cli.cmd = VHDX_CMD_REPAIR;
	else if (str_eq(cmd, "bmap"))
		cli.cmd = VHDX_CMD_BMAP;
	else if (str_eq(cmd, "verify"))
		cli.cmd = VHDX_CMD_VERIFY;
	else if (str_eq(cmd, "help") || str_eq(cmd, "--help") || str_eq(cmd, "-h") || str_eq(cmd, "-?")) {
		vhdx_mem_copy_(ret, &cli, sizeof(cli));
		return VHDX_OK;
	} else
		return error2(&ps, VHDX_ERR_INVAL, "unknown command ", cmd,
			      " (create, info, check, convert, compare, repair, list, help)");

	for (ps.i = 2; ps.i < argc; ps.i++) {
		const char *arg = argv[ps.i];

		if (!options_done && (str_eq(arg, "--help") || str_eq(arg, "-h") || str_eq(arg, "-?"))) {
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
	vhdx_mem_copy_(ret, &cli, sizeof(cli));
	return VHDX_OK;
}
