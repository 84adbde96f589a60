/*
 * store_sink: the `store` entry of outputs: opens its database (creating
 * the schema) and, with Listen: off, no server; every malformed key is
 * refused at start with the file and line: Retention and MaxSize that are
 * not durations and sizes, a Listen that is not host:port, a Per that is
 * not window or profile, a key it does not know, a Path it cannot open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "exporter/outputs.h"

static int
open_text(const char *text, struct outputs *o, char *err, size_t errlen)
{
	struct cfg *c;
	int rv;

	if (cfg_parse(&c, "pipe.yaml", text, strlen(text), err, errlen) < 0)
		fail_msg("%s", err);
	rv = outputs_open(o, c, err, errlen);
	cfg_free(c);
	return rv;
}

static void
test_opens_and_creates(void **state)
{
	char dir[] = "/tmp/test_store_sink.XXXXXX";
	char text[512];
	char path[128];
	char err[512];
	struct outputs o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.db", dir);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: store\n    Path: %s\n    Listen: \"off\"\n"
	    "    Retention: 12h\n    MaxSize: 64MB\n",
	    path);
	if (open_text(text, &o, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(o.n, 1);
	assert_non_null(strstr(o.sinks[0]->name, "store "));
	outputs_close(&o);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	assert_int_equal(system(text), 0);
}

static void
test_malformed_entries(void **state)
{
	static const struct {
		const char *entry;
		const char *want;
	} bad[] = {
	    {"    Retention: 7 days\n",
	        "pipe.yaml:4: Retention: not a duration"},
	    {"    Retention: -1d\n", "pipe.yaml:4: Retention:"},
	    /* past int64 nanoseconds: once wrapped into the future */
	    {"    Retention: 1000000d\n",
	        "pipe.yaml:4: Retention: at most 36500d"},
	    {"    MaxSize: 2 GB\n", "pipe.yaml:4: MaxSize: not a size"},
	    {"    MaxSize: 2G\n", "pipe.yaml:4: MaxSize:"},
	    {"    Listen: localhost\n", "pipe.yaml:4: Listen: not host:port"},
	    {"    Listen: 127.0.0.1:99999\n", "pipe.yaml:4: Listen:"},
	    {"    Listen: 127.0.0.1:http\n", "pipe.yaml:4: Listen:"},
	    {"    Per: both\n", "pipe.yaml:4: Per: window or profile"},
	    {"    Retention: [1]\n", "pipe.yaml:4:"},
	    {"    Pth: x\n", "Pth"},
	};
	char dir[] = "/tmp/test_store_sink.XXXXXX";
	char text[512];
	char err[512];
	struct outputs o;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* the entry on line 4; no server unless it is the Listen */
		snprintf(text, sizeof(text),
		    "outputs:\n  - Type: store\n    Path: %s/p.db\n%s%s", dir,
		    bad[i].entry,
		    strstr(bad[i].entry, "Listen") ? ""
		                                   : "    Listen: \"off\"\n");
		if (open_text(text, &o, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i].entry);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("%s: %s", bad[i].entry, err);
	}
	/* a Path that cannot be a database */
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: store\n    Path: %s/no/such/dir/p.db\n"
	    "    Listen: \"off\"\n",
	    dir);
	assert_int_equal(open_text(text, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pipe.yaml:3: Path:"));
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	assert_int_equal(system(text), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opens_and_creates),
	    cmocka_unit_test(test_malformed_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
