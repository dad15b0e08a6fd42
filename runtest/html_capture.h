/*
 * html_capture.h - runtest --keylog (docs/teaching.md): a packet capture of
 * the loopback traffic while one run plays (when the machine allows it:
 * root and tcpdump), and keeping the run's key log and capture for the
 * report.  The key log itself is written by the TLS layer of refmta, the
 * harness client and the peers (SSLKEYLOGFILE, TLS_CAP_KEYLOG).
 */
#ifndef RUNTEST_HTML_CAPTURE_H
#define RUNTEST_HTML_CAPTURE_H

#include <sys/types.h>

/* Start tcpdump writing WORK/traffic.pcap and wait (at most 3 s) until it
 * captures; its pid, or 0 when there is no capture (not root, no tcpdump,
 * it did not start: WORK/capture.txt says why). */
pid_t capture_start(const char *workdir);
/* Stop it (SIGTERM, which flushes the file; SIGKILL after 3 s); accepts 0. */
void capture_stop(pid_t pid);
/* Copy WORK/keylog.txt, WORK/traffic.pcap and WORK/capture.txt (those that
 * exist) into `dest` (made, with its parent).  0, or -1. */
int capture_keep(const char *workdir, const char *dest) MUST_CHECK;

/* capture_keep() into HTML_DIR/keys/SLUG-BACKEND; that path relative to
 * HTML_DIR (caller frees), or NULL (said on stderr). */
char *capture_collect(const char *workdir, const char *html_dir, const char *slug,
                      const char *backend);

#endif
