/*
 * html_capture.c - tcpdump for one run, and the files --keylog keeps
 * (html_capture.h).  tcpdump runs in the run's process group, so the
 * scheduler's kill of the group ends it too whatever happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "html_capture.h"

#define TCPDUMP "/usr/bin/tcpdump"

static void
note(const char *workdir, const char *why)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/capture.txt", workdir);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%s\n", why);
		fclose(f);
	}
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

pid_t
capture_start(const char *workdir)
{
	char pcap[4200], log[4200], buf[512];
	pid_t pid;

	if (geteuid() != 0) {
		note(workdir, "no capture: runtest is not root (capturing on loopback needs it)");
		return 0;
	}
	if (access(TCPDUMP, X_OK) != 0) {
		note(workdir, "no capture: " TCPDUMP " is not installed");
		return 0;
	}
	snprintf(pcap, sizeof pcap, "%s/traffic.pcap", workdir);
	snprintf(log, sizeof log, "%s/tcpdump.stderr", workdir);
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		/* -U and --immediate-mode: each packet reaches the file at once (else
		 * the kernel holds them in blocks a SIGTERM loses); -Z root: keep
		 * the file ours. */
		execl(TCPDUMP, "tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "0",
		      "-Z", "root", "-w", pcap, "tcp or udp", (char *)NULL);
		_exit(127);
	}
	/* Bounded: 3 s for its "listening on lo" line. */
	for (int i = 0; i < 60; i++) {
		FILE *f = fopen(log, "r");
		int ready = 0;
		while (f != NULL && fgets(buf, sizeof buf, f) != NULL)
			ready |= strstr(buf, "listening on") != NULL;
		if (f != NULL)
			fclose(f);
		if (ready) {
			note(workdir,
			     "capture: tcpdump -i lo, all loopback TCP and UDP during the run");
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		pause_ms(50);
	}
	capture_stop(pid);
	note(workdir, "no capture: tcpdump did not start (see tcpdump.stderr)");
	return 0;
}

void
capture_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	pause_ms(100); /* the last packets (FIN, close_notify) reach the file */
	kill(pid, SIGTERM);
	for (int i = 0; i < 60; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		pause_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;
	int rc = 0;

	if (in == NULL)
		return errno == ENOENT ? 0 : -1;
	if ((out = fopen(to, "wb")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	fclose(in);
	return fclose(out) == 0 ? rc : -1;
}

int
capture_keep(const char *workdir, const char *dest)
{
	static const char *const files[] = { "keylog.txt", "traffic.pcap", "capture.txt" };
	char parent[4200], from[4200], to[4400];
	int rc = 0;

	/* mkdir -p dest */
	snprintf(parent, sizeof parent, "%s", dest);
	for (char *slash = parent + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(parent, 0755);
		*slash = '/';
	}
	if (mkdir(dest, 0755) != 0 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(from, sizeof from, "%s/%s", workdir, files[i]);
		snprintf(to, sizeof to, "%s/%s", dest, files[i]);
		if (copy(from, to) != 0)
			rc = -1;
	}
	return rc;
}

char *
capture_collect(const char *workdir, const char *html_dir, const char *slug, const char *backend)
{
	char *rel = NULL, path[4200];

	if (asprintf(&rel, "keys/%s-%s", slug, backend) < 0)
		return NULL;
	snprintf(path, sizeof path, "%s/%s", html_dir, rel);
	if (capture_keep(workdir, path) != 0) {
		fprintf(stderr, "runtest: cannot keep the key log of %s in %s\n", slug, path);
		free(rel);
		return NULL;
	}
	return rel;
}
