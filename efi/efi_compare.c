/* SPDX-License-Identifier: MIT */
/*
 * efi_compare.c - `vhdx compare A B` in the UEFI shell: the virtual disks
 * of two images or raw disks, byte for byte, by the core's vhdx_compare
 * (the loop the host tool runs too).  A and B are each a file
 * (fs0:\dir\x.vhdx), a mapping (blk1:) or a device path; read as VHDX when
 * they start with its signature (--source-format says otherwise), a child
 * through its chain (parents on its volume, efi_chain.c), a dirty log
 * through the core's view (vhdx_chain_open applies it).  Nothing is
 * written.  Disks of different sizes compare as if the shorter were
 * zero-extended; but a raw BlockIo device larger than the other disk (an
 * image deployed onto it) is compared over the other's extent only, and
 * the output says how many bytes of the device lie beyond it, not
 * compared (a device's tail holds whatever it held before).
 *
 * Status (qemu-img compare's contract, as %lasterror%):
 *   EFI_SUCCESS           identical (the shorter disk zero-extended, or
 *                         a larger device holds the image)
 *   EFI_COMPROMISED_DATA  different: the first differing offset printed
 *   EFI_APP_REFUSED       could not run: a missing or unreadable A or B,
 *                         not a VHDX when one was asked for, a broken chain
 *   EFI_APP_FAILED        a read failed part-way; EFI_ABORTED: ESC
 */
#include "efi_app.h"
#include "vhdx_data.h"
#include "vhdx_convert.h"

#define EFI_CMP_BUF     (4u * 1024u * 1024u) /* [byte] both sides' read buffers */
#define EFI_CMP_ESC_US  200000u              /* between two looks at the keyboard */

struct efi_cmp_progress {
	UINT64 last_esc_us;
	BOOLEAN aborted;
};

static int efi_cmp_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct efi_cmp_progress *p = ctx;
	UINT64 now = efi_clock_us();

	(void)done;
	(void)total;
	if (now - p->last_esc_us < EFI_CMP_ESC_US)
		return 0;
	p->last_esc_us = now;
	if (efi_con_esc_pressed()) {
		p->aborted = TRUE;
		return 1;
	}
	return 0;
}

EFI_STATUS efi_disk_open(struct efi_disk *d, const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct vhdx_cli c = *cli;
	char why[VHDX_WHY_SIZE + VHDX_CHAIN_WHY_SIZE + 160];
	EFI_STATUS st;
	int err;

	c.target = d->arg;
	st = efi_target_resolve(&d->t, &c, FALSE, image);
	if (EFI_ERROR(st))
		return st;
	st = efi_source_open(&d->src, &d->t, &d->s);
	if (EFI_ERROR(st))
		return efi_refusef(L"%s: cannot open: %r", d->t.name, st);
	d->scratch = efi_pages_alloc(EFI_DISK_SCRATCH);
	if (!d->scratch)
		return efi_out_of_memory();
	d->levels = AllocateZeroPool(VHDX_CHAIN_DEPTH_MAX * sizeof(*d->levels));
	d->name = efi_chain_name(&d->t);
	if (!d->levels || !d->name)
		return efi_out_of_memory();
	efi_chain_ops_init(&d->cops, &d->t);
	err = vhdx_convert_open_source(&d->s, d->name, cli->source_format, d->want_vhdx, &d->cops.ops, &d->chain,
				       d->levels, d->scratch, EFI_DISK_SCRATCH, &d->r, why, sizeof(why));
	if (err == VHDX_ERR_IO)
		return efi_http_said(d->src.http) ? efi_status_before_write(err) /* its line is out */ :
		       efi_con_failf(efi_status_before_write(err), L"%s: %a: %r", d->t.name, why, d->src.status);
	if (err)
		return efi_con_failf(efi_status_before_write(err), L"%s: %a", d->t.name, why);
	d->opened_chain = d->r.chain != NULL;
	if (!d->r.chain) {
		/* raw bytes: the reader's bounce page */
		FreePool(d->levels);
		d->levels = NULL;
		d->r.scratch = d->scratch;
		d->r.scratch_len = EFI_DISK_SCRATCH;
	}
	return EFI_SUCCESS;
}

void efi_disk_close(struct efi_disk *d)
{
	if (d->opened_chain)
		vhdx_chain_close(&d->chain, &d->cops.ops);
	efi_source_close(&d->src);
	efi_target_free(&d->t);
	efi_pages_free(d->scratch, EFI_DISK_SCRATCH);
	if (d->levels)
		FreePool(d->levels);
	if (d->name)
		FreePool(d->name);
}

EFI_STATUS efi_disk_status(const struct efi_disk *d)
{
	return EFI_ERROR(d->src.status) ? d->src.status : d->cops.status;
}

EFI_STATUS efi_cmd_compare(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_disk *side = NULL;
	struct efi_cmp_progress prog;
	struct vhdx_compare_result res;
	void *buf = NULL;
	char line[512];
	struct vhdx_text l;
	UINT64 beyond = 0;      /* [byte] of the larger side, a device, not compared */
	unsigned device = 2;    /* that side, 2: none */
	unsigned i;
	EFI_STATUS st;
	int err;

	if (!cli->source || !cli->target)
		return efi_refuse("compare: two images needed: vhdx compare A B");
	side = AllocateZeroPool(2 * sizeof(*side));
	if (!side)
		return efi_out_of_memory();
	side[0].arg = cli->source;
	side[1].arg = cli->target;
	st = efi_disk_open(&side[0], cli, image);
	if (!EFI_ERROR(st))
		st = efi_disk_open(&side[1], cli, image);
	if (EFI_ERROR(st))
		goto out;
	buf = efi_pages_alloc(EFI_CMP_BUF);
	if (!buf) {
		st = efi_out_of_memory();
		goto out;
	}
	vhdx_text_init(&l, line, sizeof(line));
	for (i = 0; i < 2; i++)
		if (side[i].r.raw && side[i].t.kind == EFI_TARGET_BLOCK && side[i].r.size > side[1 - i].r.size)
			device = i;
	if (device < 2) {
		unsigned image_side = 1 - device;

		beyond = side[device].r.size - side[image_side].r.size;
		if (!cli->quiet) {
			vhdx_text_str(&l, "sizes differ: ");
			vhdx_text_str(&l, side[device].arg);
			vhdx_text_str(&l, " is a block device of ");
			vhdx_text_u64(&l, side[device].r.size);
			vhdx_text_str(&l, " bytes, ");
			vhdx_text_str(&l, side[image_side].arg);
			vhdx_text_str(&l, " is ");
			vhdx_text_u64(&l, side[image_side].r.size);
			vhdx_text_str(&l, " bytes; ");
			vhdx_text_str(&l, side[image_side].arg);
			vhdx_text_str(&l, "'s extent is compared, the device's last ");
			vhdx_text_u64(&l, beyond);
			vhdx_text_str(&l, " bytes lie beyond it (not compared)\n");
			efi_con_utf8(line);
			vhdx_text_init(&l, line, sizeof(line));
		}
		side[device].r.size = side[image_side].r.size;
	} else if (side[0].r.size != side[1].r.size && !cli->quiet) {
		vhdx_text_str(&l, "sizes differ: ");
		vhdx_text_str(&l, cli->source);
		vhdx_text_str(&l, " is ");
		vhdx_text_u64(&l, side[0].r.size);
		vhdx_text_str(&l, " bytes, ");
		vhdx_text_str(&l, cli->target);
		vhdx_text_str(&l, " is ");
		vhdx_text_u64(&l, side[1].r.size);
		vhdx_text_str(&l, " bytes; the shorter is compared as if zero-extended\n");
		efi_con_utf8(line);
		vhdx_text_init(&l, line, sizeof(line));
	}
	ZeroMem(&prog, sizeof(prog));
	prog.last_esc_us = efi_clock_us();
	err = vhdx_compare(&side[0].r, &side[1].r, buf, EFI_CMP_BUF, &res, efi_cmp_progress, &prog);
	if (err == VHDX_ERR_ABORTED) {
		st = efi_con_fail(efi_status_of(err), "compare: stopped (ESC)");
	} else if (err == VHDX_ERR_IO) {
		st = efi_con_failf(efi_status_of(err), L"%s: read failed near offset %ld: %r",
				   side[res.failed].t.name, res.failed_offset, efi_disk_status(&side[res.failed]));
	} else if (err) {
		st = efi_con_failf(efi_status_of(err), L"%s: cannot read offset %ld: %a (see vhdx check)",
				   side[res.failed].t.name, res.failed_offset, vhdx_strerror(err));
	} else if (!res.same) {
		vhdx_text_str(&l, cli->source);
		vhdx_text_str(&l, " and ");
		vhdx_text_str(&l, cli->target);
		vhdx_text_str(&l, " differ at byte ");
		vhdx_text_u64(&l, res.difference);
		vhdx_text_str(&l, " (sector ");
		vhdx_text_u64(&l, res.difference / 512);
		vhdx_text_str(&l, " of 512)\n");
		efi_con_utf8(line);
		st = EFI_COMPROMISED_DATA;
	} else {
		if (!cli->quiet) {
			vhdx_text_str(&l, cli->source);
			vhdx_text_str(&l, " and ");
			vhdx_text_str(&l, cli->target);
			if (device < 2) {
				vhdx_text_str(&l, " are identical over ");
				vhdx_text_str(&l, side[1 - device].arg);
				vhdx_text_str(&l, "'s ");
				vhdx_text_u64(&l, res.compared);
				vhdx_text_str(&l, " bytes: the device holds the image; its last ");
				vhdx_text_u64(&l, beyond);
				vhdx_text_str(&l, " bytes were not compared\n");
			} else {
				vhdx_text_str(&l, " are identical (");
				vhdx_text_u64(&l, res.compared);
				vhdx_text_str(&l, " bytes compared)\n");
			}
			efi_con_utf8(line);
		}
		st = EFI_SUCCESS;
	}
out:
	efi_pages_free(buf, EFI_CMP_BUF);
	efi_disk_close(&side[1]);
	efi_disk_close(&side[0]);
	FreePool(side);
	return st;
}
