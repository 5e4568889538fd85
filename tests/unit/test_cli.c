/* SPDX-License-Identifier: MIT */
/* test_cli.c - the shared command-line parser: sizes, options, rules. */
#include <stdio.h>

#include "test_util.h"
#include "vhdx_cli.h"

static int parse(struct vhdx_cli *cli, char *why, size_t why_len, const char *line)
{
	static char prog[] = "vhdx";
	static char buf[512]; /* the parsed strings point into it */
	char *argv[32];
	int argc = 0;
	char *tok;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = prog;
	for (tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return vhdx_cli_parse(cli, argc, argv, why, why_len);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		int err;
		uint64_t value;
	} cases[] = {
		{ "0", VHDX_OK, 0 }, { "512", VHDX_OK, 512 }, { "4k", VHDX_OK, 4096 },
		{ "4K", VHDX_OK, 4096 }, { "4KiB", VHDX_OK, 4096 }, { "3M", VHDX_OK, 3ull << 20 },
		{ "2mib", VHDX_OK, 2ull << 20 }, { "10G", VHDX_OK, 10ull << 30 }, { "64T", VHDX_OK, 64ull << 40 },
		{ "7b", VHDX_OK, 7 }, { "18446744073709551615", VHDX_OK, UINT64_MAX },
		{ "18446744073709551616", VHDX_ERR_RANGE, 0 }, { "16777216T", VHDX_ERR_RANGE, 0 },
		{ "16777215T", VHDX_OK, 16777215ull << 40 }, { "", VHDX_ERR_INVAL, 0 },
		{ "G", VHDX_ERR_INVAL, 0 }, { "-1", VHDX_ERR_INVAL, 0 }, { "1.5G", VHDX_ERR_INVAL, 0 },
		{ "1 G", VHDX_ERR_INVAL, 0 }, { "1GB", VHDX_ERR_INVAL, 0 }, { "1P", VHDX_ERR_INVAL, 0 },
		{ "0x10", VHDX_ERR_INVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int err = vhdx_parse_size(cases[i].text, &v);

		if (err != cases[i].err)
			fail_msg("'%s': %d, expected %d", cases[i].text, err, cases[i].err);
		if (!err)
			assert_int_equal(v, cases[i].value);
		else
			assert_int_equal(v, 12345); /* untouched on error */
	}
	assert_int_equal(vhdx_parse_size(NULL, NULL), VHDX_ERR_INVAL);
}

static void test_create_options(void **state)
{
	struct vhdx_cli cli;
	char why[256];

	(void)state;
	assert_int_equal(parse(&cli, why, sizeof(why),
			       "create -t fixed --size=10G -b2M --logical-sector-size 4096 "
			       "--physical-sector-size=4096 --log-size 2M --creator me -f -y -n -q disk.vhdx"),
			 VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_CREATE);
	assert_int_equal(cli.params.type, VHDX_TYPE_FIXED);
	assert_int_equal(cli.params.virtual_size, 10ull << 30);
	assert_int_equal(cli.params.block_size, 2u << 20);
	assert_int_equal(cli.params.logical_sector_size, 4096);
	assert_int_equal(cli.params.physical_sector_size, 4096);
	assert_int_equal(cli.params.log_size, 2u << 20);
	assert_string_equal(cli.params.creator, "me");
	assert_true(cli.force && cli.yes && cli.dry_run && cli.quiet && cli.size_given);
	assert_string_equal(cli.target, "disk.vhdx");

	/* options after the target, and "--" before a target that looks like an option */
	assert_int_equal(parse(&cli, why, sizeof(why), "create x.vhdx -s 1G --zero-blocks"), VHDX_OK);
	assert_true(cli.params.zero_blocks);
	assert_int_equal(parse(&cli, why, sizeof(why), "create -s 1G -- -odd-name"), VHDX_OK);
	assert_string_equal(cli.target, "-odd-name");
	/* fixed without a size parses (a block device decides it later) */
	assert_int_equal(parse(&cli, why, sizeof(why), "create -t fixed blk2:"), VHDX_OK);
	assert_false(cli.size_given);
}

static void test_other_commands(void **state)
{
	struct vhdx_cli cli;
	char why[256];

	(void)state;
	assert_int_equal(parse(&cli, why, sizeof(why), "info --json a.vhdx"), VHDX_OK);
	assert_true(cli.cmd == VHDX_CMD_INFO && cli.json);
	assert_int_equal(parse(&cli, why, sizeof(why), "check a.vhdx"), VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_CHECK);
	assert_int_equal(parse(&cli, why, sizeof(why), "list"), VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_LIST);
	assert_int_equal(parse(&cli, why, sizeof(why), "-?"), VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_HELP);
	assert_int_equal(cli.help_verb, VHDX_CMD_HELP);
	assert_int_equal(parse(&cli, why, sizeof(why), "create -s 1G --help"), VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_HELP);
	assert_int_equal(cli.help_verb, VHDX_CMD_CREATE);
	assert_non_null(strstr(vhdx_cli_usage(), "--logical-sector-size"));
	/* convert --allow-sector-mismatch: the whole name (it fills the table's array) */
	assert_int_equal(parse(&cli, why, sizeof(why), "convert --allow-sector-mismatch g.vhdx blk2:"), VHDX_OK);
	assert_true(cli.cmd == VHDX_CMD_CONVERT && cli.allow_sector_mismatch);
	assert_int_equal(parse(&cli, why, sizeof(why), "convert g.vhdx blk2:"), VHDX_OK);
	assert_false(cli.allow_sector_mismatch);
	assert_non_null(strstr(vhdx_cli_usage(), "--allow-sector-mismatch"));
	/* bmap SOURCE OUT.bmap; verify --bmap F [--zeros] TARGET */
	assert_int_equal(parse(&cli, why, sizeof(why), "bmap g.vhdx g.bmap"), VHDX_OK);
	assert_true(cli.cmd == VHDX_CMD_BMAP && !strcmp(cli.source, "g.vhdx") && !strcmp(cli.target, "g.bmap"));
	assert_int_equal(parse(&cli, why, sizeof(why), "verify --bmap g.bmap --zeros /dev/sdb"), VHDX_OK);
	assert_true(cli.cmd == VHDX_CMD_VERIFY && cli.zeros && !strcmp(cli.bmap, "g.bmap") &&
		    !strcmp(cli.target, "/dev/sdb"));
	assert_int_equal(parse(&cli, why, sizeof(why), "verify --bmap=g.bmap d"), VHDX_OK);
	assert_false(cli.zeros);
	assert_null(cli.bmap_sha256);
	/* convert --bmap F [--bmap-sha256 HEX] [--resume] [--json] */
	assert_int_equal(parse(&cli, why, sizeof(why),
			       "convert --bmap g.bmap --resume --json --bmap-sha256 "
			       "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789 g.vhdx blk2:"),
			 VHDX_OK);
	assert_true(cli.cmd == VHDX_CMD_CONVERT && cli.resume && cli.json && !strcmp(cli.bmap, "g.bmap") &&
		    strlen(cli.bmap_sha256) == VHDX_BMAP_SHA256_HEX && !strcmp(cli.target, "blk2:"));
	assert_int_equal(parse(&cli, why, sizeof(why), "convert g.vhdx blk2:"), VHDX_OK);
	assert_true(!cli.resume && !cli.json && !cli.bmap && !cli.bmap_sha256);
}

/* help VERB and VERB --help: that verb's page alone; --version */
static void test_help_and_version(void **state)
{
	static const struct {
		const char *line;
		enum vhdx_cli_cmd verb;
		const char *first_line; /* the page starts with it */
	} cases[] = {
		{ "help", VHDX_CMD_HELP, "usage: vhdx create [options] TARGET\n       vhdx info" },
		{ "--help", VHDX_CMD_HELP, "usage: vhdx create [options] TARGET\n       vhdx info" },
		{ "help create", VHDX_CMD_CREATE, "usage: vhdx create [options] TARGET\ncreate options:" },
		{ "-h convert", VHDX_CMD_CONVERT, "usage: vhdx convert " },
		{ "help info", VHDX_CMD_INFO, "usage: vhdx info [--json] TARGET\n" },
		{ "help check", VHDX_CMD_CHECK, "usage: vhdx check TARGET\n" },
		{ "help compare", VHDX_CMD_COMPARE, "usage: vhdx compare " },
		{ "help repair", VHDX_CMD_REPAIR, "usage: vhdx repair " },
		{ "help list", VHDX_CMD_LIST, "usage: vhdx list\n" },
		{ "help help", VHDX_CMD_HELP, "usage: vhdx create [options] TARGET\n       vhdx info" },
		{ "convert a b --help", VHDX_CMD_CONVERT, "usage: vhdx convert " },
		{ "repair -?", VHDX_CMD_REPAIR, "usage: vhdx repair " },
		{ "info -h", VHDX_CMD_INFO, "usage: vhdx info " },
		{ "list --help", VHDX_CMD_LIST, "usage: vhdx list\n" },
	};
	static const char *const other_verbs[] = { "create", "convert", "compare", "repair", "info --json" };
	struct vhdx_cli cli;
	char why[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *page;

		if (parse(&cli, why, sizeof(why), cases[i].line) != VHDX_OK)
			fail_msg("'%s': %s", cases[i].line, why);
		assert_int_equal(cli.cmd, VHDX_CMD_HELP);
		if (cli.help_verb != cases[i].verb)
			fail_msg("'%s': help for %d, expected %d", cases[i].line, cli.help_verb, cases[i].verb);
		page = vhdx_cli_help(cli.help_verb);
		if (strncmp(page, cases[i].first_line, strlen(cases[i].first_line)))
			fail_msg("'%s': the page starts '%.60s'", cases[i].line, page);
		assert_int_equal(page[strlen(page) - 1], '\n'); /* the shell prompt starts on its own line */
		if (cli.help_verb == VHDX_CMD_HELP)
			continue;
		/* the verb's page alone: no other verb's synopsis */
		for (j = 0; j < sizeof(other_verbs) / sizeof(other_verbs[0]); j++) {
			char syn[40];

			snprintf(syn, sizeof(syn), "vhdx %s ", other_verbs[j]);
			if (!strstr(cases[i].first_line, syn) && strstr(page, syn))
				fail_msg("'%s': the page has '%s'", cases[i].line, syn);
		}
	}
	/* every line of every page fits 80 columns */
	for (i = VHDX_CMD_HELP; i <= VHDX_CMD_VERSION; i++) {
		const char *p = vhdx_cli_help((enum vhdx_cli_cmd)i), *nl;

		for (; (nl = strchr(p, '\n')); p = nl + 1)
			if (nl - p > 80)
				fail_msg("page %zu: a line of %d columns: '%.*s'", i, (int)(nl - p), (int)(nl - p), p);
		assert_int_equal(*p, '\0'); /* ends with a newline */
	}
	assert_int_equal(parse(&cli, why, sizeof(why), "--version"), VHDX_OK);
	assert_int_equal(cli.cmd, VHDX_CMD_VERSION);
	assert_string_equal(vhdx_cli_version(), "vhdx " VHDX_VERSION "\n");
	/* the version is what a new image's creator field says by default */
	assert_non_null(strstr(vhdx_cli_help(VHDX_CMD_CREATE), "(\"vhdx " VHDX_VERSION "\")"));
}

static void test_errors_name_the_rule(void **state)
{
	static const struct {
		const char *line;
		const char *fragment;
	} cases[] = {
		{ "", "missing command" },
		{ "bmap g.vhdx", "SOURCE and OUT.bmap needed" },
		{ "bmap a b c", "extra argument c" },
		{ "verify d", "--bmap FILE needed" },
		{ "verify --bmap g.bmap", "missing TARGET" },
		{ "verify --bmap g.bmap a b", "extra argument b" },
		{ "compare --bmap g.bmap a b", "--bmap does not apply" },
		{ "bmap --zeros a b", "--zeros does not apply" },
		{ "convert --resume a b", "--resume needs --bmap FILE" },
		{ "convert --bmap-sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef a b",
		  "--bmap-sha256 needs --bmap FILE" },
		{ "convert --bmap m --bmap-sha256 abc a b", "--bmap-sha256 must be 64 hexadecimal digits, not abc" },
		{ "convert --bmap m --bmap-sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg a b",
		  "64 hexadecimal digits" },
		{ "compare --resume a b", "--resume does not apply" },
		{ "bmap --json a b", "--json does not apply" },
		{ "create -s 1G -b 3M x", "power of two" },
		{ "create -s 1000 x", "remainder 488" },
		{ "create -s 65T x", "64 TiB" },
		{ "create --bogus x", "unknown option --bogus" },
		{ "create -s", "needs a value" },
		{ "create -t differencing x", "needs --parent" },
		{ "create -t differencing --parent p -s 1G x", "--size contradicts" },
		{ "create -t fixed --zero-blocks -s 1G x", "dynamic images only" },
		{ "info", "missing TARGET" },
		{ "check a b", "extra argument b" },
		{ "list x", "list takes no TARGET" },
		{ "info --size 1G x", "does not apply" },
		/* long names are matched whole and quoted from the option table */
		{ "create -s 1G --physical-sector-size 1000 x",
		  "--physical-sector-size must be 512 or 4096, not 1000" },
		{ "create -s 1G --physical-sector-siz 512 x", "unknown option --physical-sector-siz" },
		{ "create -s 1G --physical-sector-sizes=512 x", "unknown option --physical-sector-sizes=512" },
		{ "create -s 1G --yes=1 x", "option --yes takes no value" },
		{ "info --zero-blocks x", "option --zero-blocks does not apply" },
		{ "create -s 1G --allow-sector-mismatch x", "option --allow-sector-mismatch does not apply" },
		{ "compare --allow-sector-mismatch a b", "option --allow-sector-mismatch does not apply" },
		{ "convert --allow-sector-mismatch=yes a b", "option --allow-sector-mismatch takes no value" },
		{ "convert --allow-sector-mismatchx a b", "unknown option --allow-sector-mismatchx" },
		{ "convert --allow-sector a b", "unknown option --allow-sector" },
		{ "help bogus", "help: unknown command bogus" },
		{ "help create info", "extra argument info (help takes one VERB)" },
		{ "--version 2", "extra argument 2 (--version takes none)" },
		{ "-V", "unknown command -V" },
		{ "create --version x", "unknown option --version" },
	};
	struct vhdx_cli cli;
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(why, 0, sizeof(why));
		assert_int_not_equal(parse(&cli, why, sizeof(why), cases[i].line), VHDX_OK);
		if (!strstr(why, cases[i].fragment))
			fail_msg("'%s': '%s' lacks '%s'", cases[i].line, why, cases[i].fragment);
		assert_null(strchr(why, '\n')); /* one line */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_create_options),
		cmocka_unit_test(test_other_commands),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_errors_name_the_rule),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
