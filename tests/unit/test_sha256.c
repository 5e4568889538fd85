/* SPDX-License-Identifier: MIT */
/*
 * test_sha256.c - the core's SHA-256 against the FIPS 180-2 / NIST example
 * vectors (one block, two blocks, 448 and 896 bits, a million 'a'), fed
 * whole and in every split; the hex form.
 */
#include "test_util.h"
#include "vhdx_bmap.h"

static void hex_of(const void *data, size_t len, char hex[65])
{
	uint8_t d[VHDX_SHA256_SIZE];

	vhdx_sha256(data, len, d);
	vhdx_sha256_hex(d, hex);
}

static void test_nist_vectors(void **state)
{
	static const struct {
		const char *msg;
		const char *digest;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
		  "mnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[65];
	size_t i, split, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		len = strlen(v[i].msg);
		hex_of(v[i].msg, len, hex);
		assert_string_equal(hex, v[i].digest);
		/* streamed in two pieces at every split point, and byte by byte */
		for (split = 0; split <= len; split++) {
			struct vhdx_sha256 ctx;
			uint8_t d[VHDX_SHA256_SIZE];

			vhdx_sha256_init(&ctx);
			vhdx_sha256_update(&ctx, v[i].msg, split);
			vhdx_sha256_update(&ctx, v[i].msg + split, len - split);
			vhdx_sha256_final(&ctx, d);
			vhdx_sha256_hex(d, hex);
			assert_string_equal(hex, v[i].digest);
		}
	}
}

static void test_million_a(void **state)
{
	static char a[1000000];
	struct vhdx_sha256 ctx;
	uint8_t d[VHDX_SHA256_SIZE];
	char hex[65];
	size_t i;

	(void)state;
	memset(a, 'a', sizeof(a));
	hex_of(a, sizeof(a), hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* in odd pieces: 1000 x 1000 bytes minus the tail, then 977-byte steps */
	vhdx_sha256_init(&ctx);
	for (i = 0; i < sizeof(a);) {
		size_t n = sizeof(a) - i < 977 ? sizeof(a) - i : 977;

		vhdx_sha256_update(&ctx, a + i, n);
		i += n;
	}
	vhdx_sha256_final(&ctx, d);
	vhdx_sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* 55, 56, 63, 64 and 65 bytes: the padding's edges (one or two final blocks) */
static void test_padding_edges(void **state)
{
	static const struct {
		size_t len;
		const char *digest;  /* of len bytes 'a' (python3 hashlib) */
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
	};
	char a[65], hex[65];
	size_t i;

	(void)state;
	memset(a, 'a', sizeof(a));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(a, v[i].len, hex);
		assert_string_equal(hex, v[i].digest);
	}
}

static void test_hex_round_trip(void **state)
{
	uint8_t d[VHDX_SHA256_SIZE], back[VHDX_SHA256_SIZE];
	char hex[65];

	(void)state;
	vhdx_sha256("abc", 3, d);
	vhdx_sha256_hex(d, hex);
	assert_true(vhdx_sha256_from_hex(hex, back));
	assert_memory_equal(d, back, sizeof(d));
	hex[5] = 'A'; /* upper case is not what bmaptool writes or compares */
	assert_false(vhdx_sha256_from_hex(hex, back));
	hex[5] = 'g';
	assert_false(vhdx_sha256_from_hex(hex, back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_hex_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
