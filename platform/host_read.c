/* SPDX-License-Identifier: MIT */
/* host_read.c - `vhdx info` and `vhdx check`: placeholder until the reader lands (issue 4). */
#include "host.h"

int host_cmd_info(const struct vhdx_cli *cli)
{
	(void)cli;
	host_error("info: not implemented yet");
	return VHDX_EXIT_USAGE;
}

int host_cmd_check(const struct vhdx_cli *cli)
{
	(void)cli;
	host_error("check: not implemented yet");
	return VHDX_EXIT_USAGE;
}
