/* SPDX-License-Identifier: MIT */
/*
 * vhdx_cli.h - the command line both frontends share (DESIGN.md "Command
 * line").  Parsing lives in the core so that `vhdx` on the host and
 * `vhdx.efi` in the UEFI shell accept exactly the same syntax and give the
 * same one-line errors.  Arguments are NUL-terminated UTF-8; the EFI
 * frontend converts its CHAR16 argv first.
 */
#ifndef VHDX_CLI_H
#define VHDX_CLI_H

#include "vhdx.h"

enum vhdx_cli_cmd {
	VHDX_CMD_HELP = 0,
	VHDX_CMD_CREATE,
	VHDX_CMD_INFO,
	VHDX_CMD_CHECK,
	VHDX_CMD_LIST,
	VHDX_CMD_CONVERT,
	VHDX_CMD_COMPARE,
	VHDX_CMD_REPAIR,
	VHDX_CMD_BMAP,     /* bmap SOURCE OUT.bmap */
	VHDX_CMD_VERIFY,   /* verify --bmap F.bmap TARGET */
	VHDX_CMD_VERSION,  /* --version */
};

/* What an image is read or written as (convert -O, --source-format). */
enum vhdx_format {
	VHDX_FORMAT_AUTO = 0,  /* source: VHDX when it has the signature; output: by TARGET's name */
	VHDX_FORMAT_RAW,
	VHDX_FORMAT_VHDX,
};

struct vhdx_cli {
	enum vhdx_cli_cmd cmd;
	enum vhdx_cli_cmd help_verb; /* help: whose page (VHDX_CMD_HELP: the whole one) */
	/* create: parameters as given; GUIDs are left zero for the frontend */
	struct vhdx_params params;
	bool size_given;          /* -s given; else a fixed image fills the device */
	bool type_given;
	bool block_size_given;
	bool logical_sector_given;
	bool physical_sector_given;
	bool force;               /* -f: overwrite a target that is not blank */
	bool yes;                 /* -y: no confirmation prompt (UEFI) */
	bool dry_run;             /* -n: print the plan, write nothing */
	bool quiet;               /* -q: no plan, no progress */
	bool json;                /* info, convert --json */
	const char *target;             /* compare: the second image */
	const char *source;             /* convert, bmap: SOURCE; compare: the first image */
	enum vhdx_format output_format; /* convert -O */
	enum vhdx_format source_format; /* convert, compare: --source-format */
	bool sparse;                    /* convert --sparse: the target reads as zeros already */
	bool allow_sector_mismatch;     /* convert --allow-sector-mismatch: a partition table
					 * that counts other sectors than the device's written anyway */
	const char *parent;             /* create -t differencing */
	const char *parent_win32_path;  /* absolute_win32_path to record */
	const char *bench;              /* hidden: --bench-raw MODE (UEFI benchmark) */
	const char *bmap;               /* verify, convert --bmap FILE (the manifest) */
	const char *bmap_sha256;        /* --bmap-sha256 HEX: the manifest file's SHA-256, 64 digits */
	bool resume;                    /* convert --resume: ranges already right on TARGET kept */
	bool zeros;                     /* verify --zeros: unmapped blocks must read as zeros */
	const char *cacert;             /* --cacert FILE: the CAs an https:// source is checked against */
	const char *nic;                /* --nic N: the network interface for a URL (UEFI) */
};

#define VHDX_BMAP_SHA256_HEX 64u  /* [digit] --bmap-sha256 */

/* Exit statuses (DESIGN.md). */
#define VHDX_EXIT_OK      0
#define VHDX_EXIT_FAILED  1  /* work failed part-way; check: errors found */
#define VHDX_EXIT_USAGE   2  /* bad invocation or refused target; nothing written */

/*
 * vhdx_cli_parse - parse argv (argv[0] is the program name and is skipped).
 * @why: one-line reason on error, naming the option and the rule.
 * Returns VHDX_OK or VHDX_ERR_INVAL / VHDX_ERR_RANGE.  On success for
 * "create" the parameters are also validated with vhdx_plan_init where
 * they are complete (a size given, not differencing).
 */
int vhdx_cli_parse(struct vhdx_cli *ret, int argc, char *const *argv, char *why, size_t why_len);

/*
 * vhdx_parse_size - a number of bytes with an optional binary suffix
 * (K, M, G, T, KiB, MiB, GiB, TiB; case-insensitive; "B" for bytes).
 * VHDX_ERR_INVAL for syntax, VHDX_ERR_RANGE for overflow.
 */
int vhdx_parse_size(const char *text, uint64_t *ret);

/* The usage text, lines separated by '\n', the last one ended too. */
const char *vhdx_cli_usage(void);

/* One verb's usage (vhdx help VERB, vhdx VERB --help); VHDX_CMD_HELP: the whole page. */
const char *vhdx_cli_help(enum vhdx_cli_cmd verb);

/* "vhdx VERSION\n": what --version prints (VERSION: VHDX_VERSION, vhdx_base.h). */
const char *vhdx_cli_version(void);

#endif /* VHDX_CLI_H */
