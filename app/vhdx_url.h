/* SPDX-License-Identifier: MIT */
/*
 * vhdx_url.h - http:// and https:// URLs as image sources, for both
 * frontends: a URL split into its parts (RFC 3986 section 3), and a
 * differencing child's relative_path [2.6.2.6] resolved against the
 * child's URL into the parent's URL.
 *
 * Nothing is copied or allocated: the parts of a parsed URL point into
 * the caller's text, which must outlive them.
 */
#ifndef VHDX_URL_H
#define VHDX_URL_H

#include "vhdx_env.h"

enum vhdx_url_scheme {
	VHDX_URL_HTTP = 0,
	VHDX_URL_HTTPS = 1,
};

#define VHDX_URL_HOST_MAX 253u /* [char] a DNS name [RFC 1035 2.3.4], without a trailing dot */

struct vhdx_url {
	enum vhdx_url_scheme scheme;
	/* The host as a request names it: a DNS name, IPv4 dotted quad, or
	 * an IPv6 address without its brackets (host_is_ipv6). */
	const char *host;
	size_t host_len;      /* [char] */
	bool host_is_ipv6;
	uint16_t port;        /* the URL's, or 80 (http) / 443 (https) */
	bool port_given;      /* the URL names a port */
	/* What follows the authority up to any fragment: "/dir/a.vhdx?x=1";
	 * "/" when the URL has no path. */
	const char *path;
	size_t path_len;      /* [char] */
	size_t query_off;     /* [char] offset of '?' in path, path_len if none */
	/* The URL from its first byte up to the end of the authority:
	 * "https://host:8443" as the user spelled it. */
	size_t origin_len;    /* [char] */
};

/*
 * vhdx_url_is_url - @text starts with a URL scheme and "://" ("http://",
 * "https://", but also "ftp://": a URL to refuse with vhdx_url_parse's
 * reason, not a file name to look up).  NULL is not a URL.
 */
bool vhdx_url_is_url(const char *text);

/*
 * vhdx_url_parse - @text (@len bytes, no NUL needed) as an http:// or
 * https:// URL into @ret.  The scheme and host are case-insensitive (the
 * parts keep the user's case).  Refused, with VHDX_ERR_INVAL and a
 * constant one-line reason in @ret_why (may be NULL): another scheme, user
 * information ("user@host"), an empty or malformed host (a DNS label
 * longer than 63, a name longer than 253, a dotted quad out of range or
 * with leading zeros, a bracketed address that is not IPv6, an IPv6 zone),
 * a port that is not 1..65535, a path or query with a byte RFC 3986 does
 * not allow unencoded (space, control, non-ASCII, '\', '"', '<', '>',
 * '^', '`', '{', '|', '}') or a '%' not followed by two hex digits.  A
 * fragment ("#...") is dropped: it is never sent.  @ret is set only on
 * success.
 */
int vhdx_url_parse(struct vhdx_url *ret, const char *text, size_t len, const char **ret_why);

/*
 * vhdx_url_resolve - the URL of the file a differencing child at @child
 * (parsed from @child_text) names by @relative_path (@rel_len bytes,
 * UTF-8): Windows form, '\' (or '/') separated, "." and ".." components
 * (".\parent.vhdx", "..\base\os.vhdx"), read lexically as Windows does,
 * from the folder of the child's path.  The result is the child's origin
 * then the path, each component percent-encoded where RFC 3986 needs it
 * (anything but ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX: space,
 * '%', '#', '?', every byte of a non-ASCII character).  The child's query
 * is not carried over.  Written NUL-terminated into @out (@out_len bytes);
 * its length without the NUL in *@ret_len (may be NULL).
 * Returns VHDX_OK; VHDX_ERR_NOSPACE when it does not fit (@out then holds
 * no usable URL); VHDX_ERR_INVAL with @ret_why: an empty path, a drive
 * ("C:\...") or rooted ("\dir\...") path, a NUL byte, a ".." above the
 * server's root.
 */
int vhdx_url_resolve(const struct vhdx_url *child, const char *child_text, const char *relative_path,
		     size_t rel_len, char *out, size_t out_len, size_t *ret_len, const char **ret_why);

#endif /* VHDX_URL_H */
