/*
 * dkim_sign.c - sign a message with server/dkim.c's dkimv_sign(), for the
 * DKIM scenarios' messages (scenarios/dmarc/, conformance/dmarc/dkim/make-messages).
 *
 *   dkim_sign DOMAIN SELECTOR KEY.pem ALGO NOW [l] [x=SECONDS] < msg > signed
 *
 * ALGO rsa-sha256, rsa-sha1 or ed25519-sha256; NOW the t= time (epoch);
 * "l" adds l= for the whole body; x=SECONDS adds x= NOW+SECONDS (negative:
 * already expired).  Writes the DKIM-Signature header, then the message.
 * Exit 0, or 2 with the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

static char *
slurp(FILE *f, size_t *len)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	*len = b.len;
	return buf_take(&b);
}

int
main(int argc, char **argv)
{
	struct dkimv_sign_opts o = { 0 };
	struct err e = { 0 };
	size_t len = 0, klen = 0;
	char *msg, *key, *sig;
	FILE *kf;

	if (argc < 6) {
		fprintf(stderr, "usage: dkim_sign DOMAIN SELECTOR KEY.pem ALGO NOW [l] [x=SECS]\n");
		return 2;
	}
	kf = fopen(argv[3], "r");
	if (kf == NULL) {
		perror(argv[3]);
		return 2;
	}
	key = slurp(kf, &klen);
	fclose(kf);
	msg = slurp(stdin, &len);
	if (key == NULL || msg == NULL)
		return 2;
	o.domain = argv[1];
	o.selector = argv[2];
	o.key_pem = key;
	o.algo = argv[4];
	o.now = (time_t)strtoll(argv[5], NULL, 10);
	for (int i = 6; i < argc; i++) {
		if (strcmp(argv[i], "l") == 0)
			o.body_length = 1;
		else if (strncmp(argv[i], "x=", 2) == 0)
			o.expire_after = strtol(argv[i] + 2, NULL, 10);
	}
	sig = dkimv_sign(msg, len, &o, &e);
	if (sig == NULL) {
		fprintf(stderr, "dkim_sign: %s\n", e.text);
		return 2;
	}
	fputs(sig, stdout);
	fwrite(msg, 1, len, stdout);
	free(sig);
	free(msg);
	free(key);
	return 0;
}
