/*
 * dane_check.h - `refmta dane-check DOMAIN [PORT]`: DANE for one domain's
 * MX hosts, shown step by step like Postfix's posttls-finger (docs/dane.md
 * "refmta dane-check").
 */
#ifndef REFMTA_DANE_CHECK_H
#define REFMTA_DANE_CHECK_H

#include <stdio.h>

#include "config.h"
#include "tls.h"

/*
 * Resolve DOMAIN's MX (or the implicit MX), each host's address and TLSA
 * records through the configuration's resolver (dns_server,
 * dns_trust_anchor), connect to each host on `port`, STARTTLS with the
 * usable records, and print to `out` the lookups, the chain (each
 * certificate's 3 1 1 / 2 1 1 data), what matched at which depth, and the
 * verdict.  Returns 0 when every host was authenticated by DANE, 1
 * otherwise (a host without DANE, a failure, an unusable configuration).
 */
int dane_check_run(const struct config *cfg, const struct tls_backend *be, const char *domain,
                   unsigned port, FILE *out);

#endif
