/* SPDX-License-Identifier: MIT */
/*
 * efi_main.c - vhdx.efi: arguments from the shell, the shared parser
 * (core/vhdx_cli.h), dispatch, and the returned EFI_STATUS (its mapping to
 * DESIGN.md's exit classes is in efi_app.h).
 */
#include "efi_app.h"

/* The whole page: the shared text and the UEFI shell's own; VERB's alone. */
static void efi_usage(enum vhdx_cli_cmd verb)
{
	efi_con_utf8(vhdx_cli_help(verb));
	if (verb != VHDX_CMD_HELP)
		return;
	efi_con_utf8("\nTARGET in the UEFI shell: a mapping (blk1:), a device path\n"
		     "(PciRoot(0x0)/Pci(0x5,0x0)) or a file (fs0:\\disk.vhdx).\n"
		     "Returned status (%lasterror% shows its low bits): 0x0 done;\n"
		     "0x2 (EFI_INVALID_PARAMETER) bad invocation or refused target, nothing written;\n"
		     "0x15 (EFI_ABORTED) stopped by the user; 0x7 (EFI_DEVICE_ERROR) failed\n"
		     "part-way, nothing that looks like a VHDX left on the target.\n"
		     "check/info: 0x0 consistent; 0xA (EFI_VOLUME_CORRUPTED) errors found or not\n"
		     "a VHDX; 0x2 or 0x7 could not run.\n");
}

/* argv (CHAR16) -> UTF-8 copies for the shared parser; NULL if no memory. */
static char **efi_args_utf8(INTN argc, CHAR16 **argv16)
{
	char **argv = AllocateZeroPool((argc + 1) * sizeof(char *));
	INTN i;

	if (!argv)
		return NULL;
	for (i = 0; i < argc; i++) {
		argv[i] = efi_text_to_utf8(argv16[i]);
		if (!argv[i])
			return NULL;
	}
	return argv;
}

static void efi_args_free(char **argv, INTN argc)
{
	INTN i;

	if (!argv)
		return;
	for (i = 0; i < argc; i++)
		if (argv[i])
			FreePool(argv[i]);
	FreePool(argv);
}

/* Not EFIAPI: gnu-efi's crt0 calls it with the System V convention. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct vhdx_cli cli;
	CHAR16 **argv16 = NULL;
	char **argv;
	char why[256];
	INTN argc;
	EFI_STATUS st;
	int err;

	InitializeLib(image, systab);
	efi_clock_init();
	argc = GetShellArgcArgv(image, &argv16);
	if (argc <= 0 || !argv16)
		return efi_refuse("no arguments: run vhdx.efi from the UEFI shell (vhdx help)");
	argv = efi_args_utf8(argc, argv16);
	if (!argv)
		return efi_out_of_memory();
	ZeroMem(&cli, sizeof(cli));
	why[0] = 0;
	err = vhdx_cli_parse(&cli, (int)argc, argv, why, sizeof(why));
	if (err != VHDX_OK) {
		st = efi_con_fail(efi_status_of(err), why[0] ? why : vhdx_strerror(err));
		goto out;
	}
	if (cli.cacert) {
		st = efi_cacert_install(&cli);
		if (EFI_ERROR(st))
			goto out;
	}
	switch (cli.cmd) {
	case VHDX_CMD_HELP:
		efi_usage(cli.help_verb);
		st = EFI_SUCCESS;
		break;
	case VHDX_CMD_VERSION:
		efi_con_utf8(vhdx_cli_version());
		st = EFI_SUCCESS;
		break;
	case VHDX_CMD_CREATE:
		st = efi_cmd_create(&cli, image);
		break;
	case VHDX_CMD_LIST:
		st = efi_cmd_list(image);
		break;
	case VHDX_CMD_INFO:
	case VHDX_CMD_CHECK:
		st = efi_cmd_read(&cli, image);
		break;
	case VHDX_CMD_COMPARE:
		st = efi_cmd_compare(&cli, image);
		break;
	case VHDX_CMD_REPAIR:
		st = efi_cmd_repair(&cli, image);
		break;
	case VHDX_CMD_CONVERT:
		st = efi_cmd_convert(&cli, image);
		break;
	case VHDX_CMD_BMAP:
		st = efi_cmd_bmap(&cli, image);
		break;
	case VHDX_CMD_VERIFY:
		st = efi_cmd_verify(&cli, image);
		break;
	default:
		st = efi_con_fail(EFI_UNSUPPORTED, "unknown command");
		break;
	}
out:
	efi_cacert_restore(); /* --cacert: the firmware's CA list as it was */
	efi_args_free(argv, argc);
	return st;
}
