/* SPDX-License-Identifier: MIT */
/*
 * bench/spawn.c - runs one command and measures it from outside:
 *   spawn IMAGE COMMAND [ARG...]
 * prints one line: wall_s durable_s maxrss_kib oublock_bytes allocated_bytes size_bytes
 *
 * A small launcher because a child's ru_maxrss includes the resident set
 * of the process it was forked from, up to its exec (Linux keeps the old
 * mm's high-water mark): spawned from Python, every command would show at
 * least Python's ~15 MiB.  Linked statically, this launcher is ~1 MiB.
 *
 * wall:    fork to the child's exit
 * durable: wall + fsync(IMAGE) after the exit (qemu-img does not flush)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	struct stat st;
	double t0, wall, durable;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn IMAGE COMMAND [ARG...]\n");
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	wall = now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "spawn: %s failed (status 0x%x)\n", argv[2], (unsigned)status);
		return 1;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 2;
	}
	durable = now() - t0;
	close(fd);
	printf("%.6f %.6f %ld %lld %lld %lld\n", wall, durable, ru.ru_maxrss,
	       (long long)ru.ru_oublock * 512, (long long)st.st_blocks * 512, (long long)st.st_size);
	return 0;
}
