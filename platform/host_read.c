/* SPDX-License-Identifier: MIT */
/*
 * host_read.c - `vhdx info [--json] TARGET` and `vhdx check TARGET` on the
 * host: a read-only POSIX source (file or block device, O_RDONLY, never
 * written) around the core reader (core/vhdx_read.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "host_disk.h"
#include "host_http.h"
#include "vhdx_url.h"
#include "posix_io.h"
#include "vhdx_read.h"

struct rsrc {
	struct posix_target t;
	const char *path;
};

/* Opens @path read-only (O_RDONLY: info and check never write); fills src.
 * Exit status on failure, message printed. */
static int rsrc_open(const char *path, struct rsrc *r, struct vhdx_source *src)
{
	int fd;

	memset(r, 0, sizeof(*r));
	r->path = path;
	if (vhdx_url_is_url(path)) {
		char why[512];
		bool absent;

		if (host_http_open(path, &r->t, src, &absent, why, sizeof(why)) < 0) {
			host_error("%s: %s", path, why);
			return VHDX_EXIT_USAGE;
		}
		return VHDX_EXIT_OK;
	}
	fd = host_open_source(path);
	if (fd < 0)
		return VHDX_EXIT_USAGE;
	if (posix_source_init(src, &r->t, fd) < 0) {
		host_error("%s: not a readable file or block device: %s", path, strerror(errno));
		close(fd);
		return VHDX_EXIT_USAGE;
	}
	return VHDX_EXIT_OK;
}

static void rsrc_close(struct rsrc *r)
{
	if (host_http_is(&r->t))
		host_http_close(&r->t);
	else
		close(r->t.fd);
}

struct check_out {
	const char *path;
	bool print;  /* findings to stdout (check) */
};

static void print_finding(void *ctx, const struct vhdx_finding *f)
{
	struct check_out *o = ctx;
	char line[2 * VHDX_CHAIN_WHY_SIZE + 1024]; /* the rule's text and what was found */

	if (!o->print)
		return;
	vhdx_finding_to_text(f, line, sizeof(line));
	printf("%s\n", line);
}

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

/* The chain of a differencing image, walked and judged by the core. */
struct host_chain {
	struct vhdx_chain chain;
	struct vhdx_chain_level levels[VHDX_CHAIN_DEPTH_MAX];
	bool walked;
};

/* Runs the checker and, for a differencing image, walks its chain (the
 * chain's finding counts in info); exit status 2 (message printed) if it
 * could not run. */
static int run_check(const struct vhdx_cli *cli, struct vhdx_info *info, struct host_chain *hc,
		     struct check_out *o)
{
	struct vhdx_source src;
	struct rsrc r;
	size_t scratch_len = VHDX_CHECK_SCRATCH_ONE_PASS;
	void *scratch;
	int st, err;

	if (!cli->target) {
		host_error("%s: TARGET missing", cli->cmd == VHDX_CMD_INFO ? "info" : "check");
		return VHDX_EXIT_USAGE;
	}
	st = rsrc_open(cli->target, &r, &src);
	if (st != VHDX_EXIT_OK)
		return st;
	scratch = malloc(scratch_len);
	if (!scratch) {
		rsrc_close(&r);
		return host_out_of_memory();
	}
	err = vhdx_examine(&src, cli->target, &hc->chain, hc->levels, VHDX_CHAIN_DEPTH_MAX,
			   &host_parent_ops, scratch, scratch_len, info, print_finding, o, &hc->walked);
	free(scratch);
	if (err) {
		if (err == VHDX_ERR_IO && host_http_is(&r.t))
			; /* the URL's failure is said, once, where it happened */
		else if (err == VHDX_ERR_IO)
			host_error("%s: read failed at offset %llu: %s", cli->target,
				   (unsigned long long)r.t.failed_offset, strerror(r.t.saved_errno));
		else
			host_error("%s: reader failed: %s", cli->target, vhdx_strerror(err));
		rsrc_close(&r);
		return host_exit_before_write(err);
	}
	rsrc_close(&r);
	return VHDX_EXIT_OK;
}

struct host_read {
	struct vhdx_info info;
	struct host_chain hc;
};

/* Reads and checks cli->target; NULL (message printed, *ret_status set)
 * when it could not run. */
static struct host_read *read_target(const struct vhdx_cli *cli, struct check_out *o, int *ret_status)
{
	struct host_read *rd = calloc(1, sizeof(*rd));

	if (!rd) {
		*ret_status = host_out_of_memory();
		return NULL;
	}
	*ret_status = run_check(cli, &rd->info, &rd->hc, o);
	if (*ret_status != VHDX_EXIT_OK) {
		free(rd);
		return NULL;
	}
	return rd;
}

int host_cmd_info(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = false };
	struct host_read *rd;
	int st;

	rd = read_target(cli, &o, &st);
	if (rd) {
		const struct vhdx_chain *chain = rd->hc.walked ? &rd->hc.chain : NULL;

		vhdx_info_print_chain(&rd->info, chain, cli->json, print_line, NULL);
		if (!rd->info.is_vhdx)
			st = VHDX_EXIT_FAILED;
		free(rd);
	}
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}

int host_cmd_check(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = true };
	struct host_read *rd;
	int st;

	rd = read_target(cli, &o, &st);
	if (rd) {
		char line[VHDX_NAME_SIZE + 256];

		vhdx_check_line(cli->target, &rd->info, line, sizeof(line));
		printf("%s\n", line);
		st = rd->info.errors ? VHDX_EXIT_FAILED : VHDX_EXIT_OK;
		free(rd);
	}
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}
