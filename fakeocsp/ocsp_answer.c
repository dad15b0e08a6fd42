/*
 * ocsp_answer.c - answer one OCSP request: parse it, look every serial up in
 * the index, apply the faults ordered for it, sign, and say what was done in
 * one log line ("serial=HEX status=good fault=none").
 *
 * Never fails on bad input: a request that does not parse gets a
 * malformedRequest response, a signing failure an internalError one.
 * No I/O and no TLS library here (ocsp_openssl.c signs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp.h"

static const char *
resp_status_name(enum ocsp_resp_status st)
{
	switch (st) {
	case OCSP_RESP_SUCCESSFUL:
		return "successful";
	case OCSP_RESP_MALFORMED_REQUEST:
		return "malformedRequest";
	case OCSP_RESP_INTERNAL_ERROR:
		return "internalError";
	case OCSP_RESP_TRY_LATER:
		return "tryLater";
	case OCSP_RESP_SIG_REQUIRED:
		return "sigRequired";
	case OCSP_RESP_UNAUTHORIZED:
		return "unauthorized";
	}
	return "?";
}

static const char *
cert_status_name(enum ocsp_cert_status st)
{
	return st == OCSP_CERT_GOOD ? "good" : st == OCSP_CERT_REVOKED ? "revoked" : "unknown";
}

/* The status the index (and the issuer check) gives serial i. */
static void
answer_lookup(const struct ocsp_responder *r, const struct ocsp_index *idx,
              const struct ocsp_req *req, size_t i, struct ocsp_answer *a)
{
	const struct ocsp_index_entry *ent = ocsp_index_find(idx, ocsp_req_serial(req, i));

	memset(a, 0, sizeof *a);
	a->reason = OCSP_REASON_NONE;
	/* RFC 6960 2.2: "unknown" when we do not know the certificate or its issuer. */
	if (ent == NULL || !ocsp_req_issuer_known(r, req, i)) {
		a->status = OCSP_CERT_UNKNOWN;
	} else if (ent->type == 'R') {
		a->status = OCSP_CERT_REVOKED;
		a->revtime = ent->revtime;
		a->reason = ent->reason;
	} else {
		/* 'V', and 'E': an expired certificate was not revoked either. */
		a->status = OCSP_CERT_GOOD;
	}
}

int
ocsp_answer(const struct ocsp_responder *r, const struct ocsp_index *idx,
            const struct ocsp_faults *fs, const unsigned char *reqder, size_t reqlen, time_t now,
            struct ocsp_reply *out, struct err *e)
{
	struct ocsp_req *req = NULL;
	struct ocsp_answer answers[OCSP_REQ_MAX_IDS];
	struct err why = { 0 };
	char serials[200] = "", statuses[200] = "";
	const char *first = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (ocsp_req_parse(reqder, reqlen, &req, &why) < 0) {
		ocsp_faults_resolve(fs, NULL, &out->fault);
		snprintf(out->log, sizeof out->log, "serial=- status=malformed fault=%s why=\"%s\"",
		         out->fault.names, why.text);
		if (!(out->fault.flags & (OCSP_FAULT_GARBAGE | OCSP_FAULT_DROP)))
			rc = ocsp_respond_status(OCSP_RESP_MALFORMED_REQUEST, &out->der, &out->len,
			                         e);
		else
			rc = 0;
		goto out;
	}
	for (size_t i = 0; i < ocsp_req_count(req); i++) {
		size_t used = strlen(serials);

		answer_lookup(r, idx, req, i, &answers[i]);
		snprintf(serials + used, sizeof serials - used, "%s%s", i > 0 ? "," : "",
		         ocsp_req_serial(req, i));
	}
	first = ocsp_req_serial(req, 0);
	ocsp_faults_resolve(fs, first, &out->fault);
	for (size_t i = 0; i < ocsp_req_count(req); i++) {
		size_t used = strlen(statuses);
		enum ocsp_cert_status st = out->fault.force_status >= 0
		                                   ? (enum ocsp_cert_status)out->fault.force_status
		                                   : answers[i].status;

		snprintf(statuses + used, sizeof statuses - used, "%s%s", i > 0 ? "," : "",
		         cert_status_name(st));
	}
	if (out->fault.resp_status != OCSP_RESP_SUCCESSFUL)
		snprintf(statuses, sizeof statuses, "%s", resp_status_name(out->fault.resp_status));
	if (out->fault.flags & OCSP_FAULT_DROP)
		snprintf(statuses, sizeof statuses, "dropped");
	else if (out->fault.flags & OCSP_FAULT_GARBAGE)
		snprintf(statuses, sizeof statuses, "garbage");
	snprintf(out->log, sizeof out->log, "serial=%s status=%s fault=%s%s", serials, statuses,
	         out->fault.names, ocsp_req_has_nonce(req) ? " nonce=yes" : "");
	if (out->fault.flags & (OCSP_FAULT_GARBAGE | OCSP_FAULT_DROP)) {
		rc = 0;
		goto out;
	}
	if (ocsp_respond(r, req, answers, &out->fault, now, &out->der, &out->len, &why) < 0) {
		size_t used = strlen(out->log);

		snprintf(out->log + used, sizeof out->log - used,
		         " error=\"%s\" sent=internalError", why.text);
		rc = ocsp_respond_status(OCSP_RESP_INTERNAL_ERROR, &out->der, &out->len, e);
		goto out;
	}
	rc = 0;
out:
	ocsp_req_free(req);
	return rc;
}

void
ocsp_reply_free(struct ocsp_reply *rep)
{
	if (rep == NULL)
		return;
	free(rep->der);
	rep->der = NULL;
	rep->len = 0;
}
