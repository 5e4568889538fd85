/* SPDX-License-Identifier: MIT */
/* vhdx_main.c - the host command: parse with the shared parser, dispatch. */
#include <stdio.h>

#include "host.h"
#include "host_http.h"
#include "vhdx_url.h"

/*
 * --nic N picks vhdx.efi's network interface; the same command line runs
 * on the host, where the system's routing picks the interface.  N is
 * checked as vhdx.efi checks it (digits: 0, 1, ...), so a script that
 * works here works there; for a URL one note says it is not used here.
 * 0, or VHDX_EXIT_USAGE after one line.
 */
static int host_nic(const struct vhdx_cli *cli)
{
	const char *c = cli->nic;
	unsigned n = 0;
	bool number;

	if (!c)
		return 0;
	number = *c != '\0';
	for (; *c && number; c++) {
		number = *c >= '0' && *c <= '9' && n <= 1000; /* efi_net.c's bound */
		n = n * 10u + (unsigned)(*c - '0');
	}
	c = cli->nic;
	if (!number) {
		host_error("--nic %s: give the interface's number (0, 1, ...)", c);
		return VHDX_EXIT_USAGE;
	}
	if (vhdx_url_is_url(cli->source) || vhdx_url_is_url(cli->target))
		host_error("note: --nic %s is for vhdx.efi; on the host the system's routing picks the interface", c);
	return 0;
}

int main(int argc, char **argv)
{
	struct vhdx_cli cli;
	char why[512];

	if (vhdx_cli_parse(&cli, argc, argv, why, sizeof(why))) {
		host_error("%s (try 'vhdx help')", why);
		return VHDX_EXIT_USAGE;
	}
	if (cli.bench) {
		/* the hidden benchmark of vhdx.efi: never a plain create or convert here */
		host_error("--bench-raw: only in the UEFI app (vhdx.efi)");
		return VHDX_EXIT_USAGE;
	}
	if (host_nic(&cli))
		return VHDX_EXIT_USAGE;
	host_http_set_cacert(cli.cacert);
	switch (cli.cmd) {
	case VHDX_CMD_CREATE:
		return host_cmd_create(&cli);
	case VHDX_CMD_INFO:
		return host_cmd_info(&cli);
	case VHDX_CMD_CHECK:
		return host_cmd_check(&cli);
	case VHDX_CMD_CONVERT:
		return host_cmd_convert(&cli);
	case VHDX_CMD_COMPARE:
		return host_cmd_compare(&cli);
	case VHDX_CMD_REPAIR:
		return host_cmd_repair(&cli);
	case VHDX_CMD_BMAP:
		return host_cmd_bmap(&cli);
	case VHDX_CMD_VERIFY:
		return host_cmd_verify(&cli);
	case VHDX_CMD_LIST:
		host_error("list: only in the UEFI app; on the host, use lsblk");
		return VHDX_EXIT_USAGE;
	case VHDX_CMD_HELP:
		fputs(vhdx_cli_help(cli.help_verb), stdout);
		return VHDX_EXIT_OK;
	case VHDX_CMD_VERSION:
		fputs(vhdx_cli_version(), stdout);
		return VHDX_EXIT_OK;
	}
	return VHDX_EXIT_USAGE;
}
