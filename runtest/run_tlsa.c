/*
 * run_tlsa.c - TLSA records made from the run's own PKI, in [zone]
 * sections (docs/scenario-format.md "TLSA from the PKI"): a record whose
 * data is written as a PKI file,
 *
 *   _25._tcp.mx IN TLSA 3 1 1 @PKI@/mx-rsa.pem        the leaf's key, SHA-256
 *   _25._tcp.mx IN TLSA 2 0 2 @PKI@/mx-rsa.pem#1      the 2nd certificate (the issuer)
 *   _25._tcp.mx IN TLSA 3 1 1 @PKI@/mx-rsa.pem~       the same, last byte flipped
 *
 * (@PKI@ and @PEER_PORT@ are substituted in zones first, so the owner may
 * be _@PEER_PORT@._tcp.mx) gets the hex the selector and matching type call for
 * (tls_tlsa_make()), so no scenario hard-codes a hash of certificates that
 * are minted afresh.  Usage, selector and matching type are written as
 * they are, unusable ones included (a scenario may want a PKIX-EE record);
 * only selector 0/1 and matching type 0/1/2 can be made from a file.
 *
 * Also the `dane-check DOMAIN` step: `refmta dane-check DOMAIN PORT` (the
 * peers' port) with its output as K: lines.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/wait.h>
#include <unistd.h>

#include "run_int.h"
#include "tls.h"

/* One line: a TLSA record's data written as a file ("/..." once @PKI@ is
 * substituted) replaced by its hex; any other line copied.  To `out`. */
static int
tlsa_line(FILE *out, const char *line, size_t len, struct err *e)
{
	const char *t = NULL, *at, *end;
	unsigned usage, selector, mtype, depth = 0;
	unsigned char data[4096];
	char path[1024], *hash;
	size_t dlen = 0;
	int flip = 0, off = 0;

	/* The type word followed by three numbers and a path (an owner may be
	 * called "tlsa" too). */
	for (const char *p = line; p + 5 <= line + len && t == NULL; p++)
		if (strncasecmp(p, "TLSA", 4) == 0 && isspace((unsigned char)p[4]) &&
		    (p == line || isspace((unsigned char)p[-1])) &&
		    sscanf(p + 4, "%u %u %u %n", &usage, &selector, &mtype, &off) == 3 &&
		    p[4 + off] == '/')
			t = p + 4;
	if (t == NULL) {
		fwrite(line, 1, len, out);
		return 0;
	}
	at = t + off;
	end = at;
	while (end < line + len && !isspace((unsigned char)*end))
		end++;
	snprintf(path, sizeof path, "%.*s", (int)(end - at), at);
	if (path[0] != '\0' && path[strlen(path) - 1] == '~') {
		flip = 1;
		path[strlen(path) - 1] = '\0';
	}
	if ((hash = strrchr(path, '#')) != NULL) {
		depth = (unsigned)strtoul(hash + 1, NULL, 10);
		*hash = '\0';
	}
	if (tls_tlsa_make(path, depth, selector, mtype, data, sizeof data, &dlen, e) != 0)
		return -1;
	if (flip)
		data[dlen - 1] ^= 0x01;
	fwrite(line, 1, (size_t)(at - line), out);
	for (size_t i = 0; i < dlen; i++)
		fprintf(out, "%02X", data[i]);
	fwrite(end, 1, (size_t)(line + len - end), out);
	return 0;
}

char *
run_zone_tlsa(const char *text, struct err *e)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	if (out == NULL) {
		err_set(e, 1, "out of memory");
		return NULL;
	}
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p + 1) : strlen(p);
		if (tlsa_line(out, p, len, e) != 0) {
			fclose(out);
			free(buf);
			return NULL;
		}
		p += len;
	}
	if (fclose(out) != 0) {
		free(buf);
		err_set(e, 1, "out of memory");
		return NULL;
	}
	return buf;
}

/* dane-check DOMAIN: refmta's report on DOMAIN's MX hosts, line by line. */
int
step_dane_check(struct run *r, const struct step *st, struct err *e)
{
	char conf[4096], port[16];

	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	snprintf(port, sizeof port, "%u", r->peer_port != 0 ? r->peer_port : 25);
	char *argv[] = { (char *)r->env->refmta,
		         "-c",
		         conf,
		         "--backend",
		         (char *)r->env->backend,
		         "dane-check",
		         (char *)st->arg,
		         port,
		         NULL };
	transcript_addf(&r->tr, 'K', "dane-check %s", st->arg);
	return run_command_lines(r, argv, 0, e);
}
