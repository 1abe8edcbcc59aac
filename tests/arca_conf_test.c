/* arca_conf_test.c - arca.conf: the sample is a valid configuration that
 * gives the documented defaults; every key is read; typos, unknown
 * sections, duplicates and bad values fail naming FILE:LINE and the key;
 * `arca init` writes the sample with the values asked and never
 * overwrites an archive. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_conf.h"
#include "arca_err.h"
#include "arca_rules.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/arca-conf-test-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static const char *write_conf(const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/test.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text and expects an error message containing want. */
static void expect_error(const char *text, const char *want)
{
	arca_conf c;
	const char *path = write_conf(text);

	arca_conf_defaults(&c, dir);
	assert_int_equal(arca_conf_load(&c, path), ARCA_EPROTO);
	if (strstr(arca_error_last(), want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", arca_error_last(), want);
	arca_conf_release(&c);
}

static void test_sample_gives_defaults(void **state)
{
	arca_conf c;
	char want[PATH_MAX];

	(void)state;
	arca_conf_defaults(&c, dir);
	assert_int_equal(arca_conf_load(&c, write_conf(arca_conf_sample_text)), 0);
	assert_string_equal(c.ae, "ARCA");
	assert_int_equal(c.port, 11112);
	assert_true(c.calling_any);
	assert_true(c.check_called_ae);
	assert_false(c.pn_case_sensitive);
	assert_int_equal(c.max_pdu, 256 * 1024);
	assert_true(c.artim_timeout == 30 && c.idle_timeout == 300 && c.shutdown_timeout == 30);
	assert_int_equal(c.workers, 8);
	assert_int_equal(c.max_associations, 64);
	assert_int_equal(c.n_transfer_syntaxes, 0);
	assert_int_equal(c.n_peers, 0);
	assert_string_equal(c.storage_path, dir);
	assert_string_equal(c.storage_backend, "cas");
	/* validation on by default: the rules arca init writes beside arca.conf */
	snprintf(want, sizeof(want), "%s/normalise.conf", dir);
	assert_string_equal(c.storage_rules, want);
	assert_int_equal(c.zstd_level, 1);
	assert_int_equal(c.codec, ARCA_CONF_CODEC_FAST);
	assert_false(c.encrypt);
	arca_conf_release(&c);
}

static void test_every_key(void **state)
{
	const char *text =
		"[server]\n"
		"ae = HOSPITAL_A\n"
		"port = 4242\n"
		"node = hosp-a.1\n"
		"bind = 127.0.0.1, ::1\n"
		"max_pdu = 128k\n"
		"artim_timeout = 0.5\n"
		"idle_timeout = 0\n"
		"shutdown_timeout = 12\n"
		"max_associations = 8\n"
		"workers = 4\n"
		"async_ops = 3\n"
		"transfer_syntaxes = 1.2.840.10008.1.2.1,\n"
		"  1.2.840.10008.1.2\n"
		"log_level = debug\n"
		"[storage]\n"
		"path = store\n"
		"backend = files\n"
		"rules = rules/normalise.conf\n"
		"zstd_level = 19\n"
		"codec = Small\n"
		"encrypt = yes\n"
		"[index]\n"
		"backend = sqlite\n"
		"path = /var/lib/arca/index.db\n"
		"pn_case_sensitive = yes\n"
		"[access]\n"
		"calling_ae = CT1, MR 2 ; the MR\n"
		"calling_ae = VIEWER\n"
		"users = alice:s3cret, bob:\n"
		"check_called_ae = no\n"
		"require_identity = yes\n"
		"[peer viewer]\n"
		"ae = VIEWER\n"
		"host = 192.0.2.10\n"
		"port = 104\n"
		"chain = https://example.org/log.git\n"
		"[peer hospital-b]\n"
		"ae = HOSP_B\n"
		"host = pacs.hospital-b.example\n"
		"port = 11112\n";
	char want[PATH_MAX];
	arca_conf c;

	(void)state;
	arca_conf_defaults(&c, dir);
	if (arca_conf_load(&c, write_conf(text)) != 0)
		fail_msg("%s", arca_error_last());
	assert_string_equal(c.ae, "HOSPITAL_A");
	assert_int_equal(c.port, 4242);
	assert_string_equal(c.node, "hosp-a.1");
	assert_int_equal(c.n_bind, 2);
	assert_string_equal(c.bind[1], "::1");
	assert_int_equal(c.max_pdu, 131072);
	assert_true(c.artim_timeout == 0.5 && c.idle_timeout == 0 && c.shutdown_timeout == 12);
	assert_int_equal(c.max_associations, 8);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.async_ops, 3);
	assert_int_equal(c.n_transfer_syntaxes, 2);
	assert_string_equal(c.transfer_syntaxes[1], "1.2.840.10008.1.2");
	assert_string_equal(c.log_level, "debug");
	snprintf(want, sizeof(want), "%s/store", dir);
	assert_string_equal(c.storage_path, want);
	assert_string_equal(c.storage_backend, "files");
	snprintf(want, sizeof(want), "%s/rules/normalise.conf", dir);
	assert_string_equal(c.storage_rules, want);
	assert_int_equal(c.zstd_level, 19);
	assert_int_equal(c.codec, ARCA_CONF_CODEC_SMALL);
	assert_true(c.encrypt);
	assert_string_equal(c.index_path, "/var/lib/arca/index.db");
	assert_true(c.pn_case_sensitive);
	assert_false(c.calling_any);
	assert_int_equal(c.n_calling_aes, 3);
	assert_string_equal(c.calling_aes[1], "MR 2");
	assert_string_equal(c.calling_aes[2], "VIEWER");
	assert_int_equal(c.n_users, 2);
	assert_string_equal(c.users[0].password, "s3cret");
	assert_string_equal(c.users[1].name, "bob");
	assert_string_equal(c.users[1].password, "");
	assert_false(c.check_called_ae);
	assert_true(c.require_identity);
	assert_int_equal(c.n_peers, 2);
	assert_non_null(arca_conf_peer_find(&c, "viewer"));
	assert_int_equal(arca_conf_peer_find(&c, "viewer")->port, 104);
	assert_string_equal(arca_conf_peer_find(&c, "hospital-b")->host, "pacs.hospital-b.example");
	assert_null(arca_conf_peer_find(&c, "nobody"));
	arca_conf_release(&c);
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	expect_error("[server]\nae = ARCA\nprot = 104\n", "test.conf:3: unknown key 'prot' in [server]");
	expect_error("[server]\n[serve]\nae = X\n", "test.conf:3: unknown section [serve]");
	expect_error("ae = X\n", "test.conf:1: 'ae' before any [section]");
	expect_error("[server]\nport = 0\n", "test.conf:2: [server] port = \"0\"");
	expect_error("[server]\nport = 70000\n", "test.conf:2:");
	expect_error("[server]\nport = 12ab\n", "test.conf:2:");
	expect_error("[server]\nae = WAY_TOO_LONG_AE_TITLE\n", "test.conf:2: [server] ae");
	expect_error("[server]\nae = A\\B\n", "no backslash");
	expect_error("[server]\nae = A\nae = B\n", "test.conf:3: 'ae' given twice in [server]");
	expect_error("[server]\nmax_pdu = 1k\n", "test.conf:2: [server] max_pdu");
	expect_error("[server]\nartim_timeout = soon\n", "test.conf:2:");
	expect_error("[server]\nworkers = 65\n", "test.conf:2:");
	expect_error("[server]\ntransfer_syntaxes = 1.2.840.10008.1.2, JPEG\n", "\"JPEG\" is not a transfer syntax UID");
	expect_error("[access]\ncalling_ae = any, CT1\n", "`any` and a list");
	expect_error("[access]\nusers = alice\n", "not name:password");
	expect_error("[access]\ncheck_called_ae = maybe\n", "expected yes or no");
	expect_error("[access]\nrequire_identity = yes\n", "require_identity = yes without users");
	expect_error("[peer x]\nae = X\nhost = h\n", "test.conf:2: [peer x] needs ae, host and port");
	expect_error("[peer x]\nae = X\nhost = h\nport = 1\n[server]\nport = 2\n[peer x]\nport = 3\n",
		     "test.conf:8: [peer x] appears twice");
	expect_error("[peer bad name!]\nae = X\n", "a peer name is");
	expect_error("[index]\nbackend = postgresql\n", "only sqlite");
	expect_error("[storage]\nbackend = s3\n", "test.conf:2: [storage] backend = \"s3\": expected cas or files");
	expect_error("[storage]\nzstd_level = 20\n", "test.conf:2:");
	expect_error("[storage]\nencrypt = perhaps\n", "expected yes or no");
	expect_error("[storage]\ncodec = lz4\n",
		     "test.conf:2: [storage] codec = \"lz4\": expected fast or small");
	expect_error("[storage]\ncodec = fast\ncodec = small\n",
		     "test.conf:3: 'codec' given twice in [storage]");
	expect_error("[storage]\nrules = a\nrules = b\n", "test.conf:3: 'rules' given twice in [storage]");
	expect_error("[server]\nthis line has no equals sign\n", "test.conf:2: not `key = value`");
	{
		char text[512];
		memset(text, 0, sizeof(text));
		strcpy(text, "[server]\n; ");
		memset(text + strlen(text), 'x', 300);
		strcat(text, "\nae = X\n");
		expect_error(text, "test.conf:2: line longer than");
	}
}

static void test_init_writes_sample_once(void **state)
{
	char root[128], conf[160], sub[160];
	arca_conf c;
	struct stat st;

	(void)state;
	snprintf(root, sizeof(root), "%s/new/archive", dir);
	assert_int_equal(arca_conf_init_root(root, "MY_AE", 4104, "node-1"), 0);
	snprintf(conf, sizeof(conf), "%s/arca.conf", root);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(sub, sizeof(sub), "%s/instances", root);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	arca_conf_defaults(&c, root);
	assert_int_equal(arca_conf_load(&c, conf), 0);
	assert_string_equal(c.ae, "MY_AE");
	assert_int_equal(c.port, 4104);
	assert_string_equal(c.node, "node-1");
	/* the default rules (samples/normalise.conf), byte for byte */
	snprintf(sub, sizeof(sub), "%s/normalise.conf", root);
	assert_string_equal(c.storage_rules, sub);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal((size_t)st.st_size, strlen(arca_rules_sample_text));
	arca_conf_release(&c);
	/* never over an existing archive */
	assert_int_equal(arca_conf_init_root(root, "OTHER", 1, "x"), ARCA_EEXISTS);
	assert_non_null(strstr(arca_error_last(), "already holds an archive"));
	arca_conf_defaults(&c, root);
	assert_int_equal(arca_conf_load(&c, conf), 0);
	assert_string_equal(c.ae, "MY_AE");
	arca_conf_release(&c);
	/* bad values are refused before anything is written */
	snprintf(root, sizeof(root), "%s/other", dir);
	assert_int_equal(arca_conf_init_root(root, "BAD\\AE", 11112, "n"), ARCA_EINVAL);
	assert_int_not_equal(stat(root, &st), 0);
}

static void test_render_keeps_the_sample(void **state)
{
	char *text = NULL;

	(void)state;
	assert_int_equal(arca_conf_render(&text, "ARCA", 11112, "arca"), 0);
	assert_string_equal(text, arca_conf_sample_text);
	free(text);
	assert_int_equal(arca_conf_render(&text, "X", 1, "n"), 0);
	assert_non_null(strstr(text, "\n[server]\n"));
	assert_non_null(strstr(text, "\nae = X\n"));
	assert_non_null(strstr(text, "\nport = 1\n"));
	assert_non_null(strstr(text, "\nnode = n\n"));
	/* the [peer] example keeps its own (commented) keys */
	assert_non_null(strstr(text, "\n;ae = VIEWER\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_gives_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_init_writes_sample_once),
		cmocka_unit_test(test_render_keeps_the_sample),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
