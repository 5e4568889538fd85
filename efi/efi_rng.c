/* SPDX-License-Identifier: MIT */
/*
 * efi_rng.c - random GUIDs (FileWriteGuid, DataWriteGuid, Page 83 ID).
 *
 * From EFI_RNG_PROTOCOL (default algorithm) when the firmware has it.
 * Otherwise a fallback that is not cryptographic but differs on every run
 * and every call: a 256-bit state absorbs
 *   - RuntimeServices->GetTime (date, time, nanoseconds),
 *   - BootServices->GetNextMonotonicCount (the high half grows on every
 *     boot on firmware that keeps it in a variable; the low half on every
 *     call),
 *   - the cycle counter (TSC on x86_64, CNTVCT on AArch64) read before and
 *     after a 1 us Stall, whose jitter differs from run to run,
 *   - the address of a stack variable and of the state (ASLR, if any),
 *   - a call counter,
 * and each output word is a SplitMix64 finalisation of the mixed state.
 * A GUID made this way is still marked version 4.
 */
#include "efi_app.h"

static EFI_GUID efi_rng_protocol_guid = EFI_RNG_PROTOCOL_GUID;

static UINT64 efi_rng_mix(UINT64 z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void efi_rng_fallback(UINT8 *out, UINTN len)
{
	static UINT64 calls;
	UINT64 s[4] = { 0, 0, 0, 0 };
	EFI_TIME t;
	UINT64 mono = 0;
	UINTN i;

	calls++;
	ZeroMem(&t, sizeof(t));
	RT->GetTime(&t, NULL);
	BS->GetNextMonotonicCount(&mono);
	s[0] = ((UINT64)t.Year << 48) ^ ((UINT64)t.Month << 40) ^ ((UINT64)t.Day << 32) ^
	       ((UINT64)t.Hour << 24) ^ ((UINT64)t.Minute << 16) ^ ((UINT64)t.Second << 8);
	s[1] = (UINT64)t.Nanosecond ^ (mono << 20) ^ (mono >> 44);
	s[2] = efi_clock_cycles();
	BS->Stall(1);
	s[3] = efi_clock_cycles() ^ (UINT64)(UINTN)&t ^ ((UINT64)(UINTN)s << 17) ^ calls;
	for (i = 0; i < len; i++) {
		UINT64 w;

		if (i % 8 == 0) {
			s[0] = efi_rng_mix(s[0] ^ s[1]);
			s[1] = efi_rng_mix(s[1] ^ s[2] ^ i);
			s[2] = efi_rng_mix(s[2] ^ s[3]);
			s[3] = efi_rng_mix(s[3] ^ s[0] ^ efi_clock_cycles());
		}
		w = s[(i / 8) % 4] ^ s[(i / 8 + 1) % 4];
		out[i] = (UINT8)(w >> (8 * (i % 8)));
	}
}

enum efi_rng_source efi_rng_guid(struct vhdx_guid *g)
{
	EFI_RNG_PROTOCOL *rng = NULL;
	enum efi_rng_source src = EFI_RNG_FROM_FALLBACK;

	if (!EFI_ERROR(BS->LocateProtocol(&efi_rng_protocol_guid, NULL, (void **)&rng)) && rng &&
	    !EFI_ERROR(rng->GetRNG(rng, NULL, sizeof(g->bytes), g->bytes)))
		src = EFI_RNG_FROM_PROTOCOL;
	else
		efi_rng_fallback(g->bytes, sizeof(g->bytes));
	vhdx_guid_make_v4(g);
	return src;
}
