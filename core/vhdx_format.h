/* SPDX-License-Identifier: MIT */
/*
 * vhdx_format.h - on-disk constants of VHDX ([MS-VHDX] v20240423).
 *
 * Offsets are in bytes from the start of the structure named in the
 * section; every multi-byte integer is little-endian.  GUIDs are given in
 * their on-disk byte order (Data1, Data2, Data3 little-endian).
 */
#ifndef VHDX_FORMAT_H
#define VHDX_FORMAT_H

#include "vhdx_env.h"

#define VHDX_KiB 1024u
#define VHDX_MiB (1024u * 1024u)
#define VHDX_TiB ((uint64_t)1 << 40)

/* 2.2: the first MiB of the file */
#define VHDX_FILE_ID_OFFSET       0u
#define VHDX_HEADER1_OFFSET       (64u * VHDX_KiB)
#define VHDX_HEADER2_OFFSET       (128u * VHDX_KiB)
#define VHDX_REGION_TABLE1_OFFSET (192u * VHDX_KiB)
#define VHDX_REGION_TABLE2_OFFSET (256u * VHDX_KiB)
#define VHDX_HEADER_SECTION_SIZE  VHDX_MiB
#define VHDX_STRUCT_SLOT_SIZE     (64u * VHDX_KiB) /* each of the five slots */

/* 2.2.1 File Type Identifier */
#define VHDX_FILE_ID_SIGNATURE     "vhdxfile"
#define VHDX_FILE_ID_SIG_OFF       0u  /* [8 bytes] ASCII */
#define VHDX_FILE_ID_CREATOR_OFF   8u  /* [512 bytes] UTF-16LE */
#define VHDX_FILE_ID_CREATOR_UNITS 256u /* UTF-16 code units, NUL included */

/* 2.2.2 Header: 4 KiB used of its 64 KiB slot, CRC-32C over all 4 KiB */
#define VHDX_HEADER_SIZE          4096u
#define VHDX_HEADER_SIGNATURE     "head"
#define VHDX_HDR_SIG_OFF          0u  /* u32 ASCII */
#define VHDX_HDR_CHECKSUM_OFF     4u  /* u32 CRC-32C, field zero while computed */
#define VHDX_HDR_SEQUENCE_OFF     8u  /* u64 */
#define VHDX_HDR_FILE_WRITE_OFF   16u /* GUID */
#define VHDX_HDR_DATA_WRITE_OFF   32u /* GUID */
#define VHDX_HDR_LOG_GUID_OFF     48u /* GUID, zero: log empty */
#define VHDX_HDR_LOG_VERSION_OFF  64u /* u16, must be 0 */
#define VHDX_HDR_VERSION_OFF      66u /* u16, must be 1 */
#define VHDX_HDR_LOG_LENGTH_OFF   68u /* u32 [byte], MiB multiple */
#define VHDX_HDR_LOG_OFFSET_OFF   72u /* u64 [byte], MiB multiple, >= 1 MiB */
#define VHDX_HDR_RESERVED_OFF     80u /* 4016 bytes, zero */
#define VHDX_HEADER_VERSION       1u
#define VHDX_LOG_VERSION          0u

/* 2.2.3 Region table: 64 KiB, CRC-32C over all of it */
#define VHDX_REGION_TABLE_SIZE     (64u * VHDX_KiB)
#define VHDX_REGION_SIGNATURE      "regi"
#define VHDX_RGN_SIG_OFF           0u  /* u32 ASCII */
#define VHDX_RGN_CHECKSUM_OFF      4u  /* u32 CRC-32C */
#define VHDX_RGN_COUNT_OFF         8u  /* u32, <= 2047 */
#define VHDX_RGN_RESERVED_OFF      12u /* u32, zero */
#define VHDX_RGN_ENTRIES_OFF       16u
#define VHDX_RGN_ENTRY_SIZE        32u
#define VHDX_RGN_MAX_ENTRIES       2047u
#define VHDX_RGN_E_GUID_OFF        0u  /* GUID */
#define VHDX_RGN_E_OFFSET_OFF      16u /* u64 [byte], MiB multiple, >= 1 MiB */
#define VHDX_RGN_E_LENGTH_OFF      24u /* u32 [byte], MiB multiple */
#define VHDX_RGN_E_REQUIRED_OFF    28u /* u32, bit 0; other bits zero */
#define VHDX_RGN_REQUIRED          1u

/* 2.3 Log */
#define VHDX_LOG_SECTOR_SIZE      4096u

/* 2.5 BAT entries: u64, bits 0-2 state, 3-19 reserved, 20-63 offset [MiB] */
#define VHDX_BAT_ENTRY_SIZE       8u
#define VHDX_BAT_STATE_MASK       0x7u
#define VHDX_BAT_RESERVED_MASK    0xFFFF8u
#define VHDX_BAT_OFFSET_SHIFT     20u
#define VHDX_PAYLOAD_NOT_PRESENT       0u
#define VHDX_PAYLOAD_UNDEFINED         1u
#define VHDX_PAYLOAD_ZERO              2u
#define VHDX_PAYLOAD_UNMAPPED          3u
#define VHDX_PAYLOAD_FULLY_PRESENT     6u
#define VHDX_PAYLOAD_PARTIALLY_PRESENT 7u
#define VHDX_SB_NOT_PRESENT            0u
#define VHDX_SB_PRESENT                6u
#define VHDX_CHUNK_SECTORS        ((uint64_t)1 << 23) /* 2^23 sectors per chunk */

/* 2.6 Metadata region: 64 KiB table, items at >= 64 KiB */
#define VHDX_META_TABLE_SIZE      (64u * VHDX_KiB)
#define VHDX_META_SIGNATURE       "metadata"
#define VHDX_META_SIG_OFF         0u  /* 8 bytes ASCII */
#define VHDX_META_RESERVED_OFF    8u  /* u16, zero */
#define VHDX_META_COUNT_OFF       10u /* u16, <= 2047 */
#define VHDX_META_RESERVED2_OFF   12u /* 20 bytes, zero */
#define VHDX_META_ENTRIES_OFF     32u
#define VHDX_META_ENTRY_SIZE      32u
#define VHDX_META_MAX_ENTRIES     2047u
#define VHDX_META_E_ID_OFF        0u  /* GUID */
#define VHDX_META_E_OFFSET_OFF    16u /* u32 [byte] from region start, >= 64 KiB */
#define VHDX_META_E_LENGTH_OFF    20u /* u32 [byte], <= 1 MiB */
#define VHDX_META_E_FLAGS_OFF     24u /* u32, bits below */
#define VHDX_META_E_RESERVED_OFF  28u /* u32, zero */
#define VHDX_META_IS_USER         0x1u
#define VHDX_META_IS_VIRTUAL_DISK 0x2u
#define VHDX_META_IS_REQUIRED     0x4u
#define VHDX_META_ITEM_MAX_LENGTH VHDX_MiB

/* 2.6.2.1 File Parameters: u32 block size, u32 flags */
#define VHDX_FP_LEAVE_BLOCKS_ALLOCATED 0x1u
#define VHDX_FP_HAS_PARENT             0x2u
#define VHDX_BLOCK_SIZE_MIN       VHDX_MiB
#define VHDX_BLOCK_SIZE_MAX       (256u * VHDX_MiB)
#define VHDX_VIRTUAL_SIZE_MAX     (64u * VHDX_TiB)
#define VHDX_LOG_SIZE_MAX         (4095u * VHDX_MiB) /* fits the u32 LogLength */

/* 2.6.2.6 Parent locator */
#define VHDX_PL_HEADER_SIZE       20u /* GUID, u16 reserved, u16 count */
#define VHDX_PL_ENTRY_SIZE        12u /* u32 key off, u32 value off, u16, u16 */

/* 3: GUIDs in on-disk byte order */
#define VHDX_GUID_BAT_REGION \
	{ { 0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 } }
#define VHDX_GUID_METADATA_REGION \
	{ { 0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B, 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E } }
#define VHDX_GUID_FILE_PARAMETERS \
	{ { 0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B } }
#define VHDX_GUID_VIRTUAL_DISK_SIZE \
	{ { 0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48, 0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8 } }
#define VHDX_GUID_VIRTUAL_DISK_ID \
	{ { 0xAB, 0x12, 0xCA, 0xBE, 0xE6, 0xB2, 0x23, 0x45, 0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46 } }
#define VHDX_GUID_LOGICAL_SECTOR_SIZE \
	{ { 0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47, 0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F } }
#define VHDX_GUID_PHYSICAL_SECTOR_SIZE \
	{ { 0xC7, 0x48, 0xA3, 0xCD, 0x5D, 0x44, 0x71, 0x44, 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56 } }
#define VHDX_GUID_PARENT_LOCATOR \
	{ { 0x2D, 0x5F, 0xD3, 0xA8, 0x0B, 0xB3, 0x4D, 0x45, 0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C } }
#define VHDX_GUID_VHDX_LOCATOR_TYPE \
	{ { 0xB7, 0xEF, 0x4A, 0xB0, 0x9E, 0xD1, 0x81, 0x4A, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13 } }

#endif /* VHDX_FORMAT_H */
