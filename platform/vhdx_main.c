/* SPDX-License-Identifier: MIT */
/* vhdx_main.c - the host command: parse with the shared parser, dispatch. */
#include <stdio.h>

#include "host.h"
#include "host_http.h"

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
