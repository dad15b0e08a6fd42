/*
 * refmta_main.c - the refmta command line.
 *
 * Today: --version and --help.  The daemon (serve, check, queue-run, send)
 * arrives with the receive-path issue; until then those commands say so and
 * exit 1, never pretending to work.
 */
#include <stdio.h>
#include <string.h>

#include "tls.h"
#include "version.h"

static void
print_version(void)
{
	printf("refmta %s\n", REFMTA_VERSION);
	printf("TLS backends: %s (%s), %s (%s)\n",
	       tls_backend_openssl.name, tls_backend_openssl.version(),
	       tls_backend_gnutls.name, tls_backend_gnutls.version());
	printf("Support for: TLS-OpenSSL TLS-GnuTLS Certificate-name-checks\n");
}

static void
print_help(FILE *out)
{
	fprintf(out,
	        "usage: refmta --version | --help\n"
	        "       refmta -c FILE check|serve|queue-run|send RCPT...   (not built yet)\n"
	        "\n"
	        "refmta is a reference SMTP conformance server.  See README.md.\n");
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		print_version();
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		fprintf(stderr, "refmta: the daemon is not built yet (roadmap step 2)\n");
		return 1;
	}
	print_help(stderr);
	return 2;
}
