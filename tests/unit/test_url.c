/* SPDX-License-Identifier: MIT */
/*
 * test_url.c - vhdx_url: http(s) URLs split into scheme, host (names,
 * IPv4, [IPv6]), port and path, malformed ones refused with a reason;
 * relative_path resolved against a child's URL and percent-encoded, into
 * a buffer grown one byte at a time until it fits.
 */
#include "test_util.h"
#include "vhdx_url.h"

static void parse_ok(const char *text, struct vhdx_url *u)
{
	const char *why = "unset";

	assert_int_equal(vhdx_url_parse(u, text, strlen(text), &why), VHDX_OK);
	assert_null(why);
}

static void assert_part(const char *part, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(part, want, len);
}

static void test_parse_parts(void **state)
{
	struct vhdx_url u;

	(void)state;
	parse_ok("http://deploy.lan/images/golden.vhdx", &u);
	assert_int_equal(u.scheme, VHDX_URL_HTTP);
	assert_part(u.host, u.host_len, "deploy.lan");
	assert_false(u.host_is_ipv6);
	assert_int_equal(u.port, 80);
	assert_false(u.port_given);
	assert_part(u.path, u.path_len, "/images/golden.vhdx");
	assert_int_equal(u.query_off, u.path_len);
	assert_int_equal(u.origin_len, strlen("http://deploy.lan"));

	parse_ok("HTTPS://Deploy.LAN:8443/vm/child.avhdx?sig=a%2Fb&x=1#frag", &u);
	assert_int_equal(u.scheme, VHDX_URL_HTTPS);
	assert_part(u.host, u.host_len, "Deploy.LAN");
	assert_int_equal(u.port, 8443);
	assert_true(u.port_given);
	assert_part(u.path, u.path_len, "/vm/child.avhdx?sig=a%2Fb&x=1");
	assert_int_equal(u.query_off, strlen("/vm/child.avhdx"));
	assert_int_equal(u.origin_len, strlen("HTTPS://Deploy.LAN:8443"));

	parse_ok("https://10.0.2.100", &u);
	assert_int_equal(u.port, 443);
	assert_part(u.host, u.host_len, "10.0.2.100");
	assert_part(u.path, u.path_len, "/");

	parse_ok("http://[::1]:8080/a", &u);
	assert_true(u.host_is_ipv6);
	assert_part(u.host, u.host_len, "::1");
	assert_int_equal(u.port, 8080);
	assert_int_equal(u.origin_len, strlen("http://[::1]:8080"));

	parse_ok("http://[2001:db8::8a2e:370:7334]/x", &u);
	assert_part(u.host, u.host_len, "2001:db8::8a2e:370:7334");
	parse_ok("http://[::ffff:192.0.2.1]/x", &u);
	parse_ok("http://[1:2:3:4:5:6:7:8]/x", &u);
	parse_ok("http://[1:2:3:4:5:6:1.2.3.4]/", &u);
	parse_ok("http://[1::]/", &u);
	parse_ok("http://[::]/", &u);

	/* an empty port is the default [RFC 3986 3.2.3]; a trailing dot */
	parse_ok("http://host:/a", &u);
	assert_int_equal(u.port, 80);
	assert_false(u.port_given);
	parse_ok("http://host.example./a", &u);
	assert_part(u.host, u.host_len, "host.example.");
	parse_ok("http://127.0.0.1:65535/a%20b/c~d_e-f.vhdx", &u);
	assert_int_equal(u.port, 65535);

	/* @len bounds the text: the rest is not read */
	assert_int_equal(vhdx_url_parse(&u, "http://h/abc junk", 12, NULL), VHDX_OK);
	assert_part(u.path, u.path_len, "/abc");
}

static void test_parse_refused(void **state)
{
	static const struct {
		const char *text;
		const char *why; /* a word the reason must hold */
	} bad[] = {
		{ "ftp://host/a", "http" },
		{ "file:///etc/passwd", "http" },
		{ "http:/host/a", "http" },
		{ "httpx://host/a", "http" },
		{ "", "http" },
		{ "http://", "no host" },
		{ "http:///a", "no host" },
		{ "http://:80/a", "no host" },
		{ "http://user:pw@host/a", "user" },
		{ "http://a..b/x", "empty label" },
		{ "http://.a/x", "empty label" },
		{ "http://ho st/x", "character" },
		{ "http://h%41/x", "character" },
		{ "http://256.1.1.1/x", "IPv4" },
		{ "http://1.2.3/x", "IPv4" },
		{ "http://1.2.3.4.5/x", "IPv4" },
		{ "http://01.2.3.4/x", "IPv4" },
		{ "http://example.123/x", "IPv4" },
		{ "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com/", "63" },
		{ "http://[::1/x", "]" },
		{ "http://[fe80::1%25eth0]/x", "zone" },
		{ "http://[1.2.3.4]/x", "IPv6" },
		{ "http://[1:2:3:4:5:6:7]/x", "IPv6" },
		{ "http://[1:2:3:4:5:6:7:8:9]/x", "IPv6" },
		{ "http://[1::2::3]/x", "IPv6" },
		{ "http://[:1::2]/x", "IPv6" },
		{ "http://[1:2:3:4:5:6:7:]/x", "IPv6" },
		{ "http://[12345::]/x", "IPv6" },
		{ "http://[g::]/x", "IPv6" },
		{ "http://[]/x", "IPv6" },
		{ "http://[::1]x/a", "port" },
		{ "http://host:0/a", "port 0" },
		{ "http://host:65536/a", "65535" },
		{ "http://host:8a/a", "number" },
		{ "http://host:-1/a", "number" },
		{ "http://host?x=1", "query" },
		{ "http://host/a b", "space" },
		{ "http://host/a\tb", "control" },
		{ "http://host/caf\xc3\xa9.vhdx", "non-ASCII" },
		{ "http://host/a\\b", "percent-encode" },
		{ "http://host/a\"b", "percent-encode" },
		{ "http://host/a<b>", "percent-encode" },
		{ "http://host/a{b}|^`", "percent-encode" },
		{ "http://host/a%2", "'%'" },
		{ "http://host/a%zz", "'%'" },
		{ "http://host/a%", "'%'" },
	};
	struct vhdx_url u, untouched;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		memset(&u, 0xa5, sizeof(u));
		untouched = u;
		if (vhdx_url_parse(&u, bad[i].text, strlen(bad[i].text), &why) != VHDX_ERR_INVAL)
			fail_msg("accepted: %s", bad[i].text);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
		assert_memory_equal(&u, &untouched, sizeof(u)); /* set only on success */
	}
	/* a host name of 253 characters passes, 254 does not */
	{
		char text[300] = "http://";
		size_t n = strlen(text), k;

		for (k = 0; k < 253; k++)
			text[n + k] = (k % 50 == 49) ? '.' : 'a';
		text[n + 253] = '\0';
		assert_int_equal(vhdx_url_parse(&u, text, strlen(text), NULL), VHDX_OK);
		assert_int_equal(u.host_len, 253);
		text[n + 253] = 'a';
		text[n + 254] = '\0';
		assert_int_equal(vhdx_url_parse(&u, text, strlen(text), NULL), VHDX_ERR_INVAL);
	}
	assert_int_equal(vhdx_url_parse(NULL, "http://h/", 9, NULL), VHDX_ERR_INVAL);
}

static void test_is_url(void **state)
{
	(void)state;
	assert_true(vhdx_url_is_url("http://h/a"));
	assert_true(vhdx_url_is_url("HTTPS://h/a"));
	assert_true(vhdx_url_is_url("ftp://h/a")); /* a URL, refused by the parser */
	assert_true(vhdx_url_is_url("svn+ssh://h/a"));
	assert_false(vhdx_url_is_url(NULL));
	assert_false(vhdx_url_is_url(""));
	assert_false(vhdx_url_is_url("golden.vhdx"));
	assert_false(vhdx_url_is_url("/srv/http://x"));
	assert_false(vhdx_url_is_url("fs0:\\golden.vhdx"));
	assert_false(vhdx_url_is_url("blk2:"));
	assert_false(vhdx_url_is_url("http:/h"));
	assert_false(vhdx_url_is_url("1http://h"));
	assert_true(vhdx_url_is_url("C://x")); /* a one-letter scheme is a URL by RFC 3986 */
}

/* Resolves into a buffer grown one byte at a time (libfdt's sw_tree1):
 * NOSPACE below the exact size, the same text at and above it. */
static void resolve_ok(const char *child, const char *rel, const char *want)
{
	struct vhdx_url u;
	char out[512];
	size_t len = 0, size;
	const char *why = "unset";

	parse_ok(child, &u);
	for (size = 1; size <= strlen(want); size++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(vhdx_url_resolve(&u, child, rel, strlen(rel), out, size, &len, &why),
				 VHDX_ERR_NOSPACE);
		assert_true(memchr(out, '\0', size) != NULL);
		assert_int_equal(out[size], 'x'); /* nothing past the buffer */
	}
	memset(out, 'x', sizeof(out));
	assert_int_equal(vhdx_url_resolve(&u, child, rel, strlen(rel), out, size, &len, &why), VHDX_OK);
	assert_null(why);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(out[size], 'x');
}

static void test_resolve(void **state)
{
	(void)state;
	resolve_ok("http://h/vm/child.avhdx", ".\\base.vhdx", "http://h/vm/base.vhdx");
	resolve_ok("http://h/vm/child.avhdx", "base.vhdx", "http://h/vm/base.vhdx");
	resolve_ok("http://h/vm/child.avhdx", "..\\images\\base.vhdx", "http://h/images/base.vhdx");
	resolve_ok("http://h/a/b/c/child.avhdx", "..\\..\\x\\.\\y\\..\\base.vhdx",
		   "http://h/a/x/base.vhdx");
	resolve_ok("http://h/vm/child.avhdx", "../img/base.vhdx", "http://h/img/base.vhdx");
	resolve_ok("http://h/vm/child.avhdx", "a\\\\b.vhdx", "http://h/vm/a/b.vhdx");
	/* the child's origin as spelled, its query dropped, its dot segments removed */
	resolve_ok("HTTPS://Host:8443/vm/child.avhdx?sig=1#f", ".\\p.vhdx", "HTTPS://Host:8443/vm/p.vhdx");
	resolve_ok("http://[::1]:81/c.avhdx", "p.vhdx", "http://[::1]:81/p.vhdx");
	resolve_ok("http://h", "p.vhdx", "http://h/p.vhdx");
	resolve_ok("http://h/x/./y/../z/c.avhdx", "p.vhdx", "http://h/x/z/p.vhdx");
	resolve_ok("http://h/../c.avhdx", "p.vhdx", "http://h/p.vhdx");
	/* the child's folder keeps its encoding; the new part is encoded */
	resolve_ok("http://h/my%20vms/c.avhdx", "..\\golden images\\50% #1?.vhdx",
		   "http://h/golden%20images/50%25%20%231%3F.vhdx");
	resolve_ok("http://h/c.avhdx", "caf\xc3\xa9 \xe2\x82\xac.vhdx", "http://h/caf%C3%A9%20%E2%82%AC.vhdx");
	resolve_ok("http://h/c.avhdx", "a+b=c&d;(e)'!.vhdx", "http://h/a%2Bb%3Dc%26d%3B%28e%29%27%21.vhdx");
	resolve_ok("http://h/c.avhdx", "~x_y-z.VHDX", "http://h/~x_y-z.VHDX");
}

static void test_resolve_refused(void **state)
{
	static const struct {
		const char *child;
		const char *rel;
		const char *why;
	} bad[] = {
		{ "http://h/vm/c.avhdx", "", "empty" },
		{ "http://h/vm/c.avhdx", "\\vm\\p.vhdx", "rooted" },
		{ "http://h/vm/c.avhdx", "/vm/p.vhdx", "rooted" },
		{ "http://h/vm/c.avhdx", "C:\\vm\\p.vhdx", "drive" },
		{ "http://h/vm/c.avhdx", "..\\..\\p.vhdx", "above the root" },
		{ "http://h/c.avhdx", "..\\p.vhdx", "above the root" },
		{ "http://h/vm/c.avhdx", "..", "folder" },
		{ "http://h/vm/c.avhdx", ".", "folder" },
		{ "http://h/vm/c.avhdx", "x\\", "folder" },
		{ "http://h/vm/c.avhdx", "x\\..", "folder" },
	};
	struct vhdx_url u;
	char out[256];
	size_t i, len = 77;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		parse_ok(bad[i].child, &u);
		memset(out, 'x', sizeof(out));
		if (vhdx_url_resolve(&u, bad[i].child, bad[i].rel, strlen(bad[i].rel), out, sizeof(out), &len,
				     &why) != VHDX_ERR_INVAL)
			fail_msg("accepted: %s against %s", bad[i].rel, bad[i].child);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].rel, why, bad[i].why);
		assert_int_equal(out[0], '\0');
		assert_int_equal(len, 77);
	}
	/* a NUL inside the given length */
	parse_ok("http://h/c.avhdx", &u);
	{
		const char *why = NULL;

		assert_int_equal(vhdx_url_resolve(&u, "http://h/c.avhdx", "a\0b", 3, out, sizeof(out), NULL, &why),
				 VHDX_ERR_INVAL);
		assert_non_null(strstr(why, "NUL"));
		assert_int_equal(vhdx_url_resolve(&u, "http://h/c.avhdx", "p", 1, out, 0, NULL, &why),
				 VHDX_ERR_INVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_parts),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_is_url),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
