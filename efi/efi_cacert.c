/* SPDX-License-Identifier: MIT */
/*
 * efi_cacert.c - --cacert FILE: the firmware's trusted CA list (the
 * TlsCaCertificate variable HttpDxe reads for each TLS connection) made
 * FILE's for one command and put back after it (efi_main.c).  Above
 * efi_target/efi_source (it reads FILE through them) and beside
 * efi_http, which only reads the list.
 */
#include "efi_app.h"
#include "vhdx_url.h"

#define EFI_CA_FILE_MAX  (1u << 20)   /* [byte] a PEM bundle we read */

/* The CA list as it was before --cacert replaced it (one per run). */
static struct {
	BOOLEAN replaced;
	BOOLEAN existed;
	UINT32 attributes;
	void *data;
	UINTN size;
} efi_ca_saved;

static CHAR16 efi_ca_name[] = L"TlsCaCertificate";

static int efi_b64_value(UINT8 c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static BOOLEAN efi_ca_match(const UINT8 *p, UINTN left, const char *word)
{
	UINTN i;

	for (i = 0; word[i]; i++)
		if (i >= left || p[i] != (UINT8)word[i])
			return FALSE;
	return TRUE;
}

/*
 * FILE's certificates (PEM blocks, or one DER certificate) as
 * EFI_SIGNATURE_LISTs of type EFI_CERT_X509_GUID (UEFI 32.4.1: one list
 * per certificate, 28-byte header, SignatureSize 16 + DER length, an
 * owner GUID then the DER bytes), written into out (at least 2 * len
 * bytes).  Returns the bytes written, 0 when FILE holds none.
 */
static UINTN efi_ca_lists(const UINT8 *in, UINTN len, UINT8 *out)
{
	static const UINT8 x509[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
					0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	UINTN i = 0, o = 0;

	if (len > 4 && in[0] == 0x30 && !efi_ca_match(in, len, "-----")) {
		/* one DER certificate: the whole file */
		UINT32 sz = (UINT32)(16 + len), list = 28 + sz, zero = 0;

		CopyMem(out, x509, 16);
		CopyMem(out + 16, &list, 4);
		CopyMem(out + 20, &zero, 4);
		CopyMem(out + 24, &sz, 4);
		ZeroMem(out + 28, 16); /* owner: none of ours */
		CopyMem(out + 44, in, len);
		return 44 + len;
	}
	while (i < len) {
		UINTN head = o, der = o + 44, n = 0;
		UINT32 acc = 0, bits = 0, sz, list, zero = 0;

		if (!efi_ca_match(in + i, len - i, begin)) {
			i++;
			continue;
		}
		i += sizeof(begin) - 1;
		while (i < len && !efi_ca_match(in + i, len - i, end)) {
			int v = efi_b64_value(in[i++]);

			if (v < 0)
				continue; /* line ends, padding */
			acc = (acc << 6) | (UINT32)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[der + n++] = (UINT8)(acc >> bits);
			}
		}
		if (i >= len || n == 0)
			return 0; /* a block without its end: not a PEM file */
		sz = (UINT32)(16 + n);
		list = 28 + sz;
		CopyMem(out + head, x509, 16);
		CopyMem(out + head + 16, &list, 4);
		CopyMem(out + head + 20, &zero, 4);
		CopyMem(out + head + 24, &sz, 4);
		ZeroMem(out + head + 28, 16);
		o = der + n;
	}
	return o;
}

/* Puts the CA list back as it was before --cacert. */
void efi_cacert_restore(void)
{
	if (!efi_ca_saved.replaced)
		return;
	if (efi_ca_saved.existed)
		RT->SetVariable(efi_ca_name, &efi_tls_ca_guid, efi_ca_saved.attributes, efi_ca_saved.size,
				efi_ca_saved.data);
	else
		RT->SetVariable(efi_ca_name, &efi_tls_ca_guid, EFI_VARIABLE_BOOTSERVICE_ACCESS, 0, NULL);
	if (efi_ca_saved.data)
		FreePool(efi_ca_saved.data);
	ZeroMem(&efi_ca_saved, sizeof(efi_ca_saved));
}

/*
 * --cacert FILE (a file on a volume, PEM or DER): the firmware's trusted
 * CA list (the TlsCaCertificate variable HttpDxe reads for each TLS
 * connection) becomes FILE's until efi_cacert_restore.  A list kept in
 * NVRAM is never overwritten: refused.
 */
EFI_STATUS efi_cacert_install(const struct vhdx_cli *cli)
{
	struct vhdx_cli c = *cli;
	struct efi_target ft;
	struct efi_source fs;
	struct vhdx_source src;
	UINT8 *text = NULL, *lists = NULL;
	UINTN n = 0;
	UINT32 attributes = 0;
	EFI_STATUS st;

	ZeroMem(&ft, sizeof(ft));
	ZeroMem(&fs, sizeof(fs));
	for (n = 0; cli->cacert[n] && !(cli->cacert[n] == ':' && (cli->cacert[n + 1] == '\\' ||
								    cli->cacert[n + 1] == '/')); n++)
		;
	if (!cli->cacert[n] || vhdx_url_is_url(cli->cacert))
		return efi_refusef(L"--cacert %a: give a file on a volume (fs0:\\ca.pem)",
				     cli->cacert);
	c.target = cli->cacert;
	st = efi_target_resolve(&ft, &c, FALSE, NULL);
	if (EFI_ERROR(st))
		goto out;
	if (ft.kind != EFI_TARGET_FILE || ft.old_size == 0 || ft.old_size > EFI_CA_FILE_MAX) {
		st = efi_refusef(L"--cacert %a: give a PEM or DER file of at most 1 MiB (fs0:\\ca.pem)",
				   cli->cacert);
		goto out;
	}
	st = efi_source_open(&fs, &ft, &src);
	text = AllocatePool((UINTN)ft.old_size);
	lists = AllocatePool(2 * (UINTN)ft.old_size + 64);
	if (!EFI_ERROR(st) && (!text || !lists))
		st = EFI_OUT_OF_RESOURCES;
	if (!EFI_ERROR(st) && src.read(&src, 0, text, (size_t)ft.old_size) != VHDX_OK)
		st = fs.status;
	if (EFI_ERROR(st)) {
		st = efi_refusef(L"--cacert %a: cannot read it: %r", cli->cacert, st);
		goto out;
	}
	n = efi_ca_lists(text, (UINTN)ft.old_size, lists);
	if (!n) {
		st = efi_refusef(L"--cacert %a: no certificate in it (PEM or DER)", cli->cacert);
		goto out;
	}
	efi_ca_saved.size = 0;
	st = RT->GetVariable(efi_ca_name, &efi_tls_ca_guid, &attributes, &efi_ca_saved.size, NULL);
	if (st == EFI_BUFFER_TOO_SMALL) {
		efi_ca_saved.data = AllocatePool(efi_ca_saved.size);
		st = efi_ca_saved.data ? RT->GetVariable(efi_ca_name, &efi_tls_ca_guid, &attributes,
							 &efi_ca_saved.size, efi_ca_saved.data) :
					 EFI_OUT_OF_RESOURCES;
		if (EFI_ERROR(st)) {
			st = efi_con_failf(EFI_APP_FAILED, L"--cacert: cannot read the firmware's CA list: %r", st);
			goto out;
		}
		if (attributes & EFI_VARIABLE_NON_VOLATILE) {
			st = efi_con_fail(EFI_APP_REFUSED,
					  "--cacert: the platform keeps its CA list in NVRAM; vhdx does not overwrite it");
			goto out;
		}
		efi_ca_saved.existed = TRUE;
		efi_ca_saved.attributes = attributes;
	} else {
		attributes = EFI_VARIABLE_BOOTSERVICE_ACCESS;
	}
	st = RT->SetVariable(efi_ca_name, &efi_tls_ca_guid, attributes, n, lists);
	if (EFI_ERROR(st)) {
		st = efi_con_failf(EFI_APP_FAILED, L"--cacert: cannot set the firmware's CA list: %r", st);
		goto out;
	}
	efi_ca_saved.replaced = TRUE;
	st = EFI_SUCCESS;
out:
	if (EFI_ERROR(st) && !efi_ca_saved.replaced && efi_ca_saved.data) {
		FreePool(efi_ca_saved.data);
		ZeroMem(&efi_ca_saved, sizeof(efi_ca_saved));
	}
	efi_source_close(&fs);
	efi_target_free(&ft);
	if (text)
		FreePool(text);
	if (lists)
		FreePool(lists);
	return st;
}

