/* SPDX-License-Identifier: MIT */
/*
 * efi_app.h - the pieces of vhdx.efi, the UEFI frontend of the core.
 *
 * The only file set that includes both gnu-efi and the core headers.
 * Functions are efi_<topic>_<verb>; gnu-efi exports are CamelCase, so the
 * two never collide.  Text from the core is UTF-8 (char), text for the
 * firmware is UCS-2 (CHAR16).
 */
#ifndef EFI_APP_H
#define EFI_APP_H

#include <efi.h>
#include <efilib.h>

#include "vhdx.h"
#include "vhdx_cli.h"
#include "vhdx_print.h"

/*
 * Returned EFI_STATUS (seen as %lasterror% in the shell), with the exit
 * classes of DESIGN.md "Command line":
 *   EFI_SUCCESS            done (for create: written and flushed; also
 *                          help, list, and --dry-run, which write nothing)
 *   EFI_INVALID_PARAMETER  exit 2: bad invocation or refused target
 *                          (absent or read-only media, boot device, too
 *                          small, not blank without --force); nothing written
 *   EFI_ABORTED            stopped by the user: confirmation declined
 *                          (nothing written) or ESC while writing (the
 *                          target holds nothing that looks like a VHDX)
 *   EFI_DEVICE_ERROR       exit 1: an I/O error part-way; nothing on the
 *                          target looks like a VHDX
 *   EFI_OUT_OF_RESOURCES   no memory for the buffers; nothing written
 *   EFI_UNSUPPORTED        a command this build does not have
 */
#define EFI_APP_REFUSED  EFI_INVALID_PARAMETER
#define EFI_APP_FAILED   EFI_DEVICE_ERROR

/* ---- efi_status.c ---- */

/* The status the app returns for a core error (enum vhdx_err), by one
 * table: VHDX_OK EFI_SUCCESS; INVAL, RANGE, DEVFULL, UNSUPPORTED refused;
 * IO, NOSPACE, STATE failed; CORRUPT EFI_VOLUME_CORRUPTED; ABORTED
 * EFI_ABORTED; anything else failed. */
EFI_STATUS efi_status_of(int err);
/* The same table's other column: a core error met while nothing is
 * written (opening, reading or checking a source, a parent or the target;
 * repair's checks before its replay): refused, "could not run", whatever
 * the error; ABORTED EFI_ABORTED; VHDX_OK EFI_SUCCESS. */
EFI_STATUS efi_status_before_write(int err);

/* One error line (efi_con_fail, efi_con_failf) and its status, for a reason
 * of the app's own (no core error): refused, nothing written; out of
 * memory (EFI_OUT_OF_RESOURCES, "out of memory"). */
EFI_STATUS efi_refuse(const char *text);
EFI_STATUS efi_refusef(const CHAR16 *fmt, ...);
EFI_STATUS efi_out_of_memory(void);

/* ---- efi_console.c: output, input, clock ---- */

/* Prints UTF-8 text ('\n' becomes CR LF). */
void efi_con_utf8(const char *text);
/* One error line "vhdx: <text>" (UTF-8); returns status for `return`. */
EFI_STATUS efi_con_fail(EFI_STATUS status, const char *text);
/* The same with a CHAR16 format (gnu-efi Print syntax). */
EFI_STATUS efi_con_failf(EFI_STATUS status, const CHAR16 *fmt, ...);
EFI_STATUS efi_con_vfailf(EFI_STATUS status, const CHAR16 *fmt, va_list ap);
/* TRUE when ESC is among the keys waiting (the others are dropped). */
BOOLEAN efi_con_esc_pressed(void);
/* Reads a line (echoed) into buf; FALSE on ESC. */
BOOLEAN efi_con_read_line(CHAR16 *buf, UINTN units);
/* One line of the core's printers (plan, info, check): @text and a newline. */
void efi_con_line(void *ctx, const char *text);
/* The typed confirmation before overwriting @target: TRUE only for "yes". */
BOOLEAN efi_con_confirm_overwrite(const char *target);

/* Monotonic microseconds since efi_clock_init (TSC on x86_64, the generic
 * timer on AArch64; calibrated against BootServices->Stall). */
void efi_clock_init(void);
UINT64 efi_clock_us(void);
/* A raw cycle counter (also an entropy source). */
UINT64 efi_clock_cycles(void);

/* ---- efi_text.c: UTF-8/UCS-2 and number formatting ---- */

/* CHAR16 -> freshly pooled UTF-8 (surrogate pairs joined); NULL if no memory. */
char *efi_text_to_utf8(const CHAR16 *s);
/* UTF-8 -> CHAR16 into buf (cut to fit, always terminated); invalid bytes become '?'. */
void efi_text_from_utf8(const char *s, CHAR16 *buf, UINTN units);
/* Appends CHAR16 text as UTF-8 (the core's vhdx_text builder, vhdx.h). */
void efi_text_add16(struct vhdx_text *t, const CHAR16 *s);

/* ---- efi_rng.c ---- */

enum efi_rng_source {
	EFI_RNG_FROM_PROTOCOL,  /* EFI_RNG_PROTOCOL */
	EFI_RNG_FROM_FALLBACK,  /* documented mix, see efi_rng.c */
};
/* Fills a random version-4 GUID. */
enum efi_rng_source efi_rng_guid(struct vhdx_guid *g);

/* ---- efi_devices.c: BlockIo devices, mappings, device paths ---- */

struct efi_dev {
	EFI_HANDLE handle;
	EFI_BLOCK_IO *bio;
	EFI_DEVICE_PATH *dp;        /* firmware-owned */
	CHAR16 *dp_text;            /* pooled; never NULL */
	CHAR16 *map_text;           /* pooled shell mappings ("BLK1:"), or NULL */
	BOOLEAN is_boot;            /* the device the app came from, or a disk under it */
};

/* Connects every controller (recursively); OVMF connects only boot
 * devices when a bootindex is set. */
void efi_dev_connect_all(void);
/* Every BlockIo handle, pooled array; *ret_count entries. */
EFI_STATUS efi_dev_list(struct efi_dev **ret, UINTN *ret_count, EFI_HANDLE image);
void efi_dev_free(struct efi_dev *devs, UINTN count);
/* Device path of a shell mapping ("blk1:", "fs0:"); NULL if none. */
EFI_DEVICE_PATH *efi_dev_path_from_map(const CHAR16 *map);
/* Device path from text (EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL); pooled or NULL. */
EFI_DEVICE_PATH *efi_dev_path_from_text(const CHAR16 *text);
/* The index in devs whose device path equals dp, or -1. */
INTN efi_dev_find(const struct efi_dev *devs, UINTN count, const EFI_DEVICE_PATH *dp);
/* Binary equality of two whole device paths, and "a is a prefix of b". */
BOOLEAN efi_dp_equal(const EFI_DEVICE_PATH *a, const EFI_DEVICE_PATH *b);
BOOLEAN efi_dp_prefix(const EFI_DEVICE_PATH *a, const EFI_DEVICE_PATH *b);

/* ---- efi_blockio.c: BlockIo reads and the sink ---- */

struct efi_job;

struct efi_bio {
	EFI_BLOCK_IO *bio;
	UINT32 media_id;     /* read once, passed on every call */
	UINT32 block_size;   /* [byte] 512 or 4096 (any power of two <= 4096) */
	UINT32 io_align;     /* [byte] 0 or 1: any */
	UINT64 size;         /* [byte] (LastBlock + 1) * BlockSize */
	EFI_STATUS status;   /* last firmware error */
	void *bounce;        /* IoAlign-aligned bounce buffer (pages), for misaligned callers */
	UINTN bounce_len;
};

/* Reads media facts; refuses nothing (the caller decides). */
EFI_STATUS efi_bio_open(struct efi_bio *b, EFI_BLOCK_IO *bio);
void efi_bio_close(struct efi_bio *b);
/* Reads or writes [off, off + len), block aligned, within the device. */
EFI_STATUS efi_bio_read(struct efi_bio *b, UINT64 off, void *buf, UINTN len);
EFI_STATUS efi_bio_write(struct efi_bio *b, UINT64 off, const void *buf, UINTN len);

/* What a device holds (efi_probe.c): blank when its first 4 MiB and last
 * 1 MiB read as zeros; else named by the core's vhdx_identify(). */
#define EFI_PROBE_HEAD (4u << 20)   /* [byte] must be zero from the start */
#define EFI_PROBE_TAIL (1u << 20)   /* [byte] must be zero at the end */

struct efi_probe {
	BOOLEAN blank;
	BOOLEAN is_vhdx;        /* starts with the VHDX file identifier */
	const char *what;       /* "blank", "a GPT partition table", "unknown data", "unreadable" */
	UINT64 first_nonzero;   /* [byte] offset of the first non-zero byte seen */
	EFI_STATUS status;      /* an error when unreadable */
};
void efi_probe_bio(struct efi_bio *b, struct efi_probe *ret);

/* ---- efi_sink.c: the core's sink over BlockIo or a file ---- */

struct efi_job {
	struct efi_bio *bio;        /* block target, or NULL */
	EFI_FILE_HANDLE file;       /* file target, or NULL */
	const void *zeros;          /* zeroed, IoAlign-aligned; NULL: the core zeroes */
	size_t zeros_len;           /* [byte] multiple of 4096 */
	EFI_STATUS status;          /* the firmware status that failed */
	const char *failed_op;      /* "write", "flush" */
	UINT64 failed_off;
	BOOLEAN quiet;
	BOOLEAN aborted;            /* ESC */
	BOOLEAN printed;            /* a progress line is on screen */
	UINT64 start_us;
	UINT64 last_print_us;
	UINT64 last_esc_us;
	UINT64 bytes;               /* written through write() */
	UINT64 io_us;               /* time inside the firmware's write calls */
	UINT64 flush_us;            /* time inside FlushBlocks / Flush */
	UINT64 flushes;
};
void efi_sink_init(struct vhdx_sink *s, struct efi_job *job);

/* ---- efi_target.c: TARGET, for create, info/check and --parent ---- */

enum efi_target_kind {
	EFI_TARGET_BLOCK,
	EFI_TARGET_FILE,
	EFI_TARGET_URL,              /* http:// or https://, read-only (efi_http.c) */
};

struct efi_http;

struct efi_target {
	enum efi_target_kind kind;
	CHAR16 *name;                /* TARGET as given (pooled) */
	/* block */
	struct efi_dev *devs;
	UINTN dev_count;
	struct efi_dev *dev;
	struct efi_bio bio;
	struct efi_probe probe;
	/* file */
	EFI_FILE_HANDLE root;
	CHAR16 *path;                /* inside the volume (pooled) */
	BOOLEAN exists;
	UINT64 old_size;             /* [byte] of an existing file */
	UINT64 free_space;           /* [byte] on the volume */
	EFI_DEVICE_PATH *fs_dp;      /* of the volume */
	/* URL */
	struct efi_http *http;       /* the opened URL (its size known), or NULL */
};

/*
 * Resolves TARGET (a mapping, a device path in text, or fsN:\\path).  With
 * for_write, refuses what must not be written (no media, read-only, the
 * boot device); prints the one-line reason itself.
 */
EFI_STATUS efi_target_resolve(struct efi_target *t, const struct vhdx_cli *cli, BOOLEAN for_write,
			      EFI_HANDLE image);
void efi_target_free(struct efi_target *t);
/* After a failed write, read back rather than assumed: 1 when the target
 * (device or file) starts with the vhdxfile signature, 0 when not, -1
 * when it cannot be read. */
int efi_target_signature(struct efi_target *t);

/* ---- efi_source.c: the core's source over a TARGET ---- */

struct efi_source {
	struct efi_bio *bio;        /* a block target's, or NULL */
	struct efi_http *http;      /* a URL target's, or NULL */
	EFI_FILE_HANDLE file;       /* a file target's, opened read-only, or NULL */
	EFI_STATUS status;          /* the firmware status that failed: the open, or
				     * the read after which the source returned VHDX_ERR_IO */
	EFI_STATUS *also;           /* a chain's parent: a failed read's status kept
				     * there too (efi_chain_ops.status), or NULL */
};

/*
 * Fills ret, a source over TARGET that reads through src: a block device
 * through efi_bio_read (size: the device's), a file opened read-only
 * (size: t->old_size).  Returns the status of that open, also kept in
 * src->status; src needs efi_source_close afterwards, even on failure.
 */
EFI_STATUS efi_source_open(struct efi_source *src, struct efi_target *t, struct vhdx_source *ret);
/* The same over an opened BlockIo device (no close needed). */
void efi_source_bio(struct efi_source *src, struct efi_bio *b, struct vhdx_source *ret);
/* The same over a file already opened read-only (closed by efi_source_close). */
void efi_source_file(struct efi_source *src, EFI_FILE_HANDLE f, UINT64 size, struct vhdx_source *ret);
/* The same over an opened URL (closed by its owner, not here). */
void efi_source_url(struct efi_source *src, struct efi_http *h, struct vhdx_source *ret);
/* Closes the file, if any (also after a failed open). */
void efi_source_close(struct efi_source *src);

/* ---- efi_net.c, efi_http.c: a URL as a source ---- */

/* Connects the network controllers, picks the interface (cli->nic, else
 * the first with an address, else the first), and when it has no IPv4
 * address sets the DHCP policy and waits for one, saying so.  Prints the
 * reason and returns an error otherwise. */
EFI_STATUS efi_net_up(const struct vhdx_cli *cli, EFI_HANDLE *ret_nic);
/* TARGET as a URL (a URL is never written: refused for_write); brings the
 * network up and opens the URL: its size is known after it.  Prints the
 * one-line reason on failure (HTTP status, TLS, DNS, a server that
 * ignores Range).  efi_target_free closes it. */
EFI_STATUS efi_target_url(struct efi_target *t, const struct vhdx_cli *cli, BOOLEAN for_write);
/* The URL opened on that interface (a chain's parent); prints the reason
 * on failure; *ret needs efi_http_close even then. */
EFI_STATUS efi_http_open(struct efi_http **ret, const char *url, EFI_HANDLE nic);
UINT64 efi_http_size(const struct efi_http *h);
/* A failure of the server's or the network's was said in a line of its own
 * (the caller adds none). */
BOOLEAN efi_http_said(const struct efi_http *h);
/* Once a command has begun writing, a failure of the server's or the
 * network's is not printed but kept: the command's one line gives it with
 * what the target holds (efi_http_reason: "URL: what", or NULL). */
void efi_http_keep_reason(struct efi_http *h);
const CHAR16 *efi_http_reason(const struct efi_http *h);
/* ESC stopped a wait of this URL or of a parent's in its chain. */
BOOLEAN efi_http_esc(const struct efi_http *h);
/* @parent, a chain's parent opened for @child's chain: said, kept and
 * given by the child's efi_http_said/keep_reason/reason with the child's
 * own (unlinked by efi_http_close). */
void efi_http_chain_add(struct efi_http *child, struct efi_http *parent);
EFI_HANDLE efi_http_nic(const struct efi_http *h);
/* Reads exactly [off, off + len) of the file: EFI_SUCCESS or the failure
 * (its line printed; EFI_ABORTED, ESC, is the caller's to say). */
EFI_STATUS efi_http_read(struct efi_http *h, UINT64 off, void *buf, UINTN len);
void efi_http_close(struct efi_http *h);

/* ---- efi_cacert.c: --cacert FILE ---- */

extern EFI_GUID efi_tls_ca_guid;  /* efi_http.c: where HttpDxe reads the trusted CAs */
/* The firmware's trusted CA list becomes the certificates in cli->cacert
 * (PEM or DER, a file on a volume) until efi_cacert_restore; a list kept
 * in NVRAM is refused, never overwritten.  Prints the reason on failure. */
EFI_STATUS efi_cacert_install(const struct vhdx_cli *cli);
/* Puts the list back as it was (nothing when none was replaced). */
void efi_cacert_restore(void);

/* ---- efi_chain.c: a differencing image's parents, for the core's chain ---- */

struct efi_chain_ops {
	struct vhdx_parent_ops ops;  /* pass &ops to the core */
	EFI_FILE_HANDLE root;        /* the child's volume; NULL: a block device */
	EFI_HANDLE nic;              /* a URL child's network interface, or NULL */
	struct efi_http *http;       /* a URL child's, which its parents join, or NULL */
	EFI_STATUS status;           /* the firmware status of a parent's failed read (the
				      * child's own is its efi_source's) */
};
/* Parents of @child are looked up on its volume (none for a block device),
 * or for a URL by its relative_path resolved against the child's URL. */
void efi_chain_ops_init(struct efi_chain_ops *c, const struct efi_target *child);
/* @t's name for chain lines: "fs0:\\vm\\c.vhdx" (mapping and volume path), or
 * as given for a block device; pooled, NULL when out of memory. */
char *efi_chain_name(const struct efi_target *t);

/* ---- efi_compare.c: a disk to read, for compare's two sides and convert's SOURCE ---- */

#define EFI_DISK_SCRATCH (1024u * 1024u) /* [byte] decoder, chain, BAT and bitmap pages */

struct efi_disk {
	const char *arg;                 /* as given (UTF-8); set before efi_disk_open */
	BOOLEAN want_vhdx;               /* read as VHDX even without the signature (its
					  * reason then says why not); set before open */
	struct efi_target t;
	struct efi_source src;
	struct vhdx_source s;
	struct efi_chain_ops cops;
	struct vhdx_chain chain;
	struct vhdx_chain_level *levels; /* pooled, VHDX_CHAIN_DEPTH_MAX; NULL: raw */
	BOOLEAN opened_chain;
	char *name;                      /* pooled, for chain lines */
	void *scratch;                   /* pages, EFI_DISK_SCRATCH: the reader's */
	struct vhdx_reader r;            /* the disk: a complete chain, or raw bytes */
};

/*
 * Opens d->arg for reading (a file, a mapping or a device path): as VHDX
 * when it starts with the signature (or want_vhdx; --source-format
 * decides when given), a child through its chain on its volume, a dirty
 * log through the core's view; else raw.  Prints the one-line reason and
 * returns EFI_APP_REFUSED (missing, not a VHDX that opens cleanly, broken
 * chain) or EFI_OUT_OF_RESOURCES otherwise.  d must start zeroed but for
 * arg and want_vhdx; efi_disk_close afterwards, even on failure.
 */
EFI_STATUS efi_disk_open(struct efi_disk *d, const struct vhdx_cli *cli, EFI_HANDLE image);
void efi_disk_close(struct efi_disk *d);
/* The firmware status of the read of @d that failed: its own file's or
 * device's, else a chain parent's; EFI_SUCCESS when no firmware call
 * failed (the core's own VHDX_ERR_IO: the log's replay in memory). */
EFI_STATUS efi_disk_status(const struct efi_disk *d);

/* ---- efi_parent.c: a differencing child's parent ---- */

struct efi_parent {
	struct vhdx_child_link link;           /* the locator, referenced by params */
	char relative[520];                    /* relative_path, '\\' separators */
	BOOLEAN from_volume_root;              /* the child is no file on the parent's volume */
};
/* Reads and checks cli->parent, fills params (size, sectors, Page 83 ID,
 * locator); prints the reason and returns an error otherwise. */
EFI_STATUS efi_parent_prepare(const struct vhdx_cli *cli, const struct efi_target *child,
			      struct vhdx_params *params, struct efi_parent *ret, EFI_HANDLE image);

/* ---- efi_bench.c: the hidden --bench-raw MODE of create and convert ---- */

/* TRUE for a MODE of that command: create "write", convert "copy", and
 * for a URL "tcp4" / "tcp4d" (one GET over EFI_TCP4 with a 4 MiB receive
 * buffer and window scaling / with TcpDxe's defaults: issue 20's
 * experiment against EFI_HTTP_PROTOCOL). */
BOOLEAN efi_bench_mode_known_for(enum vhdx_cli_cmd cmd, const char *mode);
/* A plain WriteBlocks loop of zeros over vhdx_image_total(plan) bytes in
 * chunks of chunk bytes, then FlushBlocks; prints time and MiB/s. */
EFI_STATUS efi_bench_raw(const struct vhdx_cli *cli, struct efi_target *t,
			 const struct vhdx_plan *plan, UINTN chunk, EFI_HANDLE image);
/* convert's plain copy loop: size bytes of s from byte from (reads of
 * chunk bytes into buf; es holds the firmware status of a failed read)
 * written to dst from byte 0 with WriteBlocks, then one FlushBlocks;
 * prints time, MiB/s and the time in reads and in writes.  The caller
 * holds dst exclusively; buf is page-aligned, at least chunk bytes. */
EFI_STATUS efi_bench_copy(const char *mode, const char *url, const struct vhdx_source *s,
			  const struct efi_source *es, UINT64 from, struct efi_bio *dst, UINT64 size, void *buf,
			  UINTN chunk);

/* ---- commands ---- */

EFI_STATUS efi_cmd_create(const struct vhdx_cli *cli, EFI_HANDLE image);
EFI_STATUS efi_cmd_list(EFI_HANDLE image);
/* info and check (efi_read.c) */
EFI_STATUS efi_cmd_read(const struct vhdx_cli *cli, EFI_HANDLE image);
/* "VHDX (dynamic, 64 GiB)" when the device holds a VHDX; FALSE otherwise */
BOOLEAN efi_read_summary(struct efi_bio *b, char *buf, size_t len);

/* ---- efi_blockio.c: page allocations (4 KiB aligned) ---- */
void *efi_pages_alloc(UINTN bytes);
void efi_pages_free(void *p, UINTN bytes);

/* ---- efi_compare.c, efi_repair.c: compare A B, repair [-n] TARGET ---- */

/* compare: EFI_SUCCESS identical (the shorter disk zero-extended, or a
 * larger raw device compared over the other disk's extent: it holds it);
 * EFI_COMPROMISED_DATA (0x21) different, the first differing offset
 * printed; EFI_APP_REFUSED could not run (missing, not a VHDX, broken
 * chain); EFI_APP_FAILED a read failed; EFI_ABORTED ESC. */
EFI_STATUS efi_cmd_compare(const struct vhdx_cli *cli, EFI_HANDLE image);
/* convert (efi_convert.c): EFI_SUCCESS written and flushed (or
 * --dry-run); EFI_APP_REFUSED refused with one line, nothing written;
 * EFI_ABORTED declined (nothing written) or ESC; EFI_APP_FAILED part-way.
 * After ESC or a failure a device's first MiB is zero (deploy) or holds no
 * VHDX signature (capture), and a file written is deleted. */
EFI_STATUS efi_cmd_convert(const struct vhdx_cli *cli, EFI_HANDLE image);
/* repair: EFI_SUCCESS replayed or nothing to do (and -n); EFI_APP_REFUSED
 * refused with one line (the replay unsafe), nothing written;
 * EFI_VOLUME_CORRUPTED replayed, errors remain that repair does not fix;
 * EFI_APP_FAILED part-way. */
EFI_STATUS efi_cmd_repair(const struct vhdx_cli *cli, EFI_HANDLE image);
/* bmap and verify (efi_bmap.c): the statuses are in its head comment. */
EFI_STATUS efi_cmd_bmap(const struct vhdx_cli *cli, EFI_HANDLE image);
EFI_STATUS efi_cmd_verify(const struct vhdx_cli *cli, EFI_HANDLE image);

/* [byte] the largest manifest read (the host's limit too): about 2.5
 * million ranges; a range never crosses a MiB (VHDX_BMAP_WINDOW), so a
 * disk with 600 GiB of data already needs more than 64 MiB */
#define EFI_BMAP_FILE_MAX (256u * 1024u * 1024u)
/*
 * The manifest cli->bmap, whole, into pool memory (*ret, a NUL after its
 * *ret_len bytes; FreePool it), for verify --bmap and convert --bmap: a
 * file on a volume or an http(s) URL (trust comes from --bmap-sha256,
 * checked by the caller's job), at most EFI_BMAP_FILE_MAX bytes.
 * Otherwise one line ending with @tail ("; nothing written", or "") and
 * EFI_APP_REFUSED (out of memory: EFI_OUT_OF_RESOURCES; ESC: EFI_ABORTED).
 * A URL's own failure met while it is read (HTTP status, TLS, retries
 * spent) is kept and said once, in that line; one met while it is opened
 * is said there, in a line of its own.
 */
EFI_STATUS efi_bmap_read_manifest(const struct vhdx_cli *cli, EFI_HANDLE image, const char *tail, char **ret,
				  UINTN *ret_len);

#endif /* EFI_APP_H */
