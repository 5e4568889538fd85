/* SPDX-License-Identifier: MIT */
/*
 * vhdx_url.c - http(s) URLs split by RFC 3986 section 3 (generic syntax),
 * section 3.2.2 (host: reg-name, IPv4address, IP-literal) and RFC 4291
 * section 2.2 (IPv6 text form); relative_path [2.6.2.6] resolved against
 * a child's URL the way Windows reads it (lexically, '\' separated), then
 * percent-encoded (RFC 3986 section 2.1).
 */
#include "vhdx_base.h"
#include "vhdx_internal.h"
#include "vhdx_url.h"

static const char ROOT_PATH[] = "/";

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" [2.3] */
static bool is_unreserved(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* sub-delims [2.2] */
static bool is_sub_delim(char c)
{
	switch (c) {
	case '!': case '$': case '&': case '\'': case '(': case ')':
	case '*': case '+': case ',': case ';': case '=':
		return true;
	default:
		return false;
	}
}

/* @text starts with @prefix, ASCII case-insensitively (@prefix lower case) */
static bool has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++)
		if (i >= len || lower(text[i]) != prefix[i])
			return false;
	return true;
}

bool vhdx_url_is_url(const char *text)
{
	size_t i;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) [3.1] */
	if (!text || !is_alpha(text[0]))
		return false;
	for (i = 1; is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' || text[i] == '-' ||
		    text[i] == '.'; i++)
		;
	return text[i] == ':' && text[i + 1] == '/' && text[i + 2] == '/';
}

/* A dotted-decimal IPv4 address [3.2.2]: four decimal octets 0..255, no
 * leading zeros (some readers take "010" as octal). */
static bool ipv4_valid(const char *s, size_t len)
{
	size_t i = 0, parts = 0;

	while (parts < 4) {
		size_t start = i;
		unsigned v = 0;

		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return false;
		parts++;
		if (parts == 4)
			break;
		if (i >= len || s[i] != '.')
			return false;
		i++;
	}
	return i == len;
}

/* IPv6 text form [RFC 4291 2.2]: 8 groups of 1-4 hex digits, one "::"
 * standing for one or more zero groups, the last 32 bits optionally as a
 * dotted quad. */
static bool ipv6_valid(const char *s, size_t len)
{
	size_t i = 0, groups = 0;
	bool elided = false;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		elided = true;
		i = 2;
		if (i == len)
			return true;
	} else if (len >= 1 && s[0] == ':') {
		return false;
	}
	while (i < len) {
		size_t start = i, j;

		/* the rest a dotted quad? */
		for (j = i; j < len && s[j] != ':'; j++)
			;
		if (j == len) {
			size_t k;
			bool dotted = false;

			for (k = i; k < len; k++)
				if (s[k] == '.')
					dotted = true;
			if (dotted) {
				if (!ipv4_valid(s + i, len - i))
					return false;
				groups += 2;
				break;
			}
		}
		while (i < len && vhdx_hex_digit_(s[i]) >= 0 && i - start < 4)
			i++;
		if (i == start)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < len && s[i] == ':') {
			if (elided)
				return false;
			elided = true;
			i++;
			if (i == len)
				break;
		} else if (i == len) {
			return false; /* a trailing single ':' */
		}
	}
	return elided ? groups < 8 : groups == 8;
}

/* A registered name (DNS) or an IPv4 address. */
static const char *reg_name_why(const char *s, size_t len)
{
	size_t i, label = 0, total = len;
	bool last_numeric = true, any_label = false;
	size_t last_start = 0;

	if (len == 0)
		return "no host name in the URL";
	if (s[len - 1] == '.') /* a fully qualified name's root */
		total = len - 1;
	if (total == 0)
		return "no host name in the URL";
	if (total > VHDX_URL_HOST_MAX)
		return "the host name is longer than 253 characters";
	for (i = 0; i < total; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return "an empty label in the host name (\"..\")";
			label = 0;
			last_start = i + 1;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return "a character host names do not have (letters, digits, '-', '.')";
		if (++label > 63)
			return "a label of the host name is longer than 63 characters";
		any_label = true;
	}
	if (label == 0 || !any_label)
		return "an empty label in the host name";
	/* a name whose last label is a number is an IPv4 address (as WHATWG
	 * and browsers read it), and then must be a valid dotted quad */
	for (i = last_start; i < total; i++)
		if (!is_digit(s[i]))
			last_numeric = false;
	if (last_numeric && !ipv4_valid(s, total))
		return "not a valid IPv4 address (four numbers 0..255, no leading zeros)";
	return NULL;
}

/* The path and query's bytes [3.3, 3.4]: pchar / "/" / "?". */
static const char *path_why(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || vhdx_hex_digit_(s[i + 1]) < 0 || vhdx_hex_digit_(s[i + 2]) < 0)
				return "a '%' in the URL not followed by two hex digits";
			i += 2;
			continue;
		}
		if (c == ' ')
			return "a space in the URL (write it as %20)";
		if (c < 0x20 || c >= 0x7f)
			return "a control or non-ASCII byte in the URL (percent-encode it)";
		if (!is_unreserved((char)c) && !is_sub_delim((char)c) && c != ':' && c != '@' && c != '/' &&
		    c != '?')
			return "a character a URL cannot hold unencoded (percent-encode it)";
	}
	return NULL;
}

int vhdx_url_parse(struct vhdx_url *ret, const char *text, size_t len, const char **ret_why)
{
	struct vhdx_url u;
	const char *why = NULL;
	size_t i, auth, auth_end, host_end, end;

	if (ret_why)
		*ret_why = NULL;
	if (!ret || !text)
		return VHDX_ERR_INVAL;
	for (i = 0; i < len; i++)
		if (text[i] == '\0')
			len = i;
	/* field by field: a struct assignment may become a memset/memcpy call */
	u.host = NULL;
	u.host_len = 0;
	u.host_is_ipv6 = false;
	u.port_given = false;
	if (has_prefix(text, len, "http://")) {
		u.scheme = VHDX_URL_HTTP;
		u.port = 80;
		auth = 7;
	} else if (has_prefix(text, len, "https://")) {
		u.scheme = VHDX_URL_HTTPS;
		u.port = 443;
		auth = 8;
	} else {
		why = "only http:// and https:// URLs are read";
		goto refused;
	}
	/* authority = [ userinfo "@" ] host [ ":" port ] [3.2] */
	for (auth_end = auth; auth_end < len; auth_end++)
		if (text[auth_end] == '/' || text[auth_end] == '?' || text[auth_end] == '#')
			break;
	for (i = auth; i < auth_end; i++) {
		if (text[i] == '@') {
			why = "a user name or password in the URL (user@host) is not supported";
			goto refused;
		}
	}
	if (auth < auth_end && text[auth] == '[') {
		for (host_end = auth + 1; host_end < auth_end && text[host_end] != ']'; host_end++) {
			if (text[host_end] == '%') {
				why = "an IPv6 zone (%25...) in the URL is not supported";
				goto refused;
			}
		}
		if (host_end == auth_end) {
			why = "a '[' without its ']' around the IPv6 address";
			goto refused;
		}
		u.host = text + auth + 1;
		u.host_len = host_end - auth - 1;
		u.host_is_ipv6 = true;
		if (!ipv6_valid(u.host, u.host_len)) {
			why = "not a valid IPv6 address between '[' and ']'";
			goto refused;
		}
		host_end++; /* past ']' */
		if (host_end < auth_end && text[host_end] != ':') {
			why = "something other than ':port' after the ']' of the IPv6 address";
			goto refused;
		}
	} else {
		for (host_end = auth; host_end < auth_end && text[host_end] != ':'; host_end++)
			;
		u.host = text + auth;
		u.host_len = host_end - auth;
		why = reg_name_why(u.host, u.host_len);
		if (why)
			goto refused;
	}
	if (host_end < auth_end) { /* ":" port; an empty port is the default [3.2.3] */
		uint32_t port = 0;

		for (i = host_end + 1; i < auth_end; i++) {
			if (!is_digit(text[i])) {
				why = "the port is not a number";
				goto refused;
			}
			port = port * 10 + (uint32_t)(text[i] - '0');
			if (port > 65535) {
				why = "the port is above 65535";
				goto refused;
			}
		}
		if (auth_end > host_end + 1) {
			if (port == 0) {
				why = "port 0";
				goto refused;
			}
			u.port = (uint16_t)port;
			u.port_given = true;
		}
	}
	u.origin_len = auth_end;
	for (end = auth_end; end < len && text[end] != '#'; end++)
		;
	if (auth_end < end && text[auth_end] == '?') {
		why = "a query without a path before it (write http://host/?...)";
		goto refused;
	}
	why = path_why(text + auth_end, end - auth_end);
	if (why)
		goto refused;
	if (end == auth_end) {
		u.path = ROOT_PATH;
		u.path_len = 1;
	} else {
		u.path = text + auth_end;
		u.path_len = end - auth_end;
	}
	for (u.query_off = 0; u.query_off < u.path_len && u.path[u.query_off] != '?'; u.query_off++)
		;
	ret->scheme = u.scheme;
	ret->host = u.host;
	ret->host_len = u.host_len;
	ret->host_is_ipv6 = u.host_is_ipv6;
	ret->port = u.port;
	ret->port_given = u.port_given;
	ret->path = u.path;
	ret->path_len = u.path_len;
	ret->query_off = u.query_off;
	ret->origin_len = u.origin_len;
	return VHDX_OK;
refused:
	if (ret_why)
		*ret_why = why;
	return VHDX_ERR_INVAL;
}

/* The output being built: never past len - 1 (room for the NUL). */
struct url_out {
	char *buf;
	size_t len;
	size_t pos;
	size_t root; /* [byte] just past the path's first '/' */
};

static int out_put(struct url_out *o, char c)
{
	if (o->pos + 1 >= o->len)
		return VHDX_ERR_NOSPACE;
	o->buf[o->pos++] = c;
	return VHDX_OK;
}

static int out_put_encoded(struct url_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int err = VHDX_OK;

	for (i = 0; i < len && !err; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved((char)c)) {
			err = out_put(o, (char)c);
		} else {
			err = out_put(o, '%');
			if (!err)
				err = out_put(o, hex[c >> 4]);
			if (!err)
				err = out_put(o, hex[c & 15]);
		}
	}
	return err;
}

/* ".." : back to the folder above; false at the root. */
static bool out_pop(struct url_out *o)
{
	if (o->pos <= o->root)
		return false;
	o->pos--; /* the folder's trailing '/' */
	while (o->pos > o->root && o->buf[o->pos - 1] != '/')
		o->pos--;
	return true;
}

static bool is_sep(char c)
{
	return c == '\\' || c == '/';
}

int vhdx_url_resolve(const struct vhdx_url *child, const char *child_text, const char *relative_path,
		     size_t rel_len, char *out, size_t out_len, size_t *ret_len, const char **ret_why)
{
	struct url_out o;
	const char *why = NULL;
	size_t i, start, dir_end;
	bool named_file = false;
	int err;

	if (ret_why)
		*ret_why = NULL;
	if (!child || !child_text || !relative_path || !out || out_len == 0)
		return VHDX_ERR_INVAL;
	out[0] = '\0';
	o.buf = out;
	o.len = out_len;
	o.pos = 0;
	o.root = 0;
	for (i = 0; i < rel_len; i++) {
		if (relative_path[i] == '\0') {
			why = "the parent's relative_path holds a NUL character";
			goto refused;
		}
	}
	if (rel_len == 0) {
		why = "the parent's relative_path is empty";
		goto refused;
	}
	if (is_sep(relative_path[0])) {
		why = "the parent's relative_path is rooted (\\dir\\...), not relative";
		goto refused;
	}
	if (rel_len >= 2 && relative_path[1] == ':') {
		why = "the parent's relative_path names a drive (C:...), not a relative path";
		goto refused;
	}
	for (i = 0; i < child->origin_len; i++) {
		err = out_put(&o, child_text[i]);
		if (err)
			goto nospace;
	}
	err = out_put(&o, '/');
	if (err)
		goto nospace;
	o.root = o.pos;

	/* the child's folder, its dot segments removed [RFC 3986 5.2.4] */
	for (dir_end = child->query_off; dir_end > 0 && child->path[dir_end - 1] != '/'; dir_end--)
		;
	for (start = 1, i = 1; i < dir_end; i++) {
		size_t n;

		if (child->path[i] != '/')
			continue;
		n = i - start;
		if (n == 1 && child->path[start] == '.') {
			/* stays */
		} else if (n == 2 && child->path[start] == '.' && child->path[start + 1] == '.') {
			out_pop(&o); /* above the root stays at the root [5.2.4] */
		} else {
			size_t k;

			for (k = start; k <= i && !err; k++)
				err = out_put(&o, child->path[k]);
			if (err)
				goto nospace;
		}
		start = i + 1;
	}

	/* relative_path, lexically: "." stays, ".." goes up, empty ignored */
	for (start = 0, i = 0; i <= rel_len; i++) {
		size_t n;

		if (i < rel_len && !is_sep(relative_path[i]))
			continue;
		n = i - start;
		named_file = false;
		if (n == 0 || (n == 1 && relative_path[start] == '.')) {
			/* stays */
		} else if (n == 2 && relative_path[start] == '.' && relative_path[start + 1] == '.') {
			if (!out_pop(&o)) {
				why = "the parent's relative_path climbs above the root of the server";
				goto refused;
			}
		} else {
			/* a folder gets its '/', the file (the last) none */
			named_file = i == rel_len;
			err = out_put_encoded(&o, relative_path + start, n);
			if (!err && !named_file)
				err = out_put(&o, '/');
			if (err)
				goto nospace;
		}
		start = i + 1;
	}
	if (!named_file) {
		why = "the parent's relative_path names a folder, not a file";
		goto refused;
	}
	out[o.pos] = '\0';
	if (ret_len)
		*ret_len = o.pos;
	return VHDX_OK;
nospace:
	out[0] = '\0';
	return VHDX_ERR_NOSPACE;
refused:
	out[0] = '\0';
	if (ret_why)
		*ret_why = why;
	return VHDX_ERR_INVAL;
}
