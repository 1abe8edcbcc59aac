/* arca_cmd_echo.c - `arca echo AE@host:port`: C-ECHO (DICOM's ping,
 * PS3.4 Annex A) through pacs_scu, see arca(1).
 *
 * Exit status: 0 the peer answered success; 1 a negative answer (the
 * association rejected, Verification not accepted, a status other than
 * 0000H); 2 bad usage or a network or protocol failure.  Every failure is
 * one line on stderr naming what failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_peer.h"
#include "pacs_scu.h"
#include "pacs_ts.h"

#define UID_VERIFICATION "1.2.840.10008.1.1"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca echo AE@host:port [--aet CALLING] [--timeout S]\n"
		"\n"
		"Opens an association with the DICOM application AE at host:port, sends\n"
		"a C-ECHO and prints the round-trip time.\n"
		"\n"
		"  --aet CALLING  our AE title (default %s)\n"
		"  --timeout S    seconds to wait for the connection and for each answer\n"
		"                 (default %u s to connect, %u s for answers)\n"
		"  --help         print this help and exit\n"
		"\n"
		"Exit status: 0 success, 1 a negative answer (association rejected, status\n"
		"not 0000), 2 bad usage or a network failure.\n",
		PACS_SCU_DEFAULT_CALLING_AE, PACS_SCU_CONNECT_TIMEOUT_MS / 1000, PACS_SCU_DIMSE_TIMEOUT_MS / 1000);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The exit status of a failed call: a refusal is an answer (1), anything
 * else a failure to talk (2). */
static int failure(const char *peer_text, int rc)
{
	const char *msg = arca_error_last();

	if (strstr(msg, peer_text) != NULL)
		fprintf(stderr, "arca echo: %s\n", msg);
	else
		fprintf(stderr, "arca echo: %s: %s\n", peer_text, msg);
	return rc == ARCA_EUNSUPPORTED ? ARCA_EXIT_FAULT : ARCA_EXIT_USAGE;
}

int arca_cmd_echo(int argc, char **argv)
{
	const char *target = NULL, *calling = NULL;
	unsigned timeout_ms = 0;
	char why[256];
	arca_peer peer;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--aet") == 0 && i + 1 < argc) {
			calling = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			if (!arca_peer_parse_timeout(&timeout_ms, argv[++i])) {
				fprintf(stderr, "arca echo: --timeout '%s' is not a number of seconds (0 < S <= 86400)\n", argv[i]);
				return ARCA_EXIT_USAGE;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "arca echo: unknown option or missing value '%s'; see `arca echo --help`\n", a);
			return ARCA_EXIT_USAGE;
		} else if (target == NULL) {
			target = a;
		} else {
			fprintf(stderr, "arca echo: one peer only ('%s' is extra); see `arca echo --help`\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	if (target == NULL) {
		fprintf(stderr, "arca echo: no peer given (AE@host:port); see `arca echo --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if (!arca_peer_parse(&peer, target, why, sizeof(why))) {
		fprintf(stderr, "arca echo: %s\n", why);
		return ARCA_EXIT_USAGE;
	}

	static const char *const ts[] = { PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE };
	const pacs_scu_pctx pctx = { UID_VERIFICATION, ts, 2 };
	pacs_scu_opts o;
	pacs_scu *scu = NULL;
	uint16_t status = 0;
	int64_t t0, t1, t2;
	int rc, exit_status;

	pacs_scu_opts_init(&o);
	o.host = peer.host;
	o.port = peer.port;
	o.called_ae = peer.ae;
	o.calling_ae = calling;
	o.pctx = &pctx;
	o.n_pctx = 1;
	o.connect_timeout_ms = timeout_ms;
	o.acse_timeout_ms = timeout_ms;
	o.dimse_timeout_ms = timeout_ms;
	if ((rc = pacs_scu_new(&scu, &o)) < 0) {
		fprintf(stderr, "arca echo: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	t0 = now_us();
	if ((rc = pacs_scu_associate(scu)) < 0) {
		exit_status = failure(target, rc);
		goto cleanup;
	}
	t1 = now_us();
	if ((rc = pacs_scu_echo(scu, &status)) < 0) {
		exit_status = failure(target, rc);
		goto cleanup;
	}
	t2 = now_us();
	if ((rc = pacs_scu_release(scu)) < 0) {
		exit_status = failure(target, rc);
		goto cleanup;
	}
	if (status != PACS_DIMSE_SUCCESS) {
		fprintf(stderr, "arca echo: %s: C-ECHO answered status 0x%04X (%s)\n", target, status,
			pacs_dimse_status_name(status));
		exit_status = ARCA_EXIT_FAULT;
		goto cleanup;
	}
	printf("C-ECHO %s: success, round trip %.3f ms (association %.3f ms)\n", target,
	       (double)(t2 - t1) / 1000.0, (double)(t1 - t0) / 1000.0);
	exit_status = ARCA_EXIT_OK;
cleanup:
	pacs_scu_free(scu);
	return exit_status;
}
